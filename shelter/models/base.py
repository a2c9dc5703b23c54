"""Declarative base with a constraint naming convention so Alembic diffs stay stable."""
from __future__ import annotations

import enum
from datetime import UTC, datetime

from sqlalchemy import MetaData
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
