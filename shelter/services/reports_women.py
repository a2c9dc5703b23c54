"""Why women-only beds stood free on a night when women were turned away.

A free women-only bed next to a woman turned away looks like a mistake; usually a rule of
the rule book kept her out (an age-limited room, a bed feature she needs, a ban, a
keep-apart partner there). The rule book (services.rules) answers for each woman and each
free bed, so this report cannot disagree with the allocation."""
from __future__ import annotations

from collections import Counter
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, selectinload

from shelter.i18n import _, _l
from shelter.models import (
    Bed, Gender, GenderRule, Hold, Person, Placement, Request, RequestStatus, Room, Site,
)
from shelter.services.reports_stats import OCCUPIED
from shelter.services.rules import barred_sites, facts_of, partner_sites, reasons_for_bed

COLUMNS = [_l("night"), _l("site"), _l("free women-only beds"), _l("women turned away"),
           _l("why the beds stood free")]


def _free_women_beds(session: Session, city: str, night: date) -> list[Bed]:
    """Women-only beds of the city in service on `night` that nobody slept in or held."""
    slept = select(Placement.bed_id).where(Placement.night == night,
                                           Placement.status.in_(OCCUPIED))
    held = select(Hold.bed_id).where(Hold.night == night, Hold.is_active,
                                     Hold.bed_id.is_not(None))
    return list(session.scalars(
        select(Bed).join(Room, Room.id == Bed.room_id).join(Site, Site.id == Room.site_id)
        .where(Site.city == city, Room.gender == GenderRule.WOMEN, Bed.in_service_on(night),
               Bed.id.not_in(slept), Bed.id.not_in(held))
        .options(selectinload(Bed.room).selectinload(Room.site))
        .order_by(Site.name, Bed.label)))


def _women_turned_away(session: Session, city: str, night: date) -> list[Request]:
    return list(session.scalars(
        select(Request).join(Person, Person.id == Request.person_id)
        .where(Request.city == city, Request.night == night,
               Request.status == RequestStatus.TURNED_AWAY, Person.gender == Gender.WOMAN)
        .options(selectinload(Request.person))))


def _why(site: Site, blocked: Counter[str], fitted: int) -> str:
    """Whole sentences, one per reason, with how many of the women it kept out."""
    limits = f"{site.min_age or 0}–{site.max_age}" if site.max_age is not None \
        else _("%(age)s and over", age=site.min_age or 0)
    parts = [_reason(code, n, limits) for code, n in sorted(blocked.items())]
    if fitted:
        parts.append(_("Fitting every rule here: %(n)s of the women turned away (the bed "
                       "was free after the allocation, or staff left it free by hand).",
                       n=fitted))
    return " ".join(parts)


def _reason(code: str, n: int, limits: str) -> str:
    """One rule-book reason as a whole sentence (in the request's language)."""
    if code == "age":
        return _("Outside the site's age limit (%(limits)s): %(n)s of the women turned away.",
                 limits=limits, n=n)
    if code == "age_unknown":
        return _("Age not recorded, while the site has an age limit (%(limits)s): %(n)s of "
                 "the women turned away.", limits=limits, n=n)
    if code == "features":
        return _("Needing a bed feature these beds lack: %(n)s of the women turned away.", n=n)
    if code == "barred":
        return _("Banned from this site that night: %(n)s of the women turned away.", n=n)
    if code == "keep_apart":
        return _("Kept apart from someone placed or held at this site that night: %(n)s of "
                 "the women turned away.", n=n)
    if code == "gender":
        return _("Not admitted by the room's gender rule: %(n)s of the women turned away.", n=n)
    return _("Kept out by the rule %(code)s: %(n)s of the women turned away.", code=code, n=n)


def free_beds_explained(session: Session, city: str, nights: list[date]) -> list[list[Any]]:
    """One row per night and site where women-only beds stood free while women were turned
    away: how many beds, how many women, and the rule-book reasons that kept each woman
    out of the free beds there (for each woman, the free bed with the fewest reasons).
    Asks the same rule book as the allocation (services.rules), with the same facts."""
    rows: list[list[Any]] = []
    for night in nights:
        women = _women_turned_away(session, city, night)
        if not women:
            continue
        by_site: dict[int, list[Bed]] = {}
        for bed in _free_women_beds(session, city, night):
            by_site.setdefault(bed.room.site_id, []).append(bed)
        if not by_site:
            continue
        # The database facts once per woman (bans in one query), then the rule book per bed.
        sites = [beds[0].room.site for beds in by_site.values()]
        barred = barred_sites(session, [r.person_id for r in women], night, sites)
        partners = {r.person_id: partner_sites(session, r.person_id, night) for r in women}
        facts = {r.id: facts_of(r.person, night, r.needs or ()) for r in women}
        for beds in by_site.values():
            site = beds[0].room.site
            blocked: Counter[str] = Counter()
            fitted = 0
            for request in women:
                reasons = min((reasons_for_bed(facts[request.id], bed,
                                               barred_sites=barred.get(request.person_id, set()),
                                               partner_sites=partners[request.person_id])
                               for bed in beds), key=len)
                if not reasons:
                    fitted += 1
                for code in {r.code for r in reasons}:
                    blocked[code] += 1
            rows.append([night.isoformat(), site.name, len(beds), len(women),
                         _why(site, blocked, fitted)])
    return rows
