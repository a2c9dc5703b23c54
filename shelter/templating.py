"""Template helpers: date formats, the navigation a role sees."""
from __future__ import annotations

from datetime import date, datetime
from typing import Any

from flask import Flask
from flask_login import current_user

from shelter.models import Role

NAV: dict[Role, list[tuple[str, str]]] = {
    Role.INTAKE: [("intake.board", "Tonight"), ("people.search", "People"),
                  ("people.safety", "Safety")],
    Role.PARTNER: [("partners.index", "Pre-bookings")],
    Role.MANAGER: [("reports.index", "Reports"), ("intake.board", "Tonight"),
                   ("people.search", "People"), ("people.safety", "Safety"),
                   ("people.scheme", "Need scheme"), ("cold.index", "Cold nights")],
    Role.ADMIN: [("admin.index", "Admin"), ("intake.board", "Tonight"),
                 ("people.search", "People"), ("reports.index", "Reports"),
                 ("people.scheme", "Need scheme"), ("cold.index", "Cold nights")],
}


def init_app(app: Flask) -> None:
    @app.template_filter("day")
    def day(value: date | datetime | None) -> str:
        return "" if value is None else value.strftime("%a %d %b %Y")

    @app.template_filter("hm")
    def hm(value: Any) -> str:
        return "" if value is None else value.strftime("%H:%M")

    @app.context_processor
    def nav() -> dict[str, Any]:
        items = NAV.get(current_user.role, []) if current_user.is_authenticated else []
        return {"nav_items": items}
