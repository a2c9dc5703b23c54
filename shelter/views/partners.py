"""Partner organisations' pre-booking portal.

A partner user sees only their own organisation's holds and people: another organisation's
hold id is 404, like one that does not exist. Free beds are counts only, never who."""
from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from flask import Blueprint, abort, flash, redirect, render_template, request, url_for
from flask_login import current_user

from shelter.auth import roles_required
from shelter.clock import tonight
from shelter.config import instance_city
from shelter.extensions import db
from shelter.forms.partners import BookingForm, CancelForm
from shelter.i18n import _, day_short, hm
from shelter.models import Gender, Hold, HoldStatus, Role
from shelter.services import audit
from shelter.services.prebooking import (
    BOOKING_DAYS, BookingInputError, BookingRequest, HoldConflict, HoldRefused, PersonSpec,
    book_hold, cancel_hold, get_hold,
)
from shelter.services.prebooking_queries import (
    HISTORY_NIGHTS, OUTCOME_WORDS, availability_by_night, known_features, open_sites, org_holds,
    org_outcomes, org_people,
)

bp = Blueprint("partners", __name__)
STATUS_BADGE = {"held": "ok", "claimed": "ok", "expired": "warn", "cancelled": "", "released": "",
                "pending": "warn"}


def _org_id() -> int:
    return int(current_user.organisation_id)


def _holds_context() -> dict[str, Any]:
    today = tonight()
    rows = org_holds(db.session, _org_id(), from_night=today - timedelta(days=1))  # last night: was it claimed?
    audit.record(db.session, None, "view", sorted({h.person_id for h, unused in rows}),
                 "partner: pre-bookings list")
    return {"holds": rows, "today": today, "badge": STATUS_BADGE,
            "history_nights": HISTORY_NIGHTS}


@bp.get("/")
@roles_required(Role.PARTNER)
def index():  # type: ignore[no-untyped-def]
    today = tonight()
    nights = availability_by_night(db.session, today, BOOKING_DAYS, instance_city())
    return render_template("partners/index.html", nights=nights, **_holds_context())


@bp.get("/holds")
@roles_required(Role.PARTNER)
def holds_partial():  # type: ignore[no-untyped-def]
    """The pre-bookings list alone, fetched every minute by partners.js to show live status."""
    return render_template("partners/_holds.html", **_holds_context())


@bp.get("/history")
@roles_required(Role.PARTNER)
def history():  # type: ignore[no-untyped-def]
    """What became of the organisation's bookings over the last 30 nights."""
    today = tonight()
    rows = org_outcomes(db.session, _org_id(), today)
    audit.record(db.session, None, "view", sorted({h.person_id for h, *unused in rows}),
                 "partner: past outcomes")
    return render_template("partners/history.html", rows=rows, words=OUTCOME_WORDS,
                           nights=HISTORY_NIGHTS, today=today)


def _booking_form() -> BookingForm:
    form = BookingForm()
    form.fill_choices(today=tonight(), days=BOOKING_DAYS,
                      people=org_people(db.session, _org_id()),
                      sites=open_sites(db.session, instance_city()),
                      features=known_features(db.session))
    return form


@bp.route("/book", methods=["GET", "POST"])
@roles_required(Role.PARTNER)
def book():  # type: ignore[no-untyped-def]
    form = _booking_form()
    refusal = None
    if form.validate_on_submit():
        new = form.person.data == "new"
        spec = PersonSpec(
            person_id=None if new else int(form.person.data),
            name=(form.name.data or "").strip() or None if new else None,
            alias=(form.alias.data or "").strip() or None if new else None,
            birth_year=form.birth_year.data if new else None,
            gender=Gender(form.gender.data) if new else None)
        booking = BookingRequest(
            organisation_id=_org_id(), night=date.fromisoformat(form.night.data), person=spec,
            site_id=int(form.site.data) if form.site.data else None,
            needs=list(form.needs.data or []), note=(form.note.data or "").strip())
        try:
            hold = book_hold(db.session, booking, current_user)
        except BookingInputError as exc:
            target = {"night": form.night, "site": form.site}.get(exc.field, form.person)
            target.errors = [*target.errors, exc.reason]
        except HoldRefused as exc:
            db.session.commit()  # keep the HoldRefusal row: a refusal is an outcome
            refusal = exc.message
        else:
            audit.record(db.session, None, "prebook", hold.person_id, f"hold {hold.id} night {hold.night}")
            flash(booked_message(hold), "success")
            return redirect(url_for("partners.index"))
    elif form.person.choices and len(form.person.choices) > 1:
        people = [int(value) for value, unused in form.person.choices[1:]]
        audit.record(db.session, None, "view", people, "partner: booking form list")
    status = 409 if refusal else (422 if form.errors else 200)
    return render_template("partners/book.html", form=form, refusal=refusal), status


def booked_message(hold: Hold) -> str:
    """What the partner reads after booking: held at a site (the wished one or another:
    the sentence is the same) or pending. Never why (README "Partner bookings and what
    they reveal")."""
    if hold.status is HoldStatus.PENDING:
        return _("Booking for %(name)s on %(night)s received: intake confirms the site "
                 "before %(time)s. You can follow it under your pre-bookings.",
                 name=hold.person.display_name, night=day_short(hold.night),
                 time=hm(hold.expires_at))
    return _("Bed held at %(site)s for %(name)s on %(night)s, until %(time)s.",
             site=hold.site.name, name=hold.person.display_name,
             night=day_short(hold.night), time=hm(hold.expires_at))


def _own_hold_or_404(hold_id: int) -> Hold:
    hold = get_hold(db.session, _org_id(), hold_id) if hold_id < 2**31 else None
    if hold is None:
        abort(404)
    return hold


@bp.get("/holds/<int:hold_id>")
@roles_required(Role.PARTNER)
def show(hold_id: int):  # type: ignore[no-untyped-def]
    hold = _own_hold_or_404(hold_id)
    audit.record(db.session, None, "view", hold.person_id, f"partner: hold {hold.id}")
    return render_template("partners/show.html", hold=hold, badge=STATUS_BADGE)


@bp.route("/holds/<int:hold_id>/cancel", methods=["GET", "POST"])
@roles_required(Role.PARTNER)
def cancel(hold_id: int):  # type: ignore[no-untyped-def]
    """GET, or a POST without the confirmation: the confirm page says what cancelling does.
    A POST with it cancels."""
    hold = _own_hold_or_404(hold_id)
    form = CancelForm()
    if request.method == "POST" and not form.validate_on_submit():
        abort(400)
    if request.method == "GET" or form.confirm.data != "yes":
        audit.record(db.session, None, "view", hold.person_id, f"partner: cancel? hold {hold.id}")
        return render_template("partners/cancel.html", hold=hold, form=CancelForm(formdata=None),
                               badge=STATUS_BADGE)
    try:
        cancel_hold(db.session, hold)
    except HoldConflict as exc:
        flash(str(exc), "warning")
    else:
        audit.record(db.session, None, "cancel_hold", hold.person_id, f"partner: hold {hold.id}")
        flash(_("Pre-booking for %(name)s on %(night)s cancelled; the bed is free again.",
                name=hold.person.display_name, night=day_short(hold.night)), "success")
    return redirect(url_for("partners.index"))
