"""After confirmation, in a real browser (Debian's chromium) on a live server: move a
confirmed placement (a bed against the rules is refused beside the field), cancel one (the
person phoned), check someone in and undo it, undo the cancellation."""
from __future__ import annotations

import re
from datetime import date, time

import pytest

from shelter.extensions import db
from shelter.models import (
    Bed, Gender, GenderRule, Person, Request, RequestSource, Role, Room, Site, User,
)
from shelter.services import allocation as alloc_svc
from shelter.services import intake as intake_svc
from shelter.services import placements as changes_svc
from shelter.clock import local_on, tonight
from tests.shelter.conftest import _HASH, PASSWORD, LiveServer, build_app, screenshot

pytestmark = pytest.mark.browser


def _seed(app, night: date) -> None:
    """Four people confirmed in four of six beds; the youth bed (18-23) admits none of them."""
    with app.app_context():
        s = db.session
        for code, name, gender, n, extra in (
                ("strax", "Strax", GenderRule.MIXED, 4, {}),
                ("kvinne", "Kvinnehuset", GenderRule.WOMEN, 1, {}),
                ("ung", "Ungdom", GenderRule.MIXED, 1, {"min_age": 18, "max_age": 23})):
            site = Site(code=code, name=name, checkin_cutoff=time(23, 0), **extra)
            room = Room(site=site, name="Room 1", gender=gender, valid_from=date(2020, 1, 1))
            for i in range(n):
                room.beds.append(Bed(label=f"{code}-{i + 1}", valid_from=date(2020, 1, 1)))
            s.add(site)
        s.add(User(username="kari", display_name="Kari Intake", role=Role.INTAKE,
                   password_hash=_HASH))
        for i, (name, gender) in enumerate((("Anna Berg", Gender.WOMAN),
                                            ("Bjørn Dahl", Gender.MAN),
                                            ("Carl Eng", Gender.MAN),
                                            ("Dina Holm", Gender.WOMAN))):
            person = Person(name=name, gender=gender, birth_year=1980 + i)
            s.add(person)
            s.flush()
            s.add(Request(person_id=person.id, night=night, source=RequestSource.WALK_IN,
                          arrival=i + 1))
        s.flush()
        run = alloc_svc.run_allocation(s, night, city="Bergen", user=None)
        alloc_svc.confirm_run(s, run, None)
        s.commit()


def _row(page, name: str):
    return page.locator("table.board tbody tr", has_text=name)


def _change(page, name: str) -> None:
    _row(page, name).get_by_role("link", name=re.compile("^Cancel or move")).click()
    page.wait_for_url(re.compile(r"/intake/placements/\d+/change$"))


def test_cancel_move_and_undo_on_the_board(browser, tmp_path, monkeypatch):
    app = build_app(f"sqlite:///{tmp_path / 'after.db'}")
    night = tonight()
    _seed(app, night)
    # The clock: 20:00 tonight, before the sites' 23:00 cut-off.
    evening = local_on(night, time(20, 0))
    for module in (alloc_svc, intake_svc, changes_svc):
        monkeypatch.setattr(module, "utcnow", lambda: evening)
    with LiveServer(app) as server:
        base = server.url
        page = browser.new_page(viewport={"width": 1280, "height": 900})
        page.goto(f"{base}/login")
        page.get_by_label("Username").fill("kari")
        page.get_by_label("Password").fill(PASSWORD)
        page.get_by_role("button", name=re.compile("Log in", re.I)).click()
        page.wait_for_url(re.compile(r"/intake/$"))
        for name in ("Anna Berg", "Bjørn Dahl", "Carl Eng", "Dina Holm"):
            assert "placed" in _row(page, name).inner_text()
        carl_bed = _row(page, "Carl Eng").locator("td[data-label=Bed]").inner_text()

        # Move Carl: the youth bed breaks the age limit and is refused beside the field.
        _change(page, "Carl Eng")
        page.get_by_label("Move to another bed").check()
        page.get_by_label("New bed (for a move)").select_option(label="Ungdom · Room 1 · ung-1")
        page.get_by_label("Reason").fill("Wants to be near the door")
        page.get_by_role("button", name="Save the change").click()
        assert "Age limit" in page.inner_text(".field-error")
        assert page.get_by_label("Reason").input_value() == "Wants to be near the door"
        screenshot(page, "after-confirm-01-move-refused")
        free = [o for o in page.get_by_label("New bed (for a move)").locator("option")
                .all_inner_texts() if o.startswith("Strax")]
        assert len(free) == 1
        page.get_by_label("Move to another bed").check()
        page.get_by_label("New bed (for a move)").select_option(label=free[0])
        page.get_by_role("button", name="Save the change").click()
        page.wait_for_url(re.compile(r"/intake/(#r\d+)?$"))
        assert f"Moved Carl Eng from {carl_bed} to {free[0]}." in page.inner_text("main")
        assert _row(page, "Carl Eng").locator("td[data-label=Bed]").inner_text() == free[0]

        # Dina phoned: cancel with a reason; her bed is free and the board offers Undo.
        _change(page, "Dina Holm")
        page.get_by_label("Cancel: the person phoned").check()
        page.get_by_role("button", name="Save the change").click()
        assert "Give a reason" in page.inner_text(".field-error")
        page.get_by_label("Cancel: the person phoned").check()
        page.get_by_label("Reason").fill("Phoned: staying with her sister")
        page.get_by_role("button", name="Save the change").click()
        page.wait_for_url(re.compile(r"/intake/(#r\d+)?$"))
        assert "Cancelled Dina Holm's bed" in page.inner_text("main")
        assert _row(page, "Dina Holm").count() == 0
        cancelled = page.locator("section.cancelled")
        assert "Dina Holm" in cancelled.inner_text()
        assert "Phoned: staying with her sister" in cancelled.inner_text()

        # Bjørn checks in; the board offers to undo exactly that.
        _row(page, "Bjørn Dahl").get_by_role("button", name="Check in").click()
        page.wait_for_load_state()
        assert "checked in" in _row(page, "Bjørn Dahl").inner_text()
        assert _row(page, "Carl Eng").get_by_role("button", name="Undo move").count() == 1
        screenshot(page, "after-confirm-02-board-undo")
        _row(page, "Bjørn Dahl").get_by_role("button", name="Undo check-in").click()
        page.wait_for_load_state()
        assert "Undid the check-in of Bjørn Dahl: placed in" in page.inner_text("main")
        assert "checked in" not in _row(page, "Bjørn Dahl").inner_text()
        assert _row(page, "Bjørn Dahl").get_by_role("button", name="Check in").count() == 1

        cancelled.get_by_role("button", name="Undo cancellation").click()
        page.wait_for_load_state()
        assert "Undid the cancellation of Dina Holm" in page.inner_text("main")
        assert "placed" in _row(page, "Dina Holm").inner_text()
        assert page.locator("section.cancelled").count() == 0
        screenshot(page, "after-confirm-03-board-after-undo")

        phone = browser.new_page(viewport={"width": 390, "height": 844})
        phone.context.add_cookies(page.context.cookies())
        phone.goto(f"{base}/intake/")
        screenshot(phone, "after-confirm-04-board-phone")
        phone.close()
        page.close()
    with app.app_context():
        db.session.remove()
        db.engine.dispose()
