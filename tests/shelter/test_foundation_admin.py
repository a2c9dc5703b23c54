"""Admin pages: happy paths and bad input (422, message beside the field, nothing saved);
inventory keeps its history; the audit trail page."""
from __future__ import annotations

import re
from datetime import date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from shelter.models import (
    AuditEvent, Bed, BedOutage, GenderRule, Hold, Organisation, OtherService, Person, Placement,
    PlacementStatus, Quota, Role, Room, Site, User,
)
from shelter.services import audit
from shelter.services.inventory import beds_in_service
from tests.shelter.conftest import login, new_client


@pytest.fixture()
def admin(client, make_user):
    user = make_user(Role.ADMIN)
    login(client, user)
    return user


def _today(app) -> date:
    return datetime.now(ZoneInfo(app.config["TIMEZONE"])).date()


def _count(db, model) -> int:
    return db.session.scalar(select(func.count()).select_from(model))


def _error_beside(html: str, field_id: str) -> str:
    """The error text rendered beside field `field_id` (empty when none)."""
    m = re.search(rf'<small class="field-error" id="{re.escape(field_id)}-error">(.*?)</small>',
                  html, re.S)
    return m.group(1).strip() if m else ""


SITE = {"name": "Nordnes", "code": "nordnes", "city": "Bergen", "area": "Nordnes",
        "address": "Strandgaten 1", "staffed_24h": "y", "intake_opens": "17:00",
        "intake_closes": "23:30", "checkin_cutoff": "23:00", "hold_expiry": "21:00",
        "min_age": "", "max_age": "", "active": "y"}


def test_admin_creates_a_site_then_a_room_then_beds(client, db, admin, app):
    r = client.post("/admin/sites/new", data=SITE)
    assert r.status_code == 302
    site = db.session.scalar(select(Site).where(Site.code == "nordnes"))
    assert site.name == "Nordnes" and site.staffed_24h and site.hold_expiry.hour == 21
    assert site.min_age is None

    r = client.post(f"/admin/sites/{site.id}/rooms/new",
                    data={"name": "Sal A", "gender": "women", "from_night": _today(app)})
    assert r.status_code == 302
    room = db.session.scalar(select(Room).where(Room.site_id == site.id))
    assert room.gender is GenderRule.WOMEN

    r = client.post(f"/admin/rooms/{room.id}/beds/new",
                    data={"label": "A", "count": "3", "features": ["accessible"],
                          "valid_from": _today(app)})
    assert r.status_code == 302
    db.session.expire_all()
    assert [b.label for b in room.beds] == ["A-01", "A-02", "A-03"]
    assert all(b.features == ["accessible"] for b in room.beds)
    assert len([b for b in beds_in_service(db.session, _today(app)) if b.room_id == room.id]) == 3

    page = client.get(f"/admin/sites/{site.id}").get_data(as_text=True)
    assert "Sal A" in page and "A-03" in page and "women only" in page


@pytest.mark.parametrize("change, field, message", [
    ({"code": "taken"}, "code", "is used by"),
    ({"name": ""}, "name", "This field is required."),
    ({"code": "has space"}, "code", "Letters, digits"),
    ({"min_age": "24", "max_age": "18"}, "max_age", "below the lower one"),
    ({"hold_expiry": "25:99"}, "hold_expiry", "Not a valid time value."),
])
def test_bad_site_input_is_shown_beside_the_field_and_nothing_is_saved(
        client, db, admin, make_site, change, field, message):
    make_site("taken")
    before = _count(db, Site)
    r = client.post("/admin/sites/new", data=SITE | change)
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert message in _error_beside(html, field)
    assert 'value="Strandgaten 1"' in html  # what was typed is kept
    assert _count(db, Site) == before


def test_duplicate_bed_label_is_refused_beside_the_label(client, db, admin, make_site, app):
    room = make_site("strax", beds=2).rooms[0]
    r = client.post(f"/admin/rooms/{room.id}/beds/new",
                    data={"label": "strax-1", "count": "1", "valid_from": _today(app)})
    assert r.status_code == 422
    assert "already has a bed labelled" in _error_beside(r.get_data(as_text=True), "label")
    assert _count(db, Bed) == 2


def _person(db, name="Kari") -> Person:
    person = Person(name=name)
    db.session.add(person)
    db.session.flush()
    return person


def test_changing_a_used_rooms_gender_keeps_past_nights_as_they_were(client, db, admin,
                                                                      make_site, app):
    today = _today(app)
    site = make_site("strax", beds=2, gender=GenderRule.MIXED)
    room = site.rooms[0]
    bed_ids = {b.id for b in room.beds}
    db.session.add(Placement(person_id=_person(db).id, bed_id=room.beds[0].id,
                             night=today - timedelta(days=1), status=PlacementStatus.CHECKED_IN))
    db.session.flush()

    # Not from tonight: tonight's placements must stay valid.
    r = client.post(f"/admin/rooms/{room.id}/edit",
                    data={"name": "Room 1", "gender": "women", "from_night": today})
    assert r.status_code == 422
    assert "tomorrow at the earliest" in _error_beside(r.get_data(as_text=True), "from_night")

    tomorrow = today + timedelta(days=1)
    r = client.post(f"/admin/rooms/{room.id}/edit",
                    data={"name": "Room 1", "gender": "women", "from_night": tomorrow})
    assert r.status_code == 302
    db.session.expire_all()
    yesterday_beds = [b for b in beds_in_service(db.session, today - timedelta(days=1))
                      if b.room.site_id == site.id]
    tomorrow_beds = [b for b in beds_in_service(db.session, tomorrow) if b.room.site_id == site.id]
    assert {b.id for b in yesterday_beds} == bed_ids  # the old beds, as they were
    assert {b.room.gender for b in yesterday_beds} == {GenderRule.MIXED}
    assert len(tomorrow_beds) == 2 and not {b.id for b in tomorrow_beds} & bed_ids
    assert {b.room.gender for b in tomorrow_beds} == {GenderRule.WOMEN}
    assert {b.room.name for b in tomorrow_beds} == {"Room 1"}
    assert _count(db, Room) == 2  # nothing deleted


def test_gender_change_is_refused_while_beds_are_booked_from_that_night(client, db, admin,
                                                                         make_site, make_org, app):
    tomorrow = _today(app) + timedelta(days=1)
    site = make_site("strax", beds=1)
    bed = site.rooms[0].beds[0]
    org = make_org()
    db.session.add(Hold(organisation_id=org.id, person_id=_person(db).id, night=tomorrow,
                        site_id=site.id, bed_id=bed.id, expires_at=datetime(2030, 1, 1)))
    db.session.flush()
    r = client.post(f"/admin/rooms/{site.rooms[0].id}/edit",
                    data={"name": "Room 1", "gender": "men", "from_night": tomorrow})
    assert r.status_code == 422
    assert "booked" in _error_beside(r.get_data(as_text=True), "from_night")
    assert _count(db, Room) == 1 and site.rooms[0].gender is GenderRule.MIXED


def test_outage_takes_a_bed_out_of_service_and_back(client, db, admin, make_site, app):
    today = _today(app)
    bed = make_site("strax", beds=2).rooms[0].beds[0]
    r = client.post(f"/admin/beds/{bed.id}/outages",
                    data={"reason": "Broken frame", "starts_on": today,
                          "ends_on": today - timedelta(days=2)})
    assert r.status_code == 422
    assert "before the first night" in _error_beside(r.get_data(as_text=True), "ends_on")
    assert _count(db, BedOutage) == 0

    r = client.post(f"/admin/beds/{bed.id}/outages",
                    data={"reason": "Broken frame", "starts_on": today, "ends_on": ""})
    assert r.status_code == 302
    assert bed.id not in {b.id for b in beds_in_service(db.session, today + timedelta(days=30))}
    outage = db.session.scalar(select(BedOutage))
    assert outage.reason == "Broken frame" and outage.ends_on is None

    assert client.post(f"/admin/outages/{outage.id}/end").status_code == 302
    db.session.expire_all()
    assert bed.id in {b.id for b in beds_in_service(db.session, today + timedelta(days=1))}
    assert _count(db, BedOutage) == 1  # kept for past nights' reports


def test_retiring_a_bed_with_a_later_booking_is_refused(client, db, admin, make_site, app):
    today = _today(app)
    bed = make_site("strax", beds=1).rooms[0].beds[0]
    db.session.add(Placement(person_id=_person(db).id, bed_id=bed.id,
                             night=today + timedelta(days=2)))
    db.session.flush()
    r = client.post(f"/admin/beds/{bed.id}/retire", data={"last_night": today})
    assert r.status_code == 422
    assert "booked" in _error_beside(r.get_data(as_text=True), "last_night")
    assert bed.valid_until is None
    r = client.post(f"/admin/beds/{bed.id}/retire", data={"last_night": today + timedelta(days=2)})
    assert r.status_code == 302
    assert bed.valid_until == today + timedelta(days=2)
    assert beds_in_service(db.session, today + timedelta(days=3)) == []


def test_organisations_are_created_and_names_stay_unique(client, db, admin, make_org):
    make_org("NAV")
    r = client.post("/admin/organisations/new", data={"name": "nav", "kind": "ngo", "active": "y"})
    assert r.status_code == 422
    assert "already an organisation" in _error_beside(r.get_data(as_text=True), "name")
    r = client.post("/admin/organisations/new",
                    data={"name": "Kirkens Bymisjon", "kind": "ngo", "active": "y"})
    assert r.status_code == 302
    assert db.session.scalar(select(Organisation.kind).where(
        Organisation.name == "Kirkens Bymisjon")) == "ngo"


def test_users_are_created_with_argon2id_and_bad_input_is_refused(client, db, admin, make_org,
                                                                  make_site):
    org, site = make_org("NAV"), make_site("strax")
    base = {"username": "kari", "display_name": "Kari", "role": "partner",
            "organisation": "0", "password": "long enough password", "active": "y"}
    r = client.post("/admin/users/new", data=base)
    assert r.status_code == 422
    assert "needs an organisation" in _error_beside(r.get_data(as_text=True), "organisation")
    r = client.post("/admin/users/new", data=base | {"organisation": org.id, "password": "short"})
    assert r.status_code == 422
    assert "at least 12" in _error_beside(r.get_data(as_text=True), "password")
    r = client.post("/admin/users/new", data=base | {"username": admin.username,
                                                     "organisation": org.id})
    assert r.status_code == 422 and "taken" in _error_beside(r.get_data(as_text=True), "username")
    assert db.session.scalar(select(User).where(User.username == "kari")) is None

    r = client.post("/admin/users/new", data=base | {"role": "intake", "sites": [site.id]})
    assert r.status_code == 302
    kari = db.session.scalar(select(User).where(User.username == "kari"))
    assert kari.password_hash.startswith("$argon2id$")
    assert kari.role is Role.INTAKE and [s.code for s in kari.sites] == ["strax"]


def test_deactivating_a_user_or_resetting_the_password_logs_them_out(app, client, db, admin,
                                                                     make_user):
    other = make_user(Role.INTAKE)
    theirs = new_client(app)
    login(theirs, other)
    assert theirs.get("/intake/").status_code == 200

    r = client.post(f"/admin/users/{other.id}/password",
                    data={"password": "a brand new password", "confirm": "different"})
    assert r.status_code == 422
    assert "differ" in _error_beside(r.get_data(as_text=True), "confirm")
    r = client.post(f"/admin/users/{other.id}/password",
                    data={"password": "a brand new password", "confirm": "a brand new password"})
    assert r.status_code == 302
    assert theirs.get("/intake/").status_code == 302  # their old session is gone
    login(theirs, other, "a brand new password")

    r = client.post(f"/admin/users/{other.id}/edit",
                    data={"username": other.username, "display_name": "Gone", "role": "intake",
                          "organisation": "0"})  # active unchecked
    assert r.status_code == 302
    assert not other.active
    assert theirs.get("/intake/").status_code == 302


def test_an_admin_cannot_lock_themselves_out(client, db, admin):
    r = client.post(f"/admin/users/{admin.id}/edit",
                    data={"username": admin.username, "display_name": "Me", "role": "manager",
                          "organisation": "0", "active": "y"})
    assert r.status_code == 422
    assert "own admin access" in _error_beside(r.get_data(as_text=True), "role")
    assert admin.role is Role.ADMIN


def test_quotas_grid_saves_and_refuses_bad_numbers(client, db, admin, make_org, make_site):
    org, a, b = make_org("NAV"), make_site("a"), make_site("b")
    r = client.post("/admin/quotas", data={f"q-{org.id}-{a.id}": "3",
                                           f"q-{org.id}-{b.id}": "-1"})
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert "whole number" in _error_beside(html, f"q-{org.id}-{b.id}")
    assert 'value="-1"' in html
    assert _count(db, Quota) == 0
    r = client.post("/admin/quotas", data={f"q-{org.id}-{a.id}": "3", f"q-{org.id}-{b.id}": ""})
    assert r.status_code == 302
    assert [(q.site_id, q.per_night) for q in db.session.scalars(select(Quota))] == [(a.id, 3)]
    r = client.post("/admin/quotas", data={f"q-{org.id}-{a.id}": "0"})
    assert r.status_code == 302 and _count(db, Quota) == 0


def test_other_services_are_created_per_city(client, db, admin):
    data = {"name": "Krisesenteret", "city": "Bergen", "description": "", "address": "",
            "phone": "55 00", "for_gender": "woman", "active": "y"}
    r = client.post("/admin/services/new", data=data | {"name": ""})
    assert r.status_code == 422 and _count(db, OtherService) == 0
    assert "required" in _error_beside(r.get_data(as_text=True), "name")
    assert client.post("/admin/services/new", data=data).status_code == 302
    service = db.session.scalar(select(OtherService))
    assert (service.city, service.for_gender) == ("Bergen", "woman")
    assert "Krisesenteret" in client.get("/admin/services").get_data(as_text=True)


def test_audit_trail_lists_newest_first_and_viewing_it_is_audited(client, db, admin, make_user):
    person = _person(db, "Ola")
    intake = make_user(Role.INTAKE)
    audit.record(db.session, intake, "view", person.id, "first")
    db.session.flush()
    audit.record(db.session, intake, "update", person.id, "second")
    db.session.flush()
    r = client.get(f"/admin/people/{person.id}/audit")
    assert r.status_code == 200
    html = r.get_data(as_text=True)
    actions = re.findall(r'<td><span class="badge">(.*?)</span></td>', html)
    assert actions == ["update", "view"]  # newest first
    rows = db.session.scalars(select(AuditEvent).where(AuditEvent.person_id == person.id)
                              .order_by(AuditEvent.id)).all()
    # the page's own view is written once the page is done (in its own transaction)
    assert [(e.action, e.username) for e in rows][-1] == ("view_audit", admin.username)
    again = re.findall(r'<td><span class="badge">(.*?)</span></td>',
                       client.get(f"/admin/people/{person.id}/audit").get_data(as_text=True))
    assert again == ["view_audit", "update", "view"]
    assert client.get("/admin/people/999999/audit").status_code == 404
    r = client.get(f"/admin/people/audit?person=%23{person.id}")  # "#12" as typed
    assert r.status_code == 302 and r.headers["Location"].endswith(f"/people/{person.id}/audit")
    r = client.get("/admin/people/audit?person=abc", follow_redirects=True)
    assert "Give a person&#39;s number" in r.get_data(as_text=True)
