"""Confirmed but not yet arrived: staff cancel a placement (the person phoned), move it to
another allowed bed, or release it before the check-in cut-off, each with a reason; and the
last change to a placement (check-in, no-show, release, cancel, move) can be undone while
its night is still tonight.

Undo is one service, `undo_last`: it reverses the newest change of the placement that is not
undone yet, so pressing it again walks back further (release, then check-in). It restores
the rows exactly as they were (a hold that check-in claimed is held again) and refuses with
a sentence when that would break a rule: the bed has been given to someone else since, the
person has another bed, a ban or keep-apart pair now forbids the bed (the same hard-rule
check hand changes use, `overrides.check_bed_allowed`).

Services flush, never commit; every change is audited and recorded (placement_log).
"""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shelter.models import (
    Bed, Hold, HoldStatus, Person, Placement, PlacementChange, PlacementStatus, Request,
    RequestStatus, User, utcnow,
)
from shelter.models.bookings import ACTIVE_PLACEMENT
from shelter.services.allocation import AllocationError, placement_cutoff, release
from shelter.services.inventory import lock_sites
from shelter.services import audit, notifications
from shelter.services.overrides import OverrideRefused, check_bed_allowed
from shelter.clock import tonight
from shelter.i18n import _, _l, day, hm
from shelter.words import word
from shelter.services.placement_log import last_change, record_change, restore, snapshot

# How each change is named in the audit trail and the API of this module (stable English).
ACTION_WORDS = {"check_in": "check-in", "no_show": "no-show", "release": "release",
                "cancel": "cancellation", "move": "move"}

# What staff read about each change, one whole sentence per change (bokmål words the change
# differently in each: "Angre innsjekkingen", "Innsjekkingen kan ikke angres").
UNDO_BUTTONS = {"check_in": _l("Undo check-in"), "no_show": _l("Undo no-show"),
                "release": _l("Undo release"), "cancel": _l("Undo cancellation"),
                "move": _l("Undo move")}
CANNOT_UNDO = {"check_in": _l("The check-in cannot be undone"),
               "no_show": _l("The no-show cannot be undone"),
               "release": _l("The release cannot be undone"),
               "cancel": _l("The cancellation cannot be undone"),
               "move": _l("The move cannot be undone")}
#: Flashed after an undo: %(name)s, %(status)s (proposed, placed, checked in), %(bed)s.
UNDONE = {"check_in": _l("Undid the check-in of %(name)s: %(status)s in %(bed)s again."),
          "no_show": _l("Undid the no-show of %(name)s: %(status)s in %(bed)s again."),
          "release": _l("Undid the release of %(name)s: %(status)s in %(bed)s again."),
          "cancel": _l("Undid the cancellation of %(name)s: %(status)s in %(bed)s again."),
          "move": _l("Undid the move of %(name)s: %(status)s in %(bed)s again.")}


def bed_label(bed: Bed) -> str:
    return f"{bed.room.site.name} · {bed.room.name} · {bed.label}"


def _reason(reason: str | None) -> str:
    text = (reason or "").strip()
    if not text:
        raise AllocationError(_("Give a reason: it is kept with the change."))
    return text


def _unarrived(placement: Placement, now: datetime, verb: str) -> None:
    """Only a confirmed placement whose person has not arrived, before the site's cut-off.
    `verb`: "cancelled", "released" or "moved" (the sentence is chosen per verb)."""
    if placement.status != PlacementStatus.CONFIRMED:
        status = word(placement.status)
        refused = {
            "cancelled": _("Only a confirmed placement whose person has not arrived can be "
                           "cancelled (this one is %(status)s).", status=status),
            "released": _("Only a confirmed placement whose person has not arrived can be "
                          "released (this one is %(status)s).", status=status),
            "moved": _("Only a confirmed placement whose person has not arrived can be "
                       "moved (this one is %(status)s).", status=status)}
        raise AllocationError(refused[verb])
    if now >= placement_cutoff(placement):
        site = placement.bed.room.site
        raise AllocationError(_("Check-in at %(site)s closed at %(time)s; record a no-show "
                                "instead.", site=site.name, time=hm(site.checkin_cutoff)))


def _held_hold(session: Session, placement: Placement) -> Hold | None:
    """The pre-booking behind the placement, if it is still held."""
    hold = session.get(Hold, placement.hold_id) if placement.hold_id else None
    return hold if hold is not None and hold.status == HoldStatus.HELD else None


def cancel_placement(session: Session, placement: Placement, user: User | None, reason: str,
                     now: datetime | None = None) -> Placement:
    """The person phoned: they do not need the bed tonight. The confirmed placement ends
    (released), their request is withdrawn and a pre-booking behind it is cancelled; the
    bed is free for the next run. Raises AllocationError without a reason, for a placement
    that is not confirmed, or after the site's check-in cut-off."""
    now = now or utcnow()
    reason = _reason(reason)
    _unarrived(placement, now, "cancelled")
    hold = _held_hold(session, placement)
    request = session.get(Request, placement.request_id) if placement.request_id else None
    before = snapshot(placement, hold, request)
    placement.status, placement.ended_at = PlacementStatus.RELEASED, now
    if hold is not None:
        hold.status, hold.ended_at = HoldStatus.CANCELLED, now
        notifications.notify_hold(session, hold, "hold.cancelled")
    if request is not None:
        request.status = RequestStatus.WITHDRAWN
    record_change(session, placement, "cancel", before, user, reason, hold, request, now)
    session.flush()
    audit.record(session, user, "cancel_placement", [placement.person_id], f"placement {placement.id}, bed {placement.bed_id}: {reason}")
    return placement


def release_unarrived(session: Session, placement: Placement, user: User | None, reason: str,
                      now: datetime | None = None) -> Placement:
    """Free a confirmed bed before its person arrives (they will not come, staff need the
    bed): the person's evening ends and the bed goes to the next run. Raises AllocationError
    without a reason, for a placement that is not confirmed, or after the cut-off (then it
    is a no-show)."""
    now = now or utcnow()
    reason = _reason(reason)
    _unarrived(placement, now, "released")
    return release(session, placement, user, reason)


def move_placement(session: Session, placement: Placement, bed_id: int, user: User | None,
                   reason: str, now: datetime | None = None) -> Placement:
    """Move a confirmed placement to another bed the hard rules allow tonight. A site
    pre-booking behind it moves along inside its site; moved out of the held site, the
    pre-booking is released. Raises AllocationError for a missing reason, a placement that
    is not confirmed or past the cut-off, or the same bed; OverrideRefused naming each rule
    the new bed breaks (gender, features, ban, age, keep-apart, taken, held, not in service)."""
    now = now or utcnow()
    reason = _reason(reason)
    _unarrived(placement, now, "moved")
    if bed_id == placement.bed_id:
        raise AllocationError(_("The person is already in this bed."))
    city = placement.bed.room.site.city
    lock_sites(session, city=city)  # no pre-booking may take the bed meanwhile
    check_bed_allowed(session, placement.night, city, placement.person_id, bed_id)
    target = session.get(Bed, bed_id)
    assert target is not None  # check_bed_allowed refuses a bed not in service tonight
    hold = _held_hold(session, placement)
    before = snapshot(placement, hold)
    from_label = bed_label(placement.bed)
    placement.bed_id = bed_id
    if hold is not None:
        if hold.site_only and target.room.site_id == hold.site_id:
            hold.bed_id = bed_id
        else:
            hold.status, hold.ended_at = HoldStatus.RELEASED, now
            placement.hold_id = None
    record_change(session, placement, "move", before, user, reason, hold, now=now)
    session.flush()
    session.refresh(placement)
    audit.record(session, user, "move_placement", [placement.person_id], f"placement {placement.id}: bed {before['placement']['bed_id']} -> {bed_id} "
          f"({from_label} -> {bed_label(target)}): {reason}")
    return placement


def undo_last(session: Session, placement: Placement, user: User | None,
              now: datetime | None = None) -> PlacementChange:
    """Undo the newest change of the placement that is not undone yet, while its night is
    still tonight. Raises AllocationError with the sentence staff read when there is nothing
    to undo, the night is over, the rows changed since, or undoing would break a rule (bed
    given to someone else, person placed elsewhere, pre-booking or request replaced since,
    or a hard rule now forbids the bed)."""
    now = now or utcnow()
    if placement.night != tonight(now):
        raise AllocationError(_("Changes can be undone only during their night; this placement "
                                "was for the night of %(night)s.", night=day(placement.night)))
    change = last_change(session, placement.id)
    if change is None:
        raise AllocationError(_("There is nothing to undo for this placement tonight."))
    what = str(CANNOT_UNDO[change.action])
    name = placement.person.display_name
    city = placement.bed.room.site.city
    lock_sites(session, city=city)
    hold = session.get(Hold, change.after["hold"]["id"]) if "hold" in change.after else None
    request = (session.get(Request, change.after["request"]["id"])
               if "request" in change.after else None)
    if snapshot(placement, hold, request) != change.after:
        raise AllocationError(_("%(refused)s: %(name)s's placement has changed since.",
                                refused=what, name=name))
    before = change.before
    _refuse_conflicts(session, placement, change, hold, request, what, name)
    reinstate = before["placement"]["status"] in ACTIVE_PLACEMENT and (
        change.after["placement"]["status"] not in ACTIVE_PLACEMENT
        or before["placement"]["bed_id"] != change.after["placement"]["bed_id"])
    nested = session.begin_nested()
    try:
        restore(placement, before["placement"], "placement")
        if hold is not None:
            restore(hold, before["hold"], "hold")
        if request is not None:
            restore(request, before["request"], "request")
        session.flush()
        if reinstate:
            check_bed_allowed(session, placement.night, city, placement.person_id,
                              before["placement"]["bed_id"])
    except OverrideRefused as err:
        nested.rollback()
        raise AllocationError(f"{what}: " + " ".join(err.problems)) from err
    except IntegrityError as err:  # someone took the bed at the same moment
        nested.rollback()
        raise AllocationError(_("%(refused)s: the bed or %(name)s's night changed at the same "
                                "moment. Reload the board and look again.",
                                refused=what, name=name)) from err
    nested.commit()
    change.undone_at, change.undone_by_id = now, getattr(user, "id", None)
    session.flush()
    audit.record(session, user, f"undo_{change.action}", [placement.person_id], f"placement {placement.id}: change {change.id} ({ACTION_WORDS[change.action]}) undone")
    return change


def _refuse_conflicts(session: Session, placement: Placement, change: PlacementChange,
                      hold: Hold | None, request: Request | None, what: str, name: str) -> None:
    """Say which of the database's one-per-night invariants undoing would break."""
    before, after = change.before, change.after
    night = placement.night
    bed_id = before["placement"]["bed_id"]
    if before["placement"]["status"] in ACTIVE_PLACEMENT:
        other = session.scalar(select(Placement).where(
            Placement.night == night, Placement.bed_id == bed_id, Placement.id != placement.id,
            Placement.status.in_(ACTIVE_PLACEMENT)))
        if other is not None:
            raise AllocationError(_("%(refused)s: %(bed)s has been given to %(other)s since.",
                                    refused=what, bed=bed_label(other.bed),
                                    other=other.person.display_name))
        mine = session.scalar(select(Placement).where(
            Placement.night == night, Placement.person_id == placement.person_id,
            Placement.id != placement.id, Placement.status.in_(ACTIVE_PLACEMENT)))
        if mine is not None:
            raise AllocationError(_("%(refused)s: %(name)s has another bed tonight since "
                                    "(%(bed)s).", refused=what, name=name,
                                    bed=bed_label(mine.bed)))
    if hold is not None and before["hold"]["status"] == HoldStatus.HELD.value \
            and before["hold"] != after["hold"]:
        rival = session.scalar(select(Hold).where(
            Hold.night == night, Hold.status == HoldStatus.HELD, Hold.id != hold.id,
            (Hold.bed_id == before["hold"]["bed_id"]) | (Hold.person_id == hold.person_id)))
        if rival is not None:
            if rival.person_id == hold.person_id:
                raise AllocationError(_("%(refused)s: there is a new pre-booking for %(name)s "
                                        "since.", refused=what, name=name))
            raise AllocationError(_("%(refused)s: there is a pre-booking for someone else on "
                                    "that bed since.", refused=what))
    if request is not None and before["request"]["status"] != RequestStatus.WITHDRAWN.value \
            and after["request"]["status"] == RequestStatus.WITHDRAWN.value:
        again = session.scalar(select(Request.id).where(
            Request.night == night, Request.person_id == request.person_id,
            Request.id != request.id, Request.status != RequestStatus.WITHDRAWN))
        if again is not None:
            raise AllocationError(_("%(refused)s: %(name)s has asked for a bed again tonight "
                                    "since; that request stands.", refused=what, name=name))


@dataclass(frozen=True)
class Undoable:
    """The change the board offers to undo for one placement."""

    placement_id: int
    person_id: int
    action: str
    reason: str
    at: datetime
    name: str

    @property
    def word(self) -> str:
        return ACTION_WORDS[self.action]

    @property
    def undo_label(self) -> str:
        """The board's button, in the reader's language ("Undo check-in")."""
        return str(UNDO_BUTTONS[self.action])


def undoable(session: Session, night: date) -> dict[int, Undoable]:
    """Per placement of `night`, its newest change not undone yet (what Undo would reverse).
    One query."""
    out: dict[int, Undoable] = {}
    for change, person in session.execute(
            select(PlacementChange, Person).join(Person, Person.id == PlacementChange.person_id)
            .where(PlacementChange.night == night, PlacementChange.undone_at.is_(None))
            .order_by(PlacementChange.id)):
        out[change.placement_id] = Undoable(change.placement_id, change.person_id, change.action,
                                            change.reason, change.at, person.display_name)
    return out
