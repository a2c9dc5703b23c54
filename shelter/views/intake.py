"""Intake staff's evening: tonight's board, people, assessment, allocation, safety."""
from __future__ import annotations

from flask import Blueprint, render_template

from shelter.auth import roles_required
from shelter.models import Role

bp = Blueprint("intake", __name__)
STAFF = (Role.INTAKE, Role.MANAGER, Role.ADMIN)


@bp.get("/")
@roles_required(*STAFF)
def board():  # type: ignore[no-untyped-def]
    return render_template("intake/board.html")
