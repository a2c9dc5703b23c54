"""Small builders for intake tests: people asking for a bed, with or without assessment."""
from __future__ import annotations

from datetime import date
from typing import Any

from sqlalchemy import func, select

from shelter.models import (
    Assessment, Bed, Gender, Hold, NeedScheme, Organisation, OrgKind, Person, Request,
    RequestSource, Room, Site, utcnow,
)

NIGHT = date(2026, 11, 25)


def scheme(session: Any) -> NeedScheme:
    found = session.scalar(select(NeedScheme).order_by(NeedScheme.version.desc()).limit(1))
    if found is None:
        found = NeedScheme(version=1, factors=[
            {"key": "nowhere", "label": "Nowhere to sleep tonight", "points": 40, "group": "sleep"},
            {"key": "violence", "label": "Exposed to violence", "points": 30, "group": ""}])
        session.add(found)
        session.flush()
    return found


def ask(session: Any, name: str, *, need: int | None = None, gender: Gender = Gender.MAN,
        night: date = NIGHT, birth_year: int | None = 1980, needs: list[str] | None = None,
        arrival: int | None = None, preferred: Site | None = None,
        person: Person | None = None, source: RequestSource = RequestSource.WALK_IN,
        hold: Hold | None = None, city: str | None = None) -> Request:
    """A person (new unless given) with an open request for `night` in `city` (default:
    the preferred site's city, else Bergen), assessed at `need`."""
    if person is None:
        person = Person(name=name, gender=gender, birth_year=birth_year)
        session.add(person)
        session.flush()
    assessment = None
    if need is not None:
        assessment = Assessment(person_id=person.id, scheme_id=scheme(session).id, answers={},
                                need=need, parts=[{"key": "nowhere", "label": "Nowhere to sleep",
                                                   "points": need}])
        session.add(assessment)
        session.flush()
    city = city or (preferred.city if preferred else "Bergen")
    if arrival is None:
        arrival = (session.scalar(select(func.max(Request.arrival))
                                  .where(Request.city == city, Request.night == night)) or 0) + 1
    req = Request(person_id=person.id, night=night, city=city, source=source, arrival=arrival,
                  needs=list(needs or []), preferred_site_id=preferred.id if preferred else None,
                  assessment_id=assessment.id if assessment else None,
                  hold_id=hold.id if hold else None)
    session.add(req)
    session.flush()
    return req


def beds_of(site: Site) -> list[Bed]:
    return [b for room in site.rooms for b in room.beds]


def add_room(session: Any, site: Site, name: str, gender: Any, n: int,
             features: list[str] | None = None) -> list[Bed]:
    room = Room(site=site, name=name, gender=gender, valid_from=date(2020, 1, 1))
    for i in range(n):
        room.beds.append(Bed(label=f"{site.code}-{name}-{i + 1}", features=list(features or []),
                             valid_from=date(2020, 1, 1)))
    session.add(room)
    session.flush()
    return list(room.beds)


def hold_for(session: Any, person: Person, bed: Bed, *, site_only: bool = True,
             org: Organisation | None = None, night: date = NIGHT) -> Hold:
    if org is None:
        org = session.scalar(select(Organisation).where(Organisation.name == "Bymisjon"))
        if org is None:
            org = Organisation(name="Bymisjon", kind=OrgKind.NGO)
            session.add(org)
            session.flush()
    hold = Hold(organisation_id=org.id, person_id=person.id, night=night,
                site_id=bed.room.site_id, bed_id=bed.id, site_only=site_only,
                expires_at=utcnow().replace(year=2030))
    session.add(hold)
    session.flush()
    return hold
