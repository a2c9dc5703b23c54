"""The intake pages through the test client: board, allocate, override, confirm, check-in,
turned-away notes; bad input is answered beside the field with 422."""
from __future__ import annotations

from datetime import time

import pytest
from sqlalchemy import select

from shelter.models import (
    AuditEvent, AuditEventPerson, Gender, OtherService, Placement, PlacementStatus, RequestStatus, Restriction, Role,
)
from shelter.services import allocation as svc
from shelter.services import audit
from shelter.clock import tonight
from tests.shelter.conftest import login
from tests.shelter.intake_factories import ask, beds_of, hold_for


@pytest.fixture()
def evening(db, make_site, make_user, client):
    night = tonight()
    site = make_site("strax", beds=1, name="Strax", checkin_cutoff=time(12, 0))
    high = ask(db.session, "Hanne High", need=80, gender=Gender.WOMAN, night=night)
    low = ask(db.session, "Lars Low", need=10, night=night)
    db.session.add(Restriction(person_id=low.person_id, site_id=site.id, starts_on=night,
                               ends_on=None, reason="fight"))
    user = make_user(Role.INTAKE)
    login(client, user)
    return {"night": night, "site": site, "high": high, "low": low, "user": user}


def test_board_lists_by_need_with_flags_and_counts(client, db, evening):
    page = client.get("/intake/")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert html.index("Hanne High") < html.index("Lars Low")
    assert "ban: Strax" in html and "Nowhere to sleep: 80" in html
    assert "Allocate beds" in html and "waiting" in html
    assert f'href="/people/{evening["high"].person_id}"' in html
    views = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "view_board")).all()
    assert len(views) == 1, "one event per board view, naming the people shown"
    named = set(db.session.scalars(select(AuditEventPerson.person_id).where(
        AuditEventPerson.event_id == views[0].id)))
    assert named == {evening["high"].person_id, evening["low"].person_id}
    for person_id in named:  # each person's trail finds the view
        assert db.session.scalar(select(AuditEvent.id).where(
            audit.naming(person_id), AuditEvent.action == "view_board")) == views[0].id


def test_partner_cannot_see_board(client, db, make_user, make_org):
    partner = make_user(Role.PARTNER, organisation=make_org())
    login(client, partner)
    assert client.get("/intake/").status_code == 403


def test_full_path_allocate_override_confirm_check_in(client, db, evening):
    response = client.post("/intake/allocate")
    assert response.status_code == 302
    run = svc.latest_run(db.session, evening["night"], "Bergen")
    page = client.get(response.headers["Location"]).get_data(as_text=True)
    assert "Placed (1)" in page and "Turned away (1)" in page
    assert "barred" in page  # the low-need person is barred from the only site
    # Staff try to give the bed to the barred person: refused beside the field, input kept.
    bed = beds_of(evening["site"])[0]
    url = f"/intake/runs/{run.id}/people/{evening['low'].person_id}"
    refused = client.post(url, data={"bed": str(bed.id), "reason": "he asked nicely"})
    assert refused.status_code == 422
    body = refused.get_data(as_text=True)
    assert "Ban: the person is barred" in body and "he asked nicely" in body
    missing = client.post(url, data={"bed": "none", "reason": ""})
    assert missing.status_code == 422 and "Give a reason" in missing.get_data(as_text=True)
    # Confirm, then check in from the board.
    assert client.post(f"/intake/runs/{run.id}/confirm").status_code == 302
    placement = db.session.scalar(select(Placement).where(
        Placement.person_id == evening["high"].person_id))
    assert placement.status == PlacementStatus.CONFIRMED
    board = client.get("/intake/").get_data(as_text=True)
    assert "Check in" in board and "placed" in board
    assert client.post(f"/intake/placements/{placement.id}/check-in").status_code == 302
    assert placement.status == PlacementStatus.CHECKED_IN
    assert evening["low"].status == RequestStatus.TURNED_AWAY
    # A second confirm is refused with a message, not an error page.
    again = client.post(f"/intake/runs/{run.id}/confirm", follow_redirects=True)
    assert "already confirmed" in again.get_data(as_text=True)
    # Releasing the bed from the board records why it is free.
    board = client.get("/intake/").get_data(as_text=True)
    assert 'name="reason"' in board and "Release bed" in board
    released = client.post(f"/intake/placements/{placement.id}/release",
                           data={"reason": "moved to other housing"})
    assert released.status_code == 302 and placement.status == PlacementStatus.RELEASED
    detail = db.session.scalar(select(AuditEvent.detail).where(
        AuditEvent.action == "release", AuditEvent.person_id == placement.person_id))
    assert detail.endswith(": moved to other housing")


def test_no_show_refused_before_cutoff_is_a_message(client, db, evening, make_site):
    late_site = make_site("night", beds=1, name="Nattkafé", checkin_cutoff=time(23, 59))
    db.session.add(Restriction(person_id=evening["high"].person_id, site_id=evening["site"].id,
                               starts_on=evening["night"], ends_on=None, reason="x"))
    db.session.flush()
    run = svc.run_allocation(db.session, evening["night"], city="Bergen", user=None)
    svc.confirm_run(db.session, run, None)
    placement = db.session.scalar(select(Placement).where(
        Placement.person_id == evening["high"].person_id))
    assert placement.bed.room.site_id == late_site.id
    page = client.post(f"/intake/placements/{placement.id}/no-show", follow_redirects=True)
    text = page.get_data(as_text=True)
    if "open until" in text:  # before 23:59 local, the usual case
        assert placement.status == PlacementStatus.CONFIRMED
    else:
        assert placement.status == PlacementStatus.NO_SHOW


def test_turned_away_page_with_services_and_note(client, db, evening):
    db.session.add_all([
        OtherService(city="Bergen", name="Alpha shelter", for_gender=None),
        OtherService(city="Bergen", name="Women's crisis centre", for_gender="woman"),
        OtherService(city="Oslo", name="Far away", for_gender=None),
    ])
    db.session.flush()
    svc.confirm_run(db.session, svc.run_allocation(db.session, evening["night"], city="Bergen",
                                                   user=None), None)
    low = evening["low"]
    page = client.get("/intake/turned-away").get_data(as_text=True)
    assert "Lars Low" in page and "Alpha shelter" in page and "Far away" not in page
    assert "Women&#39;s crisis centre" not in page  # Lars is a man
    too_long = "x" * 201
    bad = client.post(f"/intake/requests/{low.id}/note",
                      data={f"r{low.id}-referred_to": too_long, f"r{low.id}-note": "kept text"})
    assert bad.status_code == 422
    body = bad.get_data(as_text=True)
    assert "under 200 characters" in body and "kept text" in body
    ok = client.post(f"/intake/requests/{low.id}/note",
                     data={f"r{low.id}-referred_to": "Alpha shelter", f"r{low.id}-note": "walked"})
    assert ok.status_code == 302
    assert low.referred_to == "Alpha shelter" and low.note == "walked"


def test_women_see_women_services_first(client, db, evening, make_site):
    db.session.add_all([
        OtherService(city="Bergen", name="Alpha shelter", for_gender=None),
        OtherService(city="Bergen", name="Women's crisis centre", for_gender="woman"),
    ])
    # A second woman with lower need than Hanne: turned away (one bed only).
    w = ask(db.session, "Wenche", need=5, gender=Gender.WOMAN, night=evening["night"])
    svc.confirm_run(db.session, svc.run_allocation(db.session, evening["night"], city="Bergen",
                                                   user=None), None)
    assert w.status == RequestStatus.TURNED_AWAY
    page = client.get("/intake/turned-away").get_data(as_text=True)
    part = page[page.index("Wenche"):]
    assert part.index("Women&#39;s crisis centre") < part.index("Alpha shelter")


def test_hold_badge_on_board(client, db, evening):
    hold = hold_for(db.session, evening["high"].person, beds_of(evening["site"])[0],
                    night=evening["night"])
    evening["high"].hold_id = hold.id
    db.session.flush()
    assert "hold · Bymisjon" in client.get("/intake/").get_data(as_text=True)


def test_allocate_with_nobody_asking_is_a_message(client, db, make_user):
    login(client, make_user(Role.INTAKE))
    page = client.post("/intake/allocate", follow_redirects=True)
    assert page.status_code == 200 and "Nobody is asking" in page.get_data(as_text=True)


def test_cli_allocate(app, db, evening):
    runner = app.test_cli_runner()
    bad = runner.invoke(args=["allocate", "--night", "tomorrow"])
    assert bad.exit_code == 2 and "not a date" in bad.output
    ok = runner.invoke(args=["allocate", "--night", evening["night"].isoformat()])
    assert ok.exit_code == 0, ok.output
    assert "1 placed, 1 turned away" in ok.output


def test_site_counts_match_inventory_availability(db, evening, make_site):
    from shelter.models import BedOutage
    from shelter.services.intake import site_counts
    from shelter.services.inventory import availability

    other = make_site("sand", beds=4)
    db.session.add(BedOutage(bed_id=beds_of(other)[0].id, reason="leak",
                             starts_on=evening["night"], ends_on=None))
    hold_for(db.session, evening["low"].person, beds_of(other)[1], night=evening["night"])
    svc.run_allocation(db.session, evening["night"], city="Bergen", user=None)
    assert site_counts(db.session, evening["night"], "Bergen") == \
        availability(db.session, evening["night"], "Bergen")
