"""Web allocation at Toronto size: one night's run from the database, then its proposal page.

    python -m bench.toronto_run [--db PATH] [--night YYYY-MM-DD] [--repeat N]

Imports Toronto's 90 nights once into a SQLite file (`bench/toronto_db.py`, reused on the
next run; default instance/bench-toronto-run.db, or --url for PostgreSQL), makes one night
fresh again (its recorded placements, runs and outcomes removed, so everyone asking waits
and every bed is free, as at the start of an evening: otherwise the data's checked-in
people would be fixed and there would be nothing to solve), then, as an intake user would:

1. run the allocation for that night from the database, as the board's "allocate" button
   does (`shelter.services.allocation.run_allocation`, committed); its phases are timed by
   wrapping, not changing, what it calls: build the night from the database, validate it
   (`Night.from_json`), solve with the need rule, solve first-come beside it, and write
   (results to JSON, the run and its placements, flush and commit);
2. GET the proposal page of that run (`/intake/runs/<id>`) as a logged-in intake user: at
   this size it lists everyone turned away and, per site, a link to the people placed
   there; then the same page with the biggest site's people listed (`?site=<id>`).

Targets (issue 13): the run < 5 s end to end, the page < 1 s. Wall and CPU time of this
process are printed side by side (the machine may be shared; CPU time is the better guide;
SQLite runs in this process, so its time is in the CPU column too). Not a test: it prints
figures.
"""
from __future__ import annotations

import argparse
import os
import statistics
import time
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any, Callable, Iterator

from sqlalchemy import delete, func, select, update

from bench.toronto_db import toronto_app
from shelter import ROOT
from shelter.auth import hash_password
from shelter.extensions import db
from shelter.models import (AllocationRun, Bed, Placement, Request, RequestStatus, Role, Room,
                            Site, User)

CITY = "Toronto"
INTAKE, PASSWORD = "bench-intake", "bench-intake-password"
TARGET_RUN, TARGET_PAGE = 5.0, 1.0


class Clock:
    """Wall and CPU seconds per phase, summed over calls."""

    def __init__(self) -> None:
        self.wall: dict[str, float] = {}
        self.cpu: dict[str, float] = {}

    @contextmanager
    def phase(self, name: str) -> Iterator[None]:
        wall, cpu = time.perf_counter(), time.process_time()
        try:
            yield
        finally:
            self.wall[name] = self.wall.get(name, 0.0) + time.perf_counter() - wall
            self.cpu[name] = self.cpu.get(name, 0.0) + time.process_time() - cpu

    def wrap(self, name: Callable[[Any], str] | str,
             func: Callable[..., Any]) -> Callable[..., Any]:
        def timed(*args: Any, **kwargs: Any) -> Any:
            label = name if isinstance(name, str) else name(kwargs)
            with self.phase(label):
                return func(*args, **kwargs)
        return timed


def fresh_night(night: date) -> dict[str, int]:
    """Make `night` in Toronto an evening before any allocation: requests waiting, no
    placements, no runs. Returns the counts of what is then asked for and offered."""
    s = db.session
    request_ids = select(Request.id).where(Request.city == CITY, Request.night == night)
    toronto_beds = select(Bed.id).join(Room).join(Site).where(Site.city == CITY)
    s.execute(delete(Placement).where(Placement.night == night,
                                      Placement.bed_id.in_(toronto_beds))
              .execution_options(synchronize_session=False))
    s.execute(delete(AllocationRun).where(AllocationRun.night == night, AllocationRun.city == CITY)
              .execution_options(synchronize_session=False))
    s.execute(update(Request).where(Request.id.in_(request_ids))
              .values(status=RequestStatus.WAITING, turnaway_reason=None,
                      turnaway_explanation=None).execution_options(synchronize_session=False))
    s.commit()
    asking = s.scalar(select(func.count()).select_from(Request).where(
        Request.city == CITY, Request.night == night))
    return {"requests": int(asking or 0)}


def intake_client(app: Any) -> Any:
    """A test client logged in as an intake worker (created on first use)."""
    with app.app_context():
        if db.session.scalar(select(User.id).where(User.username == INTAKE)) is None:
            db.session.add(User(username=INTAKE, display_name="Bench intake", role=Role.INTAKE,
                                password_hash=hash_password(PASSWORD)))
            db.session.commit()
    client = app.test_client()
    response = client.post("/login", data={"username": INTAKE, "password": PASSWORD})
    assert response.status_code in (302, 303), response.status_code
    return client


def run_once(app: Any, night: date) -> tuple[Clock, int, dict[str, Any]]:
    """One allocation run of `night` as the allocate button makes it, phases timed."""
    from shelter.services import allocation

    clock = Clock()
    night_class = allocation.Night
    originals = (allocation.build_night, night_class.__dict__["from_json"], allocation.solve)
    allocation.build_night = clock.wrap("build night", allocation.build_night)
    timed = clock.wrap("validate", night_class.from_json)
    night_class.from_json = timed  # type: ignore[method-assign]
    allocation.solve = clock.wrap(lambda kw: f"solve {kw.get('rule', 'need')}", allocation.solve)
    try:
        with app.app_context():
            counts = fresh_night(night)
            user = db.session.scalar(select(User).where(User.username == INTAKE))
            with clock.phase("total"):
                run = allocation.run_allocation(db.session, night, city=CITY, user=user, kind=None,
                                                allow_empty=False)
                db.session.commit()
            run_id = run.id
            counts["beds"] = len(run.input_json["beds"])
            counts["placed"] = len(run.result_json["assignments"])
            counts["status"] = run.solver_status
    finally:
        allocation.build_night = originals[0]
        setattr(night_class, "from_json", originals[1])
        allocation.solve = originals[2]
    inner = sum(v for k, v in clock.wall.items() if k != "total")
    inner_cpu = sum(v for k, v in clock.cpu.items() if k != "total")
    clock.wall["write"] = clock.wall["total"] - inner
    clock.cpu["write"] = clock.cpu["total"] - inner_cpu
    return clock, run_id, counts


def main() -> None:
    parser = argparse.ArgumentParser()
    parser.add_argument("--db", type=Path, default=ROOT / "instance" / "bench-toronto-run.db")
    parser.add_argument("--night", type=date.fromisoformat, default=None,
                        help="default: the last imported night")
    parser.add_argument("--repeat", type=int, default=3, help="runs and page loads (best/median)")
    args = parser.parse_args()
    app = toronto_app(args.db, allocate_last=0)
    app.config["CITY"] = CITY
    with app.app_context():
        night = args.night or db.session.scalar(
            select(func.max(Request.night)).where(Request.city == CITY))
    client = intake_client(app)

    runs = [run_once(app, night) for _ in range(max(1, args.repeat))]
    clock, run_id, counts = min(runs, key=lambda r: r[0].wall["total"])
    load = os.getloadavg()
    print(f"Toronto web allocation, night {night}: {counts['requests']} asking, {counts['beds']} "
          f"beds, {counts['placed']} placed ({counts['status']}); best of {len(runs)} runs; "
          f"load average {load[0]:.1f} {load[1]:.1f} {load[2]:.1f}")
    head = f"{'phase':<22}{'wall s':>8}{'cpu s':>8}"
    print(head)
    print("-" * len(head))
    for name in ("build night", "validate", "solve need", "solve first-come", "write", "total"):
        print(f"{name:<22}{clock.wall.get(name, 0.0):>8.3f}{clock.cpu.get(name, 0.0):>8.3f}")
    verdict = "met" if clock.wall["total"] < TARGET_RUN else "MISSED"
    print(f"run end to end (build, validate, solve both rules, write, commit): "
          f"{clock.wall['total']:.2f} s wall, {clock.cpu['total']:.2f} s CPU "
          f"(target < {TARGET_RUN:.0f} s: {verdict})")

    walls, cpus = [], []
    for _ in range(max(1, args.repeat)):
        wall, cpu = time.perf_counter(), time.process_time()
        response = client.get(f"/intake/runs/{run_id}")
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
        assert response.status_code == 200, response.status_code
    verdict = "met" if statistics.median(walls) < TARGET_PAGE else "MISSED"
    print(f"proposal page GET /intake/runs/{run_id} as intake: median "
          f"{statistics.median(walls):.3f} s wall, {statistics.median(cpus):.3f} s CPU over "
          f"{len(walls)} loads, "
          f"{len(response.data) // 1024} KiB (target < {TARGET_PAGE:.0f} s: {verdict})")

    # The same page with the biggest site's people listed (?site=), as staff open it.
    with app.app_context():
        site_id, placed = db.session.execute(
            select(Room.site_id, func.count()).select_from(Placement)
            .join(Bed, Placement.bed_id == Bed.id).join(Room, Bed.room_id == Room.id)
            .where(Placement.run_id == run_id).group_by(Room.site_id)
            .order_by(func.count().desc()).limit(1)).one()
    walls, cpus = [], []
    for _ in range(max(1, args.repeat)):
        wall, cpu = time.perf_counter(), time.process_time()
        response = client.get(f"/intake/runs/{run_id}?site={site_id}")
        walls.append(time.perf_counter() - wall)
        cpus.append(time.process_time() - cpu)
        assert response.status_code == 200, response.status_code
    verdict = "met" if statistics.median(walls) < TARGET_PAGE else "MISSED"
    print(f"the same page listing its biggest site ({placed} placed, ?site={site_id}): median "
          f"{statistics.median(walls):.3f} s wall, {statistics.median(cpus):.3f} s CPU, "
          f"{len(response.data) // 1024} KiB (target < {TARGET_PAGE:.0f} s: {verdict})")


if __name__ == "__main__":
    main()
