"""The audit pages on a long trail: render times of /admin/security and a person's trail.

Builds a fresh database with N audit events over a year (about 1 in 30 a security event,
the rest views and changes naming people, some naming many), then times the pages through
the Flask test client: no filter, by action, by user, by a week of dates, all three, a
deep page, and one person's trail. Not a test: prints figures.

    python -m bench.audit                     # SQLite, 300,000 events
    python -m bench.audit 1000000             # more
    BENCH_DATABASE_URL=postgresql+psycopg://... python -m bench.audit   # an EMPTY database
"""
from __future__ import annotations

import os
import random
import statistics
import sys
import tempfile
import time
from datetime import datetime, timedelta
from pathlib import Path

from shelter import create_app
from shelter.auth import hash_password
from shelter.extensions import db
from shelter.models import AuditEvent, AuditEventPerson, Person, Role, User

PASSWORD = "bench password 1"
SECURITY = ["security.login", "security.login_failed", "security.logout",
            "security.user_changed", "security.token_created"]
OTHER = ["view", "list", "update", "assess", "view_board", "prebook"]


def build(n_events: int, seed: int = 11) -> int:
    """N events over 2026 by 40 users about 5,000 people; returns one person's id."""
    rng = random.Random(seed)
    s = db.session
    s.add(User(username="admin", display_name="Admin", role=Role.ADMIN,
               password_hash=hash_password(PASSWORD)))
    people = [Person(name=f"Person {i}") for i in range(5000)]
    s.add_all(people)
    s.flush()
    ids = [p.id for p in people]
    start, span = datetime(2026, 1, 1), 365 * 24 * 3600
    users = [f"user{i}" for i in range(40)]
    rows, links, next_id = [], [], 1
    for _ in range(n_events):
        at = start + timedelta(seconds=rng.randrange(span))
        security = rng.random() < 1 / 30
        action = rng.choice(SECURITY if security else OTHER)
        many = not security and action == "view_board"
        person = None if security or many else rng.choice(ids)
        rows.append({"id": next_id, "at": at, "user_id": None, "username": rng.choice(users),
                     "role": "intake", "organisation_id": None, "person_id": person,
                     "action": action, "detail": "bench"})
        if many:
            links += [{"event_id": next_id, "person_id": p} for p in rng.sample(ids, 5)]
        next_id += 1
        if len(rows) >= 20000:
            s.execute(AuditEvent.__table__.insert(), rows)
            rows = []
    if rows:
        s.execute(AuditEvent.__table__.insert(), rows)
    for i in range(0, len(links), 20000):
        s.execute(AuditEventPerson.__table__.insert(), links[i:i + 20000])
    if db.engine.dialect.name == "postgresql":  # the ids were given: move the sequence on
        s.execute(db.text("SELECT setval('audit_events_id_seq', (SELECT max(id) FROM "
                          "audit_events))"))
        s.execute(db.text("ANALYZE"))
    s.commit()
    return ids[0]


def timed(client, url: str, runs: int = 7) -> tuple[float, float]:
    client.get(url)  # warm up
    times = []
    for _ in range(runs):
        t0 = time.perf_counter()
        response = client.get(url)
        times.append((time.perf_counter() - t0) * 1000)
        assert response.status_code == 200, (url, response.status_code)
    times.sort()
    return statistics.median(times), times[-1]


def main() -> None:
    from flask_migrate import upgrade

    n = int(sys.argv[1]) if len(sys.argv) > 1 else 300_000
    load = os.getloadavg()[0]
    with tempfile.TemporaryDirectory() as tmp:
        url = os.environ.get("BENCH_DATABASE_URL") or f"sqlite:///{Path(tmp) / 'bench.db'}"
        app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "bench",
                          "WTF_CSRF_ENABLED": False, "SCHEDULER_ENABLED": False,
                          "SHELTER_LANGUAGE": "en"})
        with app.app_context():
            upgrade()
            t0 = time.perf_counter()
            person = build(n)
            built = time.perf_counter() - t0
            dialect = db.engine.dialect.name
            db.session.remove()
        print(f"{dialect}: {n:,} audit events built in {built:.0f} s "
              f"(load average {load:.1f} on {os.cpu_count()} CPUs)")
        client = app.test_client()
        client.post("/login", data={"username": "admin", "password": PASSWORD})
        cases = [
            ("security, no filter", "/admin/security"),
            ("security, one action", "/admin/security?action=security.login_failed"),
            ("security, one user", "/admin/security?user=user7"),
            ("security, one week", "/admin/security?start=2026-06-01&end=2026-06-07"),
            ("security, all three", "/admin/security?action=security.login&user=user7"
                                    "&start=2026-03-01&end=2026-09-30"),
            ("security, page 10", "/admin/security?page=10"),
            ("person trail", f"/admin/people/{person}/audit"),
            ("person trail, one week", f"/admin/people/{person}/audit?start=2026-06-01"
                                       "&end=2026-06-07"),
        ]
        print(f"{'page':<26} {'median ms':>10} {'max ms':>8}")
        for name, path in cases:
            median, worst = timed(client, path)
            print(f"{name:<26} {median:>10.1f} {worst:>8.1f}")
        with app.app_context():
            db.engine.dispose()


if __name__ == "__main__":
    main()
