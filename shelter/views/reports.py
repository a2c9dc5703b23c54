"""Managers' reports: occupancy, turn-aways, pre-bookings, women's beds, what-if, fairness."""
from __future__ import annotations

import re
from datetime import date

from flask import Blueprint, Response, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from shelter import clock
from shelter.auth import roles_required
from shelter.extensions import db
from shelter.i18n import _, language
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
            form.city.errors = [_("Choose a city from the list.")]
        return form, None, 422
    try:
        report = svc.build(db.session, slug, form.city.data, form.start.data, form.end.data,
                           _today(), night=form.night.data)
    except svc.ReportError as err:
        getattr(form, err.field).errors = [str(err)]
        return form, None, 422
    form.start.data, form.end.data = report.start, report.end
    return form, report, 200


def _csv_style(toronto: bool = False) -> svc.CsvStyle:
    """The CSV style of this download: the reader's language (";" and decimal commas in
    bokmål), or Toronto's open-data format; `?sep=` (";", "," or "tab") overrides the
    delimiter. Raises ReportError("sep") for any other separator."""
    style = svc.csv_style(request.args.get("sep"), language())
    if toronto:
        style = svc.CsvStyle(style.delimiter if request.args.get("sep") else ",", ".")
    return style


def _csv(text: str, name: str | None = None, status: int = 200) -> Response:
    """A CSV download: UTF-8 with a byte order mark, so Excel reads the letters æ, ø, å."""
    headers = {"Content-Disposition": f'attachment; filename="{name}"'} if name else {}
    return Response(svc.BOM + text, status=status, mimetype="text/csv", headers=headers)


def _csv_error(message: str) -> Response:
    """A 422 as a CSV file of one row ("error", the message), in the reader's own style."""
    try:
        style = svc.csv_style(request.args.get("sep"), language())
    except svc.ReportError:
        style = svc.csv_style(None, language())
    return _csv(svc.write_csv([_("error"), message], [], style), status=422)


@bp.get("/")
@roles_required(Role.MANAGER, Role.ADMIN)
def index():  # type: ignore[no-untyped-def]
    return render_template("reports/index.html", reports=svc.REPORTS)


@bp.get("/open-data/occupancy.csv")
@roles_required(Role.MANAGER, Role.ADMIN)
def open_data():  # type: ignore[no-untyped-def]
    """The city's nights in Toronto's daily occupancy format (services.open_data)."""
    from shelter.services.open_data import ExportError, occupancy_csv

    try:
        style = _csv_style(toronto=True)
    except svc.ReportError as err:
        return _csv_error(str(err))
    form = ReportFilterForm(request.args)
    cities = svc.report_cities(db.session)
    form.city.choices = [(c, c) for c in cities]
    if form.city.data not in cities or not form.validate():
        return _csv_error(_("Choose a city from the list and nights as YYYY-MM-DD."))
    start, end = form.start.data, form.end.data
    if start is None or end is None:
        start, end = svc.default_range(db.session, form.city.data, _today())
    try:
        text = occupancy_csv(db.session, start, end, form.city.data, style)
    except ExportError as err:
        return _csv_error(str(err))
    city = re.sub(r"[^a-z0-9]+", "-", form.city.data.lower()).strip("-") or "city"
    return _csv(text, f"daily-shelter-occupancy-{city}-{start}-{end}.csv")


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
        flash(_("Choose a person from the list."), "error")
        return redirect(back)
    try:
        referral = refer_for_housing(db.session, form.person.data, form.note.data or "",
                                     current_user)
    except ReferralError as err:
        flash(str(err), "error")
        return redirect(back)
    flash(_("%(name)s is marked as referred for housing follow-up.",
            name=referral.person.display_name), "success")
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
    if slug in MANAGERS_ONLY and current_user.role != Role.MANAGER:
        abort(403)
    try:
        style = _csv_style()
    except svc.ReportError as err:
        return _csv_error(str(err))
    form, report, status = _run(slug)
    if report is None:
        errors = "; ".join(f"{f.name}: {e}" for f in form for e in f.errors)
        return _csv_error(errors)
    try:
        table = report.table(request.args.get("table"))
    except svc.ReportError:
        abort(404)
    name = f"{slug}-{table.key}-{report.city}-{report.start}-{report.end}.csv".lower()
    return _csv(svc.to_csv(table, style), name)
