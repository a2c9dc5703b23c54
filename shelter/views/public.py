"""Login, logout and the landing page."""
from __future__ import annotations

import time

from flask import (
    Blueprint, abort, current_app, flash, redirect, render_template, request, session, url_for,
)
from flask_login import current_user, login_required, login_user, logout_user

from shelter.auth import check_credentials, home_endpoint, may_log_in, start_session
from shelter.config import mfa_roles
from shelter.extensions import db
from shelter.i18n import LANGUAGES, _, ngettext
from shelter.forms.mfa import CodeForm
from shelter.forms.public import ChangePasswordForm, LoginForm
from shelter.models import User, utcnow
from shelter.models.accounts import new_session_token
from shelter.security import local_path
from shelter.services import mfa
from shelter.services.accounts import MIN_PASSWORD, FieldError, change_own_password

bp = Blueprint("public", __name__)


@bp.get("/")
def index():  # type: ignore[no-untyped-def]
    if current_user.is_authenticated:
        return redirect(url_for(home_endpoint(current_user)))
    return redirect(url_for("public.login"))


@bp.route("/login", methods=["GET", "POST"])
def login():  # type: ignore[no-untyped-def]
    """The password; then, for a user with a second factor, the code (login_code): the
    session is logged in only once both are right."""
    form = LoginForm()
    session.pop(PENDING, None)
    if form.validate_on_submit():
        typed = form.username.data or ""
        user, reason = check_credentials(db.session, typed, form.password.data or "")
        if user is not None and mfa.is_enabled(user):
            session[PENDING] = {"user_id": user.id, "username": user.username,
                                "at": time.time(), "next": request.args.get("next")}
            return redirect(url_for("public.login_code"))
        if user is not None:
            return _log_in(user, "none", request.args.get("next"))
        form.password.errors.append(_("Wrong username or password."))
        mfa.security_event(db.session, None, "login_failed", username=typed, reason=reason)
    return render_template("public/login.html", form=form,
                           mfa_for_nobody=not mfa_roles(current_app.config.get(
                               "MFA_REQUIRED_ROLES", ""))), (200 if not form.errors else 422)


#: The session key of a log-in whose password was right and whose code is still to come.
PENDING = "mfa_pending"
PENDING_SECONDS = 300  # the code must follow the password within five minutes


def _pending_user() -> User | None:
    pending = session.get(PENDING)
    if not isinstance(pending, dict) or time.time() - float(pending.get("at", 0)) \
            > PENDING_SECONDS:
        return None
    user = db.session.get(User, int(pending.get("user_id", 0)))
    if user is None or not may_log_in(user) or not mfa.is_enabled(user):
        return None
    return user


@bp.route("/login/code", methods=["GET", "POST"])
def login_code():  # type: ignore[no-untyped-def]
    """The second step: a code from the authenticator app or a recovery code. Wrong codes
    answer 422 and count against the account like wrong passwords (security.py)."""
    user = _pending_user()
    if user is None:
        session.pop(PENDING, None)
        flash(_("Please log in again."), "info")
        return redirect(url_for("public.login"))
    form = CodeForm()
    if form.validate_on_submit():
        factor = mfa.check_second_factor(db.session, user, form.code.data or "")
        if factor is not None:
            target = session.pop(PENDING, {}).get("next")
            if factor == "recovery_code":
                flash(ngettext("You used a recovery code; %(num)s is left.",
                               "You used a recovery code; %(num)s are left.",
                               mfa.recovery_codes_left(db.session, user)), "info")
            return _log_in(user, factor, target)
        form.code.errors.append(_("That code is not right. Type the 6-digit code your app "
                                  "shows now, or one of your recovery codes."))
        mfa.security_event(db.session, None, "login_failed", username=user.username,
                           reason="wrong_code")
    return render_template("public/login_code.html", form=form), (422 if form.errors else 200)


def _log_in(user: User, factor: str, target: str | None):  # type: ignore[no-untyped-def]
    start_session(user, utcnow())
    login_user(user)
    _remember_language(user)
    mfa.security_event(db.session, user, "login", username=user.username, factor=factor)
    return redirect(local_path(target, home_endpoint(user)))


@bp.route("/account/password", methods=["GET", "POST"])
@login_required
def change_password():  # type: ignore[no-untyped-def]
    """Users change their own password (and must, when an admin asked for it)."""
    form = ChangePasswordForm()
    if form.validate_on_submit():
        user = current_user._get_current_object()  # type: ignore[attr-defined]
        try:
            change_own_password(db.session, user, form.current.data or "",
                                form.password.data or "")
        except FieldError as err:
            getattr(form, err.field).errors.append(err.message)
        else:
            # The new password ended every session; this one carries on under a new token.
            start_session(user, utcnow())
            login_user(user)
            mfa.security_event(db.session, user, "password_changed", username=user.username)
            flash(_("Your password is changed. Other devices are logged out."), "success")
            return redirect(url_for(home_endpoint(user)))
    return render_template("public/password.html", form=form, min_password=MIN_PASSWORD), \
        (422 if form.errors else 200)


@bp.post("/logout")
@login_required
def logout():  # type: ignore[no-untyped-def]
    # Rotate the token: the old cookie, replayed, no longer identifies anyone.
    mfa.security_event(db.session, current_user._get_current_object(),  # type: ignore[attr-defined]
                       "logout", username=current_user.username)
    current_user.session_token = new_session_token()
    logout_user()
    flash(_("You are logged out."), "info")
    return redirect(url_for("public.login"))


@bp.post("/language")
def choose_language():  # type: ignore[no-untyped-def]
    """The switch in the header: stored on the user (or, before log-in, in the session)."""
    code = request.form.get("language", "")
    if code not in LANGUAGES:
        abort(422)
    if current_user.is_authenticated:
        current_user.language = code
    # Kept in the session as well: pages that must not ask the database (the 503 page while
    # it is down) still know the language.
    session["language"] = code
    return redirect(local_path(request.form.get("next"), "public.index"))


def _remember_language(user: object) -> None:
    """The user's stored language, copied into the session at log-in (see choose_language)."""
    chosen = getattr(user, "language", None)
    if chosen in LANGUAGES:
        session["language"] = chosen
