"""Partners are told what became of their bookings: by e-mail to the organisation's contact
address and, when it registered one, by a signed webhook.

`notify_hold` writes outbox rows (one per channel) in the caller's transaction; the
scheduler job `deliver-notifications` claims what is due (`claim_due`) and commits, sends each
with no transaction open (`send`), then records every attempt (`record`). A failed delivery is retried with exponential backoff (1, 2, 4 ...
minutes) until MAX_ATTEMPTS, then left as failed for an admin to see.

A message says only what the partner portal shows: hold id, the partner's own reference,
the person's name as registered, night, site name and status. Never health, need or ban
detail."""
from __future__ import annotations

import hashlib
import hmac
import json
import logging
import secrets
import smtplib
import urllib.error
import urllib.request
from datetime import date, datetime, timedelta
from email.message import EmailMessage
from dataclasses import dataclass
from typing import Any
from urllib.parse import urlsplit

from flask import current_app
from flask_babel import force_locale
from sqlalchemy import select
from sqlalchemy.orm import Session, joinedload

from shelter.i18n import _, _l, day, day_short, instance_language
from shelter.models import (DeliveryAttempt, Hold, HoldStatus, Notification, Organisation,
                            RequestStatus)
from shelter.services.prebooking_queries import ref_for
from shelter.words import word

log = logging.getLogger(__name__)

MAX_ATTEMPTS = 8
FIRST_RETRY = timedelta(minutes=1)
LAST_RETRY = timedelta(hours=6)
BATCH = 50
CLAIM_FOR = timedelta(minutes=10)
TIMEOUT_SECONDS = 10
SIGNATURE_HEADER = "X-Shelter-Signature"

#: What happened to the booking, as the event code programs read and a sentence people read
#: (in the instance's language, SHELTER_LANGUAGE: partners are told outside any request).
EVENTS = {
    "hold.claimed": _l("The person checked in: the pre-booking was claimed."),
    "hold.expired": _l("Nobody checked in before the hold time: the pre-booking expired and "
                       "the bed went back to the pool."),
    "hold.cancelled": _l("Shelter staff cancelled the pre-booking."),
    "hold.released": _l("Shelter staff released the pre-booking."),
    "request.turned_away": _l("The person was not given a bed for this night."),
}


class WebhookInputError(ValueError):
    """A webhook URL an organisation cannot use."""


def check_webhook_url(url: str) -> str:
    """An http(s) URL with a host, or WebhookInputError naming what is wrong."""
    url = url.strip()
    parts = urlsplit(url)
    if parts.scheme not in ("http", "https") or not parts.hostname:
        raise WebhookInputError(_("The webhook address must start with https:// (or http://) "
                                  "and name a host."))
    if len(url) > 500:
        raise WebhookInputError(_("The webhook address must be at most %(num)d characters long.",
                                  num=500))
    return url


def new_webhook_secret() -> str:
    return secrets.token_hex(32)


def sign(secret: str, body: bytes) -> str:
    """The signature header's value: sha256=<hex HMAC-SHA256 of the body with the secret>."""
    return "sha256=" + hmac.new(secret.encode(), body, hashlib.sha256).hexdigest()


def hold_payload(session: Session, hold: Hold, event: str) -> dict[str, Any]:
    """The message about one hold: the partner portal's view of it and nothing more. The
    sentence is in the instance's language, whoever's request caused the event."""
    with force_locale(instance_language()):
        message = str(EVENTS[event])
    return {
        "event": event,
        "hold_id": hold.id,
        "ref": ref_for(session, hold.organisation_id, hold.person_id) or "",
        "person_name": hold.person.display_name,
        "night": hold.night.isoformat(),
        # A booking that was pending and ended never had a site of its own.
        "site": hold.site.name if hold.bed_id is not None else "",
        "status": "turned_away" if event == "request.turned_away" else hold.status.value,
        "message": message,
    }


def notify_hold(session: Session, hold: Hold, event: str) -> list[Notification]:
    """Queue the message about `hold` for each channel its organisation has set up (none,
    e-mail, webhook or both). Flushes; the caller's transaction commits it with the event."""
    org = session.get(Organisation, hold.organisation_id)
    if org is None:
        return []
    payload = hold_payload(session, hold, event)
    rows = []
    if org.contact_email:
        rows.append(Notification(organisation_id=org.id, channel="email", event=event,
                                 hold_id=hold.id, payload=payload))
    if org.webhook_url and org.webhook_secret:
        rows.append(Notification(organisation_id=org.id, channel="webhook", event=event,
                                 hold_id=hold.id, payload=payload))
    session.add_all(rows)
    session.flush()
    return rows


def notify_hold_id(session: Session, hold_id: int, event: str) -> None:
    hold = session.get(Hold, hold_id)
    if hold is not None:
        notify_hold(session, hold, event)


# --- delivery ---------------------------------------------------------------------------

class DeliveryFailed(Exception):
    def __init__(self, message: str, status_code: int | None = None) -> None:
        super().__init__(message)
        self.status_code = status_code


def _status_word(code: str) -> str:
    """The status in a payload ("expired", "turned_away") as people read it."""
    if code == "turned_away":
        return word(RequestStatus.TURNED_AWAY)
    try:
        return word(HoldStatus(code))
    except ValueError:
        return code.replace("_", " ")


def mail_text(payload: dict[str, Any], org_name: str) -> tuple[str, str]:
    """Subject and body of the mail about one hold, in the instance's language."""
    with force_locale(instance_language()):
        night = date.fromisoformat(payload["night"])
        status = _status_word(payload["status"])
        event = EVENTS.get(payload.get("event", ""))
        message = str(event) if event is not None else payload["message"]
        subject = _("Pre-booking %(id)s for %(night)s: %(status)s", id=payload["hold_id"],
                    night=day_short(night), status=status)
        if payload["ref"]:
            person = _("Person: %(name)s (your reference: %(ref)s)",
                       name=payload["person_name"], ref=payload["ref"])
        else:
            person = _("Person: %(name)s (no reference)", name=payload["person_name"])
        lines = [
            _("Hello %(organisation)s,", organisation=org_name), "",
            message, "",
            _("Pre-booking: %(id)s", id=payload["hold_id"]),
            person,
            # The date as written in the API and webhooks too, so it can be matched.
            _("Night: %(night)s (%(date)s)", night=day(night), date=night.isoformat()),
            _("Site: %(site)s", site=payload["site"]),
            _("Status: %(status)s", status=status), "",
            _("You can see all your pre-bookings in the partner portal."),
        ]
    return subject, "\n".join(lines) + "\n"


@dataclass(frozen=True)
class Outgoing:
    """One claimed notification with everything needed to send it, so sending needs no
    database (and holds no transaction: on SQLite that would block intake meanwhile)."""

    id: int
    channel: str
    event: str
    payload: dict[str, Any]
    org_name: str
    email: str | None
    url: str | None
    secret: str | None


@dataclass(frozen=True)
class Outcome:
    id: int
    ok: bool
    status_code: int | None = None
    error: str | None = None


def send_mail(item: Outgoing) -> None:
    """Send by SMTP (settings SMTP_*); without SMTP_HOST (the demo) write the mail to the log."""
    if not item.email:
        raise DeliveryFailed(_("The organisation has no contact e-mail address any more."))
    config = current_app.config
    subject, body = mail_text(item.payload, item.org_name)
    message = EmailMessage()
    message["From"] = config.get("SMTP_FROM") or "shelter@localhost"
    message["To"] = item.email
    message["Subject"] = subject
    message.set_content(body)
    host = config.get("SMTP_HOST")
    if not host:
        log.info("mail (SMTP_HOST unset, not sent):\n%s", message.as_string())
        return
    try:
        with smtplib.SMTP(host, int(config.get("SMTP_PORT") or 25), timeout=TIMEOUT_SECONDS) as smtp:
            if config.get("SMTP_STARTTLS"):
                smtp.starttls()
            if config.get("SMTP_USER"):
                smtp.login(config["SMTP_USER"], config.get("SMTP_PASSWORD") or "")
            smtp.send_message(message)
    except (OSError, smtplib.SMTPException) as exc:
        raise DeliveryFailed(f"SMTP: {exc!r}") from exc


def send_webhook(item: Outgoing) -> int:
    """POST the JSON payload, signed; a 2xx answer is a delivery, anything else a failure."""
    if not item.url or not item.secret:
        raise DeliveryFailed(_("The organisation has no webhook address or secret any more."))
    body = json.dumps(item.payload, sort_keys=True, separators=(",", ":")).encode()
    request = urllib.request.Request(item.url, data=body, method="POST", headers={
        "Content-Type": "application/json",
        "User-Agent": "shelter-notifications",
        SIGNATURE_HEADER: sign(item.secret, body),
        "X-Shelter-Event": item.event,
        "X-Shelter-Delivery": str(item.id),
    })
    try:
        with urllib.request.urlopen(request, timeout=TIMEOUT_SECONDS) as response:  # noqa: S310 (http(s) only, checked)
            return int(response.status)
    except urllib.error.HTTPError as exc:
        exc.close()
        raise DeliveryFailed(f"HTTP {exc.code}", exc.code) from exc
    except (OSError, ValueError) as exc:
        raise DeliveryFailed(f"webhook: {exc!r}") from exc


def backoff(attempts: int) -> timedelta:
    """Wait after the n-th failed attempt: 1, 2, 4 ... minutes, at most LAST_RETRY."""
    return min(FIRST_RETRY * 2 ** max(attempts - 1, 0), LAST_RETRY)


def claim_due(session: Session, now: datetime, limit: int = BATCH) -> list[Outgoing]:
    """Pending notifications that are due, oldest first, claimed for CLAIM_FOR (a second
    scheduler does not send them too; after a crash they are due again then). Flushes."""
    due = list(session.scalars(select(Notification).options(joinedload(Notification.organisation))
                               .where(Notification.status == "pending",
                                      Notification.next_attempt_at <= now)
                               .order_by(Notification.id).limit(limit)))
    out = []
    for n in due:
        n.next_attempt_at = now + CLAIM_FOR
        org = n.organisation
        out.append(Outgoing(n.id, n.channel, n.event, dict(n.payload), org.name,
                            org.contact_email, org.webhook_url, org.webhook_secret))
    session.flush()
    return out


def send(item: Outgoing) -> Outcome:
    """Try one delivery once. No database."""
    code = None
    try:
        if item.channel == "webhook":
            code = send_webhook(item)
        else:
            send_mail(item)
    except DeliveryFailed as exc:
        return Outcome(item.id, False, exc.status_code, str(exc)[:2000])
    return Outcome(item.id, True, code)


def record(session: Session, outcome: Outcome, now: datetime) -> None:
    """Record one attempt: delivered, or retried after backoff, or failed after
    MAX_ATTEMPTS. Flushes."""
    n = session.get(Notification, outcome.id)
    if n is None:
        return
    n.attempts += 1
    session.add(DeliveryAttempt(notification_id=n.id, at=now, ok=outcome.ok,
                                status_code=outcome.status_code, error=outcome.error))
    if outcome.ok:
        n.status, n.delivered_at = "delivered", now
    else:
        n.last_error = outcome.error
        if n.attempts >= MAX_ATTEMPTS:
            n.status = "failed"
        else:
            n.next_attempt_at = now + backoff(n.attempts)
    session.flush()
