"""Staff changing a proposed placement by hand, and the hard rules such a change must keep.

The rules are checked on the same input the allocator sees (`build_night`), so a hand
change and the solver agree on what is eligible (allocation.md, "Eligibility" and "Hard
constraints"). A refused change names every rule it would break.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shelter.models import (
    AllocationRun, AuditEvent, Bed, Hold, HoldStatus, Override, Placement, PlacementStatus, User, utcnow,
)
from shelter.models.bookings import ACTIVE_PLACEMENT
from shelter.services.inventory import lock_sites
from shelter.services.night_input import IdMaps, build_night

WOMEN_BEDS_ADMIT = ("woman",)  # allocation.md's default policy
MEN_BEDS_ADMIT = ("man",)
GENDER_WORDS = {"women": "women only", "men": "men only"}


class OverrideRefused(Exception):
    """A hand change was refused; `problems` lists each rule it breaks, `field` the form field."""

    def __init__(self, problems: list[str], field: str = "bed") -> None:
        super().__init__("; ".join(problems))
        self.problems = problems
        self.field = field


def eligibility_problems(data: dict[str, Any], request: dict[str, Any], bed: dict[str, Any],
                         sites: dict[str, dict[str, Any]]) -> list[str]:
    """Which of the four eligibility rules bed `bed` breaks for `request` (input dicts)."""
    problems: list[str] = []
    gender = request["gender"]
    # Gender rule: women-only beds admit women only; men-only beds admit men only.
    if (bed["gender"] == "women" and gender not in WOMEN_BEDS_ADMIT) or (
            bed["gender"] == "men" and gender not in MEN_BEDS_ADMIT):
        problems.append(f"Gender rule: this bed is for {GENDER_WORDS[bed['gender']]}.")
    # Bed features: every feature the person needs must be on the bed.
    missing = sorted(set(request.get("needs", [])) - set(bed.get("features", [])))
    if missing:
        problems.append(f"Bed features: the person needs {', '.join(missing)}, "
                        f"which this bed does not have.")
    # Ban: a person barred from a site gets no bed there tonight.
    if any(b["person"] == request["person"] and b["site"] == bed["site"]
           for b in data.get("barred", [])):
        problems.append("Ban: the person is barred from this site tonight.")
    # Age limit: age-limited sites admit only people of known age inside the limits.
    site = sites.get(bed["site"], {})
    low, high = site.get("min_age"), site.get("max_age")
    if low is not None or high is not None:
        age = request.get("age")
        if age is None:
            problems.append("Age limit: this site has an age limit and the person's age "
                            "is not recorded.")
        elif (low is not None and age < low) or (high is not None and age > high):
            problems.append(f"Age limit: this site admits ages {low or 0}–{high or 'any'}; "
                            f"the person is {age}.")
    return problems


def audit(session: Session, user: User | None, action: str, person_ids: list[int | None],
          detail: str) -> None:
    """Audit rows for the acting user (None: the system, e.g. the scheduler), one bulk insert.
    Works outside a request too, unlike the logged-in-user helper."""
    if not person_ids:
        return
    now = utcnow()
    session.execute(AuditEvent.__table__.insert(), [
        {"user_id": getattr(user, "id", None), "username": getattr(user, "username", "system"),
         "role": str(getattr(user, "role", "system")),
         "organisation_id": getattr(user, "organisation_id", None),
         "person_id": pid, "action": action, "detail": detail, "at": now}
        for pid in person_ids])


@dataclass
class Change:
    run: AllocationRun
    person_id: int
    to_bed_id: int | None  # None: unplace (the person is turned away)
    reason: str


def override_placement(session: Session, change: Change, user: User | None) -> Override:
    """Apply one hand change to the proposal of `change.run`, after checking every hard rule.

    Moves a proposed placement to another bed, places a person without a bed in a free bed,
    or unplaces a proposed placement. Raises OverrideRefused naming each broken rule: no
    reason given, the run already confirmed or superseded, the person not asking tonight or
    already confirmed, gender rule, bed features, ban, age limit, keep-apart partner at
    that site, bed not in service, bed already taken or held for someone else."""
    run, night = change.run, change.run.night
    reason = change.reason.strip()
    if not reason:
        raise OverrideRefused(["Give a reason for the change."], field="reason")
    if run.confirmed_at is not None:
        raise OverrideRefused(["This proposal is already confirmed; run the allocation again "
                               "to change tonight's beds."], field="person")
    lock_sites(session, city=run.city)  # no pre-booking may take the bed meanwhile
    data, maps = build_night(session, night, run.city)
    key = IdMaps.person_key(change.person_id)
    requests = {r["person"]: r for r in data["requests"]}
    if key not in requests:
        raise OverrideRefused(["This person has no open request tonight."], field="person")
    current = session.scalar(select(Placement).where(
        Placement.night == night, Placement.person_id == change.person_id,
        Placement.status.in_(ACTIVE_PLACEMENT)))
    if current is not None and current.status != PlacementStatus.PROPOSED:
        raise OverrideRefused([f"Person already placed: the placement is {current.status.value}; "
                               f"release the bed first."], field="person")
    from_bed = current.bed_id if current else None
    if change.to_bed_id is None:
        if current is None:
            raise OverrideRefused(["The person has no proposed bed to take away."], field="bed")
        session.delete(current)
    else:
        _check_bed(session, data, requests[key], change.to_bed_id, change.person_id, night)
        if current is None:
            current = Placement(person_id=change.person_id, night=night,
                                request_id=maps.request_of_person[key], run_id=run.id,
                                created_by_id=getattr(user, "id", None))
            session.add(current)
        current.bed_id = change.to_bed_id
        current.status = PlacementStatus.PROPOSED
        current.hold_id = _own_hold(session, change.person_id, night, change.to_bed_id)
    override = Override(run_id=run.id, person_id=change.person_id, night=night,
                        from_bed_id=from_bed, to_bed_id=change.to_bed_id, reason=reason,
                        user_id=getattr(user, "id", None))
    session.add(override)
    session.flush()
    audit(session, user, "override", [change.person_id],
          f"run {run.id}: bed {from_bed} -> {change.to_bed_id}: {reason}")
    return override


def check_bed_allowed(session: Session, night: date, city: str, person_id: int,
                      bed_id: int) -> None:
    """Raise OverrideRefused naming every hard rule that having the person in `bed_id`
    tonight breaks (for changes after confirmation: moving or reinstating a placement).
    The person must be in tonight's allocation input (an open request, not ended)."""
    data, _ = build_night(session, night, city)
    key = IdMaps.person_key(person_id)
    request = next((r for r in data["requests"] if r["person"] == key), None)
    if request is None:
        raise OverrideRefused(["This person has no open request tonight."], field="person")
    _check_bed(session, data, request, bed_id, person_id, night)


def _check_bed(session: Session, data: dict[str, Any], request: dict[str, Any], bed_id: int,
               person_id: int, night: date) -> None:
    """Raise OverrideRefused listing every hard rule that placing the person in `bed_id` breaks."""
    beds = {b["id"]: b for b in data["beds"]}
    bed = beds.get(IdMaps.bed_key(bed_id))
    if bed is None:
        raise OverrideRefused(["This bed is not in service tonight."])
    sites = {s["id"]: s for s in data["sites"]}
    problems = eligibility_problems(data, request, bed, sites)
    placed = {p.person_id: p for p in session.scalars(
        select(Placement).where(Placement.night == night, Placement.status.in_(ACTIVE_PLACEMENT)))}
    # Keep-apart: the two people are never placed at the same site on one night.
    partners = {a if b == request["person"] else b for a, b in data.get("keep_apart", [])
                if request["person"] in (a, b)}
    site_of_bed = {int(k): v["site"] for k, v in beds.items()}
    if any(site_of_bed.get(placed[int(p)].bed_id) == bed["site"] for p in partners
           if int(p) in placed):
        problems.append("Keep-apart: someone this person must be kept apart from is placed "
                        "at this site tonight.")
    # A bed holds at most one person.
    if any(p.bed_id == bed_id and pid != person_id for pid, p in placed.items()):
        problems.append("Bed already taken: someone else has this bed tonight.")
    hold = session.scalar(select(Hold).where(Hold.night == night, Hold.bed_id == bed_id,
                                             Hold.status == HoldStatus.HELD))
    if hold is not None and hold.person_id != person_id:
        problems.append("Bed held: this bed is pre-booked for someone else tonight.")
    if problems:
        raise OverrideRefused(problems)


def _own_hold(session: Session, person_id: int, night: date, bed_id: int) -> int | None:
    """The person's active hold when the new bed honours it (same bed or the held site)."""
    hold = session.scalar(select(Hold).where(Hold.night == night, Hold.person_id == person_id,
                                             Hold.status == HoldStatus.HELD))
    if hold is None:
        return None
    bed = session.get(Bed, bed_id)
    if bed is not None and (hold.bed_id == bed_id or (hold.site_only and bed.room.site_id == hold.site_id)):
        return hold.id
    return None
