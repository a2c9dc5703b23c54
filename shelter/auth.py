"""Login, session identity and role checks.

The login cookie carries `user.id:user.session_token`. Logout rotates the token in the
database, so a copy of the old cookie replayed later matches no user (server-side logout)."""
from __future__ import annotations

import secrets
from collections.abc import Callable
from datetime import datetime, timedelta
from functools import cache, wraps
from typing import Any, TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import Flask, abort, current_app, flash, redirect, request, url_for
from flask_login import current_user
from sqlalchemy import select, update
from sqlalchemy.orm import Session, object_session

from shelter.extensions import db, login_manager
from shelter.i18n import _, _l
from shelter.models import Role, User, utcnow
from shelter.models.accounts import new_session_token

F = TypeVar("F", bound=Callable[..., Any])

_hasher = PasswordHasher()  # argon2id with the library's recommended parameters
SEEN_EVERY = timedelta(minutes=1)  # how often a request writes session_seen_at


def hash_password(password: str) -> str:
    return _hasher.hash(password)


@cache
def _dummy_hash() -> str:
    return _hasher.hash(secrets.token_urlsafe(16))


def authenticate(session: Session, username: str, password: str) -> User | None:
    """The user these credentials log in, or None (see check_credentials)."""
    return check_credentials(session, username, password)[0]


def check_credentials(session: Session, username: str,
                      password: str) -> tuple[User | None, str]:
    """(the user these credentials log in, "") or (None, why not: "unknown", "inactive" or
    "wrong_password", for the security log only: the person is told the same either way).
    Exactly one argon2 verification either way: an unknown or inactive username is checked
    against a dummy hash, so the answer takes as long as for a real account and does not
    tell which usernames exist."""
    user = session.scalar(select(User).where(User.username == username))
    if user is None or not may_log_in(user):
        try:
            _hasher.verify(_dummy_hash(), password)
        except (VerificationError, InvalidHashError):
            pass
        return None, "unknown" if user is None else "inactive"
    return (user, "") if verify_password(user, password) else (None, "wrong_password")


def mfa_required(user: User) -> bool:
    """True when the user's role must log in with a second factor (MFA_REQUIRED_ROLES)."""
    from shelter.config import mfa_roles

    return str(user.role) in mfa_roles(current_app.config.get("MFA_REQUIRED_ROLES", ""))


def mfa_missing(user: User) -> bool:
    """The role needs a second factor and the user has none yet: only enrolment opens."""
    return user.mfa_enabled_at is None and mfa_required(user)


def may_log_in(user: User) -> bool:
    """Active, and (for a partner) its organisation is active: deactivating an organisation
    shuts out its users at once, live sessions too, as it does its API tokens."""
    return user.active and (user.organisation is None or user.organisation.active)


def session_is_live(user: User, now: datetime) -> bool:
    """The session ends SESSION_IDLE_MINUTES after it was last used and SESSION_MAX_HOURS
    after log-in, whatever the cookie says (the times are kept on the user row)."""
    if user.session_started_at is None or user.session_seen_at is None:
        return False
    idle = timedelta(minutes=float(current_app.config["SESSION_IDLE_MINUTES"]))
    lifetime = timedelta(hours=float(current_app.config["SESSION_MAX_HOURS"]))
    return now - user.session_seen_at <= idle and now - user.session_started_at <= lifetime


def start_session(user: User, now: datetime) -> None:
    """At log-in: a session that has ended gets a new token (every old cookie stops
    working) and a new start time; a live one (another tab or device) is joined."""
    if not session_is_live(user, now):
        # Only if nobody started one meanwhile: two first log-ins of one account at the same
        # moment (a shared office account at the start of an evening) must not log each
        # other out. The token is swapped only where it is still the one this log-in read;
        # otherwise the session the other log-in started is joined.
        session = object_session(user)
        if session is None:
            user.session_token, user.session_started_at = new_session_token(), now
        else:
            session.execute(
                update(User).where(User.id == user.id, User.session_token == user.session_token)
                .values(session_token=new_session_token(), session_started_at=now)
                .execution_options(synchronize_session=False))
            session.refresh(user, ["session_token", "session_started_at"])
    user.session_seen_at = user.last_login_at = now


def verify_password(user: User, password: str) -> bool:
    """True when `password` matches; rehashes in place when the parameters have changed."""
    try:
        _hasher.verify(user.password_hash, password)
    except (VerificationError, InvalidHashError):
        return False
    if _hasher.check_needs_rehash(user.password_hash):
        user.password_hash = _hasher.hash(password)
    return True


def init_app(app: Flask) -> None:
    login_manager.login_view = "public.login"
    login_manager.login_message = _l("Please log in to see that page.")
    login_manager.localize_callback = str  # worded in the language of the request
    login_manager.login_message_category = "info"
    login_manager.session_protection = "strong"
    app.before_request(_require_own_password)

    @login_manager.user_loader
    def load_user(identity: str) -> User | None:
        user_id, __, token = identity.partition(":")
        if not user_id.isdigit() or not token:
            return None
        user = db.session.get(User, int(user_id))
        if user is None or not may_log_in(user) or user.session_token != token:
            return None
        now = utcnow()
        if not session_is_live(user, now):
            flash(_("Your session has ended. Please log in again."), "info")
            return None
        if now - user.session_seen_at > SEEN_EVERY:  # type: ignore[operator]
            user.session_seen_at = now  # committed with the request's unit of work
        return user


# While an admin's request for a new password stands, only these pages open.
OPEN_UNTIL_CHANGED = {"public.change_password", "public.logout", "static"}
# While a role that needs a second factor has none, only these pages open.
OPEN_UNTIL_ENROLLED = {"mfa.enrol", "public.logout", "public.choose_language", "static"}


def _require_own_password() -> Any:
    # Static files and the health probes never load the user (they must not touch the
    # database: /readyz reports an outage itself).
    if request.endpoint == "static" or (request.blueprint or "") == "health":
        return None
    if current_user.is_authenticated and current_user.must_change_password \
            and request.endpoint not in OPEN_UNTIL_CHANGED:
        flash(_("An admin asked you to choose a new password before you carry on."), "info")
        return redirect(url_for("public.change_password"))
    if current_user.is_authenticated and request.endpoint not in OPEN_UNTIL_ENROLLED \
            and mfa_missing(current_user):
        flash(_("Your role needs a second factor. Set it up before you carry on."), "info")
        return redirect(url_for("mfa.enrol"))
    return None


def roles_required(*roles: Role) -> Callable[[F], F]:
    """Only logged-in users with one of `roles` pass; others get 403 (anonymous: login)."""

    def decorator(view: F) -> F:
        @wraps(view)
        def wrapped(*args: Any, **kwargs: Any) -> Any:
            if not current_user.is_authenticated:
                return login_manager.unauthorized()
            if current_user.role not in roles:
                abort(403)
            return view(*args, **kwargs)

        return wrapped  # type: ignore[return-value]

    return decorator


def home_endpoint(user: User) -> str:
    """Where each role lands after login."""
    return {
        Role.INTAKE: "intake.board",
        Role.PARTNER: "partners.index",
        Role.MANAGER: "reports.index",
        Role.ADMIN: "admin.index",
    }[user.role]


# Who may see people's sensitive records (health, violence, bans).
STAFF_ROLES = (Role.INTAKE, Role.MANAGER, Role.ADMIN)
