"""API bearer tokens for partner organisations' own systems.

Only a token's SHA-256 is stored, with a short prefix so an admin can name a token to
revoke it without ever seeing it again. A token is shown once, when it is created."""
from __future__ import annotations

import hashlib
import secrets
from dataclasses import dataclass

from sqlalchemy import select
from sqlalchemy.orm import Session

from shelter.i18n import _
from shelter.models import ApiToken, Organisation, Role, utcnow
from shelter.services.audit_log import security

PREFIX_LENGTH = 8


class TokenError(ValueError):
    """The organisation or token named does not exist (message says which)."""


@dataclass(frozen=True)
class ApiActor:
    """Who an API call acts as, shaped like a User for the audit trail:
    username 'api:<org name>', role partner, the organisation's id, no user id."""

    organisation_id: int
    organisation_name: str
    id: None = None

    @property
    def username(self) -> str:
        return f"api:{self.organisation_name}"

    @property
    def role(self) -> Role:
        return Role.PARTNER


def _digest(raw: str) -> str:
    return hashlib.sha256(raw.encode()).hexdigest()


def create_token(session: Session, organisation_name: str, label: str = "", *,
                 via: str = "") -> str:
    """Make a new token for the organisation and return it (the only time it is visible);
    a security event names its prefix (`via`: the command that asked, outside a request).
    Raises TokenError when no organisation has that name."""
    org = session.scalar(select(Organisation).where(Organisation.name == organisation_name))
    if org is None:
        raise TokenError(_("no organisation named '%(name)s'", name=organisation_name))
    raw = "shb_" + secrets.token_urlsafe(32)
    session.add(ApiToken(organisation_id=org.id, token_hash=_digest(raw),
                         prefix=raw[:PREFIX_LENGTH], label=label))
    session.flush()
    security(session, "security.token_created",
             f"organisation #{org.id} {org.name}: token {raw[:PREFIX_LENGTH]}"
             + (f" ({label})" if label else ""), via=via)
    return raw


def revoke_token(session: Session, prefix: str, *, via: str = "") -> int:
    """Revoke every live token starting with `prefix`; returns how many.
    Raises TokenError when none matches (a prefix shorter than the stored one is refused
    too, so one short string cannot revoke many organisations' tokens by accident)."""
    if len(prefix) < PREFIX_LENGTH:
        raise TokenError(_("give the whole prefix (%(num)d characters) shown by create-token",
                           num=PREFIX_LENGTH))
    tokens = list(session.scalars(select(ApiToken).where(
        ApiToken.prefix == prefix[:PREFIX_LENGTH], ApiToken.revoked_at.is_(None))))
    if not tokens:
        raise TokenError(_("no live token with prefix '%(prefix)s'", prefix=prefix))
    for token in tokens:
        revoke(session, token, via=via)
    return len(tokens)


def revoke(session: Session, token: ApiToken, *, via: str = "") -> bool:
    """Revoke one token (the admin page's button); False when it was revoked already."""
    if token.revoked_at is not None:
        return False
    token.revoked_at = utcnow()
    session.flush()
    org = session.get(Organisation, token.organisation_id)
    security(session, "security.token_revoked",
             f"organisation #{token.organisation_id} {org.name if org else ''}: "
             f"token {token.prefix}" + (f" ({token.label})" if token.label else ""), via=via)
    return True


def list_tokens(session: Session, organisation_id: int) -> list[ApiToken]:
    """The organisation's tokens, live ones first, newest first (prefixes only: a token
    itself is never stored)."""
    return list(session.scalars(
        select(ApiToken).where(ApiToken.organisation_id == organisation_id)
        .order_by(ApiToken.revoked_at.is_not(None), ApiToken.created_at.desc(),
                  ApiToken.id.desc())))


def actor_for_token(session: Session, raw: str | None) -> ApiActor | None:
    """The organisation a live token belongs to, or None (unknown, revoked, or the
    organisation is inactive)."""
    if not raw:
        return None
    row = session.execute(
        select(Organisation.id, Organisation.name)
        .join(ApiToken, ApiToken.organisation_id == Organisation.id)
        .where(ApiToken.token_hash == _digest(raw), ApiToken.revoked_at.is_(None),
               Organisation.active.is_(True))
    ).first()
    return None if row is None else ApiActor(row.id, row.name)
