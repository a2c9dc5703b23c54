"""Intake: partner bookings waiting for a site (status pending), with the true reason.

Partners only ever read "pending: intake confirms the site" (README "Partner bookings and
what they reveal"); intake reads why, holds a bed at a site the rule book allows, or
refuses the booking."""
from __future__ import annotations

from datetime import date

from flask import Blueprint, abort, flash, redirect, render_template, url_for
from flask_login import current_user
from sqlalchemy import func, select

from shelter.auth import roles_required
from shelter.extensions import db
from shelter.forms.pending import ConfirmPendingForm, RefusePendingForm
from shelter.i18n import _
from shelter.models import Hold, HoldStatus, Site
from shelter.services import audit
from shelter.services.prebooking_pending import (
    PendingError, confirm_pending, get_pending, pending_bookings, refuse_pending,
)
from shelter.services.prebooking_queries import open_sites
from shelter.views.intake import STAFF, _city, _night  # one rule for the night and city

bp = Blueprint("pending", __name__)



@bp.app_template_global()
def pending_booking_count(night: date) -> int:
    """How many partner bookings wait for a site on `night` (the board's panel)."""
    return db.session.scalar(
        select(func.count(Hold.id)).join(Site, Site.id == Hold.site_id)
        .where(Hold.status == HoldStatus.PENDING, Hold.night == night,
               Site.city == _city())) or 0


def _page(night: date, forms: dict[int, ConfirmPendingForm] | None = None, status: int = 200):
    rows = pending_bookings(db.session, night, _city())
    sites = [(str(s.id), s.name) for s in open_sites(db.session, _city())]
    forms = dict(forms or {})
    for row in rows:
        form = forms.setdefault(row.hold.id, ConfirmPendingForm(
            formdata=None, prefix=f"h{row.hold.id}",
            site=str(row.hold.wished_site_id or row.hold.site_id)))
        form.site.choices = sites
    audit.record(db.session, None, "view", sorted({r.hold.person_id for r in rows}),
                 f"intake: pending bookings night {night}")
    return render_template("intake/pending.html", rows=rows, forms=forms, night=night,
                           refuse_form=RefusePendingForm()), status


@bp.get("/")
@roles_required(*STAFF)
def index():  # type: ignore[no-untyped-def]
    return _page(_night())


def _pending_or_404(hold_id: int) -> Hold:
    hold = get_pending(db.session, hold_id) if hold_id < 2**31 else None
    if hold is None or hold.site.city != _city():
        abort(404)
    return hold


@bp.post("/<int:hold_id>/confirm")
@roles_required(*STAFF)
def confirm(hold_id: int):  # type: ignore[no-untyped-def]
    hold = _pending_or_404(hold_id)
    form = ConfirmPendingForm(prefix=f"h{hold.id}")
    form.site.choices = [(str(s.id), s.name) for s in open_sites(db.session, _city())]
    if form.validate_on_submit():
        try:
            confirm_pending(db.session, hold, int(form.site.data), current_user)
        except PendingError as exc:
            form.site.errors = [*form.site.errors, exc.message]
        else:
            audit.record(db.session, current_user, "confirm_pending", hold.person_id,
                         f"hold {hold.id} at site {hold.site_id} night {hold.night}")
            flash(_("Bed held at %(site)s for %(name)s.", site=hold.site.name,
                    name=hold.person.display_name), "success")
            return redirect(url_for("pending.index", night=hold.night.isoformat()))
    return _page(hold.night, {hold.id: form}, 422)


@bp.post("/<int:hold_id>/refuse")
@roles_required(*STAFF)
def refuse(hold_id: int):  # type: ignore[no-untyped-def]
    hold = _pending_or_404(hold_id)
    if not RefusePendingForm().validate_on_submit():
        abort(400)
    night, name, person_id = hold.night, hold.person.display_name, hold.person_id
    if refuse_pending(db.session, hold):
        audit.record(db.session, current_user, "refuse_pending", person_id, f"hold {hold_id}")
        flash(_("The pre-booking for %(name)s was refused; the partner is told it was "
                "released by shelter staff.", name=name), "success")
    return redirect(url_for("pending.index", night=night.isoformat()))
