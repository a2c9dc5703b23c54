"""Managers' reports, common parts plus occupancy and turn-aways.

Every report is a `Report`: a chart (SVG), the tables under it (the same figures, so the
chart has a text alternative) and any number of CSV exports, one per table. Figures come
from the per-night aggregates (`reports_stats`), filled on demand; lists of named people
come from the requests themselves and are written to the audit trail."""
from __future__ import annotations

import csv
import io
from collections import defaultdict
from collections.abc import Callable
from dataclasses import dataclass, field
from datetime import date, timedelta
from decimal import Decimal
from typing import Any, NamedTuple

from markupsafe import Markup
from sqlalchemy import func, select
from sqlalchemy.orm import Session

from shelter import i18n
from shelter.i18n import _, _l, ngettext
from shelter.models import Person, Site
from shelter.models.reporting import (
    ReportNight, ReportRequestGroup, ReportSiteNight, ReportTurnaway,
)
from shelter.services import audit, charts
from shelter.services.reports_fill import ensure_stats
from shelter.services.reports_stats import (
    AGE_BANDS, AGE_LABELS, GENDER_LABELS, GENDERS, NEED_BANDS, OUTCOME_LABELS, REASONS, label,
)

MAX_NIGHTS = 366
REPEAT_NIGHTS = 3  # turned away this many nights in a row or more
REPEAT_ON_PAGE = 50  # the longest runs on the page; all of them in the CSV
HEATMAP_SITES = 25


class ReportError(ValueError):
    """Bad report parameters; `field` names the form field to mark."""

    def __init__(self, field_name: str, message: str) -> None:
        super().__init__(message)
        self.field = field_name


class Cell(NamedTuple):
    """A table cell as the page shows it: the text, the ISO date of a night (for
    <time datetime>) and whether it is a number (right-aligned)."""

    text: str
    iso: str | None
    number: bool


@dataclass
class Table:
    """Captions, columns and worded cells are in the language of the request that built
    the report; nights are ISO dates in the rows (and in the CSV), shown as dates on the page."""

    key: str
    caption: str
    columns: list[str]
    rows: list[list[Any]]
    on_page: bool = True  # False: too long for the page, CSV export only
    load: Callable[[], list[list[Any]]] | None = None  # fills `rows` on export only
    nights: tuple[int, ...] = ()  # the columns that hold nights (ISO dates)
    ids: tuple[int, ...] = ()  # the columns that hold numbers naming something (no grouping)

    def page_rows(self) -> list[list[Cell]]:
        """The rows as the page shows them: numbers and nights in the reader's language."""
        return [[Cell(str(v), None, True) if i in self.ids and isinstance(v, int)
                 else page_cell(v, night=i in self.nights) for i, v in enumerate(row)]
                for row in self.rows]


def _decimals(value: float | Decimal) -> int:
    """How many decimals a (rounded) figure carries, at least one: 50.0 -> 1, 12.25 -> 2."""
    text = format(Decimal(repr(value)) if isinstance(value, float) else value, "f")
    return max(1, len(text.partition(".")[2]))


def page_cell(value: Any, night: bool = False) -> Cell:
    """One cell for the page: integers with the language's digit grouping ("12 000"),
    decimals with its decimal mark ("66,7"), nights as dates ("søn. 1. mars 2026")."""
    if value is None:
        return Cell("", None, True)
    if isinstance(value, bool):
        return Cell(str(value), None, False)
    if isinstance(value, int):
        return Cell(i18n.number(value), None, True)
    if isinstance(value, (float, Decimal)):
        return Cell(i18n.decimal(value, _decimals(value)), None, True)
    if night and isinstance(value, (str, date)):
        try:
            day = value if isinstance(value, date) else date.fromisoformat(value)
        except ValueError:
            return Cell(str(value), None, False)
        return Cell(i18n.day_short(day), day.isoformat(), False)
    return Cell(str(value), None, False)


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
                if t.load is not None:
                    t.rows, t.load = t.load(), None
                return t
        raise ReportError("table", _("No table named %(key)s in this report.", key=repr(key)))


def pct(part: float, whole: float) -> float | None:
    return None if not whole else round(100.0 * part / whole, 1)


def share(percent: float | None, digits: int = 0) -> str:
    """A percentage from `pct` (0-100, None as 0) in the reader's language: "66,7 %"."""
    return i18n.percent((percent or 0) / 100, digits)


def span(start: date, end: date) -> dict[str, str]:
    """The first and last night of a range as a reader reads them (for "%(start)s to
    %(end)s" in a sentence)."""
    return {"start": i18n.day_short(start), "end": i18n.day_short(end)}


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
        raise ReportError("end", _("The last night must be on or after the first night."))
    if (end - start).days + 1 > MAX_NIGHTS:
        raise ReportError("end", _("Choose at most %(num)s nights.", num=MAX_NIGHTS))


# --- CSV: the one writer of every export (reports, open data, their errors) -------------

# A spreadsheet runs a cell that starts with one of these as a formula (CSV injection):
# a person named '=HYPERLINK(...)' could send a manager's data elsewhere.
FORMULA_STARTS = ("=", "+", "-", "@", "\t", "\r")
#: What ?sep= may say, and the delimiter each means.
SEPARATORS = {";": ";", ",": ",", "tab": "\t"}
#: Excel reads a file as UTF-8 only when it starts with the byte order mark.
BOM = "\ufeff"


@dataclass(frozen=True)
class CsvStyle:
    """The delimiter and decimal mark of a CSV file. Excel in Norwegian splits columns on
    ";" and reads "2,5" as a number; in English on "," with "2.5"."""

    delimiter: str = ","
    decimal_mark: str = "."


def csv_style(sep: str | None, lang: str) -> CsvStyle:
    """The style for a reader of `lang` ("nb": ";" and decimal commas; "en": "," and points);
    `sep` (";", "," or "tab") overrides the delimiter. Raises ReportError("sep") otherwise."""
    mark = "," if lang == "nb" else "."
    if not sep:
        return CsvStyle(";" if lang == "nb" else ",", mark)
    if sep not in SEPARATORS:
        raise ReportError("sep", _('sep must be ";", "," or "tab".'))
    return CsvStyle(SEPARATORS[sep], mark)


def csv_cell(value: object, style: CsvStyle = CsvStyle()) -> str:
    """A value as a CSV cell: text that a spreadsheet would run as a formula gets a leading
    apostrophe, so it is shown as text. Numbers (a negative count too) stay numbers:
    integers plain, decimals with the style's decimal mark, never a thousands separator.
    Dates are ISO (YYYY-MM-DD)."""
    if value is None:
        return ""
    if isinstance(value, bool):
        return str(value)
    if isinstance(value, int):
        return str(value)
    if isinstance(value, (float, Decimal)):
        text = format(Decimal(repr(value)) if isinstance(value, float) else value, "f")
        return text.replace(".", style.decimal_mark)
    if isinstance(value, date):
        return value.isoformat()
    text = str(value)
    return "'" + text if text.startswith(FORMULA_STARTS) else text


def write_csv(columns: list[Any], rows: list[list[Any]], style: CsvStyle = CsvStyle()) -> str:
    """RFC 4180 CSV (CRLF line ends, so a CR inside a cell is quoted, not a row break), with
    a header row. No byte order mark: the web download adds it (`BOM`)."""
    buf = io.StringIO()
    writer = csv.writer(buf, delimiter=style.delimiter, lineterminator="\r\n")
    writer.writerow([csv_cell(c, style) for c in columns])
    for row in rows:
        writer.writerow([csv_cell(v, style) for v in row])
    return buf.getvalue()


def to_csv(table: Table, style: CsvStyle = CsvStyle()) -> str:
    """One report table as CSV (its translated columns as the header)."""
    return write_csv(table.columns, table.rows, style)


def request_sums(session: Session, city: str, start: date, end: date, *keys: str,
                 **where: str) -> list[Any]:
    """Sum of request counts grouped by the named ReportRequestGroup columns (a GROUP BY in
    SQL over the per-night groups), filtered by `where` column=value."""
    cols = [getattr(ReportRequestGroup, k) for k in keys]
    stmt = select(*cols, func.sum(ReportRequestGroup.count)).where(
        ReportRequestGroup.city == city, ReportRequestGroup.night >= start,
        ReportRequestGroup.night <= end,
        *[getattr(ReportRequestGroup, k) == v for k, v in where.items()])
    return [(*r[:-1], int(r[-1] or 0)) for r in session.execute(stmt.group_by(*cols))]


# --- 1. occupancy ---------------------------------------------------------------------

def occupancy_report(session: Session, city: str, start: date, end: date, today: date) -> Report:
    """Beds in service, occupied, held and free per night and per site, and the rate.
    Sums are GROUP BYs in SQL; the site-by-night grid (143 sites x 90 nights in Toronto)
    is too long for a page and is built only for its CSV export."""
    check_range(start, end)
    ensure_stats(session, city, start, end, today)
    rsn = ReportSiteNight
    in_range = (rsn.city == city, rsn.night >= start, rsn.night <= end)
    sums = (func.sum(rsn.in_service), func.sum(rsn.occupied), func.sum(rsn.held))
    nights = nights_between(start, end)
    per_night: dict[date, tuple[int, int, int]] = {n: (0, 0, 0) for n in nights}
    for night, s_, o, h in session.execute(
            select(rsn.night, *sums).where(*in_range).group_by(rsn.night)):
        per_night[night] = (int(s_ or 0), int(o or 0), int(h or 0))
    per_site = [(sid, name, int(s_ or 0), int(o or 0), int(h or 0)) for sid, name, s_, o, h in
                session.execute(select(Site.id, Site.name, *sums)
                                .join(Site, Site.id == rsn.site_id).where(*in_range)
                                .group_by(Site.id, Site.name))]
    night_rows = [[n.isoformat(), s_, o, h, s_ - o - h, pct(o, s_)]
                  for n, (s_, o, h) in per_night.items()]
    k = len(nights)
    site_rows = sorted(([name, round(s_ / k, 1), round(o / k, 1), round(h / k, 1), pct(o, s_)]
                        for __, name, s_, o, h in per_site), key=lambda r: (r[0], r[1]))
    report = Report("occupancy", _("Occupancy"), city, start, end)
    total_s = sum(v[0] for v in per_night.values())
    total_o = sum(v[1] for v in per_night.values())
    report.summary.append(ngettext(
        "%(rate)s of beds in service were occupied over %(num)d night "
        "(%(occupied)s of %(total)s bed-nights).",
        "%(rate)s of beds in service were occupied over %(num)d nights "
        "(%(occupied)s of %(total)s bed-nights).", len(nights),
        rate=share(pct(total_o, total_s), 1), occupied=i18n.number(total_o),
        total=i18n.number(total_s)))
    biggest = sorted(per_site, key=lambda r: (-r[2], r[1]))[:HEATMAP_SITES]
    if biggest:
        cell: dict[tuple[int, date], float | None] = {
            (sid, night): pct(o, s_) for sid, night, s_, o in session.execute(
                select(rsn.site_id, rsn.night, rsn.in_service, rsn.occupied).where(
                    *in_range, rsn.site_id.in_([r[0] for r in biggest])))}
        shown = sorted(biggest, key=lambda r: r[1])
        report.chart = charts.heat_map(
            [r[1] for r in shown], [i18n.day_month(n) for n in nights],
            [[cell.get((r[0], n)) for n in nights] for r in shown],
            title=_("Occupancy rate per site and night, %(city)s", city=city),
            desc=_("Share of beds in service that were occupied, per site (rows) and night "
                   "(columns), %(start)s to %(end)s. The same figures are in the tables "
                   "below.", **span(start, end)))
    if len(per_site) > HEATMAP_SITES:
        report.note = _("The chart shows the %(shown)s largest of %(sites)s sites; every site "
                        "is in the table and in the site-night CSV.",
                        shown=HEATMAP_SITES, sites=i18n.number(len(per_site)))

    def site_nights() -> list[list[Any]]:
        return [[n.isoformat(), name, s_, o, h, s_ - o - h, pct(o, s_)]
                for n, name, s_, o, h in session.execute(
                    select(rsn.night, Site.name, rsn.in_service, rsn.occupied, rsn.held)
                    .join(Site, Site.id == rsn.site_id).where(*in_range)
                    .order_by(rsn.night, Site.name))]

    night, site, in_service, occupied, held, free, rate = (
        _("night"), _("site"), _("in service"), _("occupied"), _("held"), _("free"),
        _("occupancy %"))
    report.tables = [
        Table("nights", _("Per night, whole city"),
              [night, in_service, occupied, held, free, rate], night_rows, nights=(0,)),
        Table("sites", _("Per site, average per night"),
              [site, in_service, occupied, held, rate], site_rows),
        Table("site_nights", _("Per site and night"),
              [night, site, in_service, occupied, held, free, rate], [],
              on_page=False, load=site_nights, nights=(0,)),
    ]
    return report


# --- 2. turned away -------------------------------------------------------------------

def _share_rows(session: Session, city: str, start: date, end: date, attr: str,
                order: tuple[str, ...]) -> list[list[Any]]:
    """[group, turned away, requests, %] for each group of `attr` that asked."""
    asked: dict[str, int] = defaultdict(int)
    away: dict[str, int] = defaultdict(int)
    for group, outcome, n in request_sums(session, city, start, end, attr, "outcome"):
        if outcome == "waiting":
            continue
        asked[group] += n
        if outcome == "turned_away":
            away[group] += n
    words = GENDER_LABELS if attr == "gender" else AGE_LABELS if attr == "age_band" else {}
    return [[label(words, k), away[k], asked[k], pct(away[k], asked[k])]
            for k in order if asked[k]]


def repeat_turnaways(session: Session, city: str, start: date, end: date,
                     min_nights: int = REPEAT_NIGHTS, limit: int | None = None
                     ) -> tuple[list[list[Any]], int]:
    """People turned away `min_nights` or more nights in a row within the range, longest
    first: ([name, first night, last night, nights in a row] for the first `limit`, how
    many runs in all). Runs are found in SQL (gaps and islands over ReportTurnaway.day)."""
    t = ReportTurnaway
    numbered = select(t.person_id, t.day, (t.day - func.row_number().over(
        partition_by=t.person_id, order_by=t.day)).label("grp")).where(
        t.city == city, t.day >= start.toordinal(), t.day <= end.toordinal()).subquery()
    length = func.count()
    runs = (select(numbered.c.person_id, func.min(numbered.c.day), func.max(numbered.c.day),
                   length).group_by(numbered.c.person_id, numbered.c.grp)
            .having(length >= min_nights))
    # All runs come back (a few thousand small rows at most); only the shown ones are named.
    found = session.execute(runs.order_by(length.desc(), func.min(numbered.c.day),
                                          numbered.c.person_id)).all()
    total = len(found)
    found = found[:limit] if limit else found
    if not found:
        return [], total
    people = {p.id: p for p in session.scalars(
        select(Person).where(Person.id.in_({r[0] for r in found})))}
    # Privacy: every view of a named person is audited (managers/admins only see this list).
    audit.record(session, None, "view", sorted(people), "report: repeat turn-aways")
    rows = [(people[pid].display_name, date.fromordinal(a), date.fromordinal(b), int(n))
            for pid, a, b, n in found]
    rows.sort(key=lambda r: (-r[3], r[0]))
    return [[name, a.isoformat(), b.isoformat(), n] for name, a, b, n in rows], total


def turnaway_report(session: Session, city: str, start: date, end: date, today: date) -> Report:
    """Turn-aways per night by reason, by gender, age band and need band, and repeats."""
    check_range(start, end)
    ensure_stats(session, city, start, end, today)
    nights = nights_between(start, end)
    asked = {n: 0 for n in nights}
    by_reason = {n: {r: 0 for r in REASONS} for n in nights}
    for night, outcome, reason, n in request_sums(session, city, start, end,
                                                  "night", "outcome", "reason"):
        if outcome != "waiting":
            asked[night] += n
        if outcome == "turned_away":
            by_reason[night][reason if reason in REASONS else "capacity"] += n
    night_rows = []
    for n in nights:
        away = sum(by_reason[n].values())
        night_rows.append([n.isoformat(), asked[n], away, *[by_reason[n][r] for r in REASONS],
                           pct(away, asked[n])])
    report = Report("turnaways", _("Turned away"), city, start, end)
    total_away = sum(r[2] for r in night_rows)
    total_asked = sum(r[1] for r in night_rows)
    report.summary.append(_("%(away)s of %(asked)s requests were turned away (%(rate)s).",
                            away=i18n.number(total_away), asked=i18n.number(total_asked),
                            rate=share(pct(total_away, total_asked), 1)))
    labels = [i18n.day_month(n) for n in nights]
    report.chart = charts.bar_chart(
        labels, [(label(OUTCOME_LABELS, r), [by_reason[n][r] for n in nights]) for r in REASONS],
        title=_("People turned away per night by reason, %(city)s", city=city),
        desc=_("Stacked bars: turn-aways per night from %(start)s to %(end)s, split by reason "
               "(capacity, no eligible bed, keep-apart). Figures in the table below.",
               **span(start, end)))
    repeats, runs = repeat_turnaways(session, city, start, end, limit=REPEAT_ON_PAGE)
    repeat_cols = [_("person"), _("first night"), _("last night"), _("nights in a row")]
    if runs > len(repeats):
        caption = _("Turned away %(nights)s or more nights in a row (the longest %(shown)s of "
                    "%(runs)s; all in the CSV)", nights=REPEAT_NIGHTS, shown=len(repeats),
                    runs=i18n.number(runs))
        report.note = _("%(runs)s runs of %(nights)s or more nights turned away in a row.",
                        runs=i18n.number(runs), nights=REPEAT_NIGHTS)
    else:
        caption = _("Turned away %(nights)s or more nights in a row", nights=REPEAT_NIGHTS)
    away_col, asked_col, rate_col = _("turned away"), _("requests"), _("turned away %")
    share_cols = [away_col, asked_col, rate_col]
    report.tables = [
        Table("nights", _("Per night"), [_("night"), asked_col, away_col,
                                         *[label(OUTCOME_LABELS, r) for r in REASONS],
                                         rate_col], night_rows, nights=(0,)),
        Table("gender", _("By gender"), [_("gender"), *share_cols],
              _share_rows(session, city, start, end, "gender", GENDERS)),
        Table("age", _("By age band"), [_("age band"), *share_cols],
              _share_rows(session, city, start, end, "age_band", AGE_BANDS)),
        Table("need", _("By need band"), [_("need band"), *share_cols],
              _share_rows(session, city, start, end, "need_band", NEED_BANDS)),
        Table("repeat", caption, repeat_cols, repeats, nights=(1, 2)),
    ]
    if runs > len(repeats):
        report.tables.append(Table(
            "repeat_all", _("Everyone turned away %(nights)s or more nights in a row",
                            nights=REPEAT_NIGHTS),
            repeat_cols, [], on_page=False,
            load=lambda: repeat_turnaways(session, city, start, end)[0], nights=(1, 2)))
    return report


def night_facts(session: Session, city: str, start: date, end: date) -> dict[date, ReportNight]:
    return {r.night: r for r in session.scalars(select(ReportNight).where(
        ReportNight.city == city, ReportNight.night >= start, ReportNight.night <= end))}


# --- one entry point for the views ----------------------------------------------------

#: slug -> (title, blurb), lazy: worded in the language of the page that shows them.
REPORTS = {
    "occupancy": (_l("Occupancy"), _l("Beds in service, occupied, held and free per site and night.")),
    "turnaways": (_l("Turned away"), _l("Who was turned away and why; people turned away night after night.")),
    "prebookings": (_l("Pre-bookings"), _l("Holds per partner: claimed, expired, cancelled, refused; quota use.")),
    "women": (_l("Women's and safety beds"), _l("Women-only beds, women turned away, bans and keep-apart pairs.")),
    "whatif": (_l("What-if"), _l("The need rule beside the old first-come rule, per need band.")),
    "fairness": (_l("Fairness"), _l("Placement rate by gender and age band at each level of need.")),
    "housing": (_l("Who needs a home"), _l("People with the most emergency nights, their longest "
                                           "runs and repeat turn-aways; mark them for housing "
                                           "follow-up.")),
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
    if slug == "housing":
        from shelter.services.reports_housing import housing_report

        return housing_report(session, city, start, end, today)
    raise ReportError("slug", _("Unknown report %(slug)s.", slug=repr(slug)))
