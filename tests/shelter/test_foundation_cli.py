"""`flask create-user` and `flask seed-demo`: they commit at their edge; bad input exits
non-zero with one line on stderr."""
from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

import pytest
from argon2 import PasswordHasher
from sqlalchemy import func, select

from shelter.models import (
    Bed, BedOutage, GenderRule, Organisation, OtherService, Quota, Role, Room, Site, User,
)
from shelter.services.inventory import beds_in_service


@pytest.fixture()
def cli(app, db):
    runner = app.test_cli_runner()

    def invoke(*args: str):  # type: ignore[no-untyped-def]
        db.session.commit()  # keep the set-up: a failing command rolls its session back
        return runner.invoke(args=list(args))

    return invoke


def test_create_user_makes_the_first_admin(cli, db):
    result = cli("create-user", "boss", "--password", "a long password")
    assert result.exit_code == 0, result.output
    assert result.output.strip() == "created admin user 'boss'"
    user = db.session.scalar(select(User).where(User.username == "boss"))
    assert user.role is Role.ADMIN and user.password_hash.startswith("$argon2id$")


def test_create_user_makes_a_partner_in_an_organisation(cli, db, make_org):
    make_org("NAV")
    result = cli("create-user", "nils", "--role", "partner", "--organisation", "NAV",
                 "--name", "Nils", "--password", "a long password")
    assert result.exit_code == 0, result.output
    user = db.session.scalar(select(User).where(User.username == "nils"))
    assert (user.display_name, user.organisation.name) == ("Nils", "NAV")


@pytest.mark.parametrize("args, message", [
    (["--password", "short"], "error: --password: Use at least 12 characters."),
    (["--role", "boss", "--password", "a long password"], "error: --role: Choose one of"),
    (["--role", "partner", "--password", "a long password"],
     "error: --organisation: A partner user needs an organisation."),
    (["--organisation", "Nowhere", "--password", "a long password"],
     "error: --organisation: no organisation named 'Nowhere'"),
])
def test_create_user_bad_input_exits_non_zero_with_one_line(cli, db, args, message):
    result = cli("create-user", "kari", *args)
    assert result.exit_code != 0
    assert len(result.stderr.strip().splitlines()) == 1
    assert result.stderr.startswith(message)
    assert db.session.scalar(select(User).where(User.username == "kari")) is None


def test_create_user_refuses_a_taken_username(cli, db, make_user):
    make_user(Role.MANAGER, username="kari")
    result = cli("create-user", "KARI", "--password", "a long password")
    assert result.exit_code != 0
    assert result.stderr.strip() == "error: username: The username 'KARI' is taken."
    assert db.session.scalar(select(func.count()).select_from(User)) == 1


@pytest.fixture()
def base_only(monkeypatch):
    """Seed only the 'base' part (the other parts are tested by their owners)."""
    import shelter.demo

    monkeypatch.setattr(shelter.demo, "PARTS", ["base"])


def _count(db, model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def test_seed_demo_builds_a_bergen_like_city(cli, db, base_only, app):
    result = cli("seed-demo", "--once")
    assert result.exit_code == 0, result.output
    sites = {s.code: s for s in db.session.scalars(select(Site))}
    assert len(sites) == 5 and {s.city for s in sites.values()} == {"Bergen"}
    names = " ".join(s.name for s in sites.values())
    for place in ("Gyldenpris", "Strax-huset", "Vågsbunnen", "Sandviken"):
        assert place in names
    women_only = [s for s in sites.values() if {r.gender for r in s.rooms} == {GenderRule.WOMEN}]
    assert len(women_only) == 1
    assert [(s.min_age, s.max_age) for s in sites.values() if s.min_age] == [(18, 23)]
    assert 140 <= _count(db, Bed) <= 160
    assert _count(db, BedOutage) >= 2
    today = datetime.now(ZoneInfo(app.config["TIMEZONE"])).date()
    in_service = beds_in_service(db.session, today, "Bergen")
    assert 0 < len(in_service) < _count(db, Bed)  # the outages take beds out of service
    assert sum("accessible" in b.features for b in in_service) >= 5

    orgs = {o.name: o.kind.value for o in db.session.scalars(select(Organisation))}
    assert {"NAV", "Kirkens Bymisjon", "Utekontakten", "Politiet", "Legevakten",
            "Krisesenteret"} <= set(orgs)
    assert (orgs["Politiet"], orgs["Legevakten"]) == ("police", "health")
    assert _count(db, Quota) > 5 and _count(db, OtherService) >= 4

    users = {u.username: u for u in db.session.scalars(select(User))}
    assert {u.role for u in users.values()} == set(Role)
    partners = sorted(u.organisation.name for u in users.values() if u.role is Role.PARTNER)
    assert partners == ["Kirkens Bymisjon", "NAV"]
    for username, user in users.items():  # every printed password works
        line = next(line for line in result.output.splitlines() if f" {username} " in line)
        password = line.split("password: ")[1].split()[0]
        assert PasswordHasher().verify(user.password_hash, password)


def test_seed_demo_once_does_nothing_the_second_time(cli, db, base_only):
    assert cli("seed-demo", "--once").exit_code == 0
    before = (_count(db, Site), _count(db, Room), _count(db, Bed), _count(db, User))
    again = cli("seed-demo", "--once")
    assert again.exit_code == 0
    assert len(again.output.strip().splitlines()) == 1 and "already" in again.output
    plain = cli("seed-demo")
    assert plain.exit_code != 0 and len(plain.stderr.strip().splitlines()) == 1
    assert (_count(db, Site), _count(db, Room), _count(db, Bed), _count(db, User)) == before


def test_create_user_refuses_a_common_password(cli, db):
    result = cli("create-user", "kari", "--password", "password1234")
    assert result.exit_code != 0
    assert result.stderr.startswith("error: --password: This password is too easy to guess")
    assert db.session.scalar(select(User).where(User.username == "kari")) is None


@pytest.mark.parametrize("once", [True, False])
def test_seed_demo_refuses_a_database_with_real_users(cli, db, make_user, once):
    make_user(Role.ADMIN, username="kari")
    result = cli("seed-demo", *(["--once"] if once else []))
    assert result.exit_code != 0
    assert len(result.stderr.strip().splitlines()) == 1
    assert "users that are not demo users (kari)" in result.stderr
    assert _count(db, Site) == 0
    assert db.session.scalar(select(User).where(User.username == "admin")) is None


def test_demo_passwords_satisfy_the_password_policy():
    from shelter.demo.base import USERS
    from shelter.services.accounts import check_password

    for username, (display, _role, _org, password) in USERS.items():
        check_password(password, username, display)
