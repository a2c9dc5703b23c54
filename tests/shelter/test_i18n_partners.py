"""The partner portal, the partner API and the partners' mails in Norwegian bokmål: with the
instance language set to nb, pages, flashes, refusals, API messages and mails read bokmål,
while codes (API `error`/`field`, webhook `event`/`status`) stay the same English
identifiers."""
from __future__ import annotations

from sqlalchemy import select

from shelter.models import Gender, Hold, HoldStatus, Restriction, Role
from shelter.services.notifications import hold_payload, mail_text
from shelter.services.prebooking import BookingRequest, PersonSpec, book_hold
from shelter.services.tokens import create_token
from tests.shelter.conftest import login
from tests.shelter.partners_fixtures import add_org, add_site, new_person, tomorrow


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


def _absent(page: str, *english: str) -> None:
    found = [text for text in english if text in page]
    assert not found, f"English left on a bokmål page: {found}"


def test_portal_front_page_reads_bokmal(nb_app, client, db, make_user):
    _, user = _partner(db, make_user)
    add_site(db.session, "strax", beds=3, name="Strax-huset")
    db.session.commit()
    login(client, user)
    page = client.get("/partner/").get_data(as_text=True)
    assert '<html lang="nb"' in page
    for bokmal in ("Forhåndsbestillinger", "Forhåndsbestill seng", "Bestilt av NAV",
                   "Ledige senger", "I kveld", "Blandet", "de siste 30 nettene",
                   "Ingen forhåndsbestillinger siden i går"):
        assert bokmal in page, bokmal
    _absent(page, "Free beds", "Pre-book a bed", "Tonight", "Booked by", "No pre-bookings",
            "last 30 nights", ">mixed<", "scrollable")
    assert page.count('<td class="num">3</td>') == 8


def test_booking_form_flash_and_list_read_bokmal(nb_app, client, db, make_user):
    org, user = _partner(db, make_user)
    site = add_site(db.session, "strax", beds=2, name="Strax-huset")
    db.session.commit()
    login(client, user)
    form = client.get("/partner/book").get_data(as_text=True)
    assert '<html lang="nb"' in form
    for bokmal in ("Hold av sengen", "Hvem", "En ny person", "Når og hvor", "Fødselsår",
                   "Kvinne", "Et hvilket som helst egnet sted", "I kveld, ",
                   "Ingen helseopplysninger"):
        assert bokmal in form, bokmal
    _absent(form, "Hold the bed", "A new person", "Birth year", "Any suitable site",
            "Tonight", "When and where", ">Woman<")

    response = client.post("/partner/book", data=_form(site=str(site.id)))
    assert response.status_code == 302, response.get_data(as_text=True)[:2000]
    page = client.get("/partner/").get_data(as_text=True)
    assert "Seng holdt av på Strax-huset for Kari Nordmann" in page
    assert ">holdt av<" in page and "til kl. " in page and "Avbestill" in page
    _absent(page, "Bed held at", ">held<", "until ", ">Cancel<")

    hold = db.session.scalar(select(Hold).where(Hold.organisation_id == org.id))
    shown = client.get(f"/partner/holds/{hold.id}").get_data(as_text=True)
    for bokmal in ("Avbestill denne forhåndsbestillingen", "Født", "Kjønn", "Kvinne",
                   "Tilbake til forhåndsbestillingene"):
        assert bokmal in shown, bokmal
    _absent(shown, "Cancel this pre-booking", "Born", "Back to pre-bookings", ">Woman<")

    client.post(f"/partner/holds/{hold.id}/cancel", data={"confirm": "yes"})
    page = client.get("/partner/").get_data(as_text=True)
    assert "er avbestilt, og sengen er ledig igjen" in page
    assert ">avbestilt<" in page
    _absent(page, "the bed is free again", ">cancelled<")
    assert "Kari Nordmann · ref. " in client.get("/partner/book").get_data(as_text=True)


def test_form_errors_and_refusal_read_bokmal(nb_app, client, db, make_user):
    _, user = _partner(db, make_user)
    site = add_site(db.session, "strax", beds=1, name="Strax-huset")
    db.session.commit()
    login(client, user)
    missing = client.post("/partner/book", data=_form(name="", gender=""))
    assert missing.status_code == 422
    page = missing.get_data(as_text=True)
    assert "Oppgi navn eller alias." in page and "Velg kjønn" in page
    _absent(page, "Give a name or an alias.", "Choose a gender")

    assert client.post("/partner/book", data=_form(site=str(site.id))).status_code == 302
    refused = client.post("/partner/book", data=_form(name="Ola", site=str(site.id)))
    assert refused.status_code == 409
    page = refused.get_data(as_text=True)
    assert "Ingen egnet seng er ledig noe sted den natten." in page
    assert "Ingenting ble bestilt." in page
    _absent(page, "No suitable bed", "Nothing was booked")


def test_history_reads_bokmal(nb_app, client, db, make_user):
    _, user = _partner(db, make_user)
    db.session.commit()
    login(client, user)
    page = client.get("/partner/history").get_data(as_text=True)
    assert '<html lang="nb"' in page
    assert "Utfall av tidligere bestillinger" in page
    assert "Organisasjonen hadde ingen bestillinger de siste 30 nettene." in page
    _absent(page, "Past outcomes", "no bookings in the last", "Back to pre-bookings")


def _auth(token, language=None):
    headers = {"Authorization": f"Bearer {token}"}
    if language:
        headers["Accept-Language"] = language
    return headers


def test_api_messages_follow_the_call_and_codes_stay_english(nb_app, client, db):
    add_org(db.session, "NAV")
    token = create_token(db.session, "NAV")
    add_site(db.session, "strax", beds=1)
    db.session.commit()

    unauthorized = client.get("/api/v1/holds").get_json()
    assert unauthorized["error"] == "unauthorized"
    assert unauthorized["message"] == "Det kreves en gyldig API-nøkkel (bearer-token)."
    english = client.get("/api/v1/holds", headers={"Accept-Language": "en"}).get_json()
    assert english["message"] == "A valid bearer token is required."

    missing = client.get("/api/v1/holds/999999", headers=_auth(token)).get_json()
    assert missing == {"error": "not_found", "message": "Fant ingen slik forhåndsbestilling."}

    bad = client.post("/api/v1/holds", headers=_auth(token),
                      json={"night": "25.11.2026", "person": {"name": "X", "gender": "cat"}})
    assert bad.status_code == 422
    reasons = {e["field"]: e["reason"] for e in bad.get_json()["errors"]}
    assert reasons["night"] == "en dato på formen ÅÅÅÅ-MM-DD"
    assert reasons["person.gender"].startswith("en av woman, man")

    night = str(tomorrow())
    made = client.post("/api/v1/holds", headers=_auth(token),
                       json={"night": night, "person": new_person("A"), "site": "strax"})
    assert made.status_code == 201 and made.get_json()["status"] == "held"
    full = client.post("/api/v1/holds", headers=_auth(token),
                       json={"night": night, "person": new_person("B"), "site": "strax"})
    assert full.status_code == 409
    assert full.get_json() == {"error": "no_bed", "message":
                               "Ingen egnet seng er ledig noe sted den natten."}
    in_english = client.post("/api/v1/holds", headers=_auth(token, "en-GB,en;q=0.8"),
                             json={"night": night, "person": new_person("C"), "site": "strax"})
    assert in_english.get_json()["message"] == "No suitable bed is free at any site that night."

    # A ban everywhere makes the booking wait for intake: the answer names no reason.
    first = made.get_json()
    client.delete(f"/api/v1/holds/{first['id']}", headers=_auth(token))
    person_id = db.session.get(Hold, first["id"]).person_id
    db.session.add(Restriction(person_id=person_id, site_id=None, starts_on=tomorrow(),
                               reason="vold (hemmelig)"))
    db.session.flush()
    barred = client.post("/api/v1/holds", headers=_auth(token), json={
        "night": night, "person": {"ref": first["person"]["ref"]}, "site": "strax"})
    assert barred.status_code == 201 and barred.get_json()["status"] == "pending"
    assert "hemmelig" not in barred.get_data(as_text=True)


def test_partner_mail_and_webhook_sentence_are_in_the_instance_language(nb_app, db):
    org = add_org(db.session, "Kirkens Bymisjon")
    add_site(db.session, "strax", beds=1, name="Strax natthjem")
    hold = book_hold(db.session, BookingRequest(
        organisation_id=org.id, night=tomorrow(),
        person=PersonSpec(name="Kari Nordmann", gender=Gender.WOMAN)), None)
    hold.status = HoldStatus.EXPIRED
    db.session.flush()
    # An English-speaking user's request caused it: the partner is still told in bokmål.
    with nb_app.test_request_context("/", headers={"Accept-Language": "en"}):
        payload = hold_payload(db.session, hold, "hold.expired")
        subject, body = mail_text(payload, org.name)
    assert payload["event"] == "hold.expired" and payload["status"] == "expired"
    assert payload["message"].startswith("Ingen sjekket inn innen fristen")
    assert subject.startswith(f"Forhåndsbestilling {hold.id}, ") and subject.endswith(": utløpt")
    weekday = ["mandag", "tirsdag", "onsdag", "torsdag", "fredag", "lørdag",
               "søndag"][tomorrow().weekday()]
    assert "Hei Kirkens Bymisjon," in body and f"Natt: {weekday} " in body
    assert "Sted: Strax natthjem" in body and "Status nå: utløpt" in body
    assert "portalen for samarbeidspartnere" in body
    assert payload["night"] == tomorrow().isoformat()  # data stays ISO
    _absent(subject + body, "Hello", "Night:", "Pre-booking", "expired", "partner portal")
