"""The users' language: Flask-Babel, which language a request is in, and every date, time and
number a person reads (one place for each, STYLE.md "One rule, one place").

Languages: Norwegian bokmål (``nb``) and English (``en``); the catalogues live in
``shelter/translations`` (``make translations`` extracts and compiles them; ``make install``
compiles). Which language a request is in:

1. a logged-in user's stored choice (the switch in the header), else the instance default;
2. before log-in: a choice made with the switch (kept in the session), else the browser's
   Accept-Language, else the instance default;
3. outside a request (CLI, scheduled jobs, mails): the instance default, the setting
   ``SHELTER_LANGUAGE`` (``nb`` unless set).

Times in the database are naive UTC; everything shown is local (the ``TIMEZONE`` setting),
with the zone named where a time is a record (audit, log-ins): :func:`stamp`.
"""
from __future__ import annotations

from datetime import date, datetime, time
from decimal import Decimal
from typing import Any

from babel import Locale
from babel.dates import format_skeleton
from flask import Flask, current_app, has_app_context, has_request_context, request, session
from flask_babel import Babel, get_locale, gettext, lazy_gettext, ngettext, refresh
from flask_babel import format_date as _format_date
from flask_babel import format_decimal, format_number, format_percent
from flask_login import current_user

from shelter import clock

LANGUAGES: dict[str, str] = {"nb": "Norsk (bokmål)", "en": "English"}
DEFAULT_LANGUAGE = "nb"
#: Accept-Language tags that mean bokmål: "no" and nynorsk readers are served bokmål.
_ALIASES = {"no": "nb", "nn": "nb", "nb": "nb", "en": "en"}

_ = gettext
_l = lazy_gettext
__all__ = ["_", "_l", "gettext", "lazy_gettext", "ngettext", "LANGUAGES", "language",
           "day", "day_short", "day_month", "weekday", "hm", "stamp", "number", "decimal",
           "percent", "init_app"]


def instance_language() -> str:
    if has_app_context():
        value = str(current_app.config.get("SHELTER_LANGUAGE", DEFAULT_LANGUAGE))
        return value if value in LANGUAGES else DEFAULT_LANGUAGE
    return DEFAULT_LANGUAGE


def _from_browser() -> str | None:
    for tag, _quality in request.accept_languages:
        found = _ALIASES.get(tag.lower().replace("_", "-").split("-")[0])
        if found:
            return found
    return None


def select_language() -> str:
    """The language of this request (see the module docstring)."""
    if not has_request_context():
        return instance_language()
    if current_user and current_user.is_authenticated:
        chosen = getattr(current_user, "language", None)
        return chosen if chosen in LANGUAGES else instance_language()
    chosen = session.get("language")
    if chosen in LANGUAGES:
        return str(chosen)
    return _from_browser() or instance_language()


def language() -> str:
    """The current language code ("nb" or "en")."""
    locale = get_locale()
    return locale.language if locale is not None else instance_language()


# --- dates, times, numbers -------------------------------------------------------------

def _as_local(value: datetime) -> datetime:
    """Naive datetimes are UTC (the database's); aware ones are converted."""
    return clock.to_local(value) if value.tzinfo is None else value.astimezone(clock.zone())


def day(value: date | datetime | None) -> str:
    """"onsdag 2. desember 2026" / "Wednesday, December 2, 2026"."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = _as_local(value).date()
    return _format_date(value, "full")


def _skeleton(skeleton: str, value: date | datetime | None) -> str:
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = _as_local(value).date()
    return format_skeleton(skeleton, value, locale=get_locale())


def day_short(value: date | datetime | None) -> str:
    """"ons. 2. des. 2026" / "Wed, Dec 2, 2026"."""
    return _skeleton("yMMMEd", value)


def day_month(value: date | datetime | None) -> str:
    """"2. des." / "Dec 2" (chart labels, tables of nights)."""
    return _skeleton("MMMd", value)


def weekday(value: date | datetime | None) -> str:
    """"ons." / "Wed"."""
    return _skeleton("E", value)


def hm(value: datetime | time | None) -> str:
    """A local time on the 24-hour clock, "21:30" (naive datetimes are UTC)."""
    if value is None:
        return ""
    if isinstance(value, datetime):
        value = _as_local(value).time()
    return f"{value.hour:02d}:{value.minute:02d}"


def stamp(value: datetime | None) -> str:
    """A moment on record, local with the zone named: "2. des. 2026 21:30 CET"."""
    if value is None:
        return ""
    local = _as_local(value)
    return f"{_skeleton('yMMMd', local.date())} {hm(local)} {local.tzname()}"


def number(value: int | float | Decimal | None) -> str:
    """"12 000" / "12,000"."""
    return "" if value is None else format_number(value)


def decimal(value: float | Decimal | None, digits: int = 1) -> str:
    """"2,5" / "2.5" with ``digits`` decimals."""
    if value is None:
        return ""
    return format_decimal(value, format="#,##0." + "0" * digits if digits else "#,##0")


def percent(value: float | None, digits: int = 0) -> str:
    """A share (0-1) as "42 %" / "42%"."""
    if value is None:
        return ""
    locale = get_locale() or Locale.parse("en")  # outside a request: as Babel's formatters
    pattern = locale.percent_formats[None].pattern  # "#,##0 %" in nb, "#,##0%" in en
    return format_percent(value, format=pattern.replace("0", "0." + "0" * digits, 1)
                          if digits else pattern)


def init_app(app: Flask) -> None:
    app.config.setdefault("SHELTER_LANGUAGE", DEFAULT_LANGUAGE)
    Babel(app, locale_selector=select_language, timezone_selector=clock.zone_name)
    # Flask-Babel caches the locale in the app context; a request decides its own (an app
    # context kept across requests, as in tests and CLI loops, must not leak the last one).
    app.before_request(refresh)
    for name in ("day", "day_short", "day_month", "weekday", "hm", "stamp", "number",
                 "decimal", "percent"):
        app.add_template_filter(globals()[name], name)

    @app.context_processor
    def language_context() -> dict[str, Any]:
        code = language()
        return {"lang": code, "languages": LANGUAGES,
                "other_language": next(c for c in LANGUAGES if c != code)}
