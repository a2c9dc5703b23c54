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

from shelter.models import (
    HousingReferral, Organisation, OrganisationPerson, Person, Request, RequestStatus, User,
)
from shelter.services import audit, charts
from shelter.services.reports import Report, ReportError, Table, check_range
from shelter.services.reports_stats import AGE_BANDS, GENDERS, age_band

ON_PAGE = 50
EPOCH = date(2000, 1, 1)
EMERGENCY = (RequestStatus.PLACED, RequestStatus.TURNED_AWAY)
PEOPLE_COLUMNS = ["person", "person id", "emergency nights", "placed", "turned away",
                  "longest run of nights", "longest run turned away", "partner follow-up",
                  "referred for housing"]


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
    return [[names.get(t.person_id, f"person {t.person_id}"), t.person_id, t.nights,
             t.nights - t.away, t.away, runs.get(t.person_id, 0),
             away_runs.get(t.person_id, 0), "; ".join(partners[t.person_id]) or "no",
             referred[t.person_id].date().isoformat() if t.person_id in referred else "no"]
            for t in ranked]


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
        rows.append([band, *[people[band][g] for g in GENDERS], total_people, nights[band],
                     round(nights[band] / total_people, 1)])
    return rows


def housing_report(session: Session, city: str, start: date, end: date, today: date) -> Report:
    """The report for the reports pages (chart, the two tables, CSV of everyone)."""
    check_range(start, end)
    report = Report("housing", "Who needs a home", city, start, end)
    found = totals(session, city, start, end)
    bands = band_rows(found, end)
    listed = people_rows(session, city, start, end, found=found)
    everyone = sum(r[len(GENDERS) + 1] for r in bands)
    total_nights = sum(r[len(GENDERS) + 2] for r in bands)
    report.summary.append(
        f"{everyone:,} people had {total_nights:,} emergency nights (placed or turned away) "
        f"in {city} from {start} to {end}.")
    if listed:
        report.summary.append(
            f"The {len(listed)} with the most nights had {sum(r[2] for r in listed):,} of them; "
            f"{sum(1 for r in listed if r[8] != 'no')} of those are referred for housing follow-up.")
    report.chart = charts.bar_chart(
        [r[0] for r in bands],
        [(g, [r[1 + i] for r in bands]) for i, g in enumerate(GENDERS)],
        title=f"People with emergency nights by age band and gender, {city}",
        desc=f"Stacked bars: people with at least one emergency night from {start} to {end}, "
             f"per age band, split by gender. The same figures are in the table below.")
    report.tables = [
        Table("people", f"The {ON_PAGE} people with the most emergency nights", PEOPLE_COLUMNS,
              listed),
        Table("bands", "By age band and gender", ["age band", *GENDERS, "people",
                                                  "emergency nights", "nights per person"],
              bands),
        Table("people_all", "Everyone with an emergency night", PEOPLE_COLUMNS, [],
              on_page=False, load=lambda: people_rows(session, city, start, end, limit=None)),
    ]
    report.extra["refer_choices"] = [(r[1], f"{r[0]} ({r[2]} nights)") for r in listed
                                     if r[8] == "no"]
    return report


class ReferralError(ReportError):
    """A referral that cannot be recorded; `field` names the form field."""


def refer_for_housing(session: Session, person_id: int, note: str, user: User | None) -> HousingReferral:
    """Mark a person "referred for housing follow-up" (audited). Raises ReferralError for an
    unknown person or one already referred."""
    person = session.get(Person, person_id)
    if person is None:
        raise ReferralError("person", "Choose a person from the list.")
    if session.scalar(select(HousingReferral.id).where(HousingReferral.person_id == person_id)):
        raise ReferralError("person", f"{person.display_name} is already referred for housing follow-up.")
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
