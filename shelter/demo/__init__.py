"""Demo data for `flask seed-demo`: a Bergen-like city. Each module adds one part and
returns the lines to print; they run in this order inside one transaction."""
from __future__ import annotations

import importlib
from datetime import date

from sqlalchemy.orm import Session

PARTS = ["base", "evening", "prebookings", "history"]


def seed_demo(session: Session, today: date) -> list[str]:
    lines: list[str] = []
    for name in PARTS:
        module = importlib.import_module(f"shelter.demo.{name}")
        lines.extend(module.seed(session, today))
        session.flush()
    return lines
