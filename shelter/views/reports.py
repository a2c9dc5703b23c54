"""Managers' reports: occupancy, turn-aways, pre-bookings, women's beds, what-if, fairness."""
from __future__ import annotations

from flask import Blueprint, render_template

from shelter.auth import roles_required
from shelter.models import Role

bp = Blueprint("reports", __name__)


@bp.get("/")
@roles_required(Role.MANAGER, Role.ADMIN)
def index():  # type: ignore[no-untyped-def]
    return render_template("reports/index.html")
