"""The people pages in a real browser: create a person (and meet the duplicate warning),
assess, register a request for tonight, add a ban, edit the scheme. Screenshots go to
test-artifacts/people-*.png, on a laptop and on a 390px-wide phone."""
from __future__ import annotations

from datetime import date, timedelta

import pytest

from shelter import clock
from shelter.auth import hash_password
from shelter.extensions import db
from shelter.models import Bed, GenderRule, NeedScheme, Person, Request, Restriction, Role, Room, Site, User

from tests.shelter.conftest import PASSWORD, LiveServer, build_app, screenshot

pytestmark = pytest.mark.browser


@pytest.fixture()
def live(tmp_path):
    app = build_app(f"sqlite:///{tmp_path / 'people.db'}")
    with app.app_context():
        site = Site(code="gyldenpris", name="Gyldenpris (MO Strax-huset)")
        room = Room(site=site, name="Room 1", gender=GenderRule.MIXED, valid_from=date(2020, 1, 1))
        room.beds.append(Bed(label="G-1", features=["accessible"], valid_from=date(2020, 1, 1)))
        db.session.add_all([site, User(username="mona", display_name="Mona Manager",
                                       role=Role.MANAGER, password_hash=hash_password(PASSWORD))])
        db.session.commit()
    with LiveServer(app) as server:
        yield server
    with app.app_context():
        db.engine.dispose()


def _login(page, url):
    page.goto(f"{url}/login")
    page.get_by_label("Username").fill("mona")
    page.get_by_label("Password").fill(PASSWORD)
    page.get_by_role("button", name="Log in").click()


def test_person_assess_request_ban_and_scheme(browser, live):
    page = browser.new_page(viewport={"width": 1280, "height": 900})
    _login(page, live.url)

    # find: nobody yet, then create
    page.goto(f"{live.url}/people/?q=Kari Nordmann born 2004")
    assert "No one found" in page.content()
    page.click("#new-person")
    assert page.get_by_label("Name", exact=True).input_value() == "Kari Nordmann"
    assert page.get_by_label("Birth year").input_value() == "2004"
    page.get_by_label("Gender").select_option("woman")
    page.get_by_label("Accessible (wheelchair, no stairs)").check()
    screenshot(page, "people-new")
    page.click("#create-person")
    assert "Created Kari Nordmann" in page.content()
    with live.app.app_context():
        person_id = db.session.query(Person.id).filter_by(name="Kari Nordmann").scalar()

    # assess: aged 18-23 is computed from the birth year
    page.click("#assess")
    assert "counts" in page.locator("#derived-young").inner_text()  # computed from 2004
    page.get_by_label("Sleeps outside or has nowhere to sleep tonight (40)").check()
    page.get_by_label("Exposed to or fleeing violence (25)").check()
    screenshot(page, "people-assess")
    page.click("#save-assessment")
    assert page.locator("#latest-assessment .need").inner_text() == "75"
    assert "Exposed to or fleeing violence" in page.locator("#latest-assessment").inner_text()

    # request for tonight, reusing that assessment
    page.click("#register-request")
    assert page.get_by_label("Use the assessment of").first.is_checked()
    page.get_by_label("Phone").check()
    screenshot(page, "people-request")
    page.click("#register")
    assert "queue number 1" in page.content()
    assert "Registered tonight" in page.locator("#tonight-status").inner_text()
    # a second request the same night is refused beside the night
    page.goto(f"{live.url}/people/{person_id}/request")
    page.click("#register")
    assert "Already registered" in page.locator("#night-error").inner_text()

    # duplicate warning when creating her again
    page.goto(f"{live.url}/people/new")
    page.get_by_label("Name", exact=True).fill("kári nordmann")
    page.get_by_label("Birth year").fill("2005")
    page.select_option("#gender", "woman")
    page.click("#create-person")
    assert "Likely duplicate" in page.locator(".duplicate-warning").inner_text()
    screenshot(page, "people-duplicate")

    # a ban at Gyldenpris from the person page
    page.goto(f"{live.url}/people/{person_id}")
    page.click("#add-safety")
    assert page.locator("#ban-person_id").input_value() == str(person_id)
    page.locator("#ban-site_id").select_option(label="Gyldenpris (MO Strax-huset)")
    page.locator("#ban-reason").fill("Threw a chair at the door")
    page.click("#add-ban-button")
    # Bans are time-limited: without a last night or a review date it is refused beside the field.
    assert "Give the last night or a review date" in page.locator("#ban-ends_on-error").inner_text()
    page.fill("#ban-review_on", (clock.tonight() + timedelta(days=30)).isoformat())
    page.click("#add-ban-button")
    assert "Ban added" in page.content()
    screenshot(page, "people-safety")
    page.goto(f"{live.url}/people/{person_id}")
    assert "Threw a chair" in page.locator(".safety-records").inner_text()
    screenshot(page, "people-show")

    # the scheme: bad points refused beside the field, then a new version
    page.goto(f"{live.url}/people/scheme")
    page.locator("#factors-3-points").fill("lots")
    page.click("#save-scheme")
    assert "whole number from 0 to 100" in page.content()
    assert page.locator("#factors-3-points").input_value() == "lots"
    screenshot(page, "people-scheme-error")
    page.locator("#factors-3-points").fill("30")
    page.click("#save-scheme")
    assert "Saved as version 2" in page.content()
    screenshot(page, "people-scheme")

    # the old score still shows its own parts
    page.goto(f"{live.url}/people/{person_id}")
    assert "Exposed to or fleeing violence 25" in " ".join(
        page.locator("#latest-assessment").inner_text().split())
    with live.app.app_context():
        assert db.session.query(Request).filter_by(person_id=person_id).count() == 1
        assert db.session.query(Restriction).filter_by(person_id=person_id).count() == 1
        assert db.session.query(NeedScheme).count() == 2

    # the phone
    phone = browser.new_page(viewport={"width": 390, "height": 844})
    _login(phone, live.url)
    for path, name in ((f"/people/{person_id}", "people-show-phone"),
                       (f"/people/{person_id}/assess", "people-assess-phone"),
                       (f"/people/{person_id}/request", "people-request-phone"),
                       ("/people/?q=kari", "people-search-phone"),
                       ("/people/safety", "people-safety-phone"),
                       ("/people/scheme", "people-scheme-phone")):
        phone.goto(live.url + path)
        # the page's own content fits the phone (the shared top bar is not ours)
        width = phone.evaluate("document.querySelector('main').scrollWidth")
        screenshot(phone, name)
        assert width <= 390, (path, width)
    phone.close()
    page.close()
