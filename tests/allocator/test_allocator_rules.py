"""Every rule of allocation.md on a tiny hand-built night with the placement written out."""

from __future__ import annotations

import json

import pytest
from alloc_helpers import SPEC, make_night, placed, reasons

from allocator import InputError, Night, Status, solve
from allocator.rules import check_hard


def man(person, need=50, **kw):
    return {"person": person, "gender": "man", "need": need, **kw}


def woman(person, need=50, **kw):
    return {"person": person, "gender": "woman", "need": need, **kw}


# -- worked example --------------------------------------------------------------------------

@pytest.fixture
def example() -> Night:
    return Night.from_json((SPEC / "example-night.json").read_text(encoding="utf-8"))


def test_worked_example_need_rule(example):
    result = solve(example)
    got = placed(result)
    assert result.status is Status.OPTIMAL
    assert got["h"] in {"kvinne-1", "kvinne-2"}
    assert got["b"] == ({"kvinne-1", "kvinne-2"} - {got["h"]}).pop()
    assert (got["c"], got["d"], got["g"], got["e"]) == ("strax-2", "sandviken-1", "strax-1", "ung-1")
    assert reasons(result) == {"f": "capacity", "a": "capacity"}
    assert next(a for a in result.assignments if a.person == "h").hold == "h1"
    assert result.placed_by_need == {"90": 1, "80": 1, "70": 2, "60": 0, "50": 1, "40": 1, "20": 0}


def test_worked_example_first_come(example):
    result = solve(example, rule="first-come")
    assert set(placed(result)) == {"a", "d", "e", "b", "h"}
    assert placed(result)["d"] == "strax-2"  # d took the accessible bed c needed
    assert reasons(result) == {"c": "capacity", "f": "capacity", "g": "capacity"}


# -- eligibility -----------------------------------------------------------------------------

def test_women_beds_admit_women_only_by_default():
    night = make_night([{"id": "w1", "site": "s", "gender": "women"}],
                       [man("m", 90), woman("w", 10)])
    assert placed(solve(night)) == {"w": "w1"}


def test_policy_can_admit_nonbinary_to_women_beds():
    beds = [{"id": "w1", "site": "s", "gender": "women"}]
    people = [{"person": "n", "gender": "nonbinary", "need": 50}]
    assert placed(solve(make_night(beds, people))) == {}
    night = make_night(beds, people, policy={"women_beds_admit": ["woman", "nonbinary"]})
    assert placed(solve(night)) == {"n": "w1"}


def test_men_beds_admit_men_only():
    night = make_night([{"id": "m1", "site": "s", "gender": "men"}], [woman("w", 90), man("m", 10)])
    assert placed(solve(night)) == {"m": "m1"}


def test_features_needed_must_be_on_the_bed():
    night = make_night(["s/plain", {"id": "acc", "site": "s", "features": ["accessible"]}],
                       [man("x", 90, needs=["accessible"]), man("y", 10)])
    assert placed(solve(night)) == {"x": "acc", "y": "plain"}


def test_barred_person_gets_no_bed_at_that_site():
    night = make_night(["a/a1", "b/b1"], [man("x", 90), man("y", 10)],
                       barred=[{"person": "x", "site": "a"}])
    assert placed(solve(night)) == {"x": "b1", "y": "a1"}


def test_age_limited_site_needs_a_known_age_inside_the_limits():
    night = make_night(["ung/u1"], [man("old", 90, age=30), man("anon", 80), man("kid", 10, age=19)],
                       sites=[{"id": "ung", "min_age": 18, "max_age": 23}])
    result = solve(night)
    assert placed(result) == {"kid": "u1"}
    assert reasons(result) == {"old": "no_eligible_bed", "anon": "no_eligible_bed"}


def test_unlisted_site_has_no_age_limit():
    night = make_night(["elsewhere/e1"], [man("anon", 10)],
                       sites=[{"id": "ung", "min_age": 18, "max_age": 23}])
    assert placed(solve(night)) == {"anon": "e1"}


# -- hard constraints --------------------------------------------------------------------------

def test_one_person_per_bed_and_one_bed_per_person():
    night = make_night(["s/1", "s/2"], [man("x"), man("y"), man("z")])
    result = solve(night)
    check_hard(night, placed(result))
    assert len(placed(result)) == 2 and reasons(result) == {"z": "capacity"}


def test_keep_apart_pair_never_at_one_site():
    night = make_night(["a/a1", "a/a2", "b/b1"], [man("x", 90), man("y", 80), man("z", 10)],
                       keep_apart=[["x", "y"]])
    result = solve(night)
    got = placed(result)
    assert {got["x"][0], got["y"][0]} == {"a", "b"}  # apart, so z fills the other a-bed
    assert got["z"].startswith("a")


def test_keep_apart_turns_away_for_keep_apart_reason():
    night = make_night(["a/a1", "a/a2"], [man("x", 90), man("y", 10)],
                       sites=[{"id": "a", "name": "Strax"}], keep_apart=[["x", "y"]])
    result = solve(night)
    assert placed(result) == {"x": "a1"}
    away = result.turned_away[0]
    assert away.reason == "keep_apart"
    assert away.explanation == ("The only free beds you could take are at Strax, where someone "
                                "you must be kept apart from is placed.")


def test_bed_hold_is_honoured_even_over_higher_need():
    night = make_night(["s/1"], [man("low", 10), man("high", 90)],
                       holds=[{"id": "h", "person": "low", "bed": "1"}])
    result = solve(night)
    assert placed(result) == {"low": "1"}
    assert result.turned_away[0].explanation == \
        "The only bed you are eligible for is taken by pre-bookings."


def test_site_hold_is_honoured_at_that_site():
    night = make_night(["a/a1", "b/b1"], [man("x", 10), man("y", 90, preferred_sites=["a"])],
                       holds=[{"id": "h", "person": "x", "site": "a"}])
    assert placed(solve(night)) == {"x": "a1", "y": "b1"}


def test_site_hold_picks_an_eligible_bed_at_its_site():
    night = make_night([{"id": "a1", "site": "a", "gender": "men"}, "a/a2"],
                       [woman("w", 10), man("m", 90)],
                       holds=[{"id": "h", "person": "w", "site": "a"}])
    assert placed(solve(night)) == {"w": "a2", "m": "a1"}
    assert placed(solve(night, rule="first-come")) == {"w": "a2", "m": "a1"}


def test_fixed_people_are_not_moved_and_count_as_placed():
    night = make_night(["s/1", "s/2"], [man("late", 10), man("x", 90), man("y", 80)])
    result = solve(night, fixed={"late": "1"})
    assert placed(result)["late"] == "1" and placed(result)["x"] == "2"
    assert reasons(result) == {"y": "capacity"}


def test_fixed_placement_must_be_valid():
    night = make_night(["s/1", {"id": "w", "site": "s", "gender": "women"}], [man("x")])
    with pytest.raises(InputError, match="unknown bed 'nope'"):
        solve(night, fixed={"x": "nope"})
    with pytest.raises(InputError, match="not eligible"):
        solve(night, fixed={"x": "w"})
    with pytest.raises(InputError, match="unknown person"):
        solve(night, fixed={"ghost": "1"})


# -- objective levels --------------------------------------------------------------------------

def test_level1_higher_need_first():
    night = make_night(["s/1"], [man("low", 10, arrival=1), man("high", 90, arrival=2)])
    assert placed(solve(night)) == {"high": "1"}


def test_level1_counts_per_need_beat_total_count():
    # x (need 90) can use either bed; y and z (need 50) only bed 1. Placing x in 2 keeps one 50.
    night = make_night([{"id": "1", "site": "s"}, {"id": "2", "site": "s", "gender": "women"}],
                       [{"person": "x", "gender": "woman", "need": 90}, man("y"), man("z")])
    result = solve(night)
    assert placed(result)["x"] == "2" and len(placed(result)) == 2


def test_level1_prefers_one_high_over_two_low():
    night = make_night(["a/1", {"id": "2", "site": "a", "features": ["accessible"]}],
                       [man("hi", 90, needs=["accessible"]), man("lo1", 10), man("lo2", 10)])
    got = placed(solve(night))
    assert got["hi"] == "2" and len(got) == 2


def test_level2_more_nights_turned_away_first():
    night = make_night(["s/1"], [man("fresh", 50, arrival=1),
                                 man("tired", 50, arrival=2, nights_turned_away=3)])
    assert placed(solve(night)) == {"tired": "1"}


def test_level3_last_bed_then_its_site():
    night = make_night(["a/a1", "a/a2", "b/b1"],
                       [man("x", last_bed="a2"), man("y", last_bed="a1"), man("z", last_bed="b1")])
    assert placed(solve(night)) == {"x": "a2", "y": "a1", "z": "b1"}
    night = make_night(["a/a1", "a/a2", "b/b1"],
                       [man("x", last_bed="a2", nights_turned_away=1), man("y", last_bed="a9")],
                       holds=[{"id": "h", "person": "y", "bed": "a2"}])
    assert placed(solve(night))["x"] == "a1"  # own bed held by someone else: same site


def test_level3_over_level4():
    night = make_night(["a/a1", "b/b1"],
                       [man("x", last_bed="a1", preferred_sites=["b"]), man("y", preferred_sites=["a"])])
    assert placed(solve(night)) == {"x": "a1", "y": "b1"}


def test_level4_preferred_sites():
    night = make_night(["a/a1", "b/b1"], [man("x", preferred_sites=["b"]), man("y")])
    assert placed(solve(night)) == {"x": "b1", "y": "a1"}


def test_level5_earlier_arrival_breaks_remaining_ties():
    night = make_night(["s/1"], [man("late", arrival=9), man("early", arrival=2), man("none")])
    assert placed(solve(night)) == {"early": "1"}


def test_level2_beats_level3():
    night = make_night(["a/a1"], [man("home", last_bed="a1"), man("tired", nights_turned_away=1)])
    assert placed(solve(night)) == {"tired": "a1"}


# -- reasons -----------------------------------------------------------------------------------

def test_no_eligible_bed_explanation_names_the_person():
    night = make_night(["strax/1", {"id": "w", "site": "k", "gender": "women",
                                    "features": ["accessible"]}],
                       [man("x", needs=["accessible"])])
    result = solve(night)
    assert reasons(result) == {"x": "no_eligible_bed"}
    assert result.turned_away[0].explanation == \
        "No bed tonight admits a man who needs an accessible bed."


def test_capacity_explanation_lists_needs_and_bookings():
    night = make_night(["s/1", "s/2", "s/3"],
                       [man("a", 80), man("b", 90), man("c", 10), man("d", 20)],
                       holds=[{"id": "h", "person": "c", "bed": "3"}])
    result = solve(night)
    assert result.turned_away[0].explanation == ("All 3 beds you are eligible for are taken by "
                                                 "people with equal or higher need (80, 90) or by "
                                                 "pre-bookings.")


def test_barred_everywhere_explains_the_ban():
    night = make_night(["a/1"], [man("x")], sites=[{"id": "a", "name": "Strax"}],
                       barred=[{"person": "x", "site": "a"}])
    result = solve(night)
    assert reasons(result) == {"x": "no_eligible_bed"}
    assert "Strax, where you are barred" in result.turned_away[0].explanation


# -- first-come ----------------------------------------------------------------------------------

def test_first_come_order_arrival_then_none_then_person_id():
    night = make_night(["s/1", "s/2", "s/3"],
                       [man("z"), man("b", arrival=5), man("a", arrival=5), man("c", 99, arrival=9),
                        man("y")])
    got = placed(solve(night, rule="first-come"))
    assert got == {"a": "1", "b": "2", "c": "3"}
    night = make_night(["s/1", "s/2", "s/3", "s/4"], [man("z"), man("y"), man("q", arrival=1)])
    assert placed(solve(night, rule="first-come")) == {"q": "1", "y": "2", "z": "3"}


def test_first_come_takes_first_eligible_bed_in_input_order_and_avoids_partners():
    night = make_night(["a/a1", "b/b1", "a/a2"], [man("x", arrival=1), man("y", arrival=2),
                                                 man("z", arrival=3)], keep_apart=[["x", "z"]])
    assert placed(solve(night, rule="first-come")) == {"x": "a1", "y": "b1"}


def test_first_come_site_holds_in_input_order_with_fallback():
    # greedy: h1 (man) takes a1, then h2 (woman) finds no free eligible bed -> fallback matching.
    night = make_night(["a/a1", {"id": "a2", "site": "a", "gender": "men"}],
                       [man("m", arrival=2), woman("w", arrival=1)],
                       holds=[{"id": "h1", "person": "m", "site": "a"},
                              {"id": "h2", "person": "w", "site": "a"}])
    assert placed(solve(night, rule="first-come")) == {"m": "a2", "w": "a1"}


def test_first_come_holds_before_queue():
    night = make_night(["s/1", "s/2"], [man("q", arrival=1), man("h", arrival=2), man("r", arrival=3)],
                       holds=[{"id": "x", "person": "h", "bed": "1"}])
    assert placed(solve(night, rule="first-come")) == {"h": "1", "q": "2"}


# -- results -----------------------------------------------------------------------------------

def test_result_json_round_trip_and_schema(example):
    import jsonschema

    schema = json.loads((SPEC / "result.schema.json").read_text(encoding="utf-8"))
    for rule in ("need", "first-come"):
        result = solve(example, rule=rule)
        data = result.to_json()
        jsonschema.Draft202012Validator(schema).validate(data)
        again = type(result).from_json(json.dumps(data))
        assert again.to_json() == data


def test_night_json_round_trip(example):
    again = Night.from_json(json.dumps(example.to_json()))
    assert again == example
    assert again.to_json() == example.to_json()


# -- time limit ------------------------------------------------------------------------------

def test_time_limit_returns_a_valid_feasible_placement():
    beds = [f"s{i}/b{i}{j}" for i in range(3) for j in range(2)]
    people = [man(f"p{i}", 10 * i) for i in range(8)]
    pairs = [[f"p{i}", f"p{j}"] for i in range(8) for j in range(i + 1, 8) if (i + j) % 2]
    night = make_night(beds, people, keep_apart=pairs)
    result = solve(night, time_limit=1e-9)
    check_hard(night, placed(result))
    assert result.status is Status.FEASIBLE  # the root placement had to be split
    assert solve(night).status is Status.OPTIMAL


def test_fixed_person_with_a_site_hold_keeps_the_hold_id():
    night = make_night(["a/a1", "a/a2"], [man("x"), man("y")],
                       holds=[{"id": "h", "person": "x", "site": "a"}])
    result = solve(night, fixed={"x": "a2"})
    assert placed(result) == {"x": "a2", "y": "a1"}
    assert next(a for a in result.assignments if a.person == "x").hold == "h"
    with pytest.raises(InputError, match="holds a bed at site 'a'"):
        solve(make_night(["a/a1", "b/b1"], [man("x")],
                         holds=[{"id": "h", "person": "x", "site": "a"}]), fixed={"x": "b1"})


def test_unknown_rule_is_refused():
    with pytest.raises(InputError, match="unknown rule"):
        solve(make_night(["s/1"], [man("x")]), rule="lottery")


@pytest.mark.parametrize("rule", ["need", "first-come"])
def test_empty_and_fully_held_nights(rule):
    assert solve(make_night([], []), rule=rule).assignments == ()
    nobody = solve(make_night([], [man("x")]), rule=rule)
    assert reasons(nobody) == {"x": "no_eligible_bed"}
    assert nobody.turned_away[0].explanation == "No bed tonight admits a man."
    assert solve(make_night(["s/1"], []), rule=rule).turned_away == ()
    held = make_night(["s/1"], [man("x")], holds=[{"id": "h", "person": "x", "site": "s"}])
    assert placed(solve(held, rule=rule)) == {"x": "1"}
