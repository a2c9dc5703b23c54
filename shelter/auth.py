"""Login, session identity and role checks.

The login cookie carries `user.id:user.session_token`. Logout rotates the token in the
database, so a copy of the old cookie replayed later matches no user (server-side logout)."""
from __future__ import annotations

from collections.abc import Callable
from functools import wraps
from typing import Any, TypeVar

from argon2 import PasswordHasher
from argon2.exceptions import InvalidHashError, VerificationError
from flask import Flask, abort
from flask_login import current_user

from shelter.extensions import db, login_manager
from shelter.models import Role, User

F = TypeVar("F", bound=Callable[..., Any])

_hasher = PasswordHasher()  # argon2id with the library's recommended parameters


def hash_password(password: str) -> str:
    return _hasher.hash(password)


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
    login_manager.login_message = "Please log in to see that page."
    login_manager.login_message_category = "info"
    login_manager.session_protection = "strong"

    @login_manager.user_loader
    def load_user(identity: str) -> User | None:
        user_id, _, token = identity.partition(":")
        if not user_id.isdigit() or not token:
            return None
        user = db.session.get(User, int(user_id))
        if user is None or not user.active or user.session_token != token:
            return None
        return user


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
