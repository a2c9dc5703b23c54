"""Staff's dated notes and incident log on a person's record.

Append-only: there is no edit or delete; a correction is a new note. Only staff pages call
these functions (partners never see notes). Adding a note is audited; reading them is part
of the person page's audited view."""
from __future__ import annotations

from dataclasses import dataclass, field
from datetime import date

from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from shelter import clock
from shelter.i18n import _
from shelter.models import Person, PersonNote, User
from shelter.models.notes import NOTE_KINDS, NOTE_MAX_LENGTH
from shelter.services import audit


@dataclass
class NoteError(ValueError):
    """A note that cannot be saved; `errors` maps form field names to reasons."""

    errors: dict[str, str] = field(default_factory=dict)

    def __str__(self) -> str:
        return "; ".join(f"{k}: {v}" for k, v in self.errors.items())


def add_note(session: Session, person: Person, *, kind: str, text: str, night: date | None,
             user: User) -> PersonNote:
    """Append a note (or incident) by `user` to the person's log, audited. Raises NoteError
    for an empty or too long text, an unknown kind or a night after tonight."""
    text = (text or "").strip()
    errors: dict[str, str] = {}
    if kind not in NOTE_KINDS:
        errors["kind"] = _("Choose note or incident.")
    if not text:
        errors["text"] = _("Write the note: it cannot be empty.")
    elif len(text) > NOTE_MAX_LENGTH:
        errors["text"] = _("A note can be at most %(max)s characters; this one has %(length)s.",
                           max=NOTE_MAX_LENGTH, length=len(text))
    if night is not None and night > clock.tonight():
        errors["night"] = _("The night cannot be after tonight.")
    if errors:
        raise NoteError(errors)
    note = PersonNote(person_id=person.id, kind=kind, text=text, night=night, author_id=user.id)
    session.add(note)
    session.flush()
    audit.record(session, user, "note", person.id, f"{kind} #{note.id} added")
    return note


def notes_of(session: Session, person_id: int) -> list[PersonNote]:
    """The person's notes, newest first, with their authors (one query)."""
    return list(session.scalars(
        select(PersonNote).options(joinedload(PersonNote.author))
        .where(PersonNote.person_id == person_id)
        .order_by(PersonNote.at.desc(), PersonNote.id.desc())))
