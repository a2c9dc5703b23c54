"""The allocator's input for one night, built from the database (allocation.md's contract).

Kept apart from services/allocation.py so the mapping DB -> input can be read and tested on
its own; `build_night` is re-exported there. Every list is loaded with a fixed number of
queries whatever the number of requests (no query per row).
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, datetime, time, timedelta
from typing import Any

from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session, joinedload

from shelter.models import (
    Assessment, Bed, Hold, HoldStatus, KeepApart, Placement, PlacementStatus, Request,
    RequestStatus, Restriction, Site,
)
from shelter.services.inventory import beds_in_service

# Placements that mean the person is in (or was given) the bed tonight: fixed for a re-run.
FIXED = (PlacementStatus.CONFIRMED, PlacementStatus.CHECKED_IN)
# Placements that end a person's evening: no-show or left. They are not allocated again.
ENDED = (PlacementStatus.NO_SHOW, PlacementStatus.RELEASED)
# Placements that count as "slept there" for continuity the next night.
SLEPT = (PlacementStatus.CONFIRMED, PlacementStatus.CHECKED_IN, PlacementStatus.RELEASED)
# How far back the count of consecutive turned-away nights looks.
TURNAWAY_LOOKBACK_DAYS = 60


@dataclass
class IdMaps:
    """How the input's string ids map back to database rows."""

    request_of_person: dict[str, int] = field(default_factory=dict)  # person key -> Request.id
    bed: dict[str, int] = field(default_factory=dict)  # bed key -> Bed.id
    site: dict[str, int] = field(default_factory=dict)  # site key (code) -> Site.id
    hold: dict[str, int] = field(default_factory=dict)  # hold key -> Hold.id
    fixed: dict[str, str] = field(default_factory=dict)  # person key -> bed key (confirmed)
    skipped_holds: list[str] = field(default_factory=list)  # why a hold was left out

    @staticmethod
    def person_key(person_id: int) -> str:
        return str(person_id)

    @staticmethod
    def bed_key(bed_id: int) -> str:
        return str(bed_id)


def fresh_assessment_since(night: date) -> datetime:
    """An assessment made since noon the day before the night counts for that night."""
    return datetime.combine(night - timedelta(days=1), time(12, 0))


def open_requests(session: Session, night: date, city: str) -> list[Request]:
    """Tonight's requests in `city` that are not withdrawn, person and assessment loaded
    (one query). Another city's requests are never read: its night is its own."""
    return list(session.scalars(
        select(Request)
        .options(joinedload(Request.person), joinedload(Request.assessment))
        .where(Request.city == city, Request.night == night,
               Request.status != RequestStatus.WITHDRAWN)
        .order_by(Request.arrival, Request.id)
    ).unique())


def latest_assessments(session: Session, night: date, person_ids: Any) -> dict[int, Assessment]:
    """The newest fresh assessment per person (for requests registered before assessing).
    `person_ids` is a subquery, so one query however many people ask."""
    rows = session.scalars(
        select(Assessment)
        .where(Assessment.person_id.in_(person_ids),
               Assessment.assessed_at >= fresh_assessment_since(night))
        .order_by(Assessment.assessed_at)
    )
    return {a.person_id: a for a in rows}  # later rows overwrite earlier ones


def need_of(request: Request, fallback: dict[int, Assessment]) -> Assessment | None:
    """The assessment that gives this request its need: its own, else a fresh one."""
    return request.assessment or fallback.get(request.person_id)


def _streaks(session: Session, night: date, asking: Any) -> dict[int, int]:
    """Consecutive nights each person was turned away, counting back from last night."""
    since = night - timedelta(days=TURNAWAY_LOOKBACK_DAYS)
    nights: dict[int, set[date]] = {}
    for person_id, past in session.execute(
        select(Request.person_id, Request.night).where(
            Request.person_id.in_(asking), Request.night >= since, Request.night < night,
            Request.status == RequestStatus.TURNED_AWAY)
    ):
        nights.setdefault(person_id, set()).add(past)
    out: dict[int, int] = {}
    for person_id, seen in nights.items():
        n, day = 0, night - timedelta(days=1)
        while day in seen:
            n, day = n + 1, day - timedelta(days=1)
        out[person_id] = n
    return out


def _active_on(model: Any, night: date) -> Any:
    """Bans and keep-apart pairs are time-limited: in force on `night` and not ended."""
    return and_(model.starts_on <= night,
                or_(model.ends_on.is_(None), model.ends_on >= night),
                model.ended_at.is_(None))


def build_night(session: Session, night: date, city: str) -> tuple[dict[str, Any], IdMaps]:
    """The allocator input dict for `night` in `city` and the id maps back to the database.

    Person keys are person ids, bed keys bed ids, site keys site codes, hold keys hold ids
    (all as strings). People whose placement tonight ended (no-show, released) or whose
    confirmed bed went out of service are left out; confirmed and checked-in people are in
    `maps.fixed` so a re-run never moves them. Holds that can no longer be honoured (bed out
    of service, or the held person no longer eligible) are left out and listed in
    `maps.skipped_holds`. Raises nothing: a consistent database gives valid input.
    """
    from shelter.services.overrides import eligibility_problems  # one rule set, one place

    maps = IdMaps()
    beds = beds_in_service(session, night, city)
    bed_keys = {b.id: IdMaps.bed_key(b.id) for b in beds}
    sites: dict[int, Site] = {}
    for bed in beds:
        sites.setdefault(bed.room.site_id, bed.room.site)
    for site in sites.values():
        maps.site[site.code] = site.id
    for bed in beds:
        maps.bed[bed_keys[bed.id]] = bed.id

    requests = open_requests(session, night, city)
    asking = select(Request.person_id).where(
        Request.city == city, Request.night == night,
        Request.status != RequestStatus.WITHDRAWN).scalar_subquery()
    unassessed = select(Request.person_id).where(
        Request.city == city, Request.night == night, Request.status != RequestStatus.WITHDRAWN,
        Request.assessment_id.is_(None)).scalar_subquery()
    fallback = latest_assessments(session, night, unassessed)
    tonight_placements = list(session.scalars(
        select(Placement).where(Placement.night == night, Placement.person_id.in_(asking))))
    ended = {p.person_id for p in tonight_placements if p.status in ENDED}
    fixed_bed = {p.person_id: p.bed_id for p in tonight_placements if p.status in FIXED}
    last_bed = dict(session.execute(
        select(Placement.person_id, Placement.bed_id).where(
            Placement.night == night - timedelta(days=1), Placement.person_id.in_(asking),
            Placement.status.in_(SLEPT))).all())
    streaks = _streaks(session, night, asking)

    out_requests: list[dict[str, Any]] = []
    for req in requests:
        person = req.person
        if person.id in ended or (person.id in fixed_bed and fixed_bed[person.id] not in bed_keys):
            continue
        key = IdMaps.person_key(person.id)
        assessment = need_of(req, fallback)
        item: dict[str, Any] = {
            "person": key, "gender": person.gender.value,
            "need": assessment.need if assessment else 0, "arrival": req.arrival,
        }
        age = person.age_on(night.year)
        if age is not None and age >= 0:
            item["age"] = age
        needs = sorted(set(req.needs or []) | set(person.needs or []))
        if needs:
            item["needs"] = needs
        if req.preferred_site_id in sites:
            item["preferred_sites"] = [sites[req.preferred_site_id].code]
        if last_bed.get(person.id) in bed_keys:
            item["last_bed"] = bed_keys[last_bed[person.id]]
        if streaks.get(person.id):
            item["nights_turned_away"] = streaks[person.id]
        out_requests.append(item)
        maps.request_of_person[key] = req.id
        if person.id in fixed_bed:
            maps.fixed[key] = bed_keys[fixed_bed[person.id]]

    site_by_code = {s.code: s for s in sites.values()}
    data: dict[str, Any] = {
        "night": night.isoformat(),
        "sites": [_site_json(s) for s in sites.values()],
        "beds": [_bed_json(b, bed_keys[b.id]) for b in beds],
        "requests": out_requests,
    }
    data["barred"] = _barred(session, night, asking, maps, site_by_code)
    data["keep_apart"] = _keep_apart(session, night, maps)
    data["holds"] = _holds(session, night, data, maps, eligibility_problems)
    return data, maps


def _site_json(site: Site) -> dict[str, Any]:
    item: dict[str, Any] = {"id": site.code, "name": site.name}
    if site.min_age is not None:
        item["min_age"] = site.min_age
    if site.max_age is not None:
        item["max_age"] = site.max_age
    return item


def _bed_json(bed: Bed, key: str) -> dict[str, Any]:
    item: dict[str, Any] = {"id": key, "site": bed.room.site.code, "gender": bed.room.gender.value}
    if bed.features:
        item["features"] = sorted(set(bed.features))
    return item


def _barred(session: Session, night: date, asking: Any, maps: IdMaps,
            site_by_code: dict[str, Site]) -> list[dict[str, Any]]:
    """Active bans of people asking tonight; a ban with no site bars every site tonight."""
    out: list[dict[str, Any]] = []
    seen: set[tuple[str, str]] = set()
    for ban in session.scalars(select(Restriction).where(
            Restriction.person_id.in_(asking), _active_on(Restriction, night))):
        key = IdMaps.person_key(ban.person_id)
        if key not in maps.request_of_person:
            continue
        codes = list(site_by_code) if ban.site_id is None else [
            c for c, s in site_by_code.items() if s.id == ban.site_id]
        for code in codes:
            if (key, code) not in seen:
                seen.add((key, code))
                out.append({"person": key, "site": code})
    return out


def _keep_apart(session: Session, night: date, maps: IdMaps) -> list[list[str]]:
    """Active keep-apart pairs where both people ask tonight (others are not in play)."""
    out: list[list[str]] = []
    for pair in session.scalars(select(KeepApart).where(_active_on(KeepApart, night))):
        a, b = IdMaps.person_key(pair.person_a_id), IdMaps.person_key(pair.person_b_id)
        if a in maps.request_of_person and b in maps.request_of_person:
            out.append([a, b])
    return out


def _holds(session: Session, night: date, data: dict[str, Any], maps: IdMaps,
           eligibility_problems: Any) -> list[dict[str, Any]]:
    """Active pre-bookings of people asking tonight and not yet fixed in a bed.

    A hold honoured by a confirmed placement is already in `fixed`; a hold whose bed left
    service or whose person is no longer eligible there (a ban since) cannot be honoured
    and is skipped with a note rather than making the whole night unsolvable."""
    requests = {r["person"]: r for r in data["requests"]}
    beds = {b["id"]: b for b in data["beds"]}
    sites = {s["id"]: s for s in data["sites"]}
    out: list[dict[str, Any]] = []
    holds = session.scalars(select(Hold).options(joinedload(Hold.organisation), joinedload(Hold.site))
                            .where(Hold.night == night, Hold.status == HoldStatus.HELD)
                            .order_by(Hold.created_at, Hold.id))
    for hold in holds:
        person = IdMaps.person_key(hold.person_id)
        if person not in requests or person in maps.fixed:
            continue
        key = str(hold.id)
        item: dict[str, Any] = {"id": key, "person": person,
                                "organisation": hold.organisation.name}
        bed_key = IdMaps.bed_key(hold.bed_id)
        # A held bed is never given to anyone else: the hold names its own bed. Only when
        # that bed has left service (or no longer fits) may a site hold take another bed
        # at its site.
        ok = bed_key in beds and not eligibility_problems(data, requests[person],
                                                          beds[bed_key], sites)
        if ok:
            item["bed"] = bed_key
        elif hold.site_only:
            site = hold.site.code
            ok = any(b["site"] == site and not eligibility_problems(data, requests[person], b, sites)
                     for b in data["beds"])
            item["site"] = site
        if not ok:
            maps.skipped_holds.append(f"Hold {key} ({hold.organisation.name}) can no longer be "
                                      f"honoured: no eligible bed in service.")
            continue
        maps.hold[key] = hold.id
        out.append(item)
    return out
