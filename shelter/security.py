"""Response hardening and request limits, registered by the app factory in one line:
local-only return URLs, security headers, body size and JSON depth limits, bounded integers
in URLs."""
from __future__ import annotations

import re

from typing import Any

from flask import Blueprint, Flask, Response, current_app, jsonify, request, session, url_for
from flask_limiter import Limiter
from flask_limiter.util import get_remote_address
from werkzeug.exceptions import NotFound
from werkzeug.routing import IntegerConverter

from shelter.i18n import _

# Anything a browser strips or reinterprets inside a URL (tabs, newlines, other control
# characters, backslashes) is refused: "/\t/evil.example" reaches the browser as
# "//evil.example", a link to another site.
_UNSAFE = re.compile(r"[\x00-\x20\x7f\\]")


def local_path(target: str | None, default_endpoint: str, **default_values: object) -> str:
    """`target` when it is a path on this site ("/people/3?x=1"), else the URL of
    `default_endpoint`. Used for every return URL a request names (next=, back=), so no
    link or form can send someone on to another site (an open redirect)."""
    if target and target.startswith("/") and not target.startswith("//") \
            and not _UNSAFE.search(target):
        return target
    return url_for(default_endpoint, **default_values)


# --- numbers in URLs ----------------------------------------------------------------------

MAX_ID = 2**31 - 1  # the databases' INTEGER: a larger id names nothing, so 404


class BoundedIntConverter(IntegerConverter):
    """`<int:...>` whose values beyond 2**31-1 are a 404 (nothing has that id), not an
    overflow in the database driver: /people/99999999999999999999 is Not Found. (NotFound
    is raised here, not a non-match, which would let another route answer 405.)"""

    def to_python(self, value: str) -> Any:
        number = super().to_python(value)
        if number > MAX_ID:
            raise NotFound()
        return number


# --- JSON depth ---------------------------------------------------------------------------

_JSON_STRING = re.compile(r'"(?:[^"\\]|\\.)*"')
_BRACKETS = re.compile(r"[\[\]{}]")


def json_depth(text: str) -> int:
    """How deeply arrays and objects nest in `text` (brackets inside strings do not count)."""
    depth = deepest = 0
    for bracket in _BRACKETS.findall(_JSON_STRING.sub("", text)):
        if bracket in "[{":
            depth += 1
            deepest = max(deepest, depth)
        else:
            depth -= 1
    return deepest


def _limit_json_depth() -> Any:
    """422 for a JSON body nested deeper than MAX_JSON_DEPTH, before anything parses it
    (Python's parser answers a 50,000-deep body with RecursionError, a 500). A body over
    MAX_CONTENT_LENGTH is refused with 413 when it is read."""
    if not request.is_json:
        return None
    limit = int(current_app.config.get("MAX_JSON_DEPTH", 32))
    text = request.get_data(cache=True).decode("utf-8", errors="replace")
    if json_depth(text) > limit:
        reason = _("JSON nested more than %(limit)s levels deep", limit=limit)
        return jsonify({"errors": [{"field": "body", "reason": reason}]}), 422
    return None


# --- headers ------------------------------------------------------------------------------

CSP = ("default-src 'self'; img-src 'self' data:; object-src 'none'; base-uri 'self'; "
       "form-action 'self'; frame-ancestors 'none'")


def _security_headers(response: Response) -> Response:
    """Headers on every response. Pages for a logged-in user and every API answer carry
    people's data, so no browser or proxy may keep a copy (Cache-Control: no-store)."""
    headers = response.headers
    headers.setdefault("Content-Security-Policy", CSP)
    headers.setdefault("X-Content-Type-Options", "nosniff")
    headers.setdefault("Referrer-Policy", "no-referrer")
    headers.setdefault("X-Frame-Options", "DENY")
    if hsts := int(current_app.config.get("HSTS_SECONDS", 0)):
        headers.setdefault("Strict-Transport-Security", f"max-age={hsts}; includeSubDomains")
    # A session naming a user, not current_user: this must not ask the database (a 503 page
    # during an outage passes here too).
    if request.endpoint != "static" and (
            request.path.startswith("/api/") or "_user_id" in session):
        headers["Cache-Control"] = "no-store"
        headers["Pragma"] = "no-cache"
    return response


# --- throttling failed log-ins -------------------------------------------------------------

def locked_out() -> str:
    """The 429 message after too many failed log-ins (in the request's language)."""
    return _("Too many failed attempts to log in. For safety, logging in is paused for a "
             "while; please try again later or ask an admin.")


def bad_tokens() -> str:
    return _("Too many requests with a wrong API token from this address; try again later.")


#: The log-in steps whose failures (422) are counted: the password, then the second factor.
LOGIN_ENDPOINTS = frozenset({"public.login", "public.login_code"})


def _typed_username() -> str:
    """The account a log-in step names: the username typed, or at the code step the one
    whose password was right (kept in the session by views.public)."""
    if request.endpoint == "public.login_code":
        pending = session.get("mfa_pending")
        return str(pending.get("username", "")) if isinstance(pending, dict) else ""
    return (request.form.get("username") or "").strip()


def _account_key() -> str:
    """The account a log-in names (lower case), so wrong passwords and wrong codes are
    counted per account whichever address they come from."""
    return "account:" + _typed_username().lower()[:80]


def _record_throttled(_limit: Any) -> None:
    """A refused (429) log-in attempt is a security event too (written at once: the
    limiter answers before the request's unit of work begins). Once per request."""
    if request.environ.get("shelter.throttle_recorded"):
        return
    request.environ["shelter.throttle_recorded"] = True
    from shelter.extensions import db
    from shelter.services import audit, mfa

    audit.keep_reads()
    mfa.security_event(db.session, None, "login_failed", username=_typed_username(),
                       reason="throttled")
    audit.write_reads(db.session)


def _address_key() -> str:
    return "address:" + get_remote_address()


def throttle_failures(app: Flask) -> Limiter:
    """Flask-Limiter counting FAILED attempts only (`deduct_when`): a wrong password or a
    wrong second-factor code (422) per account and per address, a wrong API token (401) per address. Once a count is full,
    every attempt gets 429 before the password is even checked, the right one too, until
    the window passes. Successful log-ins cost nothing, so ten staff behind one office
    address all get in. One Limiter per app (Flask-Limiter keeps its storage per instance);
    storage from RATELIMIT_STORAGE_URI (memory:// or redis://...)."""
    limiter = Limiter(_address_key, app=app, default_limits=[], headers_enabled=True)

    def not_login() -> bool:
        return request.endpoint not in LOGIN_ENDPOINTS

    # Shared by both log-in steps (one count for wrong passwords and wrong codes).
    limiter.shared_limit(lambda: str(current_app.config["LOGIN_FAILURES_PER_ACCOUNT"]),
                         "login-account", key_func=_account_key, methods=["POST"],
                         exempt_when=not_login,
                         deduct_when=lambda response: response.status_code == 422,
                         error_message=locked_out, on_breach=_record_throttled)(
        _blueprint_name("public"))
    limiter.shared_limit(lambda: str(current_app.config["LOGIN_FAILURES_PER_ADDRESS"]),
                         "login-address", key_func=_address_key, methods=["POST"],
                         exempt_when=not_login,
                         deduct_when=lambda response: response.status_code == 422,
                         error_message=locked_out, on_breach=_record_throttled)(
        _blueprint_name("public"))
    limiter.limit(lambda: str(current_app.config["API_TOKEN_FAILURES_PER_ADDRESS"]),
                  key_func=_address_key,
                  deduct_when=lambda response: response.status_code == 401,
                  error_message=bad_tokens)(_blueprint_name("api"))
    return limiter


def _blueprint_name(name: str) -> Blueprint:
    """A stand-in with the blueprint's name: Flask-Limiter keys blueprint limits by name, so
    the limits can be set before the factory imports and registers the real blueprints."""
    return Blueprint(name, __name__)


def init_app(app: Flask) -> None:
    """Register the hardening on `app` (called by the factory before the blueprints)."""
    app.url_map.converters["int"] = BoundedIntConverter
    app.before_request(_limit_json_depth)
    app.after_request(_security_headers)
    throttle_failures(app)


