"""Confirm or undo, in a real browser (Debian's chromium) on a live server, on SQLite and
PostgreSQL: a partner cancels a pre-booking through its confirm page (Back first keeps it),
staff end a ban through its confirm page (from the safety page and from the person page's
older one-click button), staff undo a check-in on the board, and withdraw a request through
its confirm page. Screenshots in
test-artifacts/ (confirm-*.png)."""
from __future__ import annotations

import re
from datetime import date, time, timedelta

import pytest

from shelter.clock import local_on, tonight
from shelter.extensions import db
from shelter.models import (
    Bed,
    Gender,
    Hold,
    HoldStatus,
    Person,
    Request,
    RequestSource,
    Restriction,
    Role,
    Room,
    Site,
    User,
)
from shelter.services import allocation as alloc_svc
from shelter.services import intake as intake_svc
from shelter.services import placements as changes_svc
from shelter.services.prebooking import BookingRequest, PersonSpec, book_hold
from tests.shelter.conftest import (
    _HASH,
    PASSWORD,
    LiveServer,
    build_app,
    scratch_database,
    screenshot,
)
from tests.shelter.partners_fixtures import add_org

pytestmark = pytest.mark.browser


def _seed(app, night: date) -> dict[str, int]:
    """Strax (3 beds, check-in until 23:00); NAV's partner Berit with a pre-booking for
    Kari tomorrow; intake's Ingrid; Ola banned from Strax twice (two records), Per confirmed
    in a bed tonight."""
    with app.app_context():
        s = db.session
        site = Site(code="strax", name="Strax-huset", checkin_cutoff=time(23, 0),
                    hold_expiry=time(23, 30))
        room = Room(site=site, name="Room 1", valid_from=date(2020, 1, 1))
        for i in range(3):
            room.beds.append(Bed(label=f"strax-{i + 1}", valid_from=date(2020, 1, 1)))
        s.add(site)
        org = add_org(s, "NAV")
        berit = User(username="berit", display_name="Berit", role=Role.PARTNER,
                     organisation=org, password_hash=_HASH)
        s.add_all([berit, User(username="ingrid", display_name="Ingrid Intake",
                               role=Role.INTAKE, password_hash=_HASH)])
        s.flush()
        hold = book_hold(s, BookingRequest(
            organisation_id=org.id, night=night + timedelta(days=1),
            person=PersonSpec(name="Kari Nordmann", gender=Gender.WOMAN)), berit)
        ola = Person(name="Ola Hansen", gender=Gender.MAN, birth_year=1980)
        per = Person(name="Per Berg", gender=Gender.MAN, birth_year=1975)
        s.add_all([ola, per])
        s.flush()
        bans = [Restriction(person_id=ola.id, site_id=site.id, starts_on=night,
                            ends_on=night + timedelta(days=days), reason=reason)
                for days, reason in ((7, "Threatened staff"), (30, "Fight in the queue"))]
        s.add_all(bans)
        s.add(Request(person_id=per.id, night=night, source=RequestSource.WALK_IN, arrival=1))
        s.flush()
        run = alloc_svc.run_allocation(s, night, city="Bergen", user=None)
        alloc_svc.confirm_run(s, run, None)
        s.commit()
        return {"hold": hold.id, "ola": ola.id, "ban": bans[0].id, "ban2": bans[1].id,
                "per": per.id}


def _log_in(page, base: str, username: str, lands: str) -> None:
    page.goto(f"{base}/login")
    page.fill("#username", username)
    page.fill("#password", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url(re.compile(lands))


def test_confirm_cancel_end_ban_and_undo_check_in(browser, backend, tmp_path, monkeypatch):
    night = tonight()
    evening = local_on(night, time(20, 0))  # before Strax's 23:00 check-in cut-off
    for module in (alloc_svc, intake_svc, changes_svc):
        monkeypatch.setattr(module, "utcnow", lambda: evening)
    with scratch_database(backend, tmp_path, "confirm") as url:
        app = build_app(url)
        ids = _seed(app, night)
        with LiveServer(app) as server:
            base = server.url
            # A partner cancels the pre-booking: Back first keeps it, Yes cancels it.
            partner = browser.new_page(viewport={"width": 1280, "height": 900})
            _log_in(partner, base, "berit", r"/partner/$")
            row = partner.locator("table.holds tbody tr", has_text="Kari Nordmann")
            row.get_by_role("button", name="Cancel pre-booking for Kari Nordmann").click()
            partner.wait_for_url(re.compile(rf"/partner/holds/{ids['hold']}/cancel$"))
            assert "gives the bed at Strax-huset" in partner.inner_text(".what-happens")
            screenshot(partner, f"confirm-01-cancel-pre-booking-{backend}")
            partner.get_by_role("link", name="No, keep the pre-booking").click()
            partner.wait_for_url(re.compile(r"/partner/$"))
            assert "held" in row.inner_text()
            row.get_by_role("button", name="Cancel pre-booking for Kari Nordmann").click()
            partner.get_by_role("button", name="Yes, cancel the pre-booking").click()
            partner.wait_for_url(re.compile(r"/partner/$"))
            assert "cancelled" in row.inner_text()
            assert "the bed is free again" in partner.inner_text("main")
            screenshot(partner, f"confirm-02-pre-booking-cancelled-{backend}")
            partner.close()
            with app.app_context():
                assert db.session.get(Hold, ids["hold"]).status is HoldStatus.CANCELLED
                db.session.remove()

            # Staff end a ban from the safety page, through its confirm page.
            staff = browser.new_page(viewport={"width": 1280, "height": 900})
            _log_in(staff, base, "ingrid", r"/intake/$")
            staff.goto(f"{base}/people/safety")
            bans = staff.locator("#bans tbody tr")
            assert bans.count() == 2
            bans.filter(has_text="Threatened staff").get_by_role(
                "button", name="End ban for Ola Hansen").click()
            staff.wait_for_url(re.compile(rf"/people/safety/bans/{ids['ban']}/end$"))
            assert "Ending the ban lets Ola Hansen be given a bed at Strax-huset again" in \
                staff.inner_text(".what-happens")
            screenshot(staff, f"confirm-03-end-ban-{backend}")
            staff.get_by_role("button", name="Yes, end the ban").click()
            staff.wait_for_url(re.compile(r"/people/safety$"))
            assert "Ban for Ola Hansen ended." in staff.inner_text("main")
            assert staff.locator("#bans tbody tr").count() == 1

            # The person page's End ban button (a one-click form) now asks first too.
            staff.goto(f"{base}/people/{ids['ola']}")
            staff.locator("li.ban").get_by_role("button", name="End ban").click()
            staff.wait_for_load_state()
            assert "End this ban?" in staff.inner_text("h1")
            with app.app_context():  # the click only asked
                assert db.session.get(Restriction, ids["ban2"]).ended_at is None
                db.session.remove()
            staff.get_by_role("button", name="Yes, end the ban").click()
            staff.wait_for_url(re.compile(rf"/people/{ids['ola']}$"))
            assert "Ban for Ola Hansen ended." in staff.inner_text("main")
            with app.app_context():
                ended = [db.session.get(Restriction, i).ended_at for i in (ids["ban"], ids["ban2"])]
                assert all(ended)
                db.session.remove()

            # Check Per in on the board, then undo it: placed again.
            staff.goto(f"{base}/intake/")
            per = staff.locator("table.board tbody tr", has_text="Per Berg")
            per.get_by_role("button", name="Check in").click()
            staff.wait_for_load_state()
            assert "checked in" in per.inner_text()
            screenshot(staff, f"confirm-04-board-checked-in-{backend}")
            per.get_by_role("button", name="Undo check-in").click()
            staff.wait_for_load_state()
            assert "Undid the check-in of Per Berg: placed in" in staff.inner_text("main")
            assert per.get_by_role("button", name="Check in").count() == 1
            screenshot(staff, f"confirm-05-board-check-in-undone-{backend}")

            # Withdraw Per's request from his page: the button asks first, with his bed named.
            staff.goto(f"{base}/people/{ids['per']}")
            staff.select_option("#withdraw-reason", "bed_elsewhere")
            staff.get_by_role("button", name="Withdraw tonight's request").click()
            staff.wait_for_load_state()
            assert "the bed Strax-huset · Room 1 · strax-1 goes back to the pool" in \
                staff.inner_text(".what-happens")
            assert staff.input_value("#reason") == "bed_elsewhere"  # as chosen
            screenshot(staff, f"confirm-06-withdraw-{backend}")
            staff.get_by_role("button", name="Yes, withdraw the request").click()
            staff.wait_for_url(re.compile(rf"/people/{ids['per']}$"))
            assert "Per Berg's request for tonight is withdrawn." in staff.inner_text("main")
            staff.goto(f"{base}/intake/")
            assert staff.locator("table.board tbody tr", has_text="Per Berg").count() == 0
            staff.close()
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
