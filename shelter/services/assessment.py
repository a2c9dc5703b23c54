"""Need assessment under a versioned, configurable scheme.

Every score is the sum of named parts (capped at 100) so staff and managers can always see
why a person scored what they did (the criticism of opaque triage scores such as VI-SPDAT).
A scheme version is never edited in place: saving the scheme makes a new version, so an old
assessment still shows the parts it had."""
from __future__ import annotations

import re
import unicodedata
from dataclasses import dataclass, field
from datetime import date, datetime, timedelta
from typing import Any

from sqlalchemy import func, select, update
from sqlalchemy.orm import Session

from shelter import clock
from shelter.i18n import _, _l, ngettext
from shelter.models import Assessment, NeedScheme, Person, User, utcnow
from shelter.services import audit

MAX_NEED = 100
YOUNG_KEY = "young"  # computed from the birth year (aged 18-23)
YOUNG_AGES = (18, 23)

# Parts that follow from the record are computed, never ticked. A factor names its rule in
# `derived` (one of these kinds: an age band, reached in the night's year, from the birth
# year); "" or no key means staff tick it. Schemes saved before the marker existed have no
# `derived` key: their built-in 'young' factor is the 18-23 band (see `derivation`).
AGE_BANDS: dict[str, tuple[int, int | None]] = {
    "age_18_23": YOUNG_AGES,
    "age_over_65": (66, None),
}
DERIVED_KINDS = {
    "age_18_23": _l("Aged 18-23 this year (from the birth year)"),
    "age_over_65": _l("Over 65 this year (from the birth year)"),
}

# The starting scheme (DOMAIN.md 'Need assessment'). Factors sharing a group are
# alternatives: at most one applies. `requires` names a factor that must apply too
# (the cold-weather points are for people sleeping outside only).
DEFAULT_FACTORS: list[dict[str, Any]] = [
    {"key": "sleeps_outside", "label": "Sleeps outside or has nowhere to sleep tonight",
     "points": 40, "group": "sleeps"},
    {"key": "own_flat", "label": "Has their own flat", "points": 0, "group": "sleeps"},
    {"key": "temporary_housing", "label": "Has a room in temporary housing tonight",
     "points": 5, "group": "sleeps"},
    {"key": "violence", "label": "Exposed to or fleeing violence", "points": 25, "group": ""},
    {"key": "acute_health", "label": "Recent overdose, acute illness or pregnancy",
     "points": 20, "group": ""},
    {"key": YOUNG_KEY, "label": "Aged 18-23", "points": 10, "group": "", "derived": "age_18_23"},
    {"key": "mental_health", "label": "Acute mental-health crisis", "points": 15, "group": ""},
    {"key": "cold_night", "label": "Cold-weather night (counts for people sleeping outside)",
     "points": 10, "group": "", "requires": "sleeps_outside"},
]
GROUP_TITLES = {"sleeps": _l("Where do they sleep tonight?")}

# The built-in factors' labels for the reader. The scheme stores the English label (data: a
# manager may retype it); while a stored label is still the built-in one, people read it in
# their own language. A label a manager typed is shown as typed.
BUILTIN_LABELS = {
    "sleeps_outside": _l("Sleeps outside or has nowhere to sleep tonight"),
    "own_flat": _l("Has their own flat"),
    "temporary_housing": _l("Has a room in temporary housing tonight"),
    "violence": _l("Exposed to or fleeing violence"),
    "acute_health": _l("Recent overdose, acute illness or pregnancy"),
    YOUNG_KEY: _l("Aged 18-23"),
    "mental_health": _l("Acute mental-health crisis"),
    "cold_night": _l("Cold-weather night (counts for people sleeping outside)"),
}
_STORED_LABELS = {f["key"]: f["label"] for f in DEFAULT_FACTORS}
#: The note of version 1 (stored in English, shown in the reader's language).
STARTING_NOTE = "Starting scheme"


def factor_label(factor: dict[str, Any]) -> str:
    """A factor's (or an assessment part's) label in the reader's language: built-in labels
    are translated, labels a manager typed are data and shown as they are."""
    key, label = factor.get("key"), str(factor.get("label") or "")
    if key in BUILTIN_LABELS and label == _STORED_LABELS[key]:
        return str(BUILTIN_LABELS[key])
    return label


def scheme_note(scheme: NeedScheme) -> str:
    """A scheme version's note; the built-in first version's note in the reader's language."""
    return _("Starting scheme") if scheme.note == STARTING_NOTE else (scheme.note or "")


def _stored_label(key: str, label: str) -> str:
    """What to store for a label typed back in the scheme form: a built-in label shown in
    the reader's language and left unchanged stays the built-in (English) one."""
    if key in BUILTIN_LABELS and label == str(BUILTIN_LABELS[key]):
        return _STORED_LABELS[key]
    return label


class AssessmentError(ValueError):
    """Answers that do not fit the scheme (e.g. two alternatives of one group)."""


class DerivedMismatch(AssessmentError):
    """A computed part was posted ticked (or unticked) against the record; `key` names the
    factor, so the view can put the sentence beside its field."""

    def __init__(self, key: str, message: str) -> None:
        super().__init__(message)
        self.key = key


@dataclass(frozen=True)
class Derived:
    """A part computed from the record: `applies` is None when the record cannot say (the
    birth year is unknown: the part is not counted); `why` says what the record says."""

    applies: bool | None
    why: str


def derivation(factor: dict[str, Any]) -> str:
    """The rule a factor is computed by ("" for a part staff tick)."""
    kind = factor.get("derived", "age_18_23" if factor.get("key") == YOUNG_KEY else "")
    return kind if kind in AGE_BANDS else ""


def derive(kind: str, person: Person, year: int) -> Derived:
    """THE rule for parts that follow from the record: the age a person reaches in `year`
    (year minus birth year) inside the kind's age band, both ends included."""
    low, high = AGE_BANDS[kind]
    if person.birth_year is None:
        return Derived(None, _("birth year not known"))
    age = year - person.birth_year
    applies = age >= low and (high is None or age <= high)
    return Derived(applies, _("born %(year)s: %(age)s this year", year=person.birth_year, age=age))


def derived_parts(scheme: NeedScheme, person: Person, year: int) -> dict[str, Derived]:
    """Every computed factor of the scheme, by key, for this person in `year`."""
    return {f["key"]: derive(kind, person, year)
            for f in scheme.factors if (kind := derivation(f))}


def _apply_derived(scheme: NeedScheme, person: Person, answers: dict[str, Any],
                   year: int) -> dict[str, Any]:
    """`answers` with every computed part set from the record. Raises DerivedMismatch when
    an answer given for a computed part contradicts the record."""
    out = dict(answers)
    labels = {f["key"]: factor_label(f) for f in scheme.factors}
    for key, d in derived_parts(scheme, person, year).items():
        if key in answers and bool(answers[key]) != bool(d.applies):
            if d.applies is None:
                msg = _("The birth year is not known, so '%(part)s' cannot count. Add the "
                        "birth year to the record (Correct the record) first.", part=labels[key])
            elif d.applies:
                msg = _("The record says %(why)s, so '%(part)s' applies and counts without a "
                        "tick. If the birth year is wrong, correct the record.",
                        why=d.why, part=labels[key])
            else:
                msg = _("The record says %(why)s, so '%(part)s' does not apply. If the birth "
                        "year is wrong, correct the record.", why=d.why, part=labels[key])
            raise DerivedMismatch(key, msg)
        out[key] = bool(d.applies)
    return out


@dataclass
class SchemeError(ValueError):
    """A scheme edit that cannot be saved; `errors` maps form field names to reasons."""

    errors: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return "; ".join(f"{k}: {v}" for k, v in self.errors.items())


def current_scheme(session: Session) -> NeedScheme:
    """The newest active scheme version; creates version 1 with the default factors if the
    database has none yet (flushes)."""
    scheme = session.scalar(
        select(NeedScheme).where(NeedScheme.active.is_(True)).order_by(NeedScheme.version.desc())
    )
    if scheme is None:
        scheme = NeedScheme(version=1, factors=[dict(f) for f in DEFAULT_FACTORS], active=True,
                            note=STARTING_NOTE)
        session.add(scheme)
        session.flush()
    return scheme


def groups(scheme: NeedScheme) -> list[tuple[str, list[dict[str, Any]]]]:
    """The scheme's factors in display order: (group, factors) with "" for single factors
    (each a group of its own). Groups keep the position of their first factor."""
    out: list[tuple[str, list[dict[str, Any]]]] = []
    index: dict[str, int] = {}
    for factor in scheme.factors:
        g = factor.get("group") or ""
        if g and g in index:
            out[index[g]][1].append(factor)
        else:
            if g:
                index[g] = len(out)
            out.append((g, [factor]))
    return out


def score(scheme: NeedScheme, answers: dict[str, Any]) -> tuple[int, list[dict[str, Any]]]:
    """(need, parts): the points of every factor answered true, capped at 100.

    Raises AssessmentError for an unknown factor key or for two alternatives of one group
    (e.g. 'sleeps outside' and 'own flat' at once). A factor that `requires` another counts
    only when that one applies too."""
    by_key = {f["key"]: f for f in scheme.factors}
    chosen = {k for k, v in answers.items() if v}
    unknown = chosen - by_key.keys()
    if unknown:
        raise AssessmentError(ngettext("unknown factor: %(keys)s", "unknown factors: %(keys)s",
                                       len(unknown), keys=", ".join(sorted(unknown))))
    seen_group: dict[str, str] = {}
    parts: list[dict[str, Any]] = []
    for factor in scheme.factors:  # scheme order keeps the parts in a stable order
        key = factor["key"]
        if key not in chosen:
            continue
        g = factor.get("group") or ""
        if g:
            if g in seen_group:
                raise AssessmentError(_(
                    "'%(first)s' and '%(second)s' are alternatives: choose one.",
                    first=factor_label(by_key[seen_group[g]]), second=factor_label(factor)))
            seen_group[g] = key
        required = factor.get("requires")
        if required and required not in chosen:
            continue  # e.g. cold-weather points only for people sleeping outside
        parts.append({"key": key, "label": factor["label"], "points": int(factor["points"])})
    need = min(sum(p["points"] for p in parts), MAX_NEED)
    return need, parts


def prefill(scheme: NeedScheme, person: Person, night: date) -> dict[str, bool]:
    """Answers known before asking: the computed parts the record decides (age in the
    night's year); a part the record cannot decide (birth year unknown) is left out."""
    return {key: d.applies for key, d in derived_parts(scheme, person, night.year).items()
            if d.applies is not None}


def assess(session: Session, person: Person, answers: dict[str, Any], *, user: User | None,
           note: str = "", scheme: NeedScheme | None = None, year: int | None = None
           ) -> Assessment:
    """Score `answers` under the current scheme and store an Assessment (with the scheme
    version, answers, need and parts); writes an audit row. Parts computed from the record
    (`derivation`) count without a tick, for the age reached in `year` (default: tonight's
    year). Raises AssessmentError; DerivedMismatch when an answer contradicts the record."""
    scheme = scheme or current_scheme(session)
    answers = _apply_derived(scheme, person, answers, year or clock.tonight().year)
    need, parts = score(scheme, answers)
    clean = {f["key"]: bool(answers.get(f["key"])) for f in scheme.factors}
    assessment = Assessment(person=person, scheme_id=scheme.id, answers=clean, need=need,
                            parts=parts, note=note.strip(), assessed_by_id=getattr(user, "id", None))
    session.add(assessment)
    session.flush()
    audit.record(session, user, "assess", person.id, f"need {need} (scheme v{scheme.version})")
    return assessment


def latest_assessment(session: Session, person_id: int) -> Assessment | None:
    return session.scalar(
        select(Assessment).where(Assessment.person_id == person_id)
        .order_by(Assessment.assessed_at.desc(), Assessment.id.desc()).limit(1)
    )


def recent_assessment(session: Session, person_id: int, *, days: int = 7,
                      now: datetime | None = None) -> Assessment | None:
    """The person's latest assessment if it is at most `days` old (reusable for a request)."""
    latest = latest_assessment(session, person_id)
    cutoff = (now or utcnow()) - timedelta(days=days)
    return latest if latest is not None and latest.assessed_at >= cutoff else None


def _slug(label: str) -> str:
    text = unicodedata.normalize("NFKD", label).encode("ascii", "ignore").decode().lower()
    return re.sub(r"[^a-z0-9]+", "_", text).strip("_")[:40] or "factor"


def save_scheme(session: Session, rows: list[dict[str, Any]], *, user: User | None,
                note: str = "") -> NeedScheme:
    """Store the edited factors as a NEW scheme version and retire the older versions.

    `rows` are dicts with key (empty for a new factor), label, points, group, remove and
    optionally derived (a kind of AGE_BANDS or "": kept from the old version when absent).
    Raises SchemeError({"factors-<i>-<field>": reason}) for an empty label, points that are
    not a whole number 0-100, or a scheme without any factor; nothing is saved then."""
    old = current_scheme(session)
    old_by_key = {f["key"]: f for f in old.factors}
    errors: dict[str, str] = {}
    factors: list[dict[str, Any]] = []
    used: set[str] = set()
    for i, row in enumerate(rows):
        if row.get("remove"):
            continue
        label = str(row.get("label") or "").strip()
        raw = row.get("points")
        if not label:
            if not row.get("key") and raw in (None, ""):
                continue  # the blank 'new factor' row
            errors[f"factors-{i}-label"] = _("Give the factor a label.")
        points: int | None = None
        try:
            points = int(str(raw).strip())
            if str(raw).strip() != str(points):
                raise ValueError
        except (TypeError, ValueError):
            errors[f"factors-{i}-points"] = _("Points must be a whole number from 0 to 100.")
        else:
            if not 0 <= points <= MAX_NEED:
                errors[f"factors-{i}-points"] = _("Points must be a whole number from 0 to 100.")
        key = str(row.get("key") or "") or _slug(label)
        label = _stored_label(key, label)
        base, n = key, 2
        while key in used:
            key, n = f"{base}_{n}", n + 1
        used.add(key)
        factor = {"key": key, "label": label, "points": points,
                  "group": _slug(str(row.get("group") or "")) if row.get("group") else ""}
        requires = old_by_key.get(key, {}).get("requires")
        if requires:
            factor["requires"] = requires
        # computed from the record: the row's choice, else what the old version said
        kind = str(row["derived"] or "") if "derived" in row else derivation(old_by_key.get(key, {}))
        if kind and kind not in AGE_BANDS:
            errors[f"factors-{i}-derived"] = _("Choose how this part is computed from the record.")
        elif kind and factor["group"]:
            errors[f"factors-{i}-group"] = _("A part computed from the record cannot be one of "
                                             "a group of alternatives: leave the group empty.")
        factor["derived"] = kind
        factors.append(factor)
    if not factors and not errors:
        errors["factors-0-label"] = _("A scheme needs at least one factor.")
    if errors:
        raise SchemeError(errors)
    keys = {f["key"] for f in factors}
    for f in factors:  # a factor whose prerequisite was removed no longer depends on it
        if f.get("requires") and f["requires"] not in keys:
            del f["requires"]
    version = (session.scalar(select(func.max(NeedScheme.version))) or 0) + 1
    session.execute(update(NeedScheme).where(NeedScheme.active.is_(True)).values(active=False))
    scheme = NeedScheme(version=version, factors=factors, active=True, note=note.strip(),
                        created_by_id=getattr(user, "id", None))
    session.add(scheme)
    session.flush()
    audit.record(session, user, "scheme", None, f"need scheme v{version} saved")
    return scheme
