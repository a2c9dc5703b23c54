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


@bp.get("/people")
@roles_required(*STAFF)
def people():  # type: ignore[no-untyped-def]
    return render_template("intake/board.html")


@bp.get("/safety")
@roles_required(*STAFF)
def safety():  # type: ignore[no-untyped-def]
    return render_template("intake/board.html")


@bp.get("/scheme")
@roles_required(Role.MANAGER, Role.ADMIN)
def scheme():  # type: ignore[no-untyped-def]
    return render_template("intake/board.html")
