"""Turn-away reasons and rule-book sentences in bokmål and English: the allocator returns a
reason code with params, the app words them in the reader's language (issue 10)."""
from __future__ import annotations

import re
from typing import Any

import pytest
from sqlalchemy import select

from allocator import Night, solve
from allocator.generate import Rates, random_night
from allocator.rulebook import CODES, Reason
from allocator.words import explain as english
from shelter.clock import tonight
from shelter.models import Gender, Placement, Request, RequestStatus, Restriction, Role
from shelter.services import allocation as alloc
from shelter.services import reasons, rules
from tests.shelter.conftest import login
from tests.shelter.intake_factories import ask


def _man(person: str, need: int = 50, **kw: Any) -> dict[str, Any]:
    return {"person": person, "gender": "man", "need": need, **kw}


def _night(beds: list[dict[str, Any]], requests: list[dict[str, Any]], **kw: Any) -> Night:
    return Night.from_json({"night": "2026-12-02", "beds": beds, "requests": requests, **kw})


def _kind(reason: str, params: dict[str, Any]) -> str:
    if reason == "capacity":
        if params.get("lower"):
            return "capacity:lower"
        return "capacity:" + "+".join(params.get("takers") or ()) + \
            (":range" if "need_range" in params else "")
    if reason == "no_eligible_bed":
        return "no_eligible_bed:" + ("barred" if params["barred"] else "who")
    return reason


def _allocator_turn_aways() -> list[tuple[str, dict[str, Any], str]]:
    """(reason, params, English explanation) as the allocator gives them: hand-built nights for
    each kind of params, and random nights under both rules."""
    out = []

    def add(night: Night, rule: str = "need", fixed: dict[str, str] | None = None) -> None:
        for t in solve(night, rule=rule, time_limit=5.0, fixed=fixed).turned_away:
            out.append((t.reason, dict(t.params), t.explanation))

    strax = [{"id": "a", "name": "Strax"}, {"id": "b", "name": "Nygårdsgaten"},
             {"id": "u", "name": "Ungdom", "min_age": 18, "max_age": 23}]
    # no eligible bed: who (gender, age, needs) and barred
    add(_night([{"id": "u1", "site": "u"}, {"id": "w1", "site": "a", "gender": "women"}],
               [_man("old", age=46, needs=["accessible"]), _man("noage"),
                {"person": "anon", "gender": "unknown", "need": 10, "age": 30}], sites=strax))
    add(_night([{"id": "a1", "site": "a"}, {"id": "b1", "site": "b"}], [_man("x")],
               sites=strax[:2], barred=[{"person": "x", "site": "a"},
                                        {"person": "x", "site": "b"}]))
    # keep apart; capacity where lower-need people sit at a partner's site
    add(_night([{"id": "a1", "site": "a"}, {"id": "a2", "site": "a"}],
               [_man("x", 90), _man("y", 10)], sites=strax[:1], keep_apart=[["x", "y"]]))
    add(_night([{"id": "a1", "site": "a", "features": ["accessible"]},
                {"id": "a2", "site": "a", "features": ["accessible"]}],
               [_man("y", 90, needs=["accessible"]), _man("x", 50, needs=["accessible"]),
                _man("z", 10)], sites=strax[:1], keep_apart=[["x", "y"]]))
    # capacity: one bed by need; people placed earlier and pre-bookings; the queue
    add(_night([{"id": "1", "site": "a"}], [_man("low", 10), _man("high", 90)], sites=strax[:1]))
    add(_night([{"id": "1", "site": "a"}, {"id": "2", "site": "a"}, {"id": "3", "site": "a"}],
               [_man("a", 80), _man("p", 5), _man("d", 90), _man("x", 10)], sites=strax[:1],
               holds=[{"id": "h", "person": "p", "bed": "2"}]), fixed={"a": "1"})
    many = _night([{"id": str(i), "site": "a"} for i in range(8)],
                  [_man(f"p{i}", 20 + 10 * i, arrival=i) for i in range(8)] + [_man("late", 5)],
                  sites=strax[:1])
    add(many)
    add(many, rule="first-come")
    for seed in (1, 2):
        night = random_night(sites=4, beds=20, requests=50, seed=seed,
                             rates=Rates(holds=0.1, keep_apart=0.1, bans=0.3))
        add(night)
        add(night, rule="first-come")
    return out


def _worded(app, language: str, reason: str, params: dict[str, Any]) -> str:
    app.config["SHELTER_LANGUAGE"] = language
    try:
        with app.test_request_context():
            return reasons.explain(reason, params)
    finally:
        app.config["SHELTER_LANGUAGE"] = "en"


def test_every_reason_and_kind_of_params_is_worded_in_both_languages(app) -> None:
    found = _allocator_turn_aways()
    kinds = {_kind(r, p) for r, p, _ in found}
    assert {"no_eligible_bed:who", "no_eligible_bed:barred", "keep_apart", "capacity:lower",
            "capacity:need", "capacity:need+fixed+held", "capacity:need:range",
            "capacity:queue"} <= kinds, kinds
    for reason, params, explanation in found + [("staff", {}, "")]:
        assert explanation == english(reason, params)  # the CLI's sentence, from the params
        nb, en = _worded(app, "nb", reason, params), _worded(app, "en", reason, params)
        assert nb and en and nb != en, (reason, params)
        assert "%(" not in nb + en and nb.endswith(".") and en.endswith(".")
    # Site names are data; numbers and needs are kept.
    keep = next(p for r, p, _ in found if r == "keep_apart")
    assert _worded(app, "nb", "keep_apart", keep) == (
        "De eneste ledige sengene du kunne fått, er på Strax, der en du må holdes adskilt fra, "
        "har fått seng.")
    old = next(p for r, p, _ in found if r == "no_eligible_bed" and p.get("age") == 46)
    assert _worded(app, "nb", "no_eligible_bed", old) == (
        "Ingen seng i natt passer for en mann på 46 år (behov: universelt utformet).")
    one = {"beds": 1, "takers": ["need"], "needs": [90]}
    assert _worded(app, "nb", "capacity", one) == (
        "Den eneste sengen som passer for deg, er tatt av en med like høyt eller høyere "
        "behov (90).")
    assert _worded(app, "en", "capacity", one) == (
        "The only bed you are eligible for is taken by someone with equal or higher need (90).")
    big = {"beds": 12000, "takers": ["queue", "held"]}
    assert _worded(app, "nb", "capacity", big) == (
        "Alle de 12\xa0000 sengene som passer for deg, er tatt av personer foran deg i køen "
        "eller forhåndsbestillinger.")


def test_rows_without_params_show_the_stored_text(app) -> None:
    old = Request(turnaway_reason="capacity", turnaway_params=None,
                  turnaway_explanation="Every suitable bed went to people with higher need.")
    with app.test_request_context():
        assert reasons.turnaway_text(old) == "Every suitable bed went to people with higher need."
        assert reasons.turnaway_text(None) == ""
        assert reasons.turnaway_text({"reason": "keep_apart", "explanation": "Old text."}) == \
            "Old text."


def test_rule_book_sentences_in_bokmal(nb_app) -> None:
    cases = [Reason("gender", {"bed_gender": "women"}), Reason("gender", {"bed_gender": "men"}),
             Reason("gender", {"bed_gender": "mixed"}), Reason("features", {}),
             Reason("features", {"missing": ["accessible", "single_room"]}),
             Reason("age_unknown", {}), Reason("age", {"age": None}),
             Reason("age", {"min_age": 18, "max_age": 23, "age": 46}),
             Reason("age", {"min_age": 25, "max_age": None, "age": 19}),
             Reason("barred"), Reason("keep_apart"), Reason("out_of_service")]
    assert {c.code for c in cases} >= set(CODES)
    with nb_app.test_request_context():
        nb = [rules.sentence(c) for c in cases]
    with nb_app.test_request_context(headers={"Accept-Language": "en"}):  # before log-in
        en = [rules.sentence(c) for c in cases]
    for b, e in zip(nb, en):
        assert b and e and b != e and "%(" not in b
    assert nb[0] == "Kjønnsregel: denne sengen er bare for kvinner."
    assert en[0] == "Gender rule: this bed is for women only."
    assert nb[4] == ("Tilrettelegging: personen trenger dette, som sengen ikke har: "
                     "universelt utformet, enerom.")
    assert nb[7] == "Aldersgrense: dette stedet tar imot personer fra 18 til 23 år; personen er 46."
    assert en[7] == "Age limit: this site admits ages 18–23; the person is 46."
    assert nb[9] == "Utestengelse: personen er utestengt fra dette stedet i natt."


def test_allocation_stores_params_and_the_board_words_them_in_bokmal(nb_app, db, make_site,
                                                                    make_user) -> None:
    from tests.shelter.conftest import new_client

    night = tonight()
    make_site("strax", beds=1, name="Strax")
    low = ask(db.session, "Lars Low", need=10, night=night)
    ask(db.session, "Hanne High", need=90, gender=Gender.WOMAN, night=night)
    user = make_user(Role.INTAKE)
    run = alloc.run_allocation(db.session, night, city="Bergen", user=user)
    item = run.result_json["turned_away"][0]
    assert item["params"] == {"beds": 1, "takers": ["need"], "needs": [90]}
    client = new_client(nb_app)
    login(client, user)
    sentence = ("Den eneste sengen som passer for deg, er tatt av en med like høyt eller høyere "
                "behov (90).")
    board = client.get("/intake/").text
    assert '<html lang="nb"' in board
    assert sentence in board, "the proposal's turn-away, before confirming"
    assert "eligible for" not in board

    alloc.confirm_run(db.session, run, user)
    assert low.status == RequestStatus.TURNED_AWAY and low.turnaway_reason == "capacity"
    assert low.turnaway_params == {"beds": 1, "takers": ["need"], "needs": [90]}
    # The English sentence is kept as the record; readers get their own language.
    assert low.turnaway_explanation == \
        "The only bed you are eligible for is taken by someone with equal or higher need (90)."
    board = client.get("/intake/").text
    assert sentence in board and "eligible for" not in board
    with nb_app.test_request_context():
        assert reasons.turnaway_text(low) == sentence

    # Staff took the bed by hand: the code is stored and worded too.
    later = ask(db.session, "Ola Later", need=50, night=night)
    placement = db.session.scalar(select(Placement).where(Placement.night == night))
    alloc.release(db.session, placement, user)
    second = alloc.run_allocation(db.session, night, city="Bergen", user=user, kind=None)
    for p in db.session.scalars(select(Placement).where(Placement.run_id == second.id)):
        alloc.release(db.session, p, user)
    alloc.confirm_run(db.session, second, user)
    assert later.turnaway_reason == "staff"
    with nb_app.test_request_context():
        assert reasons.turnaway_text(later) == \
            "Ansatte endret forslaget manuelt og ga sengen til en annen."


def test_allocation_messages_and_check_in_refusal_in_bokmal(nb_app, db, make_site,
                                                           make_user) -> None:
    night = tonight()
    site = make_site("strax", beds=1, name="Strax")
    with nb_app.test_request_context():
        with pytest.raises(alloc.AllocationError, match="Ingen har bedt om seng"):
            alloc.run_allocation(db.session, night, city="Bergen", user=None,
                                 allow_empty=False)
        low = ask(db.session, "Lars Low", need=10, night=night)
        run = alloc.run_allocation(db.session, night, city="Bergen", user=None)
        alloc.confirm_run(db.session, run, None)
        with pytest.raises(alloc.AllocationError) as again:
            alloc.confirm_run(db.session, run, None)
        assert str(again.value) == "Dette forslaget er allerede bekreftet."
        db.session.add(Restriction(person_id=low.person_id, site_id=site.id, starts_on=night,
                                   ends_on=None, reason="fight"))
        db.session.flush()
        placement = db.session.scalar(select(Placement).where(Placement.night == night))
        with pytest.raises(alloc.CheckInBarred) as barred:
            alloc.check_in(db.session, placement, None)
        assert barred.value.problems == [
            "Utestengelse: personen er utestengt fra dette stedet i natt."]
        assert not re.search(r"\bbarred\b|\bBan\b", str(barred.value))


def test_demo_turn_aways_carry_params_worded_in_bokmal(nb_app, db, make_site) -> None:
    from shelter.demo.evening import _turned_away_why
    from shelter.models import GenderRule
    from shelter.services.inventory import beds_in_service

    night = tonight()
    make_site("strax", beds=2, name="Strax")
    make_site("kvinne", beds=1, name="Kvinnehuset", gender=GenderRule.WOMEN)
    man = ask(db.session, "Ola", need=10, night=night).person
    reason, params = _turned_away_why(man, night, beds_in_service(db.session, night, "Bergen"))
    assert (reason, params) == ("capacity", {"beds": 2, "takers": ["need"]})
    assert english(reason, params) == ("All 2 beds you are eligible for are taken by people with "
                                       "equal or higher need.")
    with nb_app.test_request_context():
        assert reasons.explain(reason, params) == ("Alle de 2 sengene som passer for deg, er "
                                                   "tatt av personer med like høyt eller "
                                                   "høyere behov.")
