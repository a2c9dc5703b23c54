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

from bench.toronto_db import manager_client, toronto_app
from shelter import ROOT
from shelter.extensions import db


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", type=Path, default=ROOT / "instance" / "bench-reports.db")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    app = toronto_app(args.db, allocate_last=7)
    with app.app_context():
        queries = [0]
        event.listen(db.engine, "before_cursor_execute", lambda *a: queries.__setitem__(0, queries[0] + 1))
    client = manager_client(app)
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
