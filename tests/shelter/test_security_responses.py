"""Issue 11, responses and input limits: local-only return URLs, security headers on every
route, body size and JSON depth limits, out-of-range numbers in URLs and forms, CSV cells
that a spreadsheet would run as formulas."""
from __future__ import annotations

import pytest

from shelter.models import Person, Role
from tests.shelter.conftest import PASSWORD, login, new_client
from tests.shelter.test_foundation_security import _routes, ids  # noqa: F401 (fixture)

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



# --- headers on every response ---------------------------------------------------------------

@pytest.fixture()
def walk_ids(db, ids):
    """`ids` with the allocation run given the shape a real run has, so its pages open."""
    from shelter.models import AllocationRun

    run = db.session.get(AllocationRun, ids["run_id"])
    run.input_json = {"requests": [], "beds": []}
    run.result_json = {"assignments": [], "turned_away": [], "conflicts": []}
    db.session.flush()
    return ids


def _check_headers(r, url, logged_in):
    csp = r.headers.get("Content-Security-Policy", "")
    assert "default-src 'self'" in csp and "frame-ancestors 'none'" in csp, url
    assert "unsafe-inline" not in csp
    assert r.headers.get("X-Content-Type-Options") == "nosniff", url
    assert r.headers.get("Referrer-Policy") == "no-referrer", url
    if logged_in or url.startswith("/api/"):
        assert r.headers.get("Cache-Control") == "no-store", (url, r.status_code)


def test_every_route_sends_the_security_headers(app, db, walk_ids, make_user, make_org):
    anonymous, admin, partner = new_client(app), new_client(app), new_client(app)
    login(admin, make_user(Role.ADMIN))
    login(partner, make_user(Role.PARTNER, organisation=make_org("Bymisjon")))
    checked = 0
    for endpoint, method, url in _routes(app, walk_ids):
        for client, logged_in in ((anonymous, False), (admin, True), (partner, True)):
            if endpoint == "public.logout":
                continue
            r = client.open(url, method=method)
            _check_headers(r, url, logged_in)
            checked += 1
    assert checked > 150


def test_no_template_has_inline_script_or_style():
    import re
    from pathlib import Path

    inline = re.compile(r"<script(?![^>]*\bsrc=)[^>]*>|<style|\sstyle=|\son[a-z]+=", re.I)
    found = [str(p) for p in Path("templates").rglob("*.html") if inline.search(p.read_text())]
    assert found == []


def test_the_login_page_is_not_cached_once_logged_in(client, make_user):
    assert "no-store" not in client.get("/login").headers.get("Cache-Control", "")
    login(client, make_user(Role.INTAKE))
    assert client.get("/intake/").headers["Cache-Control"] == "no-store"


# --- body size, JSON depth --------------------------------------------------------------------

@pytest.fixture()
def token(db, make_org):
    from sqlalchemy import select

    from shelter.models import Organisation
    from shelter.services.tokens import create_token

    if db.session.scalar(select(Organisation).where(Organisation.name == "NAV")) is None:
        make_org("NAV")
    return create_token(db.session, "NAV")


def test_a_body_over_the_limit_gets_413(client, token):
    body = b'{"note": "' + b"x" * (2 * 1024 * 1024) + b'"}'
    r = client.post("/api/v1/holds", data=body, content_type="application/json",
                    headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 413
    assert r.is_json


def test_a_form_over_the_limit_gets_413(client, make_user):
    login(client, make_user(Role.INTAKE))
    r = client.post("/people/new", data={"name": "x" * (2 * 1024 * 1024)})
    assert r.status_code == 413


def test_deeply_nested_json_gets_422_naming_the_body(client, token):
    body = "[" * 50_000 + "]" * 50_000
    r = client.post("/api/v1/holds", data=body, content_type="application/json",
                    headers={"Authorization": f"Bearer {token}"})
    assert r.status_code == 422
    assert r.get_json()["errors"][0]["field"] == "body"


def test_json_depth_ignores_brackets_inside_strings():
    from shelter.security import json_depth

    assert json_depth('{"a": [1, {"b": "[[[[{{{"}]}') == 3
    assert json_depth('"\\"[["') == 0


# --- numbers out of range in paths, query strings and forms ------------------------------------

HUGE = "99999999999999999999"
ODD_VALUES = [HUGE, str(2**31), "-99999999999999999999", "0001-01-01", "9999-12-31"]


def _field_names() -> set[str]:
    """Every field name of every form in shelter.forms, with the prefixes views give them."""
    import importlib
    import pkgutil
    import re
    from pathlib import Path

    import shelter.forms
    from wtforms.fields.core import UnboundField

    prefixes = set(re.findall(r'prefix="(\w+)"', "".join(
        p.read_text() for p in Path("shelter/views").glob("*.py"))))
    names: set[str] = {"night", "person", "start", "end", "city", "table", "q"}
    for info in pkgutil.iter_modules(shelter.forms.__path__):
        module = importlib.import_module(f"shelter.forms.{info.name}")
        for obj in vars(module).values():
            if isinstance(obj, type):
                for attr, value in vars(obj).items():
                    if isinstance(value, UnboundField):
                        names.add(attr)
                        names.update(f"{p}-{attr}" for p in prefixes)
    return names


def _with_huge_ids(app, ids):
    return [(e, m, u) for e, m, u in _routes(app, {k: int(HUGE) for k in ids})]


def test_huge_ids_in_paths_are_404(app, db, ids, make_user):
    client = new_client(app)
    login(client, make_user(Role.ADMIN))
    checked = 0
    for endpoint, method, url in _with_huge_ids(app, ids):
        if HUGE not in url:
            continue
        r = client.open(url, method=method)
        assert r.status_code == 404, (method, url, r.status_code)
        checked += 1
    assert checked > 30


@pytest.mark.parametrize("value", ODD_VALUES)
def test_every_route_survives_odd_numbers_and_dates_in_queries_and_forms(
        app, db, walk_ids, make_user, make_org, token, value):
    """Every form field and the usual query names set to an out-of-range number or an
    extreme date: a 4xx or a normal page, never an exception (TESTING re-raises it)."""
    names = _field_names()
    staff, partner = new_client(app), new_client(app)
    login(staff, make_user(Role.ADMIN))
    login(partner, make_user(Role.PARTNER, organisation=make_org("Bymisjon")))
    data = {name: value for name in names}
    for endpoint, method, url in _routes(app, walk_ids):
        if endpoint in ("public.logout", "public.login"):
            continue
        client = partner if endpoint.startswith("partners.") else staff
        headers = {"Authorization": f"Bearer {token}"} if endpoint.startswith("api.") else {}
        if method == "GET":
            r = client.get(url, query_string=data, headers=headers)
        elif endpoint.startswith("api."):
            r = client.open(url, method=method, json=data, query_string=data, headers=headers)
        else:
            r = client.open(url, method=method, data=data, query_string=data)
        assert r.status_code < 500, (method, url, r.status_code)


def test_a_huge_person_number_in_the_ban_form_names_the_field(client, make_user):
    login(client, make_user(Role.INTAKE))
    r = client.post("/people/safety/bans", data={"ban-person_id": HUGE, "ban-reason": "x"})
    assert r.status_code == 422
    page = r.get_data(as_text=True)
    assert "No person has that number" in page or "Person number" in page


def test_night_0001_01_01_on_the_board_is_not_a_500(client, make_user):
    login(client, make_user(Role.INTAKE))
    assert client.get("/intake/?night=0001-01-01").status_code in (200, 302, 404, 422)
    assert client.get("/people/safety?person=" + HUGE).status_code in (200, 404, 422)
