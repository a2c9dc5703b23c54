"""The append-only audit trail: every view or change of a person's record. One writer."""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask import has_request_context
from flask_login import current_user
from sqlalchemy.orm import Session

from shelter.models import AuditEvent, utcnow


def current_actor() -> Any:
    """The logged-in user inside a request; None (written as 'system') in CLI commands,
    demo seeding and scheduled jobs."""
    if has_request_context() and current_user.is_authenticated:
        return current_user
    return None


def record(session: Session, actor: Any, action: str,
           people: int | None | Iterable[int | None], detail: str = "") -> None:
    """Write the audit rows of one event: one row per person shown or changed (one bulk
    insert, no query per row), or one row without a person (e.g. an allocation run).
    `actor` is a User or an API token's actor; None means the logged-in user inside a
    request and 'system' outside one. Nothing is written for an empty list of people."""
    actor = actor if actor is not None else current_actor()
    ids = [people] if people is None or isinstance(people, int) else list(people)
    if not ids:
        return
    now = utcnow()
    who = {"user_id": getattr(actor, "id", None),
           "username": getattr(actor, "username", "system"),
           "role": str(getattr(actor, "role", "system")),
           "organisation_id": getattr(actor, "organisation_id", None)}
    session.execute(AuditEvent.__table__.insert(), [
        {**who, "person_id": pid, "action": action, "detail": detail, "at": now} for pid in ids])
