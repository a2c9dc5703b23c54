"""Benchmark the report pages over 90 nights of Toronto: median time and query count.

    python -m bench.reports [--db PATH]   (default instance/bench-reports.db)

Imports Toronto once into a fresh SQLite file (reused on the next run; with the what-if
runs of the last 7 nights, as `flask import-toronto` does), then times each
report page via the test client. Not a test: it prints a table."""
from __future__ import annotations

import argparse
import statistics
import time
from pathlib import Path

from sqlalchemy import event

from shelter import ROOT, create_app
from shelter.auth import hash_password
from shelter.extensions import db
from shelter.models import Role, User


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", type=Path, default=ROOT / "instance" / "bench-reports.db")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    args.db.parent.mkdir(parents=True, exist_ok=True)
    fresh = not args.db.exists()
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{args.db}", "SCHEDULER_ENABLED": False,
                      "WTF_CSRF_ENABLED": False, "SECRET_KEY": "bench", "TESTING": True})
    with app.app_context():
        if fresh:
            from flask_migrate import upgrade

            from shelter.services.toronto_import import default_csv, import_toronto

            upgrade()
            t = time.perf_counter()
            print(*import_toronto(db.session, default_csv(), 90, allocate_last=7), sep="\n")
            db.session.add(User(username="bench", display_name="Bench", role=Role.MANAGER,
                                password_hash=hash_password("bench-password")))
            db.session.commit()
            print(f"import: {time.perf_counter() - t:.1f} s")
        queries = [0]
        event.listen(db.engine, "before_cursor_execute", lambda *a: queries.__setitem__(0, queries[0] + 1))
    client = app.test_client()
    client.post("/login", data={"username": "bench", "password": "bench-password"})
    rng = {"city": "Toronto", "start": "2024-01-01", "end": "2024-03-30"}
    print(f"{'report':<14}{'median ms':>10}{'queries':>9}")
    for slug in ("occupancy", "turnaways", "prebookings", "women", "whatif", "fairness"):
        times = []
        for _ in range(args.repeat):
            queries[0] = 0
            t = time.perf_counter()
            response = client.get(f"/reports/{slug}", query_string=rng)
            times.append((time.perf_counter() - t) * 1000)
            assert response.status_code == 200, (slug, response.status_code)
        print(f"{slug:<14}{statistics.median(times):>10.0f}{queries[0]:>9}")


if __name__ == "__main__":
    main()
