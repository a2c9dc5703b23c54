"""Error pages for people, JSON errors for the API: never a 500 for bad input."""
from __future__ import annotations

from flask import Flask, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from werkzeug.exceptions import HTTPException


def _wants_json() -> bool:
    return request.path.startswith("/api/")


def init_app(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(err: CSRFError):  # type: ignore[no-untyped-def]
        msg = "The form expired or was sent twice. Please try again; nothing was saved."
        return render_template("errors/error.html", code=400, message=msg), 400

    @app.errorhandler(HTTPException)
    def http_error(err: HTTPException):  # type: ignore[no-untyped-def]
        if _wants_json():
            body = {"error": err.name.lower().replace(" ", "_"), "message": err.description}
            return jsonify(body), err.code
        return render_template("errors/error.html", code=err.code, message=err.description), err.code
