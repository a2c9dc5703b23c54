"""build_night: every field of the allocator input comes from the right place in the database."""
from __future__ import annotations

from datetime import date, timedelta

from allocator import Night

from shelter.models import (
    BedOutage, Gender, GenderRule, KeepApart, Placement, PlacementStatus, RequestStatus,
    Restriction,
)
from shelter.services.allocation import build_night
from tests.shelter.intake_factories import NIGHT, add_room, ask, beds_of, hold_for

CITY = "Bergen"


def _req(data, person_id):
    return next(r for r in data["requests"] if r["person"] == str(person_id))


def test_beds_sites_and_requests_are_mapped(db, make_site):
    strax = make_site("strax", beds=2, features=["accessible"])
    ung = make_site("ung", beds=1, min_age=18, max_age=23, name="Ungdom")
    women = add_room(db.session, strax, "W", GenderRule.WOMEN, 1)
    make_site("oslo1", beds=3, city="Oslo")
    a = ask(db.session, "A", need=70, gender=Gender.WOMAN, birth_year=2005,
            needs=["accessible"], preferred=ung)
    a.person.needs = ["ground_floor"]
    b = ask(db.session, "B")  # no assessment: need 0, registered after a
    gone = ask(db.session, "Gone", need=90)
    gone.status = RequestStatus.WITHDRAWN
    db.session.flush()

    data, maps = build_night(db.session, NIGHT, CITY)

    assert data["night"] == "2026-11-25"
    assert {s["id"] for s in data["sites"]} == {"strax", "ung"}  # Oslo's site is not in Bergen
    assert next(s for s in data["sites"] if s["id"] == "ung") == {
        "id": "ung", "name": "Ungdom", "min_age": 18, "max_age": 23}
    assert len(data["beds"]) == 4
    bed = next(x for x in data["beds"] if x["id"] == str(women[0].id))
    assert bed == {"id": str(women[0].id), "site": "strax", "gender": "women"}
    first = next(x for x in data["beds"] if x["id"] == str(beds_of(strax)[0].id))
    assert first["features"] == ["accessible"] and first["gender"] == "mixed"
    assert [r["person"] for r in data["requests"]] == [str(a.person_id), str(b.person_id)]
    ra = _req(data, a.person_id)
    assert ra == {"person": str(a.person_id), "gender": "woman", "need": 70, "arrival": a.arrival,
                  "age": 21, "needs": ["accessible", "ground_floor"], "preferred_sites": ["ung"]}
    rb = _req(data, b.person_id)
    assert rb["need"] == 0 and rb["gender"] == "man" and rb["age"] == 46
    assert maps.request_of_person[str(a.person_id)] == a.id
    assert maps.bed[str(women[0].id)] == women[0].id and maps.site["ung"] == ung.id
    Night.from_json(data)  # the core accepts it


def test_out_of_service_beds_are_left_out(db, make_site):
    site = make_site("strax", beds=3)
    broken, retired = beds_of(site)[0], beds_of(site)[1]
    db.session.add(BedOutage(bed_id=broken.id, reason="leak", starts_on=NIGHT - timedelta(days=1),
                             ends_on=NIGHT))
    retired.valid_until = NIGHT - timedelta(days=1)
    ask(db.session, "A", need=10)
    data, _ = build_night(db.session, NIGHT, CITY)
    assert [b["id"] for b in data["beds"]] == [str(beds_of(site)[2].id)]


def test_last_bed_and_nights_turned_away(db, make_site):
    site = make_site("strax", beds=2)
    bed = beds_of(site)[1]
    a = ask(db.session, "A", need=50)
    db.session.add(Placement(person_id=a.person_id, bed_id=bed.id, night=NIGHT - timedelta(days=1),
                             status=PlacementStatus.CHECKED_IN))
    # B was turned away the last two nights, and before that placed: streak is 2.
    b = ask(db.session, "B", need=50)
    for days, status in ((1, RequestStatus.TURNED_AWAY), (2, RequestStatus.TURNED_AWAY),
                         (3, RequestStatus.PLACED), (4, RequestStatus.TURNED_AWAY)):
        old = ask(db.session, "B", person=b.person, night=NIGHT - timedelta(days=days))
        old.status = status
    # C was turned away three nights ago but did not ask last night: streak is 0.
    c = ask(db.session, "C", need=50)
    ask(db.session, "C", person=c.person, night=NIGHT - timedelta(days=3)).status = \
        RequestStatus.TURNED_AWAY
    # A no-show last night is not continuity.
    d = ask(db.session, "D", need=50)
    db.session.add(Placement(person_id=d.person_id, bed_id=beds_of(site)[0].id,
                             night=NIGHT - timedelta(days=1), status=PlacementStatus.NO_SHOW))
    db.session.flush()
    data, _ = build_night(db.session, NIGHT, CITY)
    assert _req(data, a.person_id)["last_bed"] == str(bed.id)
    assert _req(data, b.person_id)["nights_turned_away"] == 2
    assert "nights_turned_away" not in _req(data, c.person_id)
    assert "last_bed" not in _req(data, d.person_id)


def test_holds_site_only_and_bed(db, make_site):
    site = make_site("strax", beds=3)
    a = ask(db.session, "A", need=10)
    b = ask(db.session, "B", need=10)
    h1 = hold_for(db.session, a.person, beds_of(site)[0], site_only=True)
    h2 = hold_for(db.session, b.person, beds_of(site)[1], site_only=False)
    data, maps = build_night(db.session, NIGHT, CITY)
    # A held bed is never given to anyone else: both holds name their own bed.
    assert data["holds"] == [
        {"id": str(h1.id), "person": str(a.person_id), "organisation": "Bymisjon",
         "bed": str(beds_of(site)[0].id)},
        {"id": str(h2.id), "person": str(b.person_id), "organisation": "Bymisjon",
         "bed": str(beds_of(site)[1].id)}]
    assert maps.hold == {str(h1.id): h1.id, str(h2.id): h2.id}
    # When a site hold's bed leaves service, the hold takes another bed at its site; a
    # hold for that one bed cannot be honoured any more and is skipped with a note.
    for bed in beds_of(site)[:2]:
        db.session.add(BedOutage(bed_id=bed.id, reason="water damage", starts_on=NIGHT))
    db.session.flush()
    data, maps = build_night(db.session, NIGHT, CITY)
    assert data["holds"] == [
        {"id": str(h1.id), "person": str(a.person_id), "organisation": "Bymisjon", "site": "strax"}]
    assert [(c.kind, c.hold_id) for c in maps.conflicts] == [("hold", h2.id)]


def test_hold_that_cannot_be_honoured_is_skipped(db, make_site):
    site = make_site("strax", beds=1, gender=GenderRule.WOMEN)
    a = ask(db.session, "A", need=10, gender=Gender.MAN)
    hold_for(db.session, a.person, beds_of(site)[0], site_only=False)
    data, maps = build_night(db.session, NIGHT, CITY)
    # The rule book no longer allows it (a man in a women's bed): the hold is a conflict for
    # staff, and its person and bed are set aside so the run stays valid.
    assert data["holds"] == []
    assert [(c.kind, c.codes) for c in maps.conflicts] == [("hold", ("gender",))]
    assert str(a.person_id) not in {r["person"] for r in data["requests"]}
    assert str(beds_of(site)[0].id) not in {b["id"] for b in data["beds"]}
    Night.from_json(data)


def test_bans_with_dates_and_all_sites(db, make_site):
    strax, sand = make_site("strax", beds=1), make_site("sand", beds=1)
    a, b, c, d = (ask(db.session, n, need=10) for n in "ABCD")
    db.session.add_all([
        Restriction(person_id=a.person_id, site_id=strax.id, starts_on=NIGHT, ends_on=NIGHT,
                    reason="violence"),
        Restriction(person_id=b.person_id, site_id=None, starts_on=NIGHT - timedelta(days=9),
                    ends_on=None, reason="threats"),
        # expired yesterday, starts tomorrow, ended early: none in force tonight
        Restriction(person_id=c.person_id, site_id=strax.id, starts_on=date(2026, 1, 1),
                    ends_on=NIGHT - timedelta(days=1), reason="old"),
        Restriction(person_id=c.person_id, site_id=sand.id, starts_on=NIGHT + timedelta(days=1),
                    ends_on=None, reason="future"),
        Restriction(person_id=d.person_id, site_id=sand.id, starts_on=date(2026, 1, 1),
                    ends_on=None, reason="lifted", ended_at=NIGHT),
    ])
    db.session.flush()
    data, _ = build_night(db.session, NIGHT, CITY)
    assert sorted((x["person"], x["site"]) for x in data["barred"]) == sorted([
        (str(a.person_id), "strax"), (str(b.person_id), "strax"), (str(b.person_id), "sand")])


def test_keep_apart_with_dates(db, make_site):
    make_site("strax", beds=2)
    a, b, c = (ask(db.session, n, need=10) for n in "ABC")
    other = ask(db.session, "X", night=NIGHT + timedelta(days=1))  # not asking tonight

    def pair(p, q, **kw):
        lo, hi = sorted((p.person_id, q.person_id))
        db.session.add(KeepApart(person_a_id=lo, person_b_id=hi, reason="r", **kw))

    pair(a, b, starts_on=NIGHT - timedelta(days=2), ends_on=NIGHT)
    pair(a, c, starts_on=NIGHT + timedelta(days=1), ends_on=None)
    pair(b, c, starts_on=NIGHT - timedelta(days=5), ends_on=NIGHT - timedelta(days=1))
    pair(a, other, starts_on=NIGHT, ends_on=None)
    db.session.flush()
    data, _ = build_night(db.session, NIGHT, CITY)
    assert data["keep_apart"] == [sorted([str(a.person_id), str(b.person_id)], key=int)]


def test_confirmed_people_are_fixed_and_ended_people_left_out(db, make_site):
    site = make_site("strax", beds=3)
    beds = beds_of(site)
    a, b, c = (ask(db.session, n, need=10) for n in "ABC")
    db.session.add_all([
        Placement(person_id=a.person_id, bed_id=beds[0].id, night=NIGHT,
                  status=PlacementStatus.CONFIRMED),
        Placement(person_id=b.person_id, bed_id=beds[1].id, night=NIGHT,
                  status=PlacementStatus.NO_SHOW),
        Placement(person_id=c.person_id, bed_id=beds[2].id, night=NIGHT,
                  status=PlacementStatus.PROPOSED),
    ])
    db.session.flush()
    data, maps = build_night(db.session, NIGHT, CITY)
    assert {r["person"] for r in data["requests"]} == {str(a.person_id), str(c.person_id)}
    assert maps.fixed == {str(a.person_id): str(beds[0].id)}


def test_need_from_fresh_assessment_when_request_has_none(db, make_site):
    from datetime import datetime

    from shelter.models import Assessment
    from tests.shelter.intake_factories import scheme

    make_site("strax", beds=1)
    fresh, stale = ask(db.session, "Fresh"), ask(db.session, "Stale")
    db.session.add_all([
        Assessment(person_id=fresh.person_id, scheme_id=scheme(db.session).id, answers={},
                   need=55, parts=[], assessed_at=datetime(2026, 11, 25, 18, 0)),
        Assessment(person_id=stale.person_id, scheme_id=scheme(db.session).id, answers={},
                   need=90, parts=[], assessed_at=datetime(2026, 11, 20, 18, 0)),
    ])
    db.session.flush()
    data, _ = build_night(db.session, NIGHT, CITY)
    assert _req(data, fresh.person_id)["need"] == 55
    assert _req(data, stale.person_id)["need"] == 0


def test_proposal_on_a_bed_out_of_service_is_replaced(db, make_site):
    from shelter.services.allocation import run_allocation

    site = make_site("strax", beds=2)
    a = ask(db.session, "A", need=10)
    run_allocation(db.session, NIGHT, city=CITY, user=None)
    old_bed = db.session.query(Placement).filter_by(person_id=a.person_id).one().bed_id
    db.session.add(BedOutage(bed_id=old_bed, reason="broken", starts_on=NIGHT, ends_on=None))
    db.session.flush()
    run_allocation(db.session, NIGHT, city=CITY, user=None)
    now = db.session.query(Placement).filter_by(person_id=a.person_id).one()
    assert now.bed_id != old_bed and now.bed_id in {b.id for b in beds_of(site)}
