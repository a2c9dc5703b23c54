"""What beds exist and are in service on a night, and how many are free.

Shared by intake's board, the partner portal/API (counts only) and reports."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session, contains_eager

from shelter.models import Bed, GenderRule, Hold, Placement, Room, Site


def beds_in_service(session: Session, night: date, city: str | None = None) -> list[Bed]:
    """Beds that existed on `night`, at active sites, and were not out of service.
    One query; each bed comes with its room and site loaded."""
    stmt = (
        select(Bed)
        .join(Bed.room)
        .join(Room.site)
        .options(contains_eager(Bed.room).contains_eager(Room.site))
        .where(Bed.in_service_on(night))
        .order_by(Site.id, Room.id, Bed.id)
    )
    if city is not None:
        stmt = stmt.where(Site.city == city)
    return list(session.scalars(stmt))


@dataclass
class Availability:
    """Counts for one site and gender rule on one night. Counts only: never who."""

    site_id: int
    site_code: str
    site_name: str
    gender: GenderRule
    in_service: int = 0
    placed: int = 0
    held: int = 0

    @property
    def free(self) -> int:
        return max(self.in_service - self.placed - self.held, 0)


def availability(session: Session, night: date, city: str | None = None) -> list[Availability]:
    """Beds in service, placed (active placement), held (active hold, not yet placed) and
    free, per site and gender rule. A bed both held and placed counts once, as placed.
    Three queries whatever the size of the city."""
    beds = beds_in_service(session, night, city)
    placed_beds = set(
        session.scalars(
            select(Placement.bed_id).where(
                Placement.night == night, Placement.is_active
            )
        )
    )
    held_beds = set(
        session.scalars(
            select(Hold.bed_id).where(Hold.night == night, Hold.is_active)
        )
    )
    rows: dict[tuple[int, GenderRule], Availability] = {}
    for bed in beds:
        site = bed.room.site
        key = (site.id, bed.room.gender)
        row = rows.get(key)
        if row is None:
            row = rows[key] = Availability(site.id, site.code, site.name, bed.room.gender)
        row.in_service += 1
        if bed.id in placed_beds:
            row.placed += 1
        elif bed.id in held_beds:
            row.held += 1
    return sorted(rows.values(), key=lambda r: (r.site_name, r.gender.value))


def free_beds(session: Session, night: date, site_id: int | None = None,
              city: str | None = None) -> list[Bed]:
    """Beds in service on `night` with neither an active placement nor an active hold."""
    taken_by_placement = select(Placement.bed_id).where(
        Placement.night == night, Placement.is_active
    )
    taken_by_hold = select(Hold.bed_id).where(Hold.night == night, Hold.is_active)
    beds = beds_in_service(session, night, city)
    taken = set(session.scalars(taken_by_placement)) | set(session.scalars(taken_by_hold))
    return [b for b in beds if b.id not in taken and (site_id is None or b.room.site_id == site_id)]


def count_beds_by_site(session: Session, night: date) -> dict[int, int]:
    counts: dict[int, int] = defaultdict(int)
    for bed in beds_in_service(session, night):
        counts[bed.room.site_id] += 1
    return dict(counts)



def lock_sites(session: Session, *, site_ids: list[int] | None = None,
               city: str | None = None) -> None:
    """Serialise everything that hands out one site's beds tonight (pre-bookings, the
    allocation, hand changes) so a hold and a placement never race for one bed.

    The one way to lock sites: callers pass the FULL set of sites they may touch, once,
    before they read or write any bed of them (a booking for "any suitable site" locks
    every candidate site, even those it may then skip for a full quota).

    PostgreSQL: row locks on the sites, always taken in id order so two lockers of
    overlapping sets cannot deadlock. SQLite needs nothing: every transaction begins with
    BEGIN IMMEDIATE and already holds the database's write lock."""
    if session.get_bind().dialect.name != "postgresql":
        return
    stmt = select(Site.id).order_by(Site.id).with_for_update()
    if site_ids is not None:
        stmt = stmt.where(Site.id.in_(site_ids))
    if city is not None:
        stmt = stmt.where(Site.city == city)
    session.execute(stmt).all()
