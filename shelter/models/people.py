"""People asking for beds, and their need assessments under a versioned scheme."""
from __future__ import annotations

from datetime import datetime
from typing import Any

from sqlalchemy import JSON, Boolean, CheckConstraint, ForeignKey, Integer, String, Text, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shelter.models.base import Base, StrEnum, enum_type, utcnow


class Gender(StrEnum):
    WOMAN = "woman"
    MAN = "man"
    NONBINARY = "nonbinary"
    UNKNOWN = "unknown"


class Person(Base):
    """Minimal data: a person may refuse to give a name and be known by an alias only."""

    __tablename__ = "people"
    __table_args__ = (
        CheckConstraint(
            "name IS NOT NULL OR alias IS NOT NULL", name="has_name_or_alias"
        ),
        CheckConstraint(
            "birth_year IS NULL OR (birth_year >= 1900 AND birth_year <= 2100)",
            name="birth_year_plausible",
        ),
        CheckConstraint("merged_into_id IS NULL OR merged_into_id != id", name="not_merged_into_self"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    name: Mapped[str | None] = mapped_column(String(120), index=True)
    alias: Mapped[str | None] = mapped_column(String(120), index=True)
    refused_name: Mapped[bool] = mapped_column(Boolean, default=False)
    birth_year: Mapped[int | None] = mapped_column(Integer, index=True)
    gender: Mapped[Gender] = mapped_column(enum_type(Gender, "gender"), default=Gender.UNKNOWN)
    phone: Mapped[str | None] = mapped_column(String(40))
    # Bed features this person always needs (e.g. accessible).
    needs: Mapped[list[str]] = mapped_column(JSON, default=list)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    # Registered twice: this record was merged into that one (services/people_merge.py).
    # It stays (the audit trail names it) but takes no new requests or bookings.
    merged_into_id: Mapped[int | None] = mapped_column(ForeignKey("people.id"), index=True)
    # Retention or an erasure replaced who they are by a pseudonym (services/retention.py).
    pseudonymised_at: Mapped[datetime | None]

    assessments: Mapped[list[Assessment]] = relationship(
        back_populates="person", order_by="Assessment.assessed_at.desc()"
    )

    @property
    def display_name(self) -> str:
        if self.name and self.alias:
            return f"{self.name} ({self.alias})"
        return self.name or self.alias or f"#{self.id}"

    def age_on(self, year: int) -> int | None:
        return None if self.birth_year is None else year - self.birth_year

    def __repr__(self) -> str:
        return f"<Person {self.id}>"


class OrganisationPerson(Base):
    """A partner organisation knows this person (it referred them). Partners see only the
    people linked to their own organisation; `ref` is the partner's own reference."""

    __tablename__ = "organisation_people"
    __table_args__ = (
        UniqueConstraint("organisation_id", "person_id"),
        UniqueConstraint("organisation_id", "ref"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    organisation_id: Mapped[int] = mapped_column(ForeignKey("organisations.id"))
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    ref: Mapped[str] = mapped_column(String(64))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    person: Mapped[Person] = relationship()


class NeedScheme(Base):
    """One version of the need-assessment scheme. Versions are never edited in place: a
    change makes a new version, so every old score stays explainable.

    `factors` is a list of {"key", "label", "points", "group"}; factors sharing a group are
    alternatives (at most one applies, e.g. where the person sleeps tonight)."""

    __tablename__ = "need_schemes"

    id: Mapped[int] = mapped_column(primary_key=True)
    version: Mapped[int] = mapped_column(Integer, unique=True)
    factors: Mapped[list[dict[str, Any]]] = mapped_column(JSON)
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    note: Mapped[str] = mapped_column(Text, default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class Assessment(Base):
    __tablename__ = "assessments"
    __table_args__ = (CheckConstraint("need >= 0 AND need <= 100", name="need_in_range"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    scheme_id: Mapped[int] = mapped_column(ForeignKey("need_schemes.id"))
    assessed_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    assessed_at: Mapped[datetime] = mapped_column(default=utcnow, index=True)
    answers: Mapped[dict[str, Any]] = mapped_column(JSON)  # factor key -> True/False
    need: Mapped[int] = mapped_column(Integer)
    parts: Mapped[list[dict[str, Any]]] = mapped_column(JSON)  # [{"key","label","points"}]
    note: Mapped[str] = mapped_column(Text, default="")

    person: Mapped[Person] = relationship(back_populates="assessments")
    scheme: Mapped[NeedScheme] = relationship()


class HousingReferral(Base):
    """A manager marked this person "referred for housing follow-up": they need a home, not
    another emergency night. Intake sees it on the person page; partners never do."""

    __tablename__ = "housing_referrals"

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), unique=True)
    note: Mapped[str] = mapped_column(Text, default="")
    referred_at: Mapped[datetime] = mapped_column(default=utcnow)
    referred_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    person: Mapped[Person] = relationship()
