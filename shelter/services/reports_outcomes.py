"""What-if (the need rule beside the old first-come rule) and fairness by group."""
from __future__ import annotations

from collections import defaultdict
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shelter import i18n
from shelter.i18n import _, ngettext
from shelter.models import Person
from shelter.models.reporting import ReportWhatIf
from shelter.services import audit, charts
from shelter.services import cold as cold_svc
from shelter.services.reports import (
    Report, ReportError, Table, check_range, pct, request_sums, share, span,
)
from shelter.services.reports_fill import ensure_stats
from shelter.services.reports_stats import (
    AGE_BANDS, AGE_LABELS, GENDER_LABELS, GENDERS, NEED_BANDS, OUTCOME_LABELS,
    first_come_result, label, latest_confirmed_runs, need_band, person_id_of,
)


def whatif_report(session: Session, city: str, start: date, end: date, today: date,
                  night: date | None = None) -> Report:
    """Per need band, the share placed by need and by queue over the confirmed runs of the
    range; with `night`, also who each rule would have turned away that night.
    Raises ReportError when `night` has no confirmed run in this city."""
    check_range(start, end)
    ensure_stats(session, city, start, end, today)
    totals: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    run_nights = set()
    for w in session.scalars(select(ReportWhatIf).where(
            ReportWhatIf.city == city, ReportWhatIf.night >= start, ReportWhatIf.night <= end)):
        run_nights.add(w.night)
        t = totals[w.need_band]
        t[0] += w.requests
        t[1] += w.placed_need
        t[2] += w.placed_first_come
    rows = [[band, totals[band][0], totals[band][1], pct(totals[band][1], totals[band][0]),
             totals[band][2], pct(totals[band][2], totals[band][0])]
            for band in reversed(NEED_BANDS) if totals[band][0]]
    report = Report("whatif", _("What-if: need rule vs first come"), city, start, end)
    report.extra["run_nights"] = sorted(run_nights)
    for r in rows[:2]:
        report.summary.append(ngettext(
            "Need %(band)s: %(by_need)s placed by need vs %(by_queue)s by queue "
            "(%(requests)s request).",
            "Need %(band)s: %(by_need)s placed by need vs %(by_queue)s by queue "
            "(%(requests)s requests).", r[1], band=r[0], by_need=share(r[3]),
            by_queue=share(r[5]), requests=i18n.number(r[1])))
    if rows:
        report.chart = charts.bar_chart(
            [r[0] for r in rows], [(_("by need"), [r[3] or 0 for r in rows]),
                                   (_("by queue (first come)"), [r[5] or 0 for r in rows])],
            stacked=False, percent=True,
            title=_("Share placed per need band: need rule vs first come, %(city)s", city=city),
            desc=ngettext(
                "Side-by-side bars per need band, highest need first: percent of requests "
                "placed under the need rule and under first come, over %(num)d night with a "
                "confirmed allocation (%(start)s to %(end)s).",
                "Side-by-side bars per need band, highest need first: percent of requests "
                "placed under the need rule and under first come, over %(num)d nights with a "
                "confirmed allocation (%(start)s to %(end)s).", len(run_nights),
                **span(start, end)))
    requests_col = _("requests")
    report.tables = [Table("bands", ngettext("Totals over %(num)d night with a confirmed run",
                                             "Totals over %(num)d nights with a confirmed run",
                                             len(run_nights)),
                           [_("need band"), requests_col, _("placed by need"), _("by need %"),
                            _("placed by queue"), _("by queue %")], rows)]
    report.tables.append(_cold_nights(session, city, start, end, report))
    if night is not None:
        report.tables.extend(_night_detail(session, city, night))
    return report


def _cold_nights(session: Session, city: str, start: date, end: date, report: Report) -> Table:
    """Cold nights of the range: how many were still turned away under the need rule, and
    why (the allocation's own reasons of the night's confirmed run)."""
    colds = cold_svc.cold_nights(session, city, start, end)
    runs = latest_confirmed_runs(session, [c.night for c in colds])
    rows: list[list[Any]] = []
    for c in colds:
        summary = cold_svc.still_turned_away(runs.get((city, c.night)))
        by = summary["by_reason"] if summary else {}
        rows.append([c.night.isoformat(), c.reason,
                     summary["total"] if summary else _("no confirmed run"),
                     by.get("capacity", 0), by.get("no_eligible_bed", 0), by.get("keep_apart", 0)])
    if colds:
        still = sum(r[2] for r in rows if isinstance(r[2], int))
        report.summary.append(ngettext(
            "%(num)d cold night in the range; %(still)s people were still turned away on it.",
            "%(num)d cold nights in the range; %(still)s people were still turned away on "
            "them.", len(colds), still=i18n.number(still)))
    return Table("cold_nights", _("Cold nights: still turned away under the need rule"),
                 [_("night"), _("reason"), _("turned away"),
                  *[label(OUTCOME_LABELS, r) for r in ("capacity", "no_eligible_bed",
                                                       "keep_apart")]],
                 rows, nights=(0,))


def _night_detail(session: Session, city: str, night: date) -> list[Table]:
    run = latest_confirmed_runs(session, [night]).get((city, night))
    if run is None:
        raise ReportError("night", _("No confirmed allocation in %(city)s on %(night)s.",
                                     city=city, night=i18n.day(night)))
    requests = {r["person"]: r for r in run.input_json.get("requests", [])}
    need_result, queue_result = run.result_json, first_come_result(run)
    placed = {rule: {a["person"] for a in res.get("assignments", [])}
              for rule, res in (("need", need_result), ("queue", queue_result))}
    reasons = {rule: {t["person"]: t.get("reason", "") for t in res.get("turned_away", [])}
               for rule, res in (("need", need_result), ("queue", queue_result))}
    per_band: dict[str, list[int]] = defaultdict(lambda: [0, 0, 0])
    for key, req in requests.items():
        b = per_band[need_band(req.get("need", 0))]
        b[0] += 1
        b[1] += key in placed["need"]
        b[2] += key in placed["queue"]
    band_rows = [[band, *per_band[band]] for band in reversed(NEED_BANDS) if per_band[band][0]]
    away = [k for k in requests if k not in placed["need"] or k not in placed["queue"]]
    ids = {k: person_id_of(k) for k in away}
    people = {p.id: p for p in session.scalars(
        select(Person).where(Person.id.in_({i for i in ids.values() if i is not None})))}
    # Privacy: a named list of people is a view of their records; audit it.
    audit.record(session, None, "view", sorted(people), f"report: what-if {night}")
    rows: list[list[Any]] = []
    for k in sorted(away, key=lambda k: (-requests[k].get("need", 0), str(k))):
        person = people.get(ids[k] or -1)
        rows.append([person.display_name if person else k, requests[k].get("need", 0),
                     label(GENDER_LABELS, requests[k].get("gender") or None),
                     label(OUTCOME_LABELS, reasons["need"].get(k, "placed")),
                     label(OUTCOME_LABELS, reasons["queue"].get(k, "placed"))])
    shown = i18n.day_short(night)
    return [
        Table("night_bands", _("%(night)s: placed per need band", night=shown),
              [_("need band"), _("requests"), _("placed by need"), _("placed by queue")],
              band_rows),
        Table("night_people", _("%(night)s: turned away under either rule", night=shown),
              [_("person"), _("need"), _("gender"), _("under need rule"),
               _("under first come")], rows),
    ]


def fairness_report(session: Session, city: str, start: date, end: date, today: date) -> Report:
    """Placement rate by gender and age band, overall and within each need band, so a
    scheme that scores one group lower shows up as a gap at equal need."""
    check_range(start, end)
    ensure_stats(session, city, start, end, today)
    cells: dict[tuple[str, str, str], list[int]] = defaultdict(lambda: [0, 0])
    for kind, attr in (("gender", "gender"), ("age", "age_band")):
        for group, band, outcome, n in request_sums(session, city, start, end,
                                                    attr, "need_band", "outcome"):
            if outcome == "waiting":
                continue
            keys = [(kind, group, "all"), (kind, group, band)]
            if kind == "gender":
                keys.append(("need", band, "all"))
            for key in keys:
                c = cells[key]
                c[0] += n
                c[1] += n if outcome == "placed" else 0

    def rate_rows(kind: str, order: tuple[str, ...]) -> list[list[Any]]:
        out = []
        for group in order:
            asked, placed = cells.get((kind, group, "all"), [0, 0])
            # Every gender is listed, with or without requests, so a group nobody counted
            # is seen to be missing rather than silently left out.
            if asked or kind == "gender":
                words = GENDER_LABELS if kind == "gender" else AGE_LABELS
                out.append([label(words, group), asked, placed, pct(placed, asked),
                            *[pct(*reversed(cells.get((kind, group, b), [0, 0])))
                              for b in NEED_BANDS]])
        return out

    band_cols = [_("need %(band)s %%", band=b) for b in NEED_BANDS]
    gender_rows = rate_rows("gender", GENDERS)
    age_rows = rate_rows("age", AGE_BANDS)
    need_rows = [[b, *cells[("need", b, "all")], pct(cells[("need", b, "all")][1],
                                                   cells[("need", b, "all")][0])]
                 for b in NEED_BANDS if cells.get(("need", b, "all"), [0])[0]]
    report = Report("fairness", _("Fairness"), city, start, end)
    if any(r[1] for r in gender_rows):
        # All four genders; a gender with no requests in a band has no rate there (None),
        # drawn as "no requests" and never as a 0% bar.
        report.chart = charts.bar_chart(
            list(NEED_BANDS), [(r[0], list(r[4:])) for r in gender_rows],
            stacked=False, percent=True,
            title=_("Placement rate by gender within each need band, %(city)s", city=city),
            desc=_("Side-by-side bars: percent of requests placed, per need band, for each "
                   "gender (woman, man, nonbinary, unknown), %(start)s to %(end)s. Where a "
                   "gender had no requests in a band, the chart says no requests instead of "
                   "drawing a bar. At equal need the bars should be equal; a gap points at "
                   "bias. Figures in the tables below.", **span(start, end)))
    requests, placed, rate = _("requests"), label(OUTCOME_LABELS, "placed"), _("placed %")
    report.tables = [
        Table("gender", _("By gender"), [_("gender"), requests, placed, rate, *band_cols],
              gender_rows),
        Table("age", _("By age band"), [_("age band"), requests, placed, rate, *band_cols],
              age_rows),
        Table("need", _("By need band"), [_("need band"), requests, placed, rate], need_rows),
    ]
    return report
