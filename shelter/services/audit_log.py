"""Reading the audit trail, and the security events written to it.

Security events are audit events whose action starts with ``security.`` (audit.SECURITY):
who created, changed or deactivated a user or an organisation, reset a password, granted
sites, made or revoked an API token, and (the log-in pages) log-ins, failed log-ins,
log-outs and second-factor changes. ``security`` writes one; ``security_events`` and
``person_trail`` read the trail for the admin pages, filtered and paginated in SQL."""
from __future__ import annotations

from dataclasses import dataclass
from datetime import date, timedelta
from typing import Any

from flask import has_request_context
from sqlalchemy import ColumnElement, Select, func, select
from sqlalchemy.orm import Session

from shelter import clock
from shelter.i18n import _l
from shelter.models import AuditEvent
from shelter.services import audit

#: The security actions an admin can filter by, worded (code -> lazy label). Actions found
#: in the trail but not named here (a newer kind) are offered too, by their code.
SECURITY_ACTIONS: dict[str, Any] = {
    "security.login": _l("Logged in"),
    "security.login_failed": _l("Failed log-in"),
    "security.logout": _l("Logged out"),
    "security.password_changed": _l("Changed own password"),
    "security.mfa_enabled": _l("Second factor turned on"),
    "security.mfa_disabled": _l("Second factor turned off"),
    "security.mfa_reset": _l("Second factor reset by an admin"),
    "security.user_created": _l("User created"),
    "security.user_changed": _l("User changed"),
    "security.user_sites_changed": _l("User's sites changed"),
    "security.user_deactivated": _l("User deactivated"),
    "security.user_reactivated": _l("User reactivated"),
    "security.password_reset": _l("Password set by an admin"),
    "security.password_change_forced": _l("New password required by an admin"),
    "security.organisation_created": _l("Organisation created"),
    "security.organisation_changed": _l("Organisation changed"),
    "security.organisation_deactivated": _l("Organisation deactivated"),
    "security.organisation_reactivated": _l("Organisation reactivated"),
    "security.webhook_secret_rotated": _l("Webhook secret replaced"),
    "security.token_created": _l("API token created"),
    "security.token_revoked": _l("API token revoked"),
    "security.mfa_failed": _l("Wrong second-factor code while setting it up"),
    "security.recovery_code_used": _l("Recovery code used"),
}

PER_PAGE = 100


def security(session: Session, action: str, detail: str, *, actor: Any = None,
             via: str = "") -> None:
    """Write a security event (no person named). `actor` None is the logged-in user inside
    a web request and 'system' outside one; outside a request the detail says so, naming
    the command (`via`) when known: 'via the command line (flask create-token)'."""
    assert action.startswith(audit.SECURITY), action
    if not has_request_context() and actor is None:
        detail += f"; via the command line ({via})" if via else "; via the command line"
    audit.record(session, actor, action, None, detail)


def action_label(code: str) -> str:
    """A security action worded; other actions (view, update ...) stay their code."""
    label = SECURITY_ACTIONS.get(code)
    return str(label) if label is not None else code


# --- reading ----------------------------------------------------------------------------

@dataclass(frozen=True)
class AuditFilter:
    """What an admin narrowed the trail to: one action, one username (any case), and local
    calendar dates from `start` through `end` (both included); None means any."""

    action: str | None = None
    username: str | None = None
    start: date | None = None
    end: date | None = None

    def where(self) -> list[ColumnElement[bool]]:
        conditions: list[ColumnElement[bool]] = []
        if self.action:
            conditions.append(AuditEvent.action == self.action)
        if self.username:
            conditions.append(func.lower(AuditEvent.username) == self.username.strip().lower())
        if self.start is not None:
            conditions.append(AuditEvent.at >= clock.local_midnight(self.start))
        if self.end is not None:
            conditions.append(AuditEvent.at < clock.local_midnight(self.end + timedelta(days=1)))
        return conditions


@dataclass(frozen=True)
class Page:
    """One page of events, newest first; `number` counts from 1."""

    events: list[AuditEvent]
    number: int
    has_next: bool

    @property
    def has_previous(self) -> bool:
        return self.number > 1


def _page(session: Session, stmt: Select[tuple[AuditEvent]], number: int,
          per_page: int = PER_PAGE) -> Page:
    number = max(1, number)
    rows = list(session.scalars(
        stmt.order_by(AuditEvent.at.desc(), AuditEvent.id.desc())
        .offset((number - 1) * per_page).limit(per_page + 1)))
    return Page(rows[:per_page], number, len(rows) > per_page)


def _is_security() -> ColumnElement[bool]:
    return AuditEvent.action.startswith(audit.SECURITY, autoescape=True)


def security_action_codes(session: Session) -> list[str]:
    """The security actions to offer in the filter: the named ones, then any other found in
    the trail (sorted)."""
    found = set(session.scalars(select(AuditEvent.action).where(_is_security()).distinct()))
    return list(SECURITY_ACTIONS) + sorted(found - set(SECURITY_ACTIONS))


def security_events(session: Session, filt: AuditFilter, page: int = 1,
                    per_page: int = PER_PAGE) -> Page:
    """Security events matching the filter, newest first, one page."""
    stmt = select(AuditEvent).where(_is_security(), *filt.where())
    return _page(session, stmt, page, per_page)


def person_action_codes(session: Session, person_id: int) -> list[str]:
    """The actions found in this person's trail (for the filter), sorted."""
    return sorted(session.scalars(
        select(AuditEvent.action).where(audit.naming(person_id)).distinct()))


def person_trail(session: Session, person_id: int, filt: AuditFilter, page: int = 1,
                 per_page: int = PER_PAGE) -> Page:
    """Events naming this person (alone or among others, e.g. a board view), filtered,
    newest first, one page."""
    stmt = select(AuditEvent).where(audit.naming(person_id), *filt.where())
    return _page(session, stmt, page, per_page)
