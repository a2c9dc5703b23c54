"""Login, logout and the landing page."""
from __future__ import annotations

from flask import Blueprint, abort, flash, redirect, render_template, request, session, url_for
from flask_login import current_user, login_required, login_user, logout_user

from shelter.auth import authenticate, home_endpoint, start_session
from shelter.extensions import db
from shelter.i18n import LANGUAGES, _
from shelter.forms.public import ChangePasswordForm, LoginForm
from shelter.models import utcnow
from shelter.models.accounts import new_session_token
from shelter.security import local_path
from shelter.services.accounts import MIN_PASSWORD, FieldError, change_own_password

bp = Blueprint("public", __name__)


@bp.get("/")
def index():  # type: ignore[no-untyped-def]
    if current_user.is_authenticated:
        return redirect(url_for(home_endpoint(current_user)))
    return redirect(url_for("public.login"))


@bp.route("/login", methods=["GET", "POST"])
def login():  # type: ignore[no-untyped-def]
    form = LoginForm()
    if form.validate_on_submit():
        user = authenticate(db.session, form.username.data or "", form.password.data or "")
        if user is not None:
            start_session(user, utcnow())
            login_user(user)
            _remember_language(user)
            return redirect(local_path(request.args.get("next"), home_endpoint(user)))
        form.password.errors.append(_("Wrong username or password."))
    return render_template("public/login.html", form=form), (200 if not form.errors else 422)


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
            flash(_("Your password is changed. Other devices are logged out."), "success")
            return redirect(url_for(home_endpoint(user)))
    return render_template("public/password.html", form=form, min_password=MIN_PASSWORD), \
        (422 if form.errors else 200)


@bp.post("/logout")
@login_required
def logout():  # type: ignore[no-untyped-def]
    # Rotate the token: the old cookie, replayed, no longer identifies anyone.
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
