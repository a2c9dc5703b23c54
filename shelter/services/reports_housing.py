"""Who needs a home, not another night: the people with the most emergency nights (placed or
turned away) in a period, their longest run of nights, repeat turn-aways, whether a partner
follows them up and whether a manager referred them for housing follow-up; beside it the
same people counted by age band and gender.

Counts are GROUP BYs over the requests of the city and range (index on city, night,
status); runs of nights are worked out only for the people listed. Every named list is
written to the audit trail."""
from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass
from datetime import date
from typing import Any

from sqlalchemy import Integer, case, func, literal, select, type_coerce
from sqlalchemy.orm import Session

from shelter import i18n
from shelter.i18n import _, _l, ngettext
from shelter.models import (
    HousingReferral, Organisation, OrganisationPerson, Person, Request, RequestStatus, User,
)
from shelter.services import audit, charts
from shelter.services.reports import Report, ReportError, Table, check_range, span
from shelter.services.reports_stats import (
    AGE_BANDS, AGE_LABELS, GENDER_LABELS, GENDERS, age_band, label,
)

ON_PAGE = 50
EPOCH = date(2000, 1, 1)
EMERGENCY = (RequestStatus.PLACED, RequestStatus.TURNED_AWAY)
PEOPLE_COLUMNS = [_l("person"), _l("person id"), _l("emergency nights"), _l("placed"),
                  _l("turned away"), _l("longest run of nights"), _l("longest run turned away"),
                  _l("partner follow-up"), _l("referred for housing")]
#: The column of PEOPLE_COLUMNS that holds the night of the referral (empty: not referred).
REFERRED = 8


def _in_range(city: str, start: date, end: date) -> tuple[Any, ...]:
    return (Request.city == city, Request.night >= start, Request.night <= end,
            Request.status.in_(EMERGENCY))


@dataclass(frozen=True)
class Totals:
    """One person's emergency nights in the range (one row of one GROUP BY)."""

    person_id: int
    nights: int
    away: int
    birth_year: int | None
    gender: str


def totals(session: Session, city: str, start: date, end: date) -> list[Totals]:
    """Everyone with an emergency night in the range, most nights first. One GROUP BY over
    the covering index (city, person_id, status, night), then one join to people."""
    away = func.sum(case((Request.status == RequestStatus.TURNED_AWAY, 1), else_=0))
    agg = (select(Request.person_id.label("pid"), func.count().label("n"), away.label("away"))
           .where(*_in_range(city, start, end)).group_by(Request.person_id).subquery())
    rows = [Totals(pid, int(n), int(a or 0), born, str(getattr(g, "value", g)))
            for pid, n, a, born, g in session.execute(
                select(agg.c.pid, agg.c.n, agg.c.away, Person.birth_year, Person.gender)
                .join(Person, Person.id == agg.c.pid))]
    rows.sort(key=lambda t: (-t.nights, -t.away, t.person_id))
    return rows


def people_rows(session: Session, city: str, start: date, end: date,
                limit: int | None = ON_PAGE, found: list[Totals] | None = None) -> list[list[Any]]:
    """The named list (audited): one row per person, PEOPLE_COLUMNS."""
    ranked = (found if found is not None else totals(session, city, start, end))
    ranked = ranked[:limit] if limit else ranked
    ids = [t.person_id for t in ranked]
    if not ids:
        return []
    runs, away_runs = _longest_runs(session, city, start, end, ids if limit else None)
    names = {p.id: p.display_name for p in session.scalars(select(Person).where(Person.id.in_(ids)))}
    partners: dict[int, list[str]] = defaultdict(list)
    for pid, org in session.execute(
            select(OrganisationPerson.person_id, Organisation.name)
            .join(Organisation, Organisation.id == OrganisationPerson.organisation_id)
            .where(OrganisationPerson.person_id.in_(ids)).order_by(Organisation.name)):
        partners[pid].append(org)
    referred = dict(session.execute(select(HousingReferral.person_id, HousingReferral.referred_at)
                                    .where(HousingReferral.person_id.in_(ids))).all())
    # Privacy: naming people is audited, like every other view of a person.
    audit.record(session, None, "view", ids, f"report: housing follow-up, {city} {start} to {end}")
    no = _("no")
    return [[names.get(t.person_id) or _("person %(id)s", id=t.person_id), t.person_id,
             t.nights, t.nights - t.away, t.away, runs.get(t.person_id, 0),
             away_runs.get(t.person_id, 0), "; ".join(partners[t.person_id]) or no,
             referred[t.person_id].date().isoformat() if t.person_id in referred else no]
            for t in ranked]


def _is_referred(row: list[Any]) -> bool:
    """A row of people_rows whose person is referred (the cell holds the referral's night)."""
    cell = row[REFERRED]
    return isinstance(cell, str) and len(cell) == 10 and cell[4] == "-" and cell[7] == "-"


def _longest_runs(session: Session, city: str, start: date, end: date,
                  ids: list[int] | None) -> tuple[dict[int, int], dict[int, int]]:
    """Each person's longest run of emergency nights, and of nights turned away, worked out
    in the database (gaps and islands: a night's day number minus its rank is constant along
    a run), so the CSV of everyone does not pull ~700,000 rows into Python. A person has at
    most one open request a night (a unique index), so the nights are distinct."""
    if session.get_bind().dialect.name == "sqlite":
        day = func.julianday(Request.night)
    else:  # PostgreSQL: date - date is a whole number of days
        day = type_coerce(Request.night - literal(EPOCH), Integer)
    out = []
    for statuses in (EMERGENCY, (RequestStatus.TURNED_AWAY,)):
        rank = func.row_number().over(partition_by=Request.person_id, order_by=Request.night)
        nights = (select(Request.person_id.label("pid"), (day - rank).label("island"))
                  .where(Request.city == city, Request.night >= start, Request.night <= end,
                         Request.status.in_(statuses)))
        if ids is not None:
            nights = nights.where(Request.person_id.in_(ids))
        nights = nights.subquery()
        islands = (select(nights.c.pid, func.count().label("n"))
                   .group_by(nights.c.pid, nights.c.island).subquery())
        out.append({pid: int(n) for pid, n in session.execute(
            select(islands.c.pid, func.max(islands.c.n)).group_by(islands.c.pid))})
    return out[0], out[1]


def band_rows(found: list[Totals], end: date) -> list[list[Any]]:
    """Everyone in `found` by age band (at the last night) and gender: people, their
    emergency nights, nights per person."""
    people: dict[str, dict[str, int]] = {b: defaultdict(int) for b in AGE_BANDS}
    nights: dict[str, int] = defaultdict(int)
    for t in found:
        band = age_band(t.birth_year, end)
        people.setdefault(band, defaultdict(int))[t.gender] += 1
        nights[band] += t.nights
    rows = []
    for band in AGE_BANDS:
        total_people = sum(people[band].values())
        if not total_people:
            continue
        rows.append([label(AGE_LABELS, band), *[people[band][g] for g in GENDERS],
                     total_people, nights[band], round(nights[band] / total_people, 1)])
    return rows


def housing_report(session: Session, city: str, start: date, end: date, today: date) -> Report:
    """The report for the reports pages (chart, the two tables, CSV of everyone)."""
    check_range(start, end)
    report = Report("housing", _("Who needs a home"), city, start, end)
    found = totals(session, city, start, end)
    bands = band_rows(found, end)
    listed = people_rows(session, city, start, end, found=found)
    everyone = sum(r[len(GENDERS) + 1] for r in bands)
    total_nights = sum(r[len(GENDERS) + 2] for r in bands)
    report.summary.append(ngettext(
        "%(people)s person had %(nights)s emergency nights (placed or turned away) in "
        "%(city)s from %(start)s to %(end)s.",
        "%(people)s people had %(nights)s emergency nights (placed or turned away) in "
        "%(city)s from %(start)s to %(end)s.", everyone, people=i18n.number(everyone),
        nights=i18n.number(total_nights), city=city, **span(start, end)))
    if listed:
        report.summary.append(_(
            "The %(listed)s with the most nights had %(nights)s of them; %(referred)s of those "
            "are referred for housing follow-up.", listed=len(listed),
            nights=i18n.number(sum(r[2] for r in listed)),
            referred=sum(1 for r in listed if _is_referred(r))))
    genders = [label(GENDER_LABELS, g) for g in GENDERS]
    report.chart = charts.bar_chart(
        [r[0] for r in bands],
        [(g, [r[1 + i] for r in bands]) for i, g in enumerate(genders)],
        title=_("People with emergency nights by age band and gender, %(city)s", city=city),
        desc=_("Stacked bars: people with at least one emergency night from %(start)s to "
               "%(end)s, per age band, split by gender. The same figures are in the table "
               "below.", **span(start, end)))
    columns = [str(c) for c in PEOPLE_COLUMNS]
    report.tables = [
        Table("people", _("The %(n)s people with the most emergency nights", n=ON_PAGE),
              columns, listed, nights=(REFERRED,), ids=(1,)),
        Table("bands", _("By age band and gender"), [_("age band"), *genders, _("people"),
                                                     _("emergency nights"),
                                                     _("nights per person")],
              bands),
        Table("people_all", _("Everyone with an emergency night"), columns, [],
              on_page=False, load=lambda: people_rows(session, city, start, end, limit=None),
              nights=(REFERRED,), ids=(1,)),
    ]
    report.extra["refer_choices"] = [
        (r[1], ngettext("%(name)s (%(num)d night)", "%(name)s (%(num)d nights)", r[2],
                        name=r[0])) for r in listed if not _is_referred(r)]
    return report


class ReferralError(ReportError):
    """A referral that cannot be recorded; `field` names the form field."""


def refer_for_housing(session: Session, person_id: int, note: str, user: User | None) -> HousingReferral:
    """Mark a person "referred for housing follow-up" (audited). Raises ReferralError for an
    unknown person or one already referred."""
    person = session.get(Person, person_id)
    if person is None:
        raise ReferralError("person", _("Choose a person from the list."))
    if session.scalar(select(HousingReferral.id).where(HousingReferral.person_id == person_id)):
        raise ReferralError("person", _("%(name)s is already referred for housing follow-up.",
                                        name=person.display_name))
    note = note.strip()[:1000]
    referral = HousingReferral(person_id=person_id, note=note,
                               referred_by_id=getattr(user, "id", None))
    session.add(referral)
    session.flush()
    audit.record(session, user, "housing_referral", person_id,
                 "referred for housing follow-up" + (f": {note}" if note else ""))
    return referral


def referral_of(session: Session, person_id: int) -> HousingReferral | None:
    return session.scalar(select(HousingReferral).where(HousingReferral.person_id == person_id))
