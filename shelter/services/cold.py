"""Cold-night mode (kuldeberedskap): on nights a manager declares cold, nobody should sleep
outside. Overflow rooms are in service (Bed.in_service_on) and bans for minor reasons are
suspended (allocator.rulebook.ban_applies, asked by rules.barred_sites); bans that keep
people safe from violence, exclusion orders and keep-apart pairs never are. The allocation
objective does not change. Services flush, never commit."""
from __future__ import annotations

from collections import Counter
from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shelter.i18n import _
from shelter.models import AllocationRun, ColdNight, User
from shelter.services import audit

MAX_NIGHTS = 31  # one declaration covers at most a month


@dataclass
class ColdNightError(ValueError):
    field: str
    message: str

    def __str__(self) -> str:
        return self.message


def cold_night(session: Session, city: str, night: date) -> ColdNight | None:
    return session.scalar(select(ColdNight).where(ColdNight.city == city, ColdNight.night == night))


def cold_nights(session: Session, city: str, start: date, end: date) -> list[ColdNight]:
    return list(session.scalars(select(ColdNight).where(
        ColdNight.city == city, ColdNight.night >= start, ColdNight.night <= end)
        .order_by(ColdNight.night)))


def declare(session: Session, *, city: str, first: date | None, last: date | None, reason: str,
            user: User | None, today: date) -> list[ColdNight]:
    """Declare `first` through `last` (default: `first` only) cold nights in `city`, with a
    reason; nights already declared are kept. Raises ColdNightError naming the field for a
    missing or past first night, a last night before the first, more than MAX_NIGHTS nights
    or no reason. Audited."""
    if first is None:
        raise ColdNightError("first", _("Give the first cold night."))
    if first < today:
        raise ColdNightError("first", _("A past night cannot be declared cold afterwards."))
    last = last or first
    if last < first:
        raise ColdNightError("last", _("The last night cannot be before the first night."))
    if (last - first).days >= MAX_NIGHTS:
        raise ColdNightError("last", _("Declare at most %(num)s nights at a time.",
                                       num=MAX_NIGHTS))
    if not (reason or "").strip():
        raise ColdNightError("reason", _("Give the reason (e.g. the forecast: -12 °C)."))
    existing = {c.night for c in cold_nights(session, city, first, last)}
    made = []
    for n in range((last - first).days + 1):
        night = first + timedelta(days=n)
        if night not in existing:
            made.append(ColdNight(city=city, night=night, reason=reason.strip(),
                                  declared_by_id=getattr(user, "id", None)))
    session.add_all(made)
    session.flush()
    audit.record(session, user, "cold_night", None,
                 f"{city}: cold nights {first} to {last} declared: {reason.strip()}")
    return made


def cancel(session: Session, cold_id: int, *, user: User | None, today: date) -> ColdNight:
    """Take back a declaration for tonight or a later night (a past night stays as it was,
    so its reports stay true). Raises ColdNightError('night'). Audited."""
    cold = session.get(ColdNight, cold_id)
    if cold is None:
        raise ColdNightError("missing", _("No such cold night."))
    if cold.night < today:
        raise ColdNightError("night", _("A past cold night stays in the record."))
    session.delete(cold)
    session.flush()
    audit.record(session, user, "cold_night_cancelled", None, f"{cold.city}: {cold.night}")
    return cold


def still_turned_away(run: AllocationRun | None) -> dict[str, Any] | None:
    """For a run on a cold night: how many were still turned away, by reason code."""
    if run is None:
        return None
    reasons = Counter(t["reason"] for t in (run.result_json or {}).get("turned_away", []))
    return {"total": sum(reasons.values()), "by_reason": dict(sorted(reasons.items()))}
