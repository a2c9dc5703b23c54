"""How codes are worded for people: roles, genders, statuses, bed features, ban categories,
turn-away reasons. One place (STYLE.md "One rule, one place"): templates call ``word(x)``
(or the named helpers), forms build their choices from here, CSV headers and charts too.

Every label is lazy (``_l``) so it is translated in the language of the request that reads
it, not the one that imported the module. Codes themselves (in the database, the API, URLs)
stay stable English identifiers.
"""
from __future__ import annotations

import enum
from typing import Any

from shelter.i18n import _l
from shelter.models import (Authority, Gender, GenderRule, HoldStatus, OrgKind,
                            PlacementStatus, RequestSource, RequestStatus, Role)

ROLES = {Role.INTAKE: _l("intake"), Role.PARTNER: _l("partner"), Role.MANAGER: _l("manager"),
         Role.ADMIN: _l("admin")}

GENDERS = {Gender.WOMAN: _l("Woman"), Gender.MAN: _l("Man"), Gender.NONBINARY: _l("Nonbinary"),
           Gender.UNKNOWN: _l("Prefers not to say / not known")}

#: Plural group names, for reports ("Women turned away").
GENDER_GROUPS = {Gender.WOMAN: _l("Women"), Gender.MAN: _l("Men"),
                 Gender.NONBINARY: _l("Nonbinary people"),
                 Gender.UNKNOWN: _l("Gender not known")}

GENDER_RULES = {GenderRule.MIXED: _l("Mixed"), GenderRule.WOMEN: _l("Women only"),
                GenderRule.MEN: _l("Men only")}

REQUEST_SOURCES = {RequestSource.WALK_IN: _l("walk-in"), RequestSource.PHONE: _l("phone"),
                   RequestSource.PARTNER: _l("partner")}

REQUEST_STATUSES = {RequestStatus.WAITING: _l("waiting"), RequestStatus.PLACED: _l("placed"),
                    RequestStatus.TURNED_AWAY: _l("turned away"),
                    RequestStatus.WITHDRAWN: _l("withdrawn")}

HOLD_STATUSES = {HoldStatus.HELD: _l("held"), HoldStatus.CLAIMED: _l("claimed"),
                 HoldStatus.RELEASED: _l("released"), HoldStatus.CANCELLED: _l("cancelled"),
                 HoldStatus.EXPIRED: _l("expired"),
                 HoldStatus.PENDING: _l("pending")}

PLACEMENT_STATUSES = {PlacementStatus.PROPOSED: _l("proposed"),
                      PlacementStatus.CONFIRMED: _l("confirmed"),
                      PlacementStatus.CHECKED_IN: _l("checked in"),
                      PlacementStatus.NO_SHOW: _l("no-show"),
                      PlacementStatus.RELEASED: _l("released")}

ORG_KINDS = {OrgKind.MUNICIPAL: _l("municipal"), OrgKind.NGO: _l("voluntary organisation"),
             OrgKind.POLICE: _l("police"), OrgKind.HEALTH: _l("health service")}

AUTHORITIES = {Authority.STAFF: _l("staff"), Authority.POLICE: _l("police"),
               Authority.MUNICIPALITY: _l("municipality")}

#: Bed features (admin.KNOWN_FEATURES) and the needs people have (people.BED_FEATURES).
FEATURES = {"accessible": _l("accessible"), "ground_floor": _l("ground floor"),
            "single_room": _l("single room")}

#: Ban categories (allocator.rulebook.BAN_CATEGORIES).
BAN_CATEGORIES = {"violence": _l("violence or threats"), "drugs": _l("drugs"),
                  "rules": _l("house rules"), "other": _l("other")}

#: Turn-away reasons (allocator.result.REASONS, and "staff": changed by hand).
TURNAWAY_REASONS = {"capacity": _l("no bed free"), "no_eligible_bed": _l("no suitable bed"),
                    "keep_apart": _l("keep-apart"), "staff": _l("changed by staff")}

_TABLES: dict[type, dict[Any, Any]] = {
    Role: ROLES, Gender: GENDERS, GenderRule: GENDER_RULES, RequestSource: REQUEST_SOURCES,
    RequestStatus: REQUEST_STATUSES, HoldStatus: HOLD_STATUSES,
    PlacementStatus: PLACEMENT_STATUSES, OrgKind: ORG_KINDS, Authority: AUTHORITIES,
}


def word(value: Any) -> str:
    """The label of an enum member (in the request's language); other values as text."""
    if value is None:
        return ""
    if isinstance(value, enum.Enum):
        table = _TABLES.get(type(value))
        if table is not None and value in table:
            return str(table[value])
        return str(value.value).replace("_", " ")
    return str(value)


def feature(code: str) -> str:
    return str(FEATURES.get(code, code.replace("_", " ")))


def features(codes: Any) -> str:
    return ", ".join(feature(c) for c in codes or ())


def ban_category(code: str) -> str:
    return str(BAN_CATEGORIES.get(code, code))


def turnaway_reason(code: str | None) -> str:
    return "" if code is None else str(TURNAWAY_REASONS.get(code, code.replace("_", " ")))


def choices(table: dict[Any, Any]) -> list[tuple[str, Any]]:
    """WTForms choices from a table above: (code, lazy label)."""
    return [(getattr(k, "value", k), v) for k, v in table.items()]


def init_app(app: Any) -> None:
    app.add_template_global(word)
    app.add_template_global(feature)
    app.add_template_global(features)
    app.add_template_global(ban_category)
    app.add_template_global(turnaway_reason)
    app.add_template_global(lambda role: word(role), "role_name")
