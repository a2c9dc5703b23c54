"""One-click actions that change a person's night ask first: cancelling a pre-booking
(partner portal), ending a ban, ending a keep-apart pair. GET shows the confirm page with
what will happen; a POST without ``confirm=yes`` does nothing and shows it too; with it, the
change is made and audited."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from shelter.clock import tonight
from shelter.models import (
    AuditEvent,
    AuditEventPerson,
    Gender,
    HoldStatus,
    KeepApart,
    Person,
    Restriction,
    Role,
)
from shelter.services import audit
from shelter.services.prebooking import BookingRequest, PersonSpec, book_hold
from tests.shelter.conftest import login, new_client
from tests.shelter.partners_fixtures import add_org, add_site, tomorrow


def _count(db, person_id: int, action: str) -> int:
    return db.session.scalar(select(func.count()).select_from(AuditEvent).where(
        audit.naming(person_id), AuditEvent.action == action))


# --- a partner cancels a pre-booking -----------------------------------------------------

@pytest.fixture()
def booked(db, client, make_user):
    org = add_org(db.session, "NAV")
    user = make_user(Role.PARTNER, organisation=org)
    add_site(db.session, "strax", beds=2, name="Strax-huset")
    hold = book_hold(db.session, BookingRequest(
        organisation_id=org.id, night=tomorrow(),
        person=PersonSpec(name="Kari Nordmann", gender=Gender.WOMAN)), user)
    db.session.commit()
    login(client, user)
    return hold


def test_the_list_links_to_the_confirm_page_not_a_one_click_post(client, db, booked):
    html = client.get("/partner/").get_data(as_text=True)
    assert f'href="/partner/holds/{booked.id}/cancel"' in html
    assert f'action="/partner/holds/{booked.id}/cancel"' not in html
    shown = client.get(f"/partner/holds/{booked.id}").get_data(as_text=True)
    assert f'href="/partner/holds/{booked.id}/cancel"' in shown


def test_cancel_asks_first_then_cancels_and_is_audited(client, db, booked):
    page = client.get(f"/partner/holds/{booked.id}/cancel")
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "Cancel this pre-booking?" in html
    assert "gives the bed at Strax-huset on" in html and "Kari Nordmann no longer has a bed" in html
    assert 'name="confirm"' in html and 'value="yes"' in html
    assert "Yes, cancel the pre-booking" in html and "No, keep the pre-booking" in html
    assert _count(db, booked.person_id, "view") >= 1

    unconfirmed = client.post(f"/partner/holds/{booked.id}/cancel")
    assert unconfirmed.status_code == 200
    assert "Cancel this pre-booking?" in unconfirmed.get_data(as_text=True)
    db.session.refresh(booked)
    assert booked.status is HoldStatus.HELD
    assert _count(db, booked.person_id, "cancel_hold") == 0
    wrong = client.post(f"/partner/holds/{booked.id}/cancel", data={"confirm": "no"})
    assert wrong.status_code == 200
    db.session.refresh(booked)
    assert booked.status is HoldStatus.HELD

    done = client.post(f"/partner/holds/{booked.id}/cancel", data={"confirm": "yes"})
    assert done.status_code == 302 and done.headers["Location"].endswith("/partner/")
    db.session.refresh(booked)
    assert booked.status is HoldStatus.CANCELLED
    assert _count(db, booked.person_id, "cancel_hold") == 1
    assert "the bed is free again" in client.get("/partner/").get_data(as_text=True)

    # Asked again once it is cancelled: nothing to confirm.
    again = client.get(f"/partner/holds/{booked.id}/cancel").get_data(as_text=True)
    assert "can no longer be cancelled" in again and "Yes, cancel" not in again


def test_another_organisation_cannot_reach_the_confirm_page(app, db, booked, make_user):
    other = new_client(app)
    login(other, make_user(Role.PARTNER, organisation=add_org(db.session, "Bymisjon")))
    assert other.get(f"/partner/holds/{booked.id}/cancel").status_code == 404
    assert other.post(f"/partner/holds/{booked.id}/cancel",
                      data={"confirm": "yes"}).status_code == 404
    staff = new_client(app)
    login(staff, make_user(Role.INTAKE))
    assert staff.get(f"/partner/holds/{booked.id}/cancel").status_code == 403
    db.session.refresh(booked)
    assert booked.status is HoldStatus.HELD


def test_the_confirmation_needs_the_csrf_token(app, client, db, booked, monkeypatch):
    monkeypatch.setitem(app.config, "WTF_CSRF_ENABLED", True)
    response = client.post(f"/partner/holds/{booked.id}/cancel", data={"confirm": "yes"})
    assert response.status_code == 400
    db.session.refresh(booked)
    assert booked.status is HoldStatus.HELD


# --- staff end a ban or a keep-apart pair ------------------------------------------------

@pytest.fixture()
def records(db, client, make_user, make_site):
    site = make_site("gyldenpris", name="Gyldenpris")
    night = tonight()
    kari = Person(name="Kari Nordmann", gender=Gender.WOMAN)
    ola = Person(name="Ola Hansen", gender=Gender.MAN)
    db.session.add_all([kari, ola])
    db.session.flush()
    ban = Restriction(person_id=ola.id, site_id=site.id, starts_on=night - timedelta(days=2),
                      ends_on=night + timedelta(days=5), reason="Threatened staff")
    pair = KeepApart(person_a_id=kari.id, person_b_id=ola.id, starts_on=night, ends_on=None,
                     reason="Restraining order")
    db.session.add_all([ban, pair])
    user = make_user(Role.INTAKE)
    db.session.commit()
    login(client, user)
    return {"ban": ban, "pair": pair, "kari": kari, "ola": ola, "user": user}


def test_the_safety_page_links_to_confirm_pages(client, db, records):
    html = client.get("/people/safety").get_data(as_text=True)
    assert f'href="/people/safety/bans/{records["ban"].id}/end"' in html
    assert f'href="/people/safety/keep-apart/{records["pair"].id}/end"' in html
    assert "/end\" class=\"inline\"" not in html  # no one-click form left


def test_ending_a_ban_asks_first_then_ends_it_and_is_audited(client, db, records):
    ban, ola = records["ban"], records["ola"]
    page = client.get(f"/people/safety/bans/{ban.id}/end?back=/people/{ola.id}")
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "End this ban?" in html
    assert "Ending the ban lets Ola Hansen be given a bed at Gyldenpris again from tonight" in html
    assert "Threatened staff" in html and f'value="/people/{ola.id}"' in html
    assert _count(db, ola.id, "view") == 1

    unconfirmed = client.post(f"/people/safety/bans/{ban.id}/end",
                              data={"back": f"/people/{ola.id}"})
    assert unconfirmed.status_code == 200 and "End this ban?" in unconfirmed.get_data(as_text=True)
    db.session.refresh(ban)
    assert ban.ended_at is None and ban.in_force_on(tonight())
    assert _count(db, ola.id, "end_ban") == 0

    done = client.post(f"/people/safety/bans/{ban.id}/end",
                       data={"confirm": "yes", "back": f"/people/{ola.id}"})
    assert done.status_code == 302 and done.headers["Location"].endswith(f"/people/{ola.id}")
    db.session.refresh(ban)
    assert ban.ended_at is not None and ban.ended_by_id == records["user"].id
    assert not ban.in_force_on(tonight())
    assert _count(db, ola.id, "end_ban") == 1

    again = client.get(f"/people/safety/bans/{ban.id}/end").get_data(as_text=True)
    assert "This ban has already been ended." in again and "Yes, end the ban" not in again


def test_ending_a_keep_apart_pair_asks_first_and_audits_both(client, db, records):
    pair, kari, ola = records["pair"], records["kari"], records["ola"]
    html = client.get(f"/people/safety/keep-apart/{pair.id}/end").get_data(as_text=True)
    assert "End this keep-apart pair?" in html
    assert "lets Kari Nordmann and Ola Hansen be placed at the same site again" in html
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.detail.like("end keep apart%")))
    assert set(db.session.scalars(select(AuditEventPerson.person_id).where(
        AuditEventPerson.event_id == event.id))) == {kari.id, ola.id}

    assert client.post(f"/people/safety/keep-apart/{pair.id}/end").status_code == 200
    db.session.refresh(pair)
    assert pair.ended_at is None

    done = client.post(f"/people/safety/keep-apart/{pair.id}/end", data={"confirm": "yes"})
    assert done.status_code == 302 and done.headers["Location"].endswith("/people/safety")
    db.session.refresh(pair)
    assert pair.ended_at is not None
    assert _count(db, kari.id, "end_keep_apart") == 1 and _count(db, ola.id, "end_keep_apart") == 1


def test_back_goes_nowhere_else_and_unknown_records_are_404(client, db, records):
    ban = records["ban"]
    html = client.get(f"/people/safety/bans/{ban.id}/end?back=https://evil.example/x"
                      ).get_data(as_text=True)
    assert 'name="back" value="/people/safety"' in html and 'href="/people/safety"' in html
    assert 'href="https://evil' not in html and 'value="https://evil' not in html
    assert client.get("/people/safety/bans/999999/end").status_code == 404
    assert client.get("/people/safety/keep-apart/999999/end").status_code == 404
    assert client.post("/people/safety/keep-apart/999999/end",
                       data={"confirm": "yes"}).status_code == 404


def test_partners_cannot_reach_the_safety_confirm_pages(app, db, records, make_user):
    partner = new_client(app)
    login(partner, make_user(Role.PARTNER, organisation=add_org(db.session, "NAV")))
    for url in (f"/people/safety/bans/{records['ban'].id}/end",
                f"/people/safety/keep-apart/{records['pair'].id}/end"):
        response = partner.get(url)
        assert response.status_code == 403 and "Threatened" not in response.get_data(as_text=True)
        assert partner.post(url, data={"confirm": "yes"}).status_code == 403
    db.session.refresh(records["ban"])
    assert records["ban"].ended_at is None


# --- staff withdraw tonight's request (frees the bed and a partner's pre-booking) ----------

@pytest.fixture()
def placed_with_hold(db, client, make_user):
    """Kari, pre-booked by NAV tonight, confirmed in Strax-huset's bed."""
    from shelter.services import allocation as alloc

    org = add_org(db.session, "NAV")
    add_site(db.session, "strax", beds=1, name="Strax-huset")
    hold = book_hold(db.session, BookingRequest(
        organisation_id=org.id, night=tonight(),
        person=PersonSpec(name="Kari Nordmann", gender=Gender.WOMAN)), None)
    alloc.confirm_run(db.session, alloc.run_allocation(db.session, tonight(), city="Bergen",
                                                       user=None), None)
    user = make_user(Role.INTAKE)
    db.session.commit()
    login(client, user)
    return hold


def test_withdrawing_asks_first_says_what_it_frees_and_keeps_the_typing(client, db,
                                                                         placed_with_hold):
    from shelter.models import Placement, PlacementStatus, Request, RequestStatus

    hold = placed_with_hold
    pid = hold.person_id
    placement = db.session.scalar(select(Placement).where(Placement.person_id == pid))
    assert placement.status is PlacementStatus.CONFIRMED
    # The person page's button posts the reason without the confirmation: only asks.
    asked = client.post(f"/people/{pid}/withdraw", data={"reason": "other", "note": "Gone home"})
    html = asked.get_data(as_text=True)
    assert asked.status_code == 200 and "Withdraw tonight's request?" in html
    assert "the bed Strax-huset · Room 1 · strax-1 goes back to the pool" in html
    assert "the pre-booking by NAV is released" in html
    assert 'value="Gone home"' in html and '<option selected value="other">' in html
    db.session.refresh(placement)
    db.session.refresh(hold)
    assert placement.status is PlacementStatus.CONFIRMED and hold.status is HoldStatus.HELD
    assert _count(db, pid, "withdraw") == 0

    # Confirmed with 'Other' and no note: refused beside the field, nothing saved.
    refused = client.post(f"/people/{pid}/withdraw",
                          data={"reason": "other", "note": "", "confirm": "yes"})
    assert refused.status_code == 422
    assert 'id="note-error"' in refused.get_data(as_text=True)
    db.session.refresh(placement)
    assert placement.status is PlacementStatus.CONFIRMED

    done = client.post(f"/people/{pid}/withdraw",
                       data={"reason": "other", "note": "Gone home", "confirm": "yes"})
    assert done.status_code == 302 and done.headers["Location"].endswith(f"/people/{pid}")
    db.session.refresh(placement)
    db.session.refresh(hold)
    assert placement.status is PlacementStatus.RELEASED and hold.status is HoldStatus.RELEASED
    req = db.session.scalar(select(Request).where(Request.person_id == pid))
    assert req.status is RequestStatus.WITHDRAWN
    assert _count(db, pid, "withdraw") == 1

    after = client.get(f"/people/{pid}/withdraw").get_data(as_text=True)
    assert "This person has no open request tonight." in after and "Yes, withdraw" not in after


def test_the_partner_cancel_link_and_confirm_page_read_bokmal(app, client, db, booked):
    """The link says "Avbestill" (cancel a booking), not "Avbryt" (abort), so its visible
    text is also part of its accessible name in bokmål."""
    app.config["SHELTER_LANGUAGE"] = "nb"
    try:
        html = client.get("/partner/").get_data(as_text=True)
        assert ">Avbestill …</a>" in html and "Avbryt" not in html
        page = client.get(f"/partner/holds/{booked.id}/cancel").get_data(as_text=True)
        for bokmal in ("Avbestille denne forhåndsbestillingen?", "Ja, avbestill forhåndsbestillingen",
                       "Nei, behold forhåndsbestillingen", "frigir sengen på Strax-huset"):
            assert bokmal in page, bokmal
    finally:
        app.config["SHELTER_LANGUAGE"] = "en"
