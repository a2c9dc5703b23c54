"""Declarative base with a constraint naming convention so Alembic diffs stay stable."""
from __future__ import annotations

import enum
from datetime import UTC, date, datetime
from typing import Any

from sqlalchemy import MetaData, and_, or_
from sqlalchemy.ext.hybrid import hybrid_method
from sqlalchemy.orm import DeclarativeBase

NAMING_CONVENTION = {
    "ix": "ix_%(column_0_label)s",
    "uq": "uq_%(table_name)s_%(column_0_N_name)s",
    "ck": "ck_%(table_name)s_%(constraint_name)s",
    "fk": "fk_%(table_name)s_%(column_0_name)s_%(referred_table_name)s",
    "pk": "pk_%(table_name)s",
}


class Base(DeclarativeBase):
    metadata = MetaData(naming_convention=NAMING_CONVENTION)


def utcnow() -> datetime:
    """Naive UTC now: SQLite keeps no zone, so every timestamp is stored as naive UTC."""
    return datetime.now(UTC).replace(tzinfo=None)


class Dated:
    """Records that apply on the nights ``starts_on`` through ``ends_on`` (None: open-ended):
    bans, keep-apart pairs, exclusion orders, bed outages. The rule lives here in both of its
    shapes, Python and SQL, side by side (one test makes them agree)."""

    starts_on: Any
    ends_on: Any

    @hybrid_method
    def covers(self, night: date) -> bool:
        """The record's dates include ``night``."""
        return self.starts_on <= night and (self.ends_on is None or self.ends_on >= night)

    @covers.expression  # type: ignore[no-redef]
    def covers(cls, night: date) -> Any:
        return and_(cls.starts_on <= night, or_(cls.ends_on.is_(None), cls.ends_on >= night))


class Endable(Dated):
    """Dated records staff can end early (``ended_at``): an ended record never counts again."""

    ended_at: Any

    @hybrid_method
    def in_force_on(self, night: date) -> bool:
        """Not ended, and its dates include ``night``: a ban or keep-apart pair in force."""
        return self.ended_at is None and self.covers(night)

    @in_force_on.expression  # type: ignore[no-redef]
    def in_force_on(cls, night: date) -> Any:
        return and_(cls.ended_at.is_(None), cls.covers(night))

    @hybrid_method
    def not_over_on(self, today: date) -> bool:
        """In force on ``today`` or starting later (not ended, not run out)."""
        return self.ended_at is None and (self.ends_on is None or self.ends_on >= today)

    @not_over_on.expression  # type: ignore[no-redef]
    def not_over_on(cls, today: date) -> Any:
        return and_(cls.ended_at.is_(None), or_(cls.ends_on.is_(None), cls.ends_on >= today))


class StrEnum(str, enum.Enum):
    def __str__(self) -> str:
        return self.value


def enum_values(cls: type[enum.Enum]) -> list[str]:
    return [m.value for m in cls]


def enum_type(cls: type[enum.Enum], name: str):  # type: ignore[no-untyped-def]
    """A portable enum column type: VARCHAR plus a CHECK constraint on both databases."""
    from sqlalchemy import Enum

    return Enum(
        cls,
        name=name,
        native_enum=False,
        create_constraint=True,
        length=20,
        values_callable=enum_values,
        validate_strings=True,
    )
