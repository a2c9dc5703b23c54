"""Partner organisations' pre-booking portal."""
from __future__ import annotations

from flask import Blueprint, render_template

from shelter.auth import roles_required
from shelter.models import Role

bp = Blueprint("partners", __name__)


@bp.get("/")
@roles_required(Role.PARTNER)
def index():  # type: ignore[no-untyped-def]
    return render_template("partners/index.html")
