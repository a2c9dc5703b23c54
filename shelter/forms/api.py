"""Validation of the JSON API's input: every problem is reported with the field it is in,
as {"field": ..., "reason": ...}, so the API can answer 422 without guessing. `field` is a
stable identifier; `reason` is for people, in the call's language."""
from __future__ import annotations

import re
from datetime import date
from typing import Any

from shelter.clock import FIRST_NIGHT, LAST_NIGHT, night_in_range
from shelter.i18n import _, ngettext
from shelter.models import Gender
from shelter.services.people import birth_year_problem
from shelter.services.prebooking import PersonSpec

_DATE = re.compile(r"^\d{4}-\d{2}-\d{2}$")


class ApiInputError(ValueError):
    def __init__(self, errors: list[dict[str, str]]) -> None:
        super().__init__("; ".join(f"{e['field']}: {e['reason']}" for e in errors))
        self.errors = errors


def parse_night(value: Any, field: str = "night") -> date:
    """A night as YYYY-MM-DD. Raises ApiInputError."""
    if isinstance(value, str) and _DATE.match(value):
        try:
            night = date.fromisoformat(value)
        except ValueError:
            pass
        else:
            if night_in_range(night):
                return night
            # ISO dates: the form the field takes (API users are programs' authors).
            raise ApiInputError([{"field": field, "reason": _(
                "a night between %(first)s and %(last)s", first=FIRST_NIGHT.isoformat(),
                last=LAST_NIGHT.isoformat())}])
    raise ApiInputError([{"field": field, "reason": _("a date as YYYY-MM-DD")}])


def _text(value: Any, field: str, errors: list[dict[str, str]], max_len: int) -> str | None:
    """A non-empty printable string (NUL and lone surrogates are refused: the databases
    cannot store them)."""
    if value is None:
        return None
    if not isinstance(value, str):
        errors.append({"field": field, "reason": _("must be a string")})
        return None
    value = value.strip()
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        errors.append({"field": field, "reason": _("contains characters that are not valid text")})
        return None
    if not value or not value.isprintable():
        errors.append({"field": field, "reason": _("must be non-empty printable text")})
        return None
    if len(value) > max_len:
        errors.append({"field": field, "reason": ngettext(
            "at most %(num)d character", "at most %(num)d characters", max_len)})
        return None
    return value


def parse_hold(body: Any, *, features: list[str], current_year: int) -> dict[str, Any]:
    """The POST /holds body -> {"night", "person": PersonSpec, "site": code|None, "needs"}.
    Raises ApiInputError listing every bad field."""
    if not isinstance(body, dict):
        raise ApiInputError([{"field": "body", "reason": _("a JSON object is required")}])
    errors: list[dict[str, str]] = []
    night = None
    try:
        night = parse_night(body.get("night"))
    except ApiInputError as exc:
        errors.extend(exc.errors)
    person = body.get("person")
    spec = PersonSpec()
    if not isinstance(person, dict):
        errors.append({"field": "person",
                       "reason": _("an object with a ref, or a name and gender")})
    elif person.get("ref") is not None:
        spec.ref = _text(person.get("ref"), "person.ref", errors, 64)
    else:
        spec.name = _text(person.get("name"), "person.name", errors, 120)
        spec.alias = _text(person.get("alias"), "person.alias", errors, 120)
        if not (spec.name or spec.alias) and not any(
                e["field"] in ("person.name", "person.alias") for e in errors):
            errors.append({"field": "person.name", "reason": _("give a name, an alias or a ref")})
        year = person.get("birth_year")
        problem = (_("must be a whole year") if year is not None and type(year) is not int
                   else birth_year_problem(year, current_year))
        if problem:
            errors.append({"field": "person.birth_year", "reason": problem})
        else:
            spec.birth_year = year
        gender = person.get("gender")
        if gender not in [g.value for g in Gender]:
            errors.append({"field": "person.gender", "reason": _(
                "one of %(values)s", values=", ".join(g.value for g in Gender))})
        else:
            spec.gender = Gender(gender)
    site = body.get("site")
    if site is not None:
        site = _text(site, "site", errors, 40)
    needs = body.get("needs") or []
    if not isinstance(needs, list) or not all(isinstance(n, str) for n in needs):
        errors.append({"field": "needs", "reason": _("a list of bed features")})
        needs = []
    elif unknown := sorted(set(needs) - set(features)):
        errors.append({"field": "needs", "reason": ngettext(
            "unknown bed feature: %(names)s", "unknown bed features: %(names)s", len(unknown),
            names=", ".join(n.encode("unicode_escape").decode()[:40] for n in unknown[:3]))})
    if errors:
        raise ApiInputError(errors)
    return {"night": night, "person": spec, "site": site, "needs": sorted(set(needs))}
