"""Who saw whom survives an error answer: a read is written in a transaction of its own once
the request's work is over, while the work's own changes are rolled back."""
from __future__ import annotations

from pathlib import Path

import pytest
from flask import abort
from sqlalchemy import func, select

from shelter.extensions import db
from shelter.models import AuditEvent, Person, Role, User
from shelter.services import audit
from tests.shelter.conftest import _HASH, PASSWORD, build_app, scratch_database


@pytest.fixture()
def app_with_failing_views(backend: str, tmp_path: Path):
    with scratch_database(backend, tmp_path, "auditreads") as url:
        app = build_app(url)

        def shown_then_refused(person_id: int):  # a read, then a 4xx answer
            audit.record(db.session, None, "view", person_id, "shown")
            db.session.get(Person, person_id).name = "changed"  # a change: rolled back
            abort(409)

        def shown_then_crashes(person_id: int):  # a read, then an unexpected error
            audit.record(db.session, None, "view", person_id, "crash")
            raise RuntimeError("boom")

        app.add_url_rule("/test/refused/<int:person_id>", view_func=shown_then_refused)
        app.add_url_rule("/test/crash/<int:person_id>", view_func=shown_then_crashes)
        with app.app_context():
            db.session.add(User(username="kari", display_name="Kari", role=Role.INTAKE,
                                password_hash=_HASH))
            person = Person(name="Ola", gender="man")
            db.session.add(person)
            db.session.commit()
            person_id = person.id
        yield app, person_id
        with app.app_context():
            db.engine.dispose()


def _reads(app, person_id: int, detail: str) -> int:
    with app.app_context():
        return db.session.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.person_id == person_id, AuditEvent.detail == detail))


def test_a_read_is_kept_when_the_answer_is_an_error(app_with_failing_views) -> None:
    app, person_id = app_with_failing_views
    client = app.test_client()
    assert client.post("/login", data={"username": "kari", "password": PASSWORD}
                       ).status_code == 302
    assert client.get(f"/test/refused/{person_id}").status_code == 409
    assert _reads(app, person_id, "shown") == 1
    with app.app_context():
        assert db.session.get(Person, person_id).name == "Ola"  # the change was rolled back
        row = db.session.scalars(select(AuditEvent).where(AuditEvent.detail == "shown")).one()
        assert row.username == "kari" and row.action == "view"
    app.config["PROPAGATE_EXCEPTIONS"] = False
    try:
        assert client.get(f"/test/crash/{person_id}").status_code == 500
    finally:
        app.config["PROPAGATE_EXCEPTIONS"] = None
    assert _reads(app, person_id, "crash") == 1
