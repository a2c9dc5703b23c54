"""The second factor: TOTP codes (RFC 6238: 6 digits, 30-second steps, an authenticator app)
and one-time recovery codes, plus the log-in side's security events. Functions flush,
never commit.

- Enrolment: `start_enrolment` gives the user a secret (kept on the user row, not yet in
  force); `confirm_enrolment` puts it in force once the user types a current code, and
  returns new recovery codes, the only time they are ever shown.
- Log-in: `check_second_factor` accepts a current TOTP code (one step of clock drift either
  side) or an unused recovery code. A TOTP code is refused a second time: the time-step it
  belongs to is stored (`users.totp_last_step`) and only a later step is accepted, claimed
  with one conditional UPDATE so two requests racing with the same code cannot both pass.
- Recovery codes are stored as a salted SHA-256 (they are random, about 50 bits each, so a
  slow hash adds nothing); using one sets `used_at`, again with a conditional UPDATE.
- Security events go through `audit.record` with an action "security.<what>" and a detail
  of `key=value` pairs (written even when the answer is an error: services.audit)."""
from __future__ import annotations

import hashlib
import hmac
import re
import secrets
import time
from typing import Any

import pyotp
import segno
from flask import current_app
from sqlalchemy import delete, func, select, update
from sqlalchemy.orm import Session
from sqlalchemy.orm.attributes import set_committed_value

from shelter.i18n import _
from shelter.models import RecoveryCode, User, utcnow
from shelter.models.accounts import new_session_token
from shelter.services import audit
from shelter.services.accounts import FieldError

STEP = 30  # seconds per TOTP code
DRIFT = 1  # steps accepted either side of now (a phone's clock a little off)
RECOVERY_CODES = 10
_ALPHABET = "abcdefghjkmnpqrstuvwxyz23456789"  # no 0/o, 1/l/i to misread
_SIX_DIGITS = re.compile(r"\d{6}")


# --- security events --------------------------------------------------------------------

def security_event(session: Session, actor: Any, what: str, **detail: object) -> None:
    """Record "security.<what>" with `detail` as `key=value` pairs (usernames cut to 80
    characters, spaces in values replaced, so the pairs stay readable and parseable)."""
    text = " ".join(f"{key}={_clean(value)}" for key, value in detail.items())
    audit.record(session, actor, f"{audit.SECURITY}{what}", None, text)


def _clean(value: object) -> str:
    return re.sub(r"\s", "_", str(value).strip())[:80] or "-"


# --- enrolment --------------------------------------------------------------------------

def is_enabled(user: User) -> bool:
    return user.mfa_enabled_at is not None


def start_enrolment(session: Session, user: User) -> str:
    """The secret the user is setting up: a new one, or the one already started (so reloading
    the page keeps the QR code the app scanned). Raises ValueError when MFA is already on."""
    if is_enabled(user):
        raise ValueError("the second factor is already set up")
    if user.totp_secret is None:
        user.totp_secret = pyotp.random_base32()  # 160 bits, as RFC 4226 recommends
        session.flush()
    return user.totp_secret


def provisioning_uri(user: User, secret: str) -> str:
    """The otpauth:// address the QR code carries (issuer: this instance and its city)."""
    issuer = f"Shelter beds {current_app.config.get('CITY', '')}".strip()
    return pyotp.TOTP(secret).provisioning_uri(name=user.username, issuer_name=issuer)


def qr_data_uri(uri: str) -> str:
    """The QR code as an SVG data: URI for an <img> (drawn here, nothing fetched from
    elsewhere; the CSP allows data: images and no inline style)."""
    return str(segno.make(uri, error="m").svg_data_uri(scale=5, border=4, dark="#000",
                                                       light="#fff"))


def grouped(secret: str) -> str:
    """The secret in groups of four, for typing into an app by hand."""
    return " ".join(secret[i:i + 4] for i in range(0, len(secret), 4))


def confirm_enrolment(session: Session, user: User, code: str) -> list[str]:
    """Put the started secret in force when `code` is current for it; returns the new
    recovery codes (shown once). Raises FieldError('code') for a wrong code (recorded as
    security.mfa_failed)."""
    if user.totp_secret is None or is_enabled(user):
        raise FieldError("code", _("Start the set-up again: open this page anew."))
    if _claim_totp(session, user, code) is None:
        security_event(session, user, "mfa_failed", username=user.username, reason="enrol")
        raise FieldError("code", wrong_code_message())
    user.mfa_enabled_at = utcnow()
    codes = new_recovery_codes(session, user)
    security_event(session, user, "mfa_enabled", username=user.username)
    return codes


def wrong_code_message() -> str:
    return _("That code is not right. Type the 6-digit code your app shows now.")


# --- recovery codes ---------------------------------------------------------------------

def new_recovery_codes(session: Session, user: User) -> list[str]:
    """RECOVERY_CODES new one-time codes ("abcde-fghjk"); the old ones stop working."""
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    codes = ["".join(secrets.choice(_ALPHABET) for _i in range(10))
             for _n in range(RECOVERY_CODES)]
    for code in codes:
        salt = secrets.token_hex(16)
        session.add(RecoveryCode(user_id=user.id, salt=salt, code_hash=_hash(salt, code)))
    session.flush()
    return [f"{code[:5]}-{code[5:]}" for code in codes]


def regenerate_recovery_codes(session: Session, user: User, code: str) -> list[str]:
    """New recovery codes for a user with MFA on, who proves it with a current TOTP code.
    Raises FieldError('code')."""
    if not is_enabled(user) or _claim_totp(session, user, code) is None:
        security_event(session, user, "mfa_failed", username=user.username,
                       reason="recovery_codes")
        raise FieldError("code", wrong_code_message())
    return new_recovery_codes(session, user)


def recovery_codes_left(session: Session, user: User) -> int:
    return int(session.scalar(select(func.count()).select_from(RecoveryCode).where(
        RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))) or 0)


def _hash(salt: str, code: str) -> str:
    return hashlib.sha256(f"{salt}:{code}".encode()).hexdigest()


def _normal(code: str) -> str:
    return re.sub(r"[\s-]", "", code).lower()


# --- log-in -----------------------------------------------------------------------------

def check_second_factor(session: Session, user: User, code: str) -> str | None:
    """"totp" or "recovery_code" when `code` is a current, unused TOTP code or an unused
    recovery code (which is then used up: security.recovery_code_used), else None."""
    code = code.strip()
    if _SIX_DIGITS.fullmatch(code.replace(" ", "")):
        return "totp" if _claim_totp(session, user, code) is not None else None
    wanted = _normal(code)
    if not wanted:
        return None
    for row in session.scalars(select(RecoveryCode).where(
            RecoveryCode.user_id == user.id, RecoveryCode.used_at.is_(None))):
        if hmac.compare_digest(row.code_hash, _hash(row.salt, wanted)):
            claimed = session.execute(
                update(RecoveryCode).where(RecoveryCode.id == row.id,
                                           RecoveryCode.used_at.is_(None))
                .values(used_at=utcnow()).execution_options(synchronize_session=False))
            if claimed.rowcount != 1:  # type: ignore[attr-defined]
                return None  # another request used it a moment ago
            security_event(session, user, "recovery_code_used", username=user.username,
                           left=recovery_codes_left(session, user))
            return "recovery_code"
    return None


def _claim_totp(session: Session, user: User, code: str) -> int | None:
    """The time-step `code` is valid for (now, or one step either side) if it is later than
    the last step used, claimed for this user; None otherwise (wrong, or a replay)."""
    code = code.replace(" ", "")
    if user.totp_secret is None or not _SIX_DIGITS.fullmatch(code):
        return None
    totp = pyotp.TOTP(user.totp_secret)
    now_step = int(_now() // STEP)
    for step in (now_step, now_step - 1, now_step + 1):
        if user.totp_last_step is not None and step <= user.totp_last_step:
            continue
        if not hmac.compare_digest(totp.at(step * STEP), code):
            continue
        last = User.totp_last_step
        claimed = session.execute(
            update(User).where(User.id == user.id, (last.is_(None)) | (last < step))
            .values(totp_last_step=step).execution_options(synchronize_session=False))
        if claimed.rowcount != 1:  # type: ignore[attr-defined]
            return None  # the same code was used by another request a moment ago
        set_committed_value(user, "totp_last_step", step)  # as the UPDATE left it
        return step
    return None


def _now() -> float:
    """Seconds since the epoch (tests move it)."""
    return time.time()


# --- reset ------------------------------------------------------------------------------

def reset(session: Session, user: User, acting: User | None) -> None:
    """An admin takes away `user`'s second factor (a lost phone): secret, recovery codes and
    last step go, and the user is logged out everywhere. Their role may require them to set
    it up again at the next log-in. Recorded as security.mfa_reset."""
    user.totp_secret = None
    user.totp_last_step = None
    user.mfa_enabled_at = None
    user.session_token = new_session_token()
    session.execute(delete(RecoveryCode).where(RecoveryCode.user_id == user.id))
    session.flush()
    security_event(session, acting, "mfa_reset", username=user.username)
