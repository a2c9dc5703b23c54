"""Merging two records of one person in a real browser: from the person page, find the other
record, look at what would move (screenshots at 1366 px and 390 px: test-artifacts/
merge*.png, checked by axe-core), merge, and land on the survivor; the old page points to it."""
from __future__ import annotations

from datetime import date

import pytest

from shelter import clock
from shelter.auth import hash_password
from shelter.extensions import db
from shelter.models import (
    Gender, NeedScheme, Person, Request, RequestSource, Restriction, Role, User,
)
from tests.shelter.conftest import PASSWORD, LiveServer, build_app, screenshot

pytestmark = pytest.mark.browser


@pytest.fixture()
def live(tmp_path):
    app = build_app(f"sqlite:///{tmp_path / 'merge.db'}")
    with app.app_context():
        kari = Person(name="Kari Nordmann", birth_year=1990, gender=Gender.WOMAN,
                      needs=["accessible"])
        twice = Person(name="Kari Nordman", alias="Kiki", phone="99887766",
                       gender=Gender.WOMAN)
        db.session.add_all([kari, twice, User(username="ida", display_name="Ida Intake",
                                              role=Role.INTAKE,
                                              password_hash=hash_password(PASSWORD))])
        db.session.flush()
        db.session.add_all([
            Request(person_id=twice.id, night=clock.tonight(), city="Bergen",
                    source=RequestSource.WALK_IN, arrival=1),
            Restriction(person_id=twice.id, starts_on=date(2026, 11, 1), reason="threats")])
        if db.session.query(NeedScheme).count() == 0:
            db.session.add(NeedScheme(version=1, factors=[]))
        db.session.commit()
        ids = (kari.id, twice.id)
    with LiveServer(app) as server:
        server.ids = ids  # type: ignore[attr-defined]
        yield server
    with app.app_context():
        db.engine.dispose()


def _login(page, url):
    page.goto(f"{url}/login")
    page.get_by_label("Username").fill("ida")
    page.get_by_label("Password").fill(PASSWORD)
    page.click("main button[type=submit]")


def test_merge_two_records_from_the_person_page(browser, live):
    kari_id, twice_id = live.ids
    page = browser.new_page(viewport={"width": 1366, "height": 900})
    _login(page, live.url)
    page.goto(f"{live.url}/people/{kari_id}")
    page.click("#merge-person")
    page.fill("#merge-q", "kari")
    page.click("#merge-search-button")
    page.get_by_role("button", name=f"Choose Kari Nordman (Kiki) (#{twice_id})").click()
    preview = page.locator("#merge-preview")
    assert f"#{twice_id} goes, #{kari_id} stays" in preview.inner_text()
    assert page.locator('tr[data-mover="requests"] td.num').first.inner_text() == "1"
    assert page.locator('tr[data-mover="restrictions"] td.num').first.inner_text() == "1"
    assert "Alias filled in: Kiki" in preview.inner_text()
    screenshot(page, "merge")

    phone = browser.new_page(viewport={"width": 390, "height": 844})
    _login(phone, live.url)
    phone.goto(page.url)
    screenshot(phone, "merge-390")
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the preview scrolls sideways on a phone ({width}px)"
    phone.click("header button[name=language][value=nb]")  # the same preview in bokmål
    assert "blir stående" in phone.locator("#merge-preview").inner_text()
    screenshot(phone, "merge-390-nb")
    width = phone.evaluate("document.documentElement.scrollWidth")
    assert width <= 390, f"the bokmål preview scrolls sideways on a phone ({width}px)"
    phone.click("header button[name=language][value=en]")  # ida reads English again
    phone.close()

    page.click("#merge-button")
    assert page.url.endswith(f"/people/{kari_id}")
    assert f"#{twice_id} is merged into #{kari_id}" in page.content()
    page.goto(f"{live.url}/people/{twice_id}")
    assert "Merged into" in page.locator("#merged-into").inner_text()
    screenshot(page, "merge-merged-away")
    page.locator("#merged-into a").click()
    assert page.url.endswith(f"/people/{kari_id}")
    with live.app.app_context():
        assert db.session.get(Person, twice_id).merged_into_id == kari_id
        assert db.session.query(Request).filter_by(person_id=kari_id).count() == 1
    page.close()
