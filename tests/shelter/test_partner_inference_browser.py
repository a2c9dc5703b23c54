"""Issue #11 in a real browser: a partner books a person barred from every site; the
portal says only "intake confirms the site"; intake sees the true reason on the pending
list (linked from the board), and refuses; the partner then reads "released".
Screenshots (test-artifacts/inference-*.png) and axe-core on every page."""
from __future__ import annotations

from datetime import time, timedelta

import pytest

from shelter.clock import tonight
from shelter.extensions import db
from shelter.models import (
    Gender, GenderRule, OrganisationPerson, Person, Restriction, Role, User,
)
from tests.shelter.conftest import _HASH, PASSWORD, LiveServer, build_app, screenshot
from tests.shelter.partners_fixtures import add_org, add_site

pytestmark = pytest.mark.browser


@pytest.fixture()
def evening(tmp_path):
    app = build_app(f"sqlite:///{tmp_path / 'inference.db'}")
    night = tonight()
    with app.app_context():
        org = add_org(db.session, "NAV")
        db.session.add_all([
            User(username="nav", display_name="Nils NAV", password_hash=_HASH,
                 role=Role.PARTNER, organisation=org),
            User(username="kari", display_name="Kari Intake", password_hash=_HASH,
                 role=Role.INTAKE)])
        for code, name, gender in (("kvinnehuset", "Kvinnehuset", GenderRule.WOMEN),
                                   ("strax", "Gyldenpris (MO Strax-huset)", GenderRule.MIXED)):
            add_site(db.session, code, beds=3, name=name, gender=gender,
                     hold_expiry=time(23, 59))
        person = Person(name="Randi Berg", gender=Gender.WOMAN, birth_year=1984)
        db.session.add(person)
        db.session.flush()
        db.session.add(OrganisationPerson(organisation_id=org.id, person_id=person.id,
                                          ref="R-0001"))
        db.session.add(Restriction(person_id=person.id, site_id=None, starts_on=night,
                                   ends_on=night + timedelta(days=7), reason="violence"))
        db.session.commit()
    with LiveServer(app) as server:
        yield server
    with app.app_context():
        db.engine.dispose()


def _log_in(page, base, username):
    page.goto(base + "/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("main button[type=submit]")


def test_pending_booking_from_partner_to_intake(browser, evening):
    base = evening.url
    partner = browser.new_page(viewport={"width": 1280, "height": 900})
    _log_in(partner, base, "nav")
    partner.wait_for_url("**/partner/")
    partner.click("text=Pre-book a bed")
    partner.wait_for_url("**/partner/book")
    partner.select_option("#person", label="Randi Berg · ref R-0001 · born 1984")
    partner.select_option("#site", label="Kvinnehuset")
    partner.click("button:has-text('Hold the bed')")
    partner.wait_for_url("**/partner/")
    flash = partner.locator(".flash").inner_text()
    assert "received: intake confirms the site" in flash and "Ban" not in flash
    row = partner.locator("table.holds tbody tr").first.inner_text()
    assert "Intake confirms the site" in row and "pending" in row
    screenshot(partner, "inference-partner-pending")
    partner.click("table.holds a:has-text('Randi Berg')")
    partner.wait_for_url("**/partner/holds/*")
    assert "Intake confirms the site" in partner.locator("dl.facts").inner_text()
    screenshot(partner, "inference-partner-show-pending")

    staff = browser.new_page(viewport={"width": 1280, "height": 900})
    _log_in(staff, base, "kari")
    staff.goto(base + "/intake/")
    staff.click("#pending-bookings a")
    staff.wait_for_url("**/intake/pending/**")
    text = staff.locator("article.pending").inner_text()
    assert "Ban: the person is barred from every site with a bed for them tonight." in text
    assert "Kvinnehuset" in text and "NAV" in text
    screenshot(staff, "inference")
    # Confirming at a site the ban covers is refused beside the field, nothing lost.
    staff.click("button:has-text('Hold a bed at this site')")
    assert "Ban: the person is barred from this site tonight." in \
        staff.locator(".field-error").inner_text()
    screenshot(staff, "inference-confirm-refused")
    staff.click("button:has-text('Refuse')")
    staff.wait_for_selector("text=No pre-booking is waiting for a site on this night.")
    screenshot(staff, "inference-after-refuse")

    partner.goto(base + "/partner/")
    assert "released" in partner.locator("table.holds tbody tr").first.inner_text()
    partner.close()
    staff.close()
