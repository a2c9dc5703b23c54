"""The record of what happened to a placement after confirmation, written so that the last
change of the night can be undone exactly.

Each change stores a snapshot of what it touched before and after: the placement, and the
hold and request when it changed them. Undo restores `before` only while the rows still
look like `after` (nothing else changed them since). Kept apart from allocation.py and
placements.py so both can record changes without importing each other.
"""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session

from shelter.models import (
    Hold, HoldStatus, Placement, PlacementChange, PlacementStatus, Request, RequestStatus, User,
    utcnow,
)

# What a snapshot keeps of each row (the fields a change after confirmation may touch).
FIELDS = {
    "placement": ("status", "bed_id", "hold_id", "checked_in_at", "ended_at"),
    "hold": ("status", "bed_id", "ended_at"),
    "request": ("status",),
}
STATUS = {"placement": PlacementStatus, "hold": HoldStatus, "request": RequestStatus}


def _plain(value: Any) -> Any:
    if isinstance(value, datetime):
        return value.isoformat()
    return getattr(value, "value", value)  # enums as their stored value


def snapshot(placement: Placement, hold: Hold | None = None,
             request: Request | None = None) -> dict[str, Any]:
    """The fields of the rows a change touches, as JSON-ready values (ids included)."""
    out: dict[str, Any] = {}
    for name, row in (("placement", placement), ("hold", hold), ("request", request)):
        if row is not None:
            out[name] = {"id": row.id, **{f: _plain(getattr(row, f)) for f in FIELDS[name]}}
    return out


def record_change(session: Session, placement: Placement, action: str,
                  before: dict[str, Any], user: User | None, reason: str = "",
                  hold: Hold | None = None, request: Request | None = None,
                  now: datetime | None = None) -> PlacementChange:
    """Keep one change (its `before` snapshot taken by the caller before changing anything)."""
    change = PlacementChange(
        placement_id=placement.id, night=placement.night, person_id=placement.person_id,
        action=action, reason=reason, before=before, after=snapshot(placement, hold, request),
        user_id=getattr(user, "id", None), at=now or utcnow())
    session.add(change)
    return change


def last_change(session: Session, placement_id: int) -> PlacementChange | None:
    """The newest change of this placement that has not been undone."""
    return session.scalar(select(PlacementChange).where(
        PlacementChange.placement_id == placement_id, PlacementChange.undone_at.is_(None))
        .order_by(PlacementChange.id.desc()).limit(1))


def restore(row: Any, saved: dict[str, Any], kind: str) -> None:
    """Put the snapshot's fields back on `row` (timestamps parsed, enums by value)."""
    for field in FIELDS[kind]:
        value = saved[field]
        if field.endswith("_at") and value is not None:
            value = datetime.fromisoformat(value)
        elif field == "status":
            value = STATUS[kind](value)
        setattr(row, field, value)
