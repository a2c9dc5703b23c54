"""The access-request export and the erasure form in a real browser (axe: 0 violations):
an admin opens the person's data-protection page, the printable export (the other of a
keep-apart pair is "another person"), then erases the record after the reason is asked for
beside the field. Screenshots: test-artifacts/retention*.png."""
from __future__ import annotations

from datetime import date

import pytest

from shelter.auth import hash_password
from shelter.extensions import db
from shelter.models import Gender, KeepApart, Person, Request, RequestSource, Role, User
from tests.shelter.conftest import PASSWORD, LiveServer, build_app, screenshot

pytestmark = pytest.mark.browser


@pytest.fixture()
def live(tmp_path):
    app = build_app(f"sqlite:///{tmp_path / 'retention.db'}")
    with app.app_context():
        kari = Person(name="Kari Nordmann", alias="KN", phone="90000000", birth_year=1980,
                      gender=Gender.WOMAN)
        ola = Person(name="Ola Secret", gender=Gender.MAN)
        db.session.add_all([kari, ola, User(username="ada", display_name="Ada Admin",
                                            role=Role.ADMIN, password_hash=hash_password(PASSWORD))])
        db.session.flush()
        db.session.add_all([
            Request(person_id=kari.id, night=date(2026, 1, 5), city="Bergen",
                    source=RequestSource.WALK_IN, arrival=1, note="needs a quiet room"),
            KeepApart(person_a_id=min(kari.id, ola.id), person_b_id=max(kari.id, ola.id),
                      starts_on=date(2026, 1, 1), ends_on=date(2026, 2, 1), reason="threats")])
        db.session.commit()
        app.config["KARI"] = kari.id
    with LiveServer(app) as server:
        yield server
    with app.app_context():
        db.engine.dispose()


def test_export_page_and_erasure(browser, live):
    kari = live.app.config["KARI"]
    page = browser.new_page(viewport={"width": 1366, "height": 900})
    page.goto(f"{live.url}/login")
    page.get_by_label("Username").fill("ada")
    page.get_by_label("Password").fill(PASSWORD)
    page.click("main button[type=submit]")

    page.goto(f"{live.url}/privacy/people/{kari}/export")
    assert page.locator("#t-requests").inner_text().count("needs a quiet room") == 1
    assert "another person" in page.locator("#t-keep_apart").inner_text()
    assert "Ola" not in page.content()
    screenshot(page, "retention")

    page.goto(f"{live.url}/privacy/people/{kari}")
    page.click("#erase-submit")
    assert page.locator("#reason-error").is_visible()
    screenshot(page, "retention-erase-error")
    page.get_by_label("Reason for the erasure").fill("Asked in writing")
    page.click("#erase-submit")
    assert page.locator("#already").is_visible()
    page.goto(f"{live.url}/privacy/people/{kari}/export")
    assert "Kari" not in page.locator("main").inner_text()
    assert "erase" in page.locator("#t-audit_events").inner_text()  # who erased it, when
    screenshot(page, "retention-after")

    # on a 390 px phone the wide tables scroll inside their own region, not the page
    page.set_viewport_size({"width": 390, "height": 844})
    page.goto(f"{live.url}/privacy/people/{kari}/export")
    assert page.evaluate("document.documentElement.scrollWidth") <= 390
    screenshot(page, "retention-phone")
