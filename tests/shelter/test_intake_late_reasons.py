"""True reasons after late runs: the evening runs (confirm, changes, more people, late run,
confirm) and every turned-away person's reason is checked against the allocator's reason for
the same night, and written out: people confirmed earlier are "already placed tonight", not
"pre-bookings"; confirming the late run leaves people who were not in it alone."""
from __future__ import annotations

from datetime import time

from sqlalchemy import select

from allocator import Night, solve
from shelter.clock import local_on
from shelter.models import Bed, Gender, GenderRule, Placement, PlacementStatus, RequestStatus, Role
from shelter.services import allocation as alloc
from shelter.services import intake as intake_svc
from shelter.services import placements as changes
from shelter.services.night_input import build_night
from tests.shelter.conftest import login
from tests.shelter.intake_factories import NIGHT, ask, beds_of, hold_for

CITY = "Bergen"
EVENING = local_on(NIGHT, time(20, 0))


def _turned_away(db):
    return {item.request.person_id: item.request
            for item in intake_svc.turned_away(db.session, NIGHT, CITY)}


def _allocator_reasons(run):
    """The allocator's own reasons for the night the run saw (its input, its fixed beds)."""
    result = solve(Night.from_json(run.input_json), fixed=run.result_json["fixed"])
    return {int(t.person): (t.reason, t.explanation) for t in result.turned_away}


def _fresh_reason_codes(db):
    """The allocator's reason codes for the night as the database holds it now."""
    data, maps = build_night(db.session, NIGHT, CITY)
    result = solve(Night.from_json(data), fixed=maps.fixed)
    return {int(t.person): t.reason for t in result.turned_away}


def _check_every_turned_away(db, run):
    told = _turned_away(db)
    truth = _allocator_reasons(run)
    assert {pid: (r.turnaway_reason, r.turnaway_explanation) for pid, r in told.items()} == truth
    fresh = _fresh_reason_codes(db)
    assert {pid: r.turnaway_reason for pid, r in told.items()} == \
        {pid: fresh[pid] for pid in told}
    return told


def test_evening_reasons_stay_true_after_a_late_run(db, make_site, make_user, client):
    user = make_user(Role.INTAKE)
    strax = make_site("strax", beds=3, name="Strax")
    make_site("kvinne", beds=1, name="Kvinnehuset", gender=GenderRule.WOMEN)
    a = ask(db.session, "Arne", need=80)
    b = ask(db.session, "Bodil", need=60)
    c = ask(db.session, "Cato", need=20)
    x = ask(db.session, "Xander", need=10)
    w = ask(db.session, "Wenche", need=50, gender=Gender.WOMAN)

    first = alloc.run_allocation(db.session, NIGHT, city=CITY, user=user, kind=None)
    assert first.kind == "proposal"
    alloc.confirm_run(db.session, first, user)
    told = _check_every_turned_away(db, first)
    assert set(told) == {x.person_id}
    assert x.turnaway_reason == "capacity"
    assert x.turnaway_explanation == ("All 3 beds you are eligible for are taken by people with "
                                      "equal or higher need (20, 60, 80).")

    # After confirmation: Arne phones to cancel, Cato will not come; a partner pre-books
    # Arne's bed for Per; Dag arrives late with the highest need.
    placed = {p.person_id: p for p in db.session.scalars(select(Placement).where(
        Placement.night == NIGHT, Placement.status == PlacementStatus.CONFIRMED))}
    changes.cancel_placement(db.session, placed[a.person_id], user, "phoned", now=EVENING)
    changes.release_unarrived(db.session, placed[c.person_id], user, "in hospital",
                              now=EVENING)
    per = ask(db.session, "Per", need=5)
    hold = hold_for(db.session, per.person, db.session.get(Bed, placed[a.person_id].bed_id),
                    site_only=False)
    per.hold_id = hold.id
    d = ask(db.session, "Dag", need=90)

    late = alloc.run_allocation(db.session, NIGHT, city=CITY, user=user, kind=None)
    assert late.kind == "late"
    assert set(late.result_json["fixed"]) == {str(b.person_id), str(w.person_id)}
    # Zara asks after the late run: she was not in it and stays waiting, reasonless.
    z = ask(db.session, "Zara", need=99, gender=Gender.WOMAN)
    alloc.confirm_run(db.session, late, user)

    told = _check_every_turned_away(db, late)
    assert set(told) == {x.person_id}
    assert x.turnaway_explanation == (
        "All 3 beds you are eligible for are taken by people with equal or higher need (90), "
        "by people already placed tonight or by pre-bookings.")
    assert d.status == per.status == b.status == RequestStatus.PLACED
    assert z.status == RequestStatus.WAITING and z.turnaway_reason is None
    assert z.turnaway_explanation is None
    assert a.status == RequestStatus.WITHDRAWN and a.turnaway_reason is None
    assert c.status == RequestStatus.PLACED and c.turnaway_reason is None
    beds = {p.person_id: p.bed_id for p in db.session.scalars(select(Placement).where(
        Placement.night == NIGHT, Placement.status == PlacementStatus.CONFIRMED))}
    assert beds[d.person_id] == placed[c.person_id].bed_id  # the freed bed went to Dag
    assert beds[per.person_id] == placed[a.person_id].bed_id  # the held bed to Per
    assert beds[b.person_id] == placed[b.person_id].bed_id  # nobody confirmed was moved
    assert {beds[p] for p in (b.person_id, d.person_id, per.person_id)} == \
        {bed.id for bed in beds_of(strax)}

    # The page staff read out from says the same.
    login(client, user)
    page = client.get(f"/intake/turned-away?night={NIGHT.isoformat()}").get_data(as_text=True)
    # (the app words the reason itself, shelter/services/reasons.py: a list of who took them)
    assert ("All 3 beds you are eligible for are taken by people with equal or higher need "
            "(90), people already placed tonight, or pre-bookings.") in page
    assert "Zara" not in page


def test_late_run_with_everyone_confirmed_does_not_blame_pre_bookings(db, make_site):
    make_site("strax", beds=2, name="Strax")
    ask(db.session, "A", need=50)
    ask(db.session, "B", need=40)
    alloc.confirm_run(db.session, alloc.run_allocation(db.session, NIGHT, city=CITY, user=None),
                      None)
    late = ask(db.session, "Late", need=95)
    run = alloc.run_allocation(db.session, NIGHT, city=CITY, user=None, kind=None)
    alloc.confirm_run(db.session, run, None)
    told = _check_every_turned_away(db, run)
    assert set(told) == {late.person_id}
    assert late.turnaway_explanation == \
        "All 2 beds you are eligible for are taken by people already placed tonight."
    assert "pre-booking" not in late.turnaway_explanation
