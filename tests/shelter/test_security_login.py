"""Issue 11, log-in and sessions: throttling failed log-ins and API tokens (Flask-Limiter,
memory and Redis storage), equal work for unknown usernames, password policy, sessions."""
from __future__ import annotations

import uuid
from pathlib import Path

import pytest

from shelter.extensions import db as _db
from shelter.models import Role
from tests.shelter.conftest import PASSWORD, build_app, login, new_client, scratch_database


def _login(client, username, password):
    return client.post("/login", data={"username": username, "password": password})


def test_ten_wrong_passwords_lock_the_account_even_for_the_right_one(client, make_user):
    user = make_user(Role.INTAKE)
    for _ in range(10):
        assert _login(client, user.username, "wrong password!").status_code == 422
    r = _login(client, user.username, PASSWORD)
    assert r.status_code == 429
    assert "Too many failed attempts to log in" in r.get_data(as_text=True)
    assert "Retry-After" in r.headers
    # from another address too: the count is per account
    other = new_client(client.application)
    r = other.post("/login", data={"username": user.username.upper(), "password": PASSWORD},
                   environ_base={"REMOTE_ADDR": "10.0.0.9"})
    assert r.status_code == 429


def test_nine_wrong_passwords_then_the_right_one_logs_in(client, make_user):
    user = make_user(Role.INTAKE)
    for _ in range(9):
        assert _login(client, user.username, "wrong password!").status_code == 422
    assert _login(client, user.username, PASSWORD).status_code == 302


def test_ten_staff_behind_one_address_all_log_in(app, db, make_user):
    """Successful log-ins are not counted: one office, one address, a whole shift."""
    app.config["LOGIN_FAILURES_PER_ADDRESS"] = "5 per 15 minutes"
    try:
        for _ in range(10):
            staff = new_client(app)
            login(staff, make_user(Role.INTAKE))
    finally:
        app.config["LOGIN_FAILURES_PER_ADDRESS"] = "50 per 15 minutes"


def test_failures_from_one_address_across_accounts_are_limited(app, client, make_user):
    app.config["LOGIN_FAILURES_PER_ADDRESS"] = "5 per 15 minutes"
    try:
        for n in range(5):
            assert _login(client, f"nobody{n}", "wrong password!").status_code == 422
        user = make_user(Role.INTAKE)
        assert _login(client, user.username, PASSWORD).status_code == 429
        elsewhere = new_client(app)
        r = elsewhere.post("/login", data={"username": user.username, "password": PASSWORD},
                           environ_base={"REMOTE_ADDR": "10.0.0.7"})
        assert r.status_code == 302
    finally:
        app.config["LOGIN_FAILURES_PER_ADDRESS"] = "50 per 15 minutes"


def test_wrong_api_tokens_are_limited_per_address(app, client, make_org, db):
    from shelter.services.tokens import create_token

    make_org("NAV")
    good = create_token(db.session, "NAV")
    app.config["API_TOKEN_FAILURES_PER_ADDRESS"] = "3 per 15 minutes"
    try:
        for _ in range(3):
            r = client.get("/api/v1/availability", headers={"Authorization": "Bearer shb_x"})
            assert r.status_code == 401
        r = client.get("/api/v1/availability", headers={"Authorization": f"Bearer {good}"})
        assert r.status_code == 429
        assert r.is_json
        r = client.get("/api/v1/availability", headers={"Authorization": f"Bearer {good}"},
                       environ_base={"REMOTE_ADDR": "10.0.0.8"})
        assert r.status_code == 200
    finally:
        app.config["API_TOKEN_FAILURES_PER_ADDRESS"] = "30 per 15 minutes"


def test_the_limit_holds_across_app_instances_with_redis_storage(backend, tmp_path: Path):
    """Two app instances (two workers) sharing Redis see one count."""
    redis = pytest.importorskip("redis")
    try:
        redis.Redis.from_url("redis://127.0.0.1:6379").ping()
    except redis.exceptions.ConnectionError:
        pytest.fail("Redis is not running on 127.0.0.1:6379 (.ci/run starts it)")
    settings = {"RATELIMIT_STORAGE_URI": "redis://127.0.0.1:6379",
                "RATELIMIT_KEY_PREFIX": f"shelter-test-{uuid.uuid4().hex}",
                "LOGIN_FAILURES_PER_ACCOUNT": "3 per 15 minutes"}
    with scratch_database(backend, tmp_path, "redis") as url:
        one = build_app(url, **settings)
        two = build_app(url, **settings)
        try:
            with one.app_context():
                from shelter.services.accounts import create_user

                create_user(_db.session, username="kari", display_name="Kari",
                            role=Role.INTAKE, password=PASSWORD)
                _db.session.commit()
            for _ in range(3):
                assert _login(one.test_client(), "kari", "wrong password!").status_code == 422
            assert _login(two.test_client(), "kari", PASSWORD).status_code == 429
        finally:
            # No limiter.reset() here: on Redis it would delete every limits key on the
            # server; these keys carry their own prefix and expire with the window.
            for app in (one, two):
                with app.app_context():
                    _db.session.remove()
                    _db.engine.dispose()
