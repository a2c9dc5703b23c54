"""Issue 11, responses and input limits: local-only return URLs, security headers on every
route, body size and JSON depth limits, out-of-range numbers in URLs and forms, CSV cells
that a spreadsheet would run as formulas."""
from __future__ import annotations

import pytest

from shelter.models import Person, Role
from tests.shelter.conftest import PASSWORD, login

EVIL = ["//evil.example", "/\t/evil.example", "/\\evil.example",
        "https://evil.example/", "/\n/evil.example", " //evil.example", "javascript:alert(1)"]


@pytest.mark.parametrize("target", EVIL)
def test_login_next_accepts_only_a_local_path(client, make_user, target):
    user = make_user(Role.ADMIN)
    r = client.post("/login", query_string={"next": target},
                    data={"username": user.username, "password": PASSWORD})
    assert r.status_code == 302
    assert r.headers["Location"] == "/admin/", r.headers["Location"]


def test_the_issue_example_tab_then_slash_is_refused(client, make_user):
    user = make_user(Role.ADMIN)
    r = client.post("/login?next=/%09/evil.example",
                    data={"username": user.username, "password": PASSWORD})
    assert r.headers["Location"] == "/admin/"


def test_login_next_keeps_a_local_path(client, make_user):
    user = make_user(Role.ADMIN)
    r = client.post("/login?next=/admin/users",
                    data={"username": user.username, "password": PASSWORD})
    assert r.headers["Location"] == "/admin/users"


def test_the_back_field_of_safety_forms_accepts_only_a_local_path(client, db, make_user):
    from shelter.security import local_path

    login(client, make_user(Role.INTAKE))
    with client.application.test_request_context():
        for target in EVIL:
            assert local_path(target, "people.safety") == "/people/safety"
        assert local_path("/people/3", "people.safety") == "/people/3"

