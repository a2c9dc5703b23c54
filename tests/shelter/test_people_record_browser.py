"""The person page in a real browser: the nights so far and the turn-away streak, adding a
note (and meeting the error beside the field), and the assessment's part computed from the
birth year. Screenshots: test-artifacts/record-*.png at 1366 px and on a 390 px phone."""
from __future__ import annotations

from datetime import timedelta

import pytest

from shelter import clock
from shelter.auth import hash_password
from shelter.extensions import db
from shelter.models import Gender, Person, PersonNote, Request, RequestSource, RequestStatus, Role, User

from tests.shelter.conftest import PASSWORD, LiveServer, build_app, screenshot

pytestmark = pytest.mark.browser


@pytest.fixture()
def live(tmp_path):
    app = build_app(f"sqlite:///{tmp_path / 'record.db'}")
    with app.app_context():
        night = clock.tonight()
        person = Person(name="Kari Nordmann", birth_year=night.year - 21, gender=Gender.WOMAN)
        db.session.add_all([person, User(username="ida", display_name="Ida Intake",
                                         role=Role.INTAKE, password_hash=hash_password(PASSWORD))])
        db.session.flush()
        # placed four nights ago, then turned away the last three nights
        for ago, status in ((4, RequestStatus.PLACED), (3, RequestStatus.TURNED_AWAY),
                            (2, RequestStatus.TURNED_AWAY), (1, RequestStatus.TURNED_AWAY)):
            db.session.add(Request(person_id=person.id, night=night - timedelta(days=ago),
                                   city="Bergen", source=RequestSource.WALK_IN, arrival=1,
                                   status=status, turnaway_reason=None))
        db.session.commit()
        app.config["RECORD_PERSON_ID"] = person.id
    with LiveServer(app) as server:
        yield server
    with app.app_context():
        db.engine.dispose()


def _login(page, url):
    page.goto(f"{url}/login")
    page.get_by_label("Username").fill("ida")
    page.get_by_label("Password").fill(PASSWORD)
    page.click("main button[type=submit]")


def test_person_page_streak_and_notes(browser, live):
    person_id = live.app.config["RECORD_PERSON_ID"]
    page = browser.new_page(viewport={"width": 1366, "height": 900})
    _login(page, live.url)
    page.goto(f"{live.url}/people/{person_id}")
    assert page.locator("#nights-placed").inner_text() == "1"
    assert page.locator("#nights-turned-away").inner_text() == "3"
    assert page.locator("#turnaway-streak").inner_text().startswith("3 nights, since")

    # an empty note is refused beside the field; the kind chosen is kept
    page.get_by_role("radio", name="Incident").check()
    page.click("#add-note")
    assert "cannot be empty" in page.locator("#text-error").inner_text()
    assert page.get_by_role("radio", name="Incident").is_checked()
    screenshot(page, "record-note-error")
    page.get_by_label("What happened or what to know").fill(
        "Shouted at the night guard at the door; calm again after ten minutes.")
    page.click("#add-note")
    assert "Note added" in page.content()
    first = page.locator(".note-list li").first
    assert "Shouted at the night guard" in first.inner_text()
    assert "Ida Intake" in first.inner_text() and "Incident" in first.inner_text()
    page.get_by_label("What happened or what to know").fill("Asked about housing follow-up.")
    page.click("#add-note")
    assert "Asked about housing" in page.locator(".note-list li").first.inner_text()  # newest first
    screenshot(page, "record")
    with live.app.app_context():
        assert db.session.query(PersonNote).filter_by(person_id=person_id).count() == 2

    # the assessment shows the computed part with why
    page.click("#assess")
    derived = page.locator("#derived-young").inner_text()
    assert "counts" in derived and f"born {clock.tonight().year - 21}: 21 this year" in derived
    screenshot(page, "record-assess")

    phone = browser.new_page(viewport={"width": 390, "height": 844})
    _login(phone, live.url)
    phone.goto(f"{live.url}/people/{person_id}")
    assert phone.locator("#turnaway-streak").is_visible()
    screenshot(phone, "record-phone")
    phone.goto(f"{live.url}/people/{person_id}/assess")
    screenshot(phone, "record-assess-phone")
