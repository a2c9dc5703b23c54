"""Issue 11, the second factor: TOTP enrolment and log-in (codes computed with pyotp at a
clock the test moves), replay refused, wrong codes throttled, recovery codes used once,
roles that must enrol, the demo setting, an admin's reset, and the log-in side's security
events (written even when the answer is 422 or 429)."""
from __future__ import annotations

import re

import pyotp
import pytest
from sqlalchemy import select

from shelter.config import DEFAULT_MFA_ROLES, from_environment, mfa_roles
from shelter.models import AuditEvent, RecoveryCode, Role
from shelter.services import mfa
from tests.shelter.conftest import PASSWORD, login, new_client

T0 = 1_800_000_000.0  # a fixed "now" (seconds since the epoch); steps of 30 s from here
CODES = re.compile(r"<code>([a-z0-9]{5}-[a-z0-9]{5})</code>")


@pytest.fixture()
def clock(monkeypatch):
    """The TOTP clock: `clock.now` seconds since the epoch; move it with `clock.now += 30`."""

    class Clock:
        now = T0

    monkeypatch.setattr(mfa, "_now", lambda: Clock.now)
    return Clock


@pytest.fixture()
def required(app, monkeypatch):
    """The production default: staff roles must have a second factor."""
    monkeypatch.setitem(app.config, "MFA_REQUIRED_ROLES", DEFAULT_MFA_ROLES)


def _events(db, action: str) -> list[AuditEvent]:
    return list(db.session.scalars(select(AuditEvent).where(
        AuditEvent.action == f"security.{action}").order_by(AuditEvent.id)))


def _code(user, at: float) -> str:
    return pyotp.TOTP(user.totp_secret).at(at)


def _wrong(user, at: float) -> str:
    """Six digits that are not the code of the step at `at` nor of its neighbours."""
    near = {_code(user, at + d) for d in (-30, 0, 30)}
    return next(c for c in ("000000", "111111", "222222", "333333") if c not in near)


def _enrol(client, db, user, clock) -> list[str]:
    """Set up the second factor through the pages; returns the recovery codes shown."""
    page = client.get("/account/mfa/")
    assert page.status_code == 200
    db.session.refresh(user)
    assert user.totp_secret and mfa.grouped(user.totp_secret) in page.get_data(as_text=True)
    r = client.post("/account/mfa/", data={"code": _code(user, clock.now)})
    assert r.status_code == 200, r.get_data(as_text=True)[:800]
    codes = CODES.findall(r.get_data(as_text=True))
    assert len(codes) == mfa.RECOVERY_CODES
    return codes


def _password(client, user, password=PASSWORD):
    return client.post("/login", data={"username": user.username, "password": password})


def test_enrol_then_log_in_with_a_code_from_the_app(client, db, make_user, clock):
    user = make_user(Role.INTAKE)
    login(client, user)
    page = client.get("/account/mfa/").get_data(as_text=True)
    assert 'src="data:image/svg+xml' in page  # the QR code, drawn here
    assert "style=" not in page and "<script" not in page
    db.session.refresh(user)
    # a wrong code: refused beside the field, nothing in force, recorded
    r = client.post("/account/mfa/", data={"code": _wrong(user, clock.now)})
    assert r.status_code == 422
    assert "That code is not right" in r.get_data(as_text=True)
    assert user.mfa_enabled_at is None
    assert [e.detail for e in _events(db, "mfa_failed")] == [
        f"username={user.username} reason=enrol"]
    codes = _enrol(client, db, user, clock)
    db.session.refresh(user)
    assert user.mfa_enabled_at is not None
    assert len(_events(db, "mfa_enabled")) == 1
    # only salted hashes are kept
    rows = list(db.session.scalars(select(RecoveryCode).where(RecoveryCode.user_id == user.id)))
    assert len(rows) == 10 and not {r.code_hash for r in rows} & set(codes)
    # the secret is never shown again: the page now says MFA is on
    page = client.get("/account/mfa/").get_data(as_text=True)
    assert user.totp_secret not in page.replace(" ", "") and "data:image/svg" not in page

    other = new_client(client.application)
    r = _password(other, user)
    assert r.status_code == 302 and r.headers["Location"].endswith("/login/code")
    # the password alone does not log in
    assert other.get("/intake/").status_code == 302
    assert "/login" in other.get("/intake/").headers["Location"]
    clock.now += 30
    r = other.post("/login/code", data={"code": _code(user, clock.now)})
    assert r.status_code == 302 and r.headers["Location"].endswith("/intake/")
    assert other.get("/intake/").status_code == 200
    assert _events(db, "login")[-1].detail == f"username={user.username} factor=totp"


def test_the_same_code_is_refused_a_second_time(client, db, make_user, clock):
    user = make_user(Role.INTAKE)
    login(client, user)
    _enrol(client, db, user, clock)
    clock.now += 30
    code = _code(user, clock.now)
    first, second = new_client(client.application), new_client(client.application)
    assert _password(first, user).status_code == 302
    assert first.post("/login/code", data={"code": code}).status_code == 302
    assert _password(second, user).status_code == 302
    r = second.post("/login/code", data={"code": code})  # replayed within its window
    assert r.status_code == 422
    assert second.get("/intake/").status_code == 302
    # the code of the step before, still inside the drift window, is refused too
    assert second.post("/login/code",
                       data={"code": _code(user, clock.now - 30)}).status_code == 422
    # the next step's code works
    clock.now += 30
    assert second.post("/login/code", data={"code": _code(user, clock.now)}).status_code == 302
    failed = [e.detail for e in _events(db, "login_failed")]
    assert failed == [f"username={user.username} reason=wrong_code"] * 2


def test_wrong_codes_are_throttled_per_account(client, db, make_user, clock):
    user = make_user(Role.INTAKE)
    login(client, user)
    _enrol(client, db, user, clock)
    clock.now += 30
    other = new_client(client.application)
    assert _password(other, user).status_code == 302
    for _n in range(10):
        assert other.post("/login/code", data={"code": "12345x"}).status_code == 422
    r = other.post("/login/code", data={"code": _code(user, clock.now)})
    assert r.status_code == 429  # the right code too, until the window passes
    # the count is the account's: the password step from elsewhere is refused as well
    third = new_client(client.application)
    r = third.post("/login", data={"username": user.username, "password": PASSWORD},
                   environ_base={"REMOTE_ADDR": "10.0.0.5"})
    assert r.status_code == 429
    reasons = [e.detail.split("reason=")[1] for e in _events(db, "login_failed")]
    assert reasons == ["wrong_code"] * 10 + ["throttled"] * 2


def test_a_recovery_code_logs_in_once(client, db, make_user, clock):
    user = make_user(Role.INTAKE)
    login(client, user)
    codes = _enrol(client, db, user, clock)
    other = new_client(client.application)
    assert _password(other, user).status_code == 302
    r = other.post("/login/code", data={"code": codes[3].upper().replace("-", " ")},
                   follow_redirects=True)
    assert r.status_code == 200 and "9 are left" in r.get_data(as_text=True)
    assert other.get("/intake/").status_code == 200
    assert _events(db, "recovery_code_used")[-1].detail == f"username={user.username} left=9"
    assert _events(db, "login")[-1].detail.endswith("factor=recovery_code")
    again = new_client(client.application)
    assert _password(again, user).status_code == 302
    assert again.post("/login/code", data={"code": codes[3]}).status_code == 422
    assert again.post("/login/code", data={"code": codes[4]}).status_code == 302
    assert mfa.recovery_codes_left(db.session, user) == 8


def test_new_recovery_codes_replace_the_old_ones(client, db, make_user, clock):
    user = make_user(Role.MANAGER)
    login(client, user)
    old = _enrol(client, db, user, clock)
    assert client.post("/account/mfa/recovery-codes",
                       data={"code": _wrong(user, clock.now)}).status_code == 422
    assert _events(db, "mfa_failed")[-1].detail.endswith("reason=recovery_codes")
    clock.now += 30
    r = client.post("/account/mfa/recovery-codes", data={"code": _code(user, clock.now)})
    new = CODES.findall(r.get_data(as_text=True))
    assert r.status_code == 200 and len(new) == 10 and not set(new) & set(old)
    other = new_client(client.application)
    assert _password(other, user).status_code == 302
    assert other.post("/login/code", data={"code": old[0]}).status_code == 422
    assert other.post("/login/code", data={"code": new[0]}).status_code == 302


def test_a_required_role_without_mfa_can_only_enrol(client, db, make_user, clock, required):
    user = make_user(Role.INTAKE)
    login(client, user)  # the password is right: logged in, but only enrolment opens
    for url in ("/intake/", "/people/", "/account/password"):
        r = client.get(url)
        assert r.status_code == 302 and r.headers["Location"].endswith("/account/mfa/"), url
    page = client.get("/account/mfa/").get_data(as_text=True)
    assert "Your role works with sensitive information" in page
    assert 'href="/intake/"' not in page  # no menu leads elsewhere until it is set up
    _enrol(client, db, user, clock)
    assert client.get("/intake/").status_code == 200
    assert 'href="/intake/"' in client.get("/account/mfa/").get_data(as_text=True)


def test_partners_may_but_need_not_enrol(client, db, make_user, make_org, clock, required):
    partner = make_user(Role.PARTNER, organisation=make_org("NAV"))
    login(client, partner)
    assert client.get("/partner/").status_code == 200
    _enrol(client, db, partner, clock)
    other = new_client(client.application)
    assert _password(other, partner).headers["Location"].endswith("/login/code")


def test_the_demo_setting_logs_in_with_the_password_and_says_so(client, make_user, app,
                                                                 monkeypatch):
    assert app.config["MFA_REQUIRED_ROLES"] == ""
    assert "asks nobody for a second factor" in client.get("/login").get_data(as_text=True)
    login(client, make_user(Role.ADMIN))
    assert client.get("/admin/").status_code == 200
    monkeypatch.setitem(app.config, "MFA_REQUIRED_ROLES", "admin")
    anonymous = new_client(app)
    assert "asks nobody" not in anonymous.get("/login").get_data(as_text=True)


def test_the_setting_defaults_to_staff_roles_and_refuses_a_typo(monkeypatch, tmp_path):
    monkeypatch.delenv("MFA_REQUIRED_ROLES", raising=False)
    monkeypatch.setenv("SECRET_KEY", "x")
    assert from_environment(tmp_path)["MFA_REQUIRED_ROLES"] == {"admin", "manager", "intake"}
    monkeypatch.setenv("MFA_REQUIRED_ROLES", "")
    assert from_environment(tmp_path)["MFA_REQUIRED_ROLES"] == frozenset()
    assert mfa_roles(" Admin , partner") == {"admin", "partner"}
    with pytest.raises(ValueError, match="unknown role 'admins'"):
        mfa_roles("admins")


def test_an_admin_resets_a_second_factor(client, db, make_user, clock):
    user = make_user(Role.INTAKE)
    theirs = new_client(client.application)
    login(theirs, user)
    _enrol(theirs, db, user, clock)
    admin = make_user(Role.ADMIN)
    login(client, admin)
    page = client.get(f"/admin/users/{user.id}/edit").get_data(as_text=True)
    assert "Take away the second factor" in page
    # intake staff may not
    intake = new_client(client.application)
    login(intake, make_user(Role.INTAKE))
    assert intake.post(f"/admin/users/{user.id}/mfa-reset").status_code == 403
    r = client.post(f"/admin/users/{user.id}/mfa-reset")
    assert r.status_code == 302
    db.session.refresh(user)
    assert (user.totp_secret, user.totp_last_step, user.mfa_enabled_at) == (None, None, None)
    assert mfa.recovery_codes_left(db.session, user) == 0
    assert theirs.get("/intake/").status_code == 302  # logged out everywhere
    event = _events(db, "mfa_reset")[-1]
    assert (event.username, event.detail) == (admin.username, f"username={user.username}")
    # the password alone logs in again (their role is not required here)
    assert _password(new_client(client.application), user).headers["Location"].endswith(
        "/intake/")


def test_log_in_events_are_written_even_for_422(client, db, make_user):
    user = make_user(Role.INTAKE)
    assert _password(client, user, "wrong password!").status_code == 422
    assert client.post("/login", data={"username": "nobody", "password": "x" * 12}
                       ).status_code == 422
    user.active = False
    db.session.flush()
    assert _password(client, user).status_code == 422
    user.active = True
    db.session.flush()
    assert [e.detail for e in _events(db, "login_failed")] == [
        f"username={user.username} reason=wrong_password", "username=nobody reason=unknown",
        f"username={user.username} reason=inactive"]
    assert all(e.username == "system" and e.person_id is None
               for e in _events(db, "login_failed"))
    login(client, user)
    login_event = _events(db, "login")[-1]
    assert (login_event.user_id, login_event.detail) == (
        user.id, f"username={user.username} factor=none")
    new_password = "lantern meadow quietly 42"
    r = client.post("/account/password", data={"current": PASSWORD, "password": new_password,
                                               "confirm": new_password})
    assert r.status_code == 302
    assert _events(db, "password_changed")[-1].user_id == user.id
    assert client.post("/logout").status_code == 302
    assert _events(db, "logout")[-1].user_id == user.id


def test_the_code_must_follow_the_password_soon_and_for_a_live_account(client, db, make_user,
                                                                        clock, monkeypatch):
    from shelter.views import public

    user = make_user(Role.INTAKE)
    login(client, user)
    _enrol(client, db, user, clock)
    clock.now += 30
    late = new_client(client.application)
    assert _password(late, user).status_code == 302
    monkeypatch.setattr(public, "PENDING_SECONDS", -1)  # five minutes have passed
    r = late.post("/login/code", data={"code": _code(user, clock.now)})
    assert r.status_code == 302 and r.headers["Location"].endswith("/login")
    assert late.get("/intake/").status_code == 302
    monkeypatch.setattr(public, "PENDING_SECONDS", 300)
    # deactivated between the two steps: the right code does not log in
    closed = new_client(client.application)
    assert _password(closed, user).status_code == 302
    user.active = False
    db.session.flush()
    r = closed.post("/login/code", data={"code": _code(user, clock.now)})
    assert r.status_code == 302 and r.headers["Location"].endswith("/login")
    # a code step without a password step first is no way in
    assert new_client(client.application).post(
        "/login/code", data={"code": _code(user, clock.now)}).headers["Location"].endswith(
        "/login")
