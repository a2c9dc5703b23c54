"""Staff's dated notes and incidents about a person (the person page). Append-only: a note
is never edited or deleted through the app; a correction is a new note. Staff only:
partners never see them (no partner page or API answer reads this table)."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, Date, ForeignKey, Index, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shelter.models.accounts import User
from shelter.models.base import Base, utcnow

NOTE_KINDS = ("note", "incident")
NOTE_MAX_LENGTH = 2000


class PersonNote(Base):
    __tablename__ = "person_notes"
    __table_args__ = (
        CheckConstraint("kind IN ('note', 'incident')", name="note_kind"),
        CheckConstraint(f"length(text) >= 1 AND length(text) <= {NOTE_MAX_LENGTH}",
                        name="note_text_length"),
        Index("ix_person_notes_person_at", "person_id", "at"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"))
    at: Mapped[datetime] = mapped_column(default=utcnow)  # naive UTC, like every *_at
    author_id: Mapped[int] = mapped_column(ForeignKey("users.id"))
    kind: Mapped[str] = mapped_column(String(10), default="note")
    text: Mapped[str] = mapped_column(Text)
    night: Mapped[date | None] = mapped_column(Date)  # the night it is about, if any

    author: Mapped[User] = relationship()
