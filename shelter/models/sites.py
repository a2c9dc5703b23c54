"""Inventory: sites, rooms and beds. Nothing is deleted: rooms and beds carry the nights
they existed (`valid_from`/`valid_until`), and outages carry dates, so a past night's report
still shows the beds that existed and were in service then."""
from __future__ import annotations

from datetime import date, datetime, time

from typing import Any

from sqlalchemy import (
    JSON, Boolean, CheckConstraint, ForeignKey, String, Text, UniqueConstraint, and_, exists, or_,
    select,
)
from sqlalchemy.ext.hybrid import hybrid_method
from sqlalchemy.orm import Mapped, mapped_column, object_session, relationship

from shelter.models.base import Base, Dated, StrEnum, enum_type, utcnow


class GenderRule(StrEnum):
    MIXED = "mixed"
    WOMEN = "women"
    MEN = "men"


class Area(Base):
    """A part of a city that police or the municipality may exclude a person from
    (bortvisning). Sites belong to an area; an exclusion order from an area works like a
    ban on every site in it. Admins keep the list."""

    __tablename__ = "areas"
    __table_args__ = (UniqueConstraint("city", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    city: Mapped[str] = mapped_column(String(60), default="Bergen")
    name: Mapped[str] = mapped_column(String(120))
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    sites: Mapped[list[Site]] = relationship(back_populates="area", order_by="Site.name")

    def __str__(self) -> str:
        return self.name


class Site(Base):
    __tablename__ = "sites"
    __table_args__ = (
        CheckConstraint("min_age IS NULL OR min_age >= 0", name="min_age_not_negative"),
        CheckConstraint(
            "min_age IS NULL OR max_age IS NULL OR min_age <= max_age", name="age_range_ordered"
        ),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    code: Mapped[str] = mapped_column(String(40), unique=True)
    name: Mapped[str] = mapped_column(String(120))
    city: Mapped[str] = mapped_column(String(60), default="Bergen", index=True)
    area_id: Mapped[int | None] = mapped_column(ForeignKey("areas.id"), index=True)
    address: Mapped[str] = mapped_column(String(200), default="")
    staffed_24h: Mapped[bool] = mapped_column(Boolean, default=True)
    intake_opens: Mapped[time] = mapped_column(default=lambda: time(17, 0))
    intake_closes: Mapped[time] = mapped_column(default=lambda: time(23, 59))
    # A person not checked in by this time is a no-show and the bed goes back to the pool.
    checkin_cutoff: Mapped[time] = mapped_column(default=lambda: time(23, 0))
    # Pre-booking holds expire at this local time on their night unless claimed.
    hold_expiry: Mapped[time] = mapped_column(default=lambda: time(21, 0))
    min_age: Mapped[int | None]
    max_age: Mapped[int | None]
    active: Mapped[bool] = mapped_column(Boolean, default=True)
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    rooms: Mapped[list[Room]] = relationship(back_populates="site", order_by="Room.id")
    area: Mapped[Area | None] = relationship(back_populates="sites")

    def __repr__(self) -> str:
        return f"<Site {self.code}>"


class Room(Base):
    __tablename__ = "rooms"
    __table_args__ = (UniqueConstraint("site_id", "name"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id"), index=True)
    name: Mapped[str] = mapped_column(String(80))
    gender: Mapped[GenderRule] = mapped_column(
        enum_type(GenderRule, "gender_rule"), default=GenderRule.MIXED
    )
    valid_from: Mapped[date] = mapped_column(default=lambda: date(2000, 1, 1))
    valid_until: Mapped[date | None]  # last night the room existed; None = still exists
    # Overflow capacity (mattresses in a day centre, a gym): in service on cold nights only.
    overflow: Mapped[bool] = mapped_column(Boolean, default=False)

    site: Mapped[Site] = relationship(back_populates="rooms")
    beds: Mapped[list[Bed]] = relationship(back_populates="room", order_by="Bed.id")


class Bed(Base):
    __tablename__ = "beds"
    __table_args__ = (UniqueConstraint("room_id", "label"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    room_id: Mapped[int] = mapped_column(ForeignKey("rooms.id"), index=True)
    label: Mapped[str] = mapped_column(String(40))
    features: Mapped[list[str]] = mapped_column(JSON, default=list)
    valid_from: Mapped[date] = mapped_column(default=lambda: date(2000, 1, 1))
    valid_until: Mapped[date | None]  # last night the bed existed; None = still exists

    room: Mapped[Room] = relationship(back_populates="beds")
    outages: Mapped[list[BedOutage]] = relationship(back_populates="bed", order_by="BedOutage.id")

    def __repr__(self) -> str:
        return f"<Bed {self.label}>"

    @hybrid_method
    def in_service_on(self, night: date) -> bool:
        """The bed is in service on ``night``: its site is active, the room and the bed
        existed that night (``valid_from``/``valid_until``), no outage covers the night, and
        an overflow room's beds only on a cold night of the site's city. In SQL, Room and
        Site must be joined."""
        room = self.room
        if room.overflow and not ColdNight.declared(object_session(self), room.site.city, night):
            return False
        return (room.site.active and self.valid_from <= night
                and (self.valid_until is None or self.valid_until >= night)
                and room.valid_from <= night
                and (room.valid_until is None or room.valid_until >= night)
                and not any(o.covers(night) for o in self.outages))

    @in_service_on.expression  # type: ignore[no-redef]
    def in_service_on(cls, night: date) -> Any:
        return and_(
            Site.active.is_(True),
            cls.valid_from <= night, or_(cls.valid_until.is_(None), cls.valid_until >= night),
            Room.valid_from <= night, or_(Room.valid_until.is_(None), Room.valid_until >= night),
            ~exists().where(BedOutage.bed_id == cls.id, BedOutage.covers(night)),
            or_(Room.overflow.is_(False),
                exists().where(ColdNight.city == Site.city, ColdNight.night == night)))


class ColdNight(Base):
    """A night a manager declared a cold night (kuldeberedskap) for a city: overflow rooms
    are in service and bans for minor reasons are suspended (allocator.rulebook.ban_applies)."""

    __tablename__ = "cold_nights"
    __table_args__ = (UniqueConstraint("city", "night"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    city: Mapped[str] = mapped_column(String(60))
    night: Mapped[date]
    reason: Mapped[str] = mapped_column(Text)
    declared_by_id: Mapped[int | None] = mapped_column(ForeignKey("users.id"))
    declared_at: Mapped[datetime] = mapped_column(default=utcnow)

    @staticmethod
    def declared(session: Any, city: str, night: date) -> bool:
        """Is ``night`` a cold night in ``city``?"""
        return session is not None and session.scalar(
            select(ColdNight.id).where(ColdNight.city == city, ColdNight.night == night)
        ) is not None


class BedOutage(Dated, Base):
    """A bed out of service from `starts_on` through `ends_on` (None = until further notice)."""

    __tablename__ = "bed_outages"
    __table_args__ = (
        CheckConstraint("ends_on IS NULL OR ends_on >= starts_on", name="dates_ordered"),
    )

    id: Mapped[int] = mapped_column(primary_key=True)
    bed_id: Mapped[int] = mapped_column(ForeignKey("beds.id"), index=True)
    reason: Mapped[str] = mapped_column(Text)
    starts_on: Mapped[date]
    ends_on: Mapped[date | None]
    created_at: Mapped[datetime] = mapped_column(default=utcnow)

    bed: Mapped[Bed] = relationship(back_populates="outages")


class OtherService(Base):
    """Where else a turned-away person can go tonight (configurable per city)."""

    __tablename__ = "other_services"

    id: Mapped[int] = mapped_column(primary_key=True)
    city: Mapped[str] = mapped_column(String(60), default="Bergen", index=True)
    name: Mapped[str] = mapped_column(String(120))
    description: Mapped[str] = mapped_column(Text, default="")
    address: Mapped[str] = mapped_column(String(200), default="")
    phone: Mapped[str] = mapped_column(String(40), default="")
    for_gender: Mapped[str | None] = mapped_column(String(20))  # e.g. "woman": a crisis centre
    active: Mapped[bool] = mapped_column(Boolean, default=True)
