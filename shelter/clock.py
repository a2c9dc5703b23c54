"""The clock: the city's time zone, which night "tonight" is, and local times of a night.

One place for each rule of time (STYLE.md, "One rule, one place"): the time zone is the
``TIMEZONE`` setting (``SHELTER_TIMEZONE``, read in config.py), a night runs until 06:00
local time, and a site's local times on a night (hold expiry, check-in cut-off) are turned
into the naive UTC the database stores here and nowhere else.
"""
from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

from flask import current_app, has_app_context

DEFAULT_TIMEZONE = "Europe/Oslo"
#: Before 06:00 local time it is still last evening's night.
NIGHT_STARTS = time(6, 0)


#: The nights the system can hold: a date outside them is refused where it is typed (the
#: field is named), so no calculation a night or two away overflows Python's date range.
FIRST_NIGHT = date(2000, 1, 1)
LAST_NIGHT = date(2999, 12, 31)


def night_in_range(night: date) -> bool:
    return FIRST_NIGHT <= night <= LAST_NIGHT


def zone_name() -> str:
    """The instance's time zone name (the TIMEZONE setting; the default outside an app)."""
    if has_app_context():
        return str(current_app.config.get("TIMEZONE", DEFAULT_TIMEZONE))
    return DEFAULT_TIMEZONE


def zone(tz: str | None = None) -> ZoneInfo:
    return ZoneInfo(tz or zone_name())


def utcnow() -> datetime:
    """Now as naive UTC, the way the database stores times."""
    return datetime.now(UTC).replace(tzinfo=None)


def to_local(value: datetime, tz: str | None = None) -> datetime:
    """A naive-UTC timestamp from the database as an aware local datetime."""
    return value.replace(tzinfo=UTC).astimezone(zone(tz))


def tonight(now: datetime | None = None, tz: str | None = None) -> date:
    """The night (the evening's date) in local time: before 06:00 it is still last
    evening's night. ``now`` is naive UTC (default: now)."""
    local = to_local(now or utcnow(), tz)
    night = local.date()
    return night - timedelta(days=1) if local.time() < NIGHT_STARTS else night


def local_on(night: date, at: time, tz: str | None = None) -> datetime:
    """Local time ``at`` belonging to ``night``, as naive UTC. A time before noon belongs to
    the morning after the evening (a 01:00 cut-off is on the next day)."""
    day = night if at >= time(12, 0) else night + timedelta(days=1)
    return datetime.combine(day, at, tzinfo=zone(tz)).astimezone(UTC).replace(tzinfo=None)


def is_tonight(night: date, now: datetime | None = None) -> bool:
    """Changes "within the night" (undo, cancel) are allowed only while it is that night."""
    return night == tonight(now)


def local_midnight(day: date, tz: str | None = None) -> datetime:
    """The start of a local calendar date (00:00 local time) as naive UTC: the bound a
    "from date" / "to date" filter on stored timestamps uses."""
    return datetime.combine(day, time(0), tzinfo=zone(tz)).astimezone(UTC).replace(tzinfo=None)
