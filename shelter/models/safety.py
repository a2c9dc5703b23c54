"""Safety records: site bans (restrictions) and keep-apart pairs. Their reasons are
visible to intake staff and managers only, never to partner organisations."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import CheckConstraint, ForeignKey, String, Text
from sqlalchemy.orm import Mapped, mapped_column, relationship

from shelter.models.base import Base, Endable, StrEnum, enum_type, utcnow
from shelter.models.people import Person
from shelter.models.sites import Area, Site


class Authority(StrEnum):
    """Who issued a ban: shelter staff, the police (an exclusion order, bortvisning) or the
    municipality."""

    STAFF = "staff"
    POLICE = "police"
    MUNICIPALITY = "municipality"


class Restriction(Endable, Base):
    """The person may not be given a bed at `site`, at any site in `area` (an exclusion
    order), or at any site when both are None, on the nights `starts_on` through `ends_on`.
    Bans are specific and time-limited. Which sites a restriction covers is decided in one
    place: shelter.services.rules.barred_sites."""

    __tablename__ = "restrictions"
    __table_args__ = (
        CheckConstraint("ends_on IS NULL OR ends_on >= starts_on", name="dates_ordered"),
        CheckConstraint("site_id IS NULL OR area_id IS NULL", name="site_or_area"),
        CheckConstraint("category IN ('violence', 'drugs', 'rules', 'other')", name="category_known"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    site_id: Mapped[int | None] = mapped_column(ForeignKey("sites.id"))
    area_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"))
    authority: Mapped[Authority] = mapped_column(enum_type(Authority, "authority"),
                                                 default=Authority.STAFF)
    # violence | drugs | rules | other (allocator.rulebook.BAN_CATEGORIES): on a cold night
    # only the safety categories still bar the person.
    category: Mapped[str] = mapped_column(String(20), default="violence")
    starts_on: Mapped[date]
    ends_on: Mapped[date | None]
    # Staff look at an open-ended ban again by this night (each ban has an end or a review).
    review_on: Mapped[date | None]
    reason: Mapped[str] = mapped_column(Text)
    issued_by: Mapped[str] = mapped_column(String(120), default="")
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    ended_at: Mapped[datetime | None]
    ended_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    person: Mapped[Person] = relationship()
    site: Mapped[Site | None] = relationship()
    area: Mapped[Area | None] = relationship()

    @property
    def where(self) -> str:
        """Where the restriction applies, in staff's words."""
        if self.site is not None:
            return self.site.name
        if self.area is not None:
            return f"area {self.area.name}"
        return "all sites"


class SafetyExemption(Base):
    """Staff decided to keep a booking that a new ban or keep-apart pair conflicts with, for
    one night, with a reason: on that night the rule book does not apply that ban to that
    person, or that pair (rules.barred_sites and rules.partners_of read this)."""

    __tablename__ = "safety_exemptions"
    __table_args__ = (
        CheckConstraint("(restriction_id IS NULL) != (keep_apart_id IS NULL)", name="one_record"),
        CheckConstraint("reason != ''", name="reason_given"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    night: Mapped[date]
    restriction_id: Mapped[int | None] = mapped_column(ForeignKey("restrictions.id"))
    keep_apart_id: Mapped[int | None] = mapped_column(ForeignKey("keep_aparts.id"))
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))


class KeepApart(Endable, Base):
    """Two people who may not be placed at the same site on the same night.
    Stored with the smaller person id first so a pair is recorded once."""

    __tablename__ = "keep_aparts"
    __table_args__ = (
        CheckConstraint("person_a_id < person_b_id", name="ordered_pair"),
        CheckConstraint("ends_on IS NULL OR ends_on >= starts_on", name="dates_ordered"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    person_a_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    person_b_id: Mapped[int] = mapped_column(ForeignKey("people.id"), index=True)
    starts_on: Mapped[date]
    ends_on: Mapped[date | None]
    reason: Mapped[str] = mapped_column(Text)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)
    created_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    ended_at: Mapped[datetime | None]
    ended_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))

    person_a: Mapped[Person] = relationship(foreign_keys=[person_a_id])
    person_b: Mapped[Person] = relationship(foreign_keys=[person_b_id])
