"""People: search, create, the person page, need assessment, the scheme, safety records."""
from __future__ import annotations

from flask import Blueprint, render_template

from shelter.auth import STAFF_ROLES, roles_required
from shelter.models import Role

bp = Blueprint("people", __name__)


@bp.get("/")
@roles_required(*STAFF_ROLES)
def search():  # type: ignore[no-untyped-def]
    return render_template("people/search.html")


@bp.get("/safety")
@roles_required(*STAFF_ROLES)
def safety():  # type: ignore[no-untyped-def]
    return render_template("people/search.html")


@bp.get("/scheme")
@roles_required(Role.MANAGER, Role.ADMIN)
def scheme():  # type: ignore[no-untyped-def]
    return render_template("people/search.html")
