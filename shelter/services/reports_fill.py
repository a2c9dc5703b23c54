"""Counting nights into the report tables: count each night's facts once, read them often.

Reports over 90 nights of a city of ~10,000 requests a night must render in under a
second, so `refresh_stats` counts nights into the small tables of
`shelter.models.reporting` and the reports read those. `ensure_stats` fills nights that
were never counted and always recounts the two most recent nights (late check-ins and
no-shows still change them); `flask refresh-report-stats` recounts any range by hand.

Counting is done in SQL (GROUP BY over the whole batch of nights), not row by row in
Python, so the Toronto import (690,000 requests) counts its 90 nights in seconds.

Each request counts in its own city (`Request.city`, set where it was registered). A ban or
keep-apart pair that names no site counts in the city of the person's request that night,
else in the instance's city (setting CITY).

Race safety: a night is *claimed* by inserting its `ReportNight` rows (unique per city and
night) in a savepoint before anything else is written. Two requests filling the same
never-counted night at once on PostgreSQL: the second one's insert waits for the first to
commit, fails on the unique key, its savepoint is rolled back and it skips the night (the
first one's counts stand). SQLite serialises writers at BEGIN IMMEDIATE, so the second one
already sees the night counted."""
from __future__ import annotations

from collections import Counter
from collections.abc import Iterable
from datetime import date, timedelta
from typing import Any

from sqlalchemy import case, delete, extract, func, insert, literal, select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shelter.models import (
    Assessment, Bed, Hold, KeepApart, Person, Placement, Request,
    Restriction, Room, Site,
)
from shelter.models.reporting import (
    ReportNight, ReportRequestGroup, ReportSiteNight, ReportTurnaway, ReportWhatIf,
)
from shelter.services.reports_stats import (
    AGE_BANDS, NEED_BANDS, OCCUPIED, cities, default_city, latest_confirmed_runs, whatif_counts,
)


def ensure_stats(session: Session, city: str, start: date, end: date, today: date) -> int:
    """Count the nights of the range that were never counted, and recount the nights from
    yesterday on (they still change). One query when everything is counted. Returns how
    many nights this call counted."""
    have = set(session.scalars(select(ReportNight.night).where(
        ReportNight.city == city, ReportNight.night >= start, ReportNight.night <= end)))
    todo = []
    night = start
    while night <= end:
        if night not in have or night >= today - timedelta(days=1):
            todo.append(night)
        night += timedelta(days=1)
    return refresh_stats(session, todo) if todo else 0


def refresh_stats(session: Session, nights: Iterable[date]) -> int:
    """Recount the given nights for every city (replacing their rows). Flushes only.
    Returns the number of nights this call counted (a night another transaction is
    counting at the same moment is left to it, see the module docstring)."""
    all_cities = cities(session)
    claimed = [n for n in sorted(set(nights)) if _claim_night(session, n, all_cities)]
    if not claimed:
        return 0
    for model in (ReportSiteNight, ReportRequestGroup, ReportWhatIf, ReportTurnaway):
        session.execute(delete(model).where(model.night.in_(claimed)))
    for night in claimed:
        _count_beds(session, night)
    _count_requests(session, claimed)
    _count_whatif(session, claimed)
    return len(claimed)


# --- claiming a night (with its safety counts) -------------------------------------------

def _claim_night(session: Session, night: date, all_cities: list[str]) -> bool:
    """Replace the night's ReportNight rows (bans and keep-apart pairs in force, per city);
    False when another transaction counted the night meanwhile (unique key on city, night)."""
    fallback = default_city()
    site_city = dict(session.execute(select(Site.id, Site.city)).all())
    bans_rows = session.execute(
        select(Restriction.person_id, Restriction.site_id).where(
            Restriction.in_force_on(night))).all()
    pair_rows = session.execute(
        select(KeepApart.person_a_id, KeepApart.person_b_id).where(
            KeepApart.in_force_on(night))).all()
    people = {p for p, s in bans_rows if site_city.get(s) is None} | {x for r in pair_rows for x in r}
    city_of_person = _cities_of(session, night, people)
    bans: Counter[str] = Counter()
    for person_id, site_id in bans_rows:
        bans[site_city.get(site_id) or city_of_person.get(person_id, fallback)] += 1
    pairs: Counter[str] = Counter()
    for a, b in pair_rows:
        pairs[city_of_person.get(a) or city_of_person.get(b) or fallback] += 1
    rows = [{"city": c, "night": night, "bans_active": bans[c], "keep_apart_active": pairs[c]}
            for c in sorted(set(all_cities) | set(bans) | set(pairs) | {fallback})]
    session.execute(delete(ReportNight).where(ReportNight.night == night))
    try:
        with session.begin_nested():
            session.execute(insert(ReportNight), rows)
    except IntegrityError:
        return False
    return True


def _cities_of(session: Session, night: date, people: set[int]) -> dict[int, str]:
    """City of each person's request that night (for safety records that name no site)."""
    if not people:
        return {}
    return dict(session.execute(select(Request.person_id, Request.city).where(
        Request.night == night, Request.person_id.in_(people))).all())


# --- beds per site ----------------------------------------------------------------------

def _in_service(night: date) -> tuple[Any, ...]:
    """Filters on Bed/Room/Site: in service that night (as services.inventory)."""
    return (Bed.in_service_on(night),)


def _count_beds(session: Session, night: date) -> None:
    """Beds in service per site, how many are occupied (confirmed/checked in) and held
    (active hold on a bed nobody sleeps in); three GROUP BYs, no per-bed work."""
    women = case((Room.gender == "women", literal(1)), else_=0)
    where = _in_service(night)
    rows = {sid: {"city": c, "night": night, "site_id": sid, "in_service": n, "occupied": 0,
                  "held": 0, "women_in_service": int(w or 0), "women_occupied": 0}
            for c, sid, n, w in session.execute(
                select(Site.city, Site.id, func.count(Bed.id), func.sum(women))
                .join(Room, Room.id == Bed.room_id).join(Site, Site.id == Room.site_id)
                .where(*where).group_by(Site.city, Site.id))}
    sleeping = select(Placement.bed_id).where(Placement.night == night,
                                              Placement.status.in_(OCCUPIED))
    for sid, n, w in session.execute(
            select(Site.id, func.count(Placement.id), func.sum(women))
            .join(Bed, Bed.id == Placement.bed_id).join(Room, Room.id == Bed.room_id)
            .join(Site, Site.id == Room.site_id)
            .where(Placement.night == night, Placement.status.in_(OCCUPIED), *where)
            .group_by(Site.id)):
        if sid in rows:
            rows[sid]["occupied"], rows[sid]["women_occupied"] = n, int(w or 0)
    for sid, n in session.execute(
            select(Site.id, func.count(Hold.bed_id.distinct()))
            .join(Bed, Bed.id == Hold.bed_id).join(Room, Room.id == Bed.room_id)
            .join(Site, Site.id == Room.site_id)
            .where(Hold.night == night, Hold.is_active,
                   Hold.bed_id.not_in(sleeping), *where)
            .group_by(Site.id)):
        if sid in rows:
            rows[sid]["held"] = n
    if rows:
        session.execute(insert(ReportSiteNight), list(rows.values()))


# --- requests by group, and who was turned away -----------------------------------------

def _band_exprs():  # type: ignore[no-untyped-def]
    need = func.coalesce(Assessment.need, 0)
    need_b = case(*[(need < 20 * (i + 1), NEED_BANDS[i]) for i in range(4)], else_=NEED_BANDS[4])
    age = extract("year", Request.night) - Person.birth_year
    age_b = case((Person.birth_year.is_(None), AGE_BANDS[5]), (age < 18, AGE_BANDS[0]),
                 (age <= 23, AGE_BANDS[1]), (age <= 39, AGE_BANDS[2]),
                 (age <= 59, AGE_BANDS[3]), else_=AGE_BANDS[4])
    outcome = case((Request.status == "placed", "placed"),
                   (Request.status == "turned_away", "turned_away"), else_="waiting")
    reason = case((Request.status == "turned_away",
                   func.coalesce(Request.turnaway_reason, "capacity")), else_="")
    return need_b, age_b, outcome, reason


def _count_requests(session: Session, nights: list[date]) -> None:
    """ReportRequestGroup and ReportTurnaway rows for the nights: one GROUP BY in SQL, each
    request counted in its own city (Request.city)."""
    need_b, age_b, outcome, reason = _band_exprs()
    base_where = (Request.night.in_(nights), Request.status != "withdrawn")
    keys = (Request.night, Request.city, Person.gender, age_b, need_b, outcome, reason)
    grouped = (select(*keys, func.count()).select_from(Request)
               .join(Person, Person.id == Request.person_id)
               .outerjoin(Assessment, Assessment.id == Request.assessment_id)
               .where(*base_where).group_by(*keys))
    groups: Counter[tuple[Any, ...]] = Counter()
    for row in session.execute(grouped):
        night, c, gender, age, need, out, why, n = row
        groups[(c, night, str(getattr(gender, "value", gender)), age, need, out, why)] += n
    away = {(c, night, pid) for night, c, pid in session.execute(
        select(Request.night, Request.city, Request.person_id).where(
            *base_where, Request.status == "turned_away"))}
    if groups:
        session.execute(insert(ReportRequestGroup), [
            {"city": k[0], "night": k[1], "gender": k[2], "age_band": k[3], "need_band": k[4],
             "outcome": k[5], "reason": k[6] or "", "count": n} for k, n in groups.items()])
    if away:
        session.execute(insert(ReportTurnaway), [
            {"city": c, "night": night, "day": night.toordinal(), "person_id": pid}
            for c, night, pid in sorted(away, key=lambda k: (k[0], k[1], k[2]))])


# --- what-if -----------------------------------------------------------------------------

def _count_whatif(session: Session, nights: list[date]) -> None:
    """The confirmed run's need result beside its first-come comparison, per need band."""
    rows = []
    for (city, night), run in latest_confirmed_runs(session, nights).items():
        for band, counts in whatif_counts(run).items():
            rows.append({"city": city, "night": night, "run_id": run.id, "need_band": band,
                         "requests": counts[0], "placed_need": counts[1],
                         "placed_first_come": counts[2]})
    if rows:
        session.execute(insert(ReportWhatIf), rows)
