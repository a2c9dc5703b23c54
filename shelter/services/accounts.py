"""Accounts: organisations, users and partner quotas. Used by the admin pages and the
`flask create-user` command. Functions flush, never commit.

Every rule that can fail raises FieldError(field, message): the form shows the message
beside that field, the CLI prints it as one line."""
from __future__ import annotations

import re
from collections.abc import Iterable
from typing import Any

from sqlalchemy import func, select
from zxcvbn import zxcvbn
from sqlalchemy.orm import Session, selectinload

from shelter.auth import hash_password, verify_password
from shelter.i18n import _
from shelter.models import Organisation, OrgKind, Quota, Role, Site, User
from shelter.models.accounts import new_session_token
from shelter.services.audit_log import security
from shelter.services.notifications import WebhookInputError, check_webhook_url, new_webhook_secret

MIN_PASSWORD = 12
MIN_SCORE = 3  # zxcvbn: 3 is 'safely unguessable' for an online attack


class FieldError(ValueError):
    """Bad input for one field; `field` names the form field the message belongs beside."""

    def __init__(self, field: str, message: str) -> None:
        super().__init__(f"{field}: {message}")
        self.field = field
        self.message = message


# --- organisations ----------------------------------------------------------------------

def list_organisations(session: Session) -> list[Organisation]:
    return list(session.scalars(select(Organisation).order_by(Organisation.name)))


def save_organisation(session: Session, org: Organisation | None, *, name: str,
                      kind: OrgKind | str, active: bool = True, contact_email: str | None = None,
                      webhook_url: str | None = None) -> Organisation:
    """Create (org None) or update an organisation. Raises FieldError('name') when another
    organisation already has that name (names are how partners are told apart), and
    FieldError('contact_email' / 'webhook_url') for an address that cannot be used. A new
    webhook address without a secret gets one (shown by rotate_webhook_secret's page)."""
    name = name.strip()
    if not name:
        raise FieldError("name", _("Give the organisation a name."))
    email = (contact_email or "").strip() or None
    if email and not re.fullmatch(r"[^@\s]+@[^@\s]+\.[^@\s]+", email):
        raise FieldError("contact_email", _("Give an e-mail address like name@example.org."))
    url = (webhook_url or "").strip() or None
    if url:
        try:
            url = check_webhook_url(url)
        except WebhookInputError as exc:
            raise FieldError("webhook_url", str(exc)) from exc
    clash = session.scalar(
        select(Organisation).where(func.lower(Organisation.name) == name.lower()))
    if clash is not None and clash is not org:
        raise FieldError("name", _("There is already an organisation called '%(name)s'.",
                                   name=clash.name))
    before = None if org is None else _org_facts(org)
    if org is None:
        org = Organisation(name=name, kind=OrgKind(kind), active=active)
        session.add(org)
    else:
        org.name, org.kind, org.active = name, OrgKind(kind), active
    org.contact_email, org.webhook_url = email, url
    session.flush()
    _record_organisation(session, org, before)
    return org


def _org_facts(org: Organisation) -> dict[str, str]:
    return {"name": org.name, "kind": org.kind.value, "contact_email": org.contact_email or "",
            "webhook_url": org.webhook_url or "", "active": "yes" if org.active else "no"}


def _record_organisation(session: Session, org: Organisation,
                         before: dict[str, str] | None) -> None:
    """Security events for an organisation saved: created, or which fields changed
    (old -> new), and deactivated / reactivated on their own."""
    after = _org_facts(org)
    if before is None:
        security(session, "security.organisation_created",
                 f"organisation #{org.id} {org.name}: kind {after['kind']}, "
                 f"active {after['active']}")
        return
    changed = _changes(before, after, skip=("active",), unsaid=("webhook_url",))
    if changed:
        security(session, "security.organisation_changed",
                 f"organisation #{org.id} {org.name}: {changed}")
    if before["active"] != after["active"]:
        security(session, "security.organisation_deactivated" if not org.active
                 else "security.organisation_reactivated",
                 f"organisation #{org.id} {org.name}")


def _changes(before: dict[str, str], after: dict[str, str], skip: tuple[str, ...] = (),
             unsaid: tuple[str, ...] = ()) -> str:
    """'role: intake -> manager; active: yes -> no' for the fields that differ; an
    `unsaid` field (a webhook address may carry a key) is only said to be set, changed or
    removed, since the audit trail is kept for ever."""
    def said(key: str) -> str:
        if key not in unsaid:
            return f"{key}: {before[key] or '-'} -> {after[key] or '-'}"
        return f"{key}: " + ("set" if not before[key] else "removed" if not after[key]
                             else "changed")
    return "; ".join(said(key) for key in after
                     if key not in skip and before.get(key) != after[key])


def rotate_webhook_secret(session: Session, org: Organisation) -> str:
    """A new signing secret for the organisation's webhooks; the old one stops working at
    once. Returned so the admin can copy it: it is never shown again."""
    org.webhook_secret = new_webhook_secret()
    session.flush()
    security(session, "security.webhook_secret_rotated",
             f"organisation #{org.id} {org.name}: new webhook signing secret")
    return org.webhook_secret


# --- users ------------------------------------------------------------------------------

def list_users(session: Session) -> list[User]:
    """All users with organisation and sites loaded (no query per row on the list page)."""
    return list(session.scalars(
        select(User).options(selectinload(User.organisation), selectinload(User.sites))
        .order_by(User.active.desc(), User.role, User.username)
    ))


def check_password(password: str, *personal: str) -> None:
    """The password policy: at least MIN_PASSWORD characters and not easy to guess (zxcvbn
    score 3 or more: common passwords, keyboard walks, names, dates and the person's own
    username all score low). Raises FieldError('password')."""
    if len(password) < MIN_PASSWORD:
        raise FieldError("password", _("Use at least %(min)s characters.", min=MIN_PASSWORD))
    # zxcvbn's work grows with length; the first 100 characters decide well enough.
    words = [w for p in personal for w in (p, *re.split(r"\W+", p)) if w]
    result = zxcvbn(password[:100], user_inputs=words)
    if result["score"] < MIN_SCORE:
        raise FieldError("password", _too_easy(result))


def _too_easy(result: dict[str, Any]) -> str:
    """Why zxcvbn finds the password weak, in our own translated sentences (its feedback
    text is English only): worded after the longest pattern it recognised."""
    matches = result.get("sequence") or []
    longest = max(matches, key=lambda m: len(m.get("token", "")), default={})
    pattern, dictionary = longest.get("pattern"), longest.get("dictionary_name")
    if pattern == "dictionary" and dictionary == "user_inputs":
        return _("This password is too easy to guess: it contains your own name or username. "
                 "Try a few unrelated words.")
    if pattern == "dictionary" and dictionary in ("surnames", "male_names", "female_names"):
        return _("This password is too easy to guess: it is mostly a common name. Try a few "
                 "unrelated words.")
    if pattern == "dictionary" and dictionary in ("english_wikipedia", "us_tv_and_film"):
        return _("This password is too easy to guess: it is mostly a common word. Try a few "
                 "unrelated words.")
    if pattern == "spatial":
        return _("This password is too easy to guess: it is a row or pattern of keys on the "
                 "keyboard. Try a few unrelated words.")
    if pattern == "repeat":
        return _("This password is too easy to guess: it repeats characters or words. Try a "
                 "few unrelated words.")
    if pattern == "sequence":
        return _("This password is too easy to guess: it is a sequence like abc or 6543. Try "
                 "a few unrelated words.")
    if pattern in ("date", "regex"):
        return _("This password is too easy to guess: it is mostly a date or a year. Try a "
                 "few unrelated words.")
    return _("This password is too easy to guess: it is a common password or close to one. "
             "Try a few unrelated words.")


def _check_role(role: Role | str, organisation: Organisation | None) -> Role:
    try:
        role = Role(role)
    except ValueError:
        raise FieldError("role", _("Choose one of: %(roles)s",
                                   roles=", ".join(r.value for r in Role))) from None
    # Partners see only their own organisation's data, so a partner must belong to one.
    if role is Role.PARTNER and organisation is None:
        raise FieldError("organisation", _("A partner user needs an organisation."))
    return role


def create_user(session: Session, *, username: str, display_name: str, role: Role | str,
                password: str, organisation: Organisation | None = None,
                sites: Iterable[Site] = (), via: str = "") -> User:
    """Create a user with an argon2id password hash (a security event; `via`: the command
    that asked, outside a request). Raises FieldError for a taken or malformed username,
    a short password, or a partner without an organisation."""
    username = username.strip()
    if not username or len(username) > 80 or any(c.isspace() for c in username):
        raise FieldError("username", _("Use 1-80 characters without spaces."))
    if session.scalar(select(User.id).where(func.lower(User.username) == username.lower())):
        raise FieldError("username", _("The username '%(username)s' is taken.",
                                       username=username))
    role = _check_role(role, organisation)
    check_password(password, username, display_name)
    user = User(username=username, display_name=display_name.strip() or username, role=role,
                organisation=organisation, password_hash=hash_password(password),
                sites=list(sites) if role is Role.INTAKE else [])
    session.add(user)
    session.flush()
    facts = _user_facts(user)
    security(session, "security.user_created",
             f"user {user.username} (#{user.id}): role {facts['role']}, organisation "
             f"{facts['organisation'] or '-'}, sites {facts['sites'] or '-'}", via=via)
    return user


def _user_facts(user: User) -> dict[str, str]:
    return {"display_name": user.display_name, "role": user.role.value,
            "organisation": user.organisation.name if user.organisation else "",
            "sites": ", ".join(sorted(s.name for s in user.sites)),
            "active": "yes" if user.active else "no"}


def update_user(session: Session, user: User, *, display_name: str, role: Role | str,
                organisation: Organisation | None, sites: Iterable[Site], active: bool,
                acting: User | None = None) -> User:
    """Change a user's details. Deactivating (or changing the role of) a user rotates their
    session token, so they are logged out at once. Raises FieldError when an admin would
    lock themselves out."""
    role = _check_role(role, organisation)
    if acting is not None and acting.id == user.id and (not active or role is not Role.ADMIN):
        raise FieldError("active" if not active else "role",
                         _("You cannot remove your own admin access; ask another admin."))
    if not active or role is not user.role or organisation is not user.organisation:
        user.session_token = new_session_token()
    before, old_sites = _user_facts(user), {s.id: s.name for s in user.sites}
    user.display_name = display_name.strip() or user.username
    user.role, user.organisation, user.active = role, organisation, active
    user.sites = list(sites) if role is Role.INTAKE else []
    session.flush()
    _record_user_change(session, user, before, old_sites)
    return user


def _record_user_change(session: Session, user: User, before: dict[str, str],
                        old_sites: dict[int, str]) -> None:
    """Security events for a user saved by an admin: fields changed (old -> new), sites
    granted or taken away, deactivated / reactivated, each on its own."""
    after, who = _user_facts(user), f"user {user.username} (#{user.id})"
    changed = _changes(before, after, skip=("active", "sites"))
    if changed:
        security(session, "security.user_changed", f"{who}: {changed}")
    new_sites = {s.id: s.name for s in user.sites}
    granted = sorted(name for i, name in new_sites.items() if i not in old_sites)
    removed = sorted(name for i, name in old_sites.items() if i not in new_sites)
    if granted or removed:
        parts = ([f"sites granted: {', '.join(granted)}"] if granted else []) + \
                ([f"sites removed: {', '.join(removed)}"] if removed else [])
        security(session, "security.user_sites_changed", f"{who}: {'; '.join(parts)}")
    if before["active"] != after["active"]:
        security(session, "security.user_deactivated" if not user.active
                 else "security.user_reactivated", who)


def set_password(session: Session, user: User, password: str, *,
                 must_change: bool = False) -> None:
    """Set a new password and log the user out everywhere; `must_change` (an admin's
    reset) asks for a password of their own at the next log-in. Raises
    FieldError('password')."""
    check_password(password, user.username, user.display_name)
    user.password_hash = hash_password(password)
    user.session_token = new_session_token()
    user.must_change_password = must_change
    session.flush()


def change_own_password(session: Session, user: User, current: str, new: str) -> None:
    """A user changes their own password: the current one must be right, the new one must
    pass the policy and differ from it. Other sessions end; the caller logs this one in
    again. Raises FieldError('current') or FieldError('password')."""
    if not verify_password(user, current):
        raise FieldError("current", _("That is not your current password."))
    if new == current:
        raise FieldError("password", _("Choose a password different from the current one."))
    set_password(session, user, new)


def reset_password(session: Session, user: User, password: str, *,
                   must_change: bool = True) -> None:
    """An admin sets `user`'s password (recorded as a security event); with `must_change`
    the user chooses their own at the next log-in. Raises FieldError('password')."""
    set_password(session, user, password, must_change=must_change)
    security(session, "security.password_reset",
             f"user {user.username} (#{user.id}): password set by an admin; must choose "
             f"their own at the next log-in: {'yes' if must_change else 'no'}")


def force_password_change(session: Session, user: User) -> None:
    """An admin asks `user` for a new password at the next log-in; their sessions end now."""
    user.must_change_password = True
    user.session_token = new_session_token()
    session.flush()
    security(session, "security.password_change_forced",
             f"user {user.username} (#{user.id}): must choose a new password at the next "
             "log-in; logged out everywhere")


# --- quotas -----------------------------------------------------------------------------

def quota_grid(session: Session) -> dict[tuple[int, int], int]:
    """{(organisation id, site id): holds per night} for every quota set."""
    return {(q.organisation_id, q.site_id): q.per_night for q in session.scalars(select(Quota))}


def save_quotas(session: Session, values: dict[tuple[int, int], int | None]) -> int:
    """Set many quotas at once; None or 0 removes a quota (no pre-booking there).
    Returns how many changed. Raises FieldError for a negative number."""
    existing = {(q.organisation_id, q.site_id): q for q in session.scalars(select(Quota))}
    changed = 0
    for (org_id, site_id), per_night in values.items():
        if per_night is not None and per_night < 0:
            raise FieldError(f"q-{org_id}-{site_id}", _("Use 0 or more."))
        quota = existing.get((org_id, site_id))
        if not per_night:
            if quota is not None:
                session.delete(quota)
                changed += 1
        elif quota is None:
            session.add(Quota(organisation_id=org_id, site_id=site_id, per_night=per_night))
            changed += 1
        elif quota.per_night != per_night:
            quota.per_night = per_night
            changed += 1
    session.flush()
    return changed
