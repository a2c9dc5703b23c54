"""Benchmark "Who needs a home" over Toronto's 90 nights: median time of the report (the
service, and the page through the test client) and of its CSV of everyone.

    python -m bench.housing [--db PATH]   (default instance/bench-housing.db)

Imports Toronto once into a fresh SQLite file (no what-if runs; reused next time).
Not a test: it prints figures. The goal is under 1 s for the page."""
from __future__ import annotations

import argparse
import statistics
import time
from datetime import date
from pathlib import Path

from bench.toronto_db import manager_client, toronto_app
from shelter import ROOT
from shelter.extensions import db

START, END = date(2024, 1, 1), date(2024, 3, 30)


def _median_ms(fn, repeat: int) -> float:  # type: ignore[no-untyped-def]
    times = []
    for _ in range(repeat):
        t = time.perf_counter()
        fn()
        times.append((time.perf_counter() - t) * 1000)
    return statistics.median(times)


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", type=Path, default=ROOT / "instance" / "bench-housing.db")
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    app = toronto_app(args.db, allocate_last=0)
    with app.app_context():
        from shelter.services.reports_housing import housing_report

        def service() -> None:
            housing_report(db.session, "Toronto", START, END, END)
            db.session.rollback()  # the audit rows of a bench run are not kept

        print(f"service        {_median_ms(service, args.repeat):>8.0f} ms median")
    client = manager_client(app)
    rng = {"city": "Toronto", "start": START.isoformat(), "end": END.isoformat()}

    def page() -> None:
        assert client.get("/reports/housing", query_string=rng).status_code == 200

    def csv_all() -> None:
        r = client.get("/reports/housing.csv", query_string={**rng, "table": "people_all"})
        assert r.status_code == 200

    print(f"page           {_median_ms(page, args.repeat):>8.0f} ms median")
    print(f"CSV, everyone  {_median_ms(csv_all, max(1, args.repeat // 2)):>8.0f} ms median")


if __name__ == "__main__":
    main()
