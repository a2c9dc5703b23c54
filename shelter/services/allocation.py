"""Tonight's allocation: run the core on the database's night, confirm it, and the bed's
life after that (check-in, no-show, release).

Services flush, never commit. Every run, confirmation and change of a placement is audited.
"""
from __future__ import annotations

import time as clock
from datetime import date, datetime
from typing import Any

from flask import current_app, has_app_context
from sqlalchemy import delete, insert, or_, select
from sqlalchemy.orm import Session, joinedload

from allocator import InputError, Night, solve
from shelter.clock import local_on
from shelter.i18n import _, hm
from shelter.models import (
    AllocationRun, Bed, Hold, HoldStatus, Placement, PlacementStatus, Request,
    RequestStatus, Room, Site, User, utcnow,
)
from shelter.services import notifications, rules
from shelter.services.inventory import lock_sites
from shelter.services.night_input import IdMaps, build_night
from shelter.services import audit
from shelter.services.overrides import Change, OverrideRefused, override_placement
from shelter.services.placement_log import record_change, snapshot
from shelter.words import word

__all__ = [
    "AllocationError", "Change", "active_placement_stmt", "IdMaps", "OverrideRefused", "build_night", "check_in",
    "confirm_run", "cutoff_utc", "latest_run", "mark_no_show", "mark_no_shows",
    "override_placement", "placement_cutoff", "release", "run_allocation",
]

# A turned-away request that staff took the bed from by hand (not a solver reason).
STAFF_REASON = "staff"
# Its English text, stored like the solver's explanations (reasons.py words it per reader).
STAFF_EXPLANATION = "Staff changed the proposal by hand and gave the bed to someone else."


class AllocationError(Exception):
    """The allocation cannot be run or changed as asked; the message says why."""


class CheckInBarred(AllocationError):
    """The rule book no longer allows this person in this bed (a ban, an exclusion order or
    a keep-apart partner recorded since the placement was made): check-in needs a reason.
    `problems` lists the rule-book sentences."""

    def __init__(self, problems: list[str]) -> None:
        super().__init__(" ".join(problems))
        self.problems = problems


def _config(key: str, default: Any) -> Any:
    return current_app.config.get(key, default) if has_app_context() else default


def latest_run(session: Session, night: date, city: str) -> AllocationRun | None:
    return session.scalar(select(AllocationRun).where(
        AllocationRun.night == night, AllocationRun.city == city, AllocationRun.kind != "whatif")
        .order_by(AllocationRun.created_at.desc(), AllocationRun.id.desc()).limit(1))


def active_placement_stmt(night: date, person_id: int) -> Any:
    """The person's active placement tonight (proposed, confirmed or checked in), if any."""
    return select(Placement).where(Placement.night == night, Placement.person_id == person_id,
                                   Placement.is_active)


def run_allocation(session: Session, night: date, *, city: str, user: User | None,
                   kind: str | None = "proposal", rule: str = "need",
                   time_limit: float | None = None, allow_empty: bool = True) -> AllocationRun:
    """Run the core on tonight's data and store the proposal.

    Confirmed and checked-in people are fixed (late arrivals never move them). Earlier
    *proposed* placements of the night are replaced by the new ones; the first-come result
    of the same night is stored beside for comparison. `kind` None picks "late" when the
    night already has a confirmed run, else "proposal". An empty night gives an empty run
    (the scheduler may run before anyone asks) unless `allow_empty` is false. Raises
    AllocationError for an empty night when not allowed, or when the database holds a night
    the core refuses (the message names the item).
    """
    started = clock.perf_counter()
    if kind is None:  # staff pressing the button: after a confirmation it places late arrivals
        previous = latest_run(session, night, city)
        kind = "late" if previous is not None and previous.confirmed_at is not None else "proposal"
    lock_sites(session, city=city)  # no pre-booking may take a bed while we place
    data, maps = build_night(session, night, city)
    if not data["requests"] and not allow_empty:
        raise AllocationError(_("Nobody is asking for a bed on this night yet."))
    limit = time_limit or float(_config("SOLVER_TIME_LIMIT", 10.0))
    try:
        problem = Night.from_json(data)
        result = solve(problem, rule=rule, time_limit=limit, fixed=maps.fixed)
        comparison = result if rule == "first-come" else solve(
            problem, rule="first-come", time_limit=limit, fixed=maps.fixed)
    except InputError as exc:
        raise AllocationError(_("The night cannot be allocated: %(problem)s", problem=str(exc))) \
            from exc
    result_json = result.to_json(params=True)
    result_json["fixed"] = dict(maps.fixed)
    result_json["conflicts"] = [c.to_json() for c in maps.conflicts]
    run = AllocationRun(night=night, city=city, rule=rule, kind=kind,
                        created_by_id=getattr(user, "id", None),
                        solver_status=result.status.value, solve_seconds=result.solve_seconds,
                        input_json=data, result_json=result_json,
                        comparison_json=comparison.to_json(params=True))
    session.add(run)
    _drop_proposals(session, night, maps)
    session.flush()
    now = utcnow()
    # One bulk insert (7,500 placements at Toronto size): nothing after this reads the new
    # placements as objects; the audit row names the run.
    rows = [dict(person_id=int(a.person), bed_id=maps.bed[a.bed], night=night,
                 status=PlacementStatus.PROPOSED, request_id=maps.request_of_person[a.person],
                 run_id=run.id, hold_id=maps.hold.get(a.hold) if a.hold else None,
                 created_by_id=getattr(user, "id", None), created_at=now)
            for a in result.assignments if a.person not in maps.fixed]
    if rows:
        session.execute(insert(Placement), rows)
    run.total_seconds = clock.perf_counter() - started
    session.flush()
    audit.record(session, user, "allocate", [None], f"run {run.id} ({kind}, {rule}) for {night}: "
          f"{len(result.assignments)} placed, {len(result.turned_away)} turned away")
    return run


def _drop_proposals(session: Session, night: date, maps: IdMaps) -> None:
    """A new run replaces every unconfirmed proposal on this city's beds tonight, and any
    proposal of a person in this run (even on a bed that has left service since). `maps`
    holds this city's beds and people only, so another city's proposals stay untouched."""
    people = [int(p) for p in maps.request_of_person]
    session.execute(delete(Placement).where(
        Placement.night == night, Placement.status == PlacementStatus.PROPOSED,
        or_(Placement.bed_id.in_(list(maps.bed.values())), Placement.person_id.in_(people)))
        .execution_options(synchronize_session=False))
    session.expire_all()


def confirm_run(session: Session, run: AllocationRun, user: User | None) -> dict[str, int]:
    """Make the proposal real: proposed -> confirmed; requests -> placed / turned_away.

    Only the newest run of the night can be confirmed, once. Requests that arrived after the
    run stay waiting. Raises AllocationError otherwise. Returns counts for the flash message.
    """
    if run.confirmed_at is not None:
        raise AllocationError(_("This proposal is already confirmed."))
    newest = latest_run(session, run.night, run.city)
    if newest is None or newest.id != run.id:
        raise AllocationError(_("A newer allocation exists; confirm that one instead."))
    people = {int(r["person"]) for r in run.input_json["requests"]}
    reasons = {int(t["person"]): t for t in run.result_json["turned_away"]}
    placements = {p.person_id: p for p in session.scalars(select(Placement).where(
        Placement.night == run.night, Placement.is_active))}
    requests = list(session.scalars(select(Request).where(
        Request.city == run.city, Request.night == run.night,
        Request.status != RequestStatus.WITHDRAWN)))
    now, placed, turned = utcnow(), [], []
    for req in requests:
        if req.person_id not in people:
            continue  # arrived after this run: stays waiting for the next one
        placement = placements.get(req.person_id)
        if placement is not None:
            if placement.status == PlacementStatus.PROPOSED:
                placement.status = PlacementStatus.CONFIRMED
                placed.append(req.person_id)
            req.status = RequestStatus.PLACED
            req.turnaway_reason = req.turnaway_explanation = req.turnaway_params = None
        elif req.status != RequestStatus.PLACED:
            why = reasons.get(req.person_id)
            req.status = RequestStatus.TURNED_AWAY
            req.turnaway_reason = why["reason"] if why else STAFF_REASON
            req.turnaway_explanation = why.get("explanation", "") if why else STAFF_EXPLANATION
            # the facts the sentence is worded from in each reader's language (reasons.py)
            req.turnaway_params = dict(why.get("params") or {}) if why else {}
            turned.append(req.person_id)
            if req.hold_id is not None:  # a partner's booking: the partner is told
                notifications.notify_hold_id(session, req.hold_id, "request.turned_away")
    run.confirmed_at, run.confirmed_by_id = now, getattr(user, "id", None)
    session.flush()
    audit.record(session, user, "place", placed, f"run {run.id} confirmed")
    audit.record(session, user, "turn_away", turned, f"run {run.id} confirmed")
    return {"placed": len(placed), "turned_away": len(turned)}


def check_in(session: Session, placement: Placement, user: User | None,
             reason: str = "") -> Placement:
    """The person has arrived: confirmed -> checked_in. A hold behind it becomes claimed.
    Raises AllocationError unless the placement is confirmed, and CheckInBarred when the
    rule book no longer allows the bed and no `reason` is given (the reason is audited)."""
    if placement.status != PlacementStatus.CONFIRMED:
        raise AllocationError(_("Only a confirmed placement can be checked in (this one is "
                                "%(status)s).", status=word(placement.status)))
    problems = rules.sentences(rules.bed_allowed_reasons(
        session, placement.person, placement.bed, placement.night,
        placement.request.needs if placement.request else ()))
    if problems and not reason.strip():
        raise CheckInBarred(problems)
    now = utcnow()
    hold = session.get(Hold, placement.hold_id) if placement.hold_id else session.scalar(
        select(Hold).where(Hold.night == placement.night, Hold.person_id == placement.person_id,
                           Hold.is_active))
    if hold is not None and not hold.is_active:
        hold = None
    before = snapshot(placement, hold)
    placement.status, placement.checked_in_at = PlacementStatus.CHECKED_IN, now
    if hold is not None:
        # A pre-booking is claimed when its person checks in (partners see this).
        hold.status, hold.ended_at = HoldStatus.CLAIMED, now
        placement.hold_id = hold.id
        notifications.notify_hold(session, hold, "hold.claimed")
    record_change(session, placement, "check_in", before, user, hold=hold, now=now)
    session.flush()
    audit.record(session, user, "check_in", [placement.person_id], f"placement {placement.id}, bed {placement.bed_id}"
          + (f"; despite: {' '.join(problems)} Reason: {reason.strip()}" if problems else ""))
    return placement


def cutoff_utc(site: Site, night: date) -> datetime:
    """The site's check-in cut-off (Site.checkin_cutoff, local time) for `night`, naive UTC:
    after it a confirmed person who has not arrived is a no-show."""
    return local_on(night, site.checkin_cutoff)


def placement_cutoff(placement: Placement) -> datetime:
    """The check-in cut-off of the placement's site on its night, naive UTC."""
    return cutoff_utc(placement.bed.room.site, placement.night)


def mark_no_show(session: Session, placement: Placement, user: User | None,
                 now: datetime | None = None) -> Placement:
    """The person never came: confirmed -> no_show after the site's cut-off; the bed is free
    for the next run. Raises AllocationError before the cut-off or for another status."""
    now = now or utcnow()
    if placement.status != PlacementStatus.CONFIRMED:
        raise AllocationError(_("Only a confirmed placement that is not checked in can be a "
                                "no-show."))
    site = placement.bed.room.site
    cutoff = cutoff_utc(site, placement.night)
    if now < cutoff:
        raise AllocationError(_("Check-in at %(site)s is open until %(time)s; no-show only "
                                "after that.", site=site.name, time=hm(site.checkin_cutoff)))
    before = snapshot(placement)
    placement.status, placement.ended_at = PlacementStatus.NO_SHOW, now
    record_change(session, placement, "no_show", before, user, now=now)
    session.flush()
    audit.record(session, user, "no_show", [placement.person_id], f"placement {placement.id}, bed {placement.bed_id}")
    return placement


def mark_no_shows(session: Session, night: date, now: datetime | None = None,
                  user: User | None = None) -> list[Placement]:
    """Every confirmed placement of `night` past its site's cut-off becomes a no-show
    (called by the scheduler). Returns the placements changed."""
    now = now or utcnow()
    pending = session.scalars(select(Placement).join(Placement.bed).join(Bed.room).join(Room.site)
                              .options(joinedload(Placement.bed).joinedload(Bed.room)
                                       .joinedload(Room.site))
                              .where(Placement.night == night,
                                     Placement.status == PlacementStatus.CONFIRMED))
    changed = [p for p in pending if now >= cutoff_utc(p.bed.room.site, night)]
    for p in changed:
        before = snapshot(p)
        p.status, p.ended_at = PlacementStatus.NO_SHOW, now
        record_change(session, p, "no_show", before, user, now=now)
    session.flush()
    audit.record(session, user, "no_show", [p.person_id for p in changed], f"night {night}")
    return changed


def release(session: Session, placement: Placement, user: User | None,
            reason: str = "") -> Placement:
    """The person left (or their pre-booking was cancelled): an active placement ends and
    the bed is free again for the next run. A pre-booking still held behind a confirmed
    placement is released with it (the held bed must not stay blocked). Raises
    AllocationError for an ended placement."""
    if not placement.is_active:
        raise AllocationError(_("This placement has already ended."))
    now = utcnow()
    proposed = placement.status == PlacementStatus.PROPOSED
    hold = session.get(Hold, placement.hold_id) if placement.hold_id and not proposed else None
    if hold is not None and not hold.is_active:
        hold = None
    before = snapshot(placement, hold)
    placement.status, placement.ended_at = PlacementStatus.RELEASED, now
    if hold is not None:
        hold.status, hold.ended_at = HoldStatus.RELEASED, now
        notifications.notify_hold(session, hold, "hold.released")
    if not proposed:  # a proposal is replaced by the next run, not undone
        record_change(session, placement, "release", before, user, reason, hold=hold, now=now)
    session.flush()
    audit.record(session, user, "release", [placement.person_id], f"placement {placement.id}, bed {placement.bed_id}" + (f": {reason}" if reason else ""))
    return placement
