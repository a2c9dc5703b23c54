"""The rule book in the app: model-level rules agree in SQL and Python; exclusion orders by
area; a night that holds together when safety records change after confirmation; women
offered women-only beds first."""
from __future__ import annotations

from datetime import UTC, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import select

from shelter import clock
from shelter.extensions import db as _db
from shelter.jobs import scheduled_allocation_job
from shelter.models import (
    AllocationRun, Area, AuditEvent, Bed, BedOutage, Gender, GenderRule, JobRun, KeepApart, Person, Placement, PlacementStatus, Restriction, Room, Site,
)
from shelter.services import allocation as svc
from shelter.services import rules
from shelter.services.overrides import Change, OverrideRefused, override_placement
from shelter.services.prebooking import (
    BookingRequest, PersonSpec, book_hold, cancel_hold,
)
from tests.shelter.conftest import build_app
from tests.shelter.intake_factories import NIGHT, add_room, ask, beds_of
from tests.shelter.partners_fixtures import add_org, fresh_database_url, tomorrow

CITY = "Bergen"


def _active(db, night=NIGHT):
    return {p.person_id: p for p in db.session.scalars(
        select(Placement).where(Placement.night == night, Placement.is_active))}


def _site_of(db, bed_id):
    return db.session.get(Bed, bed_id).room.site_id


def _assert_nobody_against_a_rule(db, night=NIGHT):
    """Every active placement of the night passes the rule book, and no keep-apart pair in
    force shares a site (the invariant each test below ends with)."""
    active = _active(db, night)
    for person_id, placement in active.items():
        person = db.session.get(Person, person_id)
        found = {r.code for r in rules.bed_allowed_reasons(db.session, person, placement.bed, night)}
        # keep-apart is checked between placements below (a partner's conflicting hold,
        # set aside for staff, does not make this placement wrong)
        assert not found - {"keep_apart"}, (person.display_name, placement.bed.label, found)
    for pair in db.session.scalars(select(KeepApart).where(KeepApart.in_force_on(night))):
        if pair.person_a_id in active and pair.person_b_id in active:
            assert (_site_of(db, active[pair.person_a_id].bed_id)
                    != _site_of(db, active[pair.person_b_id].bed_id))


# --- one rule, two shapes -----------------------------------------------------------------

def test_sql_and_python_shapes_of_each_model_rule_agree(db, make_site):
    """Bed.in_service_on, Restriction.in_force_on / not_over_on, BedOutage.covers and
    Placement/Hold.is_active give the same answer in SQL and in Python."""
    site = make_site("strax", beds=4)
    old = Site(code="closed", name="Closed", active=False)
    db.session.add(old)
    db.session.flush()
    add_room(db.session, old, "R", GenderRule.MIXED, 1)
    beds = beds_of(site)
    beds[1].valid_until = NIGHT - timedelta(days=1)
    beds[2].valid_from = NIGHT + timedelta(days=1)
    db.session.add(BedOutage(bed_id=beds[3].id, reason="leak", starts_on=NIGHT, ends_on=NIGHT))
    person = Person(name="P", gender=Gender.MAN, birth_year=1980)
    db.session.add(person)
    db.session.flush()
    for i, (start, end, ended) in enumerate([(NIGHT, None, False), (NIGHT, NIGHT, True),
                                             (NIGHT + timedelta(days=1), None, False),
                                             (NIGHT - timedelta(days=5), NIGHT - timedelta(days=1), False)]):
        db.session.add(Restriction(person_id=person.id, site_id=site.id, starts_on=start,
                                   ends_on=end, reason=f"r{i}",
                                   ended_at=clock.utcnow() if ended else None))
    for status in PlacementStatus:
        db.session.add(Placement(person_id=person.id, bed_id=beds[0].id, night=NIGHT - timedelta(days=10 + len(status.value)),
                                 status=status))
    db.session.flush()
    db.session.expire_all()
    for night in (NIGHT - timedelta(days=1), NIGHT, NIGHT + timedelta(days=1)):
        sql = set(db.session.scalars(select(Bed.id).join(Bed.room).join(Room.site)
                                     .where(Bed.in_service_on(night))))
        python = {b.id for b in db.session.scalars(select(Bed)) if b.in_service_on(night)}
        assert sql == python
        for model in (Restriction,):
            for rule in ("in_force_on", "not_over_on"):
                sql = set(db.session.scalars(select(model.id).where(getattr(model, rule)(night))))
                python = {r.id for r in db.session.scalars(select(model)) if getattr(r, rule)(night)}
                assert sql == python, (rule, night)
        sql = set(db.session.scalars(select(BedOutage.id).where(BedOutage.covers(night))))
        assert sql == {o.id for o in db.session.scalars(select(BedOutage)) if o.covers(night)}
    # The cases are not all alike: each shape says yes somewhere and no somewhere.
    assert {b.id for b in db.session.scalars(select(Bed)) if b.in_service_on(NIGHT)} == {beds[0].id}
    sql = set(db.session.scalars(select(Placement.id).where(Placement.is_active)))
    assert sql == {p.id for p in db.session.scalars(select(Placement)) if p.is_active}
    assert len(sql) == 3


# --- exclusion orders cover an area ------------------------------------------------------------

@pytest.fixture()
def centre(db, make_site):
    """Vågsbunnen in the area Sentrum (with a second centre site), Sandviken outside it."""
    sentrum = Area(city=CITY, name="Sentrum")
    db.session.add(sentrum)
    db.session.flush()
    vags = make_site("vagsbunnen", beds=3, area_id=sentrum.id, name="Vågsbunnen")
    torg = make_site("torget", beds=2, area_id=sentrum.id, name="Torget")
    sand = make_site("sandviken", beds=3, name="Sandviken")
    return sentrum, vags, torg, sand


@pytest.mark.parametrize("rule", ["need", "first-come"])
def test_exclusion_order_bars_every_site_in_the_area_under_both_rules(db, centre, rule):
    sentrum, vags, torg, sand = centre
    excluded = ask(db.session, "Excluded", need=90)
    db.session.add(Restriction(person_id=excluded.person_id, area_id=sentrum.id,
                               starts_on=NIGHT, reason="bortvisning", authority="police"))
    others = [ask(db.session, f"O{i}", need=10) for i in range(2)]
    db.session.flush()
    run = svc.run_allocation(db.session, NIGHT, city=CITY, user=None, rule=rule)
    barred = {(b["person"], b["site"]) for b in run.input_json["barred"]}
    assert barred == {(str(excluded.person_id), "vagsbunnen"), (str(excluded.person_id), "torget")}
    placed = _active(db)
    assert _site_of(db, placed[excluded.person_id].bed_id) == sand.id
    assert all(o.person_id in placed for o in others)
    _assert_nobody_against_a_rule(db)


def test_exclusion_order_refuses_a_hand_change_into_the_area(db, centre):
    sentrum, vags, torg, sand = centre
    excluded = ask(db.session, "Excluded", need=90)
    db.session.add(Restriction(person_id=excluded.person_id, area_id=sentrum.id,
                               starts_on=NIGHT, reason="bortvisning", authority="police"))
    db.session.flush()
    run = svc.run_allocation(db.session, NIGHT, city=CITY, user=None)
    for site in (vags, torg):
        with pytest.raises(OverrideRefused) as refused:
            override_placement(db.session, Change(run, excluded.person_id, beds_of(site)[0].id,
                                                  "wants the centre"), None)
        assert refused.value.problems == ["Ban: the person is barred from this site tonight."]
    override_placement(db.session, Change(run, excluded.person_id, beds_of(sand)[2].id,
                                          "quieter room"), None)
    assert _active(db)[excluded.person_id].bed_id == beds_of(sand)[2].id


def test_exclusion_order_is_never_held_in_the_area_and_partners_see_no_order(db, centre):
    sentrum, vags, torg, sand = centre
    org = add_org(db.session, "Politiet")
    night = tomorrow()
    person = Person(name="Excluded", gender=Gender.MAN, birth_year=1980)
    db.session.add(person)
    db.session.flush()
    db.session.add(Restriction(person_id=person.id, area_id=sentrum.id, starts_on=night,
                               reason="bortvisning", authority="police"))
    from shelter.models import OrganisationPerson
    db.session.add(OrganisationPerson(organisation_id=org.id, person_id=person.id, ref="R-1"))
    db.session.flush()
    for site in (vags, torg):
        # A wish for a site in the area is held outside it; only intake learns why.
        moved = book_hold(db.session, BookingRequest(org.id, night, PersonSpec(person_id=person.id),
                                                     site_id=site.id), None)
        assert moved.site_id == sand.id and moved.wish_reason == "barred"
        cancel_hold(db.session, moved)
    hold = book_hold(db.session, BookingRequest(org.id, night, PersonSpec(person_id=person.id)),
                     None)
    assert hold.site_id == sand.id


# --- safety changes after confirmation never stop the night -------------------------------------

def test_ban_after_confirmation_then_late_arrivals(db, make_site):
    strax, sand = make_site("strax", beds=2), make_site("sand", beds=2)
    a = ask(db.session, "A", need=80, preferred=strax)
    b = ask(db.session, "B", need=70, preferred=strax)
    svc.confirm_run(db.session, svc.run_allocation(db.session, NIGHT, city=CITY, user=None), None)
    assert {_site_of(db, p.bed_id) for p in _active(db).values()} == {strax.id}
    # A ban recorded after the confirmation (e.g. by a second office) hits A's confirmed bed.
    db.session.add(Restriction(person_id=a.person_id, site_id=strax.id, starts_on=NIGHT,
                               reason="threats"))
    late = [ask(db.session, f"Late{i}", need=60) for i in range(2)]
    run = svc.run_allocation(db.session, NIGHT, city=CITY, user=None, kind=None)
    assert run.kind == "late"
    assert [(c["person"], c["kind"], c["codes"]) for c in run.result_json["conflicts"]] == [
        (str(a.person_id), "placement", ["barred"])]
    # A's bed is not given to anyone else; the late arrivals get the free beds.
    active = _active(db)
    assert active[a.person_id].status == PlacementStatus.CONFIRMED
    assert sum(_site_of(db, active[p.person_id].bed_id) == sand.id for p in late) == 2
    assert active[b.person_id].status == PlacementStatus.CONFIRMED
    # The run shows the conflict; check-in now needs a reason.
    with pytest.raises(svc.CheckInBarred) as barred:
        svc.check_in(db.session, active[a.person_id], None)
    assert barred.value.problems == ["Ban: the person is barred from this site tonight."]
    svc.check_in(db.session, active[a.person_id], None, reason="ban recorded in error")
    assert active[a.person_id].status == PlacementStatus.CHECKED_IN
    audit = db.session.scalar(select(AuditEvent.detail).where(
        AuditEvent.action == "check_in", AuditEvent.person_id == a.person_id))
    assert "ban recorded in error" in audit


def test_keep_apart_of_two_confirmed_people_at_one_site_then_late_arrivals(db, make_site):
    strax, sand = make_site("strax", beds=2), make_site("sand", beds=1)
    a = ask(db.session, "A", need=80, preferred=strax)
    b = ask(db.session, "B", need=70, preferred=strax)
    svc.confirm_run(db.session, svc.run_allocation(db.session, NIGHT, city=CITY, user=None), None)
    low, high = sorted((a.person_id, b.person_id))
    db.session.add(KeepApart(person_a_id=low, person_b_id=high, starts_on=NIGHT, reason="fight"))
    late = ask(db.session, "Late", need=60)
    run = svc.run_allocation(db.session, NIGHT, city=CITY, user=None, kind=None)
    conflicts = run.result_json["conflicts"]
    assert len(conflicts) == 1 and conflicts[0]["codes"] == ["keep_apart"]
    assert _active(db)[late.person_id].bed_id == beds_of(sand)[0].id
    # Staff release the conflicting one; the next run completes without conflicts.
    loser = _active(db)[int(conflicts[0]["person"])]
    svc.release(db.session, loser, None, "moved on")
    run = svc.run_allocation(db.session, NIGHT, city=CITY, user=None)
    assert run.result_json["conflicts"] == []
    _assert_nobody_against_a_rule(db)


def test_keep_apart_after_two_holds_at_one_site_then_the_scheduled_proposal(backend, tmp_path):
    app = build_app(fresh_database_url(backend, tmp_path, "sched"))
    try:
        with app.app_context():
            night = tomorrow()
            site = Site(code="strax", name="Strax", city=CITY, intake_opens=time(17, 0))
            other = Site(code="sand", name="Sand", city=CITY, intake_opens=time(17, 0))
            _db.session.add_all([site, other])
            _db.session.flush()
            add_room(_db.session, site, "R", GenderRule.MIXED, 3)
            add_room(_db.session, other, "R", GenderRule.MIXED, 1)
            org = add_org(_db.session, "NAV")
            holds = [book_hold(_db.session, BookingRequest(
                org.id, night, PersonSpec(name=n, gender=Gender.MAN, birth_year=1980),
                site_id=site.id), None) for n in ("P", "Q")]
            low, high = sorted(h.person_id for h in holds)
            _db.session.add(KeepApart(person_a_id=low, person_b_id=high, starts_on=night,
                                      reason="recorded after both holds"))
            walk_in = ask(_db.session, "Walk-in", need=50, night=night)
            _db.session.commit()
            five_pm = datetime.combine(night, time(17, 1), tzinfo=ZoneInfo(clock.DEFAULT_TIMEZONE))
            assert scheduled_allocation_job(five_pm.astimezone(UTC).replace(tzinfo=None)) == \
                [f"{CITY}:{night}"]
            job = _db.session.scalar(select(JobRun).where(JobRun.key == f"{CITY}:{night}"))
            assert job.status == "done", job.detail
            run = _db.session.scalar(select(AllocationRun).where(AllocationRun.night == night))
            assert [c["hold_id"] for c in run.result_json["conflicts"]] == [holds[1].id]
            active = _active(_db, night)
            assert active[holds[0].person_id].bed_id == holds[0].bed_id  # the first hold honoured
            assert holds[1].person_id not in active  # set aside for staff, bed kept for it
            assert walk_in.person_id in active
            assert active[walk_in.person_id].bed_id != holds[1].bed_id
            _assert_nobody_against_a_rule(_db, night)
    finally:
        with app.app_context():
            _db.session.remove()
            _db.engine.dispose()


# --- women and partners ---------------------------------------------------------------------

def test_a_woman_booked_anywhere_gets_a_women_only_bed_when_one_is_free(db, make_site):
    org = add_org(db.session, "NAV")
    night = tomorrow()
    make_site("aaa-mixed", beds=3, name="Aaa mixed")  # first by name, mixed beds only
    women = make_site("zzz-women", beds=1, gender=GenderRule.WOMEN, name="Zzz women")
    first = book_hold(db.session, BookingRequest(org.id, night, PersonSpec(
        name="Kari", gender=Gender.WOMAN, birth_year=1990)), None)
    assert first.bed_id == beds_of(women)[0].id
    second = book_hold(db.session, BookingRequest(org.id, night, PersonSpec(
        name="Siri", gender=Gender.WOMAN, birth_year=1990)), None)
    assert second.site.code == "aaa-mixed"  # women-only full: then mixed
    man = book_hold(db.session, BookingRequest(org.id, night, PersonSpec(
        name="Ola", gender=Gender.MAN, birth_year=1990)), None)
    assert man.site.code == "aaa-mixed"


def test_need_rule_offers_women_without_a_wish_the_women_only_site(db, make_site):
    make_site("aaa", beds=2)
    women = make_site("kvinne", beds=1, gender=GenderRule.WOMEN)
    kari = ask(db.session, "Kari", need=50, gender=Gender.WOMAN)
    ola = ask(db.session, "Ola", need=50)
    run = svc.run_allocation(db.session, NIGHT, city=CITY, user=None)
    kari_in = next(r for r in run.input_json["requests"] if r["person"] == str(kari.person_id))
    assert kari_in["preferred_sites"] == ["kvinne"]
    ola_in = next(r for r in run.input_json["requests"]
                  if r["person"] == str(ola.person_id))
    assert not ola_in.get("preferred_sites")
    assert _active(db)[kari.person_id].bed_id == beds_of(women)[0].id
