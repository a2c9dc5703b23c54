"""Security events on the admin side (issue 11) and audit pages that can be read (issue 14):
each admin change to users, organisations and API tokens (web page and flask commands) is
written with its actor and detail; the security page and a person's trail filter by action, user and local dates in
SQL, page by 100, show local time with the zone named, and refuse bad input beside the
field (422)."""
from __future__ import annotations

import re
from datetime import datetime, timedelta

import pytest
from sqlalchemy import select

from shelter.models import ApiToken, AuditEvent, Organisation, Person, Role
from shelter.services import audit, audit_log
from tests.shelter.conftest import login


@pytest.fixture()
def admin(client, make_user):
    user = make_user(Role.ADMIN, username="boss")
    login(client, user)
    return user


def _security(db, action: str | None = None) -> list[AuditEvent]:
    stmt = select(AuditEvent).where(AuditEvent.action.startswith("security."))
    if action:
        stmt = stmt.where(AuditEvent.action == action)
    return list(db.session.scalars(stmt.order_by(AuditEvent.id)))


def _only(db, action: str) -> AuditEvent:
    events = _security(db, action)
    assert len(events) == 1, [(e.action, e.detail) for e in _security(db)]
    return events[0]


def _error_beside(html: str, field_id: str) -> str:
    m = re.search(rf'<small class="field-error" id="{re.escape(field_id)}-error">(.*?)</small>',
                  html, re.S)
    return m.group(1).strip() if m else ""


def _add_event(db, at: datetime, action: str = "security.login", username: str = "kari",
               detail: str = "", person_id: int | None = None) -> None:
    """An event at a chosen moment (naive UTC), written the way audit.record writes."""
    db.session.execute(AuditEvent.__table__.insert(), {
        "at": at, "user_id": None, "username": username, "role": "intake",
        "organisation_id": None, "person_id": person_id, "action": action, "detail": detail})
    db.session.flush()


# --- events written by the admin pages --------------------------------------------------

def test_creating_a_user_is_a_security_event_by_the_admin(client, db, admin, make_site):
    site = make_site("vagen", name="Vågen")
    r = client.post("/admin/users/new", data={
        "username": "ola", "display_name": "Ola", "role": "intake", "organisation": "0",
        "sites": [str(site.id)], "password": "plum lantern orbit velvet", "active": "y"})
    assert r.status_code == 302, r.get_data(as_text=True)[:400]
    event = _only(db, "security.user_created")
    assert (event.username, event.user_id, event.role) == ("boss", admin.id, "admin")
    assert event.person_id is None
    assert "user ola" in event.detail and "role intake" in event.detail
    assert "Vågen" in event.detail and "command line" not in event.detail


def test_changing_a_user_records_fields_sites_and_deactivation_apart(client, db, admin,
                                                                     make_site, make_user):
    a, b = make_site("aaa", name="Alfa"), make_site("bbb", name="Beta")
    user = make_user(Role.INTAKE, username="kari", sites=[a])
    form = {"username": "kari", "display_name": user.display_name, "role": "intake",
            "organisation": "0", "sites": [str(b.id)], "active": "y"}
    assert client.post(f"/admin/users/{user.id}/edit", data=form).status_code == 302
    sites = _only(db, "security.user_sites_changed")
    assert sites.detail == f"user kari (#{user.id}): sites granted: Beta; sites removed: Alfa"
    assert _security(db, "security.user_changed") == []  # nothing else changed

    form = {**form, "role": "manager", "sites": []}
    del form["active"]  # an unticked box: deactivated
    assert client.post(f"/admin/users/{user.id}/edit", data=form).status_code == 302
    changed = _only(db, "security.user_changed")
    assert changed.detail == f"user kari (#{user.id}): role: intake -> manager"
    assert changed.username == "boss"
    off = _only(db, "security.user_deactivated")
    assert off.detail == f"user kari (#{user.id})"
    assert len(_security(db, "security.user_sites_changed")) == 2  # Beta taken away too

    assert client.post(f"/admin/users/{user.id}/edit",
                       data={**form, "active": "y"}).status_code == 302
    assert _only(db, "security.user_reactivated").detail == f"user kari (#{user.id})"


def test_a_refused_change_writes_no_event(client, db, admin):
    form = {"username": "boss", "display_name": "Boss", "role": "manager", "organisation": "0",
            "active": "y"}
    r = client.post(f"/admin/users/{admin.id}/edit", data=form)
    assert r.status_code == 422
    assert _security(db, "security.user_changed") == []


def test_password_reset_and_forced_change_by_an_admin(client, db, admin, make_user):
    user = make_user(Role.MANAGER, username="mona")
    r = client.post(f"/admin/users/{user.id}/password", data={
        "password": "plum lantern orbit velvet", "confirm": "plum lantern orbit velvet",
        "must_change": "y"})
    assert r.status_code == 302
    reset = _only(db, "security.password_reset")
    assert reset.username == "boss"
    assert reset.detail.startswith(f"user mona (#{user.id}): password set by an admin")
    assert reset.detail.endswith("next log-in: yes")
    assert "plum" not in reset.detail  # never the password

    assert client.post(f"/admin/users/{user.id}/force-password-change").status_code == 302
    forced = _only(db, "security.password_change_forced")
    assert forced.username == "boss" and f"user mona (#{user.id})" in forced.detail


def test_organisation_created_changed_deactivated(client, db, admin):
    data = {"name": "Utekontakten", "kind": "municipal", "active": "y"}
    assert client.post("/admin/organisations/new", data=data).status_code == 302
    org = db.session.scalar(select(Organisation).where(Organisation.name == "Utekontakten"))
    created = _only(db, "security.organisation_created")
    assert created.username == "boss"
    assert created.detail == f"organisation #{org.id} Utekontakten: kind municipal, active yes"

    data = {"name": "Uteteamet", "kind": "ngo", "contact_email": "ute@example.org"}
    assert client.post(f"/admin/organisations/{org.id}/edit", data=data).status_code == 302
    changed = _only(db, "security.organisation_changed")
    assert changed.detail == (f"organisation #{org.id} Uteteamet: name: Utekontakten -> "
                              "Uteteamet; kind: municipal -> ngo; contact_email: - -> "
                              "ute@example.org")
    assert _only(db, "security.organisation_deactivated").detail == \
        f"organisation #{org.id} Uteteamet"

    # A webhook address may carry a key: the trail says it changed, never what it is.
    hook = "https://ute.example.org/hook?key=s3cret"
    data = {**data, "active": "y", "webhook_url": hook}
    assert client.post(f"/admin/organisations/{org.id}/edit", data=data).status_code == 200
    changed = _security(db, "security.organisation_changed")[-1]
    assert changed.detail == f"organisation #{org.id} Uteteamet: webhook_url: set"
    assert not any("s3cret" in e.detail for e in _security(db))
    assert _only(db, "security.organisation_reactivated")


def test_webhook_secret_replaced_is_recorded_without_the_secret(client, db, admin, make_org):
    org = make_org("NAV")
    org.webhook_url = "https://nav.example.org/hook"
    db.session.flush()
    r = client.post(f"/admin/organisations/{org.id}/webhook-secret")
    assert r.status_code == 200
    event = _only(db, "security.webhook_secret_rotated")
    db.session.refresh(org)
    assert org.webhook_secret and org.webhook_secret not in event.detail
    assert event.username == "boss"


def test_token_and_user_commands_record_the_cli_as_system(app, db, make_org):
    make_org("Utekontakten")
    db.session.commit()
    runner = app.test_cli_runner()
    result = runner.invoke(args=["create-token", "Utekontakten", "--label", "case system"])
    assert result.exit_code == 0, result.output
    token = result.output.strip().splitlines()[-1]
    made = _only(db, "security.token_created")
    assert (made.username, made.role, made.user_id) == ("system", "system", None)
    assert f"token {token[:8]} (case system)" in made.detail
    assert made.detail.endswith("via the command line (flask create-token)")
    assert token[8:] not in made.detail

    assert runner.invoke(args=["revoke-token", token[:8]]).exit_code == 0
    revoked = _only(db, "security.token_revoked")
    assert revoked.username == "system" and "Utekontakten: token " + token[:8] in revoked.detail
    assert revoked.detail.endswith("via the command line (flask revoke-token)")
    assert runner.invoke(args=["create-user", "boss2", "--password",
                               "plum lantern orbit velvet"]).exit_code == 0
    user = _only(db, "security.user_created")
    assert user.username == "system" and user.detail.startswith("user boss2 (#")
    assert user.detail.endswith("via the command line (flask create-user)")
    # A refused command writes nothing.
    assert runner.invoke(args=["revoke-token", "zzzzzzzz"]).exit_code != 0
    assert len(_security(db, "security.token_revoked")) == 1


def test_token_made_in_a_request_names_the_user(app, db, make_org, make_user):
    """The service records the logged-in user when a web page makes or revokes a token."""
    from flask_login import login_user

    from shelter.services import tokens

    org, user = make_org("NAV"), make_user(Role.ADMIN, username="webadmin")
    with app.test_request_context("/admin/"):
        login_user(user)
        raw = tokens.create_token(db.session, "NAV")
        tokens.revoke_token(db.session, raw[:8])
        audit.write_reads(db.session)  # a request writes its security events at its end
    made, revoked = _only(db, "security.token_created"), _only(db, "security.token_revoked")
    assert made.username == revoked.username == "webadmin"
    assert made.detail == f"organisation #{org.id} NAV: token {raw[:8]}"
    assert db.session.scalar(select(ApiToken.revoked_at)) is not None


def test_admin_makes_and_revokes_a_token_on_the_web(client, db, admin, make_org):
    org = make_org("NAV")
    r = client.post(f"/admin/organisations/{org.id}/tokens", data={"label": "case system"})
    assert r.status_code == 200
    raw = re.search(r'<code id="api-token" class="token">(shb_[^<]+)</code>',
                    r.get_data(as_text=True)).group(1)
    token = db.session.scalar(select(ApiToken).where(ApiToken.organisation_id == org.id))
    assert token.prefix == raw[:8] and token.label == "case system"
    made = _only(db, "security.token_created")
    assert made.username == "boss"
    assert made.detail == f"organisation #{org.id} NAV: token {raw[:8]} (case system)"
    assert client.get("/api/v1/holds", headers={"Authorization": f"Bearer {raw}"}
                      ).status_code == 200
    page = client.get(f"/admin/organisations/{org.id}/tokens").get_data(as_text=True)
    assert raw not in page and raw[:8] in page  # shown once, then only its prefix

    assert client.post(f"/admin/tokens/{token.id}/revoke").status_code == 302
    db.session.refresh(token)
    assert token.revoked_at is not None
    revoked = _only(db, "security.token_revoked")
    assert revoked.username == "boss" and revoked.detail == made.detail
    assert client.get("/api/v1/holds", headers={"Authorization": f"Bearer {raw}"}
                      ).status_code == 401
    client.post(f"/admin/tokens/{token.id}/revoke")  # again: nothing more to record
    assert len(_security(db, "security.token_revoked")) == 1


def test_a_token_label_too_long_is_refused_beside_the_field(client, db, admin, make_org):
    org = make_org("NAV")
    r = client.post(f"/admin/organisations/{org.id}/tokens", data={"label": "x" * 121})
    assert r.status_code == 422
    assert "120" in _error_beside(r.get_data(as_text=True), "label")
    assert db.session.scalar(select(ApiToken.id)) is None
    assert _security(db, "security.token_created") == []
    assert client.get("/admin/organisations/999999/tokens").status_code == 404
    assert client.post("/admin/tokens/999999/revoke").status_code == 404


# --- the security events page -----------------------------------------------------------

JULY = datetime(2026, 7, 2, 20, 30)  # UTC; 22:30 CEST in Bergen


def _rows(html: str) -> list[str]:
    body = html.split("<tbody>", 1)[1].split("</tbody>", 1)[0] if "<tbody>" in html else ""
    return re.findall(r"<tr>(.*?)</tr>", body, re.S)


def test_security_page_shows_local_time_with_the_zone(client, db, admin):
    _add_event(db, JULY, detail="summer event")
    _add_event(db, datetime(2026, 1, 15, 20, 30), detail="winter event")
    _add_event(db, JULY, action="view", detail="not a security event")
    # (the admin's own log-in is an event too: look at kari's)
    html = client.get("/admin/security?user=kari").get_data(as_text=True)
    rows = _rows(html)
    assert "summer event" in rows[0] and "winter event" in rows[1]  # newest first
    assert "Jul 2, 2026 22:30 CEST" in rows[0]
    assert "Jan 15, 2026 21:30 CET" in rows[1]
    assert "Logged in" in rows[0]  # the action worded
    assert "not a security event" not in html
    assert ">Security events<" in html


def test_security_page_filters_by_action_user_and_local_dates(client, db, admin):
    # 22:30 UTC on 1 July is 00:30 on 2 July in Bergen: it belongs to the 2nd.
    _add_event(db, datetime(2026, 7, 1, 21, 30), username="kari", detail="k-1st")
    _add_event(db, datetime(2026, 7, 1, 22, 30), username="kari", detail="k-2nd-early")
    _add_event(db, datetime(2026, 7, 2, 21, 59), username="Ola",
               action="security.login_failed", detail="o-2nd-late")
    _add_event(db, datetime(2026, 7, 2, 22, 0), username="kari", detail="k-3rd")

    def details(query: str) -> list[str]:
        r = client.get(f"/admin/security?{query}")
        assert r.status_code == 200, r.get_data(as_text=True)[:300]
        return [d for row in _rows(r.get_data(as_text=True))
                for d in re.findall(r"<small>([a-z0-9-]+)</small>", row)]

    assert details("") == ["k-3rd", "o-2nd-late", "k-2nd-early", "k-1st"]
    assert details("action=security.login_failed") == ["o-2nd-late"]
    assert details("user=KARI") == ["k-3rd", "k-2nd-early", "k-1st"]
    assert details("start=2026-07-02&end=2026-07-02") == ["o-2nd-late", "k-2nd-early"]
    assert details("start=2026-07-02") == ["k-3rd", "o-2nd-late", "k-2nd-early"]
    assert details("end=2026-07-01") == ["k-1st"]
    assert details("user=kari&start=2026-07-02&end=2026-07-02&action=security.login") == \
        ["k-2nd-early"]
    html = client.get("/admin/security?user=nobody").get_data(as_text=True)
    assert "No events match this filter." in html


def test_security_page_pages_by_100(client, db, admin):
    start = datetime(2026, 3, 1, 12, 0)
    for i in range(205):
        _add_event(db, start + timedelta(minutes=i), detail=f"e{i:03d}")
    first = client.get("/admin/security?user=kari").get_data(as_text=True)  # not boss's log-in
    assert len(_rows(first)) == 100 and "e204" in _rows(first)[0]
    assert 'rel="next"' in first and 'rel="prev"' not in first
    third = client.get("/admin/security?user=kari&page=3").get_data(as_text=True)
    assert [re.search(r"e\d{3}", r).group(0) for r in _rows(third)] == \
        ["e004", "e003", "e002", "e001", "e000"]
    assert 'rel="prev"' in third and 'rel="next"' not in third
    # The pager keeps the filter.
    filtered = client.get("/admin/security?action=security.login&page=2")
    assert 'href="/admin/security?action=security.login&amp;page=3"' in \
        filtered.get_data(as_text=True)
    assert client.get("/admin/security?page=abc").status_code == 200  # first page
    assert client.get("/admin/security?page=" + "9" * 5000).status_code == 200


@pytest.mark.parametrize("query, field, message", [
    ("action=security.nothing", "action", "Choose an action from the list."),
    ("action=view", "action", "Choose an action from the list."),
    ("start=0001-01-01", "start", "Choose a date between"),
    ("end=9999-12-31", "end", "Choose a date between"),
    ("start=2026-13-45", "start", "Not a valid date value"),
    ("start=2026-07-03&end=2026-07-02", "end", "The last date is before the first date."),
    ("user=" + "x" * 81, "user", "80"),
])
def test_security_page_refuses_bad_filters_beside_the_field(client, db, admin, query, field,
                                                            message):
    _add_event(db, JULY, detail="hidden while the filter is wrong")
    r = client.get(f"/admin/security?{query}")
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert message in _error_beside(html, field)
    assert "hidden while the filter is wrong" not in html
    # What was typed is still there.
    value = query.split("=", 1)[1].split("&")[0]
    if field != "action":
        assert f'value="{value}"' in html


@pytest.mark.parametrize("role", [Role.MANAGER, Role.INTAKE, Role.PARTNER])
def test_only_admins_see_the_security_page_and_trails(client, db, make_user, make_org, role):
    org = make_org("NAV") if role is Role.PARTNER else None
    login(client, make_user(role, organisation=org))
    person = Person(name="Kari")
    db.session.add(person)
    db.session.flush()
    assert client.get("/admin/security").status_code == 403
    assert client.get(f"/admin/people/{person.id}/audit").status_code == 403
    other = make_org("Bymisjon")
    assert client.get(f"/admin/organisations/{other.id}/tokens").status_code == 403
    assert client.post(f"/admin/organisations/{other.id}/tokens").status_code == 403


def test_the_security_filter_offers_actions_found_in_the_trail(client, db, admin):
    _add_event(db, JULY, action="security.something_new")
    codes = audit_log.security_action_codes(db.session)
    assert codes[-1] == "security.something_new" and "security.user_created" in codes
    assert client.get("/admin/security?action=security.something_new").status_code == 200


# --- a person's trail -------------------------------------------------------------------

def test_person_trail_filters_and_still_finds_events_naming_many(client, db, admin):
    kari, ola = Person(name="Kari"), Person(name="Ola")
    db.session.add_all([kari, ola])
    db.session.flush()
    audit.record(db.session, admin, "view_board", [kari.id, ola.id], "board")
    audit.record(db.session, admin, "update", kari.id, "name")
    _add_event(db, JULY, action="view", username="intake7", person_id=kari.id,
               detail="july view")
    _add_event(db, JULY, action="view", username="intake7", person_id=ola.id,
               detail="ola only")
    db.session.flush()

    html = client.get(f"/admin/people/{kari.id}/audit").get_data(as_text=True)
    assert "board" in html and "july view" in html and "ola only" not in html
    assert "Jul 2, 2026 22:30 CEST" in html

    r = client.get(f"/admin/people/{kari.id}/audit?action=view_board")
    rows = _rows(r.get_data(as_text=True))
    assert r.status_code == 200 and len(rows) == 1 and "board" in rows[0]
    rows = _rows(client.get(f"/admin/people/{kari.id}/audit?user=intake7&start=2026-07-02"
                            "&end=2026-07-02").get_data(as_text=True))
    assert len(rows) == 1 and "july view" in rows[0]

    r = client.get(f"/admin/people/{kari.id}/audit?action=security.login")
    assert r.status_code == 422
    assert "Choose an action" in _error_beside(r.get_data(as_text=True), "action")
    r = client.get(f"/admin/people/{kari.id}/audit?start=2026-07-03&end=2026-07-01")
    assert r.status_code == 422 and _error_beside(r.get_data(as_text=True), "end")
    # Every look at the trail is itself recorded, filtered or not.
    views = db.session.scalars(select(AuditEvent).where(
        AuditEvent.action == "view_audit", AuditEvent.person_id == kari.id)).all()
    assert len(views) == 5
    assert client.get("/admin/people/999999/audit").status_code == 404


def test_person_trail_pages_by_100(client, db, admin):
    kari = Person(name="Kari")
    db.session.add(kari)
    db.session.flush()
    for i in range(150):
        _add_event(db, datetime(2026, 2, 1) + timedelta(minutes=i), action="view",
                   person_id=kari.id, detail=f"v{i:03d}")
    first = client.get(f"/admin/people/{kari.id}/audit").get_data(as_text=True)
    assert len(_rows(first)) == 100 and 'rel="next"' in first
    second = client.get(f"/admin/people/{kari.id}/audit?page=2").get_data(as_text=True)
    # Newest first: the first look at the trail (a look is written when its request is
    # over), then v149 ... v000; page 2 holds the 101st to the 151st.
    assert re.findall(r"v\d{3}", second) == [f"v{i:03d}" for i in range(50, -1, -1)]
    assert 'rel="prev"' in second and 'rel="next"' not in second


def test_bokmal_security_page(client, db, make_user):
    user = make_user(Role.ADMIN)
    user.language = "nb"
    db.session.flush()
    login(client, user)
    r = client.get("/admin/security?start=2026-07-03&end=2026-07-01")
    html = r.get_data(as_text=True)
    assert r.status_code == 422 and "Sikkerhetshendelser" in html
    assert _error_beside(html, "end") == "Den siste datoen er før den første datoen."
