"""Merging two records of one person (registered twice: a typo, an alias).

Everything that points to the merged-away record moves to the survivor, table by table:
each table is one *mover* in MOVERS, so a new table with a foreign key to `people.id` is
one line there (tests/shelter/test_people_merge.py checks that every such column is either
moved or listed in STAYS). The merged-away record itself stays, pointing to the survivor
(`Person.merged_into_id`): the audit trail names it (append-only), its page links to the
survivor, and it takes no new requests or bookings.

Refused, with a sentence saying why, before anything changes: merging a record with itself,
a record already merged away, a keep-apart pair between the two, both having an open
request, an active placement or an active hold on the same night (the partial unique
indexes allow one of each per person per night), and a bed held or given from tonight on
that the rule book would refuse once the two are one person (one record's ban or
keep-apart partner against the other's bed). The merge is one savepoint: a failure half
way leaves both records as they were."""
from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date
from typing import Any

from sqlalchemy import ColumnElement, exists, func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import InstrumentedAttribute, Session, aliased

from shelter import clock
from shelter.i18n import _, _l, day_short
from shelter.models import (
    Assessment, AuditEvent, AuditEventPerson, Gender, Hold, HoldRefusal, HousingReferral,
    KeepApart, OrganisationPerson, Override, Person, PersonNote, Placement, PlacementChange, Request,
    ReportTurnaway, RequestStatus, Restriction, SafetyExemption, User,
)
from shelter.services import audit, rules


class MergeRefused(ValueError):
    """The two records cannot be merged; `reasons` are whole sentences for staff."""

    def __init__(self, reasons: list[str]) -> None:
        super().__init__(" ".join(reasons))
        self.reasons = reasons


# --- movers: one declaration per table ------------------------------------------------------

@dataclass(frozen=True)
class Mover:
    """Rows of `column`'s table whose `column` names the merged-away person move to the
    survivor. `stays(merged_id, survivor_id)` (optional) picks the rows that must
    stay where they are because the survivor already has one and the table allows one per
    person (a unique constraint); they are listed in the preview as staying."""

    key: str
    label: Any  # lazy text: what moves, for the preview
    column: InstrumentedAttribute[Any]
    stays: Callable[[int, int], ColumnElement[bool]] | None = None

    def _rows(self, merged_id: int) -> ColumnElement[bool]:
        return self.column == merged_id

    def count(self, session: Session, merged_id: int, survivor_id: int) -> tuple[int, int]:
        """(rows that move, rows that stay)."""
        model = self.column.class_
        rows = session.scalar(select(func.count(model.id)).where(self._rows(merged_id))) or 0
        staying = 0
        if rows and self.stays is not None:
            staying = session.scalar(select(func.count(model.id)).where(
                self._rows(merged_id), self.stays(merged_id, survivor_id))) or 0
        return rows - staying, staying

    def move(self, session: Session, merged_id: int, survivor_id: int) -> int:
        model = self.column.class_
        where = self._rows(merged_id)
        if self.stays is not None:
            where = where & ~self.stays(merged_id, survivor_id)
        result = session.execute(update(model).where(where).values({self.column.key: survivor_id})
                                 .execution_options(synchronize_session="fetch"))
        return int(result.rowcount or 0)


@dataclass(frozen=True)
class KeepApartMover(Mover):
    """Keep-apart pairs are stored smaller id first (a CHECK), so each moved pair is put in
    order again; a pair between the two records is a conflict (refused before this runs)."""

    def _rows(self, merged_id: int) -> ColumnElement[bool]:
        return (KeepApart.person_a_id == merged_id) | (KeepApart.person_b_id == merged_id)

    def move(self, session: Session, merged_id: int, survivor_id: int) -> int:
        pairs = list(session.scalars(select(KeepApart).where(self._rows(merged_id))))
        for pair in pairs:
            other = pair.person_b_id if pair.person_a_id == merged_id else pair.person_a_id
            pair.person_a_id, pair.person_b_id = sorted((other, survivor_id))
        session.flush()
        return len(pairs)


def _org_already_linked(merged_id: int, survivor_id: int) -> ColumnElement[bool]:
    # One link per organisation and person: the survivor's own link wins, the other stays
    # on the merged-away record (the partner's old ref then names that record).
    theirs = aliased(OrganisationPerson)
    return exists().where(theirs.person_id == survivor_id,
                          theirs.organisation_id == OrganisationPerson.organisation_id)


def _survivor_referred(merged_id: int, survivor_id: int) -> ColumnElement[bool]:
    # One housing referral per person: the survivor's own one wins.
    theirs = aliased(HousingReferral)
    return exists().where(theirs.person_id == survivor_id)


#: Every table with a foreign key to people.id, except those in STAYS. A new table is one
#: line here. (The "record" helper's `person_notes`: add
#: `Mover("notes", _l("Staff notes"), PersonNote.person_id),` after "assessments".)
MOVERS: list[Mover] = [
    Mover("requests", _l("Requests for a bed"), Request.person_id),
    Mover("assessments", _l("Need assessments"), Assessment.person_id),
    Mover("notes", _l("Staff notes"), PersonNote.person_id),
    Mover("placements", _l("Placements"), Placement.person_id),
    Mover("placement_changes", _l("Changes to placements (check-in, no-show, moves)"),
          PlacementChange.person_id),
    Mover("overrides", _l("Hand changes to proposals"), Override.person_id),
    Mover("holds", _l("Partner pre-bookings"), Hold.person_id),
    Mover("hold_refusals", _l("Refused pre-bookings"), HoldRefusal.person_id),
    Mover("organisation_people", _l("Links to partner organisations"),
          OrganisationPerson.person_id, stays=_org_already_linked),
    Mover("restrictions", _l("Bans and exclusion orders"), Restriction.person_id),
    KeepApartMover("keep_aparts", _l("Keep-apart pairs"), KeepApart.person_a_id),
    Mover("safety_exemptions", _l("Bookings kept despite a safety record"),
          SafetyExemption.person_id),
    Mover("housing_referrals", _l("Referral for housing follow-up"),
          HousingReferral.person_id, stays=_survivor_referred),
    Mover("report_turnaways", _l("Turn-aways counted in the reports"), ReportTurnaway.person_id),
]

#: Foreign keys to people.id that deliberately do not move: the audit trail is append-only
#: and keeps the person ids it was written with; `merged_into_id` is the merge itself.
STAYS = {(AuditEvent.__tablename__, "person_id"), (AuditEventPerson.__tablename__, "person_id"),
         (Person.__tablename__, "merged_into_id"), (KeepApart.__tablename__, "person_b_id")}

#: Survivor fields filled from the merged-away record when the survivor's are empty.
FILLED = ("alias", "phone", "birth_year")


# --- preview -------------------------------------------------------------------------------

@dataclass
class Line:
    key: str
    label: Any
    moves: int
    stays: int


@dataclass
class Preview:
    survivor: Person
    merged: Person
    lines: list[Line] = field(default_factory=list)
    filled: dict[str, Any] = field(default_factory=dict)  # survivor field -> value it gets
    needs: list[str] = field(default_factory=list)  # the survivor's needs afterwards
    conflicts: list[str] = field(default_factory=list)


def current_record(session: Session, person: Person) -> Person:
    """The record that stands for this person now: the end of its merged_into chain."""
    seen = {person.id}
    while person.merged_into_id is not None and person.merged_into_id not in seen:
        seen.add(person.merged_into_id)
        person = session.get(Person, person.merged_into_id) or person
    return person


def _nights(rows: list[date]) -> str:
    return ", ".join(day_short(n) for n in sorted(set(rows)))


def conflicts(session: Session, survivor: Person, merged: Person) -> list[str]:
    """Why these two records cannot be merged, as sentences (empty: they can)."""
    if survivor.id == merged.id:
        return [_("A record cannot be merged with itself.")]
    out = []
    for p in (survivor, merged):
        if p.merged_into_id is not None:
            out.append(_("Record #%(number)s was already merged into #%(into)s.",
                         number=p.id, into=p.merged_into_id))
    if out:
        return out
    ids = (survivor.id, merged.id)
    if session.scalar(select(KeepApart.id).where(
            KeepApart.person_a_id == min(ids), KeepApart.person_b_id == max(ids)).limit(1)):
        out.append(_("There is a keep-apart pair between #%(a)s and #%(b)s: end it first if "
                     "they really are one person.", a=survivor.id, b=merged.id))

    def both(column: Any, night: Any, *where: Any) -> list[date]:
        mine = select(night).where(column == survivor.id, *where)
        return list(session.scalars(select(night).where(
            column == merged.id, night.in_(mine), *where)))

    open_req = both(Request.person_id, Request.night, Request.status != RequestStatus.WITHDRAWN)
    if open_req:
        out.append(_("Both records have an open request on %(nights)s: withdraw one of them "
                     "first.", nights=_nights(open_req)))
    placed = both(Placement.person_id, Placement.night, Placement.is_active)
    if placed:
        out.append(_("Both records have a bed on %(nights)s: release one of them first.",
                     nights=_nights(placed)))
    held = both(Hold.person_id, Hold.night, Hold.is_active)
    if held:
        out.append(_("Both records have an active pre-booking on %(nights)s: cancel one of "
                     "them first.", nights=_nights(held)))
    return out + _bookings_that_would_break(session, survivor, merged)


def _bookings_that_would_break(session: Session, survivor: Person, merged: Person) -> list[str]:
    """Beds held or given from tonight on that the rule book would refuse once the two
    records are one person: one record's ban or keep-apart partner against the other's
    bed, or a filled-in birth year, gender or need against the bed's rules. Only what the
    merge adds counts (a booking that already broke a rule is the night's business)."""
    ids = [survivor.id, merged.id]
    since = clock.tonight()
    bookings = [(p.person_id, p.night, p.bed) for p in session.scalars(
        select(Placement).where(Placement.person_id.in_(ids), Placement.night >= since,
                                Placement.is_active))]
    bookings += [(h.person_id, h.night, h.bed) for h in session.scalars(
        select(Hold).where(Hold.person_id.in_(ids), Hold.night >= since, Hold.is_active))]
    if not bookings:
        return []
    filled = _filled(survivor, merged)
    gender = filled.get("gender", survivor.gender)
    year = filled.get("birth_year", survivor.birth_year)
    needs = frozenset(survivor.needs or []) | frozenset(merged.needs or [])
    out = []
    for person_id, night, bed in sorted(bookings, key=lambda b: (b[1], b[0])):
        age = night.year - year if year is not None else None
        facts = rules.Facts(Gender(gender).value, needs, age if age is None or age >= 0 else None)
        barred: set[int] = set()
        for sites in rules.barred_sites(session, ids, night, [bed.room.site]).values():
            barred |= sites
        partners = (rules.partners_of(session, survivor.id, night)
                    | rules.partners_of(session, merged.id, night)) - set(ids)
        after = rules.reasons_for_bed(facts, bed, barred_sites=barred,
                                      partner_sites=rules.sites_of(session, partners, night))
        own = session.get(Person, person_id)
        before = {r.code for r in rules.bed_allowed_reasons(session, own, bed, night)}
        new = [r for r in after if r.code not in before]
        if new:
            out.append(_("After the merge, the bed on %(night)s at %(site)s (%(bed)s) would "
                         "break a rule: %(why)s Move or release it first.",
                         night=day_short(night), site=bed.room.site.name, bed=bed.label,
                         why=" ".join(rules.sentences(new))))
    return out


def preview(session: Session, survivor: Person, merged: Person, user: User | None) -> Preview:
    """What merging `merged` into `survivor` would move and fill, and any conflicts.
    Audited as a view of both records. Changes nothing."""
    out = Preview(survivor=survivor, merged=merged,
                  conflicts=conflicts(session, survivor, merged))
    if survivor.id != merged.id:
        for mover in MOVERS:
            moves, stays = mover.count(session, merged.id, survivor.id)
            out.lines.append(Line(mover.key, mover.label, moves, stays))
        out.filled = _filled(survivor, merged)
        out.needs = sorted(set(survivor.needs or []) | set(merged.needs or []))
    audit.record(session, user, "view", [survivor.id, merged.id], "merge preview")
    return out


def _filled(survivor: Person, merged: Person) -> dict[str, Any]:
    out = {f: getattr(merged, f) for f in FILLED
           if getattr(survivor, f) in (None, "") and getattr(merged, f) not in (None, "")}
    if survivor.gender == Gender.UNKNOWN and merged.gender != Gender.UNKNOWN:
        out["gender"] = merged.gender
    return out


# --- the merge -----------------------------------------------------------------------------

def merge_people(session: Session, survivor_id: int, merged_id: int,
                 user: User | None) -> Preview:
    """Merge record `merged_id` into `survivor_id` in one savepoint of the caller's
    transaction and audit it as one event naming both. Returns what was done.

    Raises MergeRefused (nothing changed) for a missing record or a conflict (see
    `conflicts`), and when the records changed under it so that a unique index said no."""
    # Both rows locked (PostgreSQL), smaller id first, so two merges cannot cross.
    people = {p.id: p for p in session.scalars(
        select(Person).where(Person.id.in_(sorted({survivor_id, merged_id})))
        .order_by(Person.id).with_for_update())}
    missing = [n for n in (survivor_id, merged_id) if n not in people]
    if missing:
        raise MergeRefused([_("There is no record #%(number)s.", number=n) for n in missing])
    survivor, merged = people[survivor_id], people[merged_id]
    found = conflicts(session, survivor, merged)
    if found:
        raise MergeRefused(found)
    done = Preview(survivor=survivor, merged=merged)
    try:
        with session.begin_nested():
            for mover in MOVERS:
                staying = mover.count(session, merged.id, survivor.id)[1]
                moved = mover.move(session, merged.id, survivor.id)
                done.lines.append(Line(mover.key, mover.label, moved, staying))
            done.filled = _filled(survivor, merged)
            for name, value in done.filled.items():
                setattr(survivor, name, value)
            done.needs = sorted(set(survivor.needs or []) | set(merged.needs or []))
            survivor.needs = done.needs
            merged.merged_into_id = survivor.id
            session.flush()
    except IntegrityError:
        raise MergeRefused([_("The records changed while they were being merged. Look at "
                              "the preview again.")]) from None
    moved = ", ".join(f"{line.key} {line.moves}" for line in done.lines if line.moves)
    kept = ", ".join(f"{line.key} {line.stays}" for line in done.lines if line.stays)
    detail = (f"#{merged.id} merged into #{survivor.id}; moved: {moved or 'nothing'}"
              + (f"; stayed: {kept}" if kept else "")
              + (f"; filled: {', '.join(sorted(done.filled))}" if done.filled else ""))
    audit.record(session, user, "merge", [survivor.id, merged.id], detail)
    session.expire_all()
    return done
