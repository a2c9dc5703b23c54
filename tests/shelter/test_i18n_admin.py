"""Issue 10 for the admin, log-in and account pages, error pages, security messages and the
CLI: with the instance language set to bokmål they read bokmål, and no English is left."""
from __future__ import annotations

import uuid
from datetime import datetime

import pytest

from shelter.models import AuditEvent, GenderRule, Person, Role, User
from tests.shelter.conftest import PASSWORD, login, new_client


@pytest.fixture()
def admin_client(nb_app, db, make_user):
    client = new_client(nb_app)
    login(client, make_user(Role.ADMIN))
    return client


def _page(client, url: str, status: int = 200) -> str:
    response = client.get(url)
    assert response.status_code == status, (url, response.status_code)
    return response.get_data(as_text=True)


def _reads_bokmal(html: str, present: list[str], absent: list[str]) -> None:
    assert '<html lang="nb"' in html
    for phrase in present:
        assert phrase in html, f"missing bokmål {phrase!r}"
    for phrase in absent:
        assert phrase not in html, f"English left: {phrase!r}"


def test_admin_sites_page_and_site_page_read_bokmal(admin_client, make_site):
    site = make_site("strax", beds=2, gender=GenderRule.WOMEN, features=["single_room"])
    _reads_bokmal(_page(admin_client, "/admin/"),
                  ["Steder og senger", "Nytt sted", "Innsynslogg for person nr.", "I drift",
                   "Deler av administrasjonen", "bare kvinner"],
                  ["Sites and beds", "New site", "In service", "Audit trail", "women only",
                   "holds expire"])
    _reads_bokmal(_page(admin_client, f"/admin/sites/{site.id}"),
                  ["Legg til senger", "Endre rommet", "2 senger", "bare kvinner", "enerom",
                   "Innsjekking innen"],
                  ["Add beds", "Edit room", "2 beds", "women only", "single room",
                   "Check-in by"])


def test_admin_forms_read_bokmal(admin_client, make_site):
    site = make_site("strax", beds=1)
    _reads_bokmal(_page(admin_client, "/admin/sites/new"),
                  ["Inntaket åpner", "Døgnbemannet", "Forhåndsbestillinger utløper kl.",
                   "Lagre"],
                  ["Intake opens", "Staffed 24 hours", ">Save<"])
    _reads_bokmal(_page(admin_client, f"/admin/sites/{site.id}/rooms/new"),
                  ["Hvem kan sove her", "Bare kvinner", "Ekstrarom"],
                  ["Who may sleep here", "Women only", "Overflow room"])
    _reads_bokmal(_page(admin_client, "/admin/users/new"),
                  ["Brukernavn", "Visningsnavn", ">inntak<", "Ingen (ansatt)"],
                  ["Display name", ">Intake<", "None (staff)"])
    _reads_bokmal(_page(admin_client, "/admin/organisations/new"),
                  ["frivillig organisasjon", "Webhook-adresse"],
                  [">Ngo<", "Webhook address"])


def test_admin_errors_and_flashes_read_bokmal(admin_client, make_site, db):
    make_site("taken")
    data = {"name": "Nordnes", "code": "taken", "city": "Bergen", "intake_opens": "17:00",
            "intake_closes": "23:30", "checkin_cutoff": "23:00", "hold_expiry": "21:00"}
    r = admin_client.post("/admin/sites/new", data=data)
    html = r.get_data(as_text=True)
    assert r.status_code == 422
    _reads_bokmal(html, ["Koden «taken» brukes av Taken."], ["is used by"])
    r = admin_client.post("/admin/sites/new", data=data | {"code": "nordnes"},
                          follow_redirects=True)
    _reads_bokmal(r.get_data(as_text=True),
                  ["Stedet Nordnes er opprettet. Legg nå inn rom og senger."], ["created"])
    r = admin_client.get("/admin/people/audit?person=abc", follow_redirects=True)
    _reads_bokmal(r.get_data(as_text=True), ["Oppgi personens nummer, f.eks. 42."],
                  ["Give a person"])


def test_the_form_errors_macro_reads_bokmal(admin_client):
    r = admin_client.post("/admin/sites/new", data={"name": ""})
    assert r.status_code == 422
    _reads_bokmal(r.get_data(as_text=True), ["Rett opp de merkede feltene"],
                  ["Please correct the marked fields"])


def test_quota_cells_are_labelled_in_bokmal(admin_client, make_site, make_org):
    make_site("strax")
    make_org("Kirkens Bymisjon")
    html = _page(admin_client, "/admin/quotas")
    _reads_bokmal(html, ["Kvoter for forhåndsbestilling", 'aria-label="Kirkens Bymisjon på Strax"'],
                  ["Pre-booking quotas", " at Strax"])


def test_users_and_audit_show_local_time_with_the_zone(admin_client, db, make_user):
    user = make_user(Role.INTAKE)
    user.last_login_at = datetime(2026, 12, 2, 20, 30)  # UTC in the database
    person = Person(name="Ola")
    db.session.add(person)
    db.session.flush()
    db.session.add(AuditEvent(at=datetime(2026, 7, 2, 20, 30), user_id=user.id,  # UTC
                              username=user.username, role="intake", person_id=person.id,
                              action="view", detail="person page"))
    db.session.flush()
    users = _page(admin_client, "/admin/users")
    _reads_bokmal(users, ["Siste innlogging", "2. des. 2026 21:30 CET", "inntak"],
                  ["Last login", "UTC", "02 Dec 2026"])
    trail = _page(admin_client, f"/admin/people/{person.id}/audit")
    _reads_bokmal(trail, ["Innsynslogg", "2. juli 2026 22:30 CEST", ">inntak<"],
                  ["Audit trail", "When (UTC)", "2026-07-02 20:30"])


def test_login_and_password_pages_read_bokmal(nb_app, db, make_user):
    client = new_client(nb_app)
    _reads_bokmal(_page(client, "/login"), ["Logg inn", "Brukernavn", "Passord"],
                  ["Log in", "Username", "Password"])
    user = make_user(Role.INTAKE, username=f"kari-{uuid.uuid4().hex[:8]}")
    r = client.post("/login", data={"username": user.username, "password": "wrong password!"})
    assert r.status_code == 422
    _reads_bokmal(r.get_data(as_text=True), ["Feil brukernavn eller passord."], ["Wrong"])
    login(client, user)
    _reads_bokmal(_page(client, "/account/password"),
                  ["Endre passordet ditt", "Nåværende passord", "Nytt passord (minst 12 tegn)",
                   "Bruk minst 12 tegn som er vanskelige å gjette"],
                  ["Current password", "at least 12", "Change password"])
    r = client.post("/account/password", data={"current": PASSWORD, "password": "password1234",
                                               "confirm": "password1234"})
    assert r.status_code == 422
    _reads_bokmal(r.get_data(as_text=True),
                  ["Dette passordet er for lett å gjette: det er et vanlig passord"],
                  ["too easy", "common password", "top-10"])
    r = client.post("/account/password", data={"current": PASSWORD,
                                               "password": user.username + "-x",
                                               "confirm": user.username + "-x"})
    _reads_bokmal(r.get_data(as_text=True),
                  ["det inneholder ditt eget navn eller brukernavn"], ["too easy"])


def test_anonymous_and_forced_password_change_flashes_read_bokmal(nb_app, db, make_user):
    client = new_client(nb_app)
    r = client.get("/admin/", follow_redirects=True)
    _reads_bokmal(r.get_data(as_text=True), ["Logg inn for å se den siden."],
                  ["Please log in"])
    user = make_user(Role.INTAKE)
    db.session.get(User, user.id).must_change_password = True
    login(client, user)
    r = client.get("/intake/", follow_redirects=True)
    _reads_bokmal(r.get_data(as_text=True),
                  ["En administrator har bedt deg velge et nytt passord"], ["An admin asked"])


def test_too_many_failed_log_ins_read_bokmal(nb_app, db, make_user):
    client = new_client(nb_app)
    user = make_user(Role.INTAKE, username=f"ola-{uuid.uuid4().hex[:8]}")
    for unused in range(10):
        client.post("/login", data={"username": user.username, "password": "wrong password!"})
    r = client.post("/login", data={"username": user.username, "password": PASSWORD})
    assert r.status_code == 429
    _reads_bokmal(r.get_data(as_text=True),
                  ["For mange mislykkede innloggingsforsøk", "For mange forsøk"],
                  ["Too many failed attempts", "Something went wrong"])


def test_error_pages_and_json_errors_read_bokmal(nb_app, db, make_user):
    client = new_client(nb_app)
    login(client, make_user(Role.INTAKE))
    _reads_bokmal(_page(client, "/admin/", 403),
                  ["Ikke tillatt her", "Rollen din gir ikke tilgang",
                   "Tilbake til startsiden din"],
                  ["Not allowed here", "You don't have the permission"])
    _reads_bokmal(_page(client, "/no/such/page", 404),
                  ["Finnes ikke", "Det finnes ingenting på denne adressen"],
                  ["Not found", "The requested URL was not found"])
    api = client.get("/api/v1/no-such-thing")
    assert api.status_code == 404 and api.is_json
    assert api.get_json()["error"] == "not_found"  # the code stays English
    assert api.get_json()["message"].startswith("Det finnes ingenting på denne adressen")


def test_the_outage_page_reads_bokmal_without_asking_the_database(nb_app):
    from shelter.errors import unavailable

    def no_database():  # the locale selector asks who is logged in: it must not run
        raise AssertionError("the 503 page asked for the user's language")

    babel = nb_app.extensions["babel"]
    selector, babel.locale_selector = babel.locale_selector, no_database
    try:
        with nb_app.test_request_context("/intake/", headers={"Accept-Language": "en"}):
            from flask import session
            session["language"] = "nb"  # copied at log-in from the user's stored choice
            page = unavailable(RuntimeError("down")).get_data(as_text=True)
        with nb_app.test_request_context("/api/v1/holds"):
            answer = unavailable(RuntimeError("down")).get_json()
    finally:
        babel.locale_selector = selector
    _reads_bokmal(page, ["Midlertidig utilgjengelig", "Prøv igjen om 30 sekunder",
                         "fortsett på papir"],
                  ["Temporarily unavailable", "seconds"])
    assert answer == {"error": "unavailable",
                      "message": "Databasen er utilgjengelig; prøv igjen senere."}


def test_the_language_switch_is_kept_in_the_session_for_the_outage_page(nb_app, db, make_user):
    client = new_client(nb_app)
    login(client, make_user(Role.INTAKE))
    client.post("/language", data={"language": "en", "next": "/intake/"})
    with client.session_transaction() as session:
        assert session["language"] == "en"


def test_cli_messages_are_in_the_instance_language(nb_app, db, make_org):
    runner = nb_app.test_cli_runner()
    db.session.commit()
    result = runner.invoke(args=["create-user", "kari", "--password", "short"])
    assert result.exit_code != 0
    assert result.stderr.strip() == "feil: --password: Bruk minst 12 tegn."
    result = runner.invoke(args=["create-user", "kari", "--organisation", "Ingen",
                                 "--password", "a long password"])
    assert result.stderr.strip() == "feil: --organisation: ingen organisasjon med navnet «Ingen»"
    result = runner.invoke(args=["create-user", "kari", "--password", "qwertyuiop123"])
    assert "Dette passordet er for lett å gjette" in result.stderr
    assert "too easy" not in result.stderr
