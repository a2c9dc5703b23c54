"""Backup and restore bring back a seeded database: every table's row count matches.
SQLite: `flask backup PATH` (online backup API) while the app is open, the copy opened as
the database of a new app. PostgreSQL: `flask backup PATH` runs pg_dump -Fc; pg_restore
loads it into an empty database (the steps README "Running in production" gives)."""
from __future__ import annotations

import subprocess

from sqlalchemy import create_engine, func, inspect, select, table

from shelter.backup import libpq_url
from shelter.extensions import db
from tests.shelter.conftest import build_app
from tests.shelter.partners_fixtures import fresh_database_url


def row_counts(url: str) -> dict[str, int]:
    engine = create_engine(url)
    with engine.connect() as conn:
        names = inspect(conn).get_table_names()
        counts = {n: conn.scalar(select(func.count()).select_from(table(n))) for n in names}
    engine.dispose()
    return counts


def seeded(url: str):  # type: ignore[no-untyped-def]
    app = build_app(url, REQUEST_LOG=False)
    result = app.test_cli_runner().invoke(args=["seed-demo"])
    assert result.exit_code == 0, result.output
    return app


def test_backup_and_restore_bring_back_every_row(backend, tmp_path):
    url = fresh_database_url(backend, tmp_path, "backup")
    app = seeded(url)
    before = row_counts(url)
    assert before["people"] > 10 and before["placements"] > 0 and before["audit_events"] > 0
    target = tmp_path / ("copy.db" if backend == "sqlite" else "copy.dump")
    result = app.test_cli_runner().invoke(args=["backup", str(target)])
    assert result.exit_code == 0, result.output
    assert target.stat().st_size > 0
    again = app.test_cli_runner().invoke(args=["backup", str(target)])
    assert again.exit_code == 2 and "exists" in again.stderr  # never overwrites a backup
    with app.app_context():
        db.engine.dispose()

    if backend == "sqlite":
        restored = f"sqlite:///{target}"
    else:
        restored = fresh_database_url(backend, tmp_path, "restored")  # empty database
        engine = create_engine(restored)
        done = subprocess.run(["pg_restore", "--clean", "--if-exists", "--no-owner",
                               "--exit-on-error", "--dbname", libpq_url(engine), str(target)],
                              capture_output=True, text=True)
        engine.dispose()
        assert done.returncode == 0, done.stderr
    assert row_counts(restored) == before
    copy = build_app(restored, REQUEST_LOG=False)  # the restored copy is a working app
    client = copy.test_client()
    assert client.get("/readyz").status_code == 200
    assert client.post("/login", data={"username": "intake", "password": "intake-shelter"}
                       ).status_code == 302
    assert client.get("/intake/").status_code == 200
    with copy.app_context():
        db.engine.dispose()


def test_backup_refuses_bad_paths(tmp_path):
    app = build_app(f"sqlite:///{tmp_path / 'x.db'}", REQUEST_LOG=False)
    result = app.test_cli_runner().invoke(args=["backup", str(tmp_path / "nope" / "x.db")])
    assert result.exit_code == 2 and "no such folder" in result.stderr
