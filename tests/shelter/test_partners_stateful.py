"""Random sequences of book, claim (check in), cancel, expire, walk-in placement and
allocation keep the bed-night invariants (hypothesis stateful test, bounded, on SQLite and
PostgreSQL).

Invariants: never two active holds or two active placements on one bed-night or one
person-night; while a hold is active its bed goes to nobody else."""
from __future__ import annotations

from contextlib import suppress
from datetime import timedelta
from typing import Any

from hypothesis import HealthCheck, settings
from hypothesis import strategies as st
from hypothesis.stateful import RuleBasedStateMachine, invariant, rule, run_state_machine_as_test
from sqlalchemy import func, select

from shelter.extensions import db
from shelter.models import (
    Bed,
    Gender,
    Hold,
    HoldStatus,
    Person,
    Placement,
    PlacementStatus,
    Request,
    RequestSource,
    RequestStatus,
    Room,
)
from shelter.models.bookings import ACTIVE_PLACEMENT
from shelter.services.inventory import free_beds
from shelter.services.prebooking import (
    BookingRequest,
    HoldConflict,
    HoldRefused,
    PersonSpec,
    book_hold,
    cancel_hold,
    expire_holds,
)
from tests.shelter.conftest import _ConnectionSession
from tests.shelter.partners_fixtures import add_org, add_site, tomorrow

try:  # intake's real allocation, when it is importable; else a minimal stand-in below
    from shelter.services.allocation import check_in, confirm_run, run_allocation
except Exception:  # noqa: BLE001 - any import failure means "not available here"
    run_allocation = None


def _duplicates(column_a: Any, column_b: Any, model: Any, active: Any) -> int:
    return len(db.session.execute(select(column_a, column_b).where(active)
                                  .group_by(column_a, column_b).having(func.count() > 1)).all())


class Bookings(RuleBasedStateMachine):
    app: Any = None

    def __init__(self) -> None:
        super().__init__()
        self.ctx = self.app.app_context()
        self.ctx.push()
        self.connection = db.engine.connect()
        self.transaction = self.connection.begin()
        self.original = db.session
        db.session = db._make_scoped_session({"bind": self.connection, "class_": _ConnectionSession,
                                              "join_transaction_mode": "create_savepoint"})
        self.org = add_org(db.session, "NAV")
        self.sites = [add_site(db.session, "strax", beds=2), add_site(db.session, "sandviken", beds=1)]
        self.people = [Person(name=f"P{i}", gender=Gender.MAN, birth_year=1980) for i in range(4)]
        db.session.add_all(self.people)
        db.session.flush()
        from shelter.models import OrganisationPerson

        db.session.add_all([OrganisationPerson(organisation_id=self.org.id, person_id=p.id,
                                               ref=f"r{p.id}") for p in self.people])
        db.session.flush()
        self.nights = [tomorrow(), tomorrow() + timedelta(days=1)]
        self.walk_ins = 0

    def teardown(self) -> None:
        db.session.remove()
        db.session = self.original
        self.transaction.rollback()
        self.connection.close()
        self.ctx.pop()

    def _holds(self, status: HoldStatus = HoldStatus.HELD) -> list[Hold]:
        return list(db.session.scalars(select(Hold).where(Hold.status == status).order_by(Hold.id)))

    @rule(person=st.integers(0, 3), night=st.integers(0, 1), site=st.sampled_from([None, 0, 1]))
    def book(self, person: int, night: int, site: int | None) -> None:
        booking = BookingRequest(
            organisation_id=self.org.id, night=self.nights[night],
            person=PersonSpec(person_id=self.people[person].id),
            site_id=None if site is None else self.sites[site].id)
        with suppress(HoldRefused):  # a refusal is a valid outcome; invariants still hold
            book_hold(db.session, booking, None)

    @rule(pick=st.integers(0, 10))
    def cancel(self, pick: int) -> None:
        holds = self._holds()
        if holds:
            with suppress(HoldConflict):  # e.g. already claimed: refused, nothing changes
                cancel_hold(db.session, holds[pick % len(holds)])

    @rule(night=st.integers(0, 1))
    def expire(self, night: int) -> None:
        holds = [h for h in self._holds() if h.night == self.nights[night]]
        if holds:
            expire_holds(db.session, max(h.expires_at for h in holds))

    @rule(pick=st.integers(0, 3))
    def walk_in(self, pick: int) -> None:
        """Intake places someone off the street on a free bed: never a held one. Nights
        with active holds come first, where a mistake would show."""
        nights = sorted({h.night for h in self._holds()}) + self.nights
        night = nights[pick % len(nights)]
        beds = free_beds(db.session, night)
        if not beds:
            return
        self.walk_ins += 1
        person = Person(name=f"W{self.walk_ins}", gender=Gender.MAN)
        db.session.add(person)
        db.session.flush()
        req = Request(person_id=person.id, night=night, source=RequestSource.WALK_IN,
                      arrival=100 + self.walk_ins, status=RequestStatus.PLACED)
        db.session.add(req)
        db.session.flush()
        db.session.add(Placement(person_id=person.id, bed_id=beds[0].id, night=night,
                                 request_id=req.id, status=PlacementStatus.CONFIRMED))
        db.session.flush()

    @rule(night=st.integers(0, 1))
    def allocate(self, night: int) -> None:
        the_night = self.nights[night]
        if run_allocation is not None:
            asking = db.session.scalar(select(func.count(Request.id)).where(
                Request.night == the_night, Request.status != RequestStatus.WITHDRAWN))
            if asking:  # with nobody asking, intake refuses to run (AllocationError)
                run = run_allocation(db.session, the_night, city="Bergen", user=None)
                confirm_run(db.session, run, None)
            return
        for hold in [h for h in self._holds() if h.night == the_night]:
            placed = db.session.scalar(select(Placement.id).where(
                Placement.person_id == hold.person_id, Placement.night == the_night,
                Placement.status.in_(ACTIVE_PLACEMENT)))
            if placed is None:
                req = db.session.scalar(select(Request.id).where(Request.hold_id == hold.id))
                db.session.add(Placement(person_id=hold.person_id, bed_id=hold.bed_id,
                                         night=the_night, request_id=req, hold_id=hold.id,
                                         status=PlacementStatus.CONFIRMED))
                db.session.flush()

    @rule(pick=st.integers(0, 10))
    def claim(self, pick: int) -> None:
        """The held person arrives and is checked in."""
        holds = self._holds()
        if not holds:
            return
        hold = holds[pick % len(holds)]
        placement = db.session.scalar(select(Placement).where(
            Placement.person_id == hold.person_id, Placement.night == hold.night,
            Placement.status == PlacementStatus.CONFIRMED))
        if placement is None:
            return  # not allocated yet: nothing to check in
        if run_allocation is not None:
            check_in(db.session, placement, None)
        else:
            placement.status = PlacementStatus.CHECKED_IN
            hold.status = HoldStatus.CLAIMED
            db.session.flush()

    @invariant()
    def one_per_bed_and_person(self) -> None:
        held = Hold.status == HoldStatus.HELD
        active = Placement.status.in_(ACTIVE_PLACEMENT)
        assert _duplicates(Hold.bed_id, Hold.night, Hold, held) == 0
        assert _duplicates(Hold.person_id, Hold.night, Hold, held) == 0
        assert _duplicates(Placement.bed_id, Placement.night, Placement, active) == 0
        assert _duplicates(Placement.person_id, Placement.night, Placement, active) == 0

    @invariant()
    def held_bed_is_nobody_elses(self) -> None:
        site_of_bed = dict(db.session.execute(select(Bed.id, Room.site_id).join(Bed.room)).all())
        placements = list(db.session.scalars(select(Placement).where(
            Placement.status.in_(ACTIVE_PLACEMENT))))
        on_bed = {(p.bed_id, p.night): p.person_id for p in placements}
        site_of_person = {(p.person_id, p.night): site_of_bed[p.bed_id] for p in placements}
        for hold in self._holds():
            # A hold's bed is never given to anyone else while the hold is active.
            other = on_bed.get((hold.bed_id, hold.night))
            assert other in (None, hold.person_id), f"held bed of hold {hold.id} given away"
            mine = site_of_person.get((hold.person_id, hold.night))
            assert mine in (None, hold.site_id), "held person placed at another site"


def test_holds_and_placements_keep_the_invariants(app: Any) -> None:
    Bookings.app = app
    run_state_machine_as_test(Bookings, settings=settings(
        max_examples=25, stateful_step_count=15, deadline=None, database=None,
        suppress_health_check=list(HealthCheck)))
