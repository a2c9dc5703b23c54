"""The append-only audit trail: every view or change of a person's record."""
from __future__ import annotations

from typing import Any

from flask import has_request_context
from flask_login import current_user

from shelter.extensions import db
from shelter.models import AuditEvent, User, utcnow


def _current_actor() -> Any:
    """The logged-in user inside a request; None (written as 'system') in CLI commands,
    demo seeding and scheduled jobs."""
    if has_request_context() and current_user.is_authenticated:
        return current_user
    return None


def record(action: str, person_id: int | None, detail: str = "", user: User | None = None) -> None:
    """Write one audit row for the acting user (the logged-in user unless `user` is given).
    Outside a request (CLI, jobs) the row names 'system'."""
    actor = user if user is not None else _current_actor()
    db.session.add(
        AuditEvent(
            user_id=getattr(actor, "id", None),
            username=getattr(actor, "username", "system"),
            role=str(getattr(actor, "role", "system")),
            organisation_id=getattr(actor, "organisation_id", None),
            person_id=person_id,
            action=action,
            detail=detail,
        )
    )


def record_many(action: str, person_ids: list[int], detail: str = "") -> None:
    """One row per person, for list pages that show people (bulk insert, no query per row)."""
    actor = _current_actor()
    if not person_ids:
        return
    now = utcnow()
    db.session.execute(
        AuditEvent.__table__.insert(),
        [
            {
                "user_id": getattr(actor, "id", None),
                "username": getattr(actor, "username", "system"),
                "role": str(getattr(actor, "role", "system")),
                "organisation_id": getattr(actor, "organisation_id", None),
                "person_id": pid,
                "action": action,
                "detail": detail,
                "at": now,
            }
            for pid in person_ids
        ],
    )
