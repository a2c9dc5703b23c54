"""Who needs a home: the people with the most emergency nights, their longest runs and
repeat turn-aways, partner follow-up; a manager's referral for housing follow-up is audited,
shown to intake on the person page and never to partners. SQLite and PostgreSQL."""
from __future__ import annotations

import csv
import io
from datetime import date, timedelta

from sqlalchemy import func, select

from shelter.models import (
    AuditEvent, AuditEventPerson, Gender, HousingReferral, OrganisationPerson, Person, Request, RequestSource,
    RequestStatus, Role,
)
from shelter.services import audit
from shelter.services.reports_housing import band_rows, people_rows, totals
from tests.shelter.conftest import login, new_client
from tests.shelter.partners_fixtures import add_org

START = date(2026, 10, 1)
END = START + timedelta(days=6)
RANGE = {"city": "Bergen", "start": START.isoformat(), "end": END.isoformat()}
P, T, W = RequestStatus.PLACED, RequestStatus.TURNED_AWAY, RequestStatus.WITHDRAWN


def _person(db, name: str, gender: Gender, born: int, nights: dict[int, RequestStatus]) -> Person:
    person = Person(name=name, gender=gender, birth_year=born)
    db.session.add(person)
    db.session.flush()
    for k, status in nights.items():
        db.session.add(Request(person_id=person.id, night=START + timedelta(days=k), city="Bergen",
                               source=RequestSource.WALK_IN, arrival=k + 1, status=status))
    db.session.flush()
    return person


def _city(db):
    anna = _person(db, "Anna Long", Gender.WOMAN, 1990, {0: P, 1: P, 2: P, 3: T, 4: T, 6: P})
    bo = _person(db, "Bo Away", Gender.MAN, 2004, {1: T, 2: T, 3: T, 5: W})
    cy = _person(db, "Cy Once", Gender.MAN, 1950, {2: P})
    _person(db, "Dag Oslo", Gender.MAN, 1980, {})
    db.session.add(Request(person_id=cy.id, night=START + timedelta(days=3), city="Oslo",
                           source=RequestSource.WALK_IN, arrival=1, status=P))
    _person(db, "Eli Before", Gender.WOMAN, 1980, {-1: P, 7: P})  # outside the range
    org = add_org(db.session, "Kirkens Bymisjon")
    db.session.add(OrganisationPerson(organisation_id=org.id, person_id=anna.id, ref="KB-1"))
    db.session.flush()
    return anna, bo, cy, org


def longest_run(nights: list[date]) -> int:
    """The oracle: the most nights in a row in a sorted list of distinct nights."""
    best = run = 0
    previous: date | None = None
    for night in nights:
        run = run + 1 if previous is not None and night - previous == timedelta(days=1) else 1
        best, previous = max(best, run), night
    return best


def test_runs_worked_out_in_the_database_match_a_plain_count(db):
    """The CSV of everyone and the page's list both take runs from the database (gaps and
    islands); over random calendars they agree with counting the nights one by one."""
    import random

    rng = random.Random(7)
    people = {}
    for i in range(25):
        nights = {k: rng.choice([P, P, T, W]) for k in range(-3, 40) if rng.random() < 0.55}
        people[_person(db, f"R{i}", Gender.MAN, 1980, nights).id] = nights
    end = START + timedelta(days=30)
    for limit in (None, 10):
        rows = {r[1]: r for r in people_rows(db.session, "Bergen", START, end, limit=limit)}
        assert rows
        for pid, row in rows.items():
            inside = sorted(k for k, s in people[pid].items() if s != W and 0 <= k <= 30)
            away = sorted(k for k, s in people[pid].items() if s == T and 0 <= k <= 30)
            as_nights = [START + timedelta(days=k) for k in inside]
            away_nights = [START + timedelta(days=k) for k in away]
            assert row[5] == longest_run(as_nights) and row[6] == longest_run(away_nights), pid


def test_the_list_counts_nights_runs_and_turn_aways_and_is_audited(db):
    anna, bo, cy, _ = _city(db)
    rows = people_rows(db.session, "Bergen", START, END)
    assert rows == [
        ["Anna Long", anna.id, 6, 4, 2, 5, 2, "Kirkens Bymisjon", "no"],
        ["Bo Away", bo.id, 3, 0, 3, 3, 3, "no", "no"],
        ["Cy Once", cy.id, 1, 1, 0, 1, 0, "no", "no"],
    ]
    shown = select(AuditEvent.id).where(
        AuditEvent.action == "view", AuditEvent.detail.like("report: housing follow-up%"))
    assert len(db.session.scalars(shown).all()) == 1  # one event naming the three
    audited = set(db.session.scalars(select(AuditEventPerson.person_id).where(
        AuditEventPerson.event_id.in_(shown))))
    assert audited == {anna.id, bo.id, cy.id}
    assert all(db.session.scalar(select(func.count()).select_from(AuditEvent).where(
        audit.naming(p), AuditEvent.id.in_(shown))) == 1 for p in audited)
    bands = {r[0]: r for r in band_rows(totals(db.session, "Bergen", START, END), END)}
    # columns: band, woman, man, nonbinary, unknown, people, nights, nights per person
    assert bands["18–23"] == ["18–23", 0, 1, 0, 0, 1, 3, 3.0]
    assert bands["24–39"] == ["24–39", 1, 0, 0, 0, 1, 6, 6.0]
    assert bands["60+"] == ["60+", 0, 1, 0, 0, 1, 1, 1.0]
    assert set(bands) == {"18–23", "24–39", "60+"}


def test_manager_sees_the_report_and_refers_someone_intake_sees_it_partners_never(
        app, client, db, make_user, make_site):
    make_site("strax", beds=2, name="Strax")
    anna, bo, _, org = _city(db)
    manager = make_user(Role.MANAGER)
    login(client, manager)
    page = client.get("/reports/housing", query_string=RANGE)
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and "Anna Long" in html and "<svg" in html
    assert "Mark as referred for housing follow-up" in html
    export = client.get("/reports/housing.csv", query_string={**RANGE, "table": "people"})
    rows = list(csv.DictReader(io.StringIO(export.data.decode("utf-8-sig"))))
    assert [(r["person"], r["emergency nights"], r["longest run of nights"]) for r in rows] == [
        ("Anna Long", "6", "5"), ("Bo Away", "3", "3"), ("Cy Once", "1", "1")]

    r = client.post("/reports/housing/refer", data={"person": anna.id, "note": "NAV housing team",
                                                    **RANGE})
    assert r.status_code == 302 and "/reports/housing" in r.headers["Location"]
    referral = db.session.scalar(select(HousingReferral).where(HousingReferral.person_id == anna.id))
    assert referral is not None and referral.referred_by_id == manager.id
    assert db.session.scalar(select(AuditEvent.detail).where(
        AuditEvent.action == "housing_referral", AuditEvent.person_id == anna.id,
        AuditEvent.user_id == manager.id)) == "referred for housing follow-up: NAV housing team"
    again = client.post("/reports/housing/refer", data={"person": anna.id, **RANGE},
                        follow_redirects=True)
    assert "already referred" in again.get_data(as_text=True)
    for bad in ({"person": "x"}, {"person": "999999"}, {}, {"person": str(2**40)}):
        assert client.post("/reports/housing/refer", data=bad).status_code == 302
    assert db.session.scalar(select(HousingReferral.id).where(HousingReferral.person_id == bo.id)) is None
    export = client.get("/reports/housing.csv", query_string={**RANGE, "table": "people"})
    assert list(csv.DictReader(io.StringIO(export.data.decode("utf-8-sig"))))[0][
        "referred for housing"] != "no"

    intake = new_client(app)
    login(intake, make_user(Role.INTAKE))
    assert "Referred for housing follow-up" in intake.get(f"/people/{anna.id}").get_data(as_text=True)
    assert "Referred for housing follow-up" not in intake.get(f"/people/{bo.id}").get_data(as_text=True)
    assert intake.get("/reports/housing", query_string=RANGE).status_code == 403
    admin = new_client(app)
    login(admin, make_user(Role.ADMIN))
    assert admin.get("/reports/housing", query_string=RANGE).status_code == 403
    assert admin.get("/reports/housing.csv", query_string=RANGE).status_code == 403
    assert "Who needs a home" not in admin.get("/reports/").get_data(as_text=True)
    assert "Who needs a home" in client.get("/reports/").get_data(as_text=True)
    assert intake.post("/reports/housing/refer", data={"person": bo.id}).status_code == 403

    partner = new_client(app)
    login(partner, make_user(Role.PARTNER, organisation=org))
    assert partner.get(f"/people/{anna.id}").status_code in (403, 404)
    assert partner.post("/reports/housing/refer", data={"person": bo.id}).status_code == 403
    for url in ("/partner/", "/partner/history", "/api/v1/holds"):
        assert "housing" not in partner.get(url).get_data(as_text=True).lower()


def test_bad_ranges_are_422_not_500(client, db, make_user, make_site):
    make_site("strax", beds=1)
    login(client, make_user(Role.MANAGER))
    assert client.get("/reports/housing", query_string={**RANGE, "end": "2026-09-01"}).status_code == 422
    assert client.get("/reports/housing", query_string={**RANGE, "start": "nope"}).status_code == 422
    assert client.get("/reports/housing.csv", query_string={**RANGE, "table": "zzz"}).status_code == 404
