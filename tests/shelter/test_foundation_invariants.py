"""The database itself guards the invariants that matter under concurrency: one active
placement (and one active hold) per bed per night and per person per night."""
from __future__ import annotations

import threading
from datetime import date, datetime, timedelta
from typing import Any

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shelter.database import engine_options
from shelter.extensions import db as _db
from shelter.models import (
    Bed, GenderRule, Hold, HoldStatus, Organisation, OrgKind, Person, Placement,
    PlacementStatus, Room, Site,
)
from shelter.services.inventory import free_beds
from tests.shelter.conftest import build_app, scratch_database

NIGHT = date(2026, 12, 1)
EXPIRES = datetime(2026, 12, 1, 20, 0)


def _people(db: Any, n: int) -> list[Person]:
    people = [Person(name=f"Person {i}") for i in range(n)]
    db.session.add_all(people)
    db.session.flush()
    return people


def _refused(db: Any, row: Any) -> bool:
    """Insert `row` in a savepoint; True when the database refuses it."""
    try:
        with db.session.begin_nested():
            db.session.add(row)
            db.session.flush()
    except IntegrityError:
        return True
    return False


def test_second_active_placement_of_a_bed_on_a_night_is_refused(db, make_site):
    bed = make_site("strax", beds=1).rooms[0].beds[0]
    a, b = _people(db, 2)
    db.session.add(Placement(person_id=a.id, bed_id=bed.id, night=NIGHT))
    db.session.flush()
    assert _refused(db, Placement(person_id=b.id, bed_id=bed.id, night=NIGHT,
                                  status=PlacementStatus.CONFIRMED))
    # Only *active* placements count: a released one and another night are fine.
    assert not _refused(db, Placement(person_id=b.id, bed_id=bed.id, night=NIGHT,
                                      status=PlacementStatus.RELEASED))
    assert not _refused(db, Placement(person_id=b.id, bed_id=bed.id, night=NIGHT + timedelta(1)))


def test_second_active_placement_of_a_person_on_a_night_is_refused(db, make_site):
    beds = make_site("strax", beds=2).rooms[0].beds
    (person,) = _people(db, 1)
    db.session.add(Placement(person_id=person.id, bed_id=beds[0].id, night=NIGHT,
                             status=PlacementStatus.CHECKED_IN))
    db.session.flush()
    assert _refused(db, Placement(person_id=person.id, bed_id=beds[1].id, night=NIGHT))
    assert not _refused(db, Placement(person_id=person.id, bed_id=beds[1].id, night=NIGHT,
                                      status=PlacementStatus.NO_SHOW))


def _hold(org: Organisation, person: Person, bed: Bed, **kw: Any) -> Hold:
    return Hold(organisation_id=org.id, person_id=person.id, night=kw.pop("night", NIGHT),
                site_id=bed.room.site_id, bed_id=bed.id, expires_at=EXPIRES, **kw)


def test_second_active_hold_of_a_bed_or_a_person_on_a_night_is_refused(db, make_site, make_org):
    org = make_org("NAV")
    beds = make_site("strax", beds=2).rooms[0].beds
    a, b = _people(db, 2)
    db.session.add(_hold(org, a, beds[0]))
    db.session.flush()
    assert _refused(db, _hold(org, b, beds[0]))  # same bed
    assert _refused(db, _hold(org, a, beds[1]))  # same person
    assert not _refused(db, _hold(org, b, beds[0], status=HoldStatus.EXPIRED))
    assert not _refused(db, _hold(org, b, beds[1]))


# --- the race for the last bed -------------------------------------------------------------

THREADS = 20
TRIALS = 50


@pytest.fixture()
def race_app(backend: str, tmp_path: Any):
    """One migrated app on a database of its own (real commits), reused for every trial;
    a pool big enough that all racers hold a connection at once."""
    with scratch_database(backend, tmp_path, "race") as url:
        options = engine_options(url) | {"pool_size": THREADS + 5, "max_overflow": 5}
        app = build_app(url, SQLALCHEMY_ENGINE_OPTIONS=options)
        with app.app_context():
            yield app
            _db.session.remove()
            _db.engine.dispose()


def _race(engine: Any, make_row: Any, people: list[int]) -> list[str]:
    """Start one thread per person; each inserts `make_row(person_id)` in its own session
    and transaction and commits. Returns each thread's outcome."""
    barrier = threading.Barrier(len(people))
    outcomes: list[str] = []
    lock = threading.Lock()

    def racer(person_id: int) -> None:
        outcome = "error"
        try:
            with Session(engine) as session:
                barrier.wait(timeout=30)
                try:
                    session.add(make_row(person_id))
                    session.commit()
                    outcome = "won"
                except IntegrityError:
                    session.rollback()
                    outcome = "refused"
        except Exception as exc:  # recorded, so the test fails with the reason
            outcome = f"error: {exc!r}"
        with lock:
            outcomes.append(outcome)

    threads = [threading.Thread(target=racer, args=(pid,)) for pid in people]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=60)
    return outcomes


def _setup_last_bed(session: Session) -> tuple[int, int, int, list[int]]:
    """A site with 3 beds, 2 of them taken every night of the trials; 20 people race for
    the third. Returns (org id, site id, last bed id, racing people ids)."""
    site = Site(code="race", name="Race site")
    room = Room(site=site, name="Room", gender=GenderRule.MIXED, valid_from=date(2020, 1, 1))
    room.beds.extend(Bed(label=f"r{i}", valid_from=date(2020, 1, 1)) for i in range(3))
    org = Organisation(name="NAV", kind=OrgKind.MUNICIPAL)
    occupants = [Person(name=f"Occupant {i}") for i in range(2)]
    racers = [Person(name=f"Racer {i}") for i in range(THREADS)]
    session.add_all([site, org, *occupants, *racers])
    session.flush()
    for trial in range(TRIALS):
        for person, bed in zip(occupants, room.beds[:2]):
            session.add(Placement(person_id=person.id, bed_id=bed.id,
                                  night=NIGHT + timedelta(trial),
                                  status=PlacementStatus.CONFIRMED))
    session.commit()
    return org.id, site.id, room.beds[2].id, [p.id for p in racers]


def test_twenty_racers_for_the_last_bed_one_placement_wins_every_time(race_app):
    engine = _db.engine
    with Session(engine) as session:
        _, _, bed_id, racers = _setup_last_bed(session)
    for trial in range(TRIALS):
        night = NIGHT + timedelta(trial)
        with Session(engine) as session:
            assert [b.id for b in free_beds(session, night)] == [bed_id]

        outcomes = _race(engine, lambda pid, n=night: Placement(
            person_id=pid, bed_id=bed_id, night=n, status=PlacementStatus.CONFIRMED), racers)

        assert outcomes.count("won") == 1 and outcomes.count("refused") == THREADS - 1, outcomes
        with Session(engine) as session:
            active = session.scalar(select(func.count()).select_from(Placement).where(
                Placement.bed_id == bed_id, Placement.night == night))
            assert active == 1
            assert free_beds(session, night) == []


def test_twenty_racers_for_the_last_bed_one_hold_wins_every_time(race_app):
    engine = _db.engine
    with Session(engine) as session:
        org_id, site_id, bed_id, racers = _setup_last_bed(session)
    for trial in range(TRIALS):
        night = NIGHT + timedelta(trial)
        outcomes = _race(engine, lambda pid, n=night: Hold(
            organisation_id=org_id, person_id=pid, night=n, site_id=site_id, bed_id=bed_id,
            expires_at=datetime.combine(n, datetime.min.time()) + timedelta(hours=20)), racers)

        assert outcomes.count("won") == 1 and outcomes.count("refused") == THREADS - 1, outcomes
        with Session(engine) as session:
            held = session.scalar(select(func.count()).select_from(Hold).where(
                Hold.bed_id == bed_id, Hold.night == night, Hold.status == HoldStatus.HELD))
            assert held == 1
            assert free_beds(session, night) == []
