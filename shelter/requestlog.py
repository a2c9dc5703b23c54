"""One JSON line per request on stderr: time, method, route (the URL rule, so no ids or
names), status, duration, user id or API organisation id, and for a failed request the
error class. No personal data, no query strings, no client addresses. A database outage
writes one such line per failed request (errors.unavailable), not a traceback each."""
from __future__ import annotations

import json
import logging
import sys
import time
from datetime import UTC, datetime
from typing import Any

from flask import Flask, Response, g, request
from sqlalchemy import inspect

log = logging.getLogger("shelter.requests")


class _StderrHandler(logging.Handler):
    """Writes to whatever sys.stderr is at the time (pytest and gunicorn swap it)."""

    def emit(self, record: logging.LogRecord) -> None:
        try:
            sys.stderr.write(self.format(record) + "\n")
        except Exception:  # a closed stream must not break a request
            self.handleError(record)


def _user_id() -> int | None:
    """The logged-in user's id, from Flask-Login's cache only: never a database query."""
    user = g.get("_login_user")
    state = inspect(user, raiseerr=False) if user is not None else None
    if state is not None and state.identity:
        return int(state.identity[0])
    return None


def line(response: Response) -> dict[str, Any]:
    started = g.get("request_started")
    entry: dict[str, Any] = {
        "ts": datetime.now(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z"),
        "method": request.method,
        "route": request.url_rule.rule if request.url_rule else None,
        "status": response.status_code,
        "ms": round((time.perf_counter() - started) * 1000, 1) if started else None,
        "user_id": _user_id(),
    }
    actor = g.get("actor")
    if actor is not None:
        entry["org_id"] = getattr(actor, "organisation_id", None)
    if error := g.get("request_error"):
        entry["error"] = error
    return entry


def init_app(app: Flask) -> None:
    if not app.config.get("REQUEST_LOG", True):
        return
    if not any(isinstance(h, _StderrHandler) for h in log.handlers):
        handler = _StderrHandler()
        handler.setFormatter(logging.Formatter("%(message)s"))
        log.addHandler(handler)
        log.setLevel(logging.INFO)
        log.propagate = False

    def _start() -> None:
        g.request_started = time.perf_counter()

    # first of all before-request functions (CSRF's runs before any registered later)
    app.before_request_funcs.setdefault(None, []).insert(0, _start)

    @app.after_request
    def _log(response: Response) -> Response:
        log.info(json.dumps(line(response), separators=(",", ":")))
        return response
