"""Per-night report aggregates: count each night's facts once, read them many times.

Reports over 90 nights of a city of ~10,000 requests a night must render in under a
second, so `refresh_stats` counts a night into the small tables of
`shelter.models.reporting` and the reports read those. `ensure_stats` fills nights that
were never counted and always recounts the two most recent nights (late check-ins and
no-shows still change them); `flask refresh-report-stats` recounts any range by hand.

A request has no city of its own; it belongs to the city of the site where it was placed,
else of its preferred site, else of its hold's site, else of the confirmed allocation run
that night that listed the person, else the default city (app config DEFAULT_CITY)."""
from __future__ import annotations

import re
from collections import Counter, defaultdict
from collections.abc import Iterable
from datetime import date, timedelta
from typing import Any

from flask import current_app, has_app_context
from sqlalchemy import delete, insert, or_, select
from sqlalchemy.orm import Session, aliased

from shelter.models import (
    AllocationRun, Assessment, Bed, BedOutage, Hold, HoldStatus, KeepApart, Person, Placement,
    Request, Restriction, Room, Site,
)
from shelter.models.reporting import ReportNight, ReportRequestGroup, ReportSiteNight, ReportWhatIf

NEED_BANDS = ("0–19", "20–39", "40–59", "60–79", "80–100")
AGE_BANDS = ("under 18", "18–23", "24–39", "40–59", "60+", "unknown")
GENDERS = ("woman", "man", "nonbinary", "unknown")
REASONS = ("capacity", "no_eligible_bed", "keep_apart")
OCCUPIED = ("confirmed", "checked_in")  # a bed someone sleeps in (proposed is not yet)
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
    return str(current_app.config.get("DEFAULT_CITY", "Bergen")) if has_app_context() else "Bergen"


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


def request_rows(session: Session, start: date, end: date, *,
                 statuses: tuple[str, ...] | None = None) -> list[dict[str, Any]]:
    """Requests of the nights `start`..`end` (withdrawn left out) with person facts, need
    and city resolved (see the module docstring). A handful of queries for any size."""
    pref, hold_site = aliased(Site), aliased(Site)
    stmt = (
        select(Request.id, Request.person_id, Request.night, Request.status,
               Request.turnaway_reason, Person.gender, Person.birth_year, Assessment.need,
               pref.city.label("pref_city"), hold_site.city.label("hold_city"))
        .join(Person, Person.id == Request.person_id)
        .outerjoin(Assessment, Assessment.id == Request.assessment_id)
        .outerjoin(pref, pref.id == Request.preferred_site_id)
        .outerjoin(Hold, Hold.id == Request.hold_id)
        .outerjoin(hold_site, hold_site.id == Hold.site_id)
        .where(Request.night >= start, Request.night <= end, Request.status != "withdrawn")
    )
    if statuses:
        stmt = stmt.where(Request.status.in_(statuses))
    rows = [dict(r._mapping) for r in session.execute(stmt)]
    if not rows:
        return rows
    placed_city = {} if statuses and "placed" not in statuses else {
        (pid, night): city for pid, night, city in session.execute(
            select(Placement.person_id, Placement.night, Site.city)
            .join(Bed, Bed.id == Placement.bed_id).join(Room, Room.id == Bed.room_id)
            .join(Site, Site.id == Room.site_id)
            .where(Placement.night >= start, Placement.night <= end)
        )
    }
    run_city: dict[tuple[int, date], str] = {}
    if any(not (r["pref_city"] or r["hold_city"]) for r in rows):
        nights = sorted({r["night"] for r in rows})
        for (city, night), run in latest_confirmed_runs(session, nights).items():
            for req in run.input_json.get("requests", []):
                pid = person_id_of(req.get("person", ""))
                if pid is not None:
                    run_city[(pid, night)] = city
    fallback = default_city()
    for r in rows:
        key = (r["person_id"], r["night"])
        r["city"] = (placed_city.get(key) or r["pref_city"] or r["hold_city"]
                     or run_city.get(key) or fallback)
        r["status"] = str(getattr(r["status"], "value", r["status"]))
        r["gender"] = str(getattr(r["gender"], "value", r["gender"]))
    return rows


def _beds_in_service(session: Session, night: date) -> list[tuple[int, int, str, str]]:
    """(bed id, site id, city, room gender) of beds in service: same rule as
    services.inventory.beds_in_service, as plain rows (no ORM objects) for speed."""
    out = select(BedOutage.bed_id).where(
        BedOutage.starts_on <= night, or_(BedOutage.ends_on.is_(None), BedOutage.ends_on >= night))
    stmt = (
        select(Bed.id, Site.id, Site.city, Room.gender)
        .join(Room, Room.id == Bed.room_id).join(Site, Site.id == Room.site_id)
        .where(Site.active.is_(True), Bed.valid_from <= night,
               or_(Bed.valid_until.is_(None), Bed.valid_until >= night),
               Room.valid_from <= night, or_(Room.valid_until.is_(None), Room.valid_until >= night),
               Bed.id.not_in(out))
    )
    return [(b, s, c, str(getattr(g, "value", g))) for b, s, c, g in session.execute(stmt)]


# --- counting one night -----------------------------------------------------------------

def refresh_stats(session: Session, nights: Iterable[date]) -> int:
    """Recount the given nights for every city (replacing their rows). Flushes only.
    Returns the number of nights counted."""
    nights = sorted(set(nights))
    all_cities = cities(session)
    for night in nights:
        _refresh_night(session, night, all_cities)
    return len(nights)


def _refresh_night(session: Session, night: date, all_cities: list[str]) -> None:
    for model in (ReportNight, ReportSiteNight, ReportRequestGroup, ReportWhatIf):
        session.execute(delete(model).where(model.night == night))

    # Occupancy per site: beds in service, occupied (confirmed/checked in), held (active hold).
    beds = _beds_in_service(session, night)
    occupied = set(session.scalars(select(Placement.bed_id).where(
        Placement.night == night, Placement.status.in_(OCCUPIED))))
    held = set(session.scalars(select(Hold.bed_id).where(
        Hold.night == night, Hold.status == HoldStatus.HELD)))
    sites: dict[int, dict[str, Any]] = {}
    for bed_id, site_id, city, gender in beds:
        row = sites.setdefault(site_id, {"city": city, "night": night, "site_id": site_id,
                                         "in_service": 0, "occupied": 0, "held": 0,
                                         "women_in_service": 0, "women_occupied": 0})
        row["in_service"] += 1
        women = gender == "women"
        row["women_in_service"] += women
        if bed_id in occupied:
            row["occupied"] += 1
            row["women_occupied"] += women
        elif bed_id in held:
            row["held"] += 1
    if sites:
        session.execute(insert(ReportSiteNight), list(sites.values()))

    # Requests by outcome, reason, gender, age band and need band.
    requests = request_rows(session, night, night)
    groups: Counter[tuple[str, ...]] = Counter()
    city_of_person: dict[int, str] = {}
    for r in requests:
        city_of_person[r["person_id"]] = r["city"]
        outcome = r["status"] if r["status"] in ("placed", "turned_away") else "waiting"
        reason = (r["turnaway_reason"] or "capacity") if outcome == "turned_away" else ""
        groups[(r["city"], r["gender"], age_band(r["birth_year"], night), need_band(r["need"]),
                outcome, reason)] += 1
    if groups:
        session.execute(insert(ReportRequestGroup), [
            {"city": k[0], "night": night, "gender": k[1], "age_band": k[2], "need_band": k[3],
             "outcome": k[4], "reason": k[5], "count": n} for k, n in groups.items()])

    # Safety records in force this night (counts only).
    fallback = default_city()
    site_city = dict(session.execute(select(Site.id, Site.city)).all())
    bans: Counter[str] = Counter()
    for person_id, site_id in session.execute(
            select(Restriction.person_id, Restriction.site_id).where(
                Restriction.starts_on <= night,
                or_(Restriction.ends_on.is_(None), Restriction.ends_on >= night),
                Restriction.ended_at.is_(None))):
        bans[site_city.get(site_id) or city_of_person.get(person_id, fallback)] += 1
    pairs: Counter[str] = Counter()
    for a, b in session.execute(
            select(KeepApart.person_a_id, KeepApart.person_b_id).where(
                KeepApart.starts_on <= night,
                or_(KeepApart.ends_on.is_(None), KeepApart.ends_on >= night),
                KeepApart.ended_at.is_(None))):
        pairs[city_of_person.get(a) or city_of_person.get(b) or fallback] += 1
    session.execute(insert(ReportNight), [
        {"city": c, "night": night, "bans_active": bans[c], "keep_apart_active": pairs[c]}
        for c in sorted(set(all_cities) | set(bans) | set(pairs) | {fallback})])

    # What-if: the confirmed run's need result beside its first-come comparison.
    rows = []
    for (city, _), run in latest_confirmed_runs(session, [night]).items():
        for band, counts in whatif_counts(run).items():
            rows.append({"city": city, "night": night, "run_id": run.id, "need_band": band,
                         "requests": counts[0], "placed_need": counts[1],
                         "placed_first_come": counts[2]})
    if rows:
        session.execute(insert(ReportWhatIf), rows)


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


def ensure_stats(session: Session, city: str, start: date, end: date, today: date) -> None:
    """Count the nights of the range that were never counted, and recount the nights from
    yesterday on (they still change). One query when everything is counted."""
    have = set(session.scalars(select(ReportNight.night).where(
        ReportNight.city == city, ReportNight.night >= start, ReportNight.night <= end)))
    todo = []
    night = start
    while night <= end:
        if night not in have or night >= today - timedelta(days=1):
            todo.append(night)
        night += timedelta(days=1)
    if todo:
        refresh_stats(session, todo)
