"""Tonight's board with 5,000 requests: render time and SQL queries per render on SQLite.

Builds a fresh SQLite file (60 sites, 1,080 beds, N people asking, assessments, holds,
bans, keep-apart pairs), runs and confirms one allocation, then times GET /intake/ through
the Flask test client, without filters and with a search, a site, a status, a need band and
gender, and a site-bound user's default view (their sites), and counts the SQL statements
each render sends (the count must not grow with the number of requests: 100, 1,000 and
5,000 are measured). Each time covers the whole request: queries, template and the audit
event naming the people shown. Target: median < 300 ms at 5,000 requests.
Not a test: prints figures.   python -m bench.board [N ...]
"""
from __future__ import annotations

import os
import random
import sys
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
    site_bound = User(username="site3", display_name="Site 3 staff", role=Role.INTAKE,
                      password_hash=hash_password(PASSWORD))
    s.add(site_bound)
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
        if i == 3:
            site_bound.sites.append(site)
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


#: What is timed: (label, user, path). {site} is the id of "Site 3".
VIEWS = (("no filter", "intake", "/intake/"),
         ("page 5", "intake", "/intake/?page=5"),
         ("search 'person 12'", "intake", "/intake/?q=person+12"),
         ("site", "intake", "/intake/?site={site}"),
         ("status placed", "intake", "/intake/?status=placed"),
         ("need 60-79 + women", "intake", "/intake/?band=60-79&gender=woman"),
         ("site-bound default", "site3", "/intake/"))


def measure(n_requests: int, runs: int = 9) -> dict[str, object]:
    from flask_migrate import upgrade

    from shelter.clock import tonight
    from shelter.services.allocation import confirm_run, run_allocation

    out: dict[str, object] = {}
    with tempfile.TemporaryDirectory() as tmp:
        url = f"sqlite:///{Path(tmp) / 'bench.db'}"
        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench",
                          "WTF_CSRF_ENABLED": False, "SCHEDULER_ENABLED": False,
                          "SOLVER_TIME_LIMIT": 30.0, "REQUEST_LOG": False,
                          "MFA_REQUIRED_ROLES": ""})
        with app.app_context():
            upgrade()
            night = tonight()
            build(n_requests, night)
            start = time.perf_counter()
            run = run_allocation(db.session, night, city="Bergen", user=None)
            confirm_run(db.session, run, None)
            db.session.commit()
            out["alloc_s"] = time.perf_counter() - start
            out["solver"] = run.solver_status
            site_id = db.session.query(Site.id).filter(Site.code == "site3").scalar()
            db.session.remove()
        counter = {"n": 0}

        def count(*_args: object) -> None:
            counter["n"] += 1

        with app.app_context():
            engine = db.engine
        clients = {}
        for username in ("intake", "site3"):
            clients[username] = app.test_client()
            clients[username].post("/login", data={"username": username, "password": PASSWORD})
        event.listen(engine, "before_cursor_execute", count)
        for label, username, path in VIEWS:
            client, path = clients[username], path.format(site=site_id)
            client.get(path)  # warm up: template compiled, caches filled
            times, cpu, queries = [], [], []
            for _ in range(runs):
                counter["n"] = 0
                t0, c0 = time.perf_counter(), time.process_time()
                response = client.get(path)
                times.append((time.perf_counter() - t0) * 1000)
                cpu.append((time.process_time() - c0) * 1000)
                queries.append(counter["n"])
                assert response.status_code == 200, (path, response.status_code)
            times.sort()
            html = response.get_data(as_text=True)
            out[label] = {"median_ms": statistics.median(times), "cpu_ms": statistics.median(cpu),
                          "p95_ms": times[min(len(times) - 1, round(0.95 * (len(times) - 1)))],
                          "queries": max(queries), "rows": html.count('<tr id="r')}
        event.remove(engine, "before_cursor_execute", count)
        with app.app_context():
            db.engine.dispose()
    return out


def main() -> None:
    sizes = [int(a) for a in sys.argv[1:]] or [100, 1000, 5000]
    load = os.getloadavg()[0]
    print(f"(load average {load:.1f} on {os.cpu_count()} CPUs: wall times grow with load)")
    for n in sizes:
        r = measure(n)
        print(f"board with {n:>5} requests (allocation run + confirm {r['alloc_s']:.2f} s, "
              f"{r['solver']}):")
        for label, *_rest in VIEWS:
            v = r[label]
            assert isinstance(v, dict)
            print(f"  {label:<22} median {v['median_ms']:6.1f} ms  p95 {v['p95_ms']:6.1f} ms  "
                  f"CPU {v['cpu_ms']:6.1f} ms  {v['queries']:>2} SQL  {v['rows']:>3} rows shown")


if __name__ == "__main__":
    main()
