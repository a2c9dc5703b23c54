"""Audit rows for the people services, also outside a web request (CLI, demo seeding,
jobs), where `flask_login.current_user` is not available: then the row names `user` if
given, else 'system'."""
from __future__ import annotations

from flask import has_request_context

from shelter.extensions import db
from shelter.models import AuditEvent, User
from shelter.services import audit


def record(action: str, person_id: int | None, detail: str = "", user: User | None = None) -> None:
    """Write one audit row (see shelter.services.audit.record)."""
    if user is not None or has_request_context():
        audit.record(action, person_id, detail, user=user)
        return
    db.session.add(AuditEvent(user_id=None, username="system", role="system",
                              organisation_id=None, person_id=person_id, action=action,
                              detail=detail))
