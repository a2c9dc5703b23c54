"""The partner portal in a real browser: log in, see free beds, pre-book a bed for a new
person, see it held, cancel it. Screenshots at laptop and phone width."""
from __future__ import annotations

from datetime import time

import pytest

from shelter.extensions import db
from shelter.models import GenderRule, Role, User
from tests.shelter.conftest import _HASH, PASSWORD, LiveServer, build_app, screenshot
from tests.shelter.partners_fixtures import add_org, add_site

pytestmark = pytest.mark.browser


@pytest.fixture()
def portal(tmp_path):
    app = build_app(f"sqlite:///{tmp_path / 'portal.db'}")
    with app.app_context():
        org = add_org(db.session, "Kirkens Bymisjon")
        db.session.add(User(username="berit", display_name="Berit", password_hash=_HASH,
                            role=Role.PARTNER, organisation=org))
        add_site(db.session, "gyldenpris", beds=6, name="Gyldenpris (MO Strax-huset)",
                 hold_expiry=time(23, 30))
        add_site(db.session, "kvinnehuset", beds=4, gender=GenderRule.WOMEN,
                 name="Kvinnehuset", features=["accessible"], hold_expiry=time(23, 30))
        add_site(db.session, "vagsbunnen", beds=0, name="Vågsbunnen akuttovernatting")
        db.session.commit()
    with LiveServer(app) as server:
        yield server
    with app.app_context():
        db.engine.dispose()


@pytest.mark.parametrize("width", [1280, 390])
def test_partner_prebooks_and_cancels(browser, portal, width):
    page = browser.new_page(viewport={"width": width, "height": 900})
    tag = "phone" if width < 600 else "laptop"
    page.goto(portal.url + "/login")
    page.fill("#username", "berit")
    page.fill("#password", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url("**/partner/")
    assert page.locator("table.free-beds").is_visible()
    assert "Kvinnehuset" in page.locator("table.free-beds").inner_text()
    screenshot(page, f"partners-index-empty-{tag}")

    page.click("text=Pre-book a bed")
    page.wait_for_url("**/partner/book")
    # "A new person" is the default choice: its fields show (waits for the page's script)
    page.wait_for_selector("#name", state="visible", timeout=10_000)
    page.fill("#name", "Mari Solberg")
    page.fill("#birth_year", "1995")
    page.select_option("#gender", "woman")
    page.select_option("#night", index=1)
    page.select_option("#site", label="Kvinnehuset")
    page.check("input[name=needs][value=accessible]")
    screenshot(page, f"partners-book-{tag}")
    page.click("button:has-text('Hold the bed')")
    page.wait_for_url("**/partner/")
    row = page.locator("table.holds tbody tr").first
    assert "Mari Solberg" in row.inner_text() and "held" in row.inner_text()
    assert "Bed held at Kvinnehuset" in page.locator(".flash").inner_text()
    screenshot(page, f"partners-index-held-{tag}")

    # A refusal reads plainly and keeps what was typed: no bed in the city suits a man
    # who needs an accessible bed (the wished site is only a wish).
    page.click("text=Pre-book a bed")
    page.fill("#name", "Ola")
    page.select_option("#gender", "man")
    page.select_option("#site", label="Vågsbunnen akuttovernatting")
    page.check("input[name=needs][value=accessible]")
    page.click("button:has-text('Hold the bed')")
    assert "No suitable bed is free at any site that night." in page.locator("[role=alert]").inner_text()
    assert page.input_value("#name") == "Ola"
    screenshot(page, f"partners-book-refused-{tag}")

    page.goto(portal.url + "/partner/")
    page.click("a[role=button]:has-text('Cancel')")
    page.wait_for_url("**/partner/holds/*/cancel")
    page.click("button:has-text('Yes, cancel the pre-booking')")
    page.wait_for_url("**/partner/")
    assert "cancelled" in page.locator("table.holds tbody tr").first.inner_text()
    screenshot(page, f"partners-index-cancelled-{tag}")
    page.close()
