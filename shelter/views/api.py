"""JSON API for partners' own systems (bearer tokens per organisation)."""
from __future__ import annotations

from flask import Blueprint, jsonify

bp = Blueprint("api", __name__)


@bp.get("/openapi.json")
def openapi():  # type: ignore[no-untyped-def]
    return jsonify({"openapi": "3.0.3", "info": {"title": "Shelter API", "version": "1"}, "paths": {}})
