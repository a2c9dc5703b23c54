"""Data protection for admins: a person's access-request export (JSON and a printable
page) and erasure on request. The rules live in services/retention.py; admins only
(access requests and erasure are the data controller's work): others get 403."""
from __future__ import annotations

import enum
from datetime import date, datetime
from typing import Any

from flask import Blueprint, abort, flash, jsonify, redirect, render_template, url_for

from shelter.auth import roles_required
from shelter.extensions import db
from shelter.forms.privacy import EraseForm
from shelter.i18n import _, _l, day_short, stamp
from shelter.models import Person, Role, utcnow
from shelter.services import audit
from shelter.services import retention
from shelter.services.people_merge import current_record
from shelter.words import word

bp = Blueprint("privacy", __name__)

SECTIONS = {
    "requests": _l("Requests for a bed"), "placements": _l("Placements"),
    "holds": _l("Pre-bookings"), "assessments": _l("Need assessments"), "bans": _l("Bans"),
    "keep_apart": _l("Keep-apart pairs"), "notes": _l("Notes and incidents"),
    "housing_referrals": _l("Housing follow-up"), "organisations": _l("Partner organisations"),
    "placement_changes": _l("Changes to placements"),
    "safety_exemptions": _l("Exemptions from a ban or pair"),
    "refusals": _l("Refused pre-bookings"), "overrides": _l("Hand changes to a proposal"),
    "audit_events": _l("Who saw or changed the record"),
}
COLUMNS = {
    "id": _l("Number"), "name": _l("Name"), "alias": _l("Alias"),
    "refused_name": _l("Refused to give a name"), "birth_year": _l("Birth year"),
    "gender": _l("Gender"), "phone": _l("Phone"), "needs": _l("Bed needs"),
    "created_at": _l("Registered"), "merged_into_id": _l("Merged into record"),
    "pseudonymised_at": _l("Pseudonymised"), "merged_records": _l("Records merged into this one"),
    "night": _l("Night"), "city": _l("City"), "source": _l("How it came in"),
    "status": _l("Status"), "arrival": _l("Place in the queue"),
    "turnaway_reason": _l("Turn-away reason"), "turnaway_explanation": _l("Explanation"),
    "referred_to": _l("Referred to"), "note": _l("Note"), "bed_id": _l("Bed number"),
    "checked_in_at": _l("Checked in"), "ended_at": _l("Ended"),
    "organisation_id": _l("Organisation number"), "site_id": _l("Site number"),
    "expires_at": _l("Expires"), "assessed_at": _l("Assessed"),
    "scheme_id": _l("Scheme number"), "need": _l("Need score"), "answers": _l("Answers"),
    "area_id": _l("Area number"), "authority": _l("Issued by authority"),
    "category": _l("Category"), "starts_on": _l("First night"), "ends_on": _l("Last night"),
    "review_on": _l("Review by"), "reason": _l("Reason"), "issued_by": _l("Issued by"),
    "at": _l("When"), "kind": _l("Kind"), "text": _l("Text"), "referred_at": _l("Referred"),
    "ref": _l("Their reference"), "action": _l("What"), "other": _l("The other person"),
    "message": _l("What the partner was told"), "from_bed_id": _l("From bed number"),
    "to_bed_id": _l("To bed number"), "username": _l("User"), "role": _l("Role"), "person_id": _l("Record"),
}


@bp.app_template_global("privacy_cell")
def cell(key: str, value: Any) -> str:
    """One exported value in the reader's language: dates by the i18n filters, codes worded."""
    if key == "other":
        return _("another person (not named: their data is theirs)")
    if value is None or value == "":
        return ""
    if key == "role":  # an audit row's role as recorded ("intake", "system" ...)
        try:
            return word(Role(value))
        except ValueError:
            return _("system") if value == "system" else str(value)
    if isinstance(value, bool):
        return _("yes") if value else _("no")
    if isinstance(value, datetime):
        return stamp(value)
    if isinstance(value, date):
        return day_short(value)
    if isinstance(value, enum.Enum):
        return word(value)
    if isinstance(value, dict):
        return ", ".join(str(k) for k, v in value.items() if v)
    if isinstance(value, list):
        return ", ".join(str(v) for v in value)
    return str(value)


def _person(person_id: int) -> Person:
    person = db.session.get(Person, person_id)
    if person is None:
        abort(404)
    return current_record(db.session, person)  # a merged-away record follows its survivor


@bp.get("/people/<int:person_id>")
@roles_required(Role.ADMIN)
def person(person_id: int):  # type: ignore[no-untyped-def]
    p = _person(person_id)
    audit.record(db.session, None, "view", p.id, "privacy page")
    return _page(p, EraseForm(), [])


def _page(p: Person, form: EraseForm, refused: list[str], status: int = 200):  # type: ignore[no-untyped-def]
    blockers = retention.erase_blockers(db.session, p.id) if p.pseudonymised_at is None else []
    return render_template("privacy/person.html", p=p, form=form, refused=refused,
                           blockers=blockers), status


@bp.post("/people/<int:person_id>/erase")
@roles_required(Role.ADMIN)
def erase(person_id: int):  # type: ignore[no-untyped-def]
    p = _person(person_id)
    form = EraseForm()
    if not form.validate_on_submit():
        return _page(p, form, [], 422)
    try:
        retention.erase(db.session, p, form.reason.data or "", None)
    except retention.ErasureRefused as err:
        if err.field == "reason":
            form.reason.errors = list(err.reasons)
            return _page(p, form, [], 422)
        return _page(p, form, err.reasons, 422)
    flash(_("The record is pseudonymised: name, alias, phone and notes are gone."), "success")
    return redirect(url_for("privacy.person", person_id=p.id))


@bp.get("/people/<int:person_id>/export.json")
@roles_required(Role.ADMIN)
def export_json(person_id: int):  # type: ignore[no-untyped-def]
    p = _person(person_id)
    data = retention.export(db.session, p, None)
    response = jsonify(data.to_json())
    response.headers["Content-Disposition"] = f"attachment; filename=person-{p.id}.json"
    return response


@bp.get("/people/<int:person_id>/export")
@roles_required(Role.ADMIN)
def export_page(person_id: int):  # type: ignore[no-untyped-def]
    p = _person(person_id)
    data = retention.export(db.session, p, None)
    return render_template("privacy/export.html", p=p, data=data, sections=SECTIONS,
                           columns=COLUMNS, now=utcnow())
