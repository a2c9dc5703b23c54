"""Staff changing a proposed placement by hand, and the hard rules such a change must keep.

The rules are checked on the same input the allocator sees (`build_night`), so a hand
change and the solver agree on what is eligible (allocation.md, "Eligibility" and "Hard
constraints"). A refused change names every rule it would break.
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session

from shelter.models import (
    AllocationRun, Bed, Hold, Override, Person, Placement, PlacementStatus, Request,
    RequestStatus, User,
)
from shelter.i18n import _
from shelter.services import audit, rules
from shelter.words import word
from shelter.services.inventory import lock_sites
from shelter.services.night_input import IdMaps, build_night

class OverrideRefused(Exception):
    """A hand change was refused; `problems` lists each rule it breaks, `field` the form field."""

    def __init__(self, problems: list[str], field: str = "bed") -> None:
        super().__init__("; ".join(problems))
        self.problems = problems
        self.field = field


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
        raise OverrideRefused([_("Give a reason for the change.")], field="reason")
    if run.confirmed_at is not None:
        raise OverrideRefused([_("This proposal is already confirmed; run the allocation "
                                 "again to change tonight's beds.")], field="person")
    lock_sites(session, city=run.city)  # no pre-booking may take the bed meanwhile
    data, maps = build_night(session, night, run.city)
    key = IdMaps.person_key(change.person_id)
    requests = {r["person"]: r for r in data["requests"]}
    if key not in requests:
        raise OverrideRefused([_("This person has no open request tonight.")], field="person")
    current = session.scalar(select(Placement).where(
        Placement.night == night, Placement.person_id == change.person_id,
        Placement.is_active))
    if current is not None and current.status != PlacementStatus.PROPOSED:
        raise OverrideRefused([_("Person already placed: the placement is %(status)s; release "
                                 "the bed first.", status=word(current.status))],
                              field="person")
    from_bed = current.bed_id if current else None
    if change.to_bed_id is None:
        if current is None:
            raise OverrideRefused([_("The person has no proposed bed to take away.")],
                                  field="bed")
        session.delete(current)
    else:
        check_bed_allowed(session, night, run.city, change.person_id, change.to_bed_id)
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
    audit.record(session, user, "override", [change.person_id], f"run {run.id}: bed {from_bed} -> {change.to_bed_id}: {reason}")
    return override


def check_bed_allowed(session: Session, night: date, city: str, person_id: int,
                      bed_id: int) -> None:
    """Raise OverrideRefused naming every hard rule that having the person in `bed_id`
    tonight breaks: the rule book's rules (with the person's bans, exclusion orders and
    keep-apart partners as they stand now), then the bed being taken or held by someone
    else. Used by hand changes of a proposal and by changes after confirmation."""
    bed = session.get(Bed, bed_id)
    if bed is None or bed.room.site.city != city or not bed.in_service_on(night):
        raise OverrideRefused([_("This bed is not in service tonight.")])
    person = session.get(Person, person_id)
    if person is None:
        raise OverrideRefused([_("No such person.")], field="person")
    needs = session.scalar(select(Request.needs).where(
        Request.person_id == person_id, Request.night == night,
        Request.status != RequestStatus.WITHDRAWN)) or ()
    problems = rules.sentences(rules.bed_allowed_reasons(session, person, bed, night, needs))
    # A bed holds at most one person.
    if session.scalar(select(Placement.person_id).where(
            Placement.night == night, Placement.bed_id == bed_id, Placement.is_active,
            Placement.person_id != person_id)) is not None:
        problems.append(_("Bed already taken: someone else has this bed tonight."))
    hold = session.scalar(select(Hold).where(Hold.night == night, Hold.bed_id == bed_id,
                                             Hold.is_active))
    if hold is not None and hold.person_id != person_id:
        problems.append(_("Bed held: this bed is pre-booked for someone else tonight."))
    if problems:
        raise OverrideRefused(problems)


def _own_hold(session: Session, person_id: int, night: date, bed_id: int) -> int | None:
    """The person's active hold when the new bed honours it (same bed or the held site)."""
    hold = session.scalar(select(Hold).where(Hold.night == night, Hold.person_id == person_id,
                                             Hold.is_active))
    if hold is None:
        return None
    bed = session.get(Bed, bed_id)
    if bed is not None and (hold.bed_id == bed_id or (hold.site_only and bed.room.site_id == hold.site_id)):
        return hold.id
    return None
