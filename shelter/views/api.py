"""JSON API for partners' own systems (bearer tokens per organisation).

Every call acts as one organisation and sees only that organisation's holds and people:
another organisation's hold id answers 404, exactly like an id that does not exist.

Error answers: `error` and `field` are stable English identifiers for programs; `message`
and `reason` are for people, in the call's language (its Accept-Language, else the
instance's: shelter.i18n.select_language)."""
from __future__ import annotations

from collections.abc import Callable
from datetime import datetime
from functools import wraps
from typing import Any

from flask import Blueprint, g, jsonify, request, url_for

from shelter.clock import tonight
from shelter.config import instance_city
from shelter.extensions import db
from shelter.forms.api import ApiInputError, parse_hold, parse_night
from shelter.i18n import _
from shelter.models import Hold, HoldStatus, Organisation
from shelter.services import audit
from shelter.services.prebooking import (
    BookingInputError, BookingRequest, HoldConflict, HoldRefused, book_hold, cancel_hold, get_hold,

)
from shelter.services.prebooking_queries import (
    availability_by_night, known_features, org_holds, ref_for, site_id_for_code,
)
from shelter.services.tokens import actor_for_token
from shelter.views.api_openapi import openapi_document

bp = Blueprint("api", __name__)
MAX_ID = 2**31 - 1
SHOWN_REASONS = {"quota", "too_late", "duplicate"}  # any other refusal reads as "no_bed"


def _error(status: int, error: str, message: str) -> Any:
    return jsonify({"error": error, "message": message}), status


def _unprocessable(errors: list[dict[str, str]]) -> Any:
    return jsonify({"errors": errors}), 422


def token_required(view: Callable[..., Any]) -> Callable[..., Any]:
    """401 unless the Authorization header carries a live bearer token; sets g.actor."""

    @wraps(view)
    def wrapped(*args: Any, **kwargs: Any) -> Any:
        scheme, __, raw = request.headers.get("Authorization", "").partition(" ")
        actor = actor_for_token(db.session, raw.strip()) if scheme.lower() == "bearer" else None
        if actor is None:
            response, status = _error(401, "unauthorized", _("A valid bearer token is required."))
            response.headers["WWW-Authenticate"] = 'Bearer realm="shelter"'
            return response, status
        g.actor = actor
        return view(*args, **kwargs)

    return wrapped


def _iso(value: datetime | None) -> str | None:
    return None if value is None else value.isoformat(timespec="seconds") + "Z"


def hold_json(hold: Hold, ref: str | None) -> dict[str, Any]:
    """The same keys for every hold. A pending one (intake confirms the site) has no site
    yet, nor has one that ended while pending: `site` and `site_name` are null;
    `wished_site` is the site asked for (null: any). Nothing says why a booking is
    pending or not at its wished site."""
    person = hold.person
    pending = hold.status is HoldStatus.PENDING or hold.bed_id is None
    return {
        "id": hold.id,
        "night": hold.night.isoformat(),
        "status": hold.status.value,
        "site": None if pending else hold.site.code,
        "site_name": None if pending else hold.site.name,
        "wished_site": hold.wished_site.code if hold.wished_site else None,
        "needs": list(hold.needs or []),
        "expires_at": _iso(hold.expires_at),
        "created_at": _iso(hold.created_at),
        "person": {"ref": ref, "name": person.name, "alias": person.alias,
                   "birth_year": person.birth_year, "gender": person.gender.value},
    }


def _night_arg() -> Any:
    raw = request.args.get("night")
    return tonight() if raw is None else parse_night(raw)


@bp.get("/openapi.json")
def openapi():  # type: ignore[no-untyped-def]
    return jsonify(openapi_document())


@bp.get("/availability")
@token_required
def availability():  # type: ignore[no-untyped-def]
    try:
        night = _night_arg()
    except ApiInputError as exc:
        return _unprocessable(exc.errors)
    # Partners book in the instance's city (organisations have no city of their own).
    (__, rows), = availability_by_night(db.session, night, 1, instance_city())
    return jsonify({"night": night.isoformat(), "availability": [
        {"site": r.site_code, "site_name": r.site_name, "gender": r.gender.value, "free": r.free}
        for r in rows]})


@bp.post("/holds")
@token_required
def create_hold():  # type: ignore[no-untyped-def]
    body = request.get_json(silent=True)
    needs_given = isinstance(body, dict) and bool(body.get("needs"))
    try:
        data = parse_hold(body, features=known_features(db.session) if needs_given else [],
                          current_year=tonight().year)
    except ApiInputError as exc:
        return _unprocessable(exc.errors)
    site_id = None
    if data["site"] is not None:
        site_id = site_id_for_code(db.session, data["site"])
        if site_id is None:
            return _unprocessable([{"field": "site", "reason": _("no open site has this code")}])
    booking = BookingRequest(organisation_id=g.actor.organisation_id, night=data["night"],
                             person=data["person"], site_id=site_id, needs=data["needs"])
    try:
        hold = book_hold(db.session, booking, g.actor)
    except BookingInputError as exc:
        return _unprocessable([{"field": exc.field, "reason": exc.reason}])
    except HoldRefused as refusal:
        db.session.commit()  # keep the HoldRefusal row: a refusal is an outcome, not an error
        reason = refusal.reason if refusal.reason in SHOWN_REASONS else "no_bed"
        return _error(409, reason, refusal.message)
    audit.record(db.session, g.actor, "prebook", hold.person_id, f"hold {hold.id} night {hold.night}")
    body = hold_json(hold, ref_for(db.session, hold.organisation_id, hold.person_id))
    response = jsonify(body)
    response.headers["Location"] = url_for("api.show_hold", hold_id=hold.id)
    return response, 201


@bp.get("/holds")
@token_required
def list_holds():  # type: ignore[no-untyped-def]
    night = None
    if request.args.get("night") is not None:
        try:
            night = parse_night(request.args["night"])
        except ApiInputError as exc:
            return _unprocessable(exc.errors)
    rows = org_holds(db.session, g.actor.organisation_id, night=night)
    for person_id in sorted({hold.person_id for hold, unused in rows}):
        audit.record(db.session, g.actor, "view", person_id, "api: list holds")
    return jsonify({"holds": [hold_json(hold, ref) for hold, ref in rows]})


def _own_hold(hold_id: int) -> Hold | None:
    if hold_id > MAX_ID:
        return None
    return get_hold(db.session, g.actor.organisation_id, hold_id)


@bp.get("/holds/<int:hold_id>")
@token_required
def show_hold(hold_id: int):  # type: ignore[no-untyped-def]
    hold = _own_hold(hold_id)
    if hold is None:
        return _error(404, "not_found", _("No such hold."))
    audit.record(db.session, g.actor, "view", hold.person_id, f"api: hold {hold.id}")
    return jsonify(hold_json(hold, ref_for(db.session, hold.organisation_id, hold.person_id)))


@bp.delete("/holds/<int:hold_id>")
@token_required
def delete_hold(hold_id: int):  # type: ignore[no-untyped-def]
    hold = _own_hold(hold_id)
    if hold is None:
        return _error(404, "not_found", _("No such hold."))
    try:
        hold = cancel_hold(db.session, hold)
    except HoldConflict as exc:
        return _error(409, "conflict", str(exc))
    audit.record(db.session, g.actor, "cancel_hold", hold.person_id, f"api: hold {hold.id}")
    return jsonify(hold_json(hold, ref_for(db.session, hold.organisation_id, hold.person_id)))


@bp.get("/webhook")
@token_required
def webhook_config():  # type: ignore[no-untyped-def]
    """Where this organisation is told about its bookings (set by an admin). The secret
    itself is never shown here: only whether one is set."""
    org = db.session.get(Organisation, g.actor.organisation_id)
    if org is None:
        return _error(404, "not_found", _("No such organisation."))
    return jsonify({"contact_email": org.contact_email, "webhook_url": org.webhook_url,
                    "secret_set": bool(org.webhook_secret),
                    "signature_header": "X-Shelter-Signature"})
