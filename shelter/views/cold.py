"""Cold nights (managers and admins): declare and take back; every page shows tonight's."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, abort, current_app, flash, redirect, render_template, url_for
from flask_login import current_user

from shelter import clock
from shelter.auth import roles_required
from shelter.extensions import db
from shelter.forms.reports import ColdNightForm
from shelter.i18n import _, day, ngettext
from shelter.models import Role
from shelter.services import cold as svc

bp = Blueprint("cold", __name__)


@bp.app_context_processor
def cold_tonight() -> dict[str, Any]:
    """Tonight's cold night in this instance's city, for the banner on every page."""
    if not current_user or not getattr(current_user, "is_authenticated", False):
        return {"cold_tonight": None}
    return {"cold_tonight": svc.cold_night(db.session, current_app.config["CITY"], clock.tonight())}


def _page(form: ColdNightForm, status: int = 200):  # type: ignore[no-untyped-def]
    today = clock.tonight()
    city = current_app.config["CITY"]
    upcoming = svc.cold_nights(db.session, city, today, today.replace(year=today.year + 1))
    return render_template("cold/index.html", form=form, upcoming=upcoming, city=city,
                           today=today), status


@bp.get("/")
@roles_required(Role.MANAGER, Role.ADMIN)
def index():  # type: ignore[no-untyped-def]
    return _page(ColdNightForm(formdata=None, first=clock.tonight()))


@bp.post("/")
@roles_required(Role.MANAGER, Role.ADMIN)
def declare():  # type: ignore[no-untyped-def]
    form = ColdNightForm()
    if form.validate_on_submit():
        try:
            made = svc.declare(db.session, city=current_app.config["CITY"], first=form.first.data,
                               last=form.last.data, reason=form.reason.data or "",
                               user=current_user, today=clock.tonight())
        except svc.ColdNightError as err:
            getattr(form, err.field).errors = [err.message]
        else:
            flash(ngettext("%(num)d cold night declared: overflow beds open and minor bans "
                           "suspended that night.",
                           "%(num)d cold nights declared: overflow beds open and minor bans "
                           "suspended on those nights.", len(made)), "success")
            return redirect(url_for("cold.index"))
    return _page(form, 422)


@bp.post("/<int:cold_id>/cancel")
@roles_required(Role.MANAGER, Role.ADMIN)
def cancel(cold_id: int):  # type: ignore[no-untyped-def]
    form = ColdNightForm()
    if not form.validate_on_submit():
        abort(400)
    try:
        cold = svc.cancel(db.session, cold_id, user=current_user, today=clock.tonight())
    except svc.ColdNightError as err:
        if err.field == "missing":
            abort(404)
        flash(err.message, "warning")
    else:
        flash(_("%(night)s is no longer a cold night.", night=day(cold.night)), "success")
    return redirect(url_for("cold.index"))
