"""Safety records: site bans (Restriction) and keep-apart pairs (KeepApart).

Bans must be specific and time-limited (DOMAIN.md: exclusion orders hit people with
legitimate reasons to be somewhere), so each names one site or all sites and its dates.
Reasons are for staff only: partner organisations never see them.

A record counts on a night when it has not been ended (`ended_at` is null), has started
(`starts_on` <= night) and has not run out (`ends_on` null or >= night). `active_*` gives the
records in force on one night (for the allocation); `current_*` also lists upcoming ones."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date, timedelta

from flask import current_app, has_app_context
from sqlalchemy import and_, or_, select
from sqlalchemy.orm import Session, joinedload

from allocator.rulebook import BAN_CATEGORIES
from shelter import clock
from shelter.i18n import _
from shelter.models import Area, Authority, KeepApart, Person, Restriction, Site, User, utcnow
from shelter.services import audit
from shelter.services.safety_conflicts import (
    Decision, DecisionsNeeded, affected_by_ban, affected_by_keep_apart, apply_decisions,
    check_decisions,
)


@dataclass
class SafetyError(ValueError):
    """Input that cannot be saved; `errors` maps form field names to reasons."""

    errors: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return "; ".join(f"{k}: {v}" for k, v in self.errors.items())


def active_restrictions(session: Session, night: date) -> list[Restriction]:
    """Bans in force on `night` (one query, person and site loaded)."""
    return list(session.scalars(
        select(Restriction).options(joinedload(Restriction.person), joinedload(Restriction.site))
        .where(Restriction.in_force_on(night)).order_by(Restriction.id)))


def active_keep_aparts(session: Session, night: date) -> list[KeepApart]:
    """Keep-apart pairs in force on `night` (one query, both people loaded)."""
    return list(session.scalars(
        select(KeepApart).options(joinedload(KeepApart.person_a), joinedload(KeepApart.person_b))
        .where(KeepApart.in_force_on(night)).order_by(KeepApart.id)))


def current_bans(session: Session, today: date, person_id: int | None = None) -> list[Restriction]:
    """Bans in force today or starting later (not ended, not run out)."""
    stmt = (select(Restriction).options(joinedload(Restriction.person), joinedload(Restriction.site))
            .where(Restriction.not_over_on(today)).order_by(Restriction.starts_on, Restriction.id))
    if person_id is not None:
        stmt = stmt.where(Restriction.person_id == person_id)
    return list(session.scalars(stmt))


def current_keep_aparts(session: Session, today: date,
                        person_id: int | None = None) -> list[KeepApart]:
    """Keep-apart pairs in force today or starting later."""
    stmt = (select(KeepApart).options(joinedload(KeepApart.person_a), joinedload(KeepApart.person_b))
            .where(KeepApart.not_over_on(today)).order_by(KeepApart.starts_on, KeepApart.id))
    if person_id is not None:
        stmt = stmt.where(or_(KeepApart.person_a_id == person_id, KeepApart.person_b_id == person_id))
    return list(session.scalars(stmt))


# A first night before this, or more than a year after tonight, is a typing error.
EARLIEST = date(2000, 1, 1)
SANE_DAYS = 366


def _check_dates(errors: dict[str, str], starts_on: date | None, ends_on: date | None) -> None:
    today = clock.tonight()
    if starts_on is None:
        errors["starts_on"] = _("Give the first night it applies.")
    elif starts_on < EARLIEST or (starts_on - today).days > SANE_DAYS:
        errors["starts_on"] = _("The first night must be after 2000 and within a year from "
                                "tonight.")
    elif ends_on is not None and ends_on < starts_on:
        errors["ends_on"] = _("The last night cannot be before the first night.")


def _check_ban_end(errors: dict[str, str], starts_on: date | None, ends_on: date | None,
                   review_on: date | None) -> None:
    """Bans are specific and time-limited: each has a last night or a review date, within
    the longest a ban may run (setting BAN_MAX_DAYS) of its first night."""
    if starts_on is None or "starts_on" in errors or "ends_on" in errors:
        return
    longest = max_ban_days()
    if ends_on is None and review_on is None:
        errors["ends_on"] = _("Give the last night or a review date: bans are time-limited.")
    elif ends_on is not None and (ends_on - starts_on).days >= longest:
        errors["ends_on"] = _("A ban may run at most %(days)s nights; choose an earlier last "
                              "night or a review date.", days=longest)
    if review_on is not None and not 0 <= (review_on - starts_on).days < longest:
        errors["review_on"] = _("The review date must be within %(days)s nights of the first "
                                "night, not before it.", days=longest)


def max_ban_days() -> int:
    """The longest a ban may run before its end or review (setting BAN_MAX_DAYS)."""
    return int(current_app.config.get("BAN_MAX_DAYS", 365)) if has_app_context() else 365


def bans_due(session: Session, today: date, days: int = 7) -> list[Restriction]:
    """Bans not ended whose review date or last night falls within `days` nights of today,
    or whose review date has passed (overdue), soonest first."""
    soon = today + timedelta(days=days)
    stmt = (select(Restriction).options(joinedload(Restriction.person), joinedload(Restriction.site),
                                        joinedload(Restriction.area))
            .where(Restriction.ended_at.is_(None),
                   or_(Restriction.review_on <= soon,
                       and_(Restriction.ends_on >= today, Restriction.ends_on <= soon))))
    due = list(session.scalars(stmt))
    return sorted(due, key=lambda b: min(d for d in (b.review_on, b.ends_on) if d is not None))


def set_review(session: Session, ban_id: int, review_on: date | None, *, user: User | None) -> Restriction:
    """Reviewed: the ban runs on with a new review date (within BAN_MAX_DAYS of tonight).
    Raises SafetyError('review_on') or ('missing'). Audited."""
    ban = session.get(Restriction, ban_id)
    if ban is None:
        raise SafetyError({"missing": _("No such ban.")})
    today = clock.tonight()
    if review_on is None or not 0 < (review_on - today).days < max_ban_days():
        raise SafetyError({"review_on": _("Choose a review date after tonight and within "
                                          "%(days)s nights.", days=max_ban_days())})
    ban.review_on = review_on
    session.flush()
    audit.record(session, user, "review_ban", ban.person_id, f"ban #{ban.id}: next review {review_on}")
    return ban


def _merged_away(person: Person) -> str:
    return _("Record #%(number)s was merged into #%(into)s: use that number.",
             number=person.id, into=person.merged_into_id)


def add_ban(session: Session, *, person_id: int | None, site_id: int | None, starts_on: date | None,
            ends_on: date | None, reason: str, issued_by: str = "", user: User | None,
            area_id: int | None = None, authority: str = "staff", category: str = "violence",
            review_on: date | None = None,
            decisions: dict[str, Decision] | None = None) -> Restriction:
    """Ban a person from one site, from every site in an area (an exclusion order), or from
    all sites when neither is given, for the given nights. Audited. Raises SafetyError for
    an unknown person, site or area, both a site and an area, missing/backwards dates or an
    empty reason; DecisionsNeeded when the ban conflicts with the person's bookings and
    `decisions` does not settle each of them (nothing is saved then)."""
    errors: dict[str, str] = {}
    person = session.get(Person, person_id) if person_id is not None else None
    if person is None:
        errors["person_id"] = _("No person with that number.")
    elif person.merged_into_id is not None:  # a ban on a merged-away record would bar no one
        errors["person_id"] = _merged_away(person)
    if site_id is not None and session.get(Site, site_id) is None:
        errors["site_id"] = _("No such site.")
    if area_id is not None and session.get(Area, area_id) is None:
        errors["area_id"] = _("No such area.")
    if site_id is not None and area_id is not None:
        errors["area_id"] = _("Choose a site or an area, not both.")
    if authority not in {a.value for a in Authority}:
        errors["authority"] = _("Choose who issued it.")
    if category not in BAN_CATEGORIES:
        errors["category"] = _("Choose the kind of ban.")
    _check_dates(errors, starts_on, ends_on)
    _check_ban_end(errors, starts_on, ends_on, review_on)
    if not (reason or "").strip():
        errors["reason"] = _("Give the reason (staff only; partners never see it).")
    if errors:
        raise SafetyError(errors)
    assert person_id is not None and starts_on is not None
    affected = affected_by_ban(session, person_id=person_id, site_id=site_id, area_id=area_id,
                               starts_on=starts_on, ends_on=ends_on)
    problems = check_decisions(affected, decisions or {})
    if problems:
        raise DecisionsNeeded(affected, problems)
    ban = Restriction(person_id=person_id, site_id=site_id, area_id=area_id,
                      authority=Authority(authority), category=category, review_on=review_on,
                      starts_on=starts_on, ends_on=ends_on,
                      reason=reason.strip(), issued_by=(issued_by or "").strip(),
                      created_by_id=getattr(user, "id", None))
    session.add(ban)
    session.flush()
    apply_decisions(session, affected, decisions or {}, restriction=ban, user=user)
    where = f"site {ban.site.code}" if ban.site else (
        f"area {ban.area.name}" if ban.area else "all sites")
    audit.record(session, user, "ban", person_id, f"ban #{ban.id} at {where} from {starts_on} to {ends_on or 'open'}")
    return ban


def add_keep_apart(session: Session, *, person_a_id: int | None, person_b_id: int | None,
                   starts_on: date | None, ends_on: date | None, reason: str,
                   user: User | None, decisions: dict[str, Decision] | None = None) -> KeepApart:
    """Record that two people may not share a site; stored with the smaller id first.
    Audited for both. Raises SafetyError for a pair of one person with themselves, an unknown
    person, a pair that is already active, bad dates or an empty reason; DecisionsNeeded
    when both already have bookings at one site on a covered night and `decisions` does not
    settle each of them (nothing is saved then)."""
    errors: dict[str, str] = {}
    for fname, pid in (("person_a_id", person_a_id), ("person_b_id", person_b_id)):
        found = session.get(Person, pid) if pid is not None else None
        if found is None:
            errors[fname] = _("No person with that number.")
        elif found.merged_into_id is not None:
            errors[fname] = _merged_away(found)
    if not errors and person_a_id == person_b_id:
        errors["person_b_id"] = _("Choose two different people.")
    _check_dates(errors, starts_on, ends_on)
    if not (reason or "").strip():
        errors["reason"] = _("Give the reason (staff only).")
    if errors:
        raise SafetyError(errors)
    a, b = sorted((int(person_a_id), int(person_b_id)))  # type: ignore[arg-type]
    today = starts_on or utcnow().date()
    duplicate = session.scalar(select(KeepApart.id).where(
        KeepApart.person_a_id == a, KeepApart.person_b_id == b, KeepApart.not_over_on(today)))
    if duplicate is not None:
        raise SafetyError({"person_b_id": _("These two are already kept apart (an active record "
                                            "exists).")})
    assert starts_on is not None
    affected = affected_by_keep_apart(session, person_a_id=a, person_b_id=b, starts_on=starts_on,
                                      ends_on=ends_on)
    problems = check_decisions(affected, decisions or {})
    if problems:
        raise DecisionsNeeded(affected, problems)
    pair = KeepApart(person_a_id=a, person_b_id=b, starts_on=starts_on, ends_on=ends_on,
                     reason=reason.strip(), created_by_id=getattr(user, "id", None))
    session.add(pair)
    session.flush()
    apply_decisions(session, affected, decisions or {}, pair=pair, user=user)
    for pid, other in ((a, b), (b, a)):
        audit.record(session, user, "keep_apart", pid, f"keep apart #{pair.id} from person #{other}")
    return pair


def _end(record: Restriction | KeepApart, user: User | None, today: date) -> None:
    """'End' = ended now by this user; the last night becomes today (or its first night when
    it had not started yet, so the dates stay ordered). Ended records never count again."""
    record.ended_at = utcnow()
    record.ended_by_id = getattr(user, "id", None)
    record.ends_on = max(today, record.starts_on)


def end_ban(session: Session, ban_id: int, *, user: User | None, today: date) -> Restriction:
    """End a ban (audited). Raises SafetyError if there is no such ban or it already ended."""
    ban = session.get(Restriction, ban_id)
    if ban is None:
        raise SafetyError({"missing": _("No such ban.")})
    if ban.ended_at is not None:
        raise SafetyError({"ban": _("This ban has already been ended.")})
    _end(ban, user, today)
    session.flush()
    audit.record(session, user, "end_ban", ban.person_id, f"ban #{ban.id} ended")
    return ban


def end_keep_apart(session: Session, pair_id: int, *, user: User | None, today: date) -> KeepApart:
    """End a keep-apart pair (audited for both). Raises SafetyError if missing or ended."""
    pair = session.get(KeepApart, pair_id)
    if pair is None:
        raise SafetyError({"missing": _("No such keep-apart record.")})
    if pair.ended_at is not None:
        raise SafetyError({"pair": _("This keep-apart record has already been ended.")})
    _end(pair, user, today)
    session.flush()
    for pid in (pair.person_a_id, pair.person_b_id):
        audit.record(session, user, "end_keep_apart", pid, f"keep apart #{pair.id} ended")
    return pair
