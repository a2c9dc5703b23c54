"""JSON in and out for :class:`~allocator.problem.Night`.

Input is first checked against the shipped ``night.schema.json`` (Draft 2020-12) so a bad
file is refused with the path of the first offending item; the dataclasses then check the
rules a schema cannot express (duplicates, unknown references, holds that cannot be honoured).
"""

from __future__ import annotations

import json
from typing import Any, Mapping

from allocator.gcpause import paused_gc
from allocator.problem import (Ban, Bed, Hold, InputError, Night, Policy, Request, Site,
                               validate_against_schema)


def parse_json(obj: str | bytes | Mapping[str, Any]) -> Any:
    """Parse JSON text (or pass a parsed object through); raises InputError for invalid JSON."""
    if isinstance(obj, (str, bytes, bytearray)):
        try:
            return json.loads(obj)
        except json.JSONDecodeError as exc:
            raise InputError(f"invalid JSON: {exc.msg} at line {exc.lineno} column {exc.colno}",
                             "(input)") from None
    return obj


def night_from_json(obj: str | bytes | Mapping[str, Any]) -> Night:
    """Validate against the schema and build a Night; raises InputError naming the bad item."""
    with paused_gc():
        data = parse_json(obj)
        validate_against_schema(data, "night.schema.json")
        return build_night(data)


def build_night(data: Mapping[str, Any]) -> Night:
    """The checked Night of schema-valid parsed JSON; raises InputError naming the bad item."""
    policy = data.get("policy", {})
    sets: dict[tuple[str, ...], frozenset[str]] = {(): frozenset()}  # equal sets shared

    def as_set(items: list[str] | None) -> frozenset[str]:
        key = tuple(items) if items else ()
        found = sets.get(key)
        if found is None:
            found = sets[key] = frozenset(key)
        return found

    return Night(
        night=data["night"],
        sites=tuple(Site(id=s["id"], name=s.get("name"), min_age=s.get("min_age"),
                         max_age=s.get("max_age")) for s in data.get("sites", [])),
        beds=tuple(Bed(b["id"], b["site"], b.get("gender", "mixed"), as_set(b.get("features")))
                   for b in data["beds"]),
        requests=tuple(Request(
            r["person"], r["gender"], r["need"], r.get("age"), as_set(r.get("needs")),
            r.get("arrival"), tuple(r.get("preferred_sites", ())), r.get("last_bed"),
            r.get("nights_turned_away", 0)) for r in data["requests"]),
        holds=tuple(Hold(id=h["id"], person=h["person"], bed=h.get("bed"), site=h.get("site"),
                         organisation=h.get("organisation")) for h in data.get("holds", [])),
        barred=tuple(Ban(person=b["person"], site=b["site"], reason=b.get("reason"))
                     for b in data.get("barred", [])),
        keep_apart=tuple((p[0], p[1]) for p in data.get("keep_apart", [])),
        policy=Policy(
            women_beds_admit=frozenset(policy.get("women_beds_admit", ["woman"])),
            men_beds_admit=frozenset(policy.get("men_beds_admit", ["man"]))),
    )


def _drop_none(d: dict[str, Any]) -> dict[str, Any]:
    return {k: v for k, v in d.items() if v is not None}


def night_to_json(night: Night) -> dict[str, Any]:
    """The JSON object for a Night; lists are sorted where the input order carries no meaning."""
    out: dict[str, Any] = {"night": night.night}
    if night.sites:
        out["sites"] = [_drop_none({"id": s.id, "name": s.name, "min_age": s.min_age,
                                    "max_age": s.max_age}) for s in night.sites]
    out["beds"] = []
    for b in night.beds:
        bed: dict[str, Any] = {"id": b.id, "site": b.site}
        if b.gender != "mixed":
            bed["gender"] = b.gender
        if b.features:
            bed["features"] = sorted(b.features)
        out["beds"].append(bed)
    out["requests"] = []
    for r in night.requests:
        req: dict[str, Any] = _drop_none({"person": r.person, "gender": r.gender, "need": r.need,
                                          "age": r.age, "arrival": r.arrival,
                                          "last_bed": r.last_bed})
        if r.needs:
            req["needs"] = sorted(r.needs)
        if r.preferred_sites:
            req["preferred_sites"] = list(r.preferred_sites)
        if r.nights_turned_away:
            req["nights_turned_away"] = r.nights_turned_away
        out["requests"].append(req)
    if night.holds:
        out["holds"] = [_drop_none({"id": h.id, "person": h.person, "bed": h.bed, "site": h.site,
                                    "organisation": h.organisation}) for h in night.holds]
    if night.barred:
        out["barred"] = [_drop_none({"person": b.person, "site": b.site, "reason": b.reason})
                         for b in night.barred]
    if night.keep_apart:
        out["keep_apart"] = [list(p) for p in night.keep_apart]
    if night.policy != Policy():
        out["policy"] = {"women_beds_admit": sorted(night.policy.women_beds_admit),
                         "men_beds_admit": sorted(night.policy.men_beds_admit)}
    return out
