"""Property test: over random small nights, every caller of the rule book agrees with it.

- every placement the allocation proposes passes the app's check (rules.bed_allowed_reasons);
- every hand change the app accepts passes the allocator's own check (Night.reasons on the
  run's input, keep-apart partners at other sites, bed free); every refusal names only
  reasons the rule book gives (or the bed being taken or held);
- every partner hold accepted is eligible by the rule book: the night built from the
  database with those holds is valid input for the core and sets nothing aside.
Each example runs inside a savepoint that is rolled back, on SQLite and PostgreSQL."""
from __future__ import annotations

from datetime import timedelta

from hypothesis import HealthCheck, given, settings
from hypothesis import strategies as st
from sqlalchemy import select

from allocator import Night
from allocator.rulebook import Reason
from shelter.models import (
    Area, Bed, Gender, GenderRule, HoldStatus, KeepApart, OrganisationPerson, Person,
    Placement, Restriction, Room, Site,
)
from shelter.services import allocation as alloc
from shelter.services import rules
from shelter.services.night_input import IdMaps, build_night
from shelter.services.inventory import free_beds
from shelter.services.overrides import Change, OverrideRefused, override_placement
from shelter.services.prebooking import BookingRequest, HoldRefused, PersonSpec, book_hold
from tests.shelter.intake_factories import NIGHT, ask
from tests.shelter.partners_fixtures import add_org, tomorrow

CITY = "Bergen"
OTHER_PROBLEMS = {"Bed already taken: someone else has this bed tonight.",
                  "Bed held: this bed is pre-booked for someone else tonight."}

site_st = st.fixed_dictionaries({
    "rooms": st.lists(st.tuples(st.sampled_from(list(GenderRule)), st.integers(1, 2),
                                st.booleans()), min_size=1, max_size=2),
    "young": st.booleans(), "in_area": st.booleans()})
person_st = st.fixed_dictionaries({
    "gender": st.sampled_from(list(Gender)), "age": st.one_of(st.none(), st.integers(18, 70)),
    "accessible": st.booleans(), "need": st.integers(0, 100)})
night_st = st.fixed_dictionaries({
    "sites": st.lists(site_st, min_size=1, max_size=3),
    "people": st.lists(person_st, min_size=1, max_size=5),
    "bans": st.lists(st.tuples(st.integers(0, 4), st.sampled_from(["site", "area", "all"]),
                               st.integers(0, 2)), max_size=3),
    "pairs": st.lists(st.tuples(st.integers(0, 4), st.integers(0, 4)), max_size=2),
})


def _build(session, spec, night):
    area = Area(city=CITY, name="Sentrum")
    session.add(area)
    session.flush()
    sites = []
    for i, s in enumerate(spec["sites"]):
        site = Site(code=f"s{i}", name=f"Site {i}", city=CITY, area_id=area.id if s["in_area"] else None,
                    min_age=18 if s["young"] else None, max_age=23 if s["young"] else None)
        for j, (gender, n, accessible) in enumerate(s["rooms"]):
            room = Room(site=site, name=f"R{j}", gender=gender)
            for k in range(n):
                room.beds.append(Bed(label=f"s{i}-{j}-{k}",
                                     features=["accessible"] if accessible and k == 0 else []))
        session.add(site)
        sites.append(site)
    session.flush()
    people = []
    for i, p in enumerate(spec["people"]):
        person = Person(name=f"P{i}", gender=p["gender"],
                        birth_year=night.year - p["age"] if p["age"] is not None else None,
                        needs=["accessible"] if p["accessible"] else [])
        session.add(person)
        session.flush()
        people.append(person)
    for who, kind, which in spec["bans"]:
        if who < len(people):
            session.add(Restriction(
                person_id=people[who].id, starts_on=night - timedelta(days=1), reason="x",
                site_id=sites[which % len(sites)].id if kind == "site" else None,
                area_id=area.id if kind == "area" else None))
    seen = set()
    for a, b in spec["pairs"]:
        if a < len(people) and b < len(people) and a != b:
            pair = tuple(sorted((people[a].id, people[b].id)))
            if pair not in seen:
                seen.add(pair)
                session.add(KeepApart(person_a_id=pair[0], person_b_id=pair[1],
                                      starts_on=night - timedelta(days=1), reason="x"))
    session.flush()
    return sites, people


@settings(max_examples=25, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(spec=night_st)
def test_hand_changes_and_the_allocator_agree_with_the_rule_book(db, spec):
    savepoint = db.session.begin_nested()
    try:
        sites, people = _build(db.session, spec, NIGHT)
        for person, p in zip(people, spec["people"]):
            ask(db.session, person.name, need=p["need"], person=person)
        run = alloc.run_allocation(db.session, NIGHT, city=CITY, user=None)
        night = Night.from_json(run.input_json)
        placements = {p.person_id: p for p in db.session.scalars(
            select(Placement).where(Placement.night == NIGHT, Placement.is_active))}
        for placement in placements.values():
            person = db.session.get(Person, placement.person_id)
            assert rules.bed_allowed_reasons(db.session, person, placement.bed, NIGHT) == ()
        beds = [b for s in sites for r in s.rooms for b in r.beds]
        for person in people:
            request = night.request_by_person.get(IdMaps.person_key(person.id))
            for bed in beds:
                expected = night.reasons(request, night.bed_by_id[IdMaps.bed_key(bed.id)])
                partner_here = bed.room.site_id in rules.partner_sites(db.session, person.id, NIGHT)
                step = db.session.begin_nested()
                try:
                    override_placement(db.session, Change(run, person.id, bed.id, "test"), None)
                except OverrideRefused as refused:
                    allowed = set(rules.sentences(expected)) | OTHER_PROBLEMS
                    if partner_here:
                        allowed.add(rules.sentence(Reason("keep_apart")))
                    assert set(refused.problems) <= allowed, (refused.problems, expected)
                    taken = {p.bed_id for pid, p in placements.items() if pid != person.id}
                    assert expected or partner_here or bed.id in taken, refused.problems
                else:
                    # Accepted: the allocator's own rule book finds nothing against it.
                    assert expected == () and not partner_here
                    assert bed.id not in {p.bed_id for pid, p in placements.items()
                                          if pid != person.id}
                step.rollback()
    finally:
        savepoint.rollback()
        db.session.expunge_all()  # SQLite reuses ids after a rollback


@settings(max_examples=20, deadline=None, database=None,
          suppress_health_check=[HealthCheck.function_scoped_fixture, HealthCheck.too_slow])
@given(spec=night_st)
def test_every_partner_hold_is_eligible_by_the_rule_book(db, spec):
    savepoint = db.session.begin_nested()
    try:
        night = tomorrow()
        sites, people = _build(db.session, spec, night)
        for site in sites:
            site.hold_expiry = site.hold_expiry.replace(hour=23, minute=59)
        org = add_org(db.session, "NAV")
        held = []
        for i, person in enumerate(people):
            db.session.add(OrganisationPerson(organisation_id=org.id, person_id=person.id,
                                              ref=f"R-{i}"))
            db.session.flush()
            try:
                hold = book_hold(db.session, BookingRequest(
                    org.id, night, PersonSpec(person_id=person.id),
                    needs=["accessible"] if spec["people"][i]["accessible"] else []), None)
            except HoldRefused:
                continue
            if hold.status is HoldStatus.PENDING:
                # Waits for intake only when the rule book allows no free bed anywhere.
                assert hold.bed is None
                assert all(rules.bed_allowed_reasons(db.session, person, bed, night)
                           for bed in free_beds(db.session, night, city=CITY))
                continue
            held.append(hold)
            assert rules.bed_allowed_reasons(db.session, person, hold.bed, night) == ()
        data, maps = build_night(db.session, night, CITY)
        assert maps.conflicts == []
        assert len(data["holds"]) == len(held)
        Night.from_json(data)  # the core's own check: holds honourable, eligible, apart
    finally:
        savepoint.rollback()
        db.session.expunge_all()  # SQLite reuses ids after a rollback
