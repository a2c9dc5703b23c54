"""The merge pages (/people/<id>/merge): choose by number or search, preview what moves,
merge with the confirm step; a conflict answers 422 with its sentence; partners are
forbidden; the merged-away page says where it went. Both databases."""
from __future__ import annotations

import re

import pytest
from sqlalchemy import func, select

from shelter.clock import tonight
from shelter.models import AuditEvent, AuditEventPerson, Gender, KeepApart, Person, Request, Role
from tests.shelter.conftest import login
from tests.shelter.intake_factories import ask


@pytest.fixture()
def staff(client, make_user):
    user = make_user(Role.INTAKE)
    login(client, user)
    return user


def _person(db, name, **kw):
    kw.setdefault("gender", Gender.WOMAN)
    p = Person(name=name, **kw)
    db.session.add(p)
    db.session.commit()
    return p


@pytest.fixture()
def pair(db):
    return (_person(db, "Kari Nordmann", birth_year=1990),
            _person(db, "Kari Nordmand", phone="99887766"))


def test_person_page_offers_the_merge(client, db, staff, pair):
    html = client.get(f"/people/{pair[0].id}").text
    assert f'href="/people/{pair[0].id}/merge"' in html and "Merge with another record" in html


def test_choose_by_search_lists_others_not_this_record(client, db, staff, pair):
    survivor, merged = pair
    page = client.get(f"/people/{survivor.id}/merge?q=kari")
    assert page.status_code == 200
    assert f"/people/{survivor.id}/merge?other={merged.id}" in page.text
    assert f"?other={survivor.id}" not in page.text


def test_preview_lists_what_moves_and_changes_nothing(client, db, staff, pair):
    survivor, merged = pair
    ask(db.session, "", person=merged, night=tonight(), need=30)
    db.session.commit()
    page = client.get(f"/people/{survivor.id}/merge?other={merged.id}&keep=this")
    assert page.status_code == 200
    rows = dict(re.findall(r'data-mover="(\w+)">\s*<td>[^<]*</td><td class="num">(\d+)</td>',
                           page.text))
    assert rows["requests"] == "1" and rows["assessments"] == "1" and rows["holds"] == "0"
    assert "Phone filled in: 99887766" in page.text
    assert 'id="merge-button"' in page.text
    assert db.session.get(Person, merged.id).merged_into_id is None
    assert db.session.scalar(select(func.count()).select_from(Request).where(
        Request.person_id == merged.id)) == 1


def test_keep_other_makes_the_other_record_survive(client, db, staff, pair):
    survivor, merged = pair
    response = client.post(f"/people/{merged.id}/merge",
                           data={"other": str(survivor.id), "keep": "other"})
    assert response.status_code == 302
    assert response.headers["Location"].endswith(f"/people/{survivor.id}")
    assert db.session.get(Person, merged.id).merged_into_id == survivor.id


def test_merge_moves_audits_and_the_old_page_points_to_the_survivor(client, db, staff, pair):
    survivor, merged = pair
    ask(db.session, "", person=merged, night=tonight())
    db.session.commit()
    response = client.post(f"/people/{survivor.id}/merge",
                           data={"other": f"#{merged.id}", "keep": "this"})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Person, merged.id).merged_into_id == survivor.id
    assert db.session.get(Person, survivor.id).phone == "99887766"
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "merge"))
    assert event.username == staff.username
    assert set(db.session.scalars(select(AuditEventPerson.person_id).where(
        AuditEventPerson.event_id == event.id))) == {survivor.id, merged.id}
    old = client.get(f"/people/{merged.id}").text
    assert "Merged into" in old and f'href="/people/{survivor.id}"' in old
    assert 'id="merge-person"' not in old and 'id="register-request"' not in old
    assert "Kari Nordmand" not in client.get("/people/?q=kari").text
    refused = client.post(f"/people/{merged.id}/request", data={"source": "walk_in"})
    assert refused.status_code == 422
    assert f"This record was merged into #{survivor.id}" in refused.text


def test_a_conflict_answers_422_with_the_sentence(client, db, staff, pair):
    survivor, merged = pair
    db.session.add(KeepApart(person_a_id=survivor.id, person_b_id=merged.id,
                             starts_on=tonight(), reason="fight"))
    db.session.commit()
    preview = client.get(f"/people/{survivor.id}/merge?other={merged.id}")
    assert preview.status_code == 422 and 'id="merge-button"' not in preview.text
    response = client.post(f"/people/{survivor.id}/merge", data={"other": str(merged.id),
                                                               "keep": "this"})
    assert response.status_code == 422
    assert "There is a keep-apart pair between" in response.text
    assert db.session.get(Person, merged.id).merged_into_id is None


def test_merging_with_itself_or_a_bad_number_is_422_beside_the_field(client, db, staff, pair):
    survivor = pair[0]
    response = client.post(f"/people/{survivor.id}/merge", data={"other": str(survivor.id)})
    assert response.status_code == 422 and "cannot be merged with itself" in response.text
    response = client.get(f"/people/{survivor.id}/merge?other=abc")
    assert response.status_code == 422 and "Use the person number" in response.text
    assert 'value="abc"' in response.text, "what was typed is kept"
    response = client.get(f"/people/{survivor.id}/merge?other=987654")
    assert response.status_code == 422 and "No person has that number." in response.text


def test_partners_are_forbidden(client, db, make_user, make_org, pair):
    partner = make_user(Role.PARTNER, organisation=make_org())
    login(client, partner)
    survivor, merged = pair
    assert client.get(f"/people/{survivor.id}/merge?other={merged.id}").status_code == 403
    assert client.post(f"/people/{survivor.id}/merge",
                       data={"other": str(merged.id)}).status_code == 403
    assert db.session.get(Person, merged.id).merged_into_id is None


@pytest.mark.parametrize("role", [Role.MANAGER, Role.ADMIN])
def test_managers_and_admins_may_merge(client, db, make_user, pair, role):
    login(client, make_user(role))
    survivor, merged = pair
    assert client.post(f"/people/{survivor.id}/merge",
                       data={"other": str(merged.id)}).status_code == 302


def test_the_merge_needs_the_csrf_token(app, db, make_user, pair):
    from tests.shelter.conftest import new_client
    app.config["WTF_CSRF_ENABLED"] = True
    try:
        client = new_client(app)
        user = make_user(Role.INTAKE)
        page = client.get("/login").text
        token = re.search(r'name="csrf_token"[^>]*value="([^"]+)"', page).group(1)
        client.post("/login", data={"username": user.username, "password": "correct horse battery",
                                    "csrf_token": token})
        survivor, merged = pair
        refused = client.post(f"/people/{survivor.id}/merge", data={"other": str(merged.id)})
        assert refused.status_code in (400, 422)
        assert db.session.get(Person, merged.id).merged_into_id is None
        preview = client.get(f"/people/{survivor.id}/merge?other={merged.id}").text
        token = re.search(r'id="csrf_token"[^>]*value="([^"]+)"|name="csrf_token"[^>]*value="([^"]+)"',
                          preview)
        value = token.group(1) or token.group(2)
        done = client.post(f"/people/{survivor.id}/merge",
                           data={"other": str(merged.id), "keep": "this", "csrf_token": value})
        assert done.status_code == 302
    finally:
        app.config["WTF_CSRF_ENABLED"] = False


def test_the_preview_is_audited_as_a_view_of_both(client, db, staff, pair):
    survivor, merged = pair
    assert client.get(f"/people/{survivor.id}/merge?other={merged.id}").status_code == 200
    events = list(db.session.scalars(select(AuditEvent).where(
        AuditEvent.action == "view", AuditEvent.detail == "merge preview")))
    assert len(events) == 1 and events[0].username == staff.username
    assert set(db.session.scalars(select(AuditEventPerson.person_id).where(
        AuditEventPerson.event_id == events[0].id))) == {survivor.id, merged.id}


def test_a_merged_away_record_cannot_be_merged_again(client, db, staff, pair):
    survivor, merged = pair
    assert client.post(f"/people/{survivor.id}/merge", data={"other": str(merged.id)}).status_code == 302
    third = _person(db, "Kari Nordby")
    page = client.get(f"/people/{third.id}/merge?other={merged.id}")
    assert page.status_code == 422
    assert f"Record #{merged.id} was already merged into #{survivor.id}." in page.text
    assert 'id="merge-button"' not in page.text
