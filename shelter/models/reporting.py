"""Per-night report aggregates (a cache of counts, never the source of truth).

The managers' reports must stay fast over 90 nights of a metropolis (about 10,000
requests a night), so each night's facts are counted once into these small tables by
`shelter.services.reports_stats.refresh_stats` and read from there. Rows are rebuilt for a
whole (city, night) at a time; deleting them loses nothing."""
from __future__ import annotations

from datetime import date, datetime

from sqlalchemy import ForeignKey, Index, Integer, String, UniqueConstraint
from sqlalchemy.orm import Mapped, mapped_column

from shelter.models.base import Base, utcnow


class ReportNight(Base):
    """One (city, night) whose aggregates are filled: the counts that are not per site."""

    __tablename__ = "report_nights"
    __table_args__ = (UniqueConstraint("city", "night"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    city: Mapped[str] = mapped_column(String(60))
    night: Mapped[date]
    bans_active: Mapped[int] = mapped_column(Integer, default=0)
    keep_apart_active: Mapped[int] = mapped_column(Integer, default=0)
    refreshed_at: Mapped[datetime] = mapped_column(default=utcnow)


class ReportSiteNight(Base):
    """Beds of one site on one night: in service, occupied, held; and the women-only part."""

    __tablename__ = "report_site_nights"
    __table_args__ = (Index("ix_report_site_nights_city_night", "city", "night"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    city: Mapped[str] = mapped_column(String(60))
    night: Mapped[date]
    site_id: Mapped[int] = mapped_column(ForeignKey("sites.id", ondelete="CASCADE"))
    in_service: Mapped[int] = mapped_column(Integer, default=0)
    occupied: Mapped[int] = mapped_column(Integer, default=0)
    held: Mapped[int] = mapped_column(Integer, default=0)
    women_in_service: Mapped[int] = mapped_column(Integer, default=0)
    women_occupied: Mapped[int] = mapped_column(Integer, default=0)


class ReportRequestGroup(Base):
    """How many requests of one night ended one way, per gender, age band and need band."""

    __tablename__ = "report_request_groups"
    __table_args__ = (Index("ix_report_request_groups_city_night", "city", "night"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    city: Mapped[str] = mapped_column(String(60))
    night: Mapped[date]
    gender: Mapped[str] = mapped_column(String(20))
    age_band: Mapped[str] = mapped_column(String(20))
    need_band: Mapped[str] = mapped_column(String(20))
    outcome: Mapped[str] = mapped_column(String(20))  # placed | turned_away | waiting
    reason: Mapped[str] = mapped_column(String(20), default="")
    count: Mapped[int] = mapped_column(Integer)


class ReportWhatIf(Base):
    """One night's confirmed run replayed: per need band, requests and how many each rule placed."""

    __tablename__ = "report_whatif"
    __table_args__ = (Index("ix_report_whatif_city_night", "city", "night"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    city: Mapped[str] = mapped_column(String(60))
    night: Mapped[date]
    run_id: Mapped[int | None] = mapped_column(ForeignKey("allocation_runs.id", ondelete="SET NULL"))
    need_band: Mapped[str] = mapped_column(String(20))
    requests: Mapped[int] = mapped_column(Integer)
    placed_need: Mapped[int] = mapped_column(Integer)
    placed_first_come: Mapped[int] = mapped_column(Integer)


class ReportTurnaway(Base):
    """One person turned away in a city on a night (at most one row each). `day` is the
    night's ordinal (date.toordinal) so runs of nights in a row are found in SQL on both
    databases (gaps and islands: day - row_number() is constant along a run)."""

    __tablename__ = "report_turnaways"
    __table_args__ = (Index("ix_report_turnaways_city_person_day", "city", "person_id", "day"),)

    id: Mapped[int] = mapped_column(primary_key=True)
    city: Mapped[str] = mapped_column(String(60))
    night: Mapped[date]
    day: Mapped[int] = mapped_column(Integer)
    person_id: Mapped[int] = mapped_column(ForeignKey("people.id", ondelete="CASCADE"))
