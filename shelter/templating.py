"""Template helpers: the navigation a role sees (dates and numbers: shelter.i18n)."""
from __future__ import annotations

from typing import Any

from flask import Flask
from flask_login import current_user

from shelter.auth import mfa_missing
from shelter.i18n import _l
from shelter.models import Role

NAV: dict[Role, list[tuple[str, str]]] = {
    Role.INTAKE: [("intake.board", _l("Tonight")), ("people.search", _l("People")),
                  ("people.safety", _l("Safety"))],
    Role.PARTNER: [("partners.index", _l("Pre-bookings"))],
    Role.MANAGER: [("reports.index", _l("Reports")), ("intake.board", _l("Tonight")),
                   ("people.search", _l("People")), ("people.safety", _l("Safety")),
                   ("people.scheme", _l("Need scheme")), ("cold.index", _l("Cold nights"))],
    Role.ADMIN: [("admin.index", _l("Admin")), ("intake.board", _l("Tonight")),
                 ("people.search", _l("People")), ("reports.index", _l("Reports")),
                 ("people.scheme", _l("Need scheme")), ("cold.index", _l("Cold nights"))],
}


def init_app(app: Flask) -> None:
    @app.context_processor
    def nav() -> dict[str, Any]:
        items = NAV.get(current_user.role, []) if current_user.is_authenticated else []
        if items and mfa_missing(current_user):  # only enrolment opens until it is done
            items = []
        return {"nav_items": items}
