"""Retention and erasure (services/retention.py): the job pseudonymises only people with no
activity for longer than RETENTION_MONTHS (boundaries by the clock), blanks every declared
field, leaves reports and their aggregate tables unchanged, runs once a day across two
processes (the job lease), and is audited; erasure needs a reason and is refused while a bed,
hold, ban or keep-apart pair still stands. Both databases."""
from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import Enum, String, Text, func, select

from shelter.jobs import retention_job
from shelter.models import (
    Assessment, AuditEvent, AuditEventPerson, Base, Gender, Hold, HoldRefusal, HousingReferral, JobRun, KeepApart,
    NeedScheme, Notification, Organisation, OrganisationPerson, OrgKind, Override, Person,
    PersonNote, Placement, PlacementChange, PlacementStatus, Request, RequestSource,
    Restriction, SafetyExemption,
)
from shelter.services import audit, reports
from shelter.services import retention as svc
from shelter.services.people_merge import merge_people
from tests.shelter import reports_fixture as fx

NOW = datetime(2029, 6, 15, 12, 0)  # naive UTC
CUT = svc.cutoff(NOW, 24)  # 2027-06-15 12:00


def _person(db, name="Kari Nordmann", **kw):
    kw.setdefault("gender", Gender.WOMAN)
    kw.setdefault("created_at", datetime(2026, 1, 1))
    p = Person(name=name, **kw)
    db.session.add(p)
    db.session.flush()
    return p


def test_cutoff_counts_calendar_months():
    assert svc.cutoff(datetime(2029, 6, 15, 12), 24) == datetime(2027, 6, 15, 12)
    assert svc.cutoff(datetime(2029, 3, 31), 1) == datetime(2029, 2, 28)
    assert svc.cutoff(datetime(2029, 1, 10), 1) == datetime(2028, 12, 10)


def test_every_text_column_about_a_person_is_blanked_or_deliberately_kept():
    blanked = {(b.model.__tablename__, col) for b in svc.BLANK for col in b.values}
    about = {(t.name, c.name) for t in Base.metadata.tables.values()
             if any(fk.column.table.name == "people" for col in t.columns for fk in col.foreign_keys)
             for c in t.columns if isinstance(c.type, String | Text)
             and not isinstance(c.type, Enum)}  # codes, not text
    missing = about - blanked - svc.KEPT
    assert not missing, f"declare them in services/retention.py BLANK or KEPT: {sorted(missing)}"


# --- who is due: boundaries by the clock ----------------------------------------------------

@pytest.mark.parametrize("stamp, due", [(CUT - timedelta(seconds=1), True), (CUT, False)])
def test_a_request_just_before_the_cutoff_is_old_one_at_it_is_activity(db, stamp, due):
    p = _person(db)
    db.session.add(Request(person=p, night=stamp.date() - timedelta(days=1),
                           source=RequestSource.WALK_IN, arrival=1, created_at=stamp))
    db.session.flush()
    assert (p.id in svc.due(db.session, NOW, 24)) is due


def test_a_record_created_after_the_cutoff_is_not_due(db):
    old, new = _person(db), _person(db, created_at=CUT + timedelta(days=1))
    assert svc.due(db.session, NOW, 24) == [old.id]
    assert new.id not in svc.due(db.session, NOW, 24)


def test_a_shorter_setting_makes_more_people_due(db):
    p = _person(db)
    db.session.add(PersonNote(person_id=p.id, author_id=_user(db).id, text="x",
                              at=datetime(2028, 9, 1)))
    db.session.flush()
    assert p.id not in svc.due(db.session, NOW, 24)
    assert p.id in svc.due(db.session, NOW, 6)


def _user(db):
    from tests.shelter.conftest import _HASH
    from shelter.models import Role, User

    u = User(username=f"u{db.session.scalar(select(func.count()).select_from(User))}",
             display_name="U", password_hash=_HASH, role=Role.ADMIN)
    db.session.add(u)
    db.session.flush()
    return u


def test_an_open_ban_or_pair_keeps_the_record_whatever_its_age(db):
    banned, a, b, ended = _person(db), _person(db, "A"), _person(db, "B"), _person(db, "E")
    db.session.add_all([
        Restriction(person_id=banned.id, starts_on=date(2026, 1, 1), ends_on=None,
                    reason="hit staff", created_at=datetime(2026, 1, 1)),
        KeepApart(person_a_id=min(a.id, b.id), person_b_id=max(a.id, b.id),
                  starts_on=date(2026, 1, 1), reason="x", created_at=datetime(2026, 1, 1)),
        Restriction(person_id=ended.id, starts_on=date(2026, 1, 1), ends_on=date(2026, 2, 1),
                    reason="old", created_at=datetime(2026, 1, 1))])
    db.session.flush()
    assert svc.due(db.session, NOW, 24) == [ended.id]


def test_a_ban_that_ended_inside_the_window_is_activity(db):
    p = _person(db)
    db.session.add(Restriction(person_id=p.id, starts_on=date(2026, 1, 1),
                               ends_on=CUT.date() + timedelta(days=3), reason="r",
                               created_at=datetime(2026, 1, 1)))
    db.session.flush()
    assert p.id not in svc.due(db.session, NOW, 24)


def test_an_audited_change_is_activity_a_read_is_not(db):
    changed, read = _person(db), _person(db, "R")
    after = CUT + timedelta(days=1)  # audit rows are append-only: written with their time
    for action, pid in [("update", changed.id), ("view", read.id)]:
        db.session.execute(AuditEvent.__table__.insert(), {
            "username": "u", "role": "admin", "person_id": pid, "action": action,
            "detail": "", "at": after})
    assert svc.due(db.session, NOW, 24) == [read.id]


# --- what is blanked ---------------------------------------------------------------------

@pytest.fixture()
def everything(db, make_site):
    """One person with a row in every table that holds text about them."""
    site = make_site("s", beds=1)
    bed = site.rooms[0].beds[0]
    org = Organisation(name="NAV t", kind=OrgKind.MUNICIPAL)
    scheme = NeedScheme(version=901, factors=[])
    other = _person(db, "Other Person")
    p = _person(db, phone="+47 900 00 000", alias="Kari", birth_year=1980)
    user = _user(db)
    db.session.add_all([org, scheme])
    db.session.flush()
    old = datetime(2026, 1, 2)
    night = date(2026, 1, 2)
    hold = Hold(organisation_id=org.id, person_id=p.id, night=night, site_id=site.id,
                bed_id=bed.id, expires_at=old, note="Kari is afraid of X", created_at=old)
    req = Request(person_id=p.id, night=night, source=RequestSource.PARTNER, arrival=1,
                  note="says she is pregnant", referred_to="Kirkens Bymisjon", created_at=old)
    db.session.add_all([hold, req])
    db.session.flush()
    pl = Placement(person_id=p.id, bed_id=bed.id, night=night, status=PlacementStatus.CHECKED_IN,
                   created_at=old)
    ban = Restriction(person_id=p.id, starts_on=night, ends_on=night, reason="threatened Ola",
                      created_at=old)
    pair = KeepApart(person_a_id=min(p.id, other.id), person_b_id=max(p.id, other.id),
                     starts_on=night, ends_on=night, reason="partner violence", created_at=old)
    db.session.add_all([pl, ban, pair])
    db.session.flush()
    db.session.add_all([
        Assessment(person_id=p.id, scheme_id=scheme.id, answers={"ill": True}, need=50,
                   parts=[], note="diabetes", assessed_at=old),
        SafetyExemption(person_id=p.id, night=night, restriction_id=ban.id, reason="Ola left",
                        created_at=old),
        HoldRefusal(organisation_id=org.id, night=night, person_id=p.id, reason="quota",
                    message="Kari Nordmann: no bed", created_at=old),
        HousingReferral(person_id=p.id, note="lives in a tent", referred_at=old),
        OrganisationPerson(organisation_id=org.id, person_id=p.id, ref="NAV-123", created_at=old),
        PersonNote(person_id=p.id, author_id=user.id, text="drunk, shouted", at=old, night=night),
        PlacementChange(placement_id=pl.id, night=night, person_id=p.id, action="move",
                        reason="fight with Ola", before={}, after={}, at=old),
        Override(person_id=p.id, night=night, reason="Kari needs the ground floor",
                 created_at=old),
        Notification(organisation_id=org.id, channel="email", event="hold.claimed",
                     hold_id=hold.id, payload={"person_name": "Kari Nordmann", "ref": "NAV-123"},
                     created_at=old),
    ])
    db.session.flush()
    return p, other


def _texts(db, person_id):
    """Every blanked column's values for the person, as (table, column, value)."""
    out = []
    for b in svc.BLANK:
        m = b.model
        about = [getattr(m, c) == person_id for c in b.people]
        from sqlalchemy import or_
        for row in db.session.execute(select(*(getattr(m, c) for c in b.values))
                                      .where(or_(*about))):
            out += [(m.__tablename__, c, v) for c, v in zip(b.values, row)]
    return out


def test_pseudonymising_blanks_every_declared_field_and_the_partner_payload(db, everything):
    p, other = everything
    before = _texts(db, p.id)
    assert {t for t, _c, _v in before} == {b.model.__tablename__ for b in svc.BLANK}
    assert svc.due(db.session, NOW, 24) == sorted([p.id, other.id])
    done = svc.run_retention(db.session, NOW, 24)
    assert sorted(done) == sorted([p.id, other.id])
    for table, col, value in _texts(db, p.id):
        assert value in (None, "", svc.REMOVED, False) or value.startswith("#"), (table, col, value)
    person = db.session.get(Person, p.id)
    assert (person.name, person.alias, person.phone) == (None, f"#{p.id}", None)
    assert person.birth_year == 1980 and person.gender == Gender.WOMAN  # reports' age bands
    assert person.pseudonymised_at == NOW
    payload = db.session.scalar(select(Notification.payload))
    assert payload == {"person_name": f"#{p.id}", "ref": "NAV-123"}
    events = db.session.scalars(select(AuditEvent).where(
        AuditEvent.action == "pseudonymise", audit.naming(p.id))).all()
    assert len(events) == 1 and events[0].username == "system"
    assert svc.due(db.session, NOW, 24) == []  # done once


def test_a_merged_away_record_follows_its_survivor(db):
    survivor, merged = _person(db, "Kari A"), _person(db, "Kari B", phone="123")
    merge_people(db.session, survivor.id, merged.id, None)
    assert svc.due(db.session, NOW, 24) == [survivor.id]  # the merged one is not due alone
    assert sorted(svc.run_retention(db.session, NOW, 24)) == sorted([survivor.id, merged.id])
    m = db.session.get(Person, merged.id)
    assert (m.name, m.phone, m.pseudonymised_at) == (None, None, NOW)


# --- reports stay the same -------------------------------------------------------------------

def _figures(session, names):
    """Every report's tables and every report_* aggregate table, as plain rows; a cell that
    names a person (by name or pseudonym) reads "<person>": only names may change."""
    out = {}
    for slug in reports.REPORTS:
        kw = {"night": fx.N1} if slug == "whatif" else {}
        r = reports.build(session, slug, "Bergen", fx.N1, fx.N3, date(2026, 6, 1), **kw)
        for t in r.tables:
            rows = t.load() if t.load is not None and not t.rows else t.rows
            out[(slug, t.key)] = [["<person>" if str(c) in names else str(c) for c in row]
                                  for row in rows]
    for table in Base.metadata.sorted_tables:
        if table.name.startswith("report_"):
            out[table.name] = sorted(map(str, session.execute(select(table)).all()))
    return out


def test_reports_and_aggregates_are_identical_before_and_after(app, db, make_site):
    with app.test_request_context():
        fx.build(db, make_site)
        people = db.session.scalars(select(Person)).all()
        names = {p.display_name for p in people} | {svc.pseudonym(p.id) for p in people}
        before = _figures(db.session, names)
        done = svc.run_retention(db.session, NOW, 24)
        assert len(done) >= 3  # all but the open keep-apart pair alice–dina
        assert db.session.scalar(select(func.count()).where(
            Person.pseudonymised_at.is_not(None))) == len(done)
        db.session.expire_all()
        assert _figures(db.session, names) == before
        assert "<person>" in str(before)  # the reports do name people: the check bites


# --- the job: once a day across processes, via the lease --------------------------------------

def test_the_job_runs_once_per_day_and_records_its_run(app, db):
    p = _person(db)
    db.session.commit()
    with app.app_context():
        first = retention_job(NOW)
        assert first is not None and first.detail.startswith("pseudonymised=1")
        assert retention_job(NOW + timedelta(hours=1)) is None  # same UTC day: claimed
    runs = db.session.scalars(select(JobRun).where(JobRun.job == "retention")).all()
    assert [(r.key, r.status) for r in runs] == [(NOW.date().isoformat(), "done")]
    assert db.session.get(Person, p.id).pseudonymised_at == NOW


# --- erasure on request --------------------------------------------------------------------

def test_erasure_needs_a_reason(db):
    p = _person(db)
    with pytest.raises(svc.ErasureRefused) as err:
        svc.erase(db.session, p, "  ", None)
    assert err.value.field == "reason"
    assert db.session.get(Person, p.id).name == "Kari Nordmann"


def test_erasure_is_refused_with_a_bed_tonight_or_an_open_ban(app, db, make_site):
    from shelter import clock

    today = clock.tonight()
    bed = make_site("e", beds=1).rooms[0].beds[0]
    placed, banned = _person(db, "P"), _person(db, "B")
    db.session.add_all([
        Placement(person_id=placed.id, bed_id=bed.id, night=today,
                  status=PlacementStatus.CONFIRMED),
        Restriction(person_id=banned.id, starts_on=today, ends_on=None, reason="r")])
    db.session.flush()
    with app.test_request_context():
        for p, words in [(placed, "bed or a pre-booking"), (banned, "ban or a keep-apart")]:
            with pytest.raises(svc.ErasureRefused) as err:
                svc.erase(db.session, p, "asked on the phone", None)
            assert words in str(err.value) and err.value.field == ""
            assert db.session.get(Person, p.id).pseudonymised_at is None


def test_erasure_pseudonymises_and_audits_the_reason(app, db):
    p = _person(db, phone="999")
    with app.test_request_context():
        ids = svc.erase(db.session, p, "Asked in writing on 1 June", None)
    assert ids == [p.id]
    person = db.session.get(Person, p.id)
    assert (person.name, person.phone) == (None, None)
    event = db.session.scalar(select(AuditEvent).where(AuditEvent.action == "erase"))
    assert (event.person_id, event.detail) == (p.id, "Asked in writing on 1 June")


# --- two scheduler processes fire the job at once: one runs it ------------------------------

TWO_SCHEDULERS = """
import sys, time
from datetime import datetime
from pathlib import Path
from shelter import create_app
from shelter.jobs import retention_job

url, go = sys.argv[1], Path(sys.argv[2])
app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "x", "REQUEST_LOG": False})
with app.app_context():
    while not go.exists():
        time.sleep(0.01)
    run = retention_job(datetime(2029, 6, 15, 3, 30))
    print("ran" if run is not None else "skipped", flush=True)
"""


def test_two_processes_firing_the_job_pseudonymise_once(backend, tmp_path):
    import os
    import subprocess
    import sys
    from pathlib import Path

    from shelter.extensions import db as ext_db
    from tests.shelter.conftest import build_app
    from tests.shelter.partners_fixtures import fresh_database_url

    url = fresh_database_url(backend, tmp_path, "retention2")
    app = build_app(url)
    with app.app_context():
        ext_db.session.add_all([Person(name=f"P{i}", gender=Gender.MAN,
                                       created_at=datetime(2026, 1, 1)) for i in range(40)])
        ext_db.session.commit()
    go = tmp_path / "go"
    root = Path(__file__).resolve().parents[2]
    env = {**os.environ, "PYTHONPATH": str(root)}
    procs = [subprocess.Popen([sys.executable, "-c", TWO_SCHEDULERS, url, str(go)], cwd=root,
                              env=env, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
             for _ in range(2)]
    try:
        import time
        time.sleep(2)  # both have built their app and wait for the signal
        go.touch()
        outputs = [p.communicate(timeout=120) for p in procs]
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.communicate()
    assert all(p.returncode == 0 for p in procs), [err[-1500:] for _, err in outputs]
    assert sorted(out.strip() for out, _ in outputs) == ["ran", "skipped"]
    with app.app_context():
        events = ext_db.session.scalars(select(AuditEvent.id).where(
            AuditEvent.action == "pseudonymise")).all()
        named = ext_db.session.scalars(select(AuditEventPerson.person_id).where(
            AuditEventPerson.event_id.in_(events))).all()
        assert len(events) == 1 and sorted(named) == list(range(1, 41))  # once each
        runs = ext_db.session.scalars(select(JobRun).where(JobRun.job == "retention")).all()
        assert [(r.key, r.status) for r in runs] == [("2029-06-15", "done")]
        ext_db.session.remove()
        ext_db.engine.dispose()


# --- `flask retention` by hand -----------------------------------------------------------------

def test_flask_retention_runs_the_job_once_a_day(app, db):
    old = _person(db, created_at=datetime(2000, 1, 1))
    db.session.commit()
    runner = app.test_cli_runner()
    first = runner.invoke(args=["retention"])
    assert first.exit_code == 0 and first.output.strip() == "1 record pseudonymised.", first.output
    again = runner.invoke(args=["retention"])
    assert again.output.strip() == "Retention has already run today (or is running)."
    db.session.expire_all()
    assert db.session.get(Person, old.id).pseudonymised_at is not None
