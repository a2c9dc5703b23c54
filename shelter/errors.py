"""Error pages for people, JSON errors for the API: never a 500 for bad input, and a 503
with Retry-After (never a 500) when the database is down, hanging or too busy.

Messages are in the request's language; JSON error codes (`error`) stay English."""
from __future__ import annotations

from flask import Flask, Response, current_app, g, jsonify, render_template, request, session
from flask_babel import force_locale
from flask_wtf.csrf import CSRFError
from sqlalchemy.exc import SQLAlchemyError
from werkzeug.exceptions import HTTPException

from shelter.database import is_unavailable
from shelter.i18n import LANGUAGES, _, _from_browser, _l, instance_language

#: Werkzeug's own descriptions are English only: ours for the codes people meet. A
#: description a view gave itself (abort(422, description=...)) is shown as it is.
DESCRIPTIONS = {
    400: _l("The request could not be understood. Please go back and try again."),
    401: _l("Log in, or give a valid API token, to use this."),
    403: _l("Your role does not give access to this page."),
    404: _l("There is nothing at this address. Check the link, or go back and try again."),
    405: _l("This page cannot be used that way. Please go back and try again."),
    413: _l("What was sent is too large."),
    415: _l("What was sent is not in a form this page accepts."),
    422: _l("What was sent could not be used. Please go back and check it."),
    429: _l("Too many requests in a short time; please wait a little and try again."),
    500: _l("Something went wrong on our side. Nothing was saved; please try again."),
}


def _wants_json() -> bool:
    return request.path.startswith("/api/")


def message_for(err: HTTPException) -> str:
    """The error's description in the request's language."""
    own = err.description and err.description != type(err).description
    if own or err.code not in DESCRIPTIONS:
        return str(err.description or "")
    return str(DESCRIPTIONS[err.code])


def init_app(app: Flask) -> None:
    @app.errorhandler(CSRFError)
    def csrf_error(err: CSRFError):  # type: ignore[no-untyped-def]
        msg = _("The form expired or was sent twice. Please try again; nothing was saved.")
        return render_template("errors/error.html", code=400, message=msg), 400

    @app.errorhandler(HTTPException)
    def http_error(err: HTTPException):  # type: ignore[no-untyped-def]
        if _wants_json():
            body = {"error": err.name.lower().replace(" ", "_"), "message": message_for(err)}
            return jsonify(body), err.code
        return render_template("errors/error.html", code=err.code,
                               message=message_for(err)), err.code

    @app.errorhandler(SQLAlchemyError)
    def database_error(err: SQLAlchemyError):  # type: ignore[no-untyped-def]
        if not is_unavailable(err):
            raise err  # a bug: Flask answers 500 and logs the traceback
        return unavailable(err)


def language_without_database() -> str:
    """The request's language decided without asking the database (the user's stored choice
    is copied into the session at log-in and at every switch): session, browser, instance."""
    chosen = session.get("language")
    if chosen in LANGUAGES:
        return str(chosen)
    return _from_browser() or instance_language()


def unavailable(err: BaseException) -> Response:
    """503 + Retry-After. The page is rendered without context processors (they ask the
    database who is logged in), in a language chosen without the database; the request log
    gets the error class, not a traceback."""
    g.request_error = f"{err.__class__.__name__}: {getattr(err, 'orig', err).__class__.__name__}"
    retry_after = int(current_app.config.get("RETRY_AFTER", 30))
    lang = language_without_database()
    with force_locale(lang):
        if _wants_json():
            response = jsonify({"error": "unavailable",
                                "message": _("The database is unavailable; try again later.")})
        else:
            page = current_app.jinja_env.get_template("errors/unavailable.html")
            response = Response(page.render(retry_after=retry_after, lang=lang),
                                mimetype="text/html")
    response.status_code = 503
    response.headers["Retry-After"] = str(retry_after)
    return response
