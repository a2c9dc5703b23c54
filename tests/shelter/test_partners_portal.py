"""The partner portal in the browser's place (test client): availability, pre-book,
cancel, and that nothing of another organisation's can be reached."""
from __future__ import annotations

from sqlalchemy import select

from shelter.models import AuditEvent, Gender, Hold, HoldStatus, Role
from shelter.services.prebooking import BookingRequest, PersonSpec, book_hold
from tests.shelter.conftest import login
from tests.shelter.partners_fixtures import add_org, add_site, tomorrow


def _partner(db, make_user, name="NAV"):
    org = add_org(db.session, name)
    user = make_user(Role.PARTNER, organisation=org)
    db.session.commit()
    return org, user


def _form(**overrides):
    data = {"person": "new", "name": "Kari Nordmann", "alias": "", "birth_year": "1990",
            "gender": "woman", "night": tomorrow().isoformat(), "site": "", "note": ""}
    data.update(overrides)
    return data


def test_partner_sees_free_bed_counts_for_eight_nights(client, db, make_user):
    _, user = _partner(db, make_user)
    add_site(db.session, "strax", beds=3, name="Strax-huset")
    db.session.commit()
    login(client, user)
    page = client.get("/partner/").get_data(as_text=True)
    assert "Strax-huset" in page and "Tonight" in page
    assert page.count('<td class="num">3</td>') == 8


def test_prebook_a_new_person_then_cancel(client, db, make_user):
    org, user = _partner(db, make_user)
    site = add_site(db.session, "strax", beds=2, name="Strax-huset")
    db.session.commit()
    login(client, user)
    form = client.get("/partner/book")
    assert form.status_code == 200 and "Hold the bed" in form.get_data(as_text=True)
    response = client.post("/partner/book", data=_form(site=str(site.id)))
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    hold = db.session.scalar(select(Hold).where(Hold.organisation_id == org.id))
    assert hold.status is HoldStatus.HELD and hold.person.name == "Kari Nordmann"
    page = client.get("/partner/").get_data(as_text=True)
    assert "Kari Nordmann" in page and "Bed held at Strax-huset" in page and ">held<" in page
    assert client.post(f"/partner/holds/{hold.id}/cancel", data={"confirm": "yes"}).status_code == 302
    db.session.refresh(hold)
    assert hold.status is HoldStatus.CANCELLED
    assert ">cancelled<" in client.get("/partner/holds").get_data(as_text=True)
    # Next time the same person is offered from the organisation's own people.
    assert "Kari Nordmann · ref" in client.get("/partner/book").get_data(as_text=True)
    again = client.post("/partner/book", data=_form(person=str(hold.person_id), name=""))
    assert again.status_code == 302


def test_missing_name_and_gender_are_shown_beside_the_fields(client, db, make_user):
    _, user = _partner(db, make_user)
    add_site(db.session, "strax")
    db.session.commit()
    login(client, user)
    response = client.post("/partner/book", data=_form(name="", gender="", birth_year="19x0"))
    page = response.get_data(as_text=True)
    assert response.status_code == 422
    assert "Give a name or an alias." in page and "Choose a gender" in page
    assert 'value="19x0"' in page or "Not a valid integer" in page
    assert db.session.scalar(select(Hold.id)) is None


def test_refusal_is_shown_and_recorded(client, db, make_user):
    _, user = _partner(db, make_user)
    site = add_site(db.session, "full", beds=0)
    db.session.commit()
    login(client, user)
    response = client.post("/partner/book", data=_form(site=str(site.id), name="Ola"))
    assert response.status_code == 409
    page = response.get_data(as_text=True)
    assert "No suitable bed is free at any site that night." in page
    assert 'value="Ola"' in page  # what was typed is kept
    from shelter.models import HoldRefusal

    assert db.session.scalar(select(HoldRefusal.reason)) == "no_bed"


def test_another_organisations_holds_are_404_everywhere(client, db, make_user):
    _, user = _partner(db, make_user, "NAV")
    other = add_org(db.session, "Kirkens Bymisjon")
    add_site(db.session, "strax", beds=2)
    theirs = book_hold(db.session, BookingRequest(
        organisation_id=other.id, night=tomorrow(),
        person=PersonSpec(name="Secret Person", gender=Gender.MAN)), None)
    db.session.commit()
    login(client, user)
    assert client.get(f"/partner/holds/{theirs.id}").status_code == 404
    assert client.post(f"/partner/holds/{theirs.id}/cancel", data={"confirm": "yes"}).status_code == 404
    assert client.get("/partner/holds/99999999999").status_code == 404
    assert "Secret Person" not in client.get("/partner/").get_data(as_text=True)
    assert "Secret Person" not in client.get("/partner/book").get_data(as_text=True)
    response = client.post("/partner/book", data=_form(person=str(theirs.person_id)))
    assert response.status_code == 422  # not a choice for this organisation
    db.session.refresh(theirs)
    assert theirs.status is HoldStatus.HELD


def test_staff_roles_cannot_use_the_partner_portal(client, db, make_user):
    user = make_user(Role.INTAKE)
    db.session.commit()
    login(client, user)
    assert client.get("/partner/").status_code == 403
    assert client.get("/partner/book").status_code == 403


def test_viewing_holds_is_audited(client, db, make_user):
    org, user = _partner(db, make_user)
    add_site(db.session, "strax")
    db.session.commit()
    login(client, user)
    client.post("/partner/book", data=_form())
    hold = db.session.scalar(select(Hold))
    client.get(f"/partner/holds/{hold.id}")
    actions = [(e.action, e.person_id, e.username, e.organisation_id)
               for e in db.session.scalars(select(AuditEvent).order_by(AuditEvent.id))]
    assert ("prebook", hold.person_id, user.username, org.id) in actions
    assert ("view", hold.person_id, user.username, org.id) in actions
