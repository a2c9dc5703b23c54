"""Pending partner bookings: intake confirms a site or refuses (README "Partner bookings
and what they reveal"). Intake sees the true reason a booking waits; the partner sees only
"pending: intake confirms the site", the same for everyone. Services flush, never commit."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, joinedload

from allocator.rulebook import Reason, bed_preference
from shelter.i18n import _, _l
from shelter.models import Hold, HoldStatus, Site, User, utcnow
from shelter.services import rules
from shelter.services.inventory import lock_sites
from shelter.services.prebooking import (
    end_hold, free_beds_at, hold_expires_at, open_request,
)

#: Why a booking waits or is not at its wished site, as intake reads it.
WISH_REASONS = {
    "barred": _l("Ban: the person is barred from every site with a bed for them tonight."),
    "keep_apart": _l("Keep-apart: someone this person must be kept apart from is held or "
                     "placed at every site with a bed for them tonight."),
    "ineligible": _l("No site has a bed whose gender rule, features and age limits suit "
                     "the person and that the person may use."),
    "review": _l("Routine check: drawn at random so that a pending booking tells partners "
                 "nothing. Confirm the wished site unless you know a reason not to."),
    "spread": _l("Held at another site at random, so that an unmet wish tells partners "
                 "nothing."),
    "quota": _l("The organisation's quota at the wished site was used."),
    "no_bed": _l("No suitable bed was free at the wished site."),
}


class PendingError(Exception):
    """The booking cannot be confirmed there; `field` names the form field."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(message)
        self.field, self.message = field, message


@dataclass
class PendingRow:
    hold: Hold
    reason: str  # worded


def reason_words(code: str | None) -> str:
    return str(WISH_REASONS.get(code or "", code or ""))


def pending_bookings(session: Session, night: date, city: str) -> list[PendingRow]:
    """Tonight's (or a night's) pending bookings in a city, oldest first, with the reason."""
    holds = session.scalars(
        select(Hold).join(Site, Site.id == Hold.site_id)
        .options(joinedload(Hold.person), joinedload(Hold.organisation),
                 joinedload(Hold.wished_site))
        .where(Hold.status == HoldStatus.PENDING, Hold.night == night, Site.city == city)
        .order_by(Hold.created_at, Hold.id))
    return [PendingRow(h, reason_words(h.wish_reason)) for h in holds]


def get_pending(session: Session, hold_id: int) -> Hold | None:
    hold = session.get(Hold, hold_id)
    return hold if hold is not None and hold.status is HoldStatus.PENDING else None


def confirm_pending(session: Session, hold: Hold, site_id: int, actor: Any) -> Hold:
    """Hold a bed for a pending booking at `site_id`, asking the rule book as a booking
    does. Raises PendingError naming every rule that stands in the way (intake may read
    them) when no bed there may be held."""
    site = session.get(Site, site_id)
    if site is None or not site.active:
        raise PendingError("site", _("No open site has this code."))
    night = hold.night
    if hold_expires_at(site, night) <= utcnow():
        raise PendingError("site", _("Pre-booking at this site for that night has closed."))
    lock_sites(session, site_ids=[site.id])
    person = hold.person
    facts = rules.facts_of(person, night, hold.needs or [])
    barred = rules.barred_sites(session, [person.id], night, [site]).get(person.id, set())
    apart = rules.partner_sites(session, person.id, night)
    found: dict[str, Reason] = {}
    beds = []
    for bed in free_beds_at(session, night, site.id):
        reasons = rules.reasons_for_bed(facts, bed, barred_sites=barred, partner_sites=apart)
        if reasons:
            found.update((r.code, r) for r in reasons)
        else:
            beds.append(bed)
    if not beds:
        said = rules.sentences(found.values()) or [_("No bed is free at this site that night.")]
        raise PendingError("site", " ".join(said))
    beds.sort(key=lambda b: (bed_preference(facts.gender, b.room.gender.value),
                             len(set(b.features or []) - facts.needs), b.id))
    for bed in beds:
        try:
            with session.begin_nested():
                hold.status, hold.bed_id, hold.site_id = HoldStatus.HELD, bed.id, site.id
                hold.expires_at = hold_expires_at(site, night)
                session.flush()
        except IntegrityError:
            session.refresh(hold)
            continue
        session.refresh(hold)
        open_request(session, hold, actor if isinstance(actor, User) else None)
        return hold
    raise PendingError("site", _("No bed is free at this site that night."))


def refuse_pending(session: Session, hold: Hold) -> bool:
    """Intake refuses the booking: it ends as released by staff (the partner is told)."""
    return end_hold(session, hold.id, HoldStatus.RELEASED, utcnow())
