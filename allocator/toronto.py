"""One real Toronto night from the City of Toronto shelter occupancy open data (2024 Q1).

Modelling choices (the data has programs and capacities, not individual beds or people):

* each program is a site (id ``t<PROGRAM_ID>``, named by ``PROGRAM_NAME``);
* bed-based programs get ``CAPACITY_ACTUAL_BED - UNAVAILABLE_BEDS`` beds; room-based programs
  (hotel and family programs) get ``CAPACITY_ACTUAL_ROOM - UNAVAILABLE_ROOMS`` units, one per
  room, because the room is what intake hands out; so room programs look oversubscribed, as a
  family's members each count as a service user;
* ``SECTOR`` Women -> women-only beds, Men -> men-only, Youth -> a site for ages 16-24,
  Families and Mixed Adult -> mixed beds; 5% of beds are marked accessible (not in the data);
* the night's requests number exactly the sum of ``SERVICE_USER_COUNT``, drawn (seeded) per
  program to match its sector; half of them slept in that program the night before (last bed).
"""

from __future__ import annotations

import csv
import gzip
import random
from dataclasses import replace
from pathlib import Path
from typing import IO

from allocator.generate import add_safety_and_holds, need_points, person
from allocator.problem import Bed, InputError, Night, Site

FILE = "toronto-daily-shelter-occupancy-2024q1.csv"
GENDER = {"Women": "women", "Men": "men"}


def default_csv() -> Path:
    """The gzipped copy shipped in the package (``allocator/data/``, licence note beside it)."""
    return Path(__file__).resolve().parent / "data" / (FILE + ".gz")


def open_csv(path: Path) -> IO[str]:
    """The CSV as text, gunzipped on the fly when the name ends in ``.gz``; raises OSError."""
    if path.suffix == ".gz":
        return gzip.open(path, "rt", newline="", encoding="utf-8-sig")
    return open(path, newline="", encoding="utf-8-sig")


def _int(text: str) -> int:
    return int(float(text)) if text.strip() else 0


def read_rows(date: str, csv_path: str | Path | None = None) -> list[dict[str, str]]:
    """The CSV rows of one night; raises InputError if the file or the date is missing."""
    path = Path(csv_path) if csv_path else default_csv()
    try:
        with open_csv(path) as handle:
            rows = [row for row in csv.DictReader(handle) if row["OCCUPANCY_DATE"] == date]
    except OSError as exc:
        raise InputError(f"cannot read: {exc.strerror}", str(path)) from None
    if not rows:
        raise InputError(f"no programs on {date!r} in {path.name}", "--toronto")
    return rows


def toronto_night(date: str, csv_path: str | Path | None = None, seed: int = 0) -> Night:
    """The Toronto night of ``date`` (YYYY-MM-DD, 2024-01-01..2024-03-30) as a Night."""
    rng = random.Random(f"{date}/{seed}")
    sites: list[Site] = []
    beds: list[Bed] = []
    people = []
    for row in read_rows(date, csv_path):
        site_id = f"t{row['PROGRAM_ID']}"
        sector = row["SECTOR"]
        youth = sector == "Youth"
        sites.append(Site(id=site_id, name=row["PROGRAM_NAME"], min_age=16 if youth else None,
                          max_age=24 if youth else None))
        if row["CAPACITY_TYPE"].startswith("Room"):
            units = _int(row["CAPACITY_ACTUAL_ROOM"]) - _int(row["UNAVAILABLE_ROOMS"])
        else:
            units = _int(row["CAPACITY_ACTUAL_BED"]) - _int(row["UNAVAILABLE_BEDS"])
        program_beds = [Bed(id=f"{site_id}-{i + 1}", site=site_id,
                            gender=GENDER.get(sector, "mixed"),
                            features=frozenset({"accessible"}) if rng.random() < 0.05
                            else frozenset()) for i in range(max(0, units))]
        beds.extend(program_beds)
        for _ in range(_int(row["SERVICE_USER_COUNT"])):
            gender = {"Women": "woman", "Men": "man"}.get(sector)
            r = person(rng, f"x{len(people) + 1:05d}", gender=gender,
                       age_range=(16, 24) if youth else (18, 70))
            last = rng.choice(program_beds).id if program_beds and rng.random() < 0.5 else None
            people.append(replace(r, last_bed=last, need=need_points(rng)))
    order = list(range(1, len(people) + 1))
    rng.shuffle(order)
    site_ids = [s.id for s in sites]
    people = [replace(r, arrival=a, preferred_sites=tuple(rng.sample(site_ids, 1))
                      if rng.random() < 0.2 else ()) for r, a in zip(people, order)]
    night = Night(night=date, sites=tuple(sites), beds=tuple(beds), requests=tuple(people))
    return add_safety_and_holds(rng, night)
