"""The second factor for the logged-in user: set it up (QR code, secret, a code to
confirm), then recovery codes shown once; later, new recovery codes. Every role may set it
up; roles in MFA_REQUIRED_ROLES are sent here after the password until they have."""
from __future__ import annotations

from flask import Blueprint, redirect, render_template, url_for
from flask_login import current_user, login_required

from shelter.auth import home_endpoint, mfa_required
from shelter.extensions import db
from shelter.forms.mfa import CodeForm, EnrolForm
from shelter.services import mfa
from shelter.services.accounts import FieldError

bp = Blueprint("mfa", __name__)


def _me():  # type: ignore[no-untyped-def]
    return current_user._get_current_object()  # type: ignore[attr-defined]


@bp.route("/", methods=["GET", "POST"])
@login_required
def enrol():  # type: ignore[no-untyped-def]
    user = _me()
    if mfa.is_enabled(user):
        return _status_page(CodeForm(formdata=None))
    secret = mfa.start_enrolment(db.session, user)
    form = EnrolForm()
    if form.validate_on_submit():
        try:
            codes = mfa.confirm_enrolment(db.session, user, form.code.data or "")
        except FieldError as err:
            form.code.errors.append(err.message)
        else:
            return _codes_page(codes)
    uri = mfa.provisioning_uri(user, secret)
    return render_template("mfa/enrol.html", form=form, qr=mfa.qr_data_uri(uri),
                           secret=mfa.grouped(secret), required=mfa_required(user)), \
        (422 if form.errors else 200)


@bp.post("/recovery-codes")
@login_required
def recovery_codes():  # type: ignore[no-untyped-def]
    """New recovery codes (the old ones stop working), proven with a current code."""
    user = _me()
    if not mfa.is_enabled(user):
        return redirect(url_for("mfa.enrol"))
    form = CodeForm()
    if form.validate_on_submit():
        try:
            codes = mfa.regenerate_recovery_codes(db.session, user, form.code.data or "")
        except FieldError as err:
            form.code.errors.append(err.message)
        else:
            return _codes_page(codes)
    return _status_page(form, 422)


def _status_page(form: CodeForm, status: int = 200):  # type: ignore[no-untyped-def]
    user = _me()
    return render_template("mfa/status.html", form=form, user=user,
                           left=mfa.recovery_codes_left(db.session, user)), status


def _codes_page(codes: list[str]):  # type: ignore[no-untyped-def]
    """The recovery codes, on this answer only: only their hashes are kept."""
    return render_template("mfa/recovery.html", codes=codes,
                           home=url_for(home_endpoint(_me())))
