"""Settings from the environment. SQLite in `instance/` by default; DATABASE_URL for
PostgreSQL (e.g. postgresql+psycopg://user@host:5432/shelter)."""
from __future__ import annotations

import os
import secrets
from pathlib import Path
from typing import Any

from flask import current_app, has_app_context

from shelter.clock import DEFAULT_TIMEZONE

DEFAULT_CITY = "Bergen"


DB_KEYS = ("DB_CONNECT_TIMEOUT", "DB_STATEMENT_TIMEOUT", "DB_LOCK_TIMEOUT", "DB_BUSY_TIMEOUT",
           "DB_RETRY_ATTEMPTS", "DB_POOL_TIMEOUT")


def _secret_key(instance_path: Path) -> str:
    """SECRET_KEY from the environment, else one generated once and kept in instance/."""
    if key := os.environ.get("SECRET_KEY"):
        return key
    path = instance_path / "secret_key"
    if not path.exists():
        instance_path.mkdir(parents=True, exist_ok=True)
        path.write_text(secrets.token_hex(32))
        path.chmod(0o600)
    return path.read_text().strip()


def normalise_database_url(url: str) -> str:
    """Accept plain postgres:// and postgresql:// URLs and use psycopg 3 for them."""
    for prefix in ("postgres://", "postgresql://"):
        if url.startswith(prefix):
            return "postgresql+psycopg://" + url[len(prefix):]
    return url


def _flag(name: str, default: str = "0") -> bool:
    return os.environ.get(name, default).strip().lower() in ("1", "true", "yes", "on")


def from_environment(instance_path: Path) -> dict[str, Any]:
    url = os.environ.get("DATABASE_URL") or f"sqlite:///{instance_path / 'shelter.db'}"
    return {
        "SECRET_KEY": _secret_key(instance_path),
        "SQLALCHEMY_DATABASE_URI": normalise_database_url(url),
        "CITY": os.environ.get("SHELTER_CITY", DEFAULT_CITY),
        "TIMEZONE": os.environ.get("SHELTER_TIMEZONE", DEFAULT_TIMEZONE),
        # The instance's language ("nb" or "en"): users who have not chosen one, mails, the
        # CLI (shelter.i18n).
        "SHELTER_LANGUAGE": os.environ.get("SHELTER_LANGUAGE", "nb"),
        # Run the APScheduler jobs inside this process (dev/demo). In production run one
        # `flask scheduler` process instead and leave this off in the web workers.
        "SCHEDULER_ENABLED": os.environ.get("SCHEDULER_ENABLED", "0") == "1",
        "SOLVER_TIME_LIMIT": float(os.environ.get("SOLVER_TIME_LIMIT", "10")),
        # A scheduled job's claim lasts this long without a heartbeat (shelter.jobs).
        "JOB_LEASE_SECONDS": float(os.environ.get("JOB_LEASE_SECONDS", "60")),
        "SESSION_COOKIE_HTTPONLY": True,
        "SESSION_COOKIE_SAMESITE": "Lax",
        "REMEMBER_COOKIE_HTTPONLY": True,
        "WTF_CSRF_TIME_LIMIT": None,
        # The longest a ban may run before its last night or its review date.
        "BAN_MAX_DAYS": int(os.environ.get("BAN_MAX_DAYS", "365")),
        # People with no activity for this many months are pseudonymised (services/retention.py).
        "RETENTION_MONTHS": int(os.environ.get("RETENTION_MONTHS", "24")),
        # Ban categories that still bar a person on a cold night (the others are suspended).
        "COLD_NIGHT_KEEPS_BANS": frozenset(
            c.strip() for c in os.environ.get("COLD_NIGHT_KEEPS_BANS", "violence").split(",")
            if c.strip()),
        # Partner bookings (README "Partner bookings and what they reveal"): the share of
        # bookings naming a site that are held at another suitable site, and the share of
        # all bookings that wait for intake to confirm a site, so that neither answer
        # tells a partner of a ban or a keep-apart pair.
        "PARTNER_SPREAD_SHARE": float(os.environ.get("PARTNER_SPREAD_SHARE", "0.15")),
        "PARTNER_REVIEW_SHARE": float(os.environ.get("PARTNER_REVIEW_SHARE", "0.05")),
        # Database timeouts in seconds (shelter.database.DEFAULTS has the defaults) and how
        # long a 503 asks clients to wait before trying again.
        **{key: float(os.environ[key]) for key in DB_KEYS if os.environ.get(key)},
        "RETRY_AFTER": int(os.environ.get("RETRY_AFTER", "30")),
        # One JSON line per request on stderr (shelter.requestlog).
        "REQUEST_LOG": os.environ.get("REQUEST_LOG", "1") == "1",
        # Mail to partner organisations (services.notifications). Without SMTP_HOST (the
        # `make run` demo) mails are written to the log instead of sent.
        "SMTP_HOST": os.environ.get("SMTP_HOST", ""),
        "SMTP_PORT": int(os.environ.get("SMTP_PORT", "25") or 25),
        "SMTP_FROM": os.environ.get("SMTP_FROM", "shelter@localhost"),
        "SMTP_USER": os.environ.get("SMTP_USER", ""),
        "SMTP_PASSWORD": os.environ.get("SMTP_PASSWORD", ""),
        "SMTP_STARTTLS": os.environ.get("SMTP_STARTTLS", "0") == "1",
        # Security and privacy (README, "Security and privacy").
        "MAX_CONTENT_LENGTH": int(os.environ.get("MAX_CONTENT_LENGTH", str(1024 * 1024))),
        "MAX_JSON_DEPTH": int(os.environ.get("MAX_JSON_DEPTH", "32")),
        "SESSION_COOKIE_SECURE": _flag("SESSION_COOKIE_SECURE"),
        "REMEMBER_COOKIE_SECURE": _flag("SESSION_COOKIE_SECURE"),
        "HSTS_SECONDS": int(os.environ.get("HSTS_SECONDS", "0")),
        "SESSION_IDLE_MINUTES": float(os.environ.get("SESSION_IDLE_MINUTES", "30")),
        "SESSION_MAX_HOURS": float(os.environ.get("SESSION_MAX_HOURS", "12")),
        # Failed log-ins and API tokens (Flask-Limiter); memory:// is per process, so use
        # Redis (redis://127.0.0.1:6379) when several workers serve the app.
        "RATELIMIT_STORAGE_URI": os.environ.get("RATELIMIT_STORAGE_URI", "memory://"),
        "LOGIN_FAILURES_PER_ACCOUNT": os.environ.get(
            "LOGIN_FAILURES_PER_ACCOUNT", "10 per 15 minutes"),
        "LOGIN_FAILURES_PER_ADDRESS": os.environ.get(
            "LOGIN_FAILURES_PER_ADDRESS", "50 per 15 minutes"),
        "API_TOKEN_FAILURES_PER_ADDRESS": os.environ.get(
            "API_TOKEN_FAILURES_PER_ADDRESS", "30 per 15 minutes"),
        # Roles that must log in with a second factor (TOTP, services.mfa): comma-separated;
        # empty for nobody (the `make run` demo sets it empty).
        "MFA_REQUIRED_ROLES": mfa_roles(os.environ.get("MFA_REQUIRED_ROLES",
                                                      DEFAULT_MFA_ROLES)),
    }


#: Who must use a second factor when MFA_REQUIRED_ROLES is not set: every staff role.
DEFAULT_MFA_ROLES = "admin,manager,intake"
_ROLES = ("intake", "partner", "manager", "admin")


def mfa_roles(value: str | frozenset[str] | set[str]) -> frozenset[str]:
    """The roles named by MFA_REQUIRED_ROLES ("admin, manager" or a set). Raises ValueError
    naming an unknown role, so a typo cannot quietly turn the second factor off."""
    names = value.split(",") if isinstance(value, str) else value
    roles = frozenset(n.strip().lower() for n in names if n.strip())
    if unknown := sorted(roles - set(_ROLES)):
        raise ValueError(f"MFA_REQUIRED_ROLES: unknown role {unknown[0]!r} "
                         f"(use {', '.join(_ROLES)})")
    return roles


def instance_city() -> str:
    """The city this instance serves (setting CITY, from SHELTER_CITY): a request registered
    here belongs to it unless its site says otherwise. Outside an app context: Bergen."""
    if has_app_context():
        return str(current_app.config.get("CITY", DEFAULT_CITY))
    return DEFAULT_CITY
