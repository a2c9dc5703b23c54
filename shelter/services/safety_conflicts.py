"""A new ban or keep-apart pair against bookings already made: show who is affected, and let
staff decide per booking before anything is saved.

Nothing is silently kept and nothing is silently dropped: each affected booking (a partner's
hold, or a proposed, confirmed or checked-in placement) on a night the new record covers gets
one decision: *move* to a bed the rule book allows, *keep* for that night with a written
reason (a SafetyExemption the rule book reads), or *release* (the placement ends, the hold is
released; the bed goes back to the pool). The record and the decisions are saved in one
transaction.
"""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from shelter.models import (
    Bed, Hold, HoldStatus, KeepApart, Person, Placement, PlacementStatus, Restriction, Room,
    SafetyExemption, Site, User, utcnow,
)
from shelter.i18n import _, ngettext
from shelter.services import audit, rules
from shelter.services.inventory import free_beds, lock_sites
from shelter.services.prebooking import end_hold
from shelter.words import HOLD_STATUSES, PLACEMENT_STATUSES

ACTIONS = ("move", "keep", "release")


@dataclass
class Affected:
    """One booking a new safety record conflicts with."""

    key: str  # "placement-12" or "hold-5": the form's name for the decision
    person_id: int
    person_name: str
    night: date
    site_name: str
    bed_id: int
    bed_label: str
    status: str  # held, proposed, confirmed, checked_in
    placement_id: int | None = None
    hold_id: int | None = None
    move_to: list[tuple[int, str]] = field(default_factory=list)  # beds the rule book allows

    @property
    def status_word(self) -> str:
        """The booking's status in the reader's language ("held", "confirmed", ...)."""
        if self.status == HoldStatus.HELD.value:
            return str(HOLD_STATUSES[HoldStatus.HELD])
        try:
            return str(PLACEMENT_STATUSES[PlacementStatus(self.status)])
        except (ValueError, KeyError):
            return self.status.replace("_", " ")


@dataclass
class Decision:
    action: str  # move | keep | release
    bed_id: int | None = None
    reason: str = ""


class DecisionsNeeded(Exception):
    """Bookings conflict with the new record: staff must decide for each (``errors`` maps a
    booking key to what is missing or wrong)."""

    def __init__(self, affected: list[Affected], errors: dict[str, str]) -> None:
        super().__init__(ngettext("%(num)d booking needs a decision",
                                  "%(num)d bookings need a decision", len(affected)))
        self.affected, self.errors = affected, errors


def _bookings(session: Session, person_ids: list[int], starts_on: date,
              ends_on: date | None) -> list[tuple[Person, date, Bed, str, int | None, int | None]]:
    """Active holds and placements of the people on the record's nights: (person, night,
    bed, status, placement id, hold id); a hold already honoured by a placement is shown
    once, as the placement."""
    nights = [Placement.night >= starts_on] + ([Placement.night <= ends_on] if ends_on else [])
    out = []
    seen: set[tuple[int, date]] = set()
    for p in session.scalars(select(Placement).options(
            joinedload(Placement.person), joinedload(Placement.bed).joinedload(Bed.room)
            .joinedload(Room.site)).where(Placement.person_id.in_(person_ids),
                                          Placement.is_active, *nights)):
        seen.add((p.person_id, p.night))
        out.append((p.person, p.night, p.bed, p.status.value, p.id, None))
    hold_nights = [Hold.night >= starts_on] + ([Hold.night <= ends_on] if ends_on else [])
    for h in session.scalars(select(Hold).options(
            joinedload(Hold.person), joinedload(Hold.bed).joinedload(Bed.room)
            .joinedload(Room.site)).where(Hold.person_id.in_(person_ids), Hold.is_active,
                                          *hold_nights)):
        if (h.person_id, h.night) not in seen:
            out.append((h.person, h.night, h.bed, "held", None, h.id))
    return sorted(out, key=lambda b: (b[1], b[0].id))


def _affected(session: Session, rows: list[Any], ban_sites: dict[int, set[int]] | None = None,
              pair: tuple[int, int] | None = None) -> list[Affected]:
    out = []
    for person, night, bed, status, placement_id, hold_id in rows:
        key = f"placement-{placement_id}" if placement_id else f"hold-{hold_id}"
        out.append(Affected(key, person.id, person.display_name, night, bed.room.site.name,
                            bed.id, bed.label, status, placement_id, hold_id,
                            _move_options(session, person, night, bed, ban_sites, pair)))
    return out


def _move_options(session: Session, person: Person, night: date, bed: Bed,
                  ban_sites: dict[int, set[int]] | None, pair: tuple[int, int] | None,
                  limit: int = 40) -> list[tuple[int, str]]:
    """Free beds in the bed's city that the rule book allows for the person that night,
    counting the new record (its sites as barred, or the partner's site as taken)."""
    facts = rules.facts_of(person, night)
    barred = rules.barred_sites(session, [person.id], night).get(person.id, set())
    barred |= (ban_sites or {}).get(person.id, set())
    partner_sites = rules.partner_sites(session, person.id, night)
    if pair is not None:
        other = pair[1] if pair[0] == person.id else pair[0]
        partner_sites |= rules.sites_of(session, other, night)
    out = []
    for candidate in free_beds(session, night, city=bed.room.site.city):
        if not rules.reasons_for_bed(facts, candidate, barred_sites=barred,
                                     partner_sites=partner_sites):
            out.append((candidate.id, f"{candidate.room.site.name} · {candidate.room.name} · "
                                      f"{candidate.label}"))
            if len(out) >= limit:
                break
    return out


def affected_by_ban(session: Session, *, person_id: int, site_id: int | None,
                    area_id: int | None, starts_on: date, ends_on: date | None) -> list[Affected]:
    """The person's bookings at the sites the new ban would cover, on its nights."""
    sites = list(session.scalars(select(Site)))
    if site_id is not None:
        covered = {site_id}
    elif area_id is not None:
        covered = {s.id for s in sites if s.area_id == area_id}
    else:
        covered = {s.id for s in sites}
    rows = [r for r in _bookings(session, [person_id], starts_on, ends_on)
            if r[2].room.site_id in covered]
    return _affected(session, rows, ban_sites={person_id: covered})


def affected_by_keep_apart(session: Session, *, person_a_id: int, person_b_id: int,
                           starts_on: date, ends_on: date | None) -> list[Affected]:
    """Bookings of the two people at the same site on the same night (both are listed)."""
    rows = _bookings(session, [person_a_id, person_b_id], starts_on, ends_on)
    where: dict[tuple[date, int], set[int]] = {}
    for person, night, bed, *rest in rows:
        where.setdefault((night, bed.room.site_id), set()).add(person.id)
    clash = {k for k, people in where.items() if len(people) == 2}
    rows = [r for r in rows if (r[1], r[2].room.site_id) in clash]
    return _affected(session, rows, pair=(person_a_id, person_b_id))


def check_decisions(affected: list[Affected], decisions: dict[str, Decision]) -> dict[str, str]:
    """What is missing or wrong in the decisions, per booking key (empty: all decided)."""
    errors: dict[str, str] = {}
    for a in affected:
        d = decisions.get(a.key)
        if d is None or d.action not in ACTIONS:
            errors[a.key] = _("Choose what happens to this booking.")
        elif d.action == "move" and d.bed_id not in {b for b, __ in a.move_to}:
            errors[a.key] = _("Choose a bed the rules allow (or keep or release instead).")
        elif d.action == "keep" and not d.reason.strip():
            errors[a.key] = _("Give the reason for keeping this booking despite the new record.")
    targets = [d.bed_id for k, d in decisions.items() if d.action == "move" and k not in errors
               and k in {a.key for a in affected}]
    for a in affected:
        d = decisions.get(a.key)
        if a.key not in errors and d is not None and d.action == "move" \
                and targets.count(d.bed_id) > 1:
            errors[a.key] = _("Two bookings cannot move to the same bed.")
    return errors


def apply_decisions(session: Session, affected: list[Affected], decisions: dict[str, Decision],
                    *, restriction: Restriction | None = None, pair: KeepApart | None = None,
                    user: User | None) -> None:
    """Carry out checked decisions for a saved record (one transaction with it; audited)."""
    lock_sites(session, city=None)
    now = utcnow()
    for a in affected:
        d = decisions[a.key]
        if d.action == "keep":
            session.add(SafetyExemption(
                person_id=a.person_id, night=a.night, reason=d.reason.strip(),
                restriction_id=restriction.id if restriction else None,
                keep_apart_id=pair.id if pair else None, created_by_id=getattr(user, "id", None)))
            detail = f"kept {a.status} booking at {a.site_name} on {a.night}: {d.reason.strip()}"
        elif d.action == "move":
            target = session.get(Bed, d.bed_id)
            assert target is not None
            if a.placement_id:
                session.get(Placement, a.placement_id).bed_id = target.id  # type: ignore[union-attr]
            else:
                hold = session.get(Hold, a.hold_id)
                assert hold is not None
                hold.bed_id, hold.site_id = target.id, target.room.site_id
            detail = f"moved {a.status} booking on {a.night} from bed {a.bed_id} to {target.id}"
        else:
            if a.placement_id:
                placement = session.get(Placement, a.placement_id)
                assert placement is not None
                placement.status, placement.ended_at = PlacementStatus.RELEASED, now
            else:
                assert a.hold_id is not None
                end_hold(session, a.hold_id, HoldStatus.RELEASED, now)
            detail = f"released {a.status} booking at {a.site_name} on {a.night}"
        audit.record(session, user, "safety_decision", a.person_id, detail)
    session.flush()
