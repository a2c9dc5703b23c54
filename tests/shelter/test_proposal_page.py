"""The proposal page at size (issue 13): it reads plain rows, lists everyone turned away in
full, and groups the people placed per site, one site at a time on a big night; the run
writes its placements in one bulk insert. The demo evening (more people asking than the
150 beds of five sites) stands in for a big night: PROPOSAL_FULL_LIST is lowered so it
counts as one."""
from __future__ import annotations

import re
from datetime import date

import pytest
from sqlalchemy import select

from shelter.demo import base, evening
from shelter.models import Person, Placement, PlacementStatus, Site
from shelter.services import allocation, intake as intake_svc
from shelter.services.inventory import beds_in_service
from tests.shelter.conftest import LiveServer, build_app, login, screenshot

NIGHT = date(2026, 11, 25)


def _evening_run(session):  # type: ignore[no-untyped-def]
    base.seed(session, NIGHT)
    evening.seed(session, NIGHT)
    return allocation.run_allocation(session, NIGHT, city="Bergen", user=None, kind=None,
                                     allow_empty=False)


def test_the_run_writes_exactly_the_allocators_answer(db):
    run = _evening_run(db.session)
    fixed = {str(p) for p in run.result_json["fixed"]}
    answer = {int(a["person"]): int(a["bed"]) for a in run.result_json["assignments"]
              if str(a["person"]) not in fixed}
    assert len(answer) > 100  # most of the 150 beds are placed by the run itself
    written = db.session.execute(select(Placement.person_id, Placement.bed_id, Placement.status,
                                        Placement.run_id, Placement.request_id,
                                        Placement.created_at)
                                 .where(Placement.run_id == run.id)).all()
    assert {r.person_id: r.bed_id for r in written} == answer
    assert {r.status for r in written} == {PlacementStatus.PROPOSED}
    assert all(r.request_id is not None and r.created_at is not None for r in written)

    # The page's reading of the proposal agrees with the allocator, and with what the ORM
    # objects it used to load say (names, beds, placements).
    p = intake_svc.proposal(db.session, run)
    placed = {pid: row.bed_id for pid, row in p.placed.items()}
    assert {pid: placed[pid] for pid in answer} == answer
    assert set(p.turned_away) == {int(t["person"]) for t in run.result_json["turned_away"]}
    people = db.session.scalars(select(Person).where(Person.id.in_(list(p.needs)))).all()
    assert p.people == {person.id: person.display_name for person in people}
    beds = {b.id: (b.room.site.name, b.room.name, b.label)
            for b in beds_in_service(db.session, NIGHT, "Bergen")}
    assert {i: (b.site, b.room, b.label) for i, b in p.beds.items()} == beds
    orm_placed = {pl.person_id: (pl.bed_id, pl.status) for pl in db.session.scalars(
        select(Placement).where(Placement.night == NIGHT, Placement.is_active))
        if pl.person_id in p.needs}
    assert {pid: (r.bed_id, r.status) for pid, r in p.placed.items()} == orm_placed


def _viewed(db, run) -> set[int]:  # type: ignore[no-untyped-def]
    """The people named by the newest view_proposal event of `run`."""
    from shelter.models.audit import AuditEvent, AuditEventPerson

    event = db.session.scalar(select(AuditEvent).where(
        AuditEvent.action == "view_proposal", AuditEvent.detail == f"run {run.id}")
        .order_by(AuditEvent.id.desc()).limit(1))
    named = set(db.session.scalars(select(AuditEventPerson.person_id)
                                   .where(AuditEventPerson.event_id == event.id)))
    return named | ({event.person_id} if event.person_id else set())


def test_a_big_night_lists_the_turned_away_in_full_and_the_placed_one_site_at_a_time(
        client, db, make_user, monkeypatch):
    run = _evening_run(db.session)
    login(client, make_user())
    p = intake_svc.proposal(db.session, run)
    groups = p.by_site()
    assert len(groups) >= 3 and all(g.shown for g in groups)  # 150 placed: listed in full
    assert sum(len(g.people) for g in groups) == len(p.placed)
    html = client.get(f"/intake/runs/{run.id}").get_data(as_text=True)
    assert len(re.findall(r'<tr id="p(\d+)">', html)) == len(p.needs)
    assert _viewed(db, run) == set(p.needs)  # everyone is shown, everyone is named

    monkeypatch.setattr(intake_svc, "PROPOSAL_FULL_LIST", 20)
    html = client.get(f"/intake/runs/{run.id}").get_data(as_text=True)
    rows = set(re.findall(r'<tr id="p(\d+)">', html))
    assert rows == {str(pid) for pid in p.turned_away}  # nobody placed is listed
    assert _viewed(db, run) == set(p.turned_away)
    assert len(p.turned_away) > 0
    assert f"{len(p.placed)} people are placed at {len(groups)} sites" in html
    for g in groups:
        assert f"?site={g.site_id}#site-{g.site_id}" in html
        assert f"{g.site}: {len(g.people)} placed" in html
    # the summary, bands and confirm button still count everyone
    assert f"Confirm: {len(p.placed)} placed, {len(p.turned_away)} turned away" in html

    chosen = max(groups, key=lambda g: len(g.people))
    html = client.get(f"/intake/runs/{run.id}?site={chosen.site_id}").get_data(as_text=True)
    rows = set(re.findall(r'<tr id="p(\d+)">', html))
    assert rows == {str(pid) for pid in chosen.people + p.turned_away}
    assert f'id="site-{chosen.site_id}" open' in html
    # The view's audit event names the people shown: the turned away and that site's.
    assert _viewed(db, run) == set(chosen.people + p.turned_away)
    assert html.count(f"/intake/runs/{run.id}/people/") == len(chosen.people) + len(p.turned_away)

    # A site that is not a number, or not one of tonight's: the list of sites, never a 500.
    for bad in ("abc", "999999", ""):
        response = client.get(f"/intake/runs/{run.id}?site={bad}")
        assert response.status_code == 200
        assert set(re.findall(r'<tr id="p(\d+)">', response.get_data(as_text=True))) == \
            {str(pid) for pid in p.turned_away}


@pytest.mark.browser
def test_a_big_night_in_the_browser(browser, tmp_path, monkeypatch):
    from shelter.extensions import db as _db
    from shelter.models import Role, User
    from tests.shelter.conftest import _HASH, PASSWORD

    app = build_app(f"sqlite:///{tmp_path / 'big.db'}")
    with app.app_context():
        run = _evening_run(_db.session)
        _db.session.add(User(username="kari", display_name="Kari", role=Role.INTAKE,
                             password_hash=_HASH))
        _db.session.commit()
        run_id = run.id
        site = _db.session.scalar(select(Site).where(Site.code == "gyldenpris"))
        site_id, site_name = site.id, site.name
    monkeypatch.setattr(intake_svc, "PROPOSAL_FULL_LIST", 20)
    with LiveServer(app) as server:
        page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="en-GB")
        page.goto(f"{server.url}/login")
        page.get_by_label("Username").fill("kari")
        page.get_by_label("Password").fill(PASSWORD)
        page.locator("main button[type=submit]").click()
        page.wait_for_url(re.compile(r"/intake/$"))
        page.goto(f"{server.url}/intake/runs/{run_id}")
        page.get_by_role("link", name=re.compile("^" + re.escape(site_name) + r": \d+ placed"))\
            .click()
        page.wait_for_url(re.compile(rf"\?site={site_id}#site-{site_id}$"))
        group = page.locator(f"#site-{site_id}")
        assert group.get_attribute("open") is not None
        first = group.locator("tbody tr").first
        assert site_name in first.inner_text()
        first.get_by_role("link", name="Change").click()
        page.wait_for_url(re.compile(rf"/intake/runs/{run_id}/people/\d+$"))
        page.go_back()
        screenshot(page, "proposal-big-night-one-site")
        page.close()
    with app.app_context():
        _db.engine.dispose()


def test_the_allocators_input_reads_the_same_beds_and_needs_as_the_orm(db):
    """build_night reads plain rows (issue 13): the same beds in the same order as
    inventory.beds_in_service, and each request's need, age and needs as the ORM records say."""
    from shelter.models import Request, RequestStatus
    from shelter.services.night_input import beds_in_service_rows, build_night

    base.seed(db.session, NIGHT)
    evening.seed(db.session, NIGHT)
    orm = beds_in_service(db.session, NIGHT, "Bergen")
    rows = beds_in_service_rows(db.session, NIGHT, "Bergen")
    assert [(b.id, b.room.site_id, b.room.gender, b.features) for b in orm] == \
        [(r.id, r.site_id, r.gender, r.features) for r in rows]
    data, maps = build_night(db.session, NIGHT, "Bergen")
    assert [b["id"] for b in data["beds"]] == [str(b.id) for b in orm]
    assert {b["site"] for b in data["beds"]} == {b.room.site.code for b in orm}
    requests = db.session.scalars(select(Request).where(
        Request.city == "Bergen", Request.night == NIGHT,
        Request.status != RequestStatus.WITHDRAWN)).all()
    by_person = {r["person"]: r for r in data["requests"]}
    assert len(by_person) == len(requests) > 150
    assessed = [r for r in requests if r.assessment is not None]
    assert assessed and all(by_person[str(r.person_id)]["need"] == r.assessment.need
                            for r in assessed)
    assert all(by_person[str(r.person_id)].get("age") == r.person.age_on(NIGHT.year)
               for r in requests if r.person.birth_year is not None)
    assert all(by_person[str(r.person_id)]["gender"] == r.person.gender.value for r in requests)
