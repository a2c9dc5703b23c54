"""The cold-night switch in a real browser: a manager declares tonight cold, the banner shows
on the pages staff use, the overflow mattresses count as beds that night; then takes it back."""
from __future__ import annotations

from datetime import date

import pytest

from shelter.models import Bed, GenderRule, Role, Room, Site, User
from tests.shelter.conftest import _HASH, PASSWORD, LiveServer, build_app, screenshot

pytestmark = pytest.mark.browser


@pytest.fixture()
def live(tmp_path):
    app = build_app(f"sqlite:///{tmp_path / 'cold.db'}")
    from shelter.extensions import db

    with app.app_context():
        site = Site(code="strax", name="Strax-huset", city="Bergen")
        rooms = [Room(site=site, name="Sal", gender=GenderRule.MIXED, valid_from=date(2020, 1, 1)),
                 Room(site=site, name="Dagsenteret", gender=GenderRule.MIXED, overflow=True,
                      valid_from=date(2020, 1, 1))]
        rooms[0].beds = [Bed(label=f"S-{i}", valid_from=date(2020, 1, 1)) for i in range(4)]
        rooms[1].beds = [Bed(label=f"M-{i}", valid_from=date(2020, 1, 1)) for i in range(6)]
        db.session.add(site)
        db.session.add(User(username="mona", display_name="Mona Manager", role=Role.MANAGER,
                            password_hash=_HASH))
        db.session.commit()
    with LiveServer(app) as server:
        yield server
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def test_manager_declares_tonight_cold_and_takes_it_back(browser, live):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    page.goto(live.url + "/login")
    page.fill("#username", "mona")
    page.fill("#password", PASSWORD)
    page.click("main button[type=submit]")
    page.goto(live.url + "/intake/")
    assert page.locator(".cold-banner").count() == 0
    assert "(4 of 4)" in page.locator("details.free-beds summary").inner_text()
    page.click("text=Cold nights")
    page.fill("#reason", "Forecast -14 °C")
    page.click("#declare-cold")
    page.wait_for_selector("#cold-nights")
    assert "tonight" in page.locator("#cold-nights").inner_text()
    screenshot(page, "cold-nights-declared")
    page.goto(live.url + "/intake/")
    banner = page.locator(".cold-banner")
    assert banner.is_visible() and "Forecast -14 °C" in banner.inner_text()
    # The overflow mattresses are beds tonight: ten in service instead of four.
    assert "(10 of 10)" in page.locator("details.free-beds summary").inner_text()
    screenshot(page, "cold-nights-board")
    page.goto(live.url + "/cold-nights/")
    page.click("button:has-text('Take back')")
    page.wait_for_selector("text=is no longer a cold night")
    page.goto(live.url + "/intake/")
    assert page.locator(".cold-banner").count() == 0
    assert "(4 of 4)" in page.locator("details.free-beds summary").inner_text()
    page.close()
