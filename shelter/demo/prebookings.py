"""Demo data part 'prebookings': a few partner holds for tonight and tomorrow from NAV and
Kirkens Bymisjon (one expired, one cancelled), two bookings waiting for intake to confirm
a site (one for a person barred from every site, one drawn for a routine check: README
"Partner bookings and what they reveal"), and refused attempts in HoldRefusal.

Holds are made on free eligible beds with the same helpers the booking service uses, so
the demo never breaks the bed-night invariants whatever the evening part placed."""
from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from shelter.models import (
    Gender, Hold, HoldRefusal, HoldStatus, Organisation, OrganisationPerson, Person, Request,
    RequestStatus, Restriction, Site, utcnow,
)
from shelter.services import rules
from shelter.services.prebooking import (
    NO_BED_ANYWHERE, free_beds_at, hold_expires_at, open_request,
)

# (organisation, site code, night offset, name, alias, birth year, gender, final status, note)
HOLDS = [
    ("NAV", "gyldenpris", 0, "Tor Haugen", None, 1979, Gender.MAN, HoldStatus.HELD,
     "Coming from the NAV office after 18:00."),
    ("NAV", "vagsbunnen", 0, None, "Sjur", 1988, Gender.MAN, HoldStatus.HELD, ""),
    ("NAV", "sandviken", 1, "Anders Bø", None, 1965, Gender.MAN, HoldStatus.HELD, ""),
    ("Kirkens Bymisjon", "kvinnehuset", 0, "Mari Solberg", None, 1995, Gender.WOMAN,
     HoldStatus.HELD, "Needs a quiet room; will call if delayed."),
    ("Kirkens Bymisjon", "kvinnehuset", 1, "Lene Dahl", None, 2001, Gender.WOMAN,
     HoldStatus.HELD, ""),
    ("Kirkens Bymisjon", "gyldenpris", -1, "Kjell Aas", None, 1972, Gender.MAN,
     HoldStatus.EXPIRED, ""),
    ("NAV", "gyldenpris", 1, "Per Lund", None, 1983, Gender.MAN, HoldStatus.CANCELLED,
     "Found a room at a hostel."),
]

# Pending tonight: (organisation, wished site code, name, birth year, why, barred everywhere)
PENDING = [
    ("NAV", "kvinnehuset", "Randi Berg", 1984, "barred", True),
    ("Kirkens Bymisjon", "gyldenpris", "Eva Moe", 1990, "review", False),
]

# (organisation, site code or None, night offset, reason code, message as shown)
REFUSALS = [
    ("NAV", "kvinnehuset", 0, "ineligible", NO_BED_ANYWHERE),
    ("Kirkens Bymisjon", "gyldenpris", 0, "quota",
     "Your organisation has used its quota of pre-bookings at this site for that night."),
    ("NAV", None, 1, "no_bed", NO_BED_ANYWHERE),
]


def seed(session: Session, today: date) -> list[str]:
    orgs = {o.name: o for o in session.scalars(select(Organisation))}
    sites = {s.code: s for s in session.scalars(select(Site))}
    made = 0
    for org_name, code, offset, name, alias, born, gender, status, note in HOLDS:
        org, site = orgs.get(org_name), sites.get(code)
        if org is None or site is None:
            continue  # the base part did not create it: nothing to hold
        night = today + timedelta(days=offset)
        person = Person(name=name, alias=alias, birth_year=born, gender=gender)
        session.add(person)
        session.flush()
        session.add(OrganisationPerson(organisation_id=org.id, person_id=person.id,
                                       ref=f"{org_name[:3].upper()}-{person.id:04d}"))
        facts = rules.facts_of(person, night)
        bed = next((b for b in free_beds_at(session, night, site.id)
                    if not rules.reasons_for_bed(facts, b)), None)
        if bed is None:
            continue
        hold = Hold(organisation_id=org.id, person_id=person.id, night=night, site_id=site.id,
                    bed_id=bed.id, site_only=True, needs=[], note=note,
                    expires_at=hold_expires_at(site, night))
        session.add(hold)
        session.flush()
        req = open_request(session, hold, None)
        if status is not HoldStatus.HELD:  # ended holds free their bed and withdraw the request
            hold.status, hold.ended_at = status, utcnow() - timedelta(hours=2)
            req.status = RequestStatus.WITHDRAWN
        made += 1
    for org_name, code, name, born, why, barred in PENDING:
        org, site = orgs.get(org_name), sites.get(code)
        if org is None or site is None:
            continue
        person = Person(name=name, birth_year=born, gender=Gender.WOMAN)
        session.add(person)
        session.flush()
        session.add(OrganisationPerson(organisation_id=org.id, person_id=person.id,
                                       ref=f"{org_name[:3].upper()}-{person.id:04d}"))
        if barred:
            session.add(Restriction(person_id=person.id, site_id=None, starts_on=today,
                                    ends_on=today + timedelta(days=14),
                                    reason="Threatened staff with a knife (demo)."))
        session.add(Hold(organisation_id=org.id, person_id=person.id, night=today,
                         site_id=site.id, bed_id=None, status=HoldStatus.PENDING,
                         wished_site_id=site.id, wish_reason=why, needs=[],
                         expires_at=hold_expires_at(site, today)))
        made += 1
    refused = 0
    for org_name, code, offset, reason, message in REFUSALS:
        org = orgs.get(org_name)
        if org is None:
            continue
        site = sites.get(code) if code else None
        session.add(HoldRefusal(organisation_id=org.id, night=today + timedelta(days=offset),
                                site_id=site.id if site else None, reason=reason,
                                message=message))
        refused += 1
    session.flush()
    open_holds = session.scalar(select(Request.id).where(Request.hold_id.is_not(None)).limit(1))
    return [f"pre-bookings: {made} holds ({'with' if open_holds else 'no'} partner requests), "
            f"{refused} refused attempts"]
