"""Scheduled jobs: app context -> one service call -> commit. Filled by the pre-booking work."""
from __future__ import annotations

from flask import Flask


def init_app(app: Flask) -> None:
    """Start the in-process scheduler only when SCHEDULER_ENABLED is set."""
