"""Health endpoints (public, no personal data) and the JSON request log (one line per
request, the route's rule rather than its path, no personal data)."""
from __future__ import annotations

import json

from sqlalchemy import text

from shelter.models import Role
from tests.shelter.conftest import login


def test_healthz_and_readyz_answer_anonymous_callers(client):
    alive = client.get("/healthz")
    assert alive.status_code == 200 and alive.get_json() == {"status": "alive"}
    ready = client.get("/readyz")
    assert ready.status_code == 200 and ready.get_json() == {"status": "ready"}


def test_readyz_is_503_when_the_schema_is_behind_the_migrations(client, db):
    db.session.execute(text("UPDATE alembic_version SET version_num = '0001'"))
    ready = client.get("/readyz")
    assert ready.status_code == 503 and ready.headers["Retry-After"]
    assert ready.get_json()["reason"] == "migrations"
    assert client.get("/healthz").status_code == 200  # alive all the same


def request_lines(err: str) -> list[dict]:
    return [json.loads(line) for line in err.splitlines() if line.startswith('{"ts"')]


def test_one_json_line_per_request_without_personal_data(client, make_user, make_site, capsys):
    user = make_user(Role.INTAKE, username="kari.nordmann")
    capsys.readouterr()
    login(client, user)
    client.get("/people/424242")
    client.get("/healthz?name=Kari")
    lines = request_lines(capsys.readouterr().err)
    assert [(x["method"], x["route"], x["status"]) for x in lines] == [
        ("POST", "/login", 302), ("GET", "/people/<int:person_id>", 404),
        ("GET", "/healthz", 200)]
    assert lines[1]["user_id"] == user.id and lines[0]["ms"] >= 0
    text_ = json.dumps(lines)
    assert "kari" not in text_.lower() and "424242" not in text_
