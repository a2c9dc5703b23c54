"""Retention, erasure and access requests (GDPR art. 5(1)(e), 15 and 17): one place.

**Pseudonymising** a person keeps the row (requests, placements, bans and the reports
point at it; the audit trail keeps naming its id) and blanks who they are: the name, the
alias (replaced by the pseudonym ``#<id>``), the phone and every free text written about
them. What to blank is the list ``BLANK`` below: one declaration a column, so a new text
column about a person is one more line. Kept, because the reports aggregate them: birth
year (age bands), gender, bed needs, need scores and answers, nights and outcomes.

**Retention** (the scheduled job ``retention``): a person is pseudonymised once nothing has
happened about them for ``RETENTION_MONTHS`` (default 24). "Something happened" is any row
of ``ACTIVITY`` dated on or after the cut-off (a request, placement, hold, assessment, note,
ban or keep-apart, referral, exemption, change, or an audited change to the record; reads
do not count). A ban or keep-apart pair that is not over yet (in force, open-ended or
starting later) always counts: the safety record is kept until it has ended and then for
the whole retention window. A record merged into another (people.merged_into_id) has no
activity of its own: it follows the record it was merged into.

**Erasure on request** (an admin, with a reason) pseudonymises at once, unless
``erase_blockers`` answers with a sentence: a bed or hold tonight or on a later night (the
shelter must know whom it expects), or a ban or keep-apart pair not over yet (a safety
record is kept while it protects someone). That function is the one rule.

**Access requests**: ``export`` gathers everything stored about the person (admin only);
a keep-apart pair shows "another person" and the dates, never who nor its reason. Other
free texts (a ban's reason, a note) may name someone else: the admin reads the export
before handing it over (GDPR art. 15(4)); the page says so."""
from __future__ import annotations

import enum
from collections.abc import Callable, Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any

from sqlalchemy import ColumnElement, String, cast, exists, false, or_, select, update
from sqlalchemy.orm import Session

from shelter import clock
from shelter.i18n import _, day_short
from shelter.models import (
    Assessment, AuditEvent, Hold, HoldRefusal, HousingReferral,
    KeepApart, Notification, OrganisationPerson, Override, Person, PersonNote, Placement,
    PlacementChange, Request, Restriction, SafetyExemption,
)
from shelter.models.bookings import ACTIVE_HOLD, ACTIVE_PLACEMENT
from shelter.services import audit

DEFAULT_MONTHS = 24
#: What replaces a free text whose column may not be empty (a CHECK asks for a reason).
REMOVED = "-"
#: The audit actions of this module (they are not "activity").
ACTIONS = ("pseudonymise", "erase")


def pseudonym(person_id: int) -> str:
    return f"#{person_id}"


# ---------------------------------------------------------------- what to blank

@dataclass(frozen=True)
class Blank:
    """Rows of `model` about the person (any of `people` columns names them) get `values`:
    a constant, or a function of the row's columns (SQL) for values that must stay unique."""

    model: Any
    people: tuple[str, ...]
    values: dict[str, Any]

    def run(self, session: Session, ids: list[int]) -> int:
        about = or_(*(getattr(self.model, col).in_(ids) for col in self.people))
        vals = {k: (v(self.model) if callable(v) else v) for k, v in self.values.items()}
        return int(session.execute(update(self.model).where(about).values(**vals)
                                   .execution_options(synchronize_session=False)).rowcount or 0)


def _pseudonym_sql(model: Any) -> Any:
    """The row's own id as "#<id>" in SQL (unique, so a unique column stays unique)."""
    return "#" + cast(model.id, String)


BLANK: list[Blank] = [
    Blank(Person, ("id",), {"name": None, "phone": None, "refused_name": False,
                            "alias": _pseudonym_sql}),
    Blank(Assessment, ("person_id",), {"note": ""}),
    Blank(Restriction, ("person_id",), {"reason": ""}),
    Blank(KeepApart, ("person_a_id", "person_b_id"), {"reason": ""}),
    Blank(SafetyExemption, ("person_id",), {"reason": REMOVED}),
    Blank(Request, ("person_id",), {"note": "", "referred_to": None}),
    Blank(Hold, ("person_id",), {"note": ""}),
    Blank(HoldRefusal, ("person_id",), {"message": REMOVED}),
    Blank(HousingReferral, ("person_id",), {"note": ""}),
    Blank(OrganisationPerson, ("person_id",), {"ref": _pseudonym_sql}),
    Blank(PersonNote, ("person_id",), {"text": REMOVED}),
    Blank(PlacementChange, ("person_id",), {"reason": ""}),
    Blank(Override, ("person_id",), {"reason": REMOVED}),
]


#: Text columns about a person deliberately kept: codes and outcomes the reports count, the
#: English turn-away explanation (worded from codes, names nobody), who issued a ban (staff
#: or police, not the person), and the audit trail (append-only: see README, its `detail`
#: of old rows may still hold a name).
KEPT = {
    ("requests", "city"), ("requests", "turnaway_reason"), ("requests", "turnaway_explanation"),
    ("hold_refusals", "reason"), ("placement_changes", "action"), ("restrictions", "category"),
    ("restrictions", "issued_by"), ("person_notes", "kind"), ("report_turnaways", "city"),
    ("audit_events", "username"), ("audit_events", "role"), ("audit_events", "action"),
    ("audit_events", "detail"), ("holds", "wish_reason"),  # a code: why intake confirms
}


def _blank_notifications(session: Session, ids: list[int]) -> int:
    """Messages to partners carry the person's name in their JSON payload (the hold's
    person): the name becomes the pseudonym, in Python (JSON editing differs per database)."""
    rows = session.execute(select(Notification.id, Notification.payload, Hold.person_id)
                           .join(Hold, Hold.id == Notification.hold_id)
                           .where(Hold.person_id.in_(ids))).all()
    for nid, payload, pid in rows:
        if isinstance(payload, dict) and payload.get("person_name"):
            session.execute(update(Notification).where(Notification.id == nid).values(
                payload={**payload, "person_name": pseudonym(pid)}))
    return len(rows)


def family(session: Session, person_id: int | list[int]) -> list[int]:
    """The people and every record merged into them (directly or along a chain)."""
    ids = [person_id] if isinstance(person_id, int) else list(person_id)
    seen, frontier = set(ids), list(ids)
    while frontier:
        frontier = [i for i in session.scalars(select(Person.id).where(
            Person.merged_into_id.in_(frontier))) if i not in seen]
        seen.update(frontier)
        ids += frontier
    return ids


#: People pseudonymised per statement batch (bounded IN lists on both databases).
BATCH = 500


def pseudonymise(session: Session, person_id: int | list[int],
                 now: datetime | None = None) -> list[int]:
    """Blank the people and the records merged into them (``BLANK``): one UPDATE per
    declaration per batch. Returns their ids. Flushes, never commits; the caller audits."""
    ids = family(session, person_id)
    session.flush()
    for blank in BLANK:
        blank.run(session, ids)
    _blank_notifications(session, ids)
    session.execute(update(Person).where(Person.id.in_(ids)).values(
        pseudonymised_at=now or clock.utcnow()).execution_options(synchronize_session=False))
    session.expire_all()
    return ids


# ---------------------------------------------------------------- activity

@dataclass(frozen=True)
class Activity:
    """Rows of `model` naming the person (`people` columns) are activity when one of their
    `stamps` (naive UTC) is on or after the cut-off, or one of their `nights` on or after
    the cut-off's night; `always` is a condition that counts whatever the dates."""

    model: Any
    people: tuple[str, ...] = ("person_id",)
    stamps: tuple[str, ...] = ()
    nights: tuple[str, ...] = ()
    always: Callable[[Any, date], ColumnElement[bool]] | None = None

    def since(self, person: Any, at: datetime, night: date, today: date) -> ColumnElement[bool]:
        m = self.model
        when = [getattr(m, s) >= at for s in self.stamps]
        when += [getattr(m, n) >= night for n in self.nights]
        if self.always is not None:
            when.append(self.always(m, today))
        names = or_(*(getattr(m, col) == person.id for col in self.people))
        return exists().where(names, or_(*when) if when else false())


ACTIVITY: list[Activity] = [
    Activity(Request, stamps=("created_at",), nights=("night",)),
    Activity(Placement, stamps=("created_at", "checked_in_at", "ended_at"), nights=("night",)),
    Activity(Hold, stamps=("created_at", "ended_at"), nights=("night",)),
    Activity(Assessment, stamps=("assessed_at",)),
    Activity(PersonNote, stamps=("at",), nights=("night",)),
    Activity(Restriction, stamps=("created_at", "ended_at"), nights=("starts_on", "ends_on"),
             always=lambda m, today: m.not_over_on(today)),
    Activity(KeepApart, people=("person_a_id", "person_b_id"),
             stamps=("created_at", "ended_at"), nights=("starts_on", "ends_on"),
             always=lambda m, today: m.not_over_on(today)),
    Activity(SafetyExemption, stamps=("created_at",), nights=("night",)),
    Activity(HousingReferral, stamps=("referred_at",)),
    Activity(OrganisationPerson, stamps=("created_at",)),
    Activity(PlacementChange, stamps=("at",), nights=("night",)),
    Activity(Override, stamps=("created_at",), nights=("night",)),
]


def _audited_change_since(at: datetime) -> ColumnElement[bool]:
    """An audited change to the record (an edit, a merge ...) on or after `at`; reads,
    security events and this module's own actions are not activity."""
    return exists().where(audit.naming(Person.id), AuditEvent.at >= at,
                          AuditEvent.action != "list",
                          ~AuditEvent.action.startswith("view"),
                          ~AuditEvent.action.startswith(audit.SECURITY),
                          AuditEvent.action.not_in(ACTIONS))


def cutoff(now: datetime, months: int) -> datetime:
    """`months` calendar months before `now` (the 31st becomes the month's last day)."""
    year, month = divmod(now.year * 12 + now.month - 1 - months, 12)
    month += 1
    for day in (now.day, 30, 29, 28):
        try:
            return now.replace(year=year, month=month, day=day)
        except ValueError:
            continue
    raise AssertionError("unreachable")


def due(session: Session, now: datetime, months: int) -> list[int]:
    """People (not yet pseudonymised, not merged into another record) with no activity
    on or after the cut-off, oldest id first."""
    at = cutoff(now, months)
    night, today = clock.tonight(at), clock.tonight(now)
    active = [a.since(Person, at, night, today) for a in ACTIVITY]
    return list(session.scalars(select(Person.id).where(
        Person.pseudonymised_at.is_(None), Person.merged_into_id.is_(None),
        Person.created_at < at, ~or_(*active), ~_audited_change_since(at))
        .order_by(Person.id)))


def run_retention(session: Session, now: datetime, months: int) -> list[int]:
    """Pseudonymise everyone due, a batch at a time; each batch is one audit event by the
    system ("pseudonymise") naming every record in it. Returns the ids of the records
    pseudonymised (with those merged into them)."""
    done: list[int] = []
    people = due(session, now, months)
    for start in range(0, len(people), BATCH):
        ids = pseudonymise(session, people[start:start + BATCH], now)
        audit.record(session, None, "pseudonymise", ids,
                     f"retention: no activity for {months} months")
        done += ids
    return done


# ---------------------------------------------------------------- erasure

class ErasureRefused(ValueError):
    """The person may not be erased now; `reasons` are sentences to show."""

    def __init__(self, reasons: list[str], field: str = "") -> None:
        super().__init__(" ".join(reasons))
        self.reasons, self.field = reasons, field


def erase_blockers(session: Session, person_id: int, now: datetime | None = None) -> list[str]:
    """Why the person may not be erased now (empty: they may). The one rule: no erasure
    while they have a bed or hold tonight or on a later night, or a ban or keep-apart pair
    that is not over yet (a safety record is kept while it protects someone)."""
    today = clock.tonight(now)
    ids = family(session, person_id)
    reasons = []
    beds = list(session.scalars(select(Placement.night).where(
        Placement.person_id.in_(ids), Placement.night >= today,
        Placement.status.in_(ACTIVE_PLACEMENT))))
    holds = list(session.scalars(select(Hold.night).where(
        Hold.person_id.in_(ids), Hold.night >= today, Hold.status.in_(ACTIVE_HOLD))))
    if beds or holds:
        reasons.append(_("They have a bed or a pre-booking on %(nights)s: cancel it first.",
                         nights=", ".join(day_short(n) for n in sorted(set(beds + holds)))))
    bans = session.scalar(select(Restriction.id).where(
        Restriction.person_id.in_(ids), Restriction.not_over_on(today)).limit(1))
    pairs = session.scalar(select(KeepApart.id).where(
        or_(KeepApart.person_a_id.in_(ids), KeepApart.person_b_id.in_(ids)),
        KeepApart.not_over_on(today)).limit(1))
    if bans is not None or pairs is not None:
        reasons.append(_("They have a ban or a keep-apart pair that is not over: a safety "
                         "record is kept while it protects someone. End it first."))
    return reasons


def erase(session: Session, person: Person, reason: str, user: Any,
          now: datetime | None = None) -> list[int]:
    """Pseudonymise the person at once on their request (an admin, with a reason), audited
    as "erase" with the reason. Raises ErasureRefused with the sentences to show."""
    reason = (reason or "").strip()
    if not reason:
        raise ErasureRefused([_("Give the reason for the erasure.")], field="reason")
    if person.pseudonymised_at is not None:
        raise ErasureRefused([_("This record is already pseudonymised.")])
    from shelter.services.people_merge import current_record

    target = current_record(session, person)  # a merged-away record follows its survivor
    blockers = erase_blockers(session, target.id, now)
    if blockers:
        raise ErasureRefused(blockers)
    ids = pseudonymise(session, target.id, now)
    audit.record(session, user, "erase", ids, reason[:2000])
    return ids


# ---------------------------------------------------------------- access requests

@dataclass
class Export:
    """Everything stored about one person, as plain data (the JSON and the printable page)."""

    person: dict[str, Any]
    sections: dict[str, list[dict[str, Any]]] = field(default_factory=dict)

    def to_json(self) -> dict[str, Any]:
        """Dates as ISO 8601, codes as their stable identifiers."""
        return {"person": _plain_row(self.person),
                **{k: [_plain_row(r) for r in rows] for k, rows in self.sections.items()}}


def _plain(value: Any) -> Any:
    if isinstance(value, datetime | date):
        return value.isoformat()
    if isinstance(value, enum.Enum):
        return value.value
    return value


def _plain_row(row: dict[str, Any]) -> dict[str, Any]:
    return {k: _plain(v) for k, v in row.items()}


def _row(obj: Any, columns: Iterable[str]) -> dict[str, Any]:
    return {c: getattr(obj, c) for c in columns}


PERSON_COLUMNS = ("id", "name", "alias", "refused_name", "birth_year", "gender", "phone",
                  "needs", "created_at", "merged_into_id", "pseudonymised_at")
EXPORTED: list[tuple[str, Any, tuple[str, ...]]] = [
    ("requests", Request, ("id", "night", "city", "source", "status", "needs", "arrival",
                           "turnaway_reason", "turnaway_explanation", "referred_to", "note",
                           "created_at")),
    ("placements", Placement, ("id", "night", "bed_id", "status", "created_at",
                               "checked_in_at", "ended_at")),
    ("holds", Hold, ("id", "night", "organisation_id", "site_id", "bed_id", "status", "note",
                     "expires_at", "created_at", "ended_at")),
    ("assessments", Assessment, ("id", "assessed_at", "scheme_id", "need", "answers", "note")),
    ("bans", Restriction, ("id", "site_id", "area_id", "authority", "category", "starts_on",
                           "ends_on", "review_on", "reason", "issued_by", "created_at",
                           "ended_at")),
    ("notes", PersonNote, ("id", "at", "kind", "night", "text")),
    ("housing_referrals", HousingReferral, ("id", "referred_at", "note")),
    ("organisations", OrganisationPerson, ("id", "organisation_id", "ref", "created_at")),
    ("placement_changes", PlacementChange, ("id", "night", "action", "reason", "at")),
    ("safety_exemptions", SafetyExemption, ("id", "night", "reason", "created_at")),
    ("refusals", HoldRefusal, ("id", "night", "organisation_id", "site_id", "reason",
                               "message", "created_at")),
    ("overrides", Override, ("id", "night", "from_bed_id", "to_bed_id", "reason",
                             "created_at")),
]


def export(session: Session, person: Person, user: Any) -> Export:
    """Everything stored about the person and the records merged into it, audited
    ("view_export"). Keep-apart pairs name "another person", never who; audit events
    naming them show who (user and role) saw or changed the record, and when."""
    ids = family(session, person.id)
    out = Export(person=_row(person, PERSON_COLUMNS))
    out.person["merged_records"] = [i for i in ids if i != person.id]
    for name, model, columns in EXPORTED:
        order = getattr(model, "id")
        out.sections[name] = [_row(r, columns) for r in session.scalars(
            select(model).where(model.person_id.in_(ids)).order_by(order))]
    pairs = session.scalars(select(KeepApart).where(or_(
        KeepApart.person_a_id.in_(ids), KeepApart.person_b_id.in_(ids))).order_by(KeepApart.id))
    # The other person's data is theirs: never who, and not the reason (it names them).
    out.sections["keep_apart"] = [
        {**_row(k, ("id", "starts_on", "ends_on", "created_at", "ended_at")),
         "other": "another person"} for k in pairs]
    events = session.scalars(select(AuditEvent).where(or_(*(audit.naming(i) for i in ids)))
                             .order_by(AuditEvent.at, AuditEvent.id))
    out.sections["audit_events"] = [_row(e, ("at", "username", "role", "action", "person_id"))
                                    for e in events]  # who saw or changed it, and when
    audit.record(session, user, "view_export", ids, "access request export")
    return out
