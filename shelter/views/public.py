"""Login, logout and the landing page."""
from __future__ import annotations

from flask import Blueprint, flash, redirect, render_template, request, url_for
from flask_login import current_user, login_required, login_user, logout_user
from sqlalchemy import select

from shelter.auth import home_endpoint, verify_password
from shelter.extensions import db
from shelter.forms.public import LoginForm
from shelter.models import User, utcnow
from shelter.models.accounts import new_session_token
from shelter.security import local_path

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
        user = db.session.scalar(select(User).where(User.username == form.username.data))
        if user is not None and user.active and verify_password(user, form.password.data or ""):
            user.last_login_at = utcnow()
            login_user(user)
            return redirect(local_path(request.args.get("next"), home_endpoint(user)))
        form.password.errors.append("Wrong username or password.")
    return render_template("public/login.html", form=form), (200 if not form.errors else 422)


@bp.post("/logout")
@login_required
def logout():  # type: ignore[no-untyped-def]
    # Rotate the token: the old cookie, replayed, no longer identifies anyone.
    current_user.session_token = new_session_token()
    logout_user()
    flash("You are logged out.", "info")
    return redirect(url_for("public.login"))
