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
    Assessment, Bed, GenderRule, Hold, KeepApart, Person, Placement, PlacementStatus, Request,
    RequestStatus, Room, Site,
)
from allocator.rulebook import default_wishes
from shelter.services import rules

# Placements that mean the person is in (or was given) the bed tonight: fixed for a re-run.
FIXED = (PlacementStatus.CONFIRMED, PlacementStatus.CHECKED_IN)
# Placements that end a person's evening: no-show or left. They are not allocated again.
ENDED = (PlacementStatus.NO_SHOW, PlacementStatus.RELEASED)
# Placements that count as "slept there" for continuity the next night: confirmed or checked
# in, or released after a check-in (left during the night). A bed released before the
# person arrived (cancelled, freed) was not slept in.
SLEPT = (PlacementStatus.CONFIRMED, PlacementStatus.CHECKED_IN)


def slept_there() -> Any:
    """SQL: the placement's person slept in its bed (see SLEPT)."""
    return or_(Placement.status.in_(SLEPT), and_(Placement.status == PlacementStatus.RELEASED,
                                                 Placement.checked_in_at.is_not(None)))
# How far back the count of consecutive turned-away nights looks.
TURNAWAY_LOOKBACK_DAYS = 60


OUT_OF_SERVICE = ("out_of_service",)  # a conflict code: the held bed left service


@dataclass(frozen=True)
class Conflict:
    """Something already decided tonight (a confirmed placement or a partner's hold) that the
    rule book no longer allows, e.g. a ban or keep-apart pair recorded after it. The run sets
    it aside (the person and the bed are left out of the core's input) instead of failing,
    and the proposal page lists it for staff to resolve."""

    person: str  # person key
    kind: str  # "placement" or "hold"
    codes: tuple[str, ...]  # rule-book reason codes, or "out_of_service"
    bed_id: int | None = None
    site: str = ""
    hold_id: int | None = None

    def to_json(self) -> dict[str, Any]:
        return {"person": self.person, "kind": self.kind, "codes": list(self.codes),
                "bed_id": self.bed_id, "site": self.site, "hold_id": self.hold_id}


@dataclass
class IdMaps:
    """How the input's string ids map back to database rows."""

    request_of_person: dict[str, int] = field(default_factory=dict)  # person key -> Request.id
    bed: dict[str, int] = field(default_factory=dict)  # bed key -> Bed.id
    site: dict[str, int] = field(default_factory=dict)  # site key (code) -> Site.id
    hold: dict[str, int] = field(default_factory=dict)  # hold key -> Hold.id
    fixed: dict[str, str] = field(default_factory=dict)  # person key -> bed key (confirmed)
    conflicts: list[Conflict] = field(default_factory=list)  # set aside for staff to resolve

    @staticmethod
    def person_key(person_id: int) -> str:
        return str(person_id)

    @staticmethod
    def bed_key(bed_id: int) -> str:
        return str(bed_id)


def fresh_assessment_since(night: date) -> datetime:
    """An assessment made since noon the day before the night counts for that night."""
    return datetime.combine(night - timedelta(days=1), time(12, 0))


def open_requests(session: Session, night: date, city: str) -> list[Any]:
    """Tonight's requests in `city` that are not withdrawn, in arrival order, as plain rows
    (one query, no ORM objects: 7,800 of them at Toronto size) with what the allocator's
    input needs of the person and of the request's own assessment (`own_need` is None when
    the request has none). Another city's requests are never read: its night is its own."""
    return list(session.execute(
        select(Request.id, Request.person_id, Request.arrival, Request.needs,
               Request.preferred_site_id, Request.assessment_id, Assessment.need.label("own_need"),
               Person.gender, Person.birth_year, Person.needs.label("person_needs"))
        .join(Person, Person.id == Request.person_id)
        .outerjoin(Assessment, Assessment.id == Request.assessment_id)
        .where(Request.city == city, Request.night == night,
               Request.status != RequestStatus.WITHDRAWN)
        .order_by(Request.arrival, Request.id)
    ))


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


def need_of(request: Any, fallback: dict[int, Assessment]) -> int:
    """The need of a request (a row of open_requests): its own assessment's, else a fresh
    one's, else 0."""
    if request.assessment_id is not None:
        return int(request.own_need)
    assessment = fallback.get(request.person_id)
    return assessment.need if assessment else 0


def _streaks(session: Session, night: date, asking: set[int]) -> dict[int, int]:
    """Consecutive nights each person asking (`asking`: person ids) was turned away,
    counting back from last night. The turn-aways of the look-back window are read by night
    and status (an index) and kept for the people asking: asking the database for each
    person's history instead reads every night of theirs (700,000 rows at Toronto size)."""
    since = night - timedelta(days=TURNAWAY_LOOKBACK_DAYS)
    nights: dict[int, set[date]] = {}
    for person_id, past in session.execute(
        select(Request.person_id, Request.night).where(
            Request.night >= since, Request.night < night,
            Request.status == RequestStatus.TURNED_AWAY)
    ):
        if person_id in asking:
            nights.setdefault(person_id, set()).add(past)
    out: dict[int, int] = {}
    for person_id, seen in nights.items():
        n, day = 0, night - timedelta(days=1)
        while day in seen:
            n, day = n + 1, day - timedelta(days=1)
        out[person_id] = n
    return out


def build_night(session: Session, night: date, city: str) -> tuple[dict[str, Any], IdMaps]:
    """The allocator input dict for `night` in `city` and the id maps back to the database.

    Person keys are person ids, bed keys bed ids, site keys site codes, hold keys hold ids
    (all as strings). People whose placement tonight ended (no-show, released) or whose
    confirmed bed went out of service are left out; confirmed and checked-in people are in
    `maps.fixed` so a re-run never moves them. Holds that can no longer be honoured (bed out
    of service, or no longer allowed by the rule book) and confirmed placements the rule book
    no longer allows are set aside with their person and bed and listed in `maps.conflicts`
    (see Conflict). Raises nothing: the core always gets valid input.
    """
    maps = IdMaps()
    beds = beds_in_service_rows(session, night, city)
    bed_keys = {b.id: IdMaps.bed_key(b.id) for b in beds}
    site_ids = list(dict.fromkeys(b.site_id for b in beds))  # in the beds' order
    by_id = {s.id: s for s in session.scalars(select(Site).where(Site.id.in_(site_ids)))}
    sites: dict[int, Site] = {sid: by_id[sid] for sid in site_ids}
    for site in sites.values():
        maps.site[site.code] = site.id
    for bed in beds:
        maps.bed[bed_keys[bed.id]] = bed.id

    women_only_sites = {sites[b.site_id].code for b in beds if b.gender is GenderRule.WOMEN}
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
            slept_there())).all())
    streaks = _streaks(session, night, {req.person_id for req in requests})

    out_requests: list[dict[str, Any]] = []
    for req in requests:
        person_id = req.person_id
        if person_id in ended or (person_id in fixed_bed and fixed_bed[person_id] not in bed_keys):
            continue
        key = IdMaps.person_key(person_id)
        item: dict[str, Any] = {
            "person": key, "gender": req.gender.value,
            "need": need_of(req, fallback), "arrival": req.arrival,
        }
        age = Person.age_on(req, night.year)  # type: ignore[arg-type]
        if age is not None and age >= 0:
            item["age"] = age
        needs = sorted(set(req.needs or []) | set(req.person_needs or []))
        if needs:
            item["needs"] = needs
        if req.preferred_site_id in sites:
            item["preferred_sites"] = [sites[req.preferred_site_id].code]
        elif wishes := default_wishes(item["gender"], women_only_sites):
            item["preferred_sites"] = list(wishes)
        if last_bed.get(person_id) in bed_keys:
            item["last_bed"] = bed_keys[last_bed[person_id]]
        if streaks.get(person_id):
            item["nights_turned_away"] = streaks[person_id]
        out_requests.append(item)
        maps.request_of_person[key] = req.id
        if person_id in fixed_bed:
            maps.fixed[key] = bed_keys[fixed_bed[person_id]]

    data: dict[str, Any] = {
        "night": night.isoformat(),
        "sites": [_site_json(s) for s in sites.values()],
        "beds": [_bed_json(b, bed_keys[b.id], sites[b.site_id].code) for b in beds],
        "requests": out_requests,
    }
    data["barred"] = _barred(session, night, asking, maps, sites)
    data["keep_apart"] = _keep_apart(session, night, maps)
    _check_fixed(data, maps)
    data["holds"] = _holds(session, night, data, maps)
    _set_aside(data, maps)
    return data, maps


def _site_json(site: Site) -> dict[str, Any]:
    item: dict[str, Any] = {"id": site.code, "name": site.name}
    if site.min_age is not None:
        item["min_age"] = site.min_age
    if site.max_age is not None:
        item["max_age"] = site.max_age
    return item


def _bed_json(bed: Any, key: str, site_code: str) -> dict[str, Any]:
    item: dict[str, Any] = {"id": key, "site": site_code, "gender": bed.gender.value}
    if bed.features:
        item["features"] = sorted(set(bed.features))
    return item


def beds_in_service_rows(session: Session, night: date, city: str) -> list[Any]:
    """The beds of `inventory.beds_in_service` (same filter, same order) as plain rows with
    what the allocator's input needs: id, features, the room's gender rule, the site id."""
    return list(session.execute(
        select(Bed.id, Bed.features, Room.gender, Room.site_id)
        .join(Room, Bed.room_id == Room.id).join(Site, Room.site_id == Site.id)
        .where(Bed.in_service_on(night), Site.city == city)
        .order_by(Site.id, Room.id, Bed.id)))


def _barred(session: Session, night: date, asking: Any, maps: IdMaps,
            sites: dict[int, Site]) -> list[dict[str, Any]]:
    """Who is barred from which of tonight's sites (site bans, bans from every site and
    exclusion orders from an area: the rule book's rules.barred_sites decides)."""
    out: list[dict[str, Any]] = []
    for person_id, site_ids in rules.barred_sites(session, asking, night, sites.values()).items():
        key = IdMaps.person_key(person_id)
        if key not in maps.request_of_person:
            continue
        out.extend({"person": key, "site": sites[s].code} for s in sorted(site_ids) if s in sites)
    return out


def _keep_apart(session: Session, night: date, maps: IdMaps) -> list[list[str]]:
    """Active keep-apart pairs where both people ask tonight (others are not in play)."""
    out: list[list[str]] = []
    for pair in session.scalars(select(KeepApart).where(rules.keep_apart_in_force(night))):
        a, b = IdMaps.person_key(pair.person_a_id), IdMaps.person_key(pair.person_b_id)
        if a in maps.request_of_person and b in maps.request_of_person:
            out.append([a, b])
    return out


def _check_fixed(data: dict[str, Any], maps: IdMaps) -> None:
    """Confirmed and checked-in people the rule book no longer allows in their bed (barred
    since, or a keep-apart partner confirmed at the same site: the later one) become
    conflicts; they are taken out of `maps.fixed` and set aside with their bed."""
    requests = {r["person"]: r for r in data["requests"]}
    beds = {b["id"]: b for b in data["beds"]}
    sites = {s["id"]: s for s in data["sites"]}
    barred = {(b["person"], b["site"]) for b in data.get("barred", [])}
    partners: dict[str, set[str]] = {}
    for a, b in data.get("keep_apart", []):
        partners.setdefault(a, set()).add(b)
        partners.setdefault(b, set()).add(a)
    kept: dict[str, str] = {}  # person -> site, in order
    for person, bed_key in list(maps.fixed.items()):
        bed = beds[bed_key]
        here = bed["site"]
        found = rules.reasons_for_input(
            requests[person], bed, sites.get(here), barred=(person, here) in barred,
            partner_at_site=any(kept.get(q) == here for q in partners.get(person, ())))
        if found:
            del maps.fixed[person]
            maps.conflicts.append(Conflict(person=person, kind="placement", bed_id=maps.bed[bed_key],
                                           site=here, codes=tuple(r.code for r in found)))
        else:
            kept[person] = here


def _set_aside(data: dict[str, Any], maps: IdMaps) -> None:
    """Leave the people and beds of rule-book conflicts out of the core's input: nobody else
    gets their bed (it is still confirmed or held for them) and they are not placed again
    until staff resolve the conflict. A hold whose bed left service is only reported: its
    person is allocated like anyone else."""
    ruled = [c for c in maps.conflicts if c.codes != OUT_OF_SERVICE]
    people = {c.person for c in ruled}
    beds = {IdMaps.bed_key(c.bed_id) for c in ruled if c.bed_id is not None}
    if not people:
        return
    data["requests"] = [r for r in data["requests"] if r["person"] not in people]
    data["beds"] = [b for b in data["beds"] if b["id"] not in beds]
    data["barred"] = [b for b in data["barred"] if b["person"] not in people]
    data["keep_apart"] = [p for p in data["keep_apart"] if not people & set(p)]
    live = {b["id"] for b in data["beds"]}
    data["holds"] = [h for h in data["holds"] if h.get("bed") is None or h["bed"] in live]
    for person in people:
        maps.request_of_person.pop(person, None)
        maps.fixed.pop(person, None)


def _holds(session: Session, night: date, data: dict[str, Any],
           maps: IdMaps) -> list[dict[str, Any]]:
    """Active pre-bookings of people asking tonight and not yet fixed in a bed.

    A hold honoured by a confirmed placement is already in `fixed`. A hold whose bed left
    service or that the rule book no longer allows (a ban or exclusion order since, a
    keep-apart partner recorded since at the same site) is not given to the core as a hold;
    it is listed in `maps.conflicts` for staff to resolve, and the person is allocated like
    anyone else meanwhile, so the run never fails."""
    requests = {r["person"]: r for r in data["requests"]}
    beds = {b["id"]: b for b in data["beds"]}
    sites = {s["id"]: s for s in data["sites"]}
    barred = {(b["person"], b["site"]) for b in data.get("barred", [])}
    partners: dict[str, set[str]] = {}
    for a, b in data.get("keep_apart", []):
        partners.setdefault(a, set()).add(b)
        partners.setdefault(b, set()).add(a)
    site_of_fixed = {p: beds[b]["site"] for p, b in maps.fixed.items() if b in beds}

    def reasons(person: str, bed: dict[str, Any], held_site: dict[str, str]) -> tuple[Any, ...]:
        here = bed["site"]
        partner_here = any(site_of_fixed.get(q) == here or held_site.get(q) == here
                           for q in partners.get(person, ()))
        return rules.reasons_for_input(requests[person], bed, sites.get(here),
                                       barred=(person, here) in barred,
                                       partner_at_site=partner_here)

    out: list[dict[str, Any]] = []
    held_site: dict[str, str] = {}  # person -> site of a hold already accepted (in order)
    holds = session.scalars(select(Hold).options(joinedload(Hold.organisation), joinedload(Hold.site))
                            .where(Hold.night == night, Hold.is_active)
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
        # that bed has left service may a site hold take another bed at its site.
        found: tuple[Any, ...] = ()
        if bed_key in beds:
            found = reasons(person, beds[bed_key], held_site)
            ok = not found
            item["bed"] = bed_key
        else:
            site = hold.site.code
            ok = hold.site_only and any(b["site"] == site and not reasons(person, b, held_site)
                                        for b in data["beds"])
            item["site"] = site
        if not ok:
            maps.conflicts.append(Conflict(
                person=person, kind="hold", hold_id=hold.id, bed_id=hold.bed_id,
                site=hold.site.code, codes=tuple(r.code for r in found) or OUT_OF_SERVICE))
            continue
        held_site[person] = hold.site.code if "bed" not in item else beds[bed_key]["site"]
        maps.hold[key] = hold.id
        out.append(item)
    return out
