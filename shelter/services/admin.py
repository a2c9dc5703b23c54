"""Admin use cases for the inventory (sites, rooms, beds, outages), the other services
turned-away people are sent to, and a person's audit trail. Functions flush, never commit.

Inventory keeps its history: nothing that was ever used is deleted. Retiring sets
`valid_until` (the last night it existed). Changing a room's gender rule after it has been
in use retires the room (and its beds) and creates a new room with copies of the beds from
the chosen night on, so a past night's report still shows the beds, and rules, of that night.
Errors raise FieldError(field, message) for the form to show beside the field."""
from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from shelter.models import (
    Area, Bed, BedOutage, GenderRule, Hold, OtherService, Person, Placement,
    Room, Site,
)
from shelter.i18n import _, day_short
from shelter.services import audit, audit_log
from shelter.services.accounts import FieldError
from shelter.services.inventory import count_beds_by_site

# Bed features admins can tick; people's needs (services/people.BED_FEATURES) are a subset.
KNOWN_FEATURES = ("accessible", "ground_floor", "single_room")
SITE_FIELDS = ("name", "code", "city", "address", "staffed_24h", "intake_opens",
               "intake_closes", "checkin_cutoff", "hold_expiry", "min_age", "max_age", "active")


# --- sites ------------------------------------------------------------------------------

def list_sites(session: Session) -> list[Site]:
    """Sites with rooms and beds loaded (bed counts without a query per row)."""
    return list(session.scalars(
        select(Site).options(selectinload(Site.rooms).selectinload(Room.beds))
        .order_by(Site.active.desc(), Site.city, Site.name)
    ))


def load_site(session: Session, site_id: int) -> Site | None:
    """One site with rooms, beds and outages loaded for the inventory page."""
    return session.scalar(
        select(Site).where(Site.id == site_id).options(
            selectinload(Site.rooms).selectinload(Room.beds).selectinload(Bed.outages))
    )


def site_summaries(session: Session, sites: list[Site], night: date) -> dict[int, dict[str, int]]:
    """Per site: beds that exist on `night`, and how many of them are in service."""
    in_service = count_beds_by_site(session, night)
    out: dict[int, dict[str, int]] = {}
    for site in sites:
        existing = sum(1 for r in site.rooms if _exists(r, night)
                       for b in r.beds if _exists(b, night))
        out[site.id] = {"beds": existing, "in_service": in_service.get(site.id, 0)}
    return out


def _exists(row: Room | Bed, night: date) -> bool:
    return row.valid_from <= night and (row.valid_until is None or row.valid_until >= night)


def save_site(session: Session, site: Site | None, data: dict[str, Any]) -> Site:
    """Create (site None) or update a site from `data` (keys in SITE_FIELDS). Raises
    FieldError('code') for a code another site has, FieldError('max_age') for an age range
    that ends before it starts."""
    code = str(data["code"]).strip().lower()
    clash = session.scalar(select(Site).where(Site.code == code))
    if clash is not None and clash is not site:
        raise FieldError("code", _("The code '%(code)s' is used by %(site)s.", code=code,
                                   site=clash.name))
    if data.get("min_age") is not None and data.get("max_age") is not None \
            and data["min_age"] > data["max_age"]:
        raise FieldError("max_age", _("The upper age limit is below the lower one."))
    if site is None:
        site = Site()
        session.add(site)
    for key in SITE_FIELDS:
        setattr(site, key, data[key])
    site.code = code
    site.area = area_named(session, site.city, str(data.get("area") or ""))
    session.flush()
    return site


def area_named(session: Session, city: str, name: str) -> Area | None:
    """The city's area with this name, created when new (admins keep areas by naming them
    on a site; exclusion orders then pick from them). An empty name means no area."""
    name = " ".join(name.split())
    if not name:
        return None
    area = session.scalar(select(Area).where(Area.city == city, Area.name == name))
    if area is None:
        area = Area(city=city, name=name)
        session.add(area)
        session.flush()
    return area


def save_area(session: Session, area: Area | None, city: str, name: str) -> Area:
    """Create (area None) or rename an area. Raises FieldError('name') when the city already
    has an area of that name, or the name is empty."""
    name, city = " ".join((name or "").split()), " ".join((city or "").split())
    if not name:
        raise FieldError("name", _("Give the area a name."))
    clash = session.scalar(select(Area).where(Area.city == city, Area.name == name))
    if clash is not None and clash is not area:
        raise FieldError("name", _("%(city)s already has an area called %(name)s.", city=city,
                                   name=name))
    if area is None:
        area = Area()
        session.add(area)
    area.city, area.name = city, name
    session.flush()
    return area


def list_areas(session: Session, city: str | None = None) -> list[Area]:
    """Areas (with their sites), by city and name."""
    stmt = select(Area).options(selectinload(Area.sites)).order_by(Area.city, Area.name)
    if city is not None:
        stmt = stmt.where(Area.city == city)
    return list(session.scalars(stmt))


# --- rooms and beds ---------------------------------------------------------------------

def _booked_from(session: Session, bed_ids: list[int], first_night: date,
                 last_night: date | None = None) -> list[date]:
    """Nights from `first_night` (through `last_night`) on which any of the beds has an
    active placement or an active hold: inventory may not change under a booking."""
    if not bed_ids:
        return []
    nights: set[date] = set()
    for model, active in ((Placement, Placement.is_active),
                          (Hold, Hold.is_active)):
        stmt = select(model.night).where(model.bed_id.in_(bed_ids), model.night >= first_night,
                                         active)
        if last_night is not None:
            stmt = stmt.where(model.night <= last_night)
        nights.update(session.scalars(stmt))
    return sorted(nights)


def _ever_used(session: Session, bed_ids: list[int]) -> bool:
    if not bed_ids:
        return False
    return any(session.scalar(select(m.id).where(m.bed_id.in_(bed_ids)).limit(1))
               for m in (Placement, Hold))


def add_room(session: Session, site: Site, *, name: str, gender: GenderRule | str,
             valid_from: date, overflow: bool = False) -> Room:
    """A room from `valid_from`; an overflow room's beds are in service on cold nights only
    (set when the room is made: to change it, retire the room and add another). Raises
    FieldError('name') when the site already has a room of that name."""
    name = name.strip()
    if session.scalar(select(Room.id).where(Room.site_id == site.id, Room.name == name)):
        raise FieldError("name", _("%(site)s already has a room called '%(name)s'.",
                                   site=site.name, name=name))
    room = Room(site=site, name=name, gender=GenderRule(gender), valid_from=valid_from,
                overflow=overflow)
    session.add(room)
    session.flush()
    return room


def change_room(session: Session, room: Room, *, name: str, gender: GenderRule | str,
                from_night: date, today: date) -> Room:
    """Rename a room and/or change its gender rule from `from_night`.

    A room not yet used (no placement or hold ever) that starts tonight or later is edited in
    place. Otherwise a gender change retires this room after `from_night - 1` and returns a
    new room holding copies of its current beds (the old room is renamed with its dates).
    Raises FieldError('from_night') for a night before tomorrow or when beds are booked from
    that night on, FieldError('name') for a name clash."""
    gender, name = GenderRule(gender), name.strip()
    clash = session.scalar(select(Room).where(Room.site_id == room.site_id, Room.name == name))
    if clash is not None and clash is not room:
        raise FieldError("name", _("This site already has a room called '%(name)s'.", name=name))
    bed_ids = [b.id for b in room.beds]
    if gender is room.gender or (room.valid_from >= today and not _ever_used(session, bed_ids)):
        room.name, room.gender = name, gender
        session.flush()
        return room
    if from_night <= today:
        raise FieldError("from_night", _("A gender rule changes from tomorrow at the earliest, "
                                         "so tonight's placements stay valid."))
    booked = _booked_from(session, bed_ids, from_night)
    if booked:
        if len(booked) > 1:
            message = _("Beds in this room are booked on %(night)s and later; move or cancel "
                        "those bookings first.", night=day_short(booked[0]))
        else:
            message = _("Beds in this room are booked on %(night)s; move or cancel those "
                        "bookings first.", night=day_short(booked[0]))
        raise FieldError("from_night", message)
    last = from_night - timedelta(days=1)
    room.valid_until = last
    room.name = f"{room.name} (until {last:%Y-%m-%d})"[:80]
    new = Room(site_id=room.site_id, name=name, gender=gender, valid_from=from_night)
    for bed in room.beds:
        if bed.valid_until is None or bed.valid_until >= from_night:
            new.beds.append(Bed(label=bed.label, features=list(bed.features),
                                valid_from=from_night))
            bed.valid_until = last
    session.add(new)
    session.flush()
    return new


def retire_room(session: Session, room: Room, last_night: date) -> None:
    """The room (and its beds) exist through `last_night`. Raises FieldError('last_night')
    when a bed is booked after that night."""
    booked = _booked_from(session, [b.id for b in room.beds], last_night + timedelta(days=1))
    if booked:
        raise FieldError("last_night", _("A bed here is booked on %(night)s.",
                                         night=day_short(booked[0])))
    room.valid_until = last_night
    for bed in room.beds:
        if bed.valid_until is None or bed.valid_until > last_night:
            bed.valid_until = last_night
    session.flush()


def add_beds(session: Session, room: Room, *, label: str, features: list[str],
             valid_from: date, count: int = 1) -> list[Bed]:
    """Add one bed labelled `label`, or `count` beds labelled label-01, label-02 ...
    Raises FieldError('label') when the room already has a bed with one of those labels."""
    label = label.strip()
    labels = [label] if count == 1 else [f"{label}-{i:02d}" for i in range(1, count + 1)]
    taken = set(session.scalars(select(Bed.label).where(Bed.room_id == room.id,
                                                        Bed.label.in_(labels))))
    if taken:
        raise FieldError("label", _("This room already has a bed labelled '%(label)s'.",
                                    label=min(taken)))
    beds = [Bed(room=room, label=lab, features=sorted(set(features)),
                valid_from=max(valid_from, room.valid_from)) for lab in labels]
    session.add_all(beds)
    session.flush()
    return beds


def update_bed(session: Session, bed: Bed, *, label: str, features: list[str]) -> Bed:
    """Relabel a bed or change its features (features are edited in place: the allocator
    reads them for coming nights only). Raises FieldError('label') for a clash."""
    label = label.strip()
    clash = session.scalar(select(Bed).where(Bed.room_id == bed.room_id, Bed.label == label))
    if clash is not None and clash is not bed:
        raise FieldError("label", _("This room already has a bed labelled '%(label)s'.",
                                    label=label))
    bed.label, bed.features = label, sorted(set(features))
    session.flush()
    return bed


def retire_bed(session: Session, bed: Bed, last_night: date) -> None:
    """The bed exists through `last_night` and never after. Raises FieldError('last_night')."""
    if last_night < bed.valid_from:
        raise FieldError("last_night", _("That is before the bed existed."))
    booked = _booked_from(session, [bed.id], last_night + timedelta(days=1))
    if booked:
        raise FieldError("last_night", _("The bed is booked on %(night)s.",
                                         night=day_short(booked[0])))
    bed.valid_until = last_night
    session.flush()


def add_outage(session: Session, bed: Bed, *, reason: str, starts_on: date,
               ends_on: date | None) -> BedOutage:
    """Put a bed out of service for a date range (ends_on None: until further notice).
    Raises FieldError('ends_on') for a range ending before it starts, FieldError('starts_on')
    when the bed is booked during the outage."""
    if ends_on is not None and ends_on < starts_on:
        raise FieldError("ends_on", _("The last night is before the first night."))
    booked = _booked_from(session, [bed.id], starts_on, ends_on)
    if booked:
        raise FieldError("starts_on", _("The bed is booked on %(night)s; move that booking "
                                        "first.", night=day_short(booked[0])))
    outage = BedOutage(bed=bed, reason=reason.strip(), starts_on=starts_on, ends_on=ends_on)
    session.add(outage)
    session.flush()
    return outage


def end_outage(session: Session, outage: BedOutage, last_night: date) -> None:
    """The bed is out of service through `last_night` and back after it (the outage row is
    kept for past nights' reports). Raises FieldError('last_night')."""
    if last_night < outage.starts_on:
        raise FieldError("last_night", _("That is before the outage started."))
    outage.ends_on = last_night
    session.flush()


def current_outage(bed: Bed, night: date) -> BedOutage | None:
    for outage in bed.outages:
        if outage.covers(night):
            return outage
    return None


# --- other services ---------------------------------------------------------------------

def list_other_services(session: Session) -> list[OtherService]:
    return list(session.scalars(select(OtherService).order_by(
        OtherService.active.desc(), OtherService.city, OtherService.name)))


def save_other_service(session: Session, service: OtherService | None,
                       data: dict[str, Any]) -> OtherService:
    if service is None:
        service = OtherService()
        session.add(service)
    for key in ("city", "name", "description", "address", "phone", "for_gender", "active"):
        setattr(service, key, data[key])
    session.flush()
    return service


# --- audit trail ------------------------------------------------------------------------

def person_audit_trail(session: Session, person_id: int,
                       filt: audit_log.AuditFilter | None = None, page: int = 1
                       ) -> tuple[Person | None, audit_log.Page]:
    """Who viewed or changed this person's record, newest first, filtered (action, user,
    local dates) and one page at a time. Looking at the trail is itself a view of the
    person, so it is recorded too (a read: written when the request is over)."""
    person = session.get(Person, person_id)
    if person is None:
        return None, audit_log.Page([], 1, False)
    audit.record(session, None, "view_audit", person.id, "admin audit trail")
    session.flush()
    return person, audit_log.person_trail(session, person.id, filt or audit_log.AuditFilter(),
                                          page)
