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


# --- unknown usernames cost the same ----------------------------------------------------------

def test_unknown_and_known_usernames_each_cost_one_argon2_verification(client, db, make_user,
                                                                      make_org, monkeypatch):
    from argon2 import PasswordHasher

    from shelter import auth

    calls: list[str] = []

    class Counting(PasswordHasher):
        def verify(self, hash: str | bytes, password: str | bytes) -> bool:  # noqa: A002
            calls.append(str(hash))
            return super().verify(hash, password)

    monkeypatch.setattr(auth, "_hasher", Counting())
    user = make_user(Role.INTAKE)
    inactive = make_user(Role.INTAKE)
    inactive.active = False
    org = make_org("Closed")
    org.active = False
    closed = make_user(Role.PARTNER, organisation=org)
    for username in ("nobody-at-all", user.username, inactive.username, closed.username):
        calls.clear()
        assert _login(client, username, "wrong password!").status_code == 422
        assert len(calls) == 1, username
        assert calls[0].startswith("$argon2id$")


# --- password policy ---------------------------------------------------------------------------

@pytest.mark.parametrize("password, message", [
    ("short pass", "Use at least 12 characters."),
    ("password1234", "too easy to guess"),
    ("qwertyuiop123", "too easy to guess"),
    ("kari-nordmann", "too easy to guess"),  # the user's own name
])
def test_the_password_policy(db, password, message):
    from shelter.services.accounts import FieldError, check_password

    with pytest.raises(FieldError, match=message):
        check_password(password, "kari", "Kari Nordmann")


def test_users_change_their_own_password(app, client, db, make_user):
    user = make_user(Role.INTAKE)
    login(client, user)
    other_device = new_client(app)
    login(other_device, user)
    page = client.get("/account/password")
    assert page.status_code == 200 and "Change your password" in page.get_data(as_text=True)

    r = client.post("/account/password", data={"current": "not it at all", "password": "x",
                                               "confirm": "x"})
    assert r.status_code == 422 and "not your current password" in r.get_data(as_text=True)
    r = client.post("/account/password", data={"current": PASSWORD, "password": "password1234",
                                               "confirm": "password1234"})
    assert r.status_code == 422 and "too easy to guess" in r.get_data(as_text=True)
    new = "lantern orchard pebble"
    r = client.post("/account/password", data={"current": PASSWORD, "password": new,
                                               "confirm": new})
    assert r.status_code == 302
    assert client.get("/intake/").status_code == 200  # this session carries on
    assert other_device.get("/intake/").status_code == 302  # the other one ended
    assert _login(new_client(app), user.username, PASSWORD).status_code == 422
    login(new_client(app), user, new)


def test_an_admin_forces_a_password_change_at_next_login(app, client, db, make_user):
    admin, user = make_user(Role.ADMIN), make_user(Role.INTAKE)
    theirs = new_client(app)
    login(theirs, user)
    login(client, admin)
    assert client.post(f"/admin/users/{user.id}/force-password-change").status_code == 302
    assert theirs.get("/intake/").status_code == 302  # logged out now

    login(theirs, user)
    r = theirs.get("/intake/")
    assert r.status_code == 302 and r.headers["Location"] == "/account/password"
    new = "lantern orchard pebble"
    r = theirs.post("/account/password", data={"current": PASSWORD, "password": new,
                                               "confirm": new})
    assert r.status_code == 302
    assert theirs.get("/intake/").status_code == 200


def test_an_admin_reset_password_must_pass_the_policy(client, db, make_user):
    admin, user = make_user(Role.ADMIN), make_user(Role.INTAKE)
    login(client, admin)
    r = client.post(f"/admin/users/{user.id}/password",
                    data={"password": "password1234", "confirm": "password1234"})
    assert r.status_code == 422 and "too easy to guess" in r.get_data(as_text=True)


# --- sessions ----------------------------------------------------------------------------------

def test_a_session_ends_after_the_idle_time(client, db, make_user):
    from datetime import timedelta

    from shelter.models import User, utcnow

    user = make_user(Role.INTAKE)
    login(client, user)
    assert client.get("/intake/").status_code == 200
    db.session.get(User, user.id).session_seen_at = utcnow() - timedelta(minutes=31)
    r = client.get("/intake/")
    assert r.status_code == 302 and "/login" in r.headers["Location"]


def test_a_session_ends_after_its_lifetime_even_when_busy(client, db, make_user):
    from datetime import timedelta

    from shelter.models import User, utcnow

    user = make_user(Role.INTAKE)
    login(client, user)
    db.session.get(User, user.id).session_started_at = utcnow() - timedelta(hours=12, minutes=1)
    r = client.get("/intake/")
    assert r.status_code == 302 and "/login" in r.headers["Location"]
    login(client, user)  # a new log-in starts a new session
    assert client.get("/intake/").status_code == 200


def test_the_idle_time_is_a_setting(app, client, db, make_user):
    from datetime import timedelta

    from shelter.models import User, utcnow

    user = make_user(Role.INTAKE)
    login(client, user)
    db.session.get(User, user.id).session_seen_at = utcnow() - timedelta(minutes=31)
    app.config["SESSION_IDLE_MINUTES"] = 60
    try:
        assert client.get("/intake/").status_code == 200
    finally:
        app.config["SESSION_IDLE_MINUTES"] = 30


def test_a_deactivated_organisation_shuts_out_its_users_and_live_sessions(client, db, make_user,
                                                                         make_org):
    org = make_org("Frelsesarmeen")
    user = make_user(Role.PARTNER, organisation=org)
    login(client, user)
    assert client.get("/partner/").status_code == 200
    org.active = False
    r = client.get("/partner/")
    assert r.status_code == 302 and "/login" in r.headers["Location"]
    assert _login(new_client(client.application), user.username, PASSWORD).status_code == 422


def test_secure_cookie_and_hsts_come_from_the_environment(monkeypatch, tmp_path):
    from shelter.config import from_environment

    monkeypatch.setenv("SESSION_COOKIE_SECURE", "1")
    monkeypatch.setenv("HSTS_SECONDS", "31536000")
    monkeypatch.setenv("SECRET_KEY", "x")
    config = from_environment(tmp_path)
    assert config["SESSION_COOKIE_SECURE"] is True and config["REMEMBER_COOKIE_SECURE"] is True
    assert config["HSTS_SECONDS"] == 31536000
    monkeypatch.setenv("SESSION_COOKIE_SECURE", "0")
    assert from_environment(tmp_path)["SESSION_COOKIE_SECURE"] is False


def test_hsts_header_when_set(app, client):
    app.config["HSTS_SECONDS"] = 600
    try:
        assert client.get("/login").headers["Strict-Transport-Security"].startswith("max-age=600")
    finally:
        app.config["HSTS_SECONDS"] = 0
    assert "Strict-Transport-Security" not in client.get("/login").headers
