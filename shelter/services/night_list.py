"""The printable night list: for one site and night, who sleeps in which bed, to tick off on
paper at the door. Staff only. Read-only: two queries whatever the number of people."""
from __future__ import annotations

import re
from dataclasses import dataclass
from datetime import date

from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shelter.models import Assessment, Bed, Person, Placement, PlacementStatus, Request, Room, Site
from shelter.services.night_input import fresh_assessment_since

#: On the list: a confirmed bed (to tick on arrival) or someone already checked in. A
#: proposal not confirmed yet is no list to print (the page says how many wait).
LISTED = (PlacementStatus.CONFIRMED, PlacementStatus.CHECKED_IN)


@dataclass(frozen=True, slots=True)
class Line:
    """One bed on the list and who sleeps in it."""

    person_id: int
    room: str
    bed: str
    name: str | None
    alias: str | None
    need: int | None  # None: not assessed
    checked_in: bool


@dataclass(frozen=True)
class NightList:
    site: Site
    night: date
    lines: list[Line]
    proposed: int  # placements at the site proposed but not confirmed yet

    @property
    def person_ids(self) -> list[int]:
        return [line.person_id for line in self.lines]

    @property
    def checked_in(self) -> int:
        return sum(1 for line in self.lines if line.checked_in)


@dataclass(frozen=True, slots=True)
class SiteCount:
    """A site to choose on the chooser, with how many beds there are on its list tonight."""

    site: Site
    listed: int


def _natural(text: str) -> tuple[object, ...]:
    """"Room 2" before "Room 10", "strax-9" before "strax-10"."""
    return tuple(int(part) if part.isdigit() else part.lower()
                 for part in re.split(r"(\d+)", text))


def city_site(session: Session, site_id: int, city: str) -> Site | None:
    """The site, if it is one of `city`'s (another city's site is not found)."""
    site = session.get(Site, site_id)
    return site if site is not None and site.city == city else None


def sites_to_choose(session: Session, night: date, city: str) -> list[SiteCount]:
    """The city's sites, each with the number of people on its list for `night`; inactive
    sites only when someone is on their list. One query."""
    listed = (select(Room.site_id, func.count(Placement.id).label("n"))
              .join(Bed, Bed.room_id == Room.id).join(Placement, Placement.bed_id == Bed.id)
              .where(Placement.night == night, Placement.status.in_(LISTED))
              .group_by(Room.site_id).subquery())
    rows = session.execute(select(Site, func.coalesce(listed.c.n, 0))
                           .outerjoin(listed, listed.c.site_id == Site.id)
                           .where(Site.city == city).order_by(Site.name)).all()
    return [SiteCount(site, int(n)) for site, n in rows if site.active or n]


def night_list(session: Session, site: Site, night: date) -> NightList:
    """Who has a confirmed bed (or is checked in) at `site` on `night`, by room and bed, with
    the need score of their request (or, unassessed, their assessment made for that night,
    as on the board: ``night_input.fresh_assessment_since``)."""
    rows = session.execute(
        select(Placement.person_id, Placement.status, Room.name, Bed.label, Person.name,
               Person.alias, Assessment.need, Placement.request_id)
        .join(Bed, Placement.bed_id == Bed.id).join(Room, Bed.room_id == Room.id)
        .join(Person, Placement.person_id == Person.id)
        .outerjoin(Request, Placement.request_id == Request.id)
        .outerjoin(Assessment, Request.assessment_id == Assessment.id)
        .where(Placement.night == night, Room.site_id == site.id,
               Placement.status.in_((*LISTED, PlacementStatus.PROPOSED)))).all()
    listed = [r for r in rows if r[1] in LISTED]
    unassessed = [r[0] for r in listed if r[6] is None]
    fallback: dict[int, int] = {}
    if unassessed:
        fallback = {pid: need for pid, need in session.execute(
            select(Assessment.person_id, Assessment.need)
            .where(Assessment.person_id.in_(unassessed),
                   Assessment.assessed_at >= fresh_assessment_since(night))
            .order_by(Assessment.assessed_at))}  # the newest wins
    lines = [Line(pid, room, bed, name, alias, need if need is not None else fallback.get(pid),
                  status == PlacementStatus.CHECKED_IN)
             for pid, status, room, bed, name, alias, need, unused in listed]
    lines.sort(key=lambda line: (_natural(line.room), _natural(line.bed)))
    return NightList(site, night, lines, proposed=len(rows) - len(listed))
