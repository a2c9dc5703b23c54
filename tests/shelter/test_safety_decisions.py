"""A new ban or keep-apart pair that hits bookings already made: staff see who is affected and
decide per booking (move, keep with a reason, release) before anything is saved."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from shelter.models import (
    KeepApart, Placement, PlacementStatus, Restriction, Role, SafetyExemption,
)
from shelter.services import allocation as alloc
from shelter.services import safety
from shelter.services.safety_conflicts import Decision, DecisionsNeeded
from tests.shelter.conftest import login
from tests.shelter.intake_factories import NIGHT, ask, beds_of

CITY = "Bergen"


@pytest.fixture()
def confirmed(db, make_site):
    """A and B confirmed at Strax (A's wish); Sand has two free beds."""
    strax, sand = make_site("strax", beds=2), make_site("sand", beds=2)
    a = ask(db.session, "Anna", need=80, preferred=strax)
    b = ask(db.session, "Bo", need=70, preferred=strax)
    alloc.confirm_run(db.session, alloc.run_allocation(db.session, NIGHT, city=CITY, user=None), None)
    return strax, sand, a, b


def _placement(db, person_id):
    return db.session.scalar(select(Placement).where(Placement.person_id == person_id,
                                                     Placement.night == NIGHT))


def _ban(db, person_id, site_id, decisions=None):
    return safety.add_ban(db.session, person_id=person_id, site_id=site_id, starts_on=NIGHT,
                          ends_on=None, review_on=NIGHT + timedelta(days=30), reason="threats",
                          user=None, decisions=decisions)


def test_a_ban_that_hits_a_confirmed_bed_saves_nothing_until_staff_decide(db, confirmed):
    strax, sand, a, _ = confirmed
    with pytest.raises(DecisionsNeeded) as need:
        _ban(db, a.person_id, strax.id)
    [affected] = need.value.affected
    assert (affected.person_id, affected.site_name, affected.status) == (a.person_id, "Strax", "confirmed")
    # Only beds the rule book allows with the new ban in force are offered: Sand's, not Strax's.
    assert {bed for bed, _ in affected.move_to} == {b.id for b in beds_of(sand)}
    assert db.session.scalar(select(func.count(Restriction.id))) == 0
    # A half-made decision is refused beside the booking, still nothing saved.
    with pytest.raises(DecisionsNeeded) as again:
        _ban(db, a.person_id, strax.id, {affected.key: Decision("keep")})
    assert "reason" in again.value.errors[affected.key]
    with pytest.raises(DecisionsNeeded) as again:
        _ban(db, a.person_id, strax.id, {affected.key: Decision("move", beds_of(strax)[1].id)})
    assert "bed the rules allow" in again.value.errors[affected.key]
    assert db.session.scalar(select(func.count(Restriction.id))) == 0


def test_move_puts_the_person_in_an_allowed_bed_and_the_next_run_has_no_conflict(db, confirmed):
    strax, sand, a, _ = confirmed
    with pytest.raises(DecisionsNeeded) as need:
        _ban(db, a.person_id, strax.id)
    key = need.value.affected[0].key
    _ban(db, a.person_id, strax.id, {key: Decision("move", beds_of(sand)[0].id)})
    moved = _placement(db, a.person_id)
    assert moved.bed_id == beds_of(sand)[0].id and moved.status == PlacementStatus.CONFIRMED
    ask(db.session, "Late", need=10)
    run = alloc.run_allocation(db.session, NIGHT, city=CITY, user=None, kind=None)
    assert run.result_json["conflicts"] == []


def test_keep_records_the_reason_and_the_rule_book_sets_the_ban_aside_that_night(db, confirmed):
    strax, _, a, _ = confirmed
    with pytest.raises(DecisionsNeeded) as need:
        _ban(db, a.person_id, strax.id)
    key = need.value.affected[0].key
    ban = _ban(db, a.person_id, strax.id, {key: Decision("keep", reason="Leaves at dawn")})
    exemption = db.session.scalar(select(SafetyExemption))
    assert (exemption.restriction_id, exemption.night, exemption.reason) == (ban.id, NIGHT, "Leaves at dawn")
    run = alloc.run_allocation(db.session, NIGHT, city=CITY, user=None, kind=None)
    assert run.result_json["conflicts"] == []
    alloc.check_in(db.session, _placement(db, a.person_id), None)  # no warning: kept knowingly
    # The ban still holds on the next night.
    from shelter.services import rules
    nxt = NIGHT.replace(day=NIGHT.day + 1)
    assert rules.barred_sites(db.session, [a.person_id], nxt)[a.person_id] == {strax.id}


def test_release_frees_the_bed_for_late_arrivals(db, confirmed):
    strax, _, a, _ = confirmed
    with pytest.raises(DecisionsNeeded) as need:
        _ban(db, a.person_id, strax.id)
    _ban(db, a.person_id, strax.id, {need.value.affected[0].key: Decision("release")})
    assert _placement(db, a.person_id).status == PlacementStatus.RELEASED
    late = ask(db.session, "Late", need=10, preferred=strax)
    alloc.run_allocation(db.session, NIGHT, city=CITY, user=None, kind=None)
    assert _placement(db, late.person_id).bed_id == _placement(db, a.person_id).bed_id


def test_a_keep_apart_pair_at_one_site_lists_both_and_a_move_settles_it(db, confirmed):
    strax, sand, a, b = confirmed
    with pytest.raises(DecisionsNeeded) as need:
        safety.add_keep_apart(db.session, person_a_id=a.person_id, person_b_id=b.person_id,
                              starts_on=NIGHT, ends_on=None, reason="fight", user=None)
    affected = {x.person_id: x for x in need.value.affected}
    assert set(affected) == {a.person_id, b.person_id}
    # Moving B: Strax is offered to nobody (the partner is there), Sand is.
    assert {bed for bed, _ in affected[b.person_id].move_to} == {x.id for x in beds_of(sand)}
    pair = safety.add_keep_apart(
        db.session, person_a_id=a.person_id, person_b_id=b.person_id, starts_on=NIGHT,
        ends_on=None, reason="fight", user=None,
        decisions={affected[a.person_id].key: Decision("keep", reason="A stays, B moves"),
                   affected[b.person_id].key: Decision("move", beds_of(sand)[1].id)})
    assert isinstance(pair, KeepApart)
    assert _placement(db, b.person_id).bed.room.site_id == sand.id
    run = alloc.run_allocation(db.session, NIGHT, city=CITY, user=None, kind=None)
    assert run.result_json["conflicts"] == []


def test_the_safety_page_asks_for_decisions_then_saves(client, db, confirmed, make_user):
    strax, sand, a, _ = confirmed
    login(client, make_user(Role.INTAKE))
    form = {"ban-person_id": str(a.person_id), "ban-site_id": str(strax.id),
            "ban-starts_on": NIGHT.isoformat(), "ban-reason": "threats", "ban-authority": "staff",
            "ban-review_on": (NIGHT + timedelta(days=30)).isoformat()}
    page = client.post("/people/safety/bans", data=form)
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Nothing has been saved yet" in html
    assert "Anna" in html and "Save the ban and these decisions" in html
    assert db.session.scalar(select(func.count(Restriction.id))) == 0
    key = f"placement-{_placement(db, a.person_id).id}"
    done = client.post("/people/safety/bans", data={
        **form, f"decision-{key}": "move", f"bed-{key}": str(beds_of(sand)[1].id)})
    assert done.status_code == 302
    assert _placement(db, a.person_id).bed_id == beds_of(sand)[1].id
    assert db.session.scalar(select(func.count(Restriction.id))) == 1


# --- bans that end -----------------------------------------------------------------------

def test_every_ban_has_an_end_or_a_review_within_the_longest_allowed(db, make_site, app):
    site = make_site("strax", beds=1)
    person = ask(db.session, "P", need=1).person
    base = dict(person_id=person.id, site_id=site.id, starts_on=NIGHT, reason="x", user=None)
    with pytest.raises(safety.SafetyError) as err:
        safety.add_ban(db.session, ends_on=None, **base)
    assert "review date" in err.value.errors["ends_on"]
    with pytest.raises(safety.SafetyError) as err:
        safety.add_ban(db.session, ends_on=NIGHT + timedelta(days=400), **base)
    assert "at most 365 nights" in err.value.errors["ends_on"]
    with pytest.raises(safety.SafetyError) as err:
        safety.add_ban(db.session, ends_on=None, review_on=NIGHT - timedelta(days=1), **base)
    assert "review_on" in err.value.errors
    with pytest.raises(safety.SafetyError) as err:
        safety.add_ban(db.session, **{**base, "starts_on": NIGHT.replace(year=1999)}, ends_on=None,
                       review_on=NIGHT)
    assert "starts_on" in err.value.errors
    app.config["BAN_MAX_DAYS"] = 30
    try:
        with pytest.raises(safety.SafetyError) as err:
            safety.add_ban(db.session, ends_on=NIGHT + timedelta(days=31), **base)
        assert "at most 30 nights" in err.value.errors["ends_on"]
    finally:
        app.config["BAN_MAX_DAYS"] = 365
    ban = safety.add_ban(db.session, ends_on=None, review_on=NIGHT + timedelta(days=60), **base)
    assert ban.review_on == NIGHT + timedelta(days=60)


def test_the_review_page_lists_bans_due_this_week_and_a_review_moves_them_on(client, db, make_site, make_user):
    from shelter import clock
    today = clock.tonight()
    site = make_site("strax", beds=1)
    due = ask(db.session, "Due soon", need=1).person
    later = ask(db.session, "Later", need=1).person
    overdue = ask(db.session, "Overdue", need=1).person
    for person, review in ((due, today + timedelta(days=3)), (later, today + timedelta(days=40)),
                           (overdue, today - timedelta(days=2))):
        db.session.add(Restriction(person_id=person.id, site_id=site.id,
                                   starts_on=today - timedelta(days=10), review_on=review,
                                   reason="x"))
    db.session.flush()
    login(client, make_user(Role.INTAKE))
    html = client.get("/people/safety/review").get_data(as_text=True)
    assert "Due soon" in html and "Overdue" in html and "review overdue" in html
    assert "Later" not in html
    ban = db.session.scalar(select(Restriction).where(Restriction.person_id == due.id))
    bad = client.post(f"/people/safety/bans/{ban.id}/review",
                      data={"review_on": (today - timedelta(days=1)).isoformat()})
    assert bad.status_code == 302 and ban.review_on == today + timedelta(days=3)
    ok = client.post(f"/people/safety/bans/{ban.id}/review",
                     data={"review_on": (today + timedelta(days=30)).isoformat()})
    assert ok.status_code == 302 and ban.review_on == today + timedelta(days=30)
    table = client.get("/people/safety/review").get_data(as_text=True).split('id="due"')[1]
    assert "Due soon" not in table and "Overdue" in table
