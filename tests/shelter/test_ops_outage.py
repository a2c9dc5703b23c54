"""Database down or hanging: every request answers 503 with Retry-After (an HTML page, or
JSON {"error": "unavailable"} under /api/), never a 500, and each failed request writes one
log line, not a traceback. Shown on a throwaway PostgreSQL cluster this test starts on a
port of its own, stops, freezes (SIGSTOP: a hung server), resumes and removes."""
from __future__ import annotations

import json
import threading
from collections.abc import Iterator
from typing import Any

import pytest

from shelter.auth import hash_password
from shelter.extensions import db
from shelter.models import Organisation, OrgKind, Role, User
from shelter.services.tokens import create_token
from tests.shelter.conftest import build_app
from tests.shelter.pg_cluster import Cluster

TIMEOUTS = {"DB_CONNECT_TIMEOUT": 2, "DB_STATEMENT_TIMEOUT": 2, "DB_LOCK_TIMEOUT": 1,
            "RETRY_AFTER": 7}


@pytest.fixture()
def cluster() -> Iterator[Cluster]:
    pg = Cluster()
    try:
        pg.start()
        yield pg
    finally:
        pg.remove()


def _seed(app: Any) -> str:
    with app.app_context():
        org = Organisation(name="Kirkens Bymisjon", kind=OrgKind.NGO)
        db.session.add_all([org, User(username="kari", display_name="Kari", role=Role.INTAKE,
                                      password_hash=hash_password("correct horse battery"))])
        db.session.flush()
        token = create_token(db.session, org.name)
        db.session.commit()
    return token


def _json_lines(err: str) -> list[dict[str, Any]]:
    return [json.loads(x) for x in err.splitlines() if x.startswith('{"ts"')]


def _assert_unavailable(client: Any, token: str) -> None:
    page = client.get("/intake/")
    assert page.status_code == 503 and page.headers["Retry-After"] == "7"
    assert page.mimetype == "text/html" and "Temporarily unavailable" in page.get_data(True)
    api = client.get("/api/v1/holds", headers={"Authorization": f"Bearer {token}"})
    assert api.status_code == 503 and api.headers["Retry-After"] == "7", api.get_data(True)[:300]
    assert api.is_json, (api.mimetype, api.get_data(True)[:300])
    assert api.get_json()["error"] == "unavailable"
    login = client.post("/login", data={"username": "kari", "password": "x" * 12})
    assert login.status_code == 503
    ready = client.get("/readyz")
    assert ready.status_code == 503 and ready.is_json, (ready.mimetype, ready.get_data(True)[:300])
    assert ready.get_json()["reason"] == "database"
    assert client.get("/healthz").status_code == 200


def test_stopped_and_hung_database_answer_503_not_500(cluster, capsys, caplog):
    app = build_app(cluster.url, **TIMEOUTS)
    token = _seed(app)
    client = app.test_client()
    assert client.post("/login", data={"username": "kari", "password": "correct horse battery"}
                       ).status_code == 302
    assert client.get("/intake/").status_code == 200
    capsys.readouterr()

    cluster.stop()  # down: connections refused
    for _ in range(3):
        _assert_unavailable(client, token)
    err = capsys.readouterr().err
    lines = _json_lines(err)
    assert len(lines) == 15 and "Traceback" not in err  # one line per request, no tracebacks
    assert {x["status"] for x in lines} == {503, 200}
    assert all(x.get("error") for x in lines if x["status"] == 503)

    cluster.start()  # back: the pool recovers on its own
    assert client.get("/readyz").status_code == 200
    assert client.get("/intake/").status_code == 200

    cluster.hang()  # hung: open connections and new ones get no answer at all
    try:
        answers: list[Any] = []
        worker = threading.Thread(target=lambda: answers.append(_assert_unavailable(client, token)))
        worker.start()
        worker.join(timeout=120)  # a generous bound; without timeouts it would never return
        assert not worker.is_alive(), "a request waited on the hung database"
        assert answers == [None]  # _assert_unavailable passed
    finally:
        cluster.resume()
    assert client.get("/intake/").status_code == 200
    assert not [r for r in caplog.records if r.exc_info], "no tracebacks in the logs"
    with app.app_context():
        db.engine.dispose()
