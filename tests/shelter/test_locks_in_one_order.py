"""Locks in one order (PostgreSQL): 30 partners book "any suitable site" as fast as they can
while intake presses Allocate every 5 s, for 90 s, through the real views (Flask test
clients in threads, real commits). PostgreSQL's own deadlock counter must not move and no
request may end in a 5xx.

Bookings used to lock sites one by one by name, skipping sites whose quota was full, while
runs locked a city's sites by id: the issue counted 9 deadlocks in 90 s; this test on that
code counted 172 deadlocks in 90 s, each a 500 (14 of 18 Allocate presses, 158 bookings). The
sites here are named in the opposite order of their ids and every partner has a full quota
at some of them, which is what made the two orders cross. LOCK_TEST_SECONDS shortens the run for local work; the
default is the issue's 90 s (so `make test` takes that long on PostgreSQL)."""
from __future__ import annotations

import json
import os
import threading
import time
from collections import Counter
from datetime import timedelta
from typing import Any

import pytest
from sqlalchemy import create_engine, select, text

from shelter.auth import hash_password
from shelter.extensions import db
from shelter.models import (
    Gender, GenderRule, Hold, HoldStatus, Person, Placement, Quota, Request, RequestSource, Role,
    User,
)
from shelter.models.bookings import ACTIVE_PLACEMENT
from shelter.services.tokens import create_token
from tests.shelter.conftest import ARTIFACTS, PASSWORD, build_app
from tests.shelter.partners_fixtures import add_org, add_site, fresh_database_url, tomorrow

PARTNERS = 30
SECONDS = float(os.environ.get("LOCK_TEST_SECONDS", "90"))
ALLOCATE_EVERY = 5.0
SITES = 6
BEDS_PER_SITE = 4
WALK_INS = 20
NIGHTS = 7  # partners spread their bookings over every night they may book, from tomorrow


def _deadlocks(url: str) -> int:
    """PostgreSQL's count of deadlocks detected in this database so far."""
    engine = create_engine(url)
    try:
        with engine.connect() as conn:
            conn.execute(text("SELECT pg_stat_clear_snapshot()"))
            return int(conn.execute(text(
                "SELECT deadlocks FROM pg_stat_database WHERE datname = current_database()"
            )).scalar_one())
    finally:
        engine.dispose()


def _city(app: Any) -> dict[str, Any]:
    """Six Bergen sites named Z..U in id order (so name order is the reverse of id order),
    one of them women-only; 30 partners with a token each and a quota of 1 per night at the
    three sites that come first by name; walk-ins for tomorrow; one intake user."""
    with app.app_context():
        sites = []
        for i in range(SITES):
            letter = "ZYXWVU"[i]
            sites.append(add_site(db.session, f"site-{letter.lower()}", beds=BEDS_PER_SITE,
                                  name=f"{letter} Site", city="Bergen",
                                  gender=GenderRule.WOMEN if i == 2 else GenderRule.MIXED))
        first_by_name = sorted(sites, key=lambda s: s.name)[:3]
        tokens = []
        for i in range(PARTNERS):
            org = add_org(db.session, f"Partner {i}")
            db.session.add_all(Quota(organisation_id=org.id, site_id=s.id, per_night=1)
                               for s in first_by_name)
            tokens.append(create_token(db.session, f"Partner {i}"))
        for i in range(WALK_INS):
            person = Person(name=f"Walk-in {i}", birth_year=1980,
                            gender=Gender.WOMAN if i % 3 == 0 else Gender.MAN)
            db.session.add(person)
            db.session.flush()
            db.session.add(Request(person_id=person.id, night=tomorrow(), city="Bergen",
                                   arrival=i + 1, source=RequestSource.WALK_IN))
        db.session.add(User(username="intake", display_name="Intake",
                            password_hash=hash_password(PASSWORD), role=Role.INTAKE))
        db.session.commit()
        return {"tokens": tokens, "staff": "intake"}


@pytest.mark.postgres
@pytest.mark.slow
def test_partners_booking_while_intake_allocates_meet_no_deadlock_and_no_5xx(tmp_path):
    url = fresh_database_url("postgresql", tmp_path, "locks")
    # One connection per thread, as 31 web workers would have.
    app = build_app(url, SOLVER_TIME_LIMIT=3.0, SQLALCHEMY_ENGINE_OPTIONS={
        "pool_pre_ping": True, "pool_size": PARTNERS + 2, "max_overflow": 2, "pool_timeout": 60})
    try:
        city = _city(app)
        figures = _race(app, city)
        with app.app_context():
            _no_held_bed_placed_for_someone_else()
            db.session.remove()
    finally:
        with app.app_context():
            db.engine.dispose()  # a backend flushes its statistics when it ends
    time.sleep(1.5)
    figures["deadlocks"] = _deadlocks(url) - figures.pop("deadlocks_before")
    print(f"\nlocks in one order, {SECONDS:.0f} s: {figures}")
    ARTIFACTS.mkdir(exist_ok=True)
    (ARTIFACTS / "locks-in-one-order.json").write_text(
        json.dumps({"seconds": SECONDS, **figures}, indent=2))
    assert figures["deadlocks"] == 0, figures
    assert figures["5xx"] == 0, figures
    # Intake pressed Allocate every 5 s (a slow run delays the next press) and every press
    # stored a run.
    assert figures["runs"] == figures["statuses"].get("allocate 302"), figures
    assert figures["runs"] >= SECONDS // ALLOCATE_EVERY // 2, figures
    assert figures["bookings"] > 0 and figures["refused"] > 0, figures


def _race(app: Any, city: dict[str, Any]) -> dict[str, Any]:
    stop = threading.Event()
    lock = threading.Lock()
    statuses: Counter[tuple[str, int]] = Counter()
    errors: list[str] = []
    runs: list[int] = []
    nights = [tomorrow() + timedelta(days=k) for k in range(NIGHTS)]

    def outcome(kind: str, code: int) -> None:
        with lock:
            statuses[(kind, code)] += 1

    def partner(i: int) -> None:
        client = app.test_client()
        auth = {"Authorization": f"Bearer {city['tokens'][i]}"}
        n = 0
        while not stop.is_set():
            n += 1
            body = {"night": nights[n % NIGHTS].isoformat(),  # no "site": any suitable site
                    "person": {"name": f"P{i}-{n}", "birth_year": 1970 + n % 30,
                               "gender": "woman" if (i + n) % 2 else "man"}}
            try:
                code = client.post("/api/v1/holds", json=body, headers=auth).status_code
            except Exception as exc:  # TESTING propagates what would have been a 500
                code = 500
                with lock:
                    errors.append(f"partner {i}: {exc!r}"[:300])
            outcome("book", code)

    def intake() -> None:
        client = app.test_client()
        signed_in = client.post("/login", data={"username": city["staff"], "password": PASSWORD})
        assert signed_in.status_code == 302
        started = time.monotonic()
        k = 0
        while not stop.is_set():
            try:
                response = client.post(f"/intake/allocate?night={nights[0]}")
                code = response.status_code
                if code == 302 and "/intake/runs/" in response.headers.get("Location", ""):
                    runs.append(int(response.headers["Location"].rsplit("/", 1)[1]))
            except Exception as exc:
                code = 500
                with lock:
                    errors.append(f"allocate: {exc!r}"[:300])
            outcome("allocate", code)
            k += 1
            stop.wait(max(0.0, started + k * ALLOCATE_EVERY - time.monotonic()))

    before = _deadlocks(app.config["SQLALCHEMY_DATABASE_URI"])
    threads = [threading.Thread(target=partner, args=(i,)) for i in range(PARTNERS)]
    threads.append(threading.Thread(target=intake))
    for t in threads:
        t.start()
    time.sleep(SECONDS)
    stop.set()
    for t in threads:
        t.join(timeout=120)
    assert not any(t.is_alive() for t in threads), "a thread hung"
    return {
        "deadlocks_before": before,
        "5xx": sum(n for (_, code), n in statuses.items() if code >= 500),
        "bookings": statuses[("book", 201)], "refused": statuses[("book", 409)],
        "runs": len(runs), "statuses": {f"{k} {c}": n for (k, c), n in sorted(statuses.items())},
        "errors": errors[:5],
    }


def _no_held_bed_placed_for_someone_else() -> None:
    """The point of the locks: a held bed is never also placed for another person."""
    held = {(h.bed_id, h.night): h.person_id for h in db.session.scalars(
        select(Hold).where(Hold.status == HoldStatus.HELD))}
    for p in db.session.scalars(select(Placement).where(Placement.status.in_(ACTIVE_PLACEMENT))):
        assert held.get((p.bed_id, p.night), p.person_id) == p.person_id, (
            f"bed {p.bed_id} on {p.night} held for {held[(p.bed_id, p.night)]}, "
            f"placed for {p.person_id}")


# --- the bounded retry -------------------------------------------------------------------

@pytest.mark.postgres
def test_a_deadlock_victim_is_retried_and_both_units_of_work_complete(tmp_path):
    """Two units of work that lock two sites in opposite orders (what lock_sites prevents)
    really deadlock; PostgreSQL aborts one, the unit of work runs it again, and both
    finish. Without the retry one of them would fail."""
    from shelter.database import unit_of_work
    from shelter.models import Site

    url = fresh_database_url("postgresql", tmp_path, "locks")
    app = build_app(url)
    try:
        with app.app_context():
            ids = [add_site(db.session, code).id for code in ("a", "b")]
            db.session.commit()
        before = _deadlocks(url)
        barrier = threading.Barrier(2)
        attempts: Counter[int] = Counter()
        done: list[int] = []
        failed: list[str] = []

        def work(me: int, order: list[int]) -> None:
            attempts[me] += 1
            first, second = order
            db.session.execute(select(Site).where(Site.id == first).with_for_update()).all()
            if attempts[me] == 1:
                barrier.wait(timeout=10)  # both hold their first lock before either goes on
            db.session.execute(select(Site).where(Site.id == second).with_for_update()).all()

        def unit(me: int, order: list[int]) -> None:
            with app.app_context():
                try:
                    unit_of_work(db.session, lambda: work(me, order))
                    done.append(me)
                except Exception as exc:
                    failed.append(repr(exc)[:200])
                finally:
                    db.session.remove()

        threads = [threading.Thread(target=unit, args=(0, ids)),
                   threading.Thread(target=unit, args=(1, ids[::-1]))]
        for t in threads:
            t.start()
        for t in threads:
            t.join(timeout=60)
        assert failed == [] and sorted(done) == [0, 1], failed
        assert sorted(attempts.values()) == [1, 2]  # the victim ran twice, the other once
    finally:
        with app.app_context():
            db.engine.dispose()
    time.sleep(1.5)
    assert _deadlocks(url) - before == 1
