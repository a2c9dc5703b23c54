"""What intake staff see in the evening: the board, the proposal beside first-come, the
turned-away list with where else to go. Read-only queries with a fixed number of round
trips whatever the number of requests (no query per row), plus saving a referral note."""
from __future__ import annotations

import re
from collections import Counter
from dataclasses import dataclass, field
from datetime import date, datetime
from typing import Any, NamedTuple

from sqlalchemy import and_, bindparam, case, func, or_, select
from sqlalchemy.orm import Session, aliased, defer, joinedload

from shelter.models.bookings import ACTIVE_PLACEMENT
from shelter.models import (
    Area,     AllocationRun, Assessment, Bed, Gender, Hold, KeepApart, Organisation, OtherService,
    Person, Placement, PlacementStatus, Request, RequestSource, RequestStatus, Restriction, Room,
    Site, utcnow,
)
from shelter.clock import local_on
from shelter.i18n import _, _l
from allocator.rulebook import Reason
from shelter.services import reasons, rules
from shelter.services.inventory import Availability, beds_in_service
from shelter.services import audit
from shelter.services.night_input import fresh_assessment_since

NEED_BANDS = ((80, 100), (60, 79), (40, 59), (20, 39), (0, 19))
STATUS_ORDER = (PlacementStatus.CHECKED_IN, PlacementStatus.CONFIRMED, PlacementStatus.PROPOSED,
                PlacementStatus.NO_SHOW, PlacementStatus.RELEASED)


def band_of(need: int) -> str:
    return next(f"{lo}–{hi}" for lo, hi in NEED_BANDS if need >= lo)


def bed_label(bed: Bed) -> str:
    return f"{bed.room.site.name} · {bed.room.name} · {bed.label}"


@dataclass(slots=True)
class Row:
    """One request on the board: plain values, loaded by column (1,000 rows stay fast)."""

    request_id: int
    person_id: int
    name: str
    gender: Gender
    age: int | None
    arrival: int
    source: RequestSource
    needs: list[str]
    assessed: bool
    hold_org: str | None
    need: int
    parts: list[dict[str, Any]]
    status: str  # waiting, proposed, placed, checked in, turned away, to turn away, no-show, left
    reason: str = ""
    placement_id: int | None = None
    placement_status: str | None = None
    bed: str = ""
    bans: list[str] = field(default_factory=list)
    keep_apart: int = 0
    no_show_due: bool = False
    site_id: int | None = None  # the placement's site (where its buttons act)

    @property
    def status_word(self) -> str:
        """The row's status in the reader's language (`status` stays the code)."""
        return str(BOARD_STATUSES.get(self.status, self.status))


@dataclass
class Board:
    night: date
    rows: list[Row]
    sites: list[Availability]
    run: AllocationRun | None
    new_since_run: int
    counts: Counter[str] = field(default_factory=Counter)  # per status, before the status filter
    total: int = 0  # rows matching every filter (all pages)
    page: int = 1
    pages: int = 1

    @property
    def requests(self) -> int:
        """Requests in this view (search, site, need and gender applied; any status)."""
        return sum(self.counts.values())

    @property
    def beds(self) -> int:
        return sum(a.in_service for a in self.sites)

    @property
    def free(self) -> int:
        return sum(a.free for a in self.sites)

    def count(self, status: str) -> int:
        return self.counts[status]


PLACEMENT_WORDS = {
    PlacementStatus.PROPOSED: "proposed", PlacementStatus.CONFIRMED: "placed",
    PlacementStatus.CHECKED_IN: "checked in", PlacementStatus.NO_SHOW: "no-show",
    PlacementStatus.RELEASED: "left"}

#: How the board words a row's status (Row.status is the code, also the row's CSS class).
#: A board-only table (words.py has request and placement statuses, not this mix of both).
BOARD_STATUSES = {"waiting": _l("waiting"), "proposed": _l("proposed"), "placed": _l("placed"),
                  "checked in": _l("checked in"), "turned away": _l("turned away"),
                  "to turn away": _l("to turn away"), "no-show": _l("no-show"),
                  "left": _l("left")}

#: Other services' target group (OtherService.for_gender holds a Gender code), as the
#: turned-away list words it: "for women".
SERVICE_FOR = {Gender.WOMAN.value: _l("for women"), Gender.MAN.value: _l("for men"),
               Gender.NONBINARY.value: _l("for nonbinary people")}


def _display(pid: int, name: str | None, alias: str | None) -> str:
    if name and alias:
        return f"{name} ({alias})"
    return name or alias or f"#{pid}"


def _latest_run(session: Session, night: date, city: str) -> AllocationRun | None:
    """The newest run, without its big input and comparison snapshots."""
    return session.scalar(select(AllocationRun).options(defer(AllocationRun.input_json),
                                                        defer(AllocationRun.comparison_json))
                          .where(AllocationRun.night == night, AllocationRun.city == city,
                                 AllocationRun.kind != "whatif")
                          .order_by(AllocationRun.created_at.desc(), AllocationRun.id.desc())
                          .limit(1))


#: Rows on one page of the board, by need: search and filters find the rest. A page, not
#: the whole city, is rendered and named in the audit trail (bench/board.py).
PAGE_SIZE = 100

#: The statuses the board can be filtered by, in the order the filter lists them.
FILTER_STATUSES = ("waiting", "to turn away", "proposed", "placed", "checked in",
                   "turned away", "no-show", "left")

_PERSON_NUMBER = re.compile(r"#?\s*(\d{1,9})")


@dataclass(frozen=True)
class BoardFilter:
    """What the board shows; every part is applied in SQL. `sites` None: every site."""

    q: str = ""
    sites: frozenset[int] | None = None
    status: str = ""
    band: tuple[int, int] | None = None
    gender: Gender | None = None
    page: int = 1


def _status_rank() -> Any:
    """STATUS_ORDER as SQL: the placement that tells a person's evening ranks first."""
    return case(*((Placement.status == s, i) for i, s in enumerate(STATUS_ORDER)),
                else_=len(STATUS_ORDER))


def _search(q: str) -> list[Any]:
    """Name or alias containing every word (case-insensitive; on SQLite, whose lower() is
    ASCII-only, also as typed, capitalised and in capitals), or a person number ('#12')."""
    q = q.strip()
    number = _PERSON_NUMBER.fullmatch(q)
    if number:
        return [Request.person_id == int(number.group(1))]
    where = []
    for word in q.split()[:6]:
        variants = dict.fromkeys((word, word.lower(), word.capitalize(), word.upper()))
        where.append(or_(*(col.icontains(v, autoescape=True)
                           for v in variants for col in (Person.name, Person.alias))))
    return where


def board(session: Session, night: date, city: str, now: datetime | None = None,
          show: BoardFilter | None = None) -> Board:
    """Tonight's requests by need (highest first), with status, bed, hold, safety flags,
    and free beds per site and gender rule; searched and filtered by `show` in SQL, one
    page of PAGE_SIZE rows. A fixed number of queries for any number of requests (two over
    all matching requests: the page and the counts per status); rows are read by column."""
    now = now or utcnow()
    show = show or BoardFilter()
    run = _latest_run(session, night, city)
    pending: dict[int, Any] = {}
    if run is not None and run.confirmed_at is None:
        pending = {int(t["person"]): t for t in run.result_json.get("turned_away", [])}
    # The placement that tells a person's evening: the active one (at most one per person
    # and night; found through the partial unique index, hence the literal IN list), else
    # the latest ended one (no-show, left: few).
    active = aliased(Placement, name="active")
    ended = (select(Placement.id.label("id"), Placement.person_id.label("person_id"),
                    Placement.status.label("status"), Placement.bed_id.label("bed_id"),
                    func.row_number().over(partition_by=Placement.person_id,
                                           order_by=(_status_rank(), Placement.id.desc()))
                    .label("rn"))
             .where(Placement.night == night, Placement.status.not_in(ACTIVE_PLACEMENT))
             .subquery("ranked"))
    ended = select(ended).where(ended.c.rn == 1).subquery("ended")
    placement_id = func.coalesce(active.id, ended.c.id)
    placement_status = func.coalesce(active.status, ended.c.status)
    since = fresh_assessment_since(night)
    latest = aliased(Assessment, name="latest")
    # An unassessed request counts the person's latest fresh assessment (as the allocation
    # input does); SQL only looks it up where the request has none (coalesce is lazy).
    fresh_need = (select(latest.need).where(latest.person_id == Request.person_id,
                                            latest.assessed_at >= since)
                  .order_by(latest.assessed_at.desc(), latest.id.desc()).limit(1)
                  .correlate(Request).scalar_subquery())
    need = func.coalesce(Assessment.need, fresh_need, 0)
    whens = [(placement_status == s, PLACEMENT_WORDS[s]) for s in STATUS_ORDER]
    whens.append((Request.status == RequestStatus.TURNED_AWAY, "turned away"))
    if pending:
        whens.append((Request.person_id.in_(list(pending)), "to turn away"))
    status = case(*whens, else_="waiting")

    def base(*columns: Any) -> Any:
        return (select(*columns)
                .join(Person, Request.person_id == Person.id)
                .outerjoin(Assessment, Request.assessment_id == Assessment.id)
                .outerjoin(Hold, Request.hold_id == Hold.id)
                .outerjoin(active, and_(
                    active.person_id == Request.person_id, active.night == night,
                    active.status.in_(bindparam("active_statuses", [s.value for s in ACTIVE_PLACEMENT],
                                                expanding=True, literal_execute=True))))
                .outerjoin(ended, and_(active.id.is_(None), ended.c.person_id == Request.person_id))
                .outerjoin(Bed, Bed.id == func.coalesce(active.bed_id, ended.c.bed_id)).outerjoin(Room, Room.id == Bed.room_id)
                .outerjoin(Site, Site.id == Room.site_id)
                .where(Request.city == city, Request.night == night,
                       Request.status != RequestStatus.WITHDRAWN))

    where = _search(show.q) if show.q.strip() else []
    if show.sites is not None:
        # A placed person belongs to their bed's site; anyone else to the held or wished site.
        where.append(func.coalesce(Site.id, Hold.site_id, Request.preferred_site_id)
                     .in_(sorted(show.sites)))
    if show.band is not None:
        where.append(need.between(*show.band))
    if show.gender is not None:
        where.append(Person.gender == show.gender)
    counts: Counter[str] = Counter({s: int(n) for s, n in session.execute(
        base(status, func.count()).where(*where).group_by(status))})
    total = counts[show.status] if show.status else sum(counts.values())
    pages = max(1, -(-total // PAGE_SIZE))
    page = min(max(1, show.page), pages)
    stmt = base(Request.id, Request.person_id, Request.arrival, Request.source, Request.needs,
                Request.turnaway_explanation, Request.turnaway_reason, Request.turnaway_params,
                Person.name, Person.alias, Person.gender, Person.birth_year, need,
                Assessment.parts, Organisation.name, placement_id,
                placement_status, Site.name, Room.name, Bed.label, Site.checkin_cutoff, Site.id,
                status).outerjoin(Organisation, Hold.organisation_id == Organisation.id)
    if show.status:
        stmt = stmt.where(status == show.status)
    found = session.execute(stmt.where(*where)
                            .order_by(need.desc(), Request.arrival, Request.id)
                            .limit(PAGE_SIZE).offset((page - 1) * PAGE_SIZE)).all()
    shown = [r[1] for r in found]
    bans: dict[int, list[str]] = {}
    if shown:
        for person_id, site_name, area_name in session.execute(
                select(Restriction.person_id, Site.name, Area.name)
                .outerjoin(Site, Restriction.site_id == Site.id)
                .outerjoin(Area, Restriction.area_id == Area.id)
                .where(Restriction.person_id.in_(shown), Restriction.in_force_on(night))):
            bans.setdefault(person_id, []).append(
                site_name or (_("area %(name)s", name=area_name) if area_name else _("all sites")))
    pairs: Counter[int] = Counter()
    if shown:
        for a, b in session.execute(
                select(KeepApart.person_a_id, KeepApart.person_b_id)
                .where(KeepApart.in_force_on(night), or_(KeepApart.person_a_id.in_(shown),
                                                         KeepApart.person_b_id.in_(shown)))):
            pairs[a] += 1
            pairs[b] += 1
    unassessed = [r[1] for r in found if r[13] is None]
    fallback = {pid: parts for pid, parts in session.execute(
        select(Assessment.person_id, Assessment.parts)
        .where(Assessment.person_id.in_(unassessed), Assessment.assessed_at >= since)
        .order_by(Assessment.assessed_at, Assessment.id))} if unassessed else {}
    cutoffs: dict[int, datetime] = {}
    rows: list[Row] = []
    for (rid, pid, arrival, source, needs, explanation, why, why_params, name, alias, gender,
         birth_year, need_value, parts, org, placement_id, pstatus, site_name,
         room_name, bed, cutoff, site_id, code) in found:
        if parts is None:
            parts = fallback.get(pid)
        assessed = parts is not None
        row = Row(rid, pid, _display(pid, name, alias), gender,
                  None if birth_year is None else night.year - birth_year, arrival,
                  source, list(needs or []), assessed, org, int(need_value or 0),
                  list(parts or []), code,
                  bans=bans.get(pid, []), keep_apart=pairs.get(pid, 0))
        if placement_id is not None:
            row.placement_id, row.placement_status = placement_id, pstatus.value
            row.site_id = site_id
            row.bed = f"{site_name} · {room_name} · {bed}"
            if pstatus == PlacementStatus.CONFIRMED:
                if site_id not in cutoffs:
                    cutoffs[site_id] = local_on(night, cutoff)
                row.no_show_due = now >= cutoffs[site_id]
        elif code == "turned away":
            row.reason = reasons.explain(why, why_params, explanation)
        elif code == "to turn away":
            row.reason = reasons.turnaway_text(pending[pid])
        rows.append(row)
    return Board(night, rows, site_counts(session, night, city, show.sites), run,
                 counts["waiting"] if run is not None else 0, counts, total, page, pages)


def site_choices(session: Session, city: str) -> list[tuple[int, str]]:
    """The city's sites for the board's site filter, by name."""
    return [(i, n) for i, n in session.execute(
        select(Site.id, Site.name).where(Site.city == city).order_by(Site.name))]


def site_counts(session: Session, night: date, city: str,
                sites: frozenset[int] | None = None) -> list[Availability]:
    """inventory.availability's counts in one GROUP BY query (no Bed objects built): beds in
    service, placed, held but not placed, per site and gender rule."""
    placed = select(Placement.bed_id).where(Placement.night == night,
                                            Placement.is_active)
    held = select(Hold.bed_id).where(Hold.night == night, Hold.is_active)
    is_placed = Bed.id.in_(placed)
    stmt = (
        select(Site.id, Site.code, Site.name, Room.gender, func.count(Bed.id),
               func.sum(case((is_placed, 1), else_=0)),
               func.sum(case((and_(~is_placed, Bed.id.in_(held)), 1), else_=0)))
        .join(Room, Room.site_id == Site.id).join(Bed, Bed.room_id == Room.id)
        .where(Site.city == city, Bed.in_service_on(night),
               *([] if sites is None else [Site.id.in_(sorted(sites))]))
        .group_by(Site.id, Site.code, Site.name, Room.gender))
    rows = [Availability(sid, code, name, gender, int(n), int(p or 0), int(h or 0))
            for sid, code, name, gender, n, p, h in session.execute(stmt)]
    return sorted(rows, key=lambda r: (r.site_name, r.gender.value))


@dataclass
class RunConflict:
    """A booking the run set aside because the rule book no longer allows it."""

    person: Person
    kind: str  # placement | hold
    bed: Bed | None
    problems: list[str]


class BedRow(NamedTuple):
    """A bed as the proposal page names it (plain row, no ORM object)."""

    id: int
    label: str
    room: str
    site_id: int
    site: str


class PlacedRow(NamedTuple):
    """A person's active placement tonight as the proposal page shows it."""

    person_id: int
    bed_id: int
    status: PlacementStatus


@dataclass
class SiteGroup:
    """The people placed at one site, in need order."""

    site_id: int
    site: str
    people: list[int]
    shown: bool  # rows listed on the page (else a link to this site's list)


@dataclass
class Proposal:
    run: AllocationRun
    people: dict[int, str]  # person id -> display name
    needs: dict[int, int]
    beds: dict[int, BedRow]
    placed: dict[int, PlacedRow]  # current (after overrides)
    first_come: dict[int, int]  # person -> bed under first-come
    reasons: dict[int, dict[str, Any]]  # need rule's turn-away reasons
    fc_reasons: dict[int, dict[str, Any]]
    bands: list[tuple[str, int, int, int]]  # band, asking, placed by need, by first-come
    conflicts: list[RunConflict] = field(default_factory=list)

    @property
    def turned_away(self) -> list[int]:
        return sorted((p for p in self.needs if p not in self.placed),
                      key=lambda p: -self.needs[p])

    @property
    def placed_order(self) -> list[int]:
        return sorted(self.placed, key=lambda p: (-self.needs[p], p))

    @property
    def only_need(self) -> list[int]:
        return [p for p in self.placed if p not in self.first_come]

    @property
    def only_first_come(self) -> list[int]:
        return [p for p in self.first_come if p not in self.placed]

    def by_site(self, site: int | None = None) -> list[SiteGroup]:
        """The people placed, grouped per site (by site name), each in need order. Every
        group's rows are shown on a small night (up to PROPOSAL_FULL_LIST placed); on a
        bigger one only the chosen `site`'s, so the page stays readable and light."""
        groups: dict[int, SiteGroup] = {}
        show_all = len(self.placed) <= PROPOSAL_FULL_LIST
        for pid in self.placed_order:
            bed = self.beds.get(self.placed[pid].bed_id)
            key, name = (bed.site_id, bed.site) if bed else (0, "")
            if key not in groups:
                groups[key] = SiteGroup(key, name, [], show_all or key == site)
            groups[key].people.append(pid)
        return sorted(groups.values(), key=lambda g: (g.site, g.site_id))


# Up to this many placed people the proposal lists them all; above, one site at a time.
PROPOSAL_FULL_LIST = 400


def proposal(session: Session, run: AllocationRun) -> Proposal:
    """The run's proposal as it stands (overrides applied) beside what first-come would do.
    Plain rows, not ORM objects: at Toronto size (7,800 asking) this is most of the page."""
    needs = {int(r["person"]): r["need"] for r in run.input_json["requests"]}
    asking = select(Request.person_id).where(Request.city == run.city,
                                             Request.night == run.night)
    people = {row.id: Person.display_name.fget(row)  # type: ignore[attr-defined]
              for row in session.execute(select(Person.id, Person.name, Person.alias)
                                         .where(Person.id.in_(asking)))}
    beds = {row.id: BedRow(*row) for row in session.execute(
        select(Bed.id, Bed.label, Room.name, Site.id, Site.name)
        .join(Room, Bed.room_id == Room.id).join(Site, Room.site_id == Site.id)
        .where(Bed.in_service_on(run.night), Site.city == run.city))}
    placed = {row.person_id: PlacedRow(*row) for row in session.execute(
        select(Placement.person_id, Placement.bed_id, Placement.status).where(
            Placement.night == run.night, Placement.is_active))
        if row.person_id in needs}
    comparison = run.comparison_json or {"assignments": [], "turned_away": []}
    first_come = {int(a["person"]): int(a["bed"]) for a in comparison["assignments"]}
    bands = []
    for lo, hi in NEED_BANDS:
        inside = [p for p, n in needs.items() if lo <= n <= hi]
        bands.append((f"{lo}–{hi}", len(inside), sum(p in placed for p in inside),
                      sum(p in first_come for p in inside)))
    conflicts = []
    for c in run.result_json.get("conflicts", []):
        person = session.get(Person, int(c["person"]))
        if person is None:
            continue
        bed = session.get(Bed, c["bed_id"]) if c.get("bed_id") else None
        conflicts.append(RunConflict(person, c["kind"], bed,
                                     [rules.sentence(Reason(code)) for code in c["codes"]]))
    return Proposal(
        run, people, needs, beds, placed, first_come,
        {int(t["person"]): t for t in run.result_json["turned_away"]},
        {int(t["person"]): t for t in comparison["turned_away"]}, bands, conflicts)


def beds_for_override(session: Session, night: date, city: str) -> list[tuple[Bed, bool]]:
    """Beds in service tonight with whether each is free (no active placement); free first.
    Taken beds are listed too, so a refusal can say why rather than hide the bed."""
    taken = set(session.scalars(select(Placement.bed_id).where(
        Placement.night == night, Placement.is_active)))
    beds = beds_in_service(session, night, city)
    return [(b, True) for b in beds if b.id not in taken] + \
        [(b, False) for b in beds if b.id in taken]


@dataclass
class TurnedAway:
    request: Request
    services: list[OtherService]


def turned_away(session: Session, night: date, city: str) -> list[TurnedAway]:
    """Everyone turned away tonight, with where else to go: women see services for women
    first (a women's crisis centre before a general shelter)."""
    requests = list(session.scalars(
        select(Request).options(joinedload(Request.person), joinedload(Request.assessment))
        .where(Request.city == city, Request.night == night,
               Request.status == RequestStatus.TURNED_AWAY)
        .order_by(Request.arrival)))
    services = list(session.scalars(select(OtherService).where(
        OtherService.city == city, OtherService.active.is_(True)).order_by(OtherService.name)))
    out = []
    for req in requests:
        gender = req.person.gender.value
        fits = [s for s in services if s.for_gender in (None, "", gender)]
        fits.sort(key=lambda s: 0 if s.for_gender == gender else 1)
        out.append(TurnedAway(req, fits))
    return out


class NoteError(ValueError):
    """The note could not be saved (the request is not turned away tonight)."""


def save_note(session: Session, req: Request, *, note: str, referred_to: str,
              user: Any = None) -> Request:
    """Keep what staff told a turned-away person and where they were sent.
    Raises NoteError for a request that is not turned away."""
    if req.status != RequestStatus.TURNED_AWAY:
        raise NoteError(_("Only a turned-away request takes a referral note."))
    req.note = note.strip()
    req.referred_to = referred_to.strip() or None
    session.flush()
    audit.record(session, user, "referral_note", [req.person_id], f"request {req.id}")
    return req
