"""Small helpers shared by the partners/API/jobs tests."""
from __future__ import annotations

from datetime import date, timedelta
from typing import Any

from shelter.models import Organisation, OrgKind, Site
from shelter.clock import tonight
from tests.shelter import conftest

TZ = "Europe/Oslo"


def tomorrow() -> date:
    """Tests book for tomorrow: its holds expire tomorrow evening, whatever the time now."""
    return tonight() + timedelta(days=1)


def add_site(session: Any, code: str, beds: int = 1, **fields: Any) -> Site:
    return conftest.add_site(session, code, beds=beds, **fields)


def add_org(session: Any, name: str) -> Organisation:
    org = Organisation(name=name, kind=OrgKind.NGO)
    session.add(org)
    session.flush()
    return org


def new_person(name: str = "Kari", gender: str = "woman", birth_year: int | None = 1990) -> dict[str, Any]:
    return {"name": name, "gender": gender, "birth_year": birth_year}


def fresh_database_url(backend: str, tmp: Any, name: str) -> str:
    """A new, empty database for tests that need real commits (threads, processes).
    PostgreSQL: a sibling database `<TEST_DATABASE_URL's db>_<name>`, so the session-wide
    test database used by the `app` fixture is left alone."""
    from sqlalchemy import create_engine, make_url, text

    from tests.shelter.conftest import postgres_url_or_skip, reset_postgres

    if backend == "sqlite":
        return f"sqlite:///{tmp / (name + '.db')}"
    base = postgres_url_or_skip()
    url = make_url(base)
    target = url.set(database=f"{url.database}_{name}")
    admin = create_engine(url.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        exists = conn.execute(text("SELECT 1 FROM pg_database WHERE datname = :n"),
                              {"n": target.database}).scalar()
        if not exists:
            conn.execute(text(f'CREATE DATABASE "{target.database}"'))
    admin.dispose()
    rendered = target.render_as_string(hide_password=False)
    reset_postgres(rendered)
    return rendered
