"""People pages: search, create (with duplicate warning), person page, request, assess,
scheme, safety. Bad input gives 422 with the message beside the field and keeps the input;
every view and change writes an audit row."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import func, select

from shelter.models import (
    Assessment, AuditEvent, Gender, KeepApart, NeedScheme, Person, Request, Restriction, Role,
)
from shelter.clock import tonight

from tests.shelter.conftest import login


@pytest.fixture()
def staff(client, make_user):
    user = make_user(Role.INTAKE)
    login(client, user)
    return user


def _person(db, name="Kari Nordmann", year=1990, gender=Gender.WOMAN, **kw):
    p = Person(name=name, birth_year=year, gender=gender, **kw)
    db.session.add(p)
    db.session.commit()  # a 422 response rolls the session back: keep the set-up data
    return p


def _audits(db, person_id, action):
    return db.session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.person_id == person_id, AuditEvent.action == action))


def test_search_finds_by_name_without_diacritics_and_by_birth_year(client, db, staff):
    kari = _person(db, "Kåri Ødegård", 1990)
    _person(db, "Ola Hansen", 1985)
    html = client.get("/people/?q=kari odeg").get_data(as_text=True)
    assert "Kåri Ødegård" in html and "Ola Hansen" not in html
    html = client.get("/people/?q=born 1985").get_data(as_text=True)
    assert "Ola Hansen" in html and "Kåri" not in html
    assert _audits(db, kari.id, "list") == 1


def test_create_person_then_page_is_audited(client, db, staff):
    response = client.post("/people/new", data={"name": "Per Persen", "age": "30",
                                                 "gender": "man", "needs": ["accessible"]})
    assert response.status_code == 302
    person = db.session.scalar(select(Person).where(Person.name == "Per Persen"))
    assert person.birth_year == tonight().year - 30 and person.needs == ["accessible"]
    assert _audits(db, person.id, "create") == 1
    page = client.get(f"/people/{person.id}")
    assert page.status_code == 200 and "Per Persen" in page.get_data(as_text=True)
    assert _audits(db, person.id, "view") == 1


def test_refused_name_needs_an_alias_beside_the_field(client, db, staff):
    response = client.post("/people/new", data={"name": "Typed", "refused_name": "y",
                                                 "birth_year": "1980", "gender": "unknown"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'id="alias-error"' in html and "give an alias" in html
    assert 'value="1980"' in html  # what was typed is kept


def test_likely_duplicate_warns_and_links_then_confirm_creates(client, db, staff):
    existing = _person(db, "Jonas Olsen", 1990, Gender.MAN)
    data = {"name": "jonás olsen", "birth_year": "1991", "gender": "man"}
    response = client.post("/people/new", data=data)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "Likely duplicate" in html and f"/people/{existing.id}" in html
    assert db.session.scalar(select(func.count()).select_from(Person)) == 1
    response = client.post("/people/new", data={**data, "confirm_duplicate": "y"})
    assert response.status_code == 302
    assert db.session.scalar(select(func.count()).select_from(Person)) == 2


def test_bad_birth_year_is_refused_beside_the_field(client, db, staff):
    response = client.post("/people/new", data={"name": "A", "birth_year": "abc", "gender": "man"})
    assert response.status_code == 422
    assert 'id="birth_year-error"' in response.get_data(as_text=True)


def test_assess_shows_score_with_parts_and_records_scheme(client, db, staff):
    young = _person(db, "Ung Person", tonight().year - 20)
    form = client.get(f"/people/{young.id}/assess").get_data(as_text=True)
    # computed from the birth year: shown with why, never a checkbox to tick
    assert 'id="derived-young"' in form and "20 this year" in form and 'id="f_young"' not in form
    older = _person(db, "Eldre Person", tonight().year - 40)
    assert "does not apply" in client.get(f"/people/{older.id}/assess").get_data(as_text=True)
    response = client.post(f"/people/{young.id}/assess",
                           data={"group_sleeps": "sleeps_outside", "f_violence": "y",
                                 "f_young": "y", "f_cold_night": "y"})
    assert response.status_code == 302
    a = db.session.scalar(select(Assessment).where(Assessment.person_id == young.id))
    assert a.need == 40 + 25 + 10 + 10
    assert [p["key"] for p in a.parts] == ["sleeps_outside", "violence", "young", "cold_night"]
    assert a.scheme.version == 1
    page = client.get(f"/people/{young.id}").get_data(as_text=True)
    assert "Exposed to or fleeing violence" in page and ">85<" in page
    assert _audits(db, young.id, "assess") == 1


def test_request_for_tonight_then_second_request_is_refused_beside_the_night(client, db, staff):
    p = _person(db)
    response = client.post(f"/people/{p.id}/request", data={"source": "phone"})
    assert response.status_code == 302
    req = db.session.scalar(select(Request).where(Request.person_id == p.id))
    assert req.night == tonight() and req.arrival == 1 and req.source.value == "phone"
    response = client.post(f"/people/{p.id}/request", data={"source": "walk_in", "note": "kept"})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'id="night-error"' in html and "Already registered" in html and "kept" in html
    assert _audits(db, p.id, "request") == 1


def test_request_reuses_a_recent_assessment(client, db, staff):
    p = _person(db)
    client.post(f"/people/{p.id}/assess", data={"group_sleeps": "sleeps_outside"})
    a = db.session.scalar(select(Assessment).where(Assessment.person_id == p.id))
    form = client.get(f"/people/{p.id}/request").get_data(as_text=True)
    assert "need 40" in form
    client.post(f"/people/{p.id}/request", data={"source": "walk_in", "assessment_id": str(a.id)})
    req = db.session.scalar(select(Request).where(Request.person_id == p.id))
    assert req.assessment_id == a.id


def test_scheme_edit_makes_a_new_version_and_refuses_bad_points(client, db, make_user):
    manager = make_user(Role.MANAGER)
    login(client, manager)
    page = client.get("/people/scheme").get_data(as_text=True)
    assert 'id="factors-0-points"' in page
    scheme = db.session.scalar(select(NeedScheme))
    rows = {}
    for i, f in enumerate(scheme.factors):
        rows.update({f"factors-{i}-key": f["key"], f"factors-{i}-label": f["label"],
                     f"factors-{i}-points": str(f["points"]), f"factors-{i}-group": f["group"]})
    bad = {**rows, "factors-3-points": "250", "factors-4-label": ""}
    response = client.post("/people/scheme", data=bad)
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert "whole number from 0 to 100" in html and "Give the factor a label" in html
    assert 'value="250"' in html
    good = {**rows, "factors-3-points": "30"}
    assert client.post("/people/scheme", data=good).status_code == 302
    versions = db.session.scalars(select(NeedScheme).order_by(NeedScheme.version)).all()
    assert [v.version for v in versions] == [1, 2] and not versions[0].active
    assert versions[1].factors[3]["points"] == 30 and versions[0].factors[3]["points"] == 25


def test_intake_cannot_edit_the_scheme_and_partners_cannot_open_people(client, db, make_user, make_org):
    login(client, make_user(Role.INTAKE))
    assert client.get("/people/scheme").status_code == 403
    client.post("/logout")
    p = _person(db)
    login(client, make_user(Role.PARTNER, organisation=make_org()))
    for url in ("/people/", "/people/new", f"/people/{p.id}", f"/people/{p.id}/request",
                f"/people/{p.id}/assess", "/people/safety", "/people/scheme"):
        assert client.get(url).status_code == 403, url
    assert client.post("/people/safety/bans", data={}).status_code == 403


def test_add_and_end_a_ban(client, db, staff, make_site):
    site = make_site("gyldenpris")
    p = _person(db)
    night = tonight()
    response = client.post("/people/safety/bans", data={
        "ban-person_id": f"#{p.id}", "ban-site_id": str(site.id),
        "ban-starts_on": night.isoformat(), "ban-ends_on": (night + timedelta(days=7)).isoformat(),
        "ban-reason": "Threatened staff", "ban-issued_by": "Police"})
    assert response.status_code == 302
    ban = db.session.scalar(select(Restriction).where(Restriction.person_id == p.id))
    assert ban.site_id == site.id and ban.created_by_id == staff.id
    page = client.get(f"/people/{p.id}").get_data(as_text=True)
    assert "Threatened staff" in page
    assert client.post(f"/people/safety/bans/{ban.id}/end", data={"confirm": "yes"}).status_code == 302
    assert ban.ended_at is not None and ban.ends_on == night and ban.ended_by_id == staff.id
    assert _audits(db, p.id, "ban") == 1 and _audits(db, p.id, "end_ban") == 1
    assert client.post("/people/safety/bans/99999/end", data={"confirm": "yes"}).status_code == 404


def test_bad_ban_input_is_refused_beside_each_field(client, db, staff):
    night = tonight()
    response = client.post("/people/safety/bans", data={
        "ban-person_id": "nobody", "ban-starts_on": night.isoformat(),
        "ban-ends_on": (night - timedelta(days=1)).isoformat(), "ban-reason": ""})
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'id="ban-person_id-error"' in html and 'value="nobody"' in html
    response = client.post("/people/safety/bans", data={
        "ban-person_id": "999999", "ban-starts_on": night.isoformat(),
        "ban-ends_on": (night - timedelta(days=1)).isoformat(), "ban-reason": ""})
    html = response.get_data(as_text=True)
    assert response.status_code == 422
    for fid in ("ban-person_id", "ban-ends_on", "ban-reason"):
        assert f'id="{fid}-error"' in html, fid


def test_keep_apart_orders_the_pair_and_refuses_self_and_duplicates(client, db, staff):
    a, b = _person(db, "A One"), _person(db, "B Two")
    base = {"pair-starts_on": tonight().isoformat(), "pair-reason": "Fight last week"}
    response = client.post("/people/safety/keep-apart",
                           data={**base, "pair-person_a_id": str(b.id), "pair-person_b_id": str(b.id)})
    assert response.status_code == 422 and "two different people" in response.get_data(as_text=True)
    response = client.post("/people/safety/keep-apart",
                           data={**base, "pair-person_a_id": str(b.id), "pair-person_b_id": str(a.id)})
    assert response.status_code == 302
    pair = db.session.scalar(select(KeepApart))
    assert (pair.person_a_id, pair.person_b_id) == (min(a.id, b.id), max(a.id, b.id))
    response = client.post("/people/safety/keep-apart",
                           data={**base, "pair-person_a_id": str(a.id), "pair-person_b_id": str(b.id)})
    assert response.status_code == 422 and "already kept apart" in response.get_data(as_text=True)
    html = client.get("/people/safety").get_data(as_text=True)
    assert "Fight last week" in html


def test_search_and_person_page_use_few_queries_with_many_people(client, db, staff):
    from sqlalchemy import event, insert

    db.session.execute(insert(Person), [{"name": f"Anna Test{i}", "birth_year": 1950 + i % 50,
                                         "gender": "woman", "needs": []} for i in range(1200)])
    db.session.commit()
    statements = []
    engine = db.session.get_bind()
    listener = lambda *args: statements.append(args[2])  # noqa: E731
    event.listen(engine, "before_cursor_execute", listener)
    try:
        html = client.get("/people/?q=anna").get_data(as_text=True)
        search_queries = len(statements)
        statements.clear()
        person_id = db.session.scalar(select(Person.id).limit(1))
        client.get(f"/people/{person_id}")
        page_queries = len(statements)
    finally:
        event.remove(engine, "before_cursor_execute", listener)
    assert "Anna Test" in html and "first 50" in html
    # a fixed number, not one per row (+3: the read-audit event and who it names, in their
    # own transaction after the page; +3: the night counts, at most two, and the notes log)
    assert search_queries <= 11 and page_queries <= 22


def test_only_admins_see_the_link_to_a_persons_audit_trail(client, db, make_user):
    person = _person(db)
    intake, admin = make_user(Role.INTAKE), make_user(Role.ADMIN)
    login(client, intake)
    assert 'id="audit-trail"' not in client.get(f"/people/{person.id}").get_data(as_text=True)
    client.post("/logout")
    login(client, admin)
    html = client.get(f"/people/{person.id}").get_data(as_text=True)
    assert f'href="/admin/people/{person.id}/audit"' in html


# --- correcting the record, withdrawing, asking the gender --------------------------------

def test_correcting_a_person_audits_old_and_new_values(client, db, staff):
    p = _person(db, "Ola Nordmann", tonight().year - 30, gender=Gender.MAN)
    page = client.get(f"/people/{p.id}/edit")
    assert page.status_code == 200 and 'value="Ola Nordmann"' in page.get_data(as_text=True)
    bad = client.post(f"/people/{p.id}/edit", data={"name": "Ola", "gender": "man",
                                                     "birth_year": str(tonight().year + 1)})
    assert bad.status_code == 422 and 'id="birth_year-error"' in bad.get_data(as_text=True)
    assert p.name == "Ola Nordmann"
    done = client.post(f"/people/{p.id}/edit", data={
        "name": "Ola Normann", "gender": "nonbinary", "birth_year": str(tonight().year - 31)})
    assert done.status_code == 302
    assert (p.name, p.gender.value, p.birth_year) == ("Ola Normann", "nonbinary", tonight().year - 31)
    detail = db.session.scalar(select(AuditEvent.detail).where(
        AuditEvent.person_id == p.id, AuditEvent.action == "update"))
    assert "name: 'Ola Nordmann' -> 'Ola Normann'" in detail and "gender: 'man' -> 'nonbinary'" in detail


def test_birth_year_bounds_are_the_same_for_intake_partners_and_the_api():
    from shelter.forms.api import parse_hold
    from shelter.services.people import OLDEST_AGE, birth_year_problem

    year = 2026
    assert birth_year_problem(year, year) is None and birth_year_problem(year - OLDEST_AGE, year) is None
    assert birth_year_problem(year + 1, year) and birth_year_problem(year - OLDEST_AGE - 1, year)
    for bad in (year + 1, year - OLDEST_AGE - 1):
        body = {"night": "2026-12-03", "person": {"name": "X", "gender": "man", "birth_year": bad}}
        try:
            parse_hold(body, features=[], current_year=year)
        except Exception as exc:  # ApiInputError
            assert any(e["field"] == "person.birth_year" for e in exc.errors)
        else:
            raise AssertionError(f"{bad} accepted by the API")


def test_the_form_asks_for_the_gender_with_prefers_not_to_say(client, db, staff):
    page = client.get("/people/new").get_data(as_text=True)
    gender = page.split('id="gender"')[1].split("</select>")[0]
    assert '<option value="unknown">Prefers not to say</option>' in gender, gender
    assert "selected" not in gender  # no answer is pre-filled
    missing = client.post("/people/new", data={"name": "Kim"})
    assert missing.status_code == 422 and 'id="gender-error"' in missing.get_data(as_text=True)
    ok = client.post("/people/new", data={"name": "Kim", "gender": "unknown"})
    assert ok.status_code == 302


def test_withdrawing_tonights_request_frees_the_bed(client, db, staff, make_site):
    from shelter.models import Placement, PlacementStatus, RequestStatus
    from shelter.services import allocation as alloc

    make_site("strax", beds=1)
    p = _person(db, "Per", tonight().year - 40, gender=Gender.MAN)
    client.post(f"/people/{p.id}/request", data={"source": "walk_in"})
    alloc.confirm_run(db.session, alloc.run_allocation(db.session, tonight(), city="Bergen",
                                                       user=None), None)
    placement = db.session.scalar(select(Placement).where(Placement.person_id == p.id))
    assert placement.status == PlacementStatus.CONFIRMED
    refused = client.post(f"/people/{p.id}/withdraw",
                          data={"reason": "other", "note": "", "confirm": "yes"})
    assert refused.status_code == 422 and placement.status == PlacementStatus.CONFIRMED
    done = client.post(f"/people/{p.id}/withdraw",
                       data={"reason": "bed_elsewhere", "confirm": "yes"})
    assert done.status_code == 302
    assert placement.status == PlacementStatus.RELEASED
    req = db.session.scalar(select(Request).where(Request.person_id == p.id))
    assert req.status == RequestStatus.WITHDRAWN and "Got a bed elsewhere" in req.note
    assert db.session.scalar(select(AuditEvent).where(AuditEvent.action == "withdraw",
                                                      AuditEvent.person_id == p.id))
