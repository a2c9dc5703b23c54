"""Report vocabulary shared by the reports: bands, cities, confirmed runs, what-if counts.

The counting of nights into the report tables lives in `reports_fill`."""
from __future__ import annotations

import re
from collections import defaultdict
from collections.abc import Iterable
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shelter.config import instance_city
from shelter.i18n import _l
from shelter.models import AllocationRun, Site

NEED_BANDS = ("0–19", "20–39", "40–59", "60–79", "80–100")
AGE_BANDS = ("under 18", "18–23", "24–39", "40–59", "60+", "unknown")
GENDERS = ("woman", "man", "nonbinary", "unknown")
REASONS = ("capacity", "no_eligible_bed", "keep_apart")
OCCUPIED = ("confirmed", "checked_in")  # a bed someone sleeps in (proposed is not yet)

# How the report codes above are worded in tables, legends and CSV cells (lazy: the language
# of the request that builds the report). The English is the code itself, as the reports
# always wrote it; shelter.words words the same things for other pages (capitalised there).
GENDER_LABELS = {"woman": _l("woman"), "man": _l("man"), "nonbinary": _l("nonbinary"),
                 "unknown": _l("unknown")}
AGE_LABELS = {"under 18": _l("under 18"), "unknown": _l("unknown")}  # the others are numbers
#: Turn-away reasons (REASONS) and "placed", as the report columns and what-if rows say them.
OUTCOME_LABELS = {"capacity": _l("capacity"), "no_eligible_bed": _l("no eligible bed"),
                  "keep_apart": _l("keep apart"), "placed": _l("placed")}
#: Why a partner's pre-booking was refused (prebooking.HoldRefused codes).
REFUSAL_LABELS = {"no_bed": _l("no bed free"), "quota": _l("quota"),
                  "barred": _l("banned from the site"), "keep_apart": _l("keep-apart"),
                  "ineligible": _l("no suitable bed"), "duplicate": _l("already held by them"),
                  "already_held": _l("already held"), "already_placed": _l("already has a bed"),
                  "too_late": _l("too late")}


def label(table: dict[str, Any], code: str | None) -> str:
    """The code worded in the current language (an unknown code as itself, underscores
    as spaces)."""
    if code is None:
        return ""
    found = table.get(code)
    return str(found) if found is not None else str(code).replace("_", " ")
_TRAILING_ID = re.compile(r"(\d+)$")


def need_band(need: int | None) -> str:
    """Bands of 20 points; no assessment counts as need 0 (as the allocator treats it)."""
    return NEED_BANDS[min(int(need or 0), 100) // 20] if (need or 0) < 100 else NEED_BANDS[-1]


def age_band(birth_year: int | None, night: date) -> str:
    """18–23 is its own band because the need scheme gives young adults points."""
    if birth_year is None:
        return "unknown"
    age = night.year - birth_year
    if age < 18:
        return "under 18"
    if age <= 23:
        return "18–23"
    if age <= 39:
        return "24–39"
    if age <= 59:
        return "40–59"
    return "60+"


def person_id_of(key: str) -> int | None:
    """The database id inside an allocator person key ("17" or "p17")."""
    m = _TRAILING_ID.search(str(key))
    return int(m.group(1)) if m else None


def default_city() -> str:
    """The instance's city (setting CITY): reports open on it."""
    return instance_city()


def cities(session: Session) -> list[str]:
    return sorted(set(session.scalars(select(Site.city).distinct())))


# --- reading raw facts ------------------------------------------------------------------

def latest_confirmed_runs(session: Session, nights: Iterable[date]) -> dict[tuple[str, date], AllocationRun]:
    """The last confirmed run per (city, night): the one whose outcome stands."""
    nights = list(nights)
    runs = session.scalars(
        select(AllocationRun)
        .where(AllocationRun.night.in_(nights), AllocationRun.confirmed_at.is_not(None),
               AllocationRun.kind != "whatif")
        .order_by(AllocationRun.confirmed_at, AllocationRun.id)
    )
    return {(r.city, r.night): r for r in runs}


def first_come_result(run: AllocationRun) -> dict[str, Any]:
    """The run's recorded first-come comparison, or a replay of its input when missing.
    Raises allocator.InputError if a recorded input no longer validates."""
    if run.comparison_json:
        return run.comparison_json
    return replay(run.input_json, "first-come")


def replay(input_json: dict[str, Any], rule: str) -> dict[str, Any]:
    """Solve a recorded input again under `rule` (the allocation core decides, not us)."""
    from allocator import Night, solve

    return solve(Night.from_json(input_json), rule=rule, time_limit=10.0).to_json()


def whatif_counts(run: AllocationRun) -> dict[str, tuple[int, int, int]]:
    """need band -> (requests, placed under need, placed under first-come)."""
    need_of = {r["person"]: r.get("need", 0) for r in run.input_json.get("requests", [])}
    by_need = {a["person"] for a in run.result_json.get("assignments", [])}
    by_queue = {a["person"] for a in first_come_result(run).get("assignments", [])}
    out: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for person, need in need_of.items():
        c = out[need_band(need)]
        c[0] += 1
        c[1] += person in by_need
        c[2] += person in by_queue
    return {k: (v[0], v[1], v[2]) for k, v in out.items()}

