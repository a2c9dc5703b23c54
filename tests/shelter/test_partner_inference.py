"""Issue #11: a partner must not learn a ban or a keep-apart pair from a booking's answer.

Differential tests: the same booking is made for a person with no ban, with a ban at the
wished site (or everywhere), and with a keep-apart partner held at the wished site; the
partner's answers (status code, JSON keys and value kinds, page structure and wording with
names, sites, times and numbers masked) must be the same, on the web and the API, on both
databases. Then intake's side: the pending list shows the true reason, intake confirms a
site or refuses. README "Partner bookings and what they reveal"."""
from __future__ import annotations

import re
from datetime import timedelta
from html.parser import HTMLParser
from typing import Any

import pytest
from sqlalchemy import select

from shelter.models import (
    Gender, GenderRule, Hold, HoldStatus, KeepApart, OrganisationPerson, Person, Request,
    RequestStatus, Restriction, Role,
)
from shelter.services.night_input import build_night
from shelter.services.prebooking import expire_holds
from shelter.services.prebooking_queries import availability_by_night
from shelter.services.tokens import create_token
from tests.shelter.conftest import login, new_client
from tests.shelter.partners_fixtures import add_org, add_site, tomorrow

SITES = ("Kvinnehuset", "Strax-huset", "Sandviken")


# --- the world -------------------------------------------------------------------------

def _world(db):
    """Kvinnehuset (women only, the wished site), Strax-huset and Sandviken (mixed)."""
    wished = add_site(db.session, "kvinnehuset", beds=4, gender=GenderRule.WOMEN,
                      name="Kvinnehuset")
    add_site(db.session, "strax", beds=3, name="Strax-huset")
    add_site(db.session, "sandviken", beds=3, name="Sandviken")
    return wished


def _person(db, org, name: str) -> tuple[Person, str]:
    """A woman the organisation referred before (so a ban can exist before the booking)."""
    person = Person(name=name, gender=Gender.WOMAN, birth_year=1988)
    db.session.add(person)
    db.session.flush()
    ref = f"R-{person.id:04d}"
    db.session.add(OrganisationPerson(organisation_id=org.id, person_id=person.id, ref=ref))
    db.session.flush()
    return person, ref


def _ban(db, person, site=None):
    db.session.add(Restriction(person_id=person.id, site_id=site.id if site else None,
                               starts_on=tomorrow(), ends_on=tomorrow(),
                               reason="violence against staff (secret)"))
    db.session.flush()


def _pair_held_at(db, person, site, other_org):
    """A keep-apart partner of `person`, held (by another organisation) at `site`."""
    other = Person(name="Other Woman", gender=Gender.WOMAN, birth_year=1980)
    db.session.add(other)
    db.session.flush()
    bed = site.rooms[0].beds[-1]
    db.session.add(Hold(organisation_id=other_org.id, person_id=other.id, night=tomorrow(),
                        site_id=site.id, bed_id=bed.id, expires_at=_far(), status=HoldStatus.HELD))
    lo, hi = sorted([person.id, other.id])
    db.session.add(KeepApart(person_a_id=lo, person_b_id=hi, starts_on=tomorrow(),
                             reason="threats (secret)"))
    db.session.flush()


def _far():
    from datetime import datetime

    return datetime.combine(tomorrow() + timedelta(days=1), datetime.min.time())


# --- masking ------------------------------------------------------------------------------

def _mask_text(text: str, names: list[str]) -> str:
    for word in sorted([*SITES, *names, "kvinnehuset", "strax", "sandviken"], key=len,
                       reverse=True):
        text = text.replace(word, "<x>")
    text = re.sub(r"R-\d+", "<ref>", text)
    text = re.sub(r"\d", "9", text)
    return re.sub(r"\s+", " ", text).strip()


def _shape(value: Any, names: list[str]) -> Any:
    """JSON with every leaf replaced by its kind, and strings masked."""
    if isinstance(value, dict):
        return {k: _shape(v, names) for k, v in value.items()}
    if isinstance(value, list):
        return [_shape(v, names) for v in value]
    if isinstance(value, str):
        return _mask_text(value, names)
    return type(value).__name__


class _Structure(HTMLParser):
    """Tag sequence plus masked text of the part of a page inside <main>."""

    def __init__(self, names: list[str]) -> None:
        super().__init__()
        self.names, self.depth, self.out = names, 0, []

    def handle_starttag(self, tag, attrs):  # type: ignore[no-untyped-def]
        if tag == "main":
            self.depth += 1
        if self.depth:
            keep = {k: v for k, v in attrs if k in ("class", "role")}
            self.out.append(f"<{tag} {sorted(keep.items())}>")

    def handle_endtag(self, tag):  # type: ignore[no-untyped-def]
        if self.depth:
            self.out.append(f"</{tag}>")
        if tag == "main":
            self.depth -= 1

    def handle_data(self, data):  # type: ignore[no-untyped-def]
        if self.depth and data.strip():
            self.out.append(_mask_text(data, self.names))


def _page_structure(html: str, names: list[str]) -> list[str]:
    parser = _Structure(names)
    parser.feed(html)
    return parser.out


# --- the API ------------------------------------------------------------------------------

def _api_book(client, token, ref):
    return client.post("/api/v1/holds", headers={"Authorization": f"Bearer {token}"},
                       json={"night": str(tomorrow()), "person": {"ref": ref},
                             "site": "kvinnehuset"})


def test_api_answers_alike_with_and_without_a_ban_or_keep_apart_pair(client, db):
    org = add_org(db.session, "NAV")
    other_org = add_org(db.session, "Kirkens Bymisjon")
    token = create_token(db.session, "NAV")
    wished = _world(db)
    plain, plain_ref = _person(db, org, "Kari Nord")
    banned, banned_ref = _person(db, org, "Berit Lie")
    paired, paired_ref = _person(db, org, "Pia Dahl")
    _ban(db, banned, wished)
    _pair_held_at(db, paired, wished, other_org)
    db.session.commit()
    names = ["Kari Nord", "Berit Lie", "Pia Dahl"]

    answers = {who: _api_book(client, token, ref) for who, ref in
               [("plain", plain_ref), ("banned", banned_ref), ("paired", paired_ref)]}
    assert {who: a.status_code for who, a in answers.items()} == dict.fromkeys(answers, 201)
    shapes = {who: _shape(a.get_json(), names) for who, a in answers.items()}
    assert shapes["plain"] == shapes["banned"] == shapes["paired"], shapes
    bodies = {who: a.get_json() for who, a in answers.items()}
    assert {b["status"] for b in bodies.values()} == {"held"}
    assert {b["wished_site"] for b in bodies.values()} == {"kvinnehuset"}
    # The one without a ban got the wish; the others were held elsewhere, unexplained.
    assert bodies["plain"]["site"] == "kvinnehuset"
    assert bodies["banned"]["site"] != "kvinnehuset" != bodies["paired"]["site"]
    for answer in answers.values():
        text = answer.get_data(as_text=True)
        assert "secret" not in text and "barred" not in text and "apart" not in text
    # The hold as listed and fetched later reads alike too.
    listed = client.get("/api/v1/holds", headers={"Authorization": f"Bearer {token}"})
    by_ref = {h["person"]["ref"]: _shape(h, names) for h in listed.get_json()["holds"]}
    assert by_ref[plain_ref] == by_ref[banned_ref] == by_ref[paired_ref]
    # Intake's record keeps the truth.
    reasons = {h.person_id: h.wish_reason for h in db.session.scalars(select(Hold))}
    assert reasons[plain.id] is None
    assert reasons[banned.id] == "barred" and reasons[paired.id] == "keep_apart"


def test_api_pending_for_a_ban_everywhere_reads_like_a_routine_check(client, db, app,
                                                                   monkeypatch):
    org = add_org(db.session, "NAV")
    token = create_token(db.session, "NAV")
    _world(db)
    plain, plain_ref = _person(db, org, "Kari Nord")
    banned, banned_ref = _person(db, org, "Berit Lie")
    _ban(db, banned)  # every site
    db.session.commit()
    names = ["Kari Nord", "Berit Lie"]
    barred = _api_book(client, token, banned_ref)
    # The routine share of bookings that wait for intake (here: every booking).
    monkeypatch.setitem(app.config, "PARTNER_REVIEW_SHARE", 1.0)
    routine = _api_book(client, token, plain_ref)
    assert barred.status_code == routine.status_code == 201
    assert _shape(barred.get_json(), names) == _shape(routine.get_json(), names)
    assert barred.get_json()["status"] == routine.get_json()["status"] == "pending"
    assert barred.get_json()["site"] is None
    held = {h.person_id: h for h in db.session.scalars(select(Hold))}
    assert held[banned.id].wish_reason == "barred" and held[plain.id].wish_reason == "review"
    assert held[banned.id].bed_id is None and held[plain.id].bed_id is None


def test_a_full_city_refuses_alike_with_and_without_a_ban(client, db):
    org = add_org(db.session, "NAV")
    token = create_token(db.session, "NAV")
    wished = add_site(db.session, "kvinnehuset", beds=1, gender=GenderRule.WOMEN,
                      name="Kvinnehuset")
    filler, filler_ref = _person(db, org, "Fia Holm")
    plain, plain_ref = _person(db, org, "Kari Nord")
    banned, banned_ref = _person(db, org, "Berit Lie")
    _ban(db, banned, wished)
    db.session.commit()
    assert _api_book(client, token, filler_ref).status_code == 201
    refused = [_api_book(client, token, ref) for ref in (plain_ref, banned_ref)]
    assert [r.status_code for r in refused] == [409, 409]
    assert refused[0].get_json() == refused[1].get_json()


def test_the_spread_sends_routine_bookings_elsewhere_too(client, db, app, monkeypatch):
    """An unmet wish is routine: with the spread share at 1, a person with no ban whose
    wished site has room is held at another site, and the answer reads like a ban's."""
    org = add_org(db.session, "NAV")
    token = create_token(db.session, "NAV")
    wished = _world(db)
    plain, plain_ref = _person(db, org, "Kari Nord")
    banned, banned_ref = _person(db, org, "Berit Lie")
    _ban(db, banned, wished)
    db.session.commit()
    monkeypatch.setitem(app.config, "PARTNER_SPREAD_SHARE", 1.0)
    answers = [_api_book(client, token, ref).get_json() for ref in (plain_ref, banned_ref)]
    assert answers[0]["site"] != "kvinnehuset" and answers[1]["site"] != "kvinnehuset"
    names = ["Kari Nord", "Berit Lie"]
    assert _shape(answers[0], names) == _shape(answers[1], names)
    assert db.session.scalar(select(Hold.wish_reason).where(Hold.person_id == plain.id)) \
        == "spread"


def test_the_draw_is_fixed_per_person_and_night(app):
    from shelter.services.prebooking import draw

    night = tomorrow()
    with app.app_context():
        _check_draw(draw, night)


def _check_draw(draw, night):
    assert draw(1, night, "spread") == draw(1, night, "spread")
    values = {draw(p, night, "spread") for p in range(200)}
    assert len(values) == 200 and all(0 <= v < 1 for v in values)
    share = sum(v < 0.15 for v in values) / 200
    assert 0.05 < share < 0.3  # roughly the share asked for, not always or never


# --- the web portal ---------------------------------------------------------------------

def _web_book(client, person, wished):
    return client.post("/partner/book", data={
        "person": str(person.id), "name": "", "alias": "", "birth_year": "", "gender": "",
        "night": tomorrow().isoformat(), "site": str(wished.id), "note": ""},
        follow_redirects=True)


@pytest.mark.parametrize("routine_review", [False, True])
def test_web_answers_alike_with_and_without_a_ban_or_keep_apart_pair(
        client, db, app, make_user, monkeypatch, routine_review):
    """Without review: plain is held at the wish, the banned and paired people elsewhere.
    With every booking reviewed: all three wait for intake. Either way the pages match."""
    orgs = [add_org(db.session, f"Org {i}") for i in range(3)]
    other_org = add_org(db.session, "Kirkens Bymisjon")
    users = [make_user(Role.PARTNER, organisation=o) for o in orgs]
    wished = _world(db)
    plain, unused = _person(db, orgs[0], "Kari Nord")
    banned, unused = _person(db, orgs[1], "Berit Lie")
    paired, unused = _person(db, orgs[2], "Pia Dahl")
    _ban(db, banned, wished)
    _pair_held_at(db, paired, wished, other_org)
    db.session.commit()
    if routine_review:
        monkeypatch.setitem(app.config, "PARTNER_REVIEW_SHARE", 1.0)
    names = ["Kari Nord", "Berit Lie", "Pia Dahl", "Org 0", "Org 1", "Org 2"]
    pages, shows = {}, {}
    for who, user, person in [("plain", users[0], plain), ("banned", users[1], banned),
                              ("paired", users[2], paired)]:
        client = new_client(app)  # a browser of its own: no flash left from another log-in
        login(client, user)
        response = _web_book(client, person, wished)
        assert response.status_code == 200 and response.request.path == "/partner/"
        pages[who] = _page_structure(response.get_data(as_text=True), names)
        hold = db.session.scalar(select(Hold).where(Hold.person_id == person.id))
        shows[who] = _page_structure(client.get(f"/partner/holds/{hold.id}")
                                     .get_data(as_text=True), names)
    assert pages["plain"] == pages["banned"] == pages["paired"]
    assert shows["plain"] == shows["banned"] == shows["paired"]
    flash = [p for p in pages["plain"] if "<x>" in p and ("held" in p or "received" in p)]
    assert flash, pages["plain"]
    for page in (pages["banned"], shows["paired"]):
        assert not any("secret" in p or "Ban" in p or "apart" in p for p in page)
    statuses = {h.person_id: h.status for h in db.session.scalars(select(Hold))
                if h.organisation_id != other_org.id}
    expected = HoldStatus.PENDING if routine_review else HoldStatus.HELD
    assert set(statuses.values()) == {expected}


def test_availability_shows_no_pending_booking_and_no_reason(client, db):
    org = add_org(db.session, "NAV")
    token = create_token(db.session, "NAV")
    _world(db)
    banned, banned_ref = _person(db, org, "Berit Lie")
    _ban(db, banned)
    db.session.commit()
    before = client.get(f"/api/v1/availability?night={tomorrow()}",
                        headers={"Authorization": f"Bearer {token}"}).get_json()
    assert _api_book(client, token, banned_ref).get_json()["status"] == "pending"
    after = client.get(f"/api/v1/availability?night={tomorrow()}",
                       headers={"Authorization": f"Bearer {token}"}).get_json()
    assert before == after  # a pending booking holds no bed and counts nowhere
    (unused, rows), = availability_by_night(db.session, tomorrow(), 1)
    assert sum(r.held for r in rows) == 0


# --- intake's side --------------------------------------------------------------------

def _setup_pending(db):
    org = add_org(db.session, "NAV")
    token = create_token(db.session, "NAV")
    wished = _world(db)
    banned, banned_ref = _person(db, org, "Berit Lie")
    plain, plain_ref = _person(db, org, "Kari Nord")
    _ban(db, banned)
    db.session.commit()
    return org, token, wished, (banned, banned_ref), (plain, plain_ref)


def test_intake_sees_the_true_reason_and_partners_never_do(client, db, app, make_user,
                                                           monkeypatch):
    org, token, wished, (banned, banned_ref), (plain, plain_ref) = _setup_pending(db)
    monkeypatch.setitem(app.config, "CITY", "Bergen")
    _api_book(client, token, banned_ref)
    monkeypatch.setitem(app.config, "PARTNER_REVIEW_SHARE", 1.0)
    _api_book(client, token, plain_ref)
    intake = make_user(Role.INTAKE)
    db.session.commit()
    login(client, intake)
    board = client.get(f"/intake/?night={tomorrow()}").get_data(as_text=True)
    assert "2 partner pre-bookings wait for intake to confirm a site." in board
    page = client.get(f"/intake/pending/?night={tomorrow()}")
    text = page.get_data(as_text=True)
    assert page.status_code == 200
    assert "Ban: the person is barred from every site with a bed for them tonight." in text
    assert "Routine check" in text and "Berit Lie" in text and "Kari Nord" in text
    # The partner's own views say "intake confirms the site" and nothing more.
    body = client.get("/api/v1/holds", headers={"Authorization": f"Bearer {token}"})
    assert "Ban" not in body.get_data(as_text=True) and "review" not in body.get_data(as_text=True)


def test_intake_confirms_a_site_or_is_told_why_not(client, db, app, make_user, monkeypatch):
    org, token, wished, (banned, banned_ref), (plain, plain_ref) = _setup_pending(db)
    monkeypatch.setitem(app.config, "PARTNER_REVIEW_SHARE", 1.0)
    routine = _api_book(client, token, plain_ref).get_json()
    barred = _api_book(client, token, banned_ref).get_json()
    intake = make_user(Role.INTAKE)
    db.session.commit()
    login(client, intake)
    # The ban holds: confirming it anywhere is refused beside the field, naming the rule.
    refused = client.post(f"/intake/pending/{barred['id']}/confirm",
                          data={f"h{barred['id']}-site": str(wished.id)})
    assert refused.status_code == 422
    assert "Ban: the person is barred from this site tonight." in refused.get_data(as_text=True)
    assert db.session.get(Hold, barred["id"]).status is HoldStatus.PENDING
    # The routine one is confirmed at the wished site: a bed is held, a request opened.
    done = client.post(f"/intake/pending/{routine['id']}/confirm",
                       data={f"h{routine['id']}-site": str(wished.id)})
    assert done.status_code == 302
    hold = db.session.get(Hold, routine["id"])
    db.session.refresh(hold)
    assert hold.status is HoldStatus.HELD and hold.site_id == wished.id
    assert hold.bed is not None and hold.bed.room.site_id == wished.id
    req = db.session.scalar(select(Request).where(Request.hold_id == hold.id))
    assert req is not None and req.status is RequestStatus.WAITING
    shown = client.get(f"/api/v1/holds/{hold.id}",
                       headers={"Authorization": f"Bearer {token}"}).get_json()
    assert shown["status"] == "held" and shown["site"] == "kvinnehuset"
    # The allocation's input now has the hold; the pending one is not in it.
    data, maps = build_night(db.session, tomorrow(), "Bergen")
    assert [h for h in data["holds"]] and set(maps.hold.values()) == {hold.id}


def test_intake_refuses_and_the_partner_reads_released(client, db, make_user):
    org, token, wished, (banned, banned_ref), unused = _setup_pending(db)
    org.contact_email = "nav@example.org"
    barred = _api_book(client, token, banned_ref).get_json()
    intake = make_user(Role.INTAKE)
    db.session.commit()
    login(client, intake)
    response = client.post(f"/intake/pending/{barred['id']}/refuse")
    assert response.status_code == 302
    shown = client.get(f"/api/v1/holds/{barred['id']}",
                       headers={"Authorization": f"Bearer {token}"}).get_json()
    assert shown["status"] == "released" and shown["site"] is None
    from shelter.models import Notification

    # The partner's mail says "released by staff", naming no site and no reason.
    payload = db.session.scalar(select(Notification.payload))
    assert payload["status"] == "released" and payload["site"] == ""
    assert "Ban" not in str(payload) and "secret" not in str(payload)
    assert client.post(f"/intake/pending/{barred['id']}/refuse").status_code == 404
    from shelter.models import AuditEvent

    actions = [e.action for e in db.session.scalars(select(AuditEvent))]
    assert "refuse_pending" in actions


def test_partners_cannot_reach_the_pending_list(client, db, make_user):
    org = add_org(db.session, "NAV")
    user = make_user(Role.PARTNER, organisation=org)
    db.session.commit()
    login(client, user)
    assert client.get("/intake/pending/").status_code in (403, 404)


def test_a_pending_booking_expires_and_can_be_cancelled(client, db):
    org, token, wished, (banned, banned_ref), unused = _setup_pending(db)
    barred = _api_book(client, token, banned_ref).get_json()
    again = _api_book(client, token, banned_ref)
    assert again.status_code == 409 and again.get_json()["error"] == "duplicate"
    hold = db.session.get(Hold, barred["id"])
    assert expire_holds(db.session, hold.expires_at + timedelta(minutes=1)) == [hold.id]
    db.session.refresh(hold)
    assert hold.status is HoldStatus.EXPIRED
    fresh = _api_book(client, token, banned_ref).get_json()
    assert fresh["status"] == "pending"
    cancelled = client.delete(f"/api/v1/holds/{fresh['id']}",
                              headers={"Authorization": f"Bearer {token}"})
    assert cancelled.status_code == 200 and cancelled.get_json()["status"] == "cancelled"


def test_the_spread_never_costs_a_bed_when_only_the_wished_site_has_one(client, db, app,
                                                                       monkeypatch):
    org = add_org(db.session, "NAV")
    token = create_token(db.session, "NAV")
    add_site(db.session, "kvinnehuset", beds=2, gender=GenderRule.WOMEN, name="Kvinnehuset")
    add_site(db.session, "strax", beds=0, name="Strax-huset")
    plain, plain_ref = _person(db, org, "Kari Nord")
    db.session.commit()
    monkeypatch.setitem(app.config, "PARTNER_SPREAD_SHARE", 1.0)
    answer = _api_book(client, token, plain_ref).get_json()
    assert answer["status"] == "held" and answer["site"] == "kvinnehuset"
    assert db.session.scalar(select(Hold.wish_reason).where(Hold.person_id == plain.id)) is None


def test_managers_report_and_the_allocation_input_take_a_pending_booking(client, db):
    from shelter.services.reports_bookings import prebooking_report

    org, token, wished, (banned, banned_ref), unused = _setup_pending(db)
    assert _api_book(client, token, banned_ref).get_json()["status"] == "pending"
    report = prebooking_report(db.session, "Bergen", tomorrow(), tomorrow())
    (row,) = report.tables[0].rows
    assert row[0] == "NAV" and row[1] == 1  # made: one booking, not yet an outcome
    data, maps = build_night(db.session, tomorrow(), "Bergen")
    assert data["holds"] == [] and maps.conflicts == []
