"""Admin: sites, rooms, beds, organisations, users, quotas; a person's audit trail."""
from __future__ import annotations

from flask import Blueprint, render_template

from shelter.auth import roles_required
from shelter.models import Role

bp = Blueprint("admin", __name__)


@bp.get("/")
@roles_required(Role.ADMIN)
def index():  # type: ignore[no-untyped-def]
    return render_template("admin/index.html")
