"""Append-only audit trail of every view or change of a person's record."""
from __future__ import annotations

from datetime import datetime

from sqlalchemy import ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column

from shelter.models.base import Base, utcnow


class AuditEvent(Base):
    """Never updated or deleted (the migration adds triggers that refuse both)."""

    __tablename__ = "audit_events"
    __table_args__ = (Index("ix_audit_events_person_at", "person_id", "at"),
                      Index("ix_audit_events_action_at", "action", "at"))

    id: Mapped[int] = mapped_column(primary_key=True)
    at: Mapped[datetime] = mapped_column(default=utcnow)
    user_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    username: Mapped[str] = mapped_column(String(80))
    role: Mapped[str] = mapped_column(String(20))
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    person_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"))
    action: Mapped[str] = mapped_column(String(60))  # view, create, update, assess, place ...
    detail: Mapped[str] = mapped_column(Text, default="")


class JobRun(Base):
    """One scheduled job run for one key (e.g. a night). The unique key is the lock that
    makes a job run once even when two scheduler processes fire it."""

    __tablename__ = "job_runs"

    id: Mapped[int] = mapped_column(primary_key=True)
    job: Mapped[str] = mapped_column(String(60))
    key: Mapped[str] = mapped_column(String(80))
    started_at: Mapped[datetime] = mapped_column(default=utcnow)
    finished_at: Mapped[datetime | None]
    status: Mapped[str] = mapped_column(String(20), default="running")
    detail: Mapped[str] = mapped_column(Text, default="")
    owner: Mapped[str] = mapped_column(String(80), default="")
    # the claim holds until then; the running process's heartbeat pushes it forward
    lease_until: Mapped[datetime | None]

    __table_args__ = (Index("uq_job_runs_job_key", "job", "key", unique=True),)


class AuditEventPerson(Base):
    """The people one audit event names when it names more than one (a board view, a
    confirmed run): one event, a row here per person, so a person's trail still finds it.
    Append-only like audit_events."""

    __tablename__ = "audit_event_people"
    __table_args__ = (Index("ix_audit_event_people_person", "person_id", "event_id"),)

    event_id: Mapped[int] = mapped_column(ForeignKey("audit_events.id"), primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), primary_key=True)
