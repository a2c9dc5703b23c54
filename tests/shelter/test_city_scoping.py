"""One city's night is that city's alone: two cities, each with a site and people asking
tonight. A run, a confirmation, the board, the turned-away list, the scheduled job, the
reports and a partner's availability and "any suitable site" booking each see only their
own city (on SQLite and PostgreSQL). Before requests had a city, an Oslo run deleted
Bergen's proposal and put the Bergen walk-in in an Oslo bed."""
from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
import sqlalchemy as sa
from sqlalchemy import select

from shelter import create_app
from shelter.extensions import db as _db
from shelter.jobs import scheduled_allocation_job
from shelter.models import (
    AllocationRun, Gender, Hold, Placement, PlacementStatus, Request, RequestStatus, Role, Site,
)
from shelter.models.bookings import ACTIVE_PLACEMENT
from shelter.models.reporting import ReportRequestGroup
from shelter.services import intake, people
from shelter.services.allocation import confirm_run, run_allocation
from shelter.services.prebooking import BookingRequest, HoldRefused, PersonSpec, book_hold
from shelter.services.reports_fill import refresh_stats
from shelter.services.reports_stats import default_city
from shelter.services.tokens import create_token
from tests.shelter.conftest import add_site, login, scratch_database
from tests.shelter.intake_factories import NIGHT, ask, beds_of
from tests.shelter.partners_fixtures import TZ, add_org, tomorrow


@pytest.fixture()
def two_cities(db):
    """Bergen: one bed, Berit (need 80) and Bjørn (need 10). Oslo: one bed, Olga (need 80)
    and Ole (need 10). Each city can place exactly one of its own two people."""
    bergen = add_site(db.session, "strax", beds=1, name="Strax-huset", city="Bergen")
    oslo = add_site(db.session, "oslo-ur", beds=1, name="Urtehagen Oslo", city="Oslo")
    reqs = {
        "berit": ask(db.session, "Berit Bergen", need=80, gender=Gender.WOMAN, city="Bergen"),
        "bjorn": ask(db.session, "Bjorn Bergen", need=10, city="Bergen"),
        "olga": ask(db.session, "Olga Oslo", need=80, gender=Gender.WOMAN, city="Oslo"),
        "ole": ask(db.session, "Ole Oslo", need=10, city="Oslo"),
    }
    return {"bergen": bergen, "oslo": oslo, **reqs}


def _active(db, person_id):
    return list(db.session.scalars(select(Placement).where(
        Placement.night == NIGHT, Placement.person_id == person_id,
        Placement.status.in_(ACTIVE_PLACEMENT))))


def _run_people(run):
    return {int(r["person"]) for r in run.input_json["requests"]}


def test_an_oslo_run_never_reads_moves_or_deletes_bergens_requests_or_proposals(db, two_cities):
    c = two_cities
    bergen_run = run_allocation(db.session, NIGHT, city="Bergen", user=None)
    [proposal] = _active(db, c["berit"].person_id)
    bergen_bed, bergen_proposal = proposal.bed_id, proposal.id

    oslo_run = run_allocation(db.session, NIGHT, city="Oslo", user=None)

    assert _run_people(bergen_run) == {c["berit"].person_id, c["bjorn"].person_id}
    assert _run_people(oslo_run) == {c["olga"].person_id, c["ole"].person_id}
    [still] = _active(db, c["berit"].person_id)  # Bergen's proposal is untouched
    assert (still.id, still.bed_id, still.status, still.run_id) == (
        bergen_proposal, bergen_bed, PlacementStatus.PROPOSED, bergen_run.id)
    oslo_beds = {b.id for b in beds_of(c["oslo"])}
    for key in ("berit", "bjorn"):  # no Bergen person in an Oslo bed
        assert not {p.bed_id for p in _active(db, c[key].person_id)} & oslo_beds
    [olga] = _active(db, c["olga"].person_id)
    assert olga.bed_id in oslo_beds and olga.run_id == oslo_run.id

    # Confirming Oslo's run decides Oslo's requests only.
    assert confirm_run(db.session, oslo_run, None) == {"placed": 1, "turned_away": 1}
    db.session.expire_all()
    assert c["berit"].status == c["bjorn"].status == RequestStatus.WAITING
    assert (c["olga"].status, c["ole"].status) == (RequestStatus.PLACED, RequestStatus.TURNED_AWAY)
    assert _active(db, c["berit"].person_id)[0].status == PlacementStatus.PROPOSED
    # ...and Bergen's own confirmation is still possible: Oslo's run is not "newer" for it.
    assert confirm_run(db.session, bergen_run, None) == {"placed": 1, "turned_away": 1}


def test_boards_and_turned_away_lists_show_only_their_city(db, two_cities, client, make_user):
    c = two_cities
    for city in ("Bergen", "Oslo"):
        confirm_run(db.session, run_allocation(db.session, NIGHT, city=city, user=None), None)

    for city, mine, other in (("Bergen", ("Berit", "Bjorn"), ("Olga", "Ole")),
                              ("Oslo", ("Olga", "Ole"), ("Berit", "Bjorn"))):
        board = intake.board(db.session, NIGHT, city)
        assert sorted(r.name.split()[0] for r in board.rows) == sorted(mine)
        assert [a.site_code for a in board.sites] == [c[city.lower()].code]
        away = intake.turned_away(db.session, NIGHT, city)
        assert [t.request.person.name for t in away] == [f"{mine[1]} {city}"]
        assert not {t.request.person_id for t in away} & {c[n.lower()].person_id for n in other}

    login(client, make_user(Role.INTAKE))  # the instance's city is Bergen
    board_page = client.get(f"/intake/?night={NIGHT}").get_data(as_text=True)
    assert "Berit Bergen" in board_page and "Bjorn Bergen" in board_page
    assert "Olga Oslo" not in board_page and "Ole Oslo" not in board_page
    away_page = client.get(f"/intake/turned-away?night={NIGHT}").get_data(as_text=True)
    assert "Bjorn Bergen" in away_page and "Ole Oslo" not in away_page


def test_the_scheduled_job_runs_each_city_on_its_own(db, two_cities):
    c = two_cities
    db.session.commit()  # the job ends the read transaction before it claims each city
    evening = datetime.combine(NIGHT, time(18, 0), tzinfo=ZoneInfo(TZ))
    done = scheduled_allocation_job(evening.astimezone(UTC).replace(tzinfo=None), TZ)
    assert sorted(done) == [f"Bergen:{NIGHT}", f"Oslo:{NIGHT}"]
    runs = {r.city: r for r in db.session.scalars(
        select(AllocationRun).where(AllocationRun.night == NIGHT))}
    assert set(runs) == {"Bergen", "Oslo"}
    assert _run_people(runs["Bergen"]) == {c["berit"].person_id, c["bjorn"].person_id}
    assert _run_people(runs["Oslo"]) == {c["olga"].person_id, c["ole"].person_id}
    for key, city in (("berit", "bergen"), ("olga", "oslo")):  # each run kept its proposal
        [placement] = _active(db, c[key].person_id)
        assert placement.bed_id in {b.id for b in beds_of(c[city])}
        assert placement.run_id == runs[city.title()].id


def test_requests_get_their_city_where_they_are_registered(db, two_cities, app):
    c = two_cities
    person = c["ole"].person
    night = NIGHT + timedelta(days=1)
    by_site = people.register_request(db.session, person, night, source="walk_in", needs=[],
                                      preferred_site_id=c["oslo"].id, assessment=None, user=None)
    assert by_site.city == "Oslo"
    plain = people.register_request(db.session, c["berit"].person, night, source="phone",
                                    needs=[], preferred_site_id=None, assessment=None, user=None)
    assert plain.city == app.config["CITY"] == "Bergen"
    with pytest.raises(people.PeopleError) as refused:
        people.register_request(db.session, c["bjorn"].person, night, source="walk_in", needs=[],
                                preferred_site_id=c["oslo"].id, assessment=None, user=None,
                                city="Bergen")
    assert "preferred_site_id" in refused.value.errors

    org = add_org(db.session, "Kirkens Bymisjon")
    hold = book_hold(db.session, BookingRequest(
        organisation_id=org.id, night=tomorrow(), site_id=c["oslo"].id,
        person=PersonSpec(name="Per Partner", gender=Gender.MAN)), None)
    assert db.session.scalar(select(Request.city).where(Request.hold_id == hold.id)) == "Oslo"


def test_reports_count_each_request_in_its_own_city(db, two_cities, app):
    c = two_cities
    for city in ("Bergen", "Oslo"):
        confirm_run(db.session, run_allocation(db.session, NIGHT, city=city, user=None), None)
    refresh_stats(db.session, [NIGHT])
    counts = {(g.city, g.outcome): g.count for g in db.session.scalars(
        select(ReportRequestGroup).where(ReportRequestGroup.night == NIGHT))}
    # Ole named no site and was turned away: he counts in Oslo, not the default city.
    assert counts == {("Bergen", "placed"): 1, ("Bergen", "turned_away"): 1,
                      ("Oslo", "placed"): 1, ("Oslo", "turned_away"): 1}
    # The reports' default city is the instance's CITY setting (SHELTER_CITY).
    saved = app.config["CITY"]
    try:
        app.config["CITY"] = "Oslo"
        assert default_city() == "Oslo"
    finally:
        app.config["CITY"] = saved


def test_partners_see_and_book_only_their_city(db, client, make_user):
    night = tomorrow()
    add_site(db.session, "strax", beds=1, name="Strax-huset", city="Bergen")
    add_site(db.session, "oslo-ur", beds=3, name="Urtehagen Oslo", city="Oslo")
    org = add_org(db.session, "NAV")
    token = create_token(db.session, "NAV")
    user = make_user(Role.PARTNER, organisation=org)
    db.session.commit()
    auth = {"Authorization": f"Bearer {token}"}

    body = client.get(f"/api/v1/availability?night={night}", headers=auth).get_json()
    assert {r["site"] for r in body["availability"]} == {"strax"}
    login(client, user)
    for page in (client.get("/partner/"), client.get("/partner/book")):
        html = page.get_data(as_text=True)
        assert page.status_code == 200 and "Strax-huset" in html and "Urtehagen" not in html

    first = client.post("/api/v1/holds", headers=auth, json={
        "night": str(night), "person": {"name": "Kari", "gender": "woman"}})
    assert first.status_code == 201 and first.get_json()["site"] == "strax"
    # Bergen is full; Oslo's free beds are not "any suitable site" for a Bergen partner.
    second = client.post("/api/v1/holds", headers=auth, json={
        "night": str(night), "person": {"name": "Liv", "gender": "woman"}})
    assert second.status_code == 409, second.get_json()
    assert db.session.scalar(select(sa.func.count(Hold.id)).join(Site, Site.id == Hold.site_id).where(
        Site.city == "Oslo")) == 0
    with pytest.raises(HoldRefused):
        book_hold(db.session, BookingRequest(organisation_id=org.id, night=night,
                                             person=PersonSpec(name="Mia", gender=Gender.WOMAN),
                                             city="Bergen"), None)


# --- the migration ------------------------------------------------------------------------

def _cli(app, *args):
    result = app.test_cli_runner().invoke(args=list(args))
    assert result.exit_code == 0, (result.output, result.exception)


def test_migration_backfills_the_city_of_existing_requests_and_downgrades(backend, tmp_path):
    """Before 0005 a request had no city: it takes its preferred site's city, else its
    hold's site's city, else Bergen; downgrading drops the column again."""
    with scratch_database(backend, tmp_path, "city") as url:
        app = create_app({"TESTING": True, "SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "x",
                          "SCHEDULER_ENABLED": False})
        with app.app_context():
            try:
                _cli(app, "db", "upgrade", "0002")
                _old_rows(_db.session)
                _cli(app, "db", "upgrade", "0005")
                cities = dict(_db.session.execute(sa.text(
                    "SELECT p.name, r.city FROM requests r JOIN people p ON p.id = r.person_id"
                )).all())
                _db.session.rollback()
                assert cities == {"By site": "Oslo", "By hold": "Oslo", "Nowhere": "Bergen"}
                _cli(app, "db", "downgrade", "0004")
                columns = {col["name"] for col in sa.inspect(_db.engine).get_columns("requests")}
                assert "city" not in columns and "night" in columns
            finally:
                _db.session.remove()
                _db.engine.dispose()


def _insert(session, table, **values):
    """One row written with Core: only the columns given, typed by their values."""
    def typed(value):
        for kind, sa_type in ((datetime, sa.DateTime), (date, sa.Date), (time, sa.Time),
                              (list, sa.JSON)):
            if isinstance(value, kind):
                return sa_type()
        return None

    columns = [sa.column(k, typed(v)) for k, v in values.items()]
    session.execute(sa.insert(sa.table(table, *columns)).values(**values))


def _old_rows(session):
    """Rows as revision 0002 knew them (no Request.city), written with Core so the models'
    later columns play no part."""
    now = datetime(2026, 11, 1, 12, 0)
    _insert(session, "sites", id=800, code="oslo-ur", name="Urtehagen", city="Oslo", area="",
            address="", staffed_24h=True, intake_opens=time(17), intake_closes=time(23),
            checkin_cutoff=time(23), hold_expiry=time(21), active=True, created_at=now)
    _insert(session, "rooms", id=801, site_id=800, name="R1", gender="mixed", valid_from=NIGHT)
    _insert(session, "beds", id=802, room_id=801, label="1", features=[], valid_from=NIGHT)
    _insert(session, "organisations", id=900, name="NAV", kind="ngo", active=True,
            created_at=now)
    for pid, name in ((901, "By site"), (902, "By hold"), (903, "Nowhere")):
        _insert(session, "people", id=pid, name=name, refused_name=False, gender="man",
                needs=[], created_at=now)
    _insert(session, "holds", id=904, organisation_id=900, person_id=902, night=NIGHT,
            site_id=800, bed_id=802, site_only=True, needs=[], expires_at=now, status="held",
            note="", created_at=now)
    for arrival, (pid, site_id, hold_id) in enumerate(
            ((901, 800, None), (902, None, 904), (903, None, None)), start=1):
        _insert(session, "requests", person_id=pid, night=NIGHT, source="walk_in",
                arrival=arrival, needs=[], preferred_site_id=site_id, hold_id=hold_id,
                status="waiting", note="", created_at=now)
    session.commit()
