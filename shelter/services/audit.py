"""The append-only audit trail: every view or change of a person's record. One writer.

A change is written in the transaction that makes it (it is rolled back with it). A read
("view...", "list") or a security event ("security.<what>": log-ins, failed log-ins,
log-outs, second-factor changes, user, role and organisation changes, API tokens) inside a
web request is kept aside and written in a transaction of its own once the request's work
is over (``write_reads``), so it survives an error answer (a failed log-in answers 422),
and a page that only reads never takes a write lock for its audit rows."""
from __future__ import annotations

from collections.abc import Iterable
from typing import Any

from flask import g, has_request_context
from flask_login import current_user
from sqlalchemy import ColumnElement, exists, or_, select
from sqlalchemy.orm import Session, aliased

from shelter.models import AuditEvent, AuditEventPerson, utcnow


def current_actor() -> Any:
    """The logged-in user inside a request; None (written as 'system') in CLI commands,
    demo seeding and scheduled jobs."""
    if has_request_context() and current_user.is_authenticated:
        return current_user
    return None


def record(session: Session, actor: Any, action: str,
           people: int | None | Iterable[int | None], detail: str = "") -> None:
    """Write one audit event: naming the one person shown or changed (``person_id``), or
    several (one event plus a row per person in ``audit_event_people``: find a person's
    events with ``naming``), or nobody (e.g. an allocation run).
    `actor` is a User or an API token's actor; None means the logged-in user inside a
    request and 'system' outside one. Nothing is written for an empty list of people."""
    actor = actor if actor is not None else current_actor()
    ids = [people] if people is None or isinstance(people, int) else list(people)
    if not ids:
        return
    now = utcnow()
    if is_read(action) and has_request_context() and g.get("audit_reads") is not None:
        g.audit_reads.append((actor, action, ids, detail, now))
        return
    _insert(session, actor, action, ids, detail, now)


def naming(person_id: Any) -> ColumnElement[bool]:
    """The audit events that name this person: alone (person_id) or among others.

    For one person (an int): one UNION of the two indexed look-ups: with an OR of them
    PostgreSQL reads the whole trail (`python -m bench.audit`, 300,000 events, a busy 2-core
    machine: a person's trail page 173 ms with the OR, 54 ms with the UNION; SQLite 23 ms and
    9 ms). For a column of an outer query (e.g. ``Person.id`` in an EXISTS): the correlated
    form, since a UNION subquery would not be correlated with the outer row."""
    if isinstance(person_id, int):
        alone = aliased(AuditEvent)
        return AuditEvent.id.in_(
            select(alone.id).where(alone.person_id == person_id)
            .union(select(AuditEventPerson.event_id)
                   .where(AuditEventPerson.person_id == person_id)))
    return or_(AuditEvent.person_id == person_id, exists().where(
        AuditEventPerson.event_id == AuditEvent.id, AuditEventPerson.person_id == person_id))


def is_read(action: str) -> bool:
    """Kept whatever the request's outcome: reads and security events."""
    return action == "list" or action.startswith(("view", SECURITY))


#: The prefix of security events' actions ("security.login_failed", ...).
SECURITY = "security."


def _insert(session: Session, actor: Any, action: str, ids: list[int | None], detail: str,
            now: Any) -> None:
    who = {"user_id": getattr(actor, "id", None),
           "username": getattr(actor, "username", "system"),
           "role": str(getattr(actor, "role", "system")),
           "organisation_id": getattr(actor, "organisation_id", None)}
    named = list(dict.fromkeys(pid for pid in ids if pid is not None))
    if len(named) <= 1:
        session.execute(AuditEvent.__table__.insert(), {
            **who, "person_id": named[0] if named else None, "action": action,
            "detail": detail, "at": now})
        return
    # One event naming many people (a board view, a confirmed run): the event, then who.
    event_id = session.execute(AuditEvent.__table__.insert().returning(AuditEvent.id), {
        **who, "person_id": None, "action": action, "detail": detail, "at": now}).scalar_one()
    session.execute(AuditEventPerson.__table__.insert(),
                    [{"event_id": event_id, "person_id": pid} for pid in named])


def keep_reads() -> None:
    """From now on this request's reads are kept aside until ``write_reads`` (the web
    request's dispatch calls both)."""
    g.audit_reads = []


def forget_reads() -> None:
    """A request's work is run again (a retried unit of work): its reads are recorded anew."""
    if has_request_context() and g.get("audit_reads") is not None:
        g.audit_reads = []


def write_reads(session: Session) -> None:
    """Write the reads this request kept aside (after its own transaction ended, whether it
    committed, rolled back or raised), in one transaction of their own."""
    reads = g.pop("audit_reads", None) if has_request_context() else None
    if not reads:
        return
    from shelter.database import unit_of_work

    def write() -> None:
        for actor, action, ids, detail, now in reads:
            _insert(session, actor, action, ids, detail, now)

    unit_of_work(session, write)
