"""People services: tonight(), scoring and scheme versions, duplicate detection, request
registration, safety records."""
from __future__ import annotations

from datetime import date, datetime, timedelta

import pytest
from sqlalchemy import select

from shelter.models import Gender, KeepApart, NeedScheme, Person, Request, RequestStatus
from shelter.services import assessment as assessing
from shelter import clock
from shelter.services import people as svc
from shelter.services import safety


def _person(db, name="Kari Nordmann", year=1990, gender=Gender.WOMAN, alias=None):
    p = Person(name=name, alias=alias, birth_year=year, gender=gender)
    db.session.add(p)
    db.session.flush()
    return p


# --- tonight ---------------------------------------------------------------------------

def test_tonight_is_the_local_evening_date_and_before_six_still_yesterday():
    # 22:30 UTC on 1 Dec = 23:30 in Oslo (winter, UTC+1): tonight is 1 Dec
    assert clock.tonight(datetime(2026, 12, 1, 22, 30), "Europe/Oslo") == date(2026, 12, 1)
    # 23:30 UTC on 1 Dec = 00:30 on 2 Dec in Oslo: still the night of 1 Dec
    assert clock.tonight(datetime(2026, 12, 1, 23, 30), "Europe/Oslo") == date(2026, 12, 1)
    # 05:30 UTC on 2 Dec = 06:30 in Oslo: a new day, tonight is 2 Dec
    assert clock.tonight(datetime(2026, 12, 2, 5, 30), "Europe/Oslo") == date(2026, 12, 2)
    # summer time (UTC+2): 03:30 UTC = 05:30 local, still the previous night
    assert clock.tonight(datetime(2026, 7, 2, 3, 30), "Europe/Oslo") == date(2026, 7, 1)


# --- scoring and versions ----------------------------------------------------------------

def test_current_scheme_creates_version_one_once(db):
    first = assessing.current_scheme(db.session)
    again = assessing.current_scheme(db.session)
    assert first.id == again.id and first.version == 1
    assert {f["key"] for f in first.factors} >= {"sleeps_outside", "own_flat", "violence"}


def test_score_adds_parts_caps_at_100_and_keeps_order(db):
    scheme = assessing.current_scheme(db.session)
    need, parts = assessing.score(scheme, {"sleeps_outside": True, "violence": True,
                                           "acute_health": True, "mental_health": True,
                                           "cold_night": True, "own_flat": False})
    assert sum(p["points"] for p in parts) == 40 + 25 + 20 + 15 + 10
    assert need == 100
    assert [p["key"] for p in parts] == ["sleeps_outside", "violence", "acute_health",
                                         "mental_health", "cold_night"]


def test_cold_night_counts_only_for_people_sleeping_outside(db):
    scheme = assessing.current_scheme(db.session)
    assert assessing.score(scheme, {"temporary_housing": True, "cold_night": True})[0] == 5
    assert assessing.score(scheme, {"sleeps_outside": True, "cold_night": True})[0] == 50


def test_alternatives_of_one_group_and_unknown_keys_are_refused(db):
    scheme = assessing.current_scheme(db.session)
    with pytest.raises(assessing.AssessmentError, match="alternatives"):
        assessing.score(scheme, {"sleeps_outside": True, "own_flat": True})
    with pytest.raises(assessing.AssessmentError, match="unknown"):
        assessing.score(scheme, {"made_up": True})


def test_prefill_marks_young_from_birth_year(db):
    scheme = assessing.current_scheme(db.session)
    night = date(2026, 11, 25)
    assert assessing.prefill(scheme, Person(name="x", birth_year=2003), night) == {"young": True}
    assert assessing.prefill(scheme, Person(name="x", birth_year=2002), night) == {"young": False}
    assert assessing.prefill(scheme, Person(name="x", birth_year=None), night) == {}


def _rows(scheme):
    return [dict(f) for f in scheme.factors]


def test_saving_the_scheme_makes_a_new_version_and_old_scores_keep_their_parts(db, make_user):
    user = make_user()
    person = _person(db)
    v1 = assessing.current_scheme(db.session)
    old = assessing.assess(db.session, person, {"violence": True}, user=user)
    rows = _rows(v1)
    next(r for r in rows if r["key"] == "violence")["points"] = "35"
    rows.append({"key": "", "label": "Long-term homeless", "points": "12", "group": ""})
    v2 = assessing.save_scheme(db.session, rows, user=user, note="more for violence")
    assert v2.version == 2 and assessing.current_scheme(db.session).id == v2.id
    db.session.refresh(v1)
    assert not v1.active
    new = assessing.assess(db.session, person, {"violence": True, "long_term_homeless": True},
                           user=user)
    assert (old.need, old.parts[0]["points"], old.scheme_id) == (25, 25, v1.id)
    assert new.need == 47 and new.scheme_id == v2.id
    # the cold-night prerequisite survives an edit
    assert next(f for f in v2.factors if f["key"] == "cold_night")["requires"] == "sleeps_outside"


@pytest.mark.parametrize("points", ["abc", "-1", "101", "1.5", ""])
def test_bad_points_are_refused_and_nothing_is_saved(db, points):
    v1 = assessing.current_scheme(db.session)
    rows = _rows(v1)
    rows[2]["points"] = points
    with pytest.raises(assessing.SchemeError) as err:
        assessing.save_scheme(db.session, rows, user=None)
    assert "factors-2-points" in err.value.errors
    assert db.session.scalars(select(NeedScheme.version)).all() == [1]


def test_empty_label_and_empty_scheme_are_refused(db):
    rows = _rows(assessing.current_scheme(db.session))
    rows[0]["label"] = "  "
    with pytest.raises(assessing.SchemeError) as err:
        assessing.save_scheme(db.session, rows, user=None)
    assert list(err.value.errors) == ["factors-0-label"]
    with pytest.raises(assessing.SchemeError):
        assessing.save_scheme(db.session, [dict(r, remove=True) for r in rows], user=None)


# --- search and duplicates -----------------------------------------------------------------

def test_normalise_folds_case_and_norwegian_letters():
    assert svc.normalise("  Åse ØDEGÅRD-Bæk ") == "ase odegard baek"


def test_search_by_alias_and_year_forms(db):
    a = _person(db, None, 1990, alias="Tommy B")
    b = _person(db, "Tomas Berg", 1991)
    assert {p.id for p in svc.search_people(db.session, "tom")} == {a.id, b.id}
    assert [p.id for p in svc.search_people(db.session, "tom born 1991")] == [b.id]
    assert [p.id for p in svc.search_people(db.session, "1990")] == [a.id]
    assert svc.search_people(db.session, "zzz") == []


def test_likely_duplicates_by_similar_name_and_birth_year_within_one(db):
    jonas = _person(db, "Jonas Olsen", 1990, Gender.MAN)
    _person(db, "Jonas Olsen", 1980, Gender.MAN)  # same name, ten years apart: not a duplicate
    found = svc.find_likely_duplicates(db.session, "JONÁS olsen", None, 1991)
    assert [p.id for p in found] == [jonas.id]
    assert svc.find_likely_duplicates(db.session, "Jon Olsen", None, 1989) == [jonas]
    assert svc.find_likely_duplicates(db.session, "Peter Olsen", None, 1990) == []
    assert svc.find_likely_duplicates(db.session, "Jonas Larsen", None, 1990) == []


def test_create_person_raises_likely_duplicate_unless_confirmed(db, make_user):
    user = make_user()
    _person(db, "Jonas Olsen", 1990, Gender.MAN)
    kw = dict(name="Jonas Olsen", alias=None, refused_name=False, birth_year=1990,
              gender="man", user=user)
    with pytest.raises(svc.LikelyDuplicate):
        svc.create_person(db.session, **kw)
    person = svc.create_person(db.session, **kw, confirm_duplicate=True)
    assert person.id is not None


def test_create_person_refuses_bad_input(db):
    with pytest.raises(svc.PeopleError) as err:
        svc.create_person(db.session, name="", alias="", refused_name=False, birth_year=1800,
                          gender="alien", needs=["jacuzzi"], user=None, this_year=2026)
    assert set(err.value.errors) == {"name", "birth_year", "gender", "needs"}
    with pytest.raises(svc.PeopleError) as err:
        svc.create_person(db.session, name="Real Name", alias=None, refused_name=True,
                          birth_year=None, gender="unknown", user=None)
    assert set(err.value.errors) == {"alias"}


def test_refused_name_keeps_only_the_alias(db):
    p = svc.create_person(db.session, name="Typed anyway", alias="Red jacket", refused_name=True,
                          birth_year=None, gender="unknown", user=None)
    assert (p.name, p.alias, p.refused_name, p.display_name) == (None, "Red jacket", True, "Red jacket")


# --- requests --------------------------------------------------------------------------------

def test_register_request_numbers_arrivals_and_refuses_a_second_open_one(db, make_user):
    user = make_user()
    night = date(2026, 11, 25)
    a, b = _person(db, "A A"), _person(db, "B B")
    first = svc.register_request(db.session, a, night, source="walk_in", needs=[],
                                 preferred_site_id=None, assessment=None, user=user)
    second = svc.register_request(db.session, b, night, source="phone", needs=["accessible"],
                                  preferred_site_id=None, assessment=None, user=user)
    assert (first.arrival, second.arrival) == (1, 2) and second.needs == ["accessible"]
    with pytest.raises(svc.PeopleError) as err:
        svc.register_request(db.session, a, night, source="phone", needs=[],
                             preferred_site_id=None, assessment=None, user=user)
    assert "night" in err.value.errors and "queue number 1" in err.value.errors["night"]
    # a withdrawn request does not block a new one
    first.status = RequestStatus.WITHDRAWN
    db.session.flush()
    again = svc.register_request(db.session, a, night, source="walk_in", needs=[],
                                 preferred_site_id=None, assessment=None, user=user)
    assert again.arrival == 3
    # another night starts its own queue
    other = svc.register_request(db.session, a, night + timedelta(days=1), source="walk_in",
                                 needs=[], preferred_site_id=None, assessment=None, user=user)
    assert other.arrival == 1


def test_register_request_refuses_bad_input_and_anothers_assessment(db):
    a, b = _person(db, "A A"), _person(db, "B B")
    theirs = assessing.assess(db.session, b, {"violence": True}, user=None)
    with pytest.raises(svc.PeopleError) as err:
        svc.register_request(db.session, a, date(2026, 11, 25), source="carrier pigeon",
                             needs=["spa"], preferred_site_id=424242, assessment=theirs, user=None)
    assert set(err.value.errors) == {"source", "needs", "preferred_site_id", "assessment_id"}
    assert db.session.scalars(select(Request)).all() == []


def test_request_includes_the_persons_standing_needs(db):
    p = _person(db)
    p.needs = ["accessible"]
    req = svc.register_request(db.session, p, date(2026, 11, 25), source="walk_in", needs=[],
                               preferred_site_id=None, assessment=None, user=None)
    assert req.needs == ["accessible"]


def test_recent_assessment_is_reused_within_the_window(db):
    p = _person(db)
    a = assessing.assess(db.session, p, {"violence": True}, user=None)
    assert assessing.recent_assessment(db.session, p.id, days=7) == a
    later = a.assessed_at + timedelta(days=8)
    assert assessing.recent_assessment(db.session, p.id, days=7, now=later) is None


# --- safety -------------------------------------------------------------------------------

def test_bans_in_force_by_night_and_ending(db, make_site, make_user):
    user = make_user()
    site = make_site("gyldenpris")
    p = _person(db)
    night = date(2026, 11, 25)
    ban = safety.add_ban(db.session, person_id=p.id, site_id=site.id, starts_on=night,
                         ends_on=night + timedelta(days=2), reason="violence", user=user)
    assert safety.active_restrictions(db.session, night) == [ban]
    assert safety.active_restrictions(db.session, night + timedelta(days=3)) == []
    assert safety.active_restrictions(db.session, night - timedelta(days=1)) == []
    safety.end_ban(db.session, ban.id, user=user, today=night)
    assert ban.ends_on == night and ban.ended_by_id == user.id
    assert safety.active_restrictions(db.session, night) == []
    with pytest.raises(safety.SafetyError):
        safety.end_ban(db.session, ban.id, user=user, today=night)


def test_ending_a_ban_that_has_not_started_keeps_the_dates_ordered(db):
    p = _person(db)
    night = date(2026, 11, 25)
    ban = safety.add_ban(db.session, person_id=p.id, site_id=None, starts_on=night + timedelta(days=5),
                         ends_on=None, review_on=night + timedelta(days=30), reason="x", user=None)
    safety.end_ban(db.session, ban.id, user=None, today=night)
    db.session.flush()
    assert ban.ends_on == ban.starts_on and ban.ended_at is not None


def test_bad_ban_input_names_each_field(db):
    with pytest.raises(safety.SafetyError) as err:
        safety.add_ban(db.session, person_id=999999, site_id=999999, starts_on=date(2026, 1, 5),
                       ends_on=date(2026, 1, 1), reason=" ", user=None)
    assert set(err.value.errors) == {"person_id", "site_id", "ends_on", "reason"}
    with pytest.raises(safety.SafetyError) as err:
        safety.add_ban(db.session, person_id=None, site_id=None, starts_on=None, ends_on=None,
                       reason="r", user=None)
    assert set(err.value.errors) == {"person_id", "starts_on"}


def test_keep_apart_pairs(db):
    a, b = _person(db, "A A"), _person(db, "B B")
    night = date(2026, 11, 25)
    pair = safety.add_keep_apart(db.session, person_a_id=b.id, person_b_id=a.id, starts_on=night,
                                 ends_on=None, reason="fight", user=None)
    assert (pair.person_a_id, pair.person_b_id) == (a.id, b.id)
    with pytest.raises(safety.SafetyError, match="already kept apart"):
        safety.add_keep_apart(db.session, person_a_id=a.id, person_b_id=b.id, starts_on=night,
                              ends_on=None, reason="again", user=None)
    with pytest.raises(safety.SafetyError) as err:
        safety.add_keep_apart(db.session, person_a_id=a.id, person_b_id=a.id, starts_on=night,
                              ends_on=None, reason="self", user=None)
    assert "person_b_id" in err.value.errors
    assert safety.active_keep_aparts(db.session, night) == [pair]
    assert safety.current_keep_aparts(db.session, night, person_id=b.id) == [pair]
    safety.end_keep_apart(db.session, pair.id, user=None, today=night)
    assert safety.active_keep_aparts(db.session, night) == []
    # once ended, the same pair may be recorded again
    again = safety.add_keep_apart(db.session, person_a_id=a.id, person_b_id=b.id,
                                  starts_on=night, ends_on=None, reason="new fight", user=None)
    assert db.session.scalars(select(KeepApart.id)).all() == [pair.id, again.id]
