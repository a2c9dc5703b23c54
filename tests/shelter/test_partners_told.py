"""Partners are told what became of their bookings: an outbox row per channel written with
the event, delivered by the scheduler job to a real local SMTP server (aiosmtpd) and a real
local HTTP receiver that checks the signature, retried with backoff after a 500."""
from __future__ import annotations

import hashlib
import hmac
import json
import socket
import threading
from collections.abc import Iterator
from datetime import datetime, timedelta
from email import message_from_bytes
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from typing import Any

import pytest
from aiosmtpd.controller import Controller
from sqlalchemy import select

from shelter.jobs import deliver_notifications_job, expire_holds_job
from shelter.models import (
    BedOutage, DeliveryAttempt, Gender, GenderRule, Hold, HoldStatus, Notification, Placement,
    PlacementStatus,
)
from shelter.services import allocation as alloc
from shelter.services import placements as svc
from shelter.services.notifications import backoff, hold_payload
from shelter.services.prebooking import BookingRequest, PersonSpec, book_hold, cancel_hold
from tests.shelter.intake_factories import NIGHT, ask, beds_of, hold_for
from tests.shelter.partners_fixtures import add_org, add_site, tomorrow

SECRET = "s3cret-for-tests"
NOW = datetime(2030, 1, 10, 12, 0)


class _Inbox:
    def __init__(self) -> None:
        self.messages: list[Any] = []

    async def handle_DATA(self, server: Any, session: Any, envelope: Any) -> str:  # noqa: N802
        self.messages.append((envelope.rcpt_tos, message_from_bytes(envelope.content)))
        return "250 Message accepted for delivery"


@pytest.fixture()
def smtp(app: Any, monkeypatch: pytest.MonkeyPatch) -> Iterator[_Inbox]:
    inbox = _Inbox()
    with socket.socket() as probe:  # a free port (aiosmtpd's ready check cannot use port 0)
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    controller = Controller(inbox, hostname="127.0.0.1", port=port)
    controller.start()
    try:
        monkeypatch.setitem(app.config, "SMTP_HOST", "127.0.0.1")
        monkeypatch.setitem(app.config, "SMTP_PORT", port)
        monkeypatch.setitem(app.config, "SMTP_FROM", "beds@shelter.test")
        yield inbox
    finally:
        controller.stop()


class _Receiver(BaseHTTPRequestHandler):
    answers: list[int] = []
    seen: list[dict[str, Any]] = []

    def do_POST(self) -> None:  # noqa: N802
        body = self.rfile.read(int(self.headers["Content-Length"]))
        expected = "sha256=" + hmac.new(SECRET.encode(), body, hashlib.sha256).hexdigest()
        good = hmac.compare_digest(expected, self.headers.get("X-Shelter-Signature", ""))
        self.seen.append({"body": json.loads(body), "signed": good,
                          "event": self.headers.get("X-Shelter-Event")})
        code = self.answers.pop(0) if self.answers and good else (200 if good else 401)
        self.send_response(code)
        self.send_header("Content-Length", "0")
        self.end_headers()

    def log_message(self, *args: Any) -> None:
        pass  # keep http.server's per-request lines out of the test output


@pytest.fixture()
def receiver() -> Iterator[tuple[str, type[_Receiver]]]:
    handler = type("Receiver", (_Receiver,), {"answers": [], "seen": []})
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_port}/hooks/shelter", handler
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def _partner_hold(db: Any, *, email: str | None = None, url: str | None = None) -> Hold:
    org = add_org(db.session, "Kirkens Bymisjon")
    org.contact_email, org.webhook_url = email, url
    org.webhook_secret = SECRET if url else None
    add_site(db.session, "strax", beds=1, name="Strax natthjem")
    hold = book_hold(db.session, BookingRequest(
        organisation_id=org.id, night=tomorrow(),
        person=PersonSpec(name="Kari Nordmann", gender=Gender.WOMAN, birth_year=1990),
        needs=[], note="diabetic, banned from Jonas"), None)
    db.session.flush()
    return hold


def _expire(db: Any, hold: Hold) -> None:
    hold.expires_at = NOW - timedelta(minutes=5)
    db.session.flush()
    assert expire_holds_job(NOW) is not None


def test_an_expired_booking_is_mailed_to_the_partner_without_health_detail(db, smtp):
    hold = _partner_hold(db, email="vakt@bymisjon.test")
    _expire(db, hold)
    rows = list(db.session.scalars(select(Notification).where(Notification.hold_id == hold.id)))
    assert [(r.channel, r.event, r.status) for r in rows] == [("email", "hold.expired", "pending")]

    run = deliver_notifications_job(NOW)
    assert run is not None and run.status == "done"
    assert len(smtp.messages) == 1
    rcpts, mail = smtp.messages[0]
    assert rcpts == ["vakt@bymisjon.test"] and mail["From"] == "beds@shelter.test"
    text = mail.get_payload()
    assert f"Pre-booking: {hold.id}" in text and "Kari Nordmann" in text
    assert "Strax natthjem" in text and "expired" in text and tomorrow().isoformat() in text
    assert "diabetic" not in text and "Jonas" not in text
    db.session.refresh(rows[0])
    assert rows[0].status == "delivered" and rows[0].attempts == 1
    assert rows[0].delivered_at == NOW
    assert deliver_notifications_job(NOW + timedelta(minutes=1)) is not None
    assert len(smtp.messages) == 1  # delivered once, never again


def test_a_webhook_is_signed_retried_after_a_500_and_every_attempt_recorded(db, receiver):
    url, handler = receiver
    handler.answers = [500]
    hold = _partner_hold(db, url=url)
    _expire(db, hold)
    note = db.session.scalar(select(Notification).where(Notification.hold_id == hold.id))
    assert note is not None and note.channel == "webhook"

    deliver_notifications_job(NOW)
    db.session.refresh(note)
    assert note.status == "pending" and note.attempts == 1 and note.last_error == "HTTP 500"
    assert note.next_attempt_at == NOW + backoff(1)
    deliver_notifications_job(NOW + timedelta(seconds=30))  # same minute: not due yet
    assert len(handler.seen) == 1

    deliver_notifications_job(NOW + backoff(1))
    db.session.refresh(note)
    assert note.status == "delivered" and note.attempts == 2
    assert [s["signed"] for s in handler.seen] == [True, True]
    body = handler.seen[1]["body"]
    assert body == {"event": "hold.expired", "hold_id": hold.id, "ref": body["ref"],
                    "person_name": "Kari Nordmann", "night": tomorrow().isoformat(),
                    "site": "Strax natthjem", "status": "expired", "message": body["message"]}
    assert body["ref"] and handler.seen[1]["event"] == "hold.expired"
    attempts = list(db.session.execute(select(DeliveryAttempt.ok, DeliveryAttempt.status_code)
                                       .where(DeliveryAttempt.notification_id == note.id)
                                       .order_by(DeliveryAttempt.id)))
    assert [tuple(a) for a in attempts] == [(False, 500), (True, 200)]


def test_backoff_doubles_and_is_capped():
    assert [backoff(n).total_seconds() / 60 for n in (1, 2, 3, 4)] == [1, 2, 4, 8]
    assert backoff(30) == timedelta(hours=6)


def test_no_message_without_an_address_or_when_the_partner_cancels_itself(db):
    hold = _partner_hold(db)
    _expire(db, hold)
    assert db.session.scalars(select(Notification)).all() == []
    org = hold.organisation
    org.contact_email = "vakt@bymisjon.test"
    hold2 = book_hold(db.session, BookingRequest(
        organisation_id=org.id, night=tomorrow(),
        person=PersonSpec(name="Ola", gender=Gender.MAN, birth_year=1980)), None)
    cancel_hold(db.session, hold2)
    assert db.session.scalars(select(Notification)).all() == []


def _events(db: Any, hold: Hold) -> list[str]:
    return list(db.session.scalars(select(Notification.event).where(
        Notification.hold_id == hold.id).order_by(Notification.id)))


def test_check_in_staff_cancel_and_turn_away_each_tell_the_partner(db, make_site):
    site = make_site("strax", beds=2, name="Strax")
    anna = ask(db.session, "Anna", need=50, gender=Gender.WOMAN)
    berit = ask(db.session, "Berit", need=40, gender=Gender.WOMAN)
    a_hold = hold_for(db.session, anna.person, beds_of(site)[0])
    b_hold = hold_for(db.session, berit.person, beds_of(site)[1])
    a_hold.organisation.contact_email = "vakt@bymisjon.test"
    anna.hold_id, berit.hold_id = a_hold.id, b_hold.id
    run = alloc.run_allocation(db.session, NIGHT, city="Bergen", user=None)
    alloc.confirm_run(db.session, run, None)
    placed = {p.person_id: p for p in db.session.scalars(select(Placement).where(
        Placement.night == NIGHT, Placement.status == PlacementStatus.CONFIRMED))}
    alloc.check_in(db.session, placed[anna.person_id], None)
    svc.cancel_placement(db.session, placed[berit.person_id], None, "phoned",
                         now=datetime.combine(NIGHT, datetime.min.time()) + timedelta(hours=17))
    assert _events(db, a_hold) == ["hold.claimed"]
    assert _events(db, b_hold) == ["hold.cancelled"]
    assert a_hold.status == HoldStatus.CLAIMED and b_hold.status == HoldStatus.CANCELLED


def test_staff_release_and_a_safety_decision_release_tell_the_partner(db, make_site):
    from shelter.services.prebooking import end_hold

    site = make_site("strax", beds=2, name="Strax")
    anna = ask(db.session, "Anna", need=50, gender=Gender.WOMAN)
    berit = ask(db.session, "Berit", need=40, gender=Gender.WOMAN)
    a_hold = hold_for(db.session, anna.person, beds_of(site)[0])
    b_hold = hold_for(db.session, berit.person, beds_of(site)[1])
    a_hold.organisation.contact_email = "vakt@bymisjon.test"
    anna.hold_id = a_hold.id
    run = alloc.run_allocation(db.session, NIGHT, city="Bergen", user=None)
    alloc.confirm_run(db.session, run, None)
    placement = db.session.scalar(select(Placement).where(
        Placement.person_id == anna.person_id, Placement.night == NIGHT))
    alloc.release(db.session, placement, None, "staff need the bed")
    # apply_decisions (a ban recorded since) releases a hold through end_hold.
    assert end_hold(db.session, b_hold.id, HoldStatus.RELEASED, NOW)
    assert _events(db, a_hold) == ["hold.released"] and _events(db, b_hold) == ["hold.released"]


def test_a_turned_away_partner_booking_is_reported_as_turned_away(db, make_site):
    site = make_site("kvinne", beds=1, name="Kvinnehuset", gender=GenderRule.WOMEN)
    ola = ask(db.session, "Ola", need=50, gender=Gender.MAN)
    bed = beds_of(site)[0]
    hold = hold_for(db.session, ola.person, bed, site_only=False)
    # The held bed leaves service: Ola is allocated like anyone else and no bed admits men.
    db.session.add(BedOutage(bed_id=bed.id, starts_on=NIGHT, reason="water damage"))
    db.session.flush()
    hold.organisation.contact_email = "vakt@bymisjon.test"
    ola.hold_id = hold.id
    run = alloc.run_allocation(db.session, NIGHT, city="Bergen", user=None)
    alloc.confirm_run(db.session, run, None)
    assert _events(db, hold) == ["request.turned_away"]
    payload = hold_payload(db.session, hold, "request.turned_away")
    assert payload["status"] == "turned_away" and payload["site"] == "Kvinnehuset"


def test_admin_sets_contact_and_webhook_and_sees_the_secret_once(client, db, make_user):
    from shelter.models import Organisation, Role
    from tests.shelter.conftest import login

    login(client, make_user(Role.ADMIN))
    org = add_org(db.session, "Kirkens Bymisjon")
    form = {"name": "Kirkens Bymisjon", "kind": "ngo", "active": "y",
            "contact_email": "not an address", "webhook_url": "ftp://x"}
    r = client.post(f"/admin/organisations/{org.id}/edit", data=form)
    assert r.status_code == 422 and "name@example.org" in r.get_data(as_text=True)
    db.session.refresh(org)
    assert org.contact_email is None

    form.update(contact_email="vakt@bymisjon.test", webhook_url="https://bymisjon.test/hook")
    r = client.post(f"/admin/organisations/{org.id}/edit", data=form)
    page = r.get_data(as_text=True)
    db.session.refresh(org)
    assert r.status_code == 200 and org.webhook_secret and org.webhook_secret in page
    assert org.contact_email == "vakt@bymisjon.test"
    first = org.webhook_secret
    edit_page = client.get(f"/admin/organisations/{org.id}/edit").get_data(as_text=True)
    assert first not in edit_page and "Generate a new secret" in edit_page
    r = client.post(f"/admin/organisations/{org.id}/webhook-secret")
    db.session.refresh(org)
    assert org.webhook_secret != first and org.webhook_secret in r.get_data(as_text=True)
    assert db.session.get(Organisation, org.id).webhook_url == "https://bymisjon.test/hook"
    form["webhook_url"] = "https://bymisjon.test/" + "x" * 600
    assert client.post(f"/admin/organisations/{org.id}/edit", data=form).status_code == 422


def test_the_openapi_document_parses_and_describes_the_webhook_payload(client, db, receiver):
    import jsonschema
    import schemathesis

    doc = client.get("/api/v1/openapi.json").get_json()
    hook = doc["x-webhooks"]["bookingOutcome"]["post"]
    assert "X-Shelter-Signature" in {p["name"] for p in hook["parameters"]}
    assert "HMAC-SHA256" in hook["description"]
    schema = doc["components"]["schemas"]["WebhookEvent"]
    schemathesis.openapi.from_dict(doc)  # still a valid OpenAPI document
    # A real delivered body matches the documented schema.
    url, handler = receiver
    hold = _partner_hold(db, url=url)
    _expire(db, hold)
    deliver_notifications_job(NOW)
    jsonschema.validate(handler.seen[0]["body"], schema)
    assert set(handler.seen[0]["body"]) == set(schema["properties"])


def test_api_clients_see_their_own_webhook_settings_but_never_the_secret(client, db):
    from shelter.services.tokens import create_token

    hold = _partner_hold(db, email="vakt@bymisjon.test", url="https://bymisjon.test/hook")
    other = add_org(db.session, "Frelsesarmeen")
    raw = create_token(db.session, hold.organisation.name)
    other_raw = create_token(db.session, other.name)
    r = client.get("/api/v1/webhook", headers={"Authorization": f"Bearer {raw}"})
    assert r.status_code == 200 and r.get_json() == {
        "contact_email": "vakt@bymisjon.test", "webhook_url": "https://bymisjon.test/hook",
        "secret_set": True, "signature_header": "X-Shelter-Signature"}
    assert SECRET not in r.get_data(as_text=True)
    mine = client.get("/api/v1/webhook", headers={"Authorization": f"Bearer {other_raw}"})
    assert mine.get_json()["webhook_url"] is None and mine.get_json()["secret_set"] is False
    assert client.get("/api/v1/webhook").status_code == 401


def test_without_smtp_host_the_mail_is_written_to_the_log(app, db, caplog, monkeypatch):
    import logging

    monkeypatch.setitem(app.config, "SMTP_HOST", "")
    hold = _partner_hold(db, email="vakt@bymisjon.test")
    _expire(db, hold)
    with caplog.at_level(logging.INFO, logger="shelter.services.notifications"):
        deliver_notifications_job(NOW)
    logged = "\n".join(r.getMessage() for r in caplog.records)
    assert "To: vakt@bymisjon.test" in logged and f"Pre-booking: {hold.id}" in logged
    note = db.session.scalar(select(Notification).where(Notification.hold_id == hold.id))
    db.session.refresh(note)
    assert note.status == "delivered"
