"""Hand changes to a proposal: allowed moves are recorded; each hard rule refuses by name."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from shelter.models import (
    AuditEvent, Gender, GenderRule, KeepApart, Override, Placement, PlacementStatus,
    RequestStatus, Restriction,
)
from shelter.services import allocation as svc
from tests.shelter.intake_factories import NIGHT, add_room, ask, beds_of, hold_for

CITY = "Bergen"


def _proposed(db):
    return {p.person_id: p for p in db.session.scalars(select(Placement).where(
        Placement.night == NIGHT, Placement.status == PlacementStatus.PROPOSED))}


def _change(db, run, person_id, bed, reason="staff know best"):
    return svc.override_placement(
        db.session, svc.Change(run, person_id, bed.id if bed else None, reason), None)


@pytest.fixture()
def night(db, make_site):
    """One bed at strax, one at sand; A (need 50) and B (need 40) proposed, C turned away."""
    strax, sand = make_site("strax", beds=1), make_site("sand", beds=1)
    a, b = ask(db.session, "A", need=50), ask(db.session, "B", need=40)
    # C is barred from sand, so at most strax; with A and B higher, C is turned away.
    c = ask(db.session, "C", need=10)
    db.session.add(Restriction(person_id=c.person_id, site_id=sand.id, starts_on=NIGHT,
                               ends_on=None, reason="fight"))
    db.session.flush()
    return {"strax": strax, "sand": sand, "a": a, "b": b, "c": c}


def _run(db):
    return svc.run_allocation(db.session, NIGHT, city=CITY, user=None)


def test_unplace_move_and_place_are_recorded(db, night):
    run = _run(db)
    proposed = _proposed(db)
    a, b, c = night["a"].person_id, night["b"].person_id, night["c"].person_id
    assert set(proposed) == {a, b}
    strax_bed, sand_bed = beds_of(night["strax"])[0], beds_of(night["sand"])[0]
    x = next(pid for pid, p in proposed.items() if p.bed_id == strax_bed.id)
    y = next(pid for pid, p in proposed.items() if p.bed_id == sand_bed.id)
    _change(db, run, x, None, "asked to sleep elsewhere")           # unplace
    _change(db, run, y, strax_bed, "closer to the clinic")          # move
    _change(db, run, x, sand_bed, "changed their mind")             # place
    assert {pid: p.bed_id for pid, p in _proposed(db).items()} == {
        y: strax_bed.id, x: sand_bed.id}
    rows = list(db.session.scalars(select(Override).order_by(Override.id)))
    assert [(o.person_id, o.from_bed_id, o.to_bed_id) for o in rows] == [
        (x, strax_bed.id, None), (y, sand_bed.id, strax_bed.id), (x, None, sand_bed.id)]
    assert rows[1].reason == "closer to the clinic" and all(o.run_id == run.id for o in rows)
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "override",
                                                      AuditEvent.person_id == y))
    # Take y's bed by hand and give it to C, who was turned away: C is placed on confirm,
    # y is turned away with the staff reason.
    _change(db, run, y, None, "left before confirmation")
    _change(db, run, c, strax_bed, "known to staff")
    svc.confirm_run(db.session, run, None)
    assert night["c"].status == RequestStatus.PLACED
    req_y = night["a"] if y == a else night["b"]
    assert req_y.status == RequestStatus.TURNED_AWAY and req_y.turnaway_reason == "staff"


def _refusal(db, run, person_id, bed, reason="r"):
    with pytest.raises(svc.OverrideRefused) as err:
        _change(db, run, person_id, bed, reason)
    return " ".join(err.value.problems)


def test_reason_is_required(db, night):
    run = _run(db)
    with pytest.raises(svc.OverrideRefused) as err:
        _change(db, run, night["c"].person_id, beds_of(night["sand"])[0], "  ")
    assert err.value.field == "reason"


def test_ban_at_site(db, night):
    run = _run(db)
    assert "Ban" in _refusal(db, run, night["c"].person_id, beds_of(night["sand"])[0])


def test_bed_already_taken(db, night):
    run = _run(db)
    taken = _proposed(db)[night["a"].person_id].bed
    assert "already taken" in _refusal(db, run, night["c"].person_id, taken)


def test_gender_rule_features_and_age(db, night, make_site):
    women = add_room(db.session, night["strax"], "W", GenderRule.WOMEN, 1)
    special = add_room(db.session, night["strax"], "S", GenderRule.MIXED, 1)
    young = make_site("ung", beds=1, min_age=18, max_age=23)
    night["c"].needs = ["accessible"]
    db.session.flush()
    run = _run(db)
    c = night["c"].person_id
    text = _refusal(db, run, c, women[0])
    assert "Gender rule" in text and "Bed features" in text
    assert "Bed features: the person needs accessible" in _refusal(db, run, c, special[0])
    assert "Age limit" in _refusal(db, run, c, beds_of(young)[0])


def test_keep_apart_partner_at_site(db, make_site):
    x, y = make_site("xsite", beds=2), make_site("ysite", beds=1)
    p, q = ask(db.session, "P", need=50), ask(db.session, "Q", need=10)
    lo, hi = sorted((p.person_id, q.person_id))
    db.session.add(KeepApart(person_a_id=lo, person_b_id=hi, starts_on=NIGHT - timedelta(days=1),
                             ends_on=None, reason="threat"))
    db.session.flush()
    run = _run(db)
    proposed = _proposed(db)
    at_x = next(pid for pid, pl in proposed.items() if pl.bed.room.site_id == x.id)
    other = q.person_id if at_x == p.person_id else p.person_id
    free = next(b for b in beds_of(x) if b.id != proposed[at_x].bed_id)
    with pytest.raises(svc.OverrideRefused) as err:
        _change(db, run, other, free)
    assert len(err.value.problems) == 1 and err.value.problems[0].startswith("Keep-apart")
    assert y.id != x.id


def test_bed_held_for_someone_else(db, night, make_site):
    spare = make_site("spare", beds=1)
    holder = ask(db.session, "H", need=0)
    hold_for(db.session, holder.person, beds_of(spare)[0], site_only=False)
    run = _run(db)
    # H's bed is taken by H's proposal; unplace H and the bed is still held for H.
    _change(db, run, holder.person_id, None)
    assert "held" in _refusal(db, run, night["c"].person_id, beds_of(spare)[0])


def test_person_already_confirmed(db, night):
    run = _run(db)
    svc.confirm_run(db.session, run, None)
    rerun = _run(db)
    free = beds_of(night["sand"])[0]
    a = night["a"].person_id
    assert "already placed" in _refusal(db, rerun, a, free) or \
        "Person already placed" in _refusal(db, rerun, a, free)


def test_confirmed_run_cannot_be_changed(db, night):
    run = _run(db)
    svc.confirm_run(db.session, run, None)
    assert "already confirmed" in _refusal(db, run, night["c"].person_id,
                                           beds_of(night["strax"])[0])


def test_women_can_take_women_bed(db, night):
    women = add_room(db.session, night["strax"], "W", GenderRule.WOMEN, 1)
    w = ask(db.session, "W", need=0, gender=Gender.WOMAN)
    run = _run(db)
    placed = _proposed(db).get(w.person_id)
    if placed is not None:
        _change(db, run, w.person_id, None)
    _change(db, run, w.person_id, women[0])
    assert _proposed(db)[w.person_id].bed_id == women[0].id
