"""Cold-night mode: the same evening with and without it. Overflow beds and suspended
(minor) bans are used only on the cold night; nobody with a safety ban or a keep-apart
partner is ever placed against it. Declaring, the banner, the proposal and the what-if
report."""
from __future__ import annotations

from datetime import timedelta

import pytest
from sqlalchemy import select

from shelter import clock
from shelter.models import Bed, ColdNight, GenderRule, KeepApart, Placement, Restriction, Role, Room
from shelter.services import allocation as alloc
from shelter.services import cold
from shelter.services import rules
from tests.shelter.conftest import login
from tests.shelter.intake_factories import NIGHT, add_room, ask

CITY = "Bergen"
COLD = NIGHT + timedelta(days=1)


@pytest.fixture()
def evening(db, make_site):
    """Strax: one ordinary bed and an overflow room of two mattresses. Anna has a drugs ban
    there, Bo a violence ban; Cato and Dag must be kept apart; Eli has nothing."""
    site = make_site("strax", beds=1)
    overflow = add_room(db.session, site, "Gym", GenderRule.MIXED, 2)
    overflow[0].room.overflow = True
    people = {}
    for night in (NIGHT, COLD):
        for name, need in (("Anna", 90), ("Bo", 80), ("Cato", 70), ("Dag", 70), ("Eli", 60)):
            req = ask(db.session, name, need=need, night=night, person=people.get(name))
            people[name] = req.person
    for name, category in (("Anna", "drugs"), ("Bo", "violence")):
        db.session.add(Restriction(person_id=people[name].id, site_id=site.id, starts_on=NIGHT,
                                   reason="x", category=category))
    a, b = sorted((people["Cato"].id, people["Dag"].id))
    db.session.add(KeepApart(person_a_id=a, person_b_id=b, starts_on=NIGHT, reason="fight"))
    db.session.add(ColdNight(city=CITY, night=COLD, reason="-14 °C"))
    db.session.flush()
    return site, overflow, people


def _placed(db, night):
    return {p.person.name: p.bed_id for p in db.session.scalars(
        select(Placement).where(Placement.night == night, Placement.is_active))}


@pytest.mark.parametrize("rule", ["need", "first-come"])
def test_the_same_evening_with_and_without_cold_night_mode(db, evening, rule):
    site, overflow, people = evening
    overflow_ids = {b.id for b in overflow}
    alloc.run_allocation(db.session, NIGHT, city=CITY, user=None, rule=rule)
    alloc.run_allocation(db.session, COLD, city=CITY, user=None, rule=rule)
    ordinary, colder = _placed(db, NIGHT), _placed(db, COLD)
    # An ordinary night: one bed, overflow closed, both bans hold.
    assert len(ordinary) == 1 and not overflow_ids & set(ordinary.values())
    assert "Anna" not in ordinary and "Bo" not in ordinary
    # The cold night: three beds; the drugs ban is suspended, the violence ban and the
    # keep-apart pair hold.
    assert len(colder) == 3 and overflow_ids & set(colder.values())
    assert "Anna" in colder and "Bo" not in colder
    assert not {"Cato", "Dag"} <= set(colder)
    for name, bed_id in colder.items():
        bed = db.session.get(Bed, bed_id)
        assert not rules.bed_allowed_reasons(db.session, people[name], bed, COLD), name


def test_overflow_beds_are_in_service_on_cold_nights_only_in_sql_and_python(db, evening):
    site, overflow, _ = evening
    for night in (NIGHT, COLD):
        sql = set(db.session.scalars(select(Bed.id).join(Bed.room).join(Room.site)
                                     .where(Bed.in_service_on(night))))
        python = {b.id for b in db.session.scalars(select(Bed)) if b.in_service_on(night)}
        assert sql == python
        assert ({b.id for b in overflow} <= sql) == (night == COLD)


def test_bans_by_category_on_a_cold_night_follow_the_setting(db, evening, app):
    site, _, people = evening
    barred = rules.barred_sites(db.session, [people["Anna"].id, people["Bo"].id], COLD)
    assert barred == {people["Anna"].id: set(), people["Bo"].id: {site.id}}
    app.config["COLD_NIGHT_KEEPS_BANS"] = frozenset({"violence", "drugs"})
    try:
        barred = rules.barred_sites(db.session, [people["Anna"].id], COLD)
        assert barred[people["Anna"].id] == {site.id}
    finally:
        app.config["COLD_NIGHT_KEEPS_BANS"] = frozenset({"violence"})


def test_declaring_and_taking_back_cold_nights(db, make_user):
    today = clock.tonight()
    manager = make_user(Role.MANAGER)
    with pytest.raises(cold.ColdNightError) as err:
        cold.declare(db.session, city=CITY, first=today - timedelta(days=1), last=None,
                     reason="cold", user=manager, today=today)
    assert err.value.field == "first"
    with pytest.raises(cold.ColdNightError) as err:
        cold.declare(db.session, city=CITY, first=today, last=today + timedelta(days=40),
                     reason="cold", user=manager, today=today)
    assert err.value.field == "last"
    with pytest.raises(cold.ColdNightError) as err:
        cold.declare(db.session, city=CITY, first=today, last=None, reason=" ", user=manager,
                     today=today)
    assert err.value.field == "reason"
    made = cold.declare(db.session, city=CITY, first=today, last=today + timedelta(days=2),
                        reason="-12 °C forecast", user=manager, today=today)
    assert [c.night for c in made] == [today + timedelta(days=i) for i in range(3)]
    again = cold.declare(db.session, city=CITY, first=today + timedelta(days=2),
                         last=today + timedelta(days=3), reason="still cold", user=manager,
                         today=today)
    assert [c.night for c in again] == [today + timedelta(days=3)]
    cold.cancel(db.session, made[0].id, user=manager, today=today)
    assert cold.cold_night(db.session, CITY, today) is None
    with pytest.raises(cold.ColdNightError):
        cold.cancel(db.session, made[1].id, user=manager, today=today + timedelta(days=2))


def test_pages_show_the_cold_night(client, db, evening, make_user):
    login(client, make_user(Role.MANAGER))
    today = clock.tonight()
    page = client.post("/cold-nights/", data={"first": today.isoformat(), "reason": "-15 °C"})
    assert page.status_code == 302
    board = client.get("/intake/").get_data(as_text=True)
    assert "Cold night tonight" in board and "-15 °C" in board
    bad = client.post("/cold-nights/", data={"first": today.isoformat(), "reason": ""})
    assert bad.status_code == 422 and "Give the reason" in bad.get_data(as_text=True)
    run = alloc.run_allocation(db.session, COLD, city=CITY, user=None)
    proposal = client.get(f"/intake/runs/{run.id}").get_data(as_text=True)
    assert "Cold night" in proposal and "Still turned away: <strong>2</strong>" in proposal
    alloc.confirm_run(db.session, run, None)
    report = client.get(f"/reports/whatif?city={CITY}&start={NIGHT}&end={COLD}")
    html = report.get_data(as_text=True)
    assert report.status_code == 200
    # one cold night in the range: the sentence is in the singular
    assert "1 cold night in the range; 2 people were still turned away on it." in html
    assert "-14 °C" in html
