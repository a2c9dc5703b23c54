"""Partner pre-booking: hold a bed for a named person on a night, cancel it, expire it.

Rules enforced here (see README "Partner pre-booking and API"):
- a hold always names a concrete free bed that is eligible for the person (gender rule,
  bed features, the site's age limits); the unique index on active holds per bed-night is
  what makes the last bed go to exactly one partner when many race for it;
- a person banned from the site (Restriction) or whose keep-apart partner is held or placed
  at the site that night gets no hold there, and the partner is told exactly what they
  would be told if no bed were free: a partner must not be able to probe for bans;
- each organisation has a per-night quota per site (Quota row; no row = no limit);
- a hold expires at the site's hold-expiry time (local) on its night unless claimed.
Services flush, never commit."""
from __future__ import annotations

import secrets
from dataclasses import dataclass, field
from datetime import UTC, date, datetime, timedelta
from typing import Any
from zoneinfo import ZoneInfo

from sqlalchemy import func, or_, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session, contains_eager, joinedload

from shelter.config import instance_city
from shelter.models import (
    Bed, BedOutage, Gender, GenderRule, Hold, HoldRefusal, HoldStatus, KeepApart, OrganisationPerson, Person,
    Placement, PlacementStatus, Quota, Request, RequestSource, RequestStatus, Restriction, Room,
    Site, User, utcnow,
)
from shelter.models.bookings import ACTIVE_PLACEMENT
from shelter.services.inventory import lock_sites

BOOKING_DAYS = 8  # tonight and the next 7 nights
NO_BED_HERE = "No suitable bed is free at this site that night."
NO_BED_ANYWHERE = "No suitable bed is free at any site that night."


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


def local_today(tz: str) -> date:
    return datetime.now(ZoneInfo(tz)).date()


def hold_expires_at(site: Site, night: date, tz: str) -> datetime:
    """The site's hold-expiry time, local time on the hold's night, as naive UTC."""
    local = datetime.combine(night, site.hold_expiry, tzinfo=ZoneInfo(tz))
    return local.astimezone(UTC).replace(tzinfo=None)


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
            raise BookingInputError(where, "no person your organisation referred before has this")
        return link.person, link
    if not (spec.name or spec.alias):
        raise BookingInputError("person.name", "give a name or an alias")
    if spec.gender is None:
        raise BookingInputError("person.gender", "choose a gender")
    person = Person(name=spec.name or None, alias=spec.alias or None,
                    birth_year=spec.birth_year, gender=spec.gender)
    link = OrganisationPerson(organisation_id=organisation_id, person=person,
                              ref="R-" + secrets.token_hex(4).upper())
    session.add_all([person, link])
    session.flush()
    return person, link


# --- eligibility ---------------------------------------------------------------------------

def bed_fits(bed: Bed, person: Person, needs: set[str]) -> bool:
    """Women's beds admit women only, men's beds men only; every need is a bed feature."""
    rule = bed.room.gender
    if rule is GenderRule.WOMEN and person.gender is not Gender.WOMAN:
        return False
    if rule is GenderRule.MEN and person.gender is not Gender.MAN:
        return False
    return needs <= set(bed.features or [])


def age_fits(site: Site, person: Person, night: date) -> bool:
    """Age-limited sites admit only people whose age is known and inside the limits."""
    if site.min_age is None and site.max_age is None:
        return True
    age = person.age_on(night.year)
    if age is None:
        return False
    return (site.min_age is None or age >= site.min_age) and (
        site.max_age is None or age <= site.max_age)


def _barred_sites(session: Session, person_id: int, night: date) -> tuple[set[int], bool]:
    """Sites the person is banned from that night, and whether a ban covers all sites."""
    rows = session.scalars(select(Restriction.site_id).where(
        Restriction.person_id == person_id, Restriction.ended_at.is_(None),
        Restriction.starts_on <= night,
        or_(Restriction.ends_on.is_(None), Restriction.ends_on >= night)))
    sites = set(rows)
    return {s for s in sites if s is not None}, None in sites


def _keep_apart_sites(session: Session, person_id: int, night: date) -> set[int]:
    """Sites where a keep-apart partner of the person has an active hold or placement."""
    pairs = session.execute(select(KeepApart.person_a_id, KeepApart.person_b_id).where(
        or_(KeepApart.person_a_id == person_id, KeepApart.person_b_id == person_id),
        KeepApart.ended_at.is_(None), KeepApart.starts_on <= night,
        or_(KeepApart.ends_on.is_(None), KeepApart.ends_on >= night))).all()
    others = {b if a == person_id else a for a, b in pairs}
    if not others:
        return set()
    held = session.scalars(select(Hold.site_id).where(
        Hold.person_id.in_(others), Hold.night == night, Hold.status == HoldStatus.HELD))
    placed = session.scalars(select(Site.id).join(Site.rooms).join(Bed).join(
        Placement, Placement.bed_id == Bed.id).where(
        Placement.person_id.in_(others), Placement.night == night,
        Placement.status.in_(ACTIVE_PLACEMENT)))
    return set(held) | set(placed)


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
        Placement.night == night, Placement.status.in_(ACTIVE_PLACEMENT)).union(
        select(Hold.bed_id).where(Hold.night == night, Hold.status == HoldStatus.HELD))
    out = select(BedOutage.bed_id).where(
        BedOutage.starts_on <= night, or_(BedOutage.ends_on.is_(None), BedOutage.ends_on >= night))
    return list(session.scalars(
        select(Bed).join(Bed.room).options(contains_eager(Bed.room))
        .where(Room.site_id == site_id, Bed.valid_from <= night,
               or_(Bed.valid_until.is_(None), Bed.valid_until >= night), Room.valid_from <= night,
               or_(Room.valid_until.is_(None), Room.valid_until >= night),
               Bed.id.not_in(out), Bed.id.not_in(taken))
        .order_by(Bed.id)))


# --- booking -------------------------------------------------------------------------------

def book_hold(session: Session, booking: BookingRequest, actor: Any, tz: str) -> Hold:
    """Hold a bed and open a partner Request for the person, in the caller's transaction.

    Raises BookingInputError for bad input (nothing is stored) and HoldRefused when no bed
    can be held (a HoldRefusal row is stored; nothing else). The caller must commit after a
    refusal too, or the refusal is lost."""
    today = local_today(tz)
    if not today <= booking.night < today + timedelta(days=BOOKING_DAYS):
        raise BookingInputError("night", f"choose tonight or one of the next {BOOKING_DAYS - 1} nights")
    if booking.site_id is not None:
        site = session.get(Site, booking.site_id)
        if site is None or not site.active:
            raise BookingInputError("site", "no open site has this code")
        sites = [site]
    else:
        city = booking.city or instance_city()  # one city's beds are that city's alone
        sites = list(session.scalars(select(Site).where(
            Site.active.is_(True), Site.city == city).order_by(Site.name)))
    known = None
    if booking.person.person_id is not None or booking.person.ref is not None:
        known = _resolve_person(session, booking.organisation_id, booking.person)[0]
    savepoint = session.begin_nested()
    try:
        person = known or _resolve_person(session, booking.organisation_id, booking.person)[0]
        hold = _place(session, booking, person, sites, actor, tz)
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


def _place(session: Session, booking: BookingRequest, person: Person, sites: list[Site],
           actor: Any, tz: str) -> Hold:
    night, org_id = booking.night, booking.organisation_id
    generic = NO_BED_HERE if booking.site_id is not None else NO_BED_ANYWHERE
    # Every site this booking may touch, locked once, up front, in id order (lock_sites):
    # locking one by one in the search order deadlocked against allocation runs.
    lock_sites(session, site_ids=[s.id for s in sites])
    existing = session.scalar(select(Hold).where(
        Hold.person_id == person.id, Hold.night == night, Hold.status == HoldStatus.HELD))
    if existing is not None:
        if existing.organisation_id == org_id:
            raise HoldRefused("duplicate", "You already hold a bed for this person that night.")
        raise HoldRefused("already_held", generic)  # another organisation's hold: not theirs to know
    if session.scalar(select(Placement.id).where(
            Placement.person_id == person.id, Placement.night == night,
            Placement.status.in_(ACTIVE_PLACEMENT))) is not None:
        raise HoldRefused("already_placed", generic)
    now = utcnow()
    sites = [s for s in sites if hold_expires_at(s, night, tz) > now]
    if not sites:
        raise HoldRefused("too_late", "Pre-booking for that night has closed (holds have expired).")
    # Quota first: it depends only on the organisation's own holds, so it reveals no ban.
    sites = [s for s in sites if not _quota_full(session, org_id, s.id, night)]
    if not sites:
        raise HoldRefused("quota", "Your organisation has used its quota of pre-bookings "
                                   "at this site for that night.")
    barred, barred_everywhere = _barred_sites(session, person.id, night)
    apart = _keep_apart_sites(session, person.id, night)
    needs = set(booking.needs) | set(person.needs or [])
    reasons: list[str] = []
    for site in sites:
        if barred_everywhere or site.id in barred:
            reasons.append("barred")
            continue
        if site.id in apart:
            reasons.append("keep_apart")
            continue
        if not age_fits(site, person, night):
            reasons.append("ineligible")
            continue
        beds = [b for b in free_beds_at(session, night, site.id) if bed_fits(b, person, needs)]
        # Spare special beds: take the bed with the fewest features the person does not need.
        beds.sort(key=lambda b: (len(set(b.features or []) - needs), b.id))
        for bed in beds:
            hold = Hold(organisation_id=org_id, person_id=person.id, night=night,
                        site_id=site.id, bed_id=bed.id, site_only=True, needs=sorted(needs),
                        expires_at=hold_expires_at(site, night, tz), note=booking.note,
                        created_by_id=actor.id if isinstance(actor, User) else None)
            try:
                with session.begin_nested():
                    session.add(hold)
                    session.flush()
            except IntegrityError:
                continue  # another partner took this bed a moment ago: try the next one
            open_request(session, hold, actor)
            return hold
        reasons.append("no_bed")
    # Most specific code for managers; the partner sees the same words whatever it was.
    code = next((r for r in ("barred", "keep_apart", "ineligible") if r in reasons), "no_bed")
    raise HoldRefused(code, generic, sites[0].id if len(sites) == 1 else None)


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
    """The partner cancels: the bed goes back to the pool. Raises HoldConflict when the
    hold is no longer held (claimed, expired or already cancelled)."""
    if not _end_hold(session, hold.id, HoldStatus.CANCELLED, utcnow()):
        session.refresh(hold)
        raise HoldConflict(f"This pre-booking is {hold.status.value} and can no longer be cancelled.")
    session.refresh(hold)
    return hold


def expire_holds(session: Session, now: datetime | None = None) -> list[int]:
    """Expire every held hold whose time has passed; returns the ids this call expired.
    A hold whose person is already checked in is marked claimed instead."""
    now = now or utcnow()
    due = list(session.scalars(select(Hold.id).where(
        Hold.status == HoldStatus.HELD, Hold.expires_at <= now).order_by(Hold.id)))
    return [hid for hid in due if _end_hold(session, hid, HoldStatus.EXPIRED, now)]


def _end_hold(session: Session, hold_id: int, status: HoldStatus, now: datetime) -> bool:
    """End one held hold. The conditional UPDATE is the guard: when two processes race,
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
        update(Hold).where(Hold.id == hold_id, Hold.status == HoldStatus.HELD)
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
    return final is not HoldStatus.CLAIMED or status is HoldStatus.CLAIMED
