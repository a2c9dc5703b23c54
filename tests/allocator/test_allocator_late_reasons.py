"""Turn-away sentences after a late run: beds of people already placed tonight (``fixed``)
are not "pre-bookings"; each of the three takers is named only when it took a bed."""

from __future__ import annotations

from alloc_helpers import make_night, placed, reasons

from allocator import solve


def man(person, need=50, **kw):
    return {"person": person, "gender": "man", "need": need, **kw}


def test_beds_of_people_placed_earlier_are_not_called_pre_bookings():
    night = make_night(["s/1", "s/2"], [man("a", 80), man("b", 60), man("late", 90)])
    for rule in ("need", "first-come"):
        result = solve(night, rule=rule, fixed={"a": "1", "b": "2"})
        assert placed(result) == {"a": "1", "b": "2"}
        assert reasons(result) == {"late": "capacity"}
        assert result.turned_away[0].explanation == (
            "All 2 beds you are eligible for are taken by people already placed tonight.")


def test_new_placements_earlier_placements_and_holds_each_named():
    night = make_night(["s/1", "s/2", "s/3"],
                       [man("a", 80), man("p", 5), man("d", 90), man("x", 10)],
                       holds=[{"id": "h", "person": "p", "bed": "2"}])
    result = solve(night, fixed={"a": "1"})
    assert placed(result) == {"a": "1", "p": "2", "d": "3"}
    assert result.turned_away[0].explanation == (
        "All 3 beds you are eligible for are taken by people with equal or higher need (90), "
        "by people already placed tonight or by pre-bookings.")


def test_site_hold_of_a_confirmed_person_is_a_placement_not_a_pre_booking():
    night = make_night(["s/1"], [man("p", 5), man("late", 90)],
                       holds=[{"id": "h", "person": "p", "site": "s"}])
    before = solve(night)
    assert before.turned_away[0].explanation == \
        "The only bed you are eligible for is taken by pre-bookings."
    after = solve(night, fixed={"p": "1"})  # p was confirmed in the held site's bed
    assert after.turned_away[0].explanation == \
        "The only bed you are eligible for is taken by people already placed tonight."
