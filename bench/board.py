"""Tonight's board with 1,000 requests: render time and SQL queries per render on SQLite.

Builds a fresh SQLite file (60 sites, 1,080 beds, 1,000 people asking, assessments, holds,
bans, keep-apart pairs), then times GET /intake/ through the Flask test client and counts
the SQL statements each render sends. The count must not grow with the number of requests:
the same is measured at 100 requests for comparison. Also times one allocation run.
Not a test: prints figures.   python -m bench.board
"""
from __future__ import annotations

import os
import random
import statistics
import tempfile
import time
from datetime import date, timedelta
from pathlib import Path

from sqlalchemy import event

from shelter import create_app
from shelter.auth import hash_password
from shelter.extensions import db
from shelter.models import (
    Assessment, Bed, Gender, GenderRule, Hold, KeepApart, NeedScheme, Organisation, OrgKind,
    Person, Request, RequestSource, Restriction, Role, Room, Site, User, utcnow,
)

PASSWORD = "bench password 1"


def build(n_requests: int, night: date, seed: int = 7) -> None:
    """A city with 60 sites and 1,080 beds and `n_requests` people asking tonight."""
    rng = random.Random(seed)
    s = db.session
    org = Organisation(name="Kirkens Bymisjon", kind=OrgKind.NGO)
    scheme = NeedScheme(version=1, factors=[{"key": "nowhere", "label": "Nowhere to sleep",
                                             "points": 40, "group": "sleep"}])
    s.add_all([org, scheme, User(username="intake", display_name="Intake", role=Role.INTAKE,
                                 password_hash=hash_password(PASSWORD))])
    beds: list[Bed] = []
    for i in range(60):
        site = Site(code=f"site{i}", name=f"Site {i}", min_age=18 if i % 15 == 0 else None,
                    max_age=25 if i % 15 == 0 else None)
        for r, gender in enumerate((GenderRule.MIXED, GenderRule.WOMEN, GenderRule.MEN)):
            room = Room(site=site, name=f"Room {r + 1}", gender=gender)
            for b in range(6):
                bed = Bed(label=f"{i}-{r}-{b}", features=["accessible"] if b == 0 else [])
                room.beds.append(bed)
                beds.append(bed)
        s.add(site)
    s.flush()
    people = []
    for i in range(n_requests):
        gender = rng.choice([Gender.MAN, Gender.MAN, Gender.WOMAN, Gender.NONBINARY])
        people.append(Person(name=f"Person {i}", gender=gender,
                             birth_year=rng.randint(1950, 2007)))
    s.add_all(people)
    s.flush()
    assessments = [Assessment(person_id=p.id, scheme_id=scheme.id, answers={"nowhere": True},
                              need=rng.randrange(0, 101, 5),
                              parts=[{"key": "nowhere", "label": "Nowhere to sleep", "points": 40}])
                   for p in people]
    s.add_all(assessments)
    s.flush()
    requests = [Request(person_id=p.id, night=night, arrival=i + 1,
                        source=rng.choice(list(RequestSource)[:2]), assessment_id=a.id,
                        needs=["accessible"] if i % 40 == 0 else [])
                for i, (p, a) in enumerate(zip(people, assessments))]
    s.add_all(requests)
    s.flush()
    mixed = [b for b in beds if b.label.split("-")[1] == "0" and b.label[-1] != "0"]
    for k, (req, bed) in enumerate(zip(requests[5::20], mixed[::9])):
        hold = Hold(organisation_id=org.id, person_id=req.person_id, night=night,
                    site_id=bed.room.site_id, bed_id=bed.id, site_only=k % 2 == 0,
                    expires_at=utcnow() + timedelta(days=1))
        s.add(hold)
        s.flush()
        req.hold_id, req.source = hold.id, RequestSource.PARTNER
    for p in people[3::33]:
        s.add(Restriction(person_id=p.id, site_id=rng.choice(beds).room.site_id,
                          starts_on=night - timedelta(days=3), ends_on=None, reason="bench"))
    for a, b in zip(people[7::50], people[8::50]):
        s.add(KeepApart(person_a_id=min(a.id, b.id), person_b_id=max(a.id, b.id),
                        starts_on=night - timedelta(days=1), ends_on=None, reason="bench"))
    s.commit()


def measure(n_requests: int, runs: int = 9) -> dict[str, float]:
    from flask_migrate import upgrade

    from shelter.services.allocation import run_allocation
    from shelter.services.people import tonight

    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench",
                          "WTF_CSRF_ENABLED": False, "SCHEDULER_ENABLED": False,
                          "SOLVER_TIME_LIMIT": 30.0, "MFA_REQUIRED_ROLES": ""})
        with app.app_context():
            upgrade()
            night = tonight()
            build(n_requests, night)
            start = time.perf_counter()
            run = run_allocation(db.session, night, city="Bergen", user=None)
            db.session.commit()
            alloc_s = time.perf_counter() - start
            solver = run.solver_status
            db.session.remove()
        client = app.test_client()
        client.post("/login", data={"username": "intake", "password": PASSWORD})
        counter = {"n": 0}

        def count(*_args: object) -> None:
            counter["n"] += 1

        with app.app_context():
            engine = db.engine
        event.listen(engine, "before_cursor_execute", count)
        times, cpu, queries = [], [], []
        client.get("/intake/")  # warm up: template compiled, caches filled
        for _ in range(runs):
            counter["n"] = 0
            t0, c0 = time.perf_counter(), time.process_time()
            response = client.get("/intake/")
            times.append((time.perf_counter() - t0) * 1000)
            cpu.append((time.process_time() - c0) * 1000)
            queries.append(counter["n"])
            assert response.status_code == 200, response.status_code
        event.remove(engine, "before_cursor_execute", count)
        with app.app_context():
            db.engine.dispose()
    times.sort()
    return {"median_ms": statistics.median(times), "cpu_ms": statistics.median(cpu),
            "p95_ms": times[min(len(times) - 1, round(0.95 * (len(times) - 1)))],
            "queries": max(queries), "alloc_s": alloc_s, "solver": solver}


def main() -> None:
    load = os.getloadavg()[0]
    print(f"(load average {load:.1f} on {os.cpu_count()} CPUs: wall times grow with load)")
    for n in (100, 1000):
        r = measure(n)
        print(f"board with {n:>5} requests: median {r['median_ms']:.0f} ms, "
              f"p95 {r['p95_ms']:.0f} ms (CPU {r['cpu_ms']:.0f} ms), "
              f"{r['queries']} SQL queries per render; "
              f"allocation run {r['alloc_s']:.2f} s ({r['solver']})")


if __name__ == "__main__":
    main()
