"""The printable night list through the test client: who is on it and in which order, the
need and the check-in box, staff only, audited as one view naming the people shown, bad
input answered without a 500."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from shelter.clock import tonight
from shelter.models import (
    AuditEvent,
    AuditEventPerson,
    Gender,
    Person,
    Placement,
    PlacementStatus,
    Role,
)
from shelter.services import night_list as svc
from tests.shelter.conftest import login
from tests.shelter.intake_factories import add_room, ask, beds_of


def _place(db, req, bed, status=PlacementStatus.CONFIRMED):
    placement = Placement(person_id=req.person_id, bed_id=bed.id, night=req.night,
                          status=status, request_id=req.id)
    db.session.add(placement)
    db.session.flush()
    return placement


@pytest.fixture()
def night_at_strax(db, make_site, make_user, client):
    """Strax: Room 1 (strax-1, strax-2) and Room 10 / Room 2 (one bed each); four people:
    two confirmed, one checked in, one only proposed. Another site has a fifth person."""
    night = tonight()
    strax = make_site("strax", beds=2, name="Strax")
    ten = add_room(db.session, strax, "Room 10", "mixed", 1)
    two = add_room(db.session, strax, "Room 2", "mixed", 1)
    other = make_site("sandviken", beds=1, name="Sandviken")
    kari = ask(db.session, "Kari Nordmann", need=70, gender=Gender.WOMAN, night=night)
    kari.person.alias = "Kaja"
    ola = ask(db.session, "Ola Hansen", need=None, night=night)
    per = ask(db.session, "Per Proposed", need=40, night=night)
    nina = ask(db.session, "Nina Elsewhere", need=50, gender=Gender.WOMAN, night=night)
    alias_only = Person(alias="Bergen-Bjørn", gender=Gender.MAN)
    db.session.add(alias_only)
    db.session.flush()
    bjorn = ask(db.session, "", person=alias_only, need=20, night=night)
    _place(db, kari, ten[0])
    _place(db, ola, beds_of(strax)[0], PlacementStatus.CHECKED_IN)
    _place(db, bjorn, two[0])
    _place(db, per, beds_of(strax)[1], PlacementStatus.PROPOSED)
    _place(db, nina, beds_of(other)[0])
    user = make_user(Role.INTAKE)
    login(client, user)
    return {"night": night, "strax": strax, "other": other, "kari": kari, "ola": ola,
            "bjorn": bjorn, "per": per, "nina": nina, "user": user}


def test_the_list_shows_bed_person_need_and_box_in_bed_order(client, db, night_at_strax):
    s = night_at_strax
    response = client.get(f"/intake/night-list?site={s['strax'].id}"
                          f"&night={s['night'].isoformat()}")
    assert response.status_code == 200
    html = response.get_data(as_text=True)
    assert "Night list: Strax" in html
    # Room 1 before Room 2 before Room 10 (natural order), the proposed bed is not listed.
    order = [html.index(t) for t in ("Room 1 · <strong>strax-1", "Room 2 · <strong>",
                                     "Room 10 · <strong>")]
    assert order == sorted(order)
    assert "Kari Nordmann; <span class=\"alias\">Kaja</span>" in html
    assert '<span class="alias">Bergen-Bjørn</span>' in html
    assert "Per Proposed" not in html and "Nina Elsewhere" not in html
    assert "1 bed at this site is only proposed" in html
    assert "3 people have a bed here this night." in html and "1 is checked in already." in html
    assert html.count('class="box"') == 2 and html.count('class="box ticked"') == 1
    assert "not assessed" in html and ">70<" in html and ">20<" in html
    assert "Printed " in html and 'id="print-button"' in html
    assert "print.js" in html and "print.css" in html


def test_the_list_is_one_audited_view_naming_the_people_shown(client, db, night_at_strax):
    s = night_at_strax
    client.get(f"/intake/night-list?site={s['strax'].id}")
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "view_night_list"))
    assert event is not None and event.user_id == s["user"].id
    assert f"site {s['strax'].id}" in event.detail
    named = set(db.session.scalars(select(AuditEventPerson.person_id).where(
        AuditEventPerson.event_id == event.id)))
    assert named == {s["kari"].person_id, s["ola"].person_id, s["bjorn"].person_id}


def test_an_unassessed_request_shows_the_assessment_made_for_the_night(db, night_at_strax):
    s = night_at_strax
    from shelter.models import Assessment
    from tests.shelter.intake_factories import scheme

    db.session.add(Assessment(person_id=s["ola"].person_id, scheme_id=scheme(db.session).id,
                              answers={}, need=55, parts=[]))
    db.session.flush()
    lines = {line.person_id: line for line in svc.night_list(db.session, s["strax"], s["night"]).lines}
    assert lines[s["ola"].person_id].need == 55
    assert lines[s["kari"].person_id].need == 70


def test_without_a_site_the_city_sites_are_offered_with_counts(client, db, night_at_strax):
    s = night_at_strax
    html = client.get("/intake/night-list").get_data(as_text=True)
    assert "Choose the site whose list you want to print." in html
    assert f"/intake/night-list?site={s['strax'].id}" in html
    assert "3 people on the list" in html and "1 person on the list" in html
    assert not db.session.scalar(select(AuditEvent.id).where(
        AuditEvent.action == "view_night_list"))


def test_bad_input_is_answered_without_a_500(client, db, night_at_strax):
    s = night_at_strax
    response = client.get("/intake/night-list?site=strax")
    assert response.status_code == 422
    assert "Choose one of the sites below." in response.get_data(as_text=True)
    assert client.get("/intake/night-list?site=999999").status_code == 404
    for odd in ("²", "-1", "1.5", "%00", "1e3"):
        assert client.get(f"/intake/night-list?site={odd}").status_code == 422, odd
    assert client.get("/intake/night-list?site=99999999999999").status_code == 422
    response = client.get(f"/intake/night-list?site={s['strax'].id}&night=1700-01-01")
    assert response.status_code == 422
    response = client.get(f"/intake/night-list?site={s['strax'].id}&night=tomorrow")
    assert response.status_code == 200  # falls back to tonight, and says so
    assert "is not a date" in response.get_data(as_text=True)


def test_another_city_site_is_not_found(client, db, night_at_strax, make_site):
    toronto = make_site("toronto-1", beds=1, name="Toronto One", city="Toronto")
    assert client.get(f"/intake/night-list?site={toronto.id}").status_code == 404
    assert "Toronto One" not in client.get("/intake/night-list").get_data(as_text=True)


def test_another_night_and_an_empty_list(client, db, night_at_strax):
    s = night_at_strax
    later = (s["night"] + timedelta(days=1)).isoformat()
    html = client.get(f"/intake/night-list?site={s['strax'].id}&night={later}").get_data(
        as_text=True)
    assert "Nobody has a confirmed bed at Strax this night yet." in html
    assert "Kari Nordmann" not in html


@pytest.mark.parametrize("role", [Role.MANAGER, Role.ADMIN])
def test_managers_and_admins_may_print_it(app, db, make_user, night_at_strax, role):
    from tests.shelter.conftest import new_client

    other = new_client(app)
    login(other, make_user(role))
    assert other.get(f"/intake/night-list?site={night_at_strax['strax'].id}").status_code == 200


def test_partners_may_not_see_it(app, db, make_user, make_org, night_at_strax):
    from tests.shelter.conftest import new_client

    partner = new_client(app)
    login(partner, make_user(Role.PARTNER, organisation=make_org()))
    response = partner.get(f"/intake/night-list?site={night_at_strax['strax'].id}")
    assert response.status_code == 403
    assert "Kari" not in response.get_data(as_text=True)
    anonymous = new_client(app)
    assert anonymous.get("/intake/night-list").status_code == 302


def test_the_board_links_to_the_list(client, db, night_at_strax):
    html = client.get("/intake/").get_data(as_text=True)
    assert "/intake/night-list?night=" in html and "Night list to print" in html


def test_the_list_and_a_confirm_page_read_bokmal(app, client, db, night_at_strax):
    s = night_at_strax
    from shelter.models import Restriction

    ban = Restriction(person_id=s["ola"].person_id, site_id=s["strax"].id,
                      starts_on=s["night"], ends_on=None, reason="Slåsskamp")
    db.session.add(ban)
    db.session.commit()
    app.config["SHELTER_LANGUAGE"] = "nb"
    try:
        html = client.get(f"/intake/night-list?site={s['strax'].id}").get_data(as_text=True)
        for bokmal in ("Nattliste: Strax", "Skriv ut", "Skrevet ut", "Seng", "Behov",
                       "3 personer har seng her denne natten.", "ikke vurdert"):
            assert bokmal in html, bokmal
        for english in ("Night list", ">Print<", "Printed", "have a bed here"):
            assert english not in html, english
        html = client.get(f"/people/safety/bans/{ban.id}/end").get_data(as_text=True)
        assert "Avslutte denne utestengelsen?" in html and "Ja, avslutt utestengelsen" in html
        assert "End this ban?" not in html
    finally:
        app.config["SHELTER_LANGUAGE"] = "en"
