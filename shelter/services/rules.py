"""The app's side of the rule book: ask :mod:`allocator.rulebook`, word its answer.

The rules themselves live in ``allocator/rulebook.py`` only. This module feeds it the
database's facts (a person, a bed and its site; who is barred from where tonight; where a
keep-apart partner is) and turns its reason codes into the sentences staff read. Hand
changes, pre-booking (web and API), the allocation input, check-in and the demo data all
come through here, so they cannot disagree with the solver.
"""
from __future__ import annotations

from collections.abc import Iterable
from dataclasses import dataclass
from datetime import date
from typing import Any

from flask import current_app, has_app_context
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session

from allocator.rulebook import SAFETY_CATEGORIES, Reason, ban_applies, bed_reasons
from shelter.i18n import _, _l
from shelter.models import (
    Bed, ColdNight, Hold, KeepApart, Person, Placement, Restriction, Room, SafetyExemption, Site,
)
from shelter.words import feature

GENDER_WORDS = {"women": _l("women only"), "men": _l("men only")}
#: The gender-rule sentence of a women-only or men-only bed (whole sentences: word order).
GENDER_SENTENCES = {"women": _l("Gender rule: this bed is for women only."),
                    "men": _l("Gender rule: this bed is for men only.")}


# --- facts of a person --------------------------------------------------------------------

@dataclass(frozen=True)
class Facts:
    """What the rule book needs to know of a person on a night."""

    gender: str
    needs: frozenset[str]
    age: int | None


def facts_of(person: Person, night: date, needs: Iterable[str] = ()) -> Facts:
    """The person's gender, the bed features needed (their own and this request's) and age
    on the night (unknown when no birth year is recorded)."""
    age = person.age_on(night.year)
    return Facts(person.gender.value, frozenset(needs) | frozenset(person.needs or []),
                 age if age is not None and age >= 0 else None)


def reasons_for_bed(facts: Facts, bed: Bed, *, barred_sites: frozenset[int] | set[int] = frozenset(),
                    partner_sites: frozenset[int] | set[int] = frozenset()) -> tuple[Reason, ...]:
    """The rule book's answer for a database bed (room and site loaded)."""
    site = bed.room.site
    return bed_reasons(gender=facts.gender, needs=facts.needs, age=facts.age,
                       bed_gender=bed.room.gender.value, bed_features=bed.features or (),
                       min_age=site.min_age, max_age=site.max_age,
                       barred=site.id in barred_sites, partner_at_site=site.id in partner_sites)


def reasons_for_input(request: dict[str, Any], bed: dict[str, Any], site: dict[str, Any] | None,
                      *, barred: bool = False, partner_at_site: bool = False) -> tuple[Reason, ...]:
    """The rule book's answer for the allocator-input shape (``build_night``'s dicts)."""
    site = site or {}
    return bed_reasons(gender=request["gender"], needs=request.get("needs", ()),
                       age=request.get("age"), bed_gender=bed["gender"],
                       bed_features=bed.get("features", ()), min_age=site.get("min_age"),
                       max_age=site.get("max_age"), barred=barred,
                       partner_at_site=partner_at_site)


# --- who is barred from where, and where partners are ----------------------------------------

ALL_SITES = -1  # in a barred set: every site


def barred_sites(session: Session, person_ids: Iterable[int] | Any, night: date,
                 sites: Iterable[Site] | None = None) -> dict[int, set[int]]:
    """Sites each person may not sleep at on ``night``: a site ban names its site, a ban
    with neither site nor area bars every site, and an exclusion order from an area bars
    every site in that area. On a cold night of a site's city, bans whose category is not
    a safety one are suspended there (the rule book's ban_applies). A ban staff chose to set aside for one person's booking that
    night (SafetyExemption) does not count that night. ``person_ids`` may be a list or a
    subquery; ``sites`` limits the answer (default: every site)."""
    site_list = list(sites) if sites is not None else list(session.scalars(select(Site)))
    in_area: dict[int, set[int]] = {}
    for s in site_list:
        if s.area_id is not None:
            in_area.setdefault(s.area_id, set()).add(s.id)
    every = {s.id for s in site_list}
    out: dict[int, set[int]] = {}
    kept = select(SafetyExemption.restriction_id).where(
        SafetyExemption.night == night, SafetyExemption.restriction_id.is_not(None))
    cold = set(session.scalars(select(ColdNight.city).where(ColdNight.night == night)))
    city_of = {s.id: s.city for s in site_list}
    keeps = safety_categories()
    rows = session.execute(select(Restriction.person_id, Restriction.site_id, Restriction.area_id,
                                  Restriction.category)
                           .where(Restriction.person_id.in_(person_ids),
                                  Restriction.in_force_on(night), Restriction.id.not_in(kept)))
    for person_id, site_id, area_id, category in rows:
        found = out.setdefault(person_id, set())
        if site_id is not None:
            covered = {site_id}
        elif area_id is not None:
            covered = in_area.get(area_id, set())
        else:
            covered = every
        found |= {s for s in covered if ban_applies(
            category, cold_night=city_of.get(s) in cold, area_order=area_id is not None,
            safety_categories=keeps)}
    return out


def safety_categories() -> frozenset[str]:
    """Ban categories never suspended on a cold night (setting COLD_NIGHT_KEEPS_BANS)."""
    if has_app_context():
        return frozenset(current_app.config.get("COLD_NIGHT_KEEPS_BANS", SAFETY_CATEGORIES))
    return SAFETY_CATEGORIES


def keep_apart_in_force(night: date) -> Any:
    """SQL: keep-apart pairs in force on ``night`` that staff did not set aside for it."""
    kept = select(SafetyExemption.keep_apart_id).where(
        SafetyExemption.night == night, SafetyExemption.keep_apart_id.is_not(None))
    return and_(KeepApart.in_force_on(night), KeepApart.id.not_in(kept))


def partners_of(session: Session, person_id: int, night: date) -> set[int]:
    """People the person must be kept apart from on ``night``."""
    pairs = session.execute(select(KeepApart.person_a_id, KeepApart.person_b_id).where(
        or_(KeepApart.person_a_id == person_id, KeepApart.person_b_id == person_id),
        keep_apart_in_force(night))).all()
    return {b if a == person_id else a for a, b in pairs}


def partner_sites(session: Session, person_id: int, night: date) -> set[int]:
    """Sites where a keep-apart partner of the person holds a bed or is placed tonight."""
    return sites_of(session, partners_of(session, person_id, night), night)


def sites_of(session: Session, people: int | set[int], night: date) -> set[int]:
    """Sites where these people hold a bed or are placed (proposed, confirmed, checked in)."""
    others = {people} if isinstance(people, int) else people
    if not others:
        return set()
    held = select(Hold.site_id).where(Hold.person_id.in_(others), Hold.night == night,
                                      Hold.is_active)
    placed = select(Room.site_id).join(Bed, Bed.room_id == Room.id).join(
        Placement, Placement.bed_id == Bed.id).where(
        Placement.person_id.in_(others), Placement.night == night, Placement.is_active)
    return set(session.scalars(held)) | set(session.scalars(placed))


def bed_allowed_reasons(session: Session, person: Person, bed: Bed, night: date,
                        needs: Iterable[str] = ()) -> tuple[Reason, ...]:
    """Everything the rule book says against ``person`` sleeping in ``bed`` on ``night``,
    with the person's bans, exclusion orders and keep-apart partners read from the
    database (used by check-in and hand moves of confirmed placements)."""
    barred = barred_sites(session, [person.id], night, [bed.room.site]).get(person.id, set())
    return reasons_for_bed(facts_of(person, night, needs), bed, barred_sites=barred,
                           partner_sites=partner_sites(session, person.id, night))


# --- words ------------------------------------------------------------------------------

def sentence(reason: Reason) -> str:
    """What staff read for a rule-book reason code (in the request's language)."""
    p = reason.params
    if reason.code == "gender":
        if p.get("bed_gender") in GENDER_SENTENCES:
            return str(GENDER_SENTENCES[p["bed_gender"]])
        return _("Gender rule: the room's gender rule does not admit the person.")
    if reason.code == "features":
        if not p.get("missing"):
            return _("Bed features: the bed lacks a feature the person needs.")
        return _("Bed features: the person needs %(features)s, which this bed does not have.",
                 features=", ".join(feature(f) for f in p["missing"]))
    if reason.code == "age_unknown":
        return _("Age limit: this site has an age limit and the person's age is not recorded.")
    if reason.code == "age" and p.get("age") is None:
        return _("Age limit: the person's age is outside this site's limits.")
    if reason.code == "age":
        if p.get("max_age") is None:
            return _("Age limit: this site admits ages %(low)s and over; the person is "
                     "%(age)s.", low=p.get("min_age") or 0, age=p.get("age"))
        return _("Age limit: this site admits ages %(low)s–%(high)s; the person is %(age)s.",
                 low=p.get("min_age") or 0, high=p.get("max_age"), age=p.get("age"))
    if reason.code == "barred":
        return _("Ban: the person is barred from this site tonight.")
    if reason.code == "keep_apart":
        return _("Keep-apart: someone this person must be kept apart from is placed or held "
                 "at this site tonight.")
    if reason.code == "out_of_service":
        return _("The held bed is out of service tonight.")
    return reason.code


def sentences(reasons: Iterable[Reason]) -> list[str]:
    return [sentence(r) for r in reasons]
