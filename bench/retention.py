"""Benchmark the retention job's query and work: who is due among N people (each with
requests, a placement, an assessment and a note; a share with recent activity or an open
ban), then pseudonymising everyone due, rolled back.

    python -m bench.retention [--people 20000] [--db PATH] [--url DATABASE_URL]

A fresh SQLite file by default (instance/bench-retention.db, rebuilt each run).
Not a test: it prints figures. The daily job has hours; the goal is seconds."""
from __future__ import annotations

import argparse
import time
from datetime import date, datetime, timedelta
from pathlib import Path

from shelter import ROOT, create_app
from shelter.extensions import db

NOW = datetime(2029, 6, 15, 3, 30)
OLD, RECENT = datetime(2026, 1, 10), datetime(2029, 1, 10)


def build(n: int) -> None:
    from shelter.models import (
        Assessment, Gender, NeedScheme, Person, Request, RequestSource, Restriction,
    )

    s = db.session
    scheme = NeedScheme(version=1, factors=[])
    s.add(scheme)
    s.flush()
    people = [{"name": f"Person {i}", "gender": Gender.MAN, "birth_year": 1980,
               "created_at": OLD, "needs": []} for i in range(n)]
    s.execute(Person.__table__.insert(), people)
    ids = list(s.scalars(Person.__table__.select().with_only_columns(Person.id)))
    rows = []
    for k, pid in enumerate(ids):
        stamp = RECENT if k % 10 == 0 else OLD  # one in ten asked for a bed this year
        for d in range(3):
            night = stamp.date() + timedelta(days=d)
            rows.append({"person_id": pid, "night": night, "city": "Bergen",
                         "source": RequestSource.WALK_IN, "arrival": 1, "needs": [],
                         "status": "turned_away", "note": "x", "created_at": stamp})
    s.execute(Request.__table__.insert(), rows)
    s.execute(Assessment.__table__.insert(), [
        {"person_id": pid, "scheme_id": scheme.id, "answers": {}, "need": 10, "parts": [],
         "note": "n", "assessed_at": OLD} for pid in ids])
    s.execute(Restriction.__table__.insert(), [
        {"person_id": pid, "starts_on": date(2026, 1, 1), "ends_on": None, "reason": "r",
         "category": "violence", "authority": "staff", "issued_by": "", "created_at": OLD}
        for pid in ids[1::50]])  # one in fifty has an open-ended ban
    s.commit()


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--people", type=int, default=20000)
    parser.add_argument("--db", type=Path, default=ROOT / "instance" / "bench-retention.db")
    parser.add_argument("--url", default=None, help="an empty PostgreSQL database instead")
    args = parser.parse_args()
    if args.url is None:
        args.db.parent.mkdir(exist_ok=True)
        args.db.unlink(missing_ok=True)
    url = args.url or f"sqlite:///{args.db}"
    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SCHEDULER_ENABLED": False,
                      "SECRET_KEY": "bench", "REQUEST_LOG": False, "SHELTER_LANGUAGE": "en"})
    with app.app_context():
        from flask_migrate import upgrade

        from shelter.services import retention

        upgrade()
        t = time.perf_counter()
        build(args.people)
        print(f"built {args.people} people in {time.perf_counter() - t:.1f} s ({url.split(':')[0]})")
        t = time.perf_counter()
        due = retention.due(db.session, NOW, 24)
        print(f"due            {len(due):>8} people in {(time.perf_counter() - t) * 1000:>8.0f} ms")
        t = time.perf_counter()
        done = retention.run_retention(db.session, NOW, 24)
        took = time.perf_counter() - t
        print(f"pseudonymised  {len(done):>8} people in {took * 1000:>8.0f} ms "
              f"({took / max(len(done), 1) * 1000:.2f} ms each)")
        db.session.rollback()


if __name__ == "__main__":
    main()
