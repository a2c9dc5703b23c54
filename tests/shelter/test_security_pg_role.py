"""On PostgreSQL the app runs as a role that can only add to the audit trail and cannot
change the schema (deploy/postgres-app-role.sql); migrations run as the owner."""
from __future__ import annotations

import shutil
import subprocess
import uuid
from pathlib import Path
from typing import Iterator

import psycopg
import pytest
from sqlalchemy.engine import make_url

from shelter.extensions import db
from shelter.models import AuditEvent, Role, User
from tests.shelter.conftest import _HASH, PASSWORD, build_app, postgres_url_or_skip

ROOT = Path(__file__).resolve().parents[2]
SCRIPT = ROOT / "deploy" / "postgres-app-role.sql"

pytestmark = pytest.mark.postgres


def _libpq(url: str) -> str:
    return make_url(url).set(drivername="postgresql").render_as_string(hide_password=False)


@pytest.fixture(scope="module")
def databases() -> Iterator[tuple[str, str]]:
    """(owner URL, app-role URL) of a fresh database migrated by its owner, with the app role
    set up by the deploy script."""
    base = make_url(postgres_url_or_skip())
    if shutil.which("psql") is None:
        pytest.fail("psql (PostgreSQL's client) is needed to run the deploy script")
    tag = uuid.uuid4().hex[:8]
    name, role, password = f"shelter_roles_{tag}", f"shelter_app_{tag}", f"pw-{tag}"
    admin = _libpq(base.render_as_string(hide_password=False))
    with psycopg.connect(admin, autocommit=True) as conn:
        conn.execute(f'CREATE DATABASE "{name}"')
    owner = base.set(database=name).render_as_string(hide_password=False)
    app_url = base.set(database=name, username=role, password=password).render_as_string(
        hide_password=False)
    try:
        migrated = build_app(owner)
        with migrated.app_context():
            db.engine.dispose()
        done = subprocess.run(
            ["psql", _libpq(owner), "-v", "ON_ERROR_STOP=1", "-v", f"app_role={role}",
             "-v", f"app_password={password}", "-q", "-f", str(SCRIPT)],
            capture_output=True, text=True)
        assert done.returncode == 0, done.stderr
        yield owner, app_url
    finally:
        with psycopg.connect(admin, autocommit=True) as conn:
            conn.execute(f'DROP DATABASE IF EXISTS "{name}" WITH (FORCE)')
            conn.execute(f'DROP ROLE IF EXISTS "{role}"')


def test_the_app_role_can_add_to_the_audit_trail_but_never_remove_from_it(databases) -> None:
    _owner, app_url = databases
    with psycopg.connect(_libpq(app_url), autocommit=True) as conn:
        conn.execute("INSERT INTO audit_events (at, username, role, action, detail) "
                     "VALUES (now(), 'x', 'intake', 'view', 'ok')")
        assert conn.execute("SELECT count(*) FROM audit_events").fetchone()[0] >= 1
        for statement in ("TRUNCATE audit_events", "DELETE FROM audit_events",
                          "UPDATE audit_events SET detail = 'changed'",
                          "CREATE TABLE scratch (id int)", "DROP TABLE people",
                          "ALTER TABLE people ADD COLUMN x int", "TRUNCATE people"):
            with pytest.raises(psycopg.errors.InsufficientPrivilege):
                conn.execute(statement)
        assert conn.execute("SELECT count(*) FROM audit_events").fetchone()[0] >= 1


def test_the_app_runs_as_the_app_role(databases) -> None:
    owner, app_url = databases
    owner_app = build_app(owner)
    with owner_app.app_context():
        db.session.add(User(username="kari", display_name="Kari", role=Role.INTAKE,
                            password_hash=_HASH))
        db.session.commit()
        before = db.session.query(AuditEvent).count()
        db.session.remove()  # give the connection back before closing the pool
        db.engine.dispose()
    from shelter import create_app

    app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": app_url, "SECRET_KEY": "t",
                      "WTF_CSRF_ENABLED": False, "SCHEDULER_ENABLED": False,
                      "SHELTER_LANGUAGE": "en", "MFA_REQUIRED_ROLES": ""})
    client = app.test_client()
    assert client.get("/readyz").status_code == 200
    assert client.post("/login", data={"username": "kari", "password": PASSWORD}
                       ).status_code == 302
    assert client.get("/intake/").status_code == 200
    created = client.post("/people/new", data={"name": "Ola Nordmann", "birth_year": "1980",
                                               "gender": "man"})
    assert created.status_code == 302, created.get_data(as_text=True)[:300]
    with app.app_context():
        assert db.session.query(AuditEvent).count() > before
        db.session.remove()
        db.engine.dispose()
