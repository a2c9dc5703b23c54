"""The board (issue #14): search by name, alias or person number; filters by site, status,
need band and gender, applied in SQL; a site-bound user's board opens on their sites;
previous / next night; pages of PAGE_SIZE rows; one audit event naming the people shown."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import event, select

from shelter.clock import FIRST_NIGHT, tonight
from shelter.extensions import db as _db
from shelter.models import (
    AuditEvent, AuditEventPerson, Gender, Person, RequestStatus, Role,
)
from shelter.services import allocation as alloc
from shelter.services import intake as intake_svc
from tests.shelter.conftest import login
from tests.shelter.intake_factories import ask, beds_of, hold_for


@pytest.fixture()
def city(db, make_site, make_user, client):
    """Alfa (one bed) and Beta (one bed); five people asking tonight."""
    night = tonight()
    a = make_site("alfa", beds=1, name="Alfa")
    b = make_site("beta", beds=1, name="Beta")
    people = {
        "kari": ask(db.session, "Kari Nordmann", need=90, gender=Gender.WOMAN, preferred=a,
                    night=night),
        "ola": ask(db.session, "Ola Hansen", need=70, preferred=b, night=night),
        "aase": ask(db.session, "Åse Ødegård", need=45, gender=Gender.WOMAN, night=night),
        "anon": ask(db.session, "", need=30, night=night,
                    person=_anonymous(db.session, "Fjellreven")),
        "per": ask(db.session, "Per Hold", need=10, night=night),
    }
    hold_for(db.session, db.session.get(Person, people["per"].person_id), beds_of(b)[0],
             night=night)
    people["per"].hold_id = db.session.scalar(select(_hold_id(people["per"].person_id)))
    db.session.flush()
    user = make_user(Role.INTAKE)
    login(client, user)
    return {"night": night, "a": a, "b": b, "people": people, "user": user}


def _anonymous(session, alias):
    person = Person(name=None, alias=alias, refused_name=True, gender=Gender.MAN)
    session.add(person)
    session.flush()
    return person


def _hold_id(person_id):
    from shelter.models import Hold
    return select(Hold.id).where(Hold.person_id == person_id).scalar_subquery()


def names(client, query=""):
    response = client.get("/intake/" + query)
    html = response.get_data(as_text=True)
    shown = [n for n in ("Kari Nordmann", "Ola Hansen", "Åse Ødegård", "Fjellreven", "Per Hold")
             if n in html]
    return response.status_code, shown, html


def test_search_by_name_alias_and_person_number(client, city):
    assert names(client, "?q=kari")[1] == ["Kari Nordmann"]
    assert names(client, "?q=HANSEN")[1] == ["Ola Hansen"]
    assert names(client, "?q=nord+kar")[1] == ["Kari Nordmann"]  # every word, any order
    assert names(client, "?q=%C3%B8deg%C3%A5rd")[1] == ["Åse Ødegård"]  # "ødegård"
    assert names(client, "?q=fjellrev")[1] == ["Fjellreven"]  # alias
    pid = city["people"]["ola"].person_id
    assert names(client, f"?q=%23{pid}")[1] == ["Ola Hansen"]  # "#12"
    assert names(client, f"?q={pid}")[1] == ["Ola Hansen"]
    status, shown, html = names(client, "?q=nobody+here")
    assert status == 200 and shown == []
    assert "Nobody on this night matches the search and filters." in html
    assert 'value="nobody here"' in html  # what was typed stays in the box


def test_search_and_filters_are_sql(app, client, city):
    statements = []

    def seen(conn, cursor, statement, *args):
        statements.append(statement)

    with app.app_context():
        engine = _db.engine
    event.listen(engine, "before_cursor_execute", seen)
    try:
        client.get("/intake/?q=kari&gender=woman&band=80-100")
    finally:
        event.remove(engine, "before_cursor_execute", seen)
    page = [s for s in statements if s.startswith("SELECT requests.id")]
    assert len(page) == 1
    assert "LIKE" in page[0].upper() and "people.gender" in page[0] and "LIMIT" in page[0]
    assert " BETWEEN " in page[0]


def test_filters_by_site_status_band_gender(client, db, city):
    assert names(client)[1] == ["Kari Nordmann", "Ola Hansen", "Åse Ødegård", "Fjellreven",
                                "Per Hold"]
    # A person belongs to the site they wish for or hold a bed at (until placed).
    assert names(client, f"?site={city['a'].id}")[1] == ["Kari Nordmann"]
    assert names(client, f"?site={city['b'].id}")[1] == ["Ola Hansen", "Per Hold"]
    assert names(client, "?gender=woman")[1] == ["Kari Nordmann", "Åse Ødegård"]
    assert names(client, "?band=40-59")[1] == ["Åse Ødegård"]
    assert names(client, "?band=0-19&gender=man")[1] == ["Per Hold"]
    assert names(client, "?status=waiting")[1] == names(client)[1]

    run = alloc.run_allocation(db.session, city["night"], city="Bergen", user=None)
    alloc.confirm_run(db.session, run, None)
    placed = names(client, "?status=placed")[1]
    assert len(placed) == 2 and "Per Hold" in placed  # the held bed is his
    away = names(client, "?status=turned+away")[1]
    assert sorted(placed + away) == sorted(names(client)[1])
    # Once placed, a person belongs to their bed's site: Kari is at Alfa, Per in his held
    # bed at Beta; Ola, turned away, still belongs to the site he wished for.
    assert placed == ["Kari Nordmann", "Per Hold"]
    assert names(client, f"?site={city['a'].id}")[1] == ["Kari Nordmann"]
    assert names(client, f"?site={city['b'].id}")[1] == ["Ola Hansen", "Per Hold"]
    assert names(client, f"?site={city['b'].id}&status=placed")[1] == ["Per Hold"]
    # The summary counts the view: Beta has one bed.
    html = names(client, f"?site={city['b'].id}")[2]
    assert '<strong>1</strong><span>beds in service</span>' in html


def test_bad_filter_is_shown_beside_the_field_and_the_rest_applies(client, city):
    response = client.get("/intake/?status=sleeping&gender=woman&q=kari")
    assert response.status_code == 422
    html = response.get_data(as_text=True)
    assert 'id="status-error"' in html and 'aria-invalid="true"' in html
    assert "Kari Nordmann" in html and "Ola Hansen" not in html
    long = client.get("/intake/?q=" + "x" * 81)
    assert long.status_code == 422
    assert "Keep the search under 80 characters." in long.get_data(as_text=True)
    assert client.get("/intake/?site=99999").status_code == 422
    assert client.get("/intake/?page=abc").status_code == 200  # a bad page is page 1


def test_site_bound_user_opens_on_own_sites(client, db, city, make_user, new_client_for):
    bound = new_client_for(make_user(Role.INTAKE, sites=[city["a"]]))
    html = bound.get("/intake/").get_data(as_text=True)
    assert "Kari Nordmann" in html and "Ola Hansen" not in html
    assert '<option selected value="mine">My sites (Alfa)</option>' in html
    assert 'href="/intake/?site=all">Clear filters</a>' in html
    everyone = bound.get("/intake/?site=all").get_data(as_text=True)
    assert "Kari Nordmann" in everyone and "Ola Hansen" in everyone
    # Everyone else opens on every site, and "My sites" is not offered.
    html = client.get("/intake/").get_data(as_text=True)
    assert "Ola Hansen" in html and 'value="mine"' not in html


def test_previous_and_next_night_keep_the_filters(client, city):
    html = names(client, "?gender=woman&q=kari")[2]
    before = (city["night"] - timedelta(days=1)).isoformat()
    after = (city["night"] + timedelta(days=1)).isoformat()
    assert f'href="/intake/?night={before}&amp;q=kari&amp;gender=woman" rel="prev"' in html
    assert f'href="/intake/?night={after}&amp;q=kari&amp;gender=woman" rel="next"' in html
    other = client.get(f"/intake/?night={after}&q=kari&gender=woman").get_data(as_text=True)
    assert 'value="kari"' in other and "Kari Nordmann" not in other  # nobody asked yet
    assert 'href="/intake/?q=kari&amp;gender=woman" rel="prev"' in other  # back to tonight
    first = client.get(f"/intake/?night={FIRST_NIGHT.isoformat()}").get_data(as_text=True)
    assert 'rel="prev"' not in first and 'rel="next"' in first


def test_pages_by_need_and_audit_names_only_the_page(client, db, city, monkeypatch):
    monkeypatch.setattr(intake_svc, "PAGE_SIZE", 2)
    status, shown, html = names(client)
    assert shown == ["Kari Nordmann", "Ola Hansen"]
    assert "Showing 1–2 of 5, by need." in html and "Page 1 of 3" in html
    assert names(client, "?page=2")[1] == ["Åse Ødegård", "Fjellreven"]
    assert names(client, "?page=3")[1] == ["Per Hold"]
    assert names(client, "?page=9")[1] == ["Per Hold"]  # past the end: the last page
    # The summary still counts every request in the view, not the page.
    assert "<strong>5</strong><span>requests</span>" in html
    views = db.session.scalars(select(AuditEvent).where(AuditEvent.action == "view_board")
                               .order_by(AuditEvent.id)).all()
    first = set(db.session.scalars(select(AuditEventPerson.person_id).where(
        AuditEventPerson.event_id == views[0].id)))
    assert first == {city["people"]["kari"].person_id, city["people"]["ola"].person_id}


def test_withdrawn_requests_stay_off_every_view(client, db, city):
    city["people"]["ola"].status = RequestStatus.WITHDRAWN
    db.session.flush()
    assert "Ola Hansen" not in names(client, f"?site={city['b'].id}")[1]
    assert "Ola Hansen" not in names(client, "?q=ola")[1]


@pytest.fixture()
def new_client_for(app):
    from tests.shelter.conftest import new_client

    def make(user):
        c = new_client(app)
        login(c, user)
        return c
    return make
