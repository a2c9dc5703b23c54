"""Organisations, users, API tokens and partner quotas."""
from __future__ import annotations

import secrets
from datetime import datetime
from typing import TYPE_CHECKING

from sqlalchemy import BigInteger, Boolean, false, CheckConstraint, Column, ForeignKey, Integer, String, Table, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shelter.models.base import Base, StrEnum, enum_type, utcnow

if TYPE_CHECKING:
    from shelter.models.sites import Site


class OrgKind(StrEnum):
    MUNICIPAL = "municipal"
    NGO = "ngo"
    POLICE = "police"
    HEALTH = "health"


class Role(StrEnum):
    INTAKE = "intake"
    PARTNER = "partner"
    MANAGER = "manager"
    ADMIN = "admin"


class Organisation(Base):
    __tablename__ = "organisations"

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str] = mapped_column(String(120), unique=True)
    kind: Mapped[OrgKind] = mapped_column(enum_type(OrgKind, "org_kind"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Where the organisation is told what became of its bookings (services.notifications).
    contact_email: Mapped[str | None] = mapped_column(String(254))
    webhook_url: Mapped[str | None] = mapped_column(String(500))
    # The HMAC key for webhook signatures. Kept in clear because every delivery signs with
    # it; shown to an admin once, when generated.
    webhook_secret: Mapped[str | None] = mapped_column(String(64))

    users: Mapped[list[User]] = relationship(back_populates="organisation")

    def __repr__(self) -> str:
        return f"<Organisation {self.name}>"


user_sites = Table(
    "user_sites",
    Base.metadata,
    Column("user_id", ForeignKey("users.id", ondelete="CASCADE"), primary_key=True),
    Column("site_id", ForeignKey("sites.id", ondelete="CASCADE"), primary_key=True),
)


def new_session_token() -> str:
    return secrets.token_urlsafe(24)


class User(Base):
    """A person who logs in. `session_token` is part of the login cookie's identity and is
    rotated on logout, so a replayed cookie no longer matches any user."""

    __tablename__ = "users"
    __table_args__ = (
        CheckConstraint(
            "role != 'partner' OR organisation_id IS NOT NULL", name="partner_has_organisation"
        ),
        CheckConstraint("mfa_enabled_at IS NULL OR totp_secret IS NOT NULL",
                        name="mfa_has_secret"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    username: Mapped[str] = mapped_column(String(80), unique=True)
    display_name: Mapped[str] = mapped_column(String(120))
    password_hash: Mapped[str] = mapped_column(String(255))
    role: Mapped[Role] = mapped_column(enum_type(Role, "role"))
    organisation_id: Mapped[int | None] = mapped_column(ForeignKey("organisations.id"))
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    session_token: Mapped[str] = mapped_column(String(64), default=new_session_token)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    last_login_at: Mapped[datetime | None]
    # An admin asked for a new password: until it is changed, only that page opens.
    must_change_password: Mapped[bool] = mapped_column(
        Boolean, default=False, server_default=false())
    # The current session, server-side: it ends SESSION_IDLE_MINUTES after session_seen_at
    # or SESSION_MAX_HOURS after session_started_at (shelter.auth.session_is_live).
    session_started_at: Mapped[datetime | None]
    session_seen_at: Mapped[datetime | None]
    # The second factor (services.mfa): a TOTP secret (set from the start of enrolment,
    # never shown again once it is confirmed), the last time-step a code was accepted for
    # (a code is refused a second time), and when enrolment was confirmed (NULL: no MFA).
    totp_secret: Mapped[str | None] = mapped_column(String(64))
    totp_last_step: Mapped[int | None] = mapped_column(BigInteger)
    mfa_enabled_at: Mapped[datetime | None]
    # "nb" or "en", chosen with the switch in the header; None: the instance's language.
    language: Mapped[str | None] = mapped_column(String(8))

    organisation: Mapped[Organisation | None] = relationship(back_populates="users")
    sites: Mapped[list[Site]] = relationship(secondary=user_sites)

    # Flask-Login protocol
    @property
    def is_authenticated(self) -> bool:
        return True

    @property
    def is_active(self) -> bool:
        return self.active

    @property
    def is_anonymous(self) -> bool:
        return False

    def get_id(self) -> str:
        return f"{self.id}:{self.session_token}"

    def __repr__(self) -> str:
        return f"<User {self.username} {self.role}>"


class ApiToken(Base):
    """A bearer token for one organisation's own systems; only its SHA-256 is stored."""

    __tablename__ = "api_tokens"

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"), index=True)
    token_hash: Mapped[str] = mapped_column(String(64), unique=True)
    prefix: Mapped[str] = mapped_column(String(12))
    label: Mapped[str] = mapped_column(String(120), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    revoked_at: Mapped[datetime | None]

    organisation: Mapped[Organisation] = relationship()


class Quota(Base):
    """How many holds one organisation may have at one site on one night."""

    __tablename__ = "quotas"
    __table_args__ = (
        UniqueConstraint("organisation_id", "site_id"),
        CheckConstraint("per_night >= 0", name="per_night_not_negative"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"))
    per_night: Mapped[int] = mapped_column(Integer)

    organisation: Mapped[Organisation] = relationship()
    site: Mapped[Site] = relationship()
