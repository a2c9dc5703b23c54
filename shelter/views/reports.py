"""Managers' reports: occupancy, turn-aways, pre-bookings, women's beds, what-if, fairness."""
from __future__ import annotations

import re
from datetime import date

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from shelter import clock
from shelter.auth import roles_required
from shelter.extensions import db
from shelter.forms.reports import ReportFilterForm
from shelter.models import Role
from shelter.services import reports as svc

bp = Blueprint("reports", __name__)


def _today() -> date:
    return clock.tonight()


#: Reports that name people beyond the repeat list: managers only (admins get 403).
MANAGERS_ONLY = {"housing"}


def _run(slug: str) -> tuple[ReportFilterForm, svc.Report | None, int]:
    """Parse the filter, call the one service of this report; (form, report, status)."""
    if slug in MANAGERS_ONLY and current_user.role != Role.MANAGER:
        abort(403)
    form = ReportFilterForm(request.args)
    cities = svc.report_cities(db.session)
    form.city.choices = [(c, c) for c in cities]
    if not request.args.get("city"):
        form.city.data = cities[0] if cities else svc.default_city()
    if form.city.data not in cities or not form.validate():
        if form.city.data not in cities:
            form.city.errors = ["Choose a city from the list."]
        return form, None, 422
    try:
        report = svc.build(db.session, slug, form.city.data, form.start.data, form.end.data,
                           _today(), night=form.night.data)
    except svc.ReportError as err:
        getattr(form, err.field).errors = [str(err)]
        return form, None, 422
    form.start.data, form.end.data = report.start, report.end
    return form, report, 200


@bp.get("/")
@roles_required(Role.MANAGER, Role.ADMIN)
def index():  # type: ignore[no-untyped-def]
    return render_template("reports/index.html", reports=svc.REPORTS)


@bp.get("/open-data/occupancy.csv")
@roles_required(Role.MANAGER, Role.ADMIN)
def open_data():  # type: ignore[no-untyped-def]
    """The city's nights in Toronto's daily occupancy format (services.open_data)."""
    from shelter.services.open_data import ExportError, occupancy_csv

    form = ReportFilterForm(request.args)
    cities = svc.report_cities(db.session)
    form.city.choices = [(c, c) for c in cities]
    if form.city.data not in cities or not form.validate():
        return Response("error,Choose a city from the list and nights as YYYY-MM-DD.\n",
                        status=422, mimetype="text/csv")
    start, end = form.start.data, form.end.data
    if start is None or end is None:
        start, end = svc.default_range(db.session, form.city.data, _today())
    try:
        text = occupancy_csv(db.session, start, end, form.city.data)
    except ExportError as err:
        return Response(f"error,{err}\n", status=422, mimetype="text/csv")
    city = re.sub(r"[^a-z0-9]+", "-", form.city.data.lower()).strip("-") or "city"
    name = f"daily-shelter-occupancy-{city}-{start}-{end}.csv"
    return Response(text, mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})


@bp.post("/housing/refer")
@roles_required(Role.MANAGER)
def housing_refer():  # type: ignore[no-untyped-def]
    """A manager marks someone from the list "referred for housing follow-up" (audited)."""
    from shelter.forms.reports import HousingReferralForm
    from shelter.services.reports_housing import ReferralError, refer_for_housing

    form = HousingReferralForm()
    back = url_for("reports.show", slug="housing", city=request.form.get("city") or None,
                   start=request.form.get("start") or None, end=request.form.get("end") or None)
    if not form.validate_on_submit():
        flash("Choose a person from the list.", "error")
        return redirect(back)
    try:
        referral = refer_for_housing(db.session, form.person.data, form.note.data or "",
                                     current_user)
    except ReferralError as err:
        flash(str(err), "error")
        return redirect(back)
    flash(f"{referral.person.display_name} is marked as referred for housing follow-up.",
          "success")
    return redirect(back)


@bp.get("/<slug>")
@roles_required(Role.MANAGER, Role.ADMIN)
def show(slug: str):  # type: ignore[no-untyped-def]
    if slug not in svc.REPORTS:
        abort(404)
    form, report, status = _run(slug)
    extra = {}
    if slug == "housing":
        from shelter.forms.reports import HousingReferralForm

        extra["refer_form"] = HousingReferralForm(formdata=None)
    return render_template("reports/report.html", form=form, report=report, slug=slug,
                           reports=svc.REPORTS, **extra), status


@bp.get("/<slug>.csv")
@roles_required(Role.MANAGER, Role.ADMIN)
def export(slug: str):  # type: ignore[no-untyped-def]
    if slug not in svc.REPORTS:
        abort(404)
    form, report, status = _run(slug)
    if report is None:
        errors = "; ".join(f"{f.name}: {e}" for f in form for e in f.errors)
        return Response(f"error,{errors}\n", status=422, mimetype="text/csv")
    try:
        table = report.table(request.args.get("table"))
    except svc.ReportError:
        abort(404)
    name = f"{slug}-{table.key}-{report.city}-{report.start}-{report.end}.csv".lower()
    return Response(svc.to_csv(table), mimetype="text/csv",
                    headers={"Content-Disposition": f'attachment; filename="{name}"'})
