"""Managers' reports, common parts plus occupancy and turn-aways.

Every report is a `Report`: a chart (SVG), the tables under it (the same figures, so the
chart has a text alternative) and any number of CSV exports, one per table. Figures come
from the per-night aggregates (`reports_stats`), filled on demand; lists of named people
come from the requests themselves and are written to the audit trail."""
from __future__ import annotations

import csv
import io
from collections import defaultdict
from dataclasses import dataclass, field
from datetime import date, timedelta
from typing import Any

from markupsafe import Markup
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shelter.models import Person, Site
from shelter.models.reporting import ReportNight, ReportRequestGroup, ReportSiteNight
from shelter.services import audit, charts
from shelter.services.reports_stats import (
    AGE_BANDS, GENDERS, NEED_BANDS, REASONS, ensure_stats, request_rows,
)

MAX_NIGHTS = 366
REPEAT_NIGHTS = 3  # turned away this many nights in a row or more
HEATMAP_SITES = 25


class ReportError(ValueError):
    """Bad report parameters; `field` names the form field to mark."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(message)
        self.field = field_name


@dataclass
class Table:
    key: str
    caption: str
    columns: list[str]
    rows: list[list[Any]]
    on_page: bool = True  # False: too long for the page, CSV export only


@dataclass
class Report:
    slug: str
    title: str
    city: str
    start: date
    end: date
    chart: Markup | None = None
    summary: list[str] = field(default_factory=list)
    tables: list[Table] = field(default_factory=list)
    note: str = ""
    extra: dict[str, Any] = field(default_factory=dict)

    def table(self, key: str | None) -> Table:
        """The table to export; raises ReportError for an unknown key."""
        for t in self.tables:
            if key in (None, "", t.key):
                return t
        raise ReportError("table", f"no table named {key!r} in this report")


def pct(part: float, whole: float) -> float | None:
    return None if not whole else round(100.0 * part / whole, 1)


def nights_between(start: date, end: date) -> list[date]:
    return [start + timedelta(days=i) for i in range((end - start).days + 1)]


def default_range(session: Session, city: str, today: date) -> tuple[date, date]:
    """The last 21 nights up to yesterday; for a city whose data is older (an imported
    history), the last 21 nights that were counted."""
    latest = session.scalar(select(func.max(ReportSiteNight.night)).where(ReportSiteNight.city == city))
    end = today - timedelta(days=1)
    if latest is not None and latest < today - timedelta(days=30):
        end = latest
    return end - timedelta(days=20), end


def check_range(start: date, end: date) -> None:
    """Raises ReportError when the range is reversed or longer than a year."""
    if end < start:
        raise ReportError("end", "The last night must be on or after the first night.")
    if (end - start).days + 1 > MAX_NIGHTS:
        raise ReportError("end", f"Choose at most {MAX_NIGHTS} nights.")


def to_csv(table: Table) -> str:
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(table.columns)
    for row in table.rows:
        writer.writerow(["" if v is None else v for v in row])
    return buf.getvalue()


def request_groups(session: Session, city: str, start: date, end: date) -> list[Any]:
    cols = [ReportRequestGroup.night, ReportRequestGroup.gender, ReportRequestGroup.age_band,
            ReportRequestGroup.need_band, ReportRequestGroup.outcome, ReportRequestGroup.reason,
            ReportRequestGroup.count]
    return list(session.execute(select(*cols).where(
        ReportRequestGroup.city == city, ReportRequestGroup.night >= start,
        ReportRequestGroup.night <= end)))


# --- 1. occupancy ---------------------------------------------------------------------

def occupancy_report(session: Session, city: str, start: date, end: date, today: date) -> Report:
    """Beds in service, occupied, held and free per site and night, and the rate."""
    check_range(start, end)
    ensure_stats(session, city, start, end, today)
    rows = session.execute(
        select(ReportSiteNight.night, ReportSiteNight.in_service, ReportSiteNight.occupied,
               ReportSiteNight.held, Site.name).join(Site, Site.id == ReportSiteNight.site_id)
        .where(ReportSiteNight.city == city, ReportSiteNight.night >= start,
               ReportSiteNight.night <= end)).all()
    nights = nights_between(start, end)
    per_night: dict[date, list[int]] = {n: [0, 0, 0] for n in nights}
    per_site: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    cell: dict[tuple[str, date], float | None] = {}
    detail = []
    for stat in rows:
        name = stat.name
        for acc in (per_night[stat.night], per_site[name]):
            acc[0] += stat.in_service
            acc[1] += stat.occupied
            acc[2] += stat.held
        cell[(name, stat.night)] = pct(stat.occupied, stat.in_service)
        detail.append([stat.night.isoformat(), name, stat.in_service, stat.occupied, stat.held,
                       stat.in_service - stat.occupied - stat.held,
                       pct(stat.occupied, stat.in_service)])
    detail.sort(key=lambda r: (r[0], r[1]))
    night_rows = [[n.isoformat(), s, o, h, s - o - h, pct(o, s)]
                  for n, (s, o, h) in per_night.items()]
    site_rows = sorted(([name, round(s / len(nights), 1), round(o / len(nights), 1),
                         round(h / len(nights), 1), pct(o, s)]
                        for name, (s, o, h) in per_site.items()), key=lambda r: r[0])
    report = Report("occupancy", "Occupancy", city, start, end)
    total_s = sum(v[0] for v in per_night.values())
    total_o = sum(v[1] for v in per_night.values())
    report.summary.append(
        f"{pct(total_o, total_s) or 0:.1f}% of beds in service were occupied over "
        f"{len(nights)} nights ({total_o:,} of {total_s:,} bed-nights).")
    labels = [n.strftime("%d %b") for n in nights]
    biggest = sorted(per_site, key=lambda n: -per_site[n][0])[:HEATMAP_SITES]
    shown = sorted(biggest)
    if shown:
        report.chart = charts.heat_map(
            shown, labels, [[cell.get((s, n)) for n in nights] for s in shown],
            title=f"Occupancy rate per site and night, {city}",
            desc=f"Share of beds in service that were occupied, per site (rows) and night "
                 f"(columns), {start} to {end}. The same figures are in the tables below.")
    if len(per_site) > HEATMAP_SITES:
        report.note = (f"The chart shows the {HEATMAP_SITES} largest of {len(per_site)} sites; "
                       f"every site is in the table and in the site-night CSV.")
    report.tables = [
        Table("nights", "Per night, whole city", ["night", "in service", "occupied", "held",
                                                   "free", "occupancy %"], night_rows),
        Table("sites", "Per site, average per night", ["site", "in service", "occupied",
                                                        "held", "occupancy %"], site_rows),
        Table("site_nights", "Per site and night", ["night", "site", "in service", "occupied",
                                                    "held", "free", "occupancy %"], detail,
              on_page=False),
    ]
    return report


# --- 2. turned away -------------------------------------------------------------------

def _share_rows(groups: list[Any], attr: str, order: tuple[str, ...]) -> list[list[Any]]:
    asked: dict[str, int] = defaultdict(int)
    away: dict[str, int] = defaultdict(int)
    for g in groups:
        if g.outcome == "waiting":
            continue
        asked[getattr(g, attr)] += g.count
        if g.outcome == "turned_away":
            away[getattr(g, attr)] += g.count
    return [[k, away[k], asked[k], pct(away[k], asked[k])] for k in order if asked[k]]


def repeat_turnaways(session: Session, city: str, start: date, end: date,
                     min_nights: int = REPEAT_NIGHTS) -> list[list[Any]]:
    """People turned away `min_nights` or more nights in a row within the range:
    [name, first night, last night, nights in a row], longest first."""
    rows = [r for r in request_rows(session, start, end, statuses=("turned_away",))
            if r["city"] == city]
    nights_of: dict[int, set[date]] = defaultdict(set)
    for r in rows:
        nights_of[r["person_id"]].add(r["night"])
    streaks: list[tuple[int, date, date, int]] = []
    for pid, nights in nights_of.items():
        ordered = sorted(nights)
        run_start = prev = ordered[0]
        for n in ordered[1:] + [None]:  # type: ignore[list-item]
            if n is not None and n == prev + timedelta(days=1):
                prev = n
                continue
            length = (prev - run_start).days + 1
            if length >= min_nights:
                streaks.append((pid, run_start, prev, length))
            if n is not None:
                run_start = prev = n
    if not streaks:
        return []
    people = {p.id: p for p in session.scalars(
        select(Person).where(Person.id.in_({s[0] for s in streaks})))}
    # Privacy: every view of a named person is audited (managers/admins only see this list).
    audit.record_many("view", sorted(people), "report: repeat turn-aways")
    streaks.sort(key=lambda s: (-s[3], people[s[0]].display_name))
    return [[people[pid].display_name, a.isoformat(), b.isoformat(), n]
            for pid, a, b, n in streaks]


def turnaway_report(session: Session, city: str, start: date, end: date, today: date) -> Report:
    """Turn-aways per night by reason, by gender, age band and need band, and repeats."""
    check_range(start, end)
    ensure_stats(session, city, start, end, today)
    groups = request_groups(session, city, start, end)
    nights = nights_between(start, end)
    asked = {n: 0 for n in nights}
    by_reason = {n: {r: 0 for r in REASONS} for n in nights}
    for g in groups:
        if g.outcome != "waiting":
            asked[g.night] += g.count
        if g.outcome == "turned_away":
            by_reason[g.night][g.reason if g.reason in REASONS else "capacity"] += g.count
    night_rows = []
    for n in nights:
        away = sum(by_reason[n].values())
        night_rows.append([n.isoformat(), asked[n], away, *[by_reason[n][r] for r in REASONS],
                           pct(away, asked[n])])
    report = Report("turnaways", "Turned away", city, start, end)
    total_away = sum(r[2] for r in night_rows)
    total_asked = sum(r[1] for r in night_rows)
    report.summary.append(f"{total_away:,} of {total_asked:,} requests were turned away "
                          f"({pct(total_away, total_asked) or 0:.1f}%).")
    labels = [n.strftime("%d %b") for n in nights]
    report.chart = charts.bar_chart(
        labels, [(r.replace("_", " "), [by_reason[n][r] for n in nights]) for r in REASONS],
        title=f"People turned away per night by reason, {city}",
        desc=f"Stacked bars: turn-aways per night from {start} to {end}, split by reason "
             f"(capacity, no eligible bed, keep-apart). Figures in the table below.")
    repeats = repeat_turnaways(session, city, start, end)
    share_cols = ["turned away", "requests", "turned away %"]
    report.tables = [
        Table("nights", "Per night", ["night", "requests", "turned away",
                                      "capacity", "no eligible bed", "keep apart",
                                      "turned away %"], night_rows),
        Table("gender", "By gender", ["gender", *share_cols],
              _share_rows(groups, "gender", GENDERS)),
        Table("age", "By age band", ["age band", *share_cols],
              _share_rows(groups, "age_band", AGE_BANDS)),
        Table("need", "By need band", ["need band", *share_cols],
              _share_rows(groups, "need_band", NEED_BANDS)),
        Table("repeat", f"Turned away {REPEAT_NIGHTS} or more nights in a row",
              ["person", "first night", "last night", "nights in a row"], repeats),
    ]
    return report


def night_facts(session: Session, city: str, start: date, end: date) -> dict[date, ReportNight]:
    return {r.night: r for r in session.scalars(select(ReportNight).where(
        ReportNight.city == city, ReportNight.night >= start, ReportNight.night <= end))}


# --- one entry point for the views ----------------------------------------------------

REPORTS = {
    "occupancy": ("Occupancy", "Beds in service, occupied, held and free per site and night."),
    "turnaways": ("Turned away", "Who was turned away and why; people turned away night after night."),
    "prebookings": ("Pre-bookings", "Holds per partner: claimed, expired, cancelled, refused; quota use."),
    "women": ("Women's and safety beds", "Women-only beds, women turned away, bans and keep-apart pairs."),
    "whatif": ("What-if", "The need rule beside the old first-come rule, per need band."),
    "fairness": ("Fairness", "Placement rate by gender and age band at each level of need."),
}


def report_cities(session: Session) -> list[str]:
    """Cities with sites, the default city first."""
    from shelter.services.reports_stats import cities, default_city

    found = cities(session)
    first = default_city()
    return ([first] if first in found else []) + [c for c in found if c != first]


def default_city() -> str:
    from shelter.services.reports_stats import default_city as _default

    return _default()


def build(session: Session, slug: str, city: str, start: date | None, end: date | None,
          today: date, night: date | None = None) -> Report:
    """Build report `slug` for a city and range (default: `default_range`).
    Raises ReportError for a bad range or a night without a confirmed run."""
    from shelter.services.reports_bookings import prebooking_report, women_safety_report
    from shelter.services.reports_outcomes import fairness_report, whatif_report

    if start is None or end is None:
        d_start, d_end = default_range(session, city, today)
        start, end = start or (end - timedelta(days=20) if end else d_start), end or d_end
    if slug == "occupancy":
        return occupancy_report(session, city, start, end, today)
    if slug == "turnaways":
        return turnaway_report(session, city, start, end, today)
    if slug == "prebookings":
        return prebooking_report(session, city, start, end)
    if slug == "women":
        return women_safety_report(session, city, start, end, today)
    if slug == "whatif":
        return whatif_report(session, city, start, end, today, night=night)
    if slug == "fairness":
        return fairness_report(session, city, start, end, today)
    raise ReportError("slug", f"unknown report {slug!r}")
