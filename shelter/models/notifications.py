"""The outbox of messages to partner organisations, and every attempt to deliver them.

A Notification is written in the same transaction as the event it reports (a hold claimed,
expired, cancelled by staff; its person turned away), so a rolled-back event never sends a
message and a committed one always does: the scheduler job `deliver-notifications` sends
pending rows and records each attempt."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, ForeignKey, Index, Integer, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shelter.models.accounts import Organisation
from shelter.models.base import Base, utcnow


class Notification(Base):
    """One message to one organisation over one channel ("email" or "webhook")."""

    __tablename__ = "notifications"
    __table_args__ = (Index("ix_notifications_status_next", "status", "next_attempt_at"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    channel: Mapped[str] = mapped_column(String(10))  # email | webhook
    event: Mapped[str] = mapped_column(String(40))  # hold.claimed, hold.expired ...
    hold_id: Mapped[int | None] = mapped_column(ForeignKey("holds.id"))
    # Only what the partner portal shows: hold id, ref, name, night, site, status.
    payload: Mapped[dict[str, Any]] = mapped_column(JSON)
    status: Mapped[str] = mapped_column(String(10), default="pending")  # pending|delivered|failed
    attempts: Mapped[int] = mapped_column(Integer, default=0)
    next_attempt_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_error: Mapped[str | None] = mapped_column(Text)
    delivered_at: Mapped[datetime | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    organisation: Mapped[Organisation] = relationship()


class DeliveryAttempt(Base):
    """One try at delivering a notification: when, whether it worked, and what was said."""

    __tablename__ = "delivery_attempts"

    id: Mapped[int] = mapped_column(primary_key=True)
    notification_id: Mapped[int] = mapped_column(ForeignKey("notifications.id"), index=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    ok: Mapped[bool] = mapped_column(default=False)
    status_code: Mapped[int | None] = mapped_column(Integer)
    error: Mapped[str | None] = mapped_column(Text)
