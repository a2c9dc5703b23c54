"""run_allocation, confirm_run, late arrivals, check-in, no-show and release."""
from __future__ import annotations

from datetime import datetime, time

import pytest
from sqlalchemy import select

from shelter.models import (
    AllocationRun, AuditEvent, Gender, GenderRule, HoldStatus, Placement, PlacementStatus,
    RequestStatus,
)
from shelter.services import allocation as svc
from tests.shelter.intake_factories import NIGHT, add_room, ask, beds_of, hold_for

CITY = "Bergen"


def _placements(db, status=None):
    stmt = select(Placement).where(Placement.night == NIGHT)
    if status:
        stmt = stmt.where(Placement.status == status)
    return {p.person_id: p for p in db.session.scalars(stmt)}


def test_run_proposes_by_need_and_stores_comparison(db, make_site, make_user):
    user = make_user()
    site = make_site("strax", beds=1)
    low = ask(db.session, "Low", need=10)   # first in the queue
    high = ask(db.session, "High", need=90)
    run = svc.run_allocation(db.session, NIGHT, city=CITY, user=user)
    assert run.kind == "proposal" and run.created_by_id == user.id
    assert run.input_json["requests"][0]["person"] == str(low.person_id)
    proposed = _placements(db, PlacementStatus.PROPOSED)
    assert set(proposed) == {high.person_id}
    assert proposed[high.person_id].bed_id == beds_of(site)[0].id
    assert proposed[high.person_id].run_id == run.id
    assert [t["person"] for t in run.result_json["turned_away"]] == [str(low.person_id)]
    assert run.result_json["turned_away"][0]["reason"] == "capacity"
    # First-come would have given the bed to the earlier arrival.
    assert [a["person"] for a in run.comparison_json["assignments"]] == [str(low.person_id)]
    assert run.comparison_json["rule"] == "first-come"
    # Nothing is decided yet for the requests themselves.
    assert low.status == RequestStatus.WAITING and high.status == RequestStatus.WAITING
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "allocate"))


def test_rerun_replaces_proposals(db, make_site, make_user):
    make_site("strax", beds=1)
    ask(db.session, "A", need=10)
    first = svc.run_allocation(db.session, NIGHT, city=CITY, user=None)
    b = ask(db.session, "B", need=50)
    second = svc.run_allocation(db.session, NIGHT, city=CITY, user=None)
    proposed = _placements(db, PlacementStatus.PROPOSED)
    assert set(proposed) == {b.person_id} and proposed[b.person_id].run_id == second.id
    assert svc.latest_run(db.session, NIGHT, CITY).id == second.id != first.id


def test_empty_night_gives_empty_run_unless_refused(db, make_site):
    make_site("strax", beds=1)
    run = svc.run_allocation(db.session, NIGHT, city=CITY, user=None, kind="scheduled")
    assert run.result_json["assignments"] == [] and run.result_json["turned_away"] == []
    with pytest.raises(svc.AllocationError, match="Nobody"):
        svc.run_allocation(db.session, NIGHT, city=CITY, user=None, allow_empty=False)


def test_confirm_places_and_turns_away_with_reason(db, make_site, make_user):
    user = make_user()
    make_site("strax", beds=1)
    low = ask(db.session, "Low", need=10)
    high = ask(db.session, "High", need=90)
    run = svc.run_allocation(db.session, NIGHT, city=CITY, user=user)
    late = ask(db.session, "Late", need=99)  # after the run: stays waiting
    counts = svc.confirm_run(db.session, run, user)
    assert counts == {"placed": 1, "turned_away": 1}
    assert _placements(db)[high.person_id].status == PlacementStatus.CONFIRMED
    assert high.status == RequestStatus.PLACED
    assert low.status == RequestStatus.TURNED_AWAY and low.turnaway_reason == "capacity"
    assert "taken" in low.turnaway_explanation
    assert late.status == RequestStatus.WAITING
    assert run.confirmed_at is not None and run.confirmed_by_id == user.id
    actions = {(e.person_id, e.action) for e in db.session.scalars(select(AuditEvent))}
    assert (high.person_id, "place") in actions and (low.person_id, "turn_away") in actions
    with pytest.raises(svc.AllocationError, match="already confirmed"):
        svc.confirm_run(db.session, run, user)


def test_only_newest_run_can_be_confirmed(db, make_site):
    make_site("strax", beds=1)
    ask(db.session, "A", need=10)
    old = svc.run_allocation(db.session, NIGHT, city=CITY, user=None)
    svc.run_allocation(db.session, NIGHT, city=CITY, user=None)
    with pytest.raises(svc.AllocationError, match="newer"):
        svc.confirm_run(db.session, old, None)


def test_late_arrival_never_moves_confirmed_people(db, make_site, make_user):
    """Fixed people keep their beds even when a higher-need late arrival could take one."""
    user = make_user()
    site = make_site("strax", beds=2)
    a, b = ask(db.session, "A", need=10), ask(db.session, "B", need=20)
    run = svc.run_allocation(db.session, NIGHT, city=CITY, user=user)
    svc.confirm_run(db.session, run, user)
    before = {pid: p.bed_id for pid, p in _placements(db, PlacementStatus.CONFIRMED).items()}
    assert set(before) == {a.person_id, b.person_id}
    late = ask(db.session, "Late", need=95)
    rerun = svc.run_allocation(db.session, NIGHT, city=CITY, user=user, kind="late")
    assert rerun.result_json["fixed"] == {str(k): str(v) for k, v in before.items()}
    after = {pid: p.bed_id for pid, p in _placements(db, PlacementStatus.CONFIRMED).items()}
    assert after == before
    assert late.person_id not in _placements(db, PlacementStatus.PROPOSED)
    turned = {t["person"]: t for t in rerun.result_json["turned_away"]}
    assert turned[str(late.person_id)]["reason"] == "capacity"
    # A freed bed (release) goes to the late arrival on the next run; nobody else moves.
    svc.release(db.session, _placements(db)[a.person_id], user, "left")
    third = svc.run_allocation(db.session, NIGHT, city=CITY, user=user, kind="late")
    proposed = _placements(db, PlacementStatus.PROPOSED)
    assert proposed[late.person_id].bed_id == before[a.person_id]
    assert _placements(db)[b.person_id].bed_id == before[b.person_id]
    svc.confirm_run(db.session, third, user)
    assert late.status == RequestStatus.PLACED and b.status == RequestStatus.PLACED
    assert {bed.id for bed in beds_of(site)} == {before[a.person_id], before[b.person_id]}


def test_late_arrival_gets_free_bed(db, make_site):
    make_site("strax", beds=2)
    a = ask(db.session, "A", need=10)
    first = svc.run_allocation(db.session, NIGHT, city=CITY, user=None, kind=None)
    assert first.kind == "proposal"
    svc.confirm_run(db.session, first, None)
    late = ask(db.session, "Late", need=5)
    rerun = svc.run_allocation(db.session, NIGHT, city=CITY, user=None, kind=None)
    assert rerun.kind == "late"  # picked because the night already has a confirmed run
    proposed = _placements(db, PlacementStatus.PROPOSED)
    assert set(proposed) == {late.person_id}
    assert _placements(db)[a.person_id].status == PlacementStatus.CONFIRMED


def test_check_in_claims_hold(db, make_site):
    site = make_site("strax", beds=2)
    req = ask(db.session, "A", need=10)
    hold = hold_for(db.session, req.person, beds_of(site)[1], site_only=True)
    run = svc.run_allocation(db.session, NIGHT, city=CITY, user=None)
    placement = _placements(db, PlacementStatus.PROPOSED)[req.person_id]
    assert placement.hold_id == hold.id and placement.bed.room.site_id == site.id
    with pytest.raises(svc.AllocationError, match="confirmed"):
        svc.check_in(db.session, placement, None)
    svc.confirm_run(db.session, run, None)
    svc.check_in(db.session, placement, None)
    assert placement.status == PlacementStatus.CHECKED_IN and placement.checked_in_at
    assert hold.status == HoldStatus.CLAIMED


def test_no_show_only_after_cutoff(app, db, make_site):
    site = make_site("strax", beds=2, checkin_cutoff=time(23, 0))
    a, b = ask(db.session, "A", need=10), ask(db.session, "B", need=10)
    svc.confirm_run(db.session, svc.run_allocation(db.session, NIGHT, city=CITY, user=None), None)
    placements = _placements(db)
    svc.check_in(db.session, placements[b.person_id], None)
    before = datetime(2026, 11, 25, 21, 59)  # 22:59 in Oslo (UTC+1 in November)
    after = datetime(2026, 11, 25, 22, 0)
    assert svc.cutoff_utc(site, NIGHT) == after
    with pytest.raises(svc.AllocationError, match="open until 23:00"):
        svc.mark_no_show(db.session, placements[a.person_id], None, now=before)
    assert svc.mark_no_shows(db.session, NIGHT, now=before) == []
    changed = svc.mark_no_shows(db.session, NIGHT, now=after)
    assert [p.person_id for p in changed] == [a.person_id]
    assert placements[a.person_id].status == PlacementStatus.NO_SHOW
    assert placements[b.person_id].status == PlacementStatus.CHECKED_IN
    # The bed is free for the next run, and the no-show is not allocated again.
    c = ask(db.session, "C", need=1)
    svc.run_allocation(db.session, NIGHT, city=CITY, user=None, kind="late")
    proposed = _placements(db, PlacementStatus.PROPOSED)
    assert set(proposed) == {c.person_id}


def test_cutoff_after_midnight_is_next_morning(db, make_site):
    site = make_site("late", beds=1, checkin_cutoff=time(1, 30))
    assert svc.cutoff_utc(site, NIGHT) == datetime(2026, 11, 26, 0, 30)


def test_women_beds_and_holds_honoured_in_run(db, make_site):
    site = make_site("strax", beds=1)
    women = add_room(db.session, site, "W", GenderRule.WOMEN, 1)
    man = ask(db.session, "M", need=90)
    woman = ask(db.session, "W", need=10, gender=Gender.WOMAN)
    holder = ask(db.session, "H", need=0)
    hold_for(db.session, holder.person, beds_of(site)[0], site_only=False)
    run = svc.run_allocation(db.session, NIGHT, city=CITY, user=None)
    proposed = _placements(db, PlacementStatus.PROPOSED)
    assert proposed[holder.person_id].bed_id == beds_of(site)[0].id
    assert proposed[woman.person_id].bed_id == women[0].id
    assert man.person_id not in proposed
    assert db.session.get(AllocationRun, run.id).result_json["status"] == "optimal"
