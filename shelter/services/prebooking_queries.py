"""Read-side of pre-booking for the partner portal and API: counts of free beds, and an
organisation's own holds and people. Bulk queries only (no query per row); every query is
scoped to one organisation, because partners see nothing of anyone else's."""
from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from shelter.i18n import _l
from shelter.models import Bed, Hold, OrganisationPerson, Person, Request, RequestStatus, Site
from shelter.services.inventory import Availability, availability


def availability_by_night(session: Session, first: date, days: int,
                          city: str | None = None) -> list[tuple[date, list[Availability]]]:
    """Free-bed counts per site and gender rule for `days` nights from `first`."""
    return [(first + timedelta(days=i), availability(session, first + timedelta(days=i), city))
            for i in range(days)]


def org_holds(session: Session, organisation_id: int, *, night: date | None = None,
              from_night: date | None = None) -> list[tuple[Hold, str]]:
    """The organisation's holds with its own reference for each person, newest night first."""
    stmt = (
        select(Hold, OrganisationPerson.ref)
        .join(OrganisationPerson, (OrganisationPerson.person_id == Hold.person_id)
              & (OrganisationPerson.organisation_id == Hold.organisation_id))
        .options(joinedload(Hold.person), joinedload(Hold.site))
        .where(Hold.organisation_id == organisation_id)
        .order_by(Hold.night, Hold.id)
    )
    if night is not None:
        stmt = stmt.where(Hold.night == night)
    if from_night is not None:
        stmt = stmt.where(Hold.night >= from_night)
    return [(hold, ref) for hold, ref in session.execute(stmt).all()]


#: How a past booking ended, in words the partner portal shows (turned away wins: the hold
#: itself then shows how the bed was freed, which is not what the partner asks).
OUTCOME_WORDS = {
    "claimed": _l("Checked in"),
    "expired": _l("Expired: nobody checked in in time"),
    "cancelled": _l("Cancelled"),
    "released": _l("Released by shelter staff"),
    "held": _l("Still held"),
    "pending": _l("Waiting for intake to confirm a site"),
    "turned_away": _l("Turned away: no bed was given"),
}
HISTORY_NIGHTS = 30


def org_outcomes(session: Session, organisation_id: int, today: date,
                 nights: int = HISTORY_NIGHTS) -> list[tuple[Hold, str, str]]:
    """The organisation's bookings of the last `nights` nights before `today`, newest first,
    each with its reference and outcome code (a key of OUTCOME_WORDS)."""
    turned = (select(Request.hold_id).where(Request.hold_id.is_not(None),
                                             Request.status == RequestStatus.TURNED_AWAY)
              .scalar_subquery())
    stmt = (
        select(Hold, OrganisationPerson.ref, Hold.id.in_(turned))
        .join(OrganisationPerson, (OrganisationPerson.person_id == Hold.person_id)
              & (OrganisationPerson.organisation_id == Hold.organisation_id))
        .options(joinedload(Hold.person), joinedload(Hold.site))
        .where(Hold.organisation_id == organisation_id, Hold.night < today,
               Hold.night >= today - timedelta(days=nights))
        .order_by(Hold.night.desc(), Hold.id)
    )
    return [(hold, ref, "turned_away" if was_turned else hold.status.value)
            for hold, ref, was_turned in session.execute(stmt).all()]


def ref_for(session: Session, organisation_id: int, person_id: int) -> str | None:
    return session.scalar(select(OrganisationPerson.ref).where(
        OrganisationPerson.organisation_id == organisation_id,
        OrganisationPerson.person_id == person_id))


def org_people(session: Session, organisation_id: int) -> list[OrganisationPerson]:
    """People the organisation referred before, by name."""
    return list(session.scalars(
        select(OrganisationPerson).join(OrganisationPerson.person)
        .options(joinedload(OrganisationPerson.person))
        .where(OrganisationPerson.organisation_id == organisation_id)
        .order_by(Person.name, Person.alias, Person.id)))


def open_sites(session: Session, city: str) -> list[Site]:
    """The city's open sites: what a partner can choose from."""
    return list(session.scalars(select(Site).where(
        Site.active.is_(True), Site.city == city).order_by(Site.name)))


def site_id_for_code(session: Session, code: str) -> int | None:
    return session.scalar(select(Site.id).where(Site.code == code, Site.active.is_(True)))


def known_features(session: Session) -> list[str]:
    """Bed features that exist somewhere (what a partner can ask for as a need)."""
    features: set[str] = set()
    for row in session.scalars(select(Bed.features)):
        features.update(row or [])
    return sorted(features)
