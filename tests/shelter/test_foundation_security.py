"""Access control route by route (iterating the URL map, so new routes are covered too),
server-side logout, CSRF, argon2id hashes, and the append-only audit trail."""
from __future__ import annotations

import re
from datetime import date, datetime
from typing import Any

import pytest
from sqlalchemy import delete, func, select, update
from sqlalchemy.exc import DBAPIError
from werkzeug.routing.converters import NumberConverter

from shelter.models import (
    AllocationRun, Area, AuditEvent, BedOutage, Hold, Organisation, OtherService, Person, Placement,
    Request, RequestSource, Restriction, KeepApart, Role, User,
)
from shelter.services import audit
from tests.shelter.conftest import login, new_client

METHODS = ("GET", "POST", "PUT", "PATCH", "DELETE")
API_PUBLIC = {"api.openapi"}  # the API's description is public; everything else needs a token
HEALTH = ("health.",)  # /healthz and /readyz: public, no personal data (test_ops_health.py)
NOT_FOR_PARTNERS = ("intake", "people", "reports", "admin")
NOT_FOR_INTAKE = ("admin", "reports")


@pytest.fixture()
def ids(db, make_site, make_org, make_user) -> dict[str, int]:
    """One existing row per kind of id a URL can carry, so routes are hit with real ids."""
    site = make_site("strax", beds=2)
    room, bed = site.rooms[0], site.rooms[0].beds[0]
    org = make_org("NAV")
    user = make_user(Role.INTAKE)
    a, b = Person(name="A"), Person(name="B")
    db.session.add_all([a, b])
    db.session.flush()
    night = date(2026, 12, 1)
    request = Request(person_id=a.id, night=night, source=RequestSource.WALK_IN, arrival=1)
    hold = Hold(organisation_id=org.id, person_id=a.id, night=night, site_id=site.id,
                bed_id=bed.id, expires_at=datetime(2026, 12, 1, 20))
    run = AllocationRun(night=night, solver_status="optimal", input_json={}, result_json={})
    rows = [request, hold, run, Placement(person_id=a.id, bed_id=bed.id, night=night),
            BedOutage(bed_id=bed.id, reason="x", starts_on=night),
            OtherService(name="Legevakten"),
            Restriction(person_id=a.id, starts_on=night, reason="x"),
            KeepApart(person_a_id=a.id, person_b_id=b.id, starts_on=night, reason="x"),
            Area(city="Bergen", name="Sentrum")]
    db.session.add_all(rows)
    db.session.flush()
    placement, outage, service, ban, pair, area = rows[3:]
    return {"site_id": site.id, "room_id": room.id, "bed_id": bed.id, "org_id": org.id,
            "user_id": user.id, "person_id": a.id, "request_id": request.id,
            "hold_id": hold.id, "run_id": run.id, "placement_id": placement.id,
            "outage_id": outage.id, "service_id": service.id, "ban_id": ban.id,
            "area_id": area.id,
            "pair_id": pair.id}


def _routes(app: Any, ids: dict[str, int]) -> list[tuple[str, str, str]]:
    """(endpoint, method, url) for every rule and method, path parameters filled in."""
    out = []
    for rule in app.url_map.iter_rules():
        if rule.endpoint == "static":
            continue
        values: dict[str, Any] = {}
        for name in rule.arguments:
            if name in (rule.defaults or {}):
                continue
            if isinstance(rule._converters[name], NumberConverter):
                values[name] = ids.get(name, ids["person_id"])
            else:
                values[name] = "2026-12-01" if "night" in name or "date" in name else "check_in"
        with app.test_request_context():
            url = app.url_for(rule.endpoint, **values, **(rule.defaults or {}))
        out.extend((rule.endpoint, m, url) for m in METHODS if m in rule.methods)
    return out


def _call(client: Any, method: str, url: str, **kw: Any) -> Any:
    return client.open(url, method=method, **kw)


def test_anonymous_users_are_sent_to_login_on_every_non_public_route(app, client, ids):
    checked = 0
    for endpoint, method, url in _routes(app, ids):
        if endpoint in ("public.login", "public.choose_language") or endpoint.startswith(("api.", *HEALTH)):
            continue
        r = _call(client, method, url)
        if endpoint == "public.index":
            assert r.status_code == 302 and "/login" in r.headers["Location"]
            continue
        assert r.status_code == 302, (method, url, r.status_code)
        assert re.search(r"/login(\?|$)", r.headers["Location"]), (method, url)
        checked += 1
    assert checked > 20


def test_the_api_answers_401_without_a_token(app, client, ids):
    api = [(e, m, u) for e, m, u in _routes(app, ids) if e.startswith("api.")]
    assert api
    for endpoint, method, url in api:
        r = _call(client, method, url, json={})
        if endpoint in API_PUBLIC:
            assert r.status_code == 200
        else:
            assert r.status_code == 401, (method, url, r.status_code)
            assert r.is_json


def test_partners_get_403_or_404_on_every_staff_route(app, client, ids, make_user, db):
    partner = make_user(Role.PARTNER, organisation=db.session.get(Organisation, ids["org_id"]))
    login(client, partner)
    routes = [r for r in _routes(app, ids) if r[0].split(".")[0] in NOT_FOR_PARTNERS]
    assert len(routes) > 20
    for endpoint, method, url in routes:
        r = _call(client, method, url)
        assert r.status_code in (403, 404), (method, url, r.status_code)


def test_intake_staff_get_403_on_every_admin_and_report_route(app, client, ids, make_user):
    login(client, make_user(Role.INTAKE))
    routes = [r for r in _routes(app, ids) if r[0].split(".")[0] in NOT_FOR_INTAKE]
    assert len(routes) > 15
    for endpoint, method, url in routes:
        r = _call(client, method, url)
        assert r.status_code == 403, (method, url, r.status_code)


def test_admin_can_open_every_admin_page(app, client, ids, make_user):
    login(client, make_user(Role.ADMIN))
    pages = [(e, u) for e, m, u in _routes(app, ids) if e.startswith("admin.") and m == "GET"]
    assert len(pages) > 10
    redirects = {"admin.audit_lookup"}  # a lookup form's target, not a page
    for endpoint, url in pages:
        r = client.get(url)
        assert r.status_code == (302 if endpoint in redirects else 200), (url, r.status_code)


def test_logout_invalidates_the_session_server_side(app, client, make_user):
    user = make_user(Role.ADMIN)
    login(client, user)
    cookie = client.get_cookie("session")
    assert cookie is not None
    replay = new_client(app)
    replay.set_cookie("session", cookie.value)
    assert replay.get("/admin/").status_code == 200  # the copied cookie works before logout

    assert client.post("/logout").status_code == 302
    replay = new_client(app)
    replay.set_cookie("session", cookie.value)
    r = replay.get("/admin/")
    assert r.status_code == 302 and "/login" in r.headers["Location"]


def test_csrf_is_enforced_and_nothing_is_saved_without_the_token(app, client, db, make_user,
                                                                 monkeypatch):
    admin = make_user(Role.ADMIN)
    login(client, admin)
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    data = {"name": "Utekontakten", "kind": "municipal", "active": "y"}

    r = client.post("/admin/organisations/new", data=data)
    assert r.status_code == 400
    named = select(Organisation).where(Organisation.name == "Utekontakten")
    assert db.session.scalar(named) is None
    login_form = {"username": admin.username, "password": "x"}
    assert client.post("/login", data=login_form).status_code == 400

    page = client.get("/admin/organisations/new").get_data(as_text=True)
    token = re.search(r'name="csrf_token" type="hidden" value="([^"]+)"', page).group(1)
    r = client.post("/admin/organisations/new", data=data | {"csrf_token": token})
    assert r.status_code == 302
    assert db.session.scalar(named) is not None


def test_passwords_are_hashed_with_argon2id(app, db):
    from shelter.services.accounts import create_user

    user = create_user(db.session, username="kari", display_name="Kari", role=Role.MANAGER,
                       password="a long password")
    assert user.password_hash.startswith("$argon2id$")
    assert "a long password" not in user.password_hash


def test_audit_rows_cannot_be_updated_or_deleted(db, make_user):
    person = Person(name="Ola")
    db.session.add(person)
    db.session.flush()
    audit.record(db.session, make_user(Role.INTAKE), "view", person.id, "seen")
    db.session.flush()
    for statement in (update(AuditEvent).values(detail="changed"), delete(AuditEvent)):
        with pytest.raises(DBAPIError, match="append-only"):
            with db.session.begin_nested():
                db.session.execute(statement)
    assert db.session.scalar(select(AuditEvent.detail)) == "seen"
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == 1


def test_inactive_users_cannot_log_in(client, db, make_user):
    user = make_user(Role.INTAKE)
    user.active = False
    r = client.post("/login", data={"username": user.username, "password": "correct horse battery"})
    assert r.status_code == 422
    assert db.session.get(User, user.id).last_login_at is None
