"""Reports on pre-bookings per partner organisation and on women's and safety beds."""
from __future__ import annotations

from collections import defaultdict
from datetime import date

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from shelter import i18n
from shelter.i18n import _, ngettext
from shelter.models import Hold, HoldRefusal, HoldStatus, Organisation, Quota, Site
from shelter.models.reporting import ReportSiteNight
from shelter.services import charts
from shelter.services.reports import (
    Report, Table, check_range, night_facts, nights_between, pct, request_sums, share, span,
)
from shelter.services.reports_fill import ensure_stats
from shelter.services.reports_stats import REFUSAL_LABELS, default_city, label
from shelter.words import word
from shelter.services.reports_women import COLUMNS, free_beds_explained

HOLD_OUTCOMES = ("claimed", "expired", "cancelled", "released", "held", "pending")


def prebooking_report(session: Session, city: str, start: date, end: date) -> Report:
    """Per partner organisation: holds made and how they ended, refusals with reasons,
    and quota use (holds made / quota places offered over the nights)."""
    check_range(start, end)
    holds = session.execute(
        select(Organisation.name, Hold.status, func.count())
        .join(Organisation, Organisation.id == Hold.organisation_id)
        .join(Site, Site.id == Hold.site_id)
        .where(Site.city == city, Hold.night >= start, Hold.night <= end)
        .group_by(Organisation.name, Hold.status)).all()
    site_filter = Site.city == city
    if city == default_city():  # a refusal that named no site belongs to the default city
        site_filter = or_(site_filter, HoldRefusal.site_id.is_(None))
    refusals = session.execute(
        select(Organisation.name, HoldRefusal.reason, func.count())
        .join(Organisation, Organisation.id == HoldRefusal.organisation_id)
        .outerjoin(Site, Site.id == HoldRefusal.site_id)
        .where(site_filter, HoldRefusal.night >= start, HoldRefusal.night <= end)
        .group_by(Organisation.name, HoldRefusal.reason)).all()
    quotas = dict(session.execute(
        select(Organisation.name, func.sum(Quota.per_night))
        .join(Organisation, Organisation.id == Quota.organisation_id)
        .join(Site, Site.id == Quota.site_id).where(Site.city == city)
        .group_by(Organisation.name)).all())
    counts: dict[str, dict[str, int]] = defaultdict(lambda: defaultdict(int))
    for org, status, n in holds:
        counts[org][str(getattr(status, "value", status))] += n
    refused: dict[str, int] = defaultdict(int)
    for org, __, n in refusals:
        refused[org] += n
    nights = len(nights_between(start, end))
    rows = []
    for org in sorted(set(counts) | set(refused) | set(quotas)):
        c = counts[org]
        made = sum(c.values())
        quota = int(quotas.get(org) or 0)
        rows.append([org, made, *[c[s] for s in HOLD_OUTCOMES], refused[org], quota,
                     pct(made, quota * nights)])
    report = Report("prebookings", _("Pre-bookings"), city, start, end)
    made_all = sum(r[1] for r in rows)
    claimed_all = sum(r[2] for r in rows)
    report.summary.append(ngettext(
        "%(made)s hold made, %(claimed)s claimed (%(rate)s), %(refused)s refused.",
        "%(made)s holds made, %(claimed)s claimed (%(rate)s), %(refused)s refused.", made_all,
        made=i18n.number(made_all), claimed=i18n.number(claimed_all),
        rate=share(pct(claimed_all, made_all)), refused=i18n.number(sum(refused.values()))))
    orgs = [r[0] for r in rows]
    outcomes = [word(HoldStatus(s)) for s in HOLD_OUTCOMES]
    refused_col = _("refused")
    series = [(s, [r[2 + i] for r in rows]) for i, s in enumerate(outcomes)]
    series.append((refused_col, [r[7] for r in rows]))
    if orgs:
        report.chart = charts.bar_chart(
            orgs, series, title=_("Pre-bookings per partner organisation, %(city)s", city=city),
            desc=_("Stacked bars per organisation: holds claimed, expired, cancelled, released, "
                   "still held, and refused, %(start)s to %(end)s. Figures in the table below.",
                   **span(start, end)))
    organisation = _("organisation")
    report.tables = [
        Table("organisations", _("Per organisation"),
              [organisation, _("holds made"), *outcomes, refused_col,
               _("quota per night"), _("quota use %")], rows),
        Table("refusals", _("Refusals by reason"), [organisation, _("reason"), refused_col],
              sorted([[o, label(REFUSAL_LABELS, r), n] for o, r, n in refusals])),
    ]
    return report


def women_safety_report(session: Session, city: str, start: date, end: date, today: date) -> Report:
    """Women-only beds used, women turned away, bans and keep-apart pairs per night."""
    check_range(start, end)
    ensure_stats(session, city, start, end, today)
    nights = nights_between(start, end)
    beds = {n: [0, 0] for n in nights}
    for night, ws, wo in session.execute(
            select(ReportSiteNight.night, func.sum(ReportSiteNight.women_in_service),
                   func.sum(ReportSiteNight.women_occupied))
            .where(ReportSiteNight.city == city, ReportSiteNight.night >= start,
                   ReportSiteNight.night <= end).group_by(ReportSiteNight.night)):
        beds[night] = [int(ws or 0), int(wo or 0)]
    women = {n: [0, 0] for n in nights}
    for night, outcome, n in request_sums(session, city, start, end, "night", "outcome",
                                          gender="woman"):
        if outcome != "waiting":
            women[night][0] += n
            women[night][1] += n if outcome == "turned_away" else 0
    facts = night_facts(session, city, start, end)
    rows = []
    for n in nights:
        f = facts.get(n)
        rows.append([n.isoformat(), beds[n][0], beds[n][1], pct(beds[n][1], beds[n][0]),
                     women[n][0], women[n][1], f.bans_active if f else 0,
                     f.keep_apart_active if f else 0])
    report = Report("women", _("Women's and safety beds"), city, start, end)
    ws, wo = sum(r[1] for r in rows), sum(r[2] for r in rows)
    wa, wt = sum(r[4] for r in rows), sum(r[5] for r in rows)
    report.summary.append(_("Women-only beds were %(rate)s occupied; %(away)s of %(asked)s "
                            "requests from women ended in a turn-away.",
                            rate=share(pct(wo, ws)), away=i18n.number(wt),
                            asked=i18n.number(wa)))
    labels = [i18n.day_month(n) for n in nights]
    women_away, bans = _("women turned away"), _("bans active")
    report.chart = charts.line_chart(
        labels, [(_("women-only beds in service"), [r[1] for r in rows]),
                 (_("women-only beds occupied"), [r[2] for r in rows]),
                 (women_away, [r[5] for r in rows]),
                 (bans, [r[6] for r in rows])],
        title=_("Women's beds and safety records per night, %(city)s", city=city),
        desc=_("Lines per night from %(start)s to %(end)s: women-only beds in service and "
               "occupied, women turned away, bans in force. Figures in the table below.",
               **span(start, end)))
    free = free_beds_explained(session, city, nights)
    if free:
        report.summary.append(_(
            "On %(nights)s of the nights women were turned away while women-only beds stood "
            "free; the table of free women-only beds says why.",
            nights=i18n.number(len({r[0] for r in free}))))
    report.tables = [
        Table("nights", _("Per night"), [
            _("night"), _("women-only beds"), _("occupied"), _("occupancy %"),
            _("requests from women"), women_away, bans, _("keep-apart pairs active")], rows,
            nights=(0,)),
        Table("free", _("Why women-only beds stood free while women were turned away"),
              [str(c) for c in COLUMNS], free, nights=(0,)),
    ]
    return report
