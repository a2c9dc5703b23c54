"""Import Toronto's daily shelter occupancy (2024 Q1) as a second, metropolitan demo city.

Choices (fast enough for 90 nights in well under 3 minutes, outcomes from the data):
- A site per program (city "Toronto"); one room per program holding as many beds as the
  program's largest capacity in the imported nights. Room gender by sector: Women -> women,
  Men -> men, others mixed; Youth programs take ages 16-24.
- Capacity: bed-based programs CAPACITY_ACTUAL_BED; room-based programs count each room as
  one bed (a household shares it). Beds above a night's capacity get an outage that night.
- Demand: bed-based SERVICE_USER_COUNT, room-based OCCUPIED_ROOMS (one request per
  household). Programs with no free bed also get 2-8% extra synthetic requests (seeded), the
  people who asked and could not be served, since the data records only those served.
- Outcomes are derived from the data, not solved: OCCUPIED beds/rooms are placements
  (checked in); the rest of the demand is turned away for `capacity`. The same synthetic
  people come back night after night (a seeded pool per program), so continuity and repeat
  turn-aways look as they do in a real city.
- What-if (`allocate_last`): the stored outcomes come from the data, so for the last K nights
  (`flask import-toronto --allocate-last K`, default 7) the allocation core is run on each
  night's recorded requests and beds (intake's `build_night`, nobody fixed) under the need
  rule and under first come, and stored as a confirmed AllocationRun of kind "import"
  (input_json, result_json = need rule, comparison_json = first come). The placements stay
  as recorded; the run only feeds the what-if report. A night the core fails on is skipped
  with a line in the output. Only the last few nights: each takes several seconds to solve.
- Batches: given a `checkpoint` (the command passes the session's commit), the import commits
  after the sites, after the people, after each night and after every few nights' counts, so
  no transaction holds SQLite's write lock for long and other requests keep being served.
  Without it (tests) everything stays in the caller's one transaction.
Raises ImportError_ (a ValueError) for a missing file, a bad row or an earlier import."""
from __future__ import annotations

import csv
import random
import time
from collections import defaultdict
from collections.abc import Callable
from datetime import date, timedelta
from pathlib import Path
from typing import Any

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from allocator.words import explain
from shelter.models import (
    AllocationRun, Assessment, Bed, BedOutage, GenderRule, NeedScheme, Person, Placement,
    Request, Room, Site, utcnow,
)
from shelter.services.reports_fill import refresh_stats

CITY = "Toronto"
CSV_NAME = "toronto-daily-shelter-occupancy-2024q1.csv"
GENDER_OF_SECTOR = {"Women": "women", "Men": "men"}
SOLVE_SECONDS = 20.0  # per rule and night; a full Toronto night solves in a few seconds


class ImportError_(ValueError):
    """The import cannot go ahead; the message says why in one line."""


def default_csv() -> Path:
    """The copy shipped gzipped with the allocator package (one file for both importers)."""
    from allocator.toronto import default_csv as packaged

    return packaged()


def _int(value: str) -> int:
    return int(float(value)) if value not in ("", None) else 0


def read_rows(path: Path, nights: int) -> tuple[list[date], dict[str, dict[str, Any]]]:
    """The first `nights` nights of the file: (nights, program id -> program facts with a
    per-night {capacity, occupied, demand})."""
    if not path.is_file():
        raise ImportError_(f"--csv: no such file: {path}")
    programs: dict[str, dict[str, Any]] = {}
    from allocator.toronto import open_csv

    try:
        with open_csv(path) as fh:
            rows = list(csv.DictReader(fh))
    except (OSError, UnicodeDecodeError) as err:
        raise ImportError_(f"--csv: cannot read {path.name} ({err})") from err
    try:
        all_nights = sorted({date.fromisoformat(r["OCCUPANCY_DATE"][:10]) for r in rows})
    except (KeyError, ValueError) as err:
        raise ImportError_(f"--csv: not the Toronto occupancy file ({err})") from err
    chosen = set(all_nights[:nights])
    for r in rows:
        night = date.fromisoformat(r["OCCUPANCY_DATE"][:10])
        if night not in chosen:
            continue
        p = programs.setdefault(r["PROGRAM_ID"], {
            "name": r["PROGRAM_NAME"][:120], "sector": r["SECTOR"],
            "area": r["LOCATION_NAME"][:120], "address": r["LOCATION_ADDRESS"][:200],
            "nights": {}})
        if r["CAPACITY_TYPE"].startswith("Bed"):
            cap, occ, demand = (_int(r["CAPACITY_ACTUAL_BED"]), _int(r["OCCUPIED_BEDS"]),
                                _int(r["SERVICE_USER_COUNT"]))
        else:
            cap, occ = _int(r["CAPACITY_ACTUAL_ROOM"]), _int(r["OCCUPIED_ROOMS"])
            demand = occ
        p["nights"][night] = (cap, min(occ, cap), max(demand, min(occ, cap)))
    return sorted(chosen), programs


STATS_BATCH = 7  # nights counted per checkpoint


def import_toronto(session: Session, path: Path, nights: int = 90, seed: int = 2024,
                   allocate_last: int = 0,
                   checkpoint: Callable[[], None] | None = None) -> list[str]:
    """Load the city, its people, requests and outcomes, run the core on the last
    `allocate_last` nights for the what-if report, then count the report aggregates.
    Flushes only, unless a `checkpoint` is given: it is called between batches (the
    command passes db.session.commit; a failure half-way then keeps the committed batches)."""
    commit = checkpoint or session.flush
    if nights < 1:
        raise ImportError_("--nights: give at least 1")
    if allocate_last < 0:
        raise ImportError_("--allocate-last: give 0 or more")
    if session.scalar(select(Site.id).where(Site.city == CITY).limit(1)):
        raise ImportError_("Toronto is already imported (its sites exist)")
    night_list, programs = read_rows(path, nights)
    rng = random.Random(seed)
    scheme = session.scalar(select(NeedScheme).order_by(NeedScheme.version.desc()).limit(1))
    if scheme is None:
        scheme = NeedScheme(version=1, factors=[], note="Toronto import")
        session.add(scheme)
        session.flush()
    scheme_id = scheme.id
    first = night_list[0]
    beds_of: dict[str, list[Bed]] = {}
    for pid, p in programs.items():
        youth = p["sector"] == "Youth"
        site = Site(code=f"tor-{pid}", name=p["name"], city=CITY,
                    address=p["address"], min_age=16 if youth else None,
                    max_age=24 if youth else None)
        room = Room(site=site, name=p["sector"] or "Beds", valid_from=first,
                    gender=GenderRule(GENDER_OF_SECTOR.get(p["sector"], "mixed")))
        size = max((c for c, _, _ in p["nights"].values()), default=0)
        room.beds = [Bed(label=f"{pid}-{i + 1}", valid_from=first) for i in range(size)]
        session.add(site)
        beds_of[pid] = room.beds
        p["site"] = site
    session.flush()
    # plain ids from here on: a checkpoint's commit expires the ORM objects
    bed_ids = {pid: [b.id for b in beds] for pid, beds in beds_of.items()}
    site_ids = {pid: p["site"].id for pid, p in programs.items()}
    commit()

    outages, people_rows, demand_plan = [], [], {}
    for pid, p in programs.items():
        caps = [p["nights"].get(n, (0, 0, 0))[0] for n in night_list]
        for k, bed_id in enumerate(bed_ids[pid]):  # beds above a night's capacity are out
            start = None
            for n, cap in zip(night_list + [None], caps + [None]):  # type: ignore[operator]
                out = n is not None and cap <= k
                if out and start is None:
                    start = n
                if not out and start is not None:
                    outages.append({"bed_id": bed_id, "reason": "not in service (import)",
                                    "starts_on": start, "ends_on": n - timedelta(days=1) if n else night_list[-1]})
                    start = None
        plan = {}
        for n, (cap, occ, demand) in p["nights"].items():
            extra = round(cap * rng.uniform(0.02, 0.08)) if cap and occ >= cap else 0
            plan[n] = (occ, demand + extra)
        demand_plan[pid] = plan
        pool = max((d for _, d in plan.values()), default=0)
        for _ in range(pool):
            people_rows.append(_person(rng, p["sector"], pid))
    if outages:
        session.execute(insert(BedOutage), outages)
    session.execute(insert(Person), people_rows)
    pool_of: dict[str, list[int]] = defaultdict(list)
    for person_id, phone in session.execute(
            select(Person.id, Person.phone).where(Person.phone.like("tor:%")).order_by(Person.id)):
        pool_of[phone[4:]].append(person_id)
    session.execute(insert(Assessment), [
        {"person_id": i, "scheme_id": scheme_id, "answers": {}, "parts": [],
         "need": min(100, sum(pts for pts in (30, 25, 20, 15, 10) if rng.random() < 0.3))}
        for ids in pool_of.values() for i in ids])
    assessment_of = dict(session.execute(select(Assessment.person_id, Assessment.id).where(
        Assessment.person_id.in_(select(Person.id).where(Person.phone.like("tor:%"))))).all())
    commit()
    placed = away = 0
    for night in night_list:
        requests, placements = [], []
        arrival = 0
        for pid, plan in demand_plan.items():
            if night not in plan:
                continue
            occ, demand = plan[night]
            site_id, beds = site_ids[pid], bed_ids[pid]
            # the first `occ` in the queue took the program's beds (reason params:
            # allocator/words.py; worded per reader by services/reasons.py)
            why = {"beds": occ, "takers": ["queue"]} if occ else None
            why_text = explain("capacity", why) if why else "Every bed you could use was taken."
            for k, person_id in enumerate(pool_of[pid][:demand]):
                arrival += 1
                ok = k < occ
                requests.append({"person_id": person_id, "night": night, "city": CITY,
                                 "source": "walk_in",
                                 "arrival": arrival, "needs": [], "preferred_site_id": site_id,
                                 "assessment_id": assessment_of.get(person_id), "note": "",
                                 "status": "placed" if ok else "turned_away",
                                 "turnaway_reason": None if ok else "capacity",
                                 "turnaway_explanation": None if ok else why_text,
                                 "turnaway_params": None if ok else why})
                if ok:
                    placements.append({"person_id": person_id, "bed_id": beds[k],
                                       "night": night, "status": "checked_in"})
        session.execute(insert(Request), requests)
        session.execute(insert(Placement), placements)
        placed += len(placements)
        away += len(requests) - len(placements)
        commit()
    run_lines = allocate_nights(session, night_list[len(night_list) - allocate_last:]
                                if allocate_last else [], checkpoint=commit)
    for i in range(0, len(night_list), STATS_BATCH):
        refresh_stats(session, night_list[i:i + STATS_BATCH])
        commit()
    return [*run_lines, f"Toronto: {len(programs)} programs, {sum(len(b) for b in bed_ids.values())} beds, "
            f"{len(people_rows)} people, {len(night_list)} nights, {placed} placements, "
            f"{away} turn-aways"]


def allocate_nights(session: Session, night_list: list[date],
                    checkpoint: Callable[[], None] | None = None) -> list[str]:
    """Store a confirmed AllocationRun (need rule, first come beside it) per night; one
    output line per night. A night the core refuses or fails on is skipped, not fatal.
    `checkpoint` (if given) ends the transaction before each solve and after each run."""
    commit = checkpoint or session.flush
    from allocator import InputError, Night, solve

    from shelter.services.night_input import build_night

    lines = []
    for night in night_list:
        data, _ = build_night(session, night, CITY)
        commit()  # no lock held while the core solves
        started = time.perf_counter()
        try:
            need = solve(Night.from_json(data), rule="need",
                         time_limit=SOLVE_SECONDS).to_json(params=True)
            queue = solve(Night.from_json(data), rule="first-come",
                          time_limit=SOLVE_SECONDS).to_json(params=True)
        except (InputError, RuntimeError) as err:
            lines.append(f"{night}: the allocation core failed, no what-if run ({err})")
            continue
        seconds = time.perf_counter() - started
        session.add(AllocationRun(
            night=night, city=CITY, rule="need", kind="import", solver_status=need["status"],
            solve_seconds=seconds, total_seconds=seconds, input_json=data, result_json=need,
            comparison_json=queue, confirmed_at=utcnow()))
        commit()
        lines.append(f"{night}: what-if run stored ({len(need['assignments'])} placed by need, "
                     f"{len(queue['assignments'])} by first come)")
    session.flush()
    return lines


def _person(rng: random.Random, sector: str, pid: str) -> dict[str, Any]:
    """A synthetic person for a program; `phone` carries the program id for the import only."""
    if sector == "Women":
        gender = "woman"
    elif sector == "Men":
        gender = "man"
    else:
        gender = rng.choices(("man", "woman", "nonbinary", "unknown"), (55, 38, 4, 3))[0]
    born = rng.randint(2000, 2008) if sector == "Youth" else rng.randint(1945, 2005)
    return {"alias": f"T{rng.randrange(16**6):06x}", "gender": gender, "birth_year": born,
            "phone": f"tor:{pid}", "needs": [], "refused_name": True}
