"""Partner pre-booking: hold a bed for a named person on a night, cancel it, expire it.

Rules enforced here (see README "Partner pre-booking and API"):
- a hold always names a concrete free bed that is eligible for the person (gender rule,
  bed features, the site's age limits); the unique index on active holds per bed-night is
  what makes the last bed go to exactly one partner when many race for it;
- a named site is a wish: a person banned from it (Restriction) or whose keep-apart partner
  is held or placed there that night is held at another suitable site, or the booking waits
  for intake (pending), and the partner's answer has the same form as anyone's: a partner
  must not be able to probe for bans (README "Partner bookings and what they reveal");
- each organisation has a per-night quota per site (Quota row; no row = no limit);
- a hold expires at the site's hold-expiry time (local) on its night unless claimed.
Services flush, never commit."""
from __future__ import annotations

import hashlib
import hmac
import secrets
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from flask import current_app, has_app_context
from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, contains_eager, joinedload

from allocator.rulebook import bed_preference
from shelter.clock import local_on, tonight
from shelter.config import instance_city
from shelter.i18n import _, ngettext
from shelter.models import (
    Bed, Gender, Hold, HoldRefusal, HoldStatus, OrganisationPerson, Person,
    Placement, PlacementStatus, Quota, Request, RequestSource, RequestStatus, Room,
    Site, User, utcnow,
)
from shelter.models.bookings import OPEN_HOLD
from shelter.services import notifications, rules
from shelter.services.inventory import lock_sites
from shelter.services.people_merge import current_record
from shelter.words import word

BOOKING_DAYS = 8  # tonight and the next 7 nights
#: What a partner is told when no bed can be held, whatever the reason (so a ban or a
#: keep-apart pair never shows). The English text, for demo data and tests; a refusal
#: carries it translated (_no_bed_message), in the language of whoever asked.
NO_BED_HERE = "No suitable bed is free at this site that night."
NO_BED_ANYWHERE = "No suitable bed is free at any site that night."


def _no_bed_message(one_site: bool) -> str:
    """NO_BED_HERE or NO_BED_ANYWHERE in the current language (the same words as above)."""
    if one_site:
        return _("No suitable bed is free at this site that night.")
    return _("No suitable bed is free at any site that night.")


class BookingInputError(ValueError):
    """Bad input a partner can correct; `field` names it (API: 422, form: beside the field)."""

    def __init__(self, field: str, reason: str) -> None:
        super().__init__(f"{field}: {reason}")
        self.field, self.reason = field, reason


class HoldRefused(Exception):
    """No hold could be made. `reason` is the code managers see (no_bed, quota, barred,
    keep_apart, ineligible, too_late, already_held, already_placed); `message` is what the
    partner is told, never a ban's or anyone else's details."""

    def __init__(self, reason: str, message: str, site_id: int | None = None) -> None:
        super().__init__(message)
        self.reason, self.message, self.site_id = reason, message, site_id


class HoldConflict(Exception):
    """The hold can no longer be changed (already claimed, expired or cancelled)."""


@dataclass
class PersonSpec:
    """Who the hold is for: a person the organisation referred before (`person_id` from the
    portal or `ref` from the API) or a new person with minimal data."""

    person_id: int | None = None
    ref: str | None = None
    name: str | None = None
    alias: str | None = None
    birth_year: int | None = None
    gender: Gender | None = None


@dataclass
class BookingRequest:
    organisation_id: int
    night: date
    person: PersonSpec
    site_id: int | None = None  # None = any suitable site
    city: str | None = None  # where "any suitable site" looks (None: the instance's city)
    needs: list[str] = field(default_factory=list)
    note: str = ""


def hold_expires_at(site: Site, night: date) -> datetime:
    """The site's hold-expiry time, local time on the hold's night, as naive UTC."""
    return local_on(night, site.hold_expiry)


# --- who -----------------------------------------------------------------------------------

def org_person(session: Session, organisation_id: int, *, person_id: int | None = None,
               ref: str | None = None) -> OrganisationPerson | None:
    """The organisation's link to a person it referred before, or None (also for another
    organisation's person: partners see only their own)."""
    stmt = select(OrganisationPerson).options(joinedload(OrganisationPerson.person)).where(
        OrganisationPerson.organisation_id == organisation_id)
    if person_id is not None:
        stmt = stmt.where(OrganisationPerson.person_id == person_id)
    elif ref is not None:
        stmt = stmt.where(OrganisationPerson.ref == ref)
    else:
        return None
    return session.scalar(stmt)


def _resolve_person(session: Session, organisation_id: int,
                    spec: PersonSpec) -> tuple[Person, OrganisationPerson]:
    if spec.person_id is not None or spec.ref is not None:
        link = org_person(session, organisation_id, person_id=spec.person_id, ref=spec.ref)
        if link is None:
            where = "person.ref" if spec.ref is not None else "person"
            raise BookingInputError(where, _("no person your organisation referred before "
                                             "has this"))
        return current_record(session, link.person), link  # a merged-away record: its survivor
    if not (spec.name or spec.alias):
        raise BookingInputError("person.name", _("give a name or an alias"))
    if spec.gender is None:
        raise BookingInputError("person.gender", _("choose a gender"))
    person = Person(name=spec.name or None, alias=spec.alias or None,
                    birth_year=spec.birth_year, gender=spec.gender)
    link = OrganisationPerson(organisation_id=organisation_id, person=person,
                              ref="R-" + secrets.token_hex(4).upper())
    session.add_all([person, link])
    session.flush()
    return person, link


# --- eligibility: the rule book decides (shelter/services/rules.py) --------------------------

# The refusal code managers see for each rule-book reason (partners see none of them).
REFUSAL_CODE = {"gender": "ineligible", "features": "ineligible", "age": "ineligible",
                "age_unknown": "ineligible", "barred": "barred", "keep_apart": "keep_apart"}


def _quota_full(session: Session, organisation_id: int, site_id: int, night: date) -> bool:
    """No Quota row means no limit. Held and claimed holds both count against it."""
    limit = session.scalar(select(Quota.per_night).where(
        Quota.organisation_id == organisation_id, Quota.site_id == site_id))
    if limit is None:
        return False
    used = session.scalar(select(func.count(Hold.id)).where(
        Hold.organisation_id == organisation_id, Hold.site_id == site_id, Hold.night == night,
        Hold.status.in_([HoldStatus.HELD, HoldStatus.CLAIMED]))) or 0
    return used >= limit


def free_beds_at(session: Session, night: date, site_id: int) -> list[Bed]:
    """Beds of one site in service on `night` with no active hold or placement: the same
    rules as inventory.free_beds, filtered in SQL to the one site (bookings run this under
    the site lock, so it must stay cheap however large the city is)."""
    taken = select(Placement.bed_id).where(
        Placement.night == night, Placement.is_active).union(
        select(Hold.bed_id).where(Hold.night == night, Hold.is_active))
    return list(session.scalars(
        select(Bed).join(Bed.room).join(Room.site)
        .options(contains_eager(Bed.room).contains_eager(Room.site))
        .where(Room.site_id == site_id, Bed.in_service_on(night), Bed.id.not_in(taken))
        .order_by(Bed.id)))


# --- booking -------------------------------------------------------------------------------

def book_hold(session: Session, booking: BookingRequest, actor: Any) -> Hold:
    """Hold a bed (or, when no site can take the booking yet, a pending booking intake
    confirms) in the caller's transaction. A named site is a wish: see _place.

    Raises BookingInputError for bad input (nothing is stored) and HoldRefused when the
    booking is refused (a HoldRefusal row is stored; nothing else). The caller must commit
    after a refusal too, or the refusal is lost."""
    today = tonight()
    if not today <= booking.night < today + timedelta(days=BOOKING_DAYS):
        raise BookingInputError("night", ngettext(
            "choose tonight or the next night", "choose tonight or one of the next %(num)d nights",
            BOOKING_DAYS - 1))
    wished = None
    if booking.site_id is not None:
        wished = session.get(Site, booking.site_id)
        if wished is None or not wished.active:
            raise BookingInputError("site", _("no open site has this code"))
    # The wished site first, then every other open site of its city (the city's beds
    # are that city's alone), by name.
    city = wished.city if wished is not None else (booking.city or instance_city())
    sites = list(session.scalars(select(Site).where(
        Site.active.is_(True), Site.city == city).order_by(Site.name)))
    if wished is not None:
        sites = [wished] + [s for s in sites if s.id != wished.id]
    known = None
    if booking.person.person_id is not None or booking.person.ref is not None:
        known = _resolve_person(session, booking.organisation_id, booking.person)[0]
    savepoint = session.begin_nested()
    try:
        person = known or _resolve_person(session, booking.organisation_id, booking.person)[0]
        hold = _place(session, booking, person, sites, wished, actor)
    except HoldRefused as refusal:
        savepoint.rollback()
        session.add(HoldRefusal(organisation_id=booking.organisation_id, night=booking.night,
                                site_id=refusal.site_id or booking.site_id,
                                person_id=known.id if known else None,
                                reason=refusal.reason, message=refusal.message))
        session.flush()
        raise
    except BaseException:
        savepoint.rollback()
        raise
    savepoint.commit()
    return hold


def draw(person_id: int, night: date, purpose: str) -> float:
    """A number in [0, 1) fixed for this person, night and purpose, that partners cannot
    predict (keyed with the instance's secret): booking, cancelling and booking again the
    same person the same night draws the same number, so repeating a booking learns
    nothing new."""
    key = str(current_app.config.get("SECRET_KEY") or "").encode()
    digest = hmac.new(key, f"{purpose}:{person_id}:{night.isoformat()}".encode(),
                      hashlib.sha256).digest()
    return int.from_bytes(digest[:8], "big") / 2**64


def _share(name: str) -> float:
    return float(current_app.config.get(name, 0.0)) if has_app_context() else 0.0


#: Codes of the rule book that a partner must not learn (they depend on safety records).
SAFETY_CODES = {"barred", "keep_apart"}


def _place(session: Session, booking: BookingRequest, person: Person, sites: list[Site],
           wished: Site | None, actor: Any) -> Hold:
    """Hold the best bed the rule book allows, the wished site first.

    What a partner is told must not depend on a ban or a keep-apart pair (README
    "Partner bookings and what they reveal"):
    - refused (409 no_bed) only when no free bed in the city fits what the partner knows
      of the person (gender, age, bed needs): bans and keep-apart pairs play no part;
    - held at the wished site when the rule book allows it there, else at another
      suitable site; a share of bookings (PARTNER_SPREAD_SHARE) is held at another
      suitable site anyway, so an unmet wish is routine;
    - pending (intake confirms the site) when only a ban or a keep-apart pair stands in
      the way everywhere, and for a share of all bookings (PARTNER_REVIEW_SHARE).
    The true reason is kept on the hold (wish_reason) for intake only."""
    night, org_id = booking.night, booking.organisation_id
    generic = _no_bed_message(False)
    # Every site this booking may touch, locked once, up front, in id order (lock_sites):
    # locking one by one in the search order deadlocked against allocation runs.
    lock_sites(session, site_ids=[s.id for s in sites])
    existing = session.scalar(select(Hold).where(
        Hold.person_id == person.id, Hold.night == night, Hold.status.in_(OPEN_HOLD)))
    if existing is not None:
        if existing.organisation_id == org_id:
            raise HoldRefused("duplicate", _("You already hold a bed for this person that night."))
        raise HoldRefused("already_held", generic)  # another organisation's hold: not theirs to know
    if session.scalar(select(Placement.id).where(
            Placement.person_id == person.id, Placement.night == night,
            Placement.is_active)) is not None:
        raise HoldRefused("already_placed", generic)
    now = utcnow()
    sites = [s for s in sites if hold_expires_at(s, night) > now]
    if not sites or (wished is not None and sites[0].id != wished.id):
        # The wished site's hold time has passed: say so, as before (it reveals nothing).
        raise HoldRefused("too_late", _("Pre-booking for that night has closed (holds have "
                                        "expired)."))
    # Quota first: it depends only on the organisation's own holds, so it reveals no ban.
    open_sites = [s for s in sites if not _quota_full(session, org_id, s.id, night)]
    if not open_sites:
        raise HoldRefused("quota", _("Your organisation has used its quota of pre-bookings "
                                     "at this site for that night."))
    facts = rules.facts_of(person, night, booking.needs)
    barred = rules.barred_sites(session, [person.id], night, open_sites).get(person.id, set())
    apart = rules.partner_sites(session, person.id, night)
    order = {site.id: i for i, site in enumerate(open_sites)}
    codes: dict[int, set[str]] = {}  # site -> refusal codes met there
    fits = False  # a free bed the person fits by what the partner knows (no safety codes)
    candidates: list[Bed] = []
    for site in open_sites:
        for bed in free_beds_at(session, night, site.id):
            found = rules.reasons_for_bed(facts, bed, barred_sites=barred, partner_sites=apart)
            codes.setdefault(site.id, set()).update(REFUSAL_CODE[r.code] for r in found)
            if not found:
                candidates.append(bed)
            if not {r.code for r in found} - SAFETY_CODES:
                fits = True
    if not fits:  # the same answer with or without a ban: nothing fits anywhere
        code = "ineligible" if any("ineligible" in c for c in codes.values()) else "no_bed"
        raise HoldRefused(code, generic, wished.id if wished is not None else None)

    def pending(reason: str) -> Hold:
        site = wished or open_sites[0]
        hold = Hold(organisation_id=org_id, person_id=person.id, night=night, site_id=site.id,
                    bed_id=None, site_only=True, needs=sorted(facts.needs),
                    expires_at=hold_expires_at(site, night), note=booking.note,
                    status=HoldStatus.PENDING, wished_site_id=wished.id if wished else None,
                    wish_reason=reason,
                    created_by_id=actor.id if isinstance(actor, User) else None)
        try:
            with session.begin_nested():
                session.add(hold)
                session.flush()
        except IntegrityError:  # the same person booked a moment ago by the same partner
            raise HoldRefused("duplicate", _("You already hold a bed for this person that "
                                             "night.")) from None
        return hold

    if not candidates:  # only bans or keep-apart pairs stand in the way, everywhere
        every = set().union(*codes.values())
        return pending(next(r for r in ("barred", "keep_apart", "ineligible") if r in every))
    if draw(person.id, night, "review") < _share("PARTNER_REVIEW_SHARE"):
        return pending("review")
    wish_reason = None
    if wished is not None:
        here = [b for b in candidates if b.room.site_id == wished.id]
        elsewhere = [b for b in candidates if b.room.site_id != wished.id]
        if not here:
            said = codes.get(wished.id, set())
            wish_reason = ("quota" if wished.id not in order else
                           next((r for r in ("barred", "keep_apart", "ineligible") if r in said),
                                "no_bed"))
        elif elsewhere and draw(person.id, night, "spread") < _share("PARTNER_SPREAD_SHARE"):
            wish_reason = "spread"  # other sites first; the wished one if they are taken
    spread = wish_reason == "spread"
    # A woman takes a women-only bed first when one suits her, then a mixed one; everyone
    # spares special beds (the fewest features they do not need); the wished site first.
    candidates.sort(key=lambda b: ((order[b.room.site_id] != 0) is not spread or wished is None,
                                   bed_preference(facts.gender, b.room.gender.value),
                                   order[b.room.site_id], len(set(b.features or []) - facts.needs),
                                   b.id))
    for bed in candidates:
        site = bed.room.site
        met = wished is not None and site.id == wished.id
        hold = Hold(organisation_id=org_id, person_id=person.id, night=night,
                    site_id=site.id, bed_id=bed.id, site_only=True, needs=sorted(facts.needs),
                    expires_at=hold_expires_at(site, night), note=booking.note,
                    wished_site_id=wished.id if wished else None,
                    wish_reason=None if met else wish_reason,
                    created_by_id=actor.id if isinstance(actor, User) else None)
        try:
            with session.begin_nested():
                session.add(hold)
                session.flush()
        except IntegrityError:
            continue  # another partner took this bed a moment ago: try the next one
        open_request(session, hold, actor)
        return hold
    raise HoldRefused("no_bed", generic, wished.id if wished is not None else None)


def open_request(session: Session, hold: Hold, actor: Any) -> Request:
    """A hold always comes with an open partner Request for the person and night."""
    req = session.scalar(select(Request).where(
        Request.person_id == hold.person_id, Request.night == hold.night,
        Request.status != RequestStatus.WITHDRAWN))
    if req is not None:  # already asked for a bed tonight (e.g. by phone): link the hold
        req.hold_id = hold.id
        req.city = hold.site.city  # and ask in the held site's city from now on
    else:
        city = hold.site.city  # the held site's city: its night is that city's alone
        arrival = (session.scalar(select(func.max(Request.arrival)).where(
            Request.city == city, Request.night == hold.night)) or 0) + 1
        req = Request(person_id=hold.person_id, night=hold.night, city=city,
                      source=RequestSource.PARTNER,
                      arrival=arrival, needs=list(hold.needs), preferred_site_id=hold.site_id,
                      hold_id=hold.id, created_by_id=hold.created_by_id)
        session.add(req)
    session.flush()
    return req


# --- ending holds --------------------------------------------------------------------------

def get_hold(session: Session, organisation_id: int, hold_id: int) -> Hold | None:
    """The organisation's own hold, or None (another organisation's hold is not found)."""
    return session.scalar(select(Hold).options(joinedload(Hold.person), joinedload(Hold.site))
                          .where(Hold.id == hold_id, Hold.organisation_id == organisation_id))


def cancel_hold(session: Session, hold: Hold) -> Hold:
    """The partner cancels: the bed goes back to the pool (a pending booking simply ends).
    Raises HoldConflict when the hold is no longer held or pending (claimed, expired or
    already cancelled)."""
    if not end_hold(session, hold.id, HoldStatus.CANCELLED, utcnow()):
        session.refresh(hold)
        raise HoldConflict(_("This pre-booking is %(status)s and can no longer be cancelled.",
                             status=word(hold.status)))
    session.refresh(hold)
    return hold


def expire_holds(session: Session, now: datetime | None = None) -> list[int]:
    """Expire every held or pending hold whose time has passed; returns the ids this call expired.
    A hold whose person is already checked in is marked claimed instead."""
    now = now or utcnow()
    due = list(session.scalars(select(Hold.id).where(
        Hold.status.in_(OPEN_HOLD), Hold.expires_at <= now).order_by(Hold.id)))
    return [hid for hid in due if end_hold(session, hid, HoldStatus.EXPIRED, now)]


def end_hold(session: Session, hold_id: int, status: HoldStatus, now: datetime) -> bool:
    """End one held (or pending) hold. The conditional UPDATE is the guard: when two processes race,
    only the one whose UPDATE changed the row does the rest. Returns whether this call did.
    Its Request is withdrawn and any placement from it not yet checked in is released,
    unless the person is checked in (then the hold is claimed)."""
    hold = session.get(Hold, hold_id)
    if hold is None:
        return False
    requests = select(Request.id).where(Request.hold_id == hold_id)
    links = or_(Placement.hold_id == hold_id, Placement.request_id.in_(requests))
    checked_in = session.scalar(select(Placement.id).where(
        Placement.status == PlacementStatus.CHECKED_IN,
        or_(links, (Placement.person_id == hold.person_id) & (Placement.night == hold.night))))
    final = HoldStatus.CLAIMED if checked_in is not None else status
    changed = session.execute(
        update(Hold).where(Hold.id == hold_id, Hold.status.in_(OPEN_HOLD))
        .values(status=final, ended_at=now).execution_options(synchronize_session=False)
    ).rowcount
    if not changed:
        return False
    if final is not HoldStatus.CLAIMED:
        session.execute(update(Placement).where(
            links, Placement.status.in_([PlacementStatus.PROPOSED, PlacementStatus.CONFIRMED]))
            .values(status=PlacementStatus.RELEASED, ended_at=now)
            .execution_options(synchronize_session=False))
        session.execute(update(Request).where(
            Request.hold_id == hold_id, Request.status != RequestStatus.WITHDRAWN)
            .values(status=RequestStatus.WITHDRAWN).execution_options(synchronize_session=False))
    session.expire_all()
    if final is not HoldStatus.CANCELLED:  # the partner cancelled it themselves: no message
        notifications.notify_hold_id(session, hold_id, f"hold.{final.value}")
    return final is not HoldStatus.CLAIMED or status is HoldStatus.CLAIMED
