"""Health endpoints for the load balancer and the process supervisor. Unauthenticated, and
they say nothing about people: /healthz answers while the process lives (it never touches
the database); /readyz answers 200 only when the database answers and its schema is at the
migrations' head, else 503 with Retry-After and the reason ("database" or "migrations")."""
from __future__ import annotations

from typing import Any

from flask import Blueprint, current_app, g, jsonify
from sqlalchemy import text
from sqlalchemy.exc import SQLAlchemyError

from shelter.extensions import db

bp = Blueprint("health", __name__)


@bp.get("/healthz")
def healthz() -> Any:
    return jsonify({"status": "alive"})


def migration_heads() -> set[str]:
    """The head revision(s) of migrations/, read once per process."""
    cached = current_app.extensions.get("migration_heads")
    if cached is None:
        from alembic.script import ScriptDirectory

        config = current_app.extensions["migrate"].migrate.get_config()
        cached = set(ScriptDirectory.from_config(config).get_heads())
        current_app.extensions["migration_heads"] = cached
    return cached


@bp.get("/readyz")
def readyz() -> Any:
    try:
        applied = set(db.session.scalars(text("SELECT version_num FROM alembic_version")))
    except SQLAlchemyError as err:
        db.session.rollback()
        return _not_ready("database", err.__class__.__name__)
    if applied != migration_heads():
        return _not_ready("migrations", "schema is not at the migrations' head")
    return jsonify({"status": "ready"})


def _not_ready(reason: str, detail: str) -> Any:
    g.request_error = f"not ready: {reason}"  # for the request log line
    response = jsonify({"status": "unavailable", "reason": reason, "detail": detail})
    response.status_code = 503
    response.headers["Retry-After"] = str(current_app.config.get("RETRY_AFTER", 30))
    return response
