"""A partner's booking and intake's allocation racing for the same site's beds: the two
tables each have their own unique index, so only the shared per-site lock keeps a held bed
from also being given to someone else. After every race no bed-night has an active hold for
one person and an active placement for another (SQLite and PostgreSQL, real commits)."""
from __future__ import annotations

import threading
from datetime import timedelta

from sqlalchemy import select

from shelter.extensions import db
from shelter.models import (
    Gender, Hold, HoldStatus, Person, Placement, Request, RequestSource, RequestStatus,
)
from shelter.models.bookings import ACTIVE_PLACEMENT
from shelter.services.allocation import run_allocation
from shelter.services.tokens import create_token
from tests.shelter.partners_fixtures import add_org, add_site, tomorrow

NIGHTS = 7  # every night a partner may book, after tonight
BEDS = 3


def test_a_held_bed_is_never_also_placed_for_someone_else(race_app):
    with race_app.app_context():
        add_org(db.session, "NAV")
        token = create_token(db.session, "NAV")
        site = add_site(db.session, "strax", beds=BEDS, city="Bergen")
        site_code = site.code
        for k in range(NIGHTS):
            night = tomorrow() + timedelta(days=k)
            for i in range(BEDS):  # as many walk-ins as beds: the run fills the site
                person = Person(name=f"Walk-in {k}-{i}", gender=Gender.MAN, birth_year=1980)
                db.session.add(person)
                db.session.flush()
                db.session.add(Request(person_id=person.id, night=night, arrival=i + 1,
                                       source=RequestSource.WALK_IN))
        db.session.commit()

    outcomes = []
    for k in range(NIGHTS):
        night = tomorrow() + timedelta(days=k)
        barrier = threading.Barrier(2)
        status: dict[str, int | str] = {}

        def book() -> None:
            client = race_app.test_client()
            body = {"night": night.isoformat(), "site": site_code,
                    "person": {"name": f"Referred {k}", "gender": "man", "birth_year": 1975}}
            barrier.wait()
            status["book"] = client.post("/api/v1/holds", json=body,
                                         headers={"Authorization": f"Bearer {token}"}).status_code

        def allocate() -> None:
            with race_app.app_context():
                barrier.wait()
                run_allocation(db.session, night, city="Bergen", user=None)
                db.session.commit()
                db.session.remove()
                status["allocate"] = "ok"

        threads = [threading.Thread(target=book), threading.Thread(target=allocate)]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert status.get("allocate") == "ok" and status.get("book") in (201, 409), status
        outcomes.append(status["book"])

        with race_app.app_context():
            holds = db.session.scalars(select(Hold).where(
                Hold.night == night, Hold.status == HoldStatus.HELD)).all()
            placed = {p.bed_id: p.person_id for p in db.session.scalars(select(Placement).where(
                Placement.night == night, Placement.status.in_(ACTIVE_PLACEMENT)))}
            for hold in holds:
                assert placed.get(hold.bed_id, hold.person_id) == hold.person_id, (
                    f"night {night}: bed {hold.bed_id} held for {hold.person_id} "
                    f"but placed for {placed[hold.bed_id]}")
            assert len(placed) <= BEDS
            open_requests = db.session.scalars(select(Request).where(
                Request.night == night, Request.status != RequestStatus.WITHDRAWN)).all()
            assert len(open_requests) == BEDS + (status["book"] == 201)
            db.session.remove()
    assert set(outcomes) <= {201, 409}
