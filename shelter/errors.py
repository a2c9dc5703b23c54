"""Error pages for people, JSON errors for the API: never a 500 for bad input, and a 503
with Retry-After (never a 500) when the database is down, hanging or too busy."""
from __future__ import annotations

from flask import Flask, Response, current_app, g, jsonify, render_template, request
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import HTTPException

from shelter.database import is_unavailable


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

    @app.errorhandler(SQLAlchemyError)
    def database_error(err: SQLAlchemyError):  # type: ignore[no-untyped-def]
        if not is_unavailable(err):
            raise err  # a bug: Flask answers 500 and logs the traceback
        return unavailable(err)


def unavailable(err: BaseException) -> Response:
    """503 + Retry-After. The page is rendered without context processors (they ask the
    database who is logged in); the request log gets the error class, not a traceback."""
    g.request_error = f"{err.__class__.__name__}: {getattr(err, 'orig', err).__class__.__name__}"
    retry_after = current_app.config.get("RETRY_AFTER", 30)
    if _wants_json():
        response = jsonify({"error": "unavailable",
                            "message": "The database is unavailable; try again later."})
    else:
        page = current_app.jinja_env.get_template("errors/unavailable.html")
        response = Response(page.render(retry_after=retry_after), mimetype="text/html")
    response.status_code = 503
    response.headers["Retry-After"] = str(retry_after)
    return response
