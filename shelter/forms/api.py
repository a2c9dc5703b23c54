"""Validation of the JSON API's input: every problem is reported with the field it is in,
as {"field": ..., "reason": ...}, so the API can answer 422 without guessing."""
from __future__ import annotations

import re
from datetime import date
from typing import Any

from shelter.clock import FIRST_NIGHT, LAST_NIGHT, night_in_range
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
            raise ApiInputError([{"field": field, "reason": (
                f"a night between {FIRST_NIGHT.isoformat()} and {LAST_NIGHT.isoformat()}")}])
    raise ApiInputError([{"field": field, "reason": "a date as YYYY-MM-DD"}])


def _text(value: Any, field: str, errors: list[dict[str, str]], max_len: int) -> str | None:
    """A non-empty printable string (NUL and lone surrogates are refused: the databases
    cannot store them)."""
    if value is None:
        return None
    if not isinstance(value, str):
        errors.append({"field": field, "reason": "must be a string"})
        return None
    value = value.strip()
    try:
        value.encode("utf-8")
    except UnicodeEncodeError:
        errors.append({"field": field, "reason": "contains characters that are not valid text"})
        return None
    if not value or not value.isprintable():
        errors.append({"field": field, "reason": "must be non-empty printable text"})
        return None
    if len(value) > max_len:
        errors.append({"field": field, "reason": f"at most {max_len} characters"})
        return None
    return value


def parse_hold(body: Any, *, features: list[str], current_year: int) -> dict[str, Any]:
    """The POST /holds body -> {"night", "person": PersonSpec, "site": code|None, "needs"}.
    Raises ApiInputError listing every bad field."""
    if not isinstance(body, dict):
        raise ApiInputError([{"field": "body", "reason": "a JSON object is required"}])
    errors: list[dict[str, str]] = []
    night = None
    try:
        night = parse_night(body.get("night"))
    except ApiInputError as exc:
        errors.extend(exc.errors)
    person = body.get("person")
    spec = PersonSpec()
    if not isinstance(person, dict):
        errors.append({"field": "person", "reason": "an object with a ref, or a name and gender"})
    elif person.get("ref") is not None:
        spec.ref = _text(person.get("ref"), "person.ref", errors, 64)
    else:
        spec.name = _text(person.get("name"), "person.name", errors, 120)
        spec.alias = _text(person.get("alias"), "person.alias", errors, 120)
        if not (spec.name or spec.alias) and not any(
                e["field"] in ("person.name", "person.alias") for e in errors):
            errors.append({"field": "person.name", "reason": "give a name, an alias or a ref"})
        year = person.get("birth_year")
        problem = ("must be a whole year" if year is not None and type(year) is not int
                   else birth_year_problem(year, current_year))
        if problem:
            errors.append({"field": "person.birth_year", "reason": problem})
        else:
            spec.birth_year = year
        gender = person.get("gender")
        if gender not in [g.value for g in Gender]:
            errors.append({"field": "person.gender",
                           "reason": "one of " + ", ".join(g.value for g in Gender)})
        else:
            spec.gender = Gender(gender)
    site = body.get("site")
    if site is not None:
        site = _text(site, "site", errors, 40)
    needs = body.get("needs") or []
    if not isinstance(needs, list) or not all(isinstance(n, str) for n in needs):
        errors.append({"field": "needs", "reason": "a list of bed features"})
        needs = []
    elif unknown := sorted(set(needs) - set(features)):
        errors.append({"field": "needs", "reason": "unknown bed feature: " + ", ".join(
            n.encode("unicode_escape").decode()[:40] for n in unknown[:3])})
    if errors:
        raise ApiInputError(errors)
    return {"night": night, "person": spec, "site": site, "needs": sorted(set(needs))}
