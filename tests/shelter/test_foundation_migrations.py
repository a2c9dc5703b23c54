"""Migrations: `flask db upgrade` builds the schema from empty, `downgrade base` removes it,
and the models agree with the migrations (autogenerate finds nothing pending)."""
from __future__ import annotations

from typing import Any

from alembic.autogenerate import compare_metadata
from alembic.migration import MigrationContext
from sqlalchemy import inspect

from shelter import create_app
from shelter.extensions import db as _db
from tests.shelter.conftest import scratch_database

EXPECTED_TABLES = {
    "sites", "rooms", "beds", "bed_outages", "other_services", "organisations", "users",
    "user_sites", "api_tokens", "quotas", "people", "organisation_people", "need_schemes",
    "assessments", "requests", "holds", "hold_refusals", "placements", "allocation_runs",
    "overrides", "restrictions", "keep_aparts", "audit_events", "job_runs",
}


def _cli(app: Any, *args: str) -> None:
    result = app.test_cli_runner().invoke(args=list(args))
    assert result.exit_code == 0, (result.output, result.exception)


def _tables() -> set[str]:
    return set(inspect(_db.engine).get_table_names()) - {"alembic_version"}


def test_upgrade_from_empty_matches_models_and_downgrades_to_base(backend, tmp_path):
    with scratch_database(backend, tmp_path, "migrations") as url:
        app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url,
                          "SECRET_KEY": "x", "SCHEDULER_ENABLED": False})
        with app.app_context():
            try:
                assert _tables() == set()
                _cli(app, "db", "upgrade")
                # Every model has its table and no migration made a table no model knows.
                assert EXPECTED_TABLES <= _tables() == set(_db.metadata.tables)

                with _db.engine.connect() as conn:
                    context = MigrationContext.configure(
                        conn, opts={"compare_type": True, "compare_server_default": True})
                    diff = compare_metadata(context, _db.metadata)
                assert diff == []

                _cli(app, "db", "downgrade", "base")
                assert _tables() == set()
                _cli(app, "db", "upgrade")  # and back up again: downgrade left nothing behind
                assert _tables() == set(_db.metadata.tables)
            finally:
                _db.engine.dispose()
