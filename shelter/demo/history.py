"""Demo data part 'history' (see shelter/demo/__init__.py)."""
from __future__ import annotations

from datetime import date

from sqlalchemy.orm import Session


def seed(session: Session, today: date) -> list[str]:
    return []
