"""The data-protection pages (views/privacy.py): admins only (intake, manager and partners
get 403); the JSON export holds everything about the person and never names the other of a
keep-apart pair; exports are audited; erasure needs a reason (422 beside the field, what was
typed kept) and is refused with the sentence while a ban stands. Both databases."""
from __future__ import annotations

from datetime import date, datetime

import pytest
from sqlalchemy import select

from shelter import clock
from shelter.models import (
    AuditEvent, Gender, KeepApart, Person, Request, RequestSource, Restriction, Role,
)
from tests.shelter.conftest import login


@pytest.fixture()
def kari(db):
    p = Person(name="Kari Nordmann", alias="KN", phone="90000000", gender=Gender.WOMAN,
               birth_year=1980)
    ola = Person(name="Ola Secret", gender=Gender.MAN)
    db.session.add_all([p, ola])
    db.session.flush()
    db.session.add_all([
        Request(person_id=p.id, night=date(2026, 1, 5), source=RequestSource.WALK_IN,
                arrival=1, note="needs quiet"),
        KeepApart(person_a_id=min(p.id, ola.id), person_b_id=max(p.id, ola.id),
                  starts_on=date(2026, 1, 1), ends_on=date(2026, 2, 1), reason="threats"),
    ])
    db.session.flush()
    return p


@pytest.mark.parametrize("role", [Role.INTAKE, Role.MANAGER, Role.PARTNER])
def test_only_admins_reach_the_privacy_pages(client, db, make_user, make_org, kari, role):
    user = make_user(role, organisation=make_org() if role == Role.PARTNER else None)
    login(client, user)
    for url in (f"/privacy/people/{kari.id}", f"/privacy/people/{kari.id}/export.json",
                f"/privacy/people/{kari.id}/export"):
        assert client.get(url).status_code == 403, url
    assert client.post(f"/privacy/people/{kari.id}/erase",
                       data={"reason": "x"}).status_code in (400, 403)
    db.session.expire_all()
    assert db.session.get(Person, kari.id).name == "Kari Nordmann"


def test_json_export_holds_the_record_and_hides_the_other_person(client, db, make_user, kari):
    login(client, make_user(Role.ADMIN))
    r = client.get(f"/privacy/people/{kari.id}/export.json")
    assert r.status_code == 200 and r.mimetype == "application/json"
    data = r.get_json()
    assert data["person"]["name"] == "Kari Nordmann" and data["person"]["phone"] == "90000000"
    assert [q["note"] for q in data["requests"]] == ["needs quiet"]
    assert data["requests"][0]["night"] == "2026-01-05"
    pair = data["keep_apart"][0]
    assert pair["other"] == "another person" and pair["starts_on"] == "2026-01-01"
    assert "reason" not in pair and "threats" not in r.get_data(as_text=True)
    assert "Ola" not in r.get_data(as_text=True)
    assert set(data) >= {"placements", "holds", "assessments", "bans", "notes", "audit_events",
                         "refusals", "overrides", "organisations", "housing_referrals"}
    actions = db.session.scalars(select(AuditEvent.action).where(
        AuditEvent.person_id == kari.id)).all()
    assert "view_export" in actions


def test_export_page_is_worded_and_hides_the_other_person(client, make_user, kari):
    login(client, make_user(Role.ADMIN))
    html = client.get(f"/privacy/people/{kari.id}/export").get_data(as_text=True)
    assert "Everything stored about Kari Nordmann (KN)" in html
    assert "another person" in html and "Ola" not in html and "needs quiet" in html


def test_erasure_needs_a_reason_beside_the_field(client, make_user, kari):
    login(client, make_user(Role.ADMIN))
    r = client.post(f"/privacy/people/{kari.id}/erase", data={"reason": "   "})
    assert r.status_code == 422
    assert 'id="reason-error"' in r.get_data(as_text=True)


def test_erasure_refused_while_a_ban_stands_then_done(client, db, make_user, kari):
    login(client, make_user(Role.ADMIN))
    ban = Restriction(person_id=kari.id, starts_on=clock.tonight(), ends_on=None, reason="r")
    db.session.add(ban)
    db.session.flush()
    r = client.post(f"/privacy/people/{kari.id}/erase", data={"reason": "Asked by letter"})
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert "ban or a keep-apart pair that is not over" in html and "Asked by letter" in html
    ban.ended_at = datetime(2026, 1, 1)
    db.session.flush()
    r = client.post(f"/privacy/people/{kari.id}/erase", data={"reason": "Asked by letter"})
    assert r.status_code == 302
    db.session.expire_all()
    p = db.session.get(Person, kari.id)
    assert (p.name, p.phone, p.alias) == (None, None, f"#{kari.id}")
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "erase"))
    assert event.detail == "Asked by letter" and event.person_id == kari.id
    page = client.get(f"/privacy/people/{kari.id}").get_data(as_text=True)
    assert 'id="already"' in page


def test_a_merged_away_record_shows_and_erases_its_survivor(client, db, make_user, kari):
    from shelter.services.people_merge import merge_people

    twin = Person(name="Kari Nordmand", phone="11111111", gender=Gender.WOMAN)
    db.session.add(twin)
    db.session.flush()
    merge_people(db.session, kari.id, twin.id, None)
    login(client, make_user(Role.ADMIN))
    data = client.get(f"/privacy/people/{twin.id}/export.json").get_json()
    assert data["person"]["id"] == kari.id and data["person"]["merged_records"] == [twin.id]
    r = client.post(f"/privacy/people/{twin.id}/erase", data={"reason": "Asked by phone"})
    assert r.status_code == 302
    db.session.expire_all()
    for pid in (kari.id, twin.id):
        p = db.session.get(Person, pid)
        assert (p.name, p.phone) == (None, None) and p.pseudonymised_at is not None


def test_an_unknown_person_is_404(client, make_user):
    login(client, make_user(Role.ADMIN))
    assert client.get("/privacy/people/999999/export.json").status_code == 404
    assert client.post("/privacy/people/999999/erase", data={"reason": "x"}).status_code == 404


def test_the_pages_and_the_refusal_in_bokmal(app, client, db, make_user, kari):
    app.config["SHELTER_LANGUAGE"] = "nb"
    try:
        login(client, make_user(Role.ADMIN))
        db.session.add(Restriction(person_id=kari.id, starts_on=clock.tonight(), ends_on=None,
                                   reason="r"))
        db.session.flush()
        page = client.get(f"/privacy/people/{kari.id}").get_data(as_text=True)
        assert "Personvern: Kari Nordmann (KN)" in page and "Slett oppføringen" in page
        r = client.post(f"/privacy/people/{kari.id}/erase", data={"reason": ""})
        assert r.status_code == 422 and "Skriv begrunnelsen for slettingen." in r.get_data(as_text=True)
        export = client.get(f"/privacy/people/{kari.id}/export").get_data(as_text=True)
        assert "Alt som er lagret om Kari Nordmann (KN)" in export
        assert "en annen person" in export and "5. jan" in export  # the night, in bokmål
    finally:
        app.config["SHELTER_LANGUAGE"] = "en"
