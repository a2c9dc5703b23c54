"""Reports on pre-bookings per partner organisation and on women's and safety beds."""
from __future__ import annotations

from collections import defaultdict
from datetime import date

from sqlalchemy import func, or_, select
from sqlalchemy.orm import Session

from shelter.models import Hold, HoldRefusal, Organisation, Quota, Site
from shelter.models.reporting import ReportSiteNight
from shelter.services import charts
from shelter.services.reports import (
    Report, Table, check_range, night_facts, nights_between, pct, request_sums,
)
from shelter.services.reports_fill import ensure_stats
from shelter.services.reports_stats import default_city
from shelter.services.reports_women import COLUMNS, free_beds_explained

HOLD_OUTCOMES = ("claimed", "expired", "cancelled", "released", "held")


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
    for org, _, n in refusals:
        refused[org] += n
    nights = len(nights_between(start, end))
    rows = []
    for org in sorted(set(counts) | set(refused) | set(quotas)):
        c = counts[org]
        made = sum(c.values())
        quota = int(quotas.get(org) or 0)
        rows.append([org, made, *[c[s] for s in HOLD_OUTCOMES], refused[org], quota,
                     pct(made, quota * nights)])
    report = Report("prebookings", "Pre-bookings", city, start, end)
    made_all = sum(r[1] for r in rows)
    claimed_all = sum(r[2] for r in rows)
    report.summary.append(f"{made_all:,} holds made, {claimed_all:,} claimed "
                          f"({pct(claimed_all, made_all) or 0:.0f}%), "
                          f"{sum(refused.values()):,} refused.")
    orgs = [r[0] for r in rows]
    series = [(s, [r[2 + i] for r in rows]) for i, s in enumerate(HOLD_OUTCOMES)]
    series.append(("refused", [r[7] for r in rows]))
    if orgs:
        report.chart = charts.bar_chart(
            orgs, series, title=f"Pre-bookings per partner organisation, {city}",
            desc=f"Stacked bars per organisation: holds claimed, expired, cancelled, released, "
                 f"still held, and refused, {start} to {end}. Figures in the table below.")
    report.tables = [
        Table("organisations", "Per organisation",
              ["organisation", "holds made", *HOLD_OUTCOMES, "refused",
               "quota per night", "quota use %"], rows),
        Table("refusals", "Refusals by reason", ["organisation", "reason", "refused"],
              sorted([[o, r, n] for o, r, n in refusals])),
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
    report = Report("women", "Women's and safety beds", city, start, end)
    ws, wo = sum(r[1] for r in rows), sum(r[2] for r in rows)
    wa, wt = sum(r[4] for r in rows), sum(r[5] for r in rows)
    report.summary.append(f"Women-only beds were {pct(wo, ws) or 0:.0f}% occupied; "
                          f"{wt:,} of {wa:,} requests from women ended in a turn-away.")
    labels = [n.strftime("%d %b") for n in nights]
    report.chart = charts.line_chart(
        labels, [("women-only beds in service", [r[1] for r in rows]),
                 ("women-only beds occupied", [r[2] for r in rows]),
                 ("women turned away", [r[5] for r in rows]),
                 ("bans active", [r[6] for r in rows])],
        title=f"Women's beds and safety records per night, {city}",
        desc=f"Lines per night from {start} to {end}: women-only beds in service and "
             f"occupied, women turned away, bans in force. Figures in the table below.")
    free = free_beds_explained(session, city, nights)
    if free:
        report.summary.append(
            f"On {len({r[0] for r in free}):,} of the nights women were turned away while "
            f"women-only beds stood free; the table of free women-only beds says why.")
    report.tables = [
        Table("nights", "Per night", [
            "night", "women-only beds", "occupied", "occupancy %", "requests from women",
            "women turned away", "bans active", "keep-apart pairs active"], rows),
        Table("free", "Why women-only beds stood free while women were turned away",
              COLUMNS, free),
    ]
    return report
