"""The append-only audit trail: every view or change of a person's record."""
from __future__ import annotations

from flask_login import current_user

from shelter.extensions import db
from shelter.models import AuditEvent, User, utcnow


def record(action: str, person_id: int | None, detail: str = "", user: User | None = None) -> None:
    """Write one audit row for the acting user (the logged-in user unless `user` is given).
    API calls pass the organisation's pseudo-user via `user=None` and a detail."""
    actor = user if user is not None else (current_user if current_user.is_authenticated else None)
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
    actor = current_user if current_user.is_authenticated else None
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
