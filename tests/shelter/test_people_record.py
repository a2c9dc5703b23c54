"""The person's record (issue #14): need parts computed from the record (never ticked),
nights placed / turned away and the current turn-away streak, and the staff notes log
(append-only, audited, never shown to partners). Runs on SQLite and PostgreSQL."""
from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import func, select
from sqlalchemy.exc import IntegrityError

from shelter import clock
from shelter.models import (
    Assessment, AuditEvent, Gender, Hold, HoldStatus, OrganisationPerson, Person, PersonNote,
    Request, RequestSource, RequestStatus, Role, utcnow,
)
from shelter.services import assessment as assessing
from shelter.services.history import night_counts
from shelter.services.tokens import create_token
from tests.shelter.conftest import login, new_client
from tests.shelter.partners_fixtures import add_org, add_site


@pytest.fixture()
def staff(client, make_user):
    user = make_user(Role.INTAKE)
    login(client, user)
    return user


def _person(db, name="Kari Nordmann", year: int | None = 1990, gender=Gender.WOMAN):
    p = Person(name=name, birth_year=year, gender=gender)
    db.session.add(p)
    db.session.commit()  # a 422 response rolls the session back: keep the set-up data
    return p


def _over_65_scheme(db, user):
    """The current scheme plus a manager's 'Over 65' factor computed from the birth year."""
    rows = [dict(f) for f in assessing.current_scheme(db.session).factors]
    rows.append({"key": "", "label": "Over 65", "points": "7", "group": "",
                 "derived": "age_over_65"})
    scheme = assessing.save_scheme(db.session, rows, user=user, note="older people")
    db.session.commit()
    return scheme


# --- 1. parts computed from the record --------------------------------------------------

@pytest.mark.parametrize(("age", "young", "over_65"), [
    (17, False, False), (18, True, False), (23, True, False), (24, False, False),
    (65, False, False), (66, False, True)])
def test_the_age_rule_at_its_boundaries_in_the_clocks_year(db, make_user, monkeypatch, age,
                                                           young, over_65):
    # 04:00 in Oslo on New Year's morning is still the night of 31 December: that year counts
    monkeypatch.setattr(clock, "utcnow", lambda: datetime(2027, 1, 1, 3, 0))
    year = clock.tonight().year
    assert year == 2026
    scheme = _over_65_scheme(db, make_user(Role.MANAGER))
    person = Person(name="x", birth_year=year - age)
    parts = assessing.derived_parts(scheme, person, year)
    assert (parts["young"].applies, parts["over_65"].applies) == (young, over_65)
    assert parts["young"].why == f"born {year - age}: {age} this year"
    # and the score counts them without any tick
    done = assessing.assess(db.session, _person(db, year=year - age), {}, user=None,
                            scheme=scheme)
    assert done.need == 10 * young + 7 * over_65
    assert [p["key"] for p in done.parts] == ["young"] * young + ["over_65"] * over_65


def test_unknown_birth_year_counts_no_derived_part_and_says_why(client, db, staff):
    p = _person(db, year=None)
    html = client.get(f"/people/{p.id}/assess").get_data(as_text=True)
    assert "not counted" in html and "the birth year is not known" in html
    assert client.post(f"/people/{p.id}/assess", data={"f_violence": "y"}).status_code == 302
    a = db.session.scalar(select(Assessment).where(Assessment.person_id == p.id))
    assert (a.need, a.answers["young"]) == (25, False)


def test_a_computed_part_is_counted_without_a_tick(client, db, staff):
    p = _person(db, year=clock.tonight().year - 22)
    html = client.get(f"/people/{p.id}/assess").get_data(as_text=True)
    assert f"born {p.birth_year}: 22 this year" in html and 'name="f_young" value="y"' in html
    # the form sends the computed value (a hidden field), not a tick staff made
    response = client.post(f"/people/{p.id}/assess", data={"group_sleeps": "sleeps_outside",
                                                           "f_young": "y"})
    assert response.status_code == 302
    a = db.session.scalar(select(Assessment).where(Assessment.person_id == p.id))
    assert a.need == 40 + 10 and [x["key"] for x in a.parts] == ["sleeps_outside", "young"]


@pytest.mark.parametrize(("age", "posted", "sentence"), [
    (40, "y", "does not apply"),          # ticked against the record
    (20, "", "applies and counts without a tick"),  # unticked against the record
    (None, "y", "The birth year is not known")])
def test_a_tick_against_the_record_is_refused_beside_the_field(client, db, staff, age, posted,
                                                               sentence):
    p = _person(db, year=None if age is None else clock.tonight().year - age)
    response = client.post(f"/people/{p.id}/assess",
                           data={"f_young": posted, "f_violence": "y", "note": "typed by staff"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'id="f_young-error"' in html and sentence in html
    assert "typed by staff" in html and 'checked id="f_violence"' in html  # nothing lost
    assert db.session.scalar(select(func.count()).select_from(Assessment)) == 0


def test_old_assessments_keep_their_stored_score(client, db, staff):
    p = _person(db, year=clock.tonight().year - 40)
    scheme = assessing.current_scheme(db.session)
    # an assessment stored before the rule, with 'young' ticked by hand against the record
    old = Assessment(person_id=p.id, scheme_id=scheme.id, answers={"young": True}, need=10,
                     parts=[{"key": "young", "label": "Aged 18-23", "points": 10}])
    db.session.add(old)
    db.session.commit()
    page = client.get(f"/people/{p.id}").get_data(as_text=True)
    assert 'class="need"' in page and ">10<" in page
    db.session.refresh(old)
    assert (old.need, old.answers) == (10, {"young": True})


def test_the_scheme_marks_computed_parts_and_keeps_them_out_of_groups(db, make_user):
    user = make_user(Role.MANAGER)
    scheme = _over_65_scheme(db, user)
    by_key = {f["key"]: f for f in scheme.factors}
    assert (by_key["young"]["derived"], by_key["over_65"]["derived"]) == ("age_18_23",
                                                                         "age_over_65")
    assert by_key["violence"]["derived"] == ""
    rows = [dict(f) for f in scheme.factors]
    rows[-1]["group"] = "age"
    with pytest.raises(assessing.SchemeError) as err:
        assessing.save_scheme(db.session, rows, user=user)
    assert f"factors-{len(rows) - 1}-group" in err.value.errors


# --- 2. nights placed, turned away, the streak -------------------------------------------

def _requests(db, person, outcomes: str, *, last: date):
    """One request per character, the last on `last`: P placed, T turned away, W withdrawn,
    ? waiting, '.' no request that night."""
    for i, c in enumerate(reversed(outcomes)):
        if c == ".":
            continue
        status = {"P": RequestStatus.PLACED, "T": RequestStatus.TURNED_AWAY,
                  "W": RequestStatus.WITHDRAWN, "?": RequestStatus.WAITING}[c]
        db.session.add(Request(person_id=person.id, night=last - timedelta(days=i), city="Bergen",
                               source=RequestSource.WALK_IN, arrival=1, status=status))
    db.session.commit()


@pytest.mark.parametrize(("outcomes", "placed", "away", "streak"), [
    ("", 0, 0, 0),
    ("TTPTT", 1, 4, 2),
    ("PTTT", 1, 3, 3),
    ("TT.TT", 0, 4, 2),   # a night without a request ends the streak
    ("TTWT", 0, 3, 1),    # so does a withdrawn request
    ("TTTP", 1, 3, 0),    # a night placed ends it
    ("TTT?", 0, 3, 3),    # a request still waiting tonight neither adds nor ends
    ("TT..", 0, 2, 2),    # nights since without a request: the streak up to the last one
])
def test_night_counts_and_the_streak(db, outcomes, placed, away, streak):
    person = _person(db)
    night = clock.tonight()
    _requests(db, person, outcomes, last=night)
    counts = night_counts(db.session, person.id, until=night)
    assert (counts.placed, counts.turned_away, counts.streak) == (placed, away, streak)
    if streak:
        assert counts.last_night - counts.streak_since == timedelta(days=streak - 1)
    # a request after `until` is not counted
    db.session.add(Request(person_id=person.id, night=night + timedelta(days=1), city="Bergen",
                           source=RequestSource.WALK_IN, arrival=1,
                           status=RequestStatus.TURNED_AWAY))
    db.session.flush()
    assert night_counts(db.session, person.id, until=night) == counts


def test_the_person_page_shows_counts_and_streak(client, db, staff):
    person = _person(db)
    _requests(db, person, "PTTT", last=clock.tonight() - timedelta(days=1))
    html = client.get(f"/people/{person.id}").get_data(as_text=True)
    assert 'id="nights-placed">1<' in html and 'id="nights-turned-away">3<' in html
    assert "3 nights, since" in html and "a night without a request" in html


# --- 3. notes and incidents --------------------------------------------------------------

def test_staff_add_notes_newest_first_with_author_audited(client, db, staff):
    person = _person(db)
    r = client.post(f"/people/{person.id}/notes", data={"kind": "note", "text": "First note"})
    assert r.status_code == 302
    r = client.post(f"/people/{person.id}/notes",
                    data={"kind": "incident", "text": "Threatened a guest at the door",
                          "night": (clock.tonight() - timedelta(days=1)).isoformat()})
    assert r.status_code == 302
    notes = db.session.scalars(select(PersonNote).order_by(PersonNote.id)).all()
    assert [(n.kind, n.author_id) for n in notes] == [("note", staff.id), ("incident", staff.id)]
    html = client.get(f"/people/{person.id}").get_data(as_text=True)
    assert html.index("Threatened a guest") < html.index("First note")
    assert staff.display_name in html and "night of" in html
    assert db.session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.person_id == person.id, AuditEvent.action == "note")) == 2


@pytest.mark.parametrize(("data", "field", "sentence"), [
    ({"kind": "note", "text": "   "}, "text", "cannot be empty"),
    ({"kind": "note", "text": "x" * 2001}, "text", "at most 2000 characters"),
    ({"kind": "gossip", "text": "keep me"}, "kind", "Not a valid choice"),
    ({"kind": "note", "text": "keep me", "night": "2026-02-30"}, "night", "Not a valid date"),
    ({"kind": "note", "text": "keep me",
      "night": (clock.tonight() + timedelta(days=1)).isoformat()}, "night", "after tonight"),
])
def test_a_bad_note_is_refused_beside_the_field_and_nothing_is_lost(client, db, staff, data,
                                                                    field, sentence):
    person = _person(db)
    r = client.post(f"/people/{person.id}/notes", data=data)
    assert r.status_code == 422
    html = r.get_data(as_text=True)
    assert f'id="{field}-error"' in html or (field == "kind" and "field-error" in html)
    assert sentence in html.replace("\u00a0", "").replace(",", "")
    if data["text"].strip() and len(data["text"]) < 100:
        assert data["text"] in html  # what was typed is still in the form
    assert db.session.scalar(select(func.count()).select_from(PersonNote)) == 0


def test_notes_have_no_edit_or_delete_route(app):
    rules = [r for r in app.url_map.iter_rules() if r.rule.startswith("/people") and "note" in r.rule]
    assert [(r.rule, sorted(r.methods - {"HEAD", "OPTIONS"})) for r in rules] == [
        ("/people/<int:person_id>/notes", ["POST"])]


def test_the_database_refuses_an_empty_note_or_unknown_kind(db, make_user):
    person, user = _person(db), make_user()
    for kind, text in (("note", ""), ("gossip", "x")):
        with db.session.begin_nested():
            db.session.add(PersonNote(person_id=person.id, author_id=user.id, kind=kind,
                                      text=text))
            with pytest.raises(IntegrityError):
                db.session.flush()
            db.session.rollback()


def test_partners_never_see_notes(client, db, make_user, app):
    org = add_org(db.session, "NAV")
    site = add_site(db.session, "strax", beds=1, name="Strax")
    person = _person(db, name="Referred Person")
    db.session.add(OrganisationPerson(organisation_id=org.id, person_id=person.id, ref="N-1"))
    hold = Hold(organisation_id=org.id, person_id=person.id, night=clock.tonight(),
                site_id=site.id, bed_id=site.rooms[0].beds[0].id, expires_at=utcnow(),
                status=HoldStatus.HELD)
    db.session.add(hold)
    author = make_user(Role.INTAKE)
    db.session.add(PersonNote(person_id=person.id, author_id=author.id, kind="incident",
                              text="SECRET-INCIDENT-TEXT"))
    token = create_token(db.session, "NAV")
    db.session.commit()
    # the partner's pages: every GET route of the partner blueprint without parameters
    login(client, make_user(Role.PARTNER, organisation=org))
    seen = 0
    for rule in app.url_map.iter_rules():
        if "GET" in rule.methods and not rule.arguments and rule.rule.startswith("/partner"):
            r = client.get(rule.rule)
            assert r.status_code < 500 and "SECRET-INCIDENT" not in r.get_data(as_text=True)
            seen += 1
    assert seen >= 2
    assert client.get(f"/people/{person.id}").status_code == 403
    assert client.post(f"/people/{person.id}/notes", data={"kind": "note",
                                                          "text": "x"}).status_code == 403
    # the API
    api = new_client(app)
    headers = {"Authorization": f"Bearer {token}"}
    for path in ("/api/v1/holds", f"/api/v1/holds/{hold.id}", "/api/v1/availability"):
        r = api.get(path, headers=headers)
        assert r.status_code == 200, path
        assert "SECRET-INCIDENT" not in r.get_data(as_text=True)
    assert "Referred Person" in api.get("/api/v1/holds", headers=headers).get_data(as_text=True)
