"""Site-bound intake staff act only at their own sites (issue #14).

Walks every intake route that changes something (from `app.url_map`, so a new action route
must be classified here before the suite passes): a user assigned to site A gets 403 with
the sentence to read at site B and nothing changes; at site A the same action succeeds.
City-wide actions (run and confirm the allocation) need all sites: an intake user without
assigned sites (= all sites) succeeds where the site-bound one is refused."""
from __future__ import annotations

from datetime import time
from typing import Any

import pytest
from sqlalchemy import select

from shelter.models import (
    Bed, Placement, PlacementStatus, Request, RequestStatus, Role, Room,
)
from shelter.clock import tonight
from shelter.services import allocation as alloc
from shelter.services import site_access
from tests.shelter.conftest import login, new_client
from tests.shelter.intake_factories import ask

#: Every intake route that changes something, by what it touches:
#: "site" = a person's night at one site, "city" = every site, "none" = no site.
ACTIONS = {
    "intake.allocate": "city",
    "intake.confirm": "city",
    "intake.override": "site",
    "intake.placement_action": "site",
    "intake.change_placement": "site",
    "intake.undo_placement": "site",
    "intake.save_note": "none",
}


def test_every_intake_action_route_is_classified(app):
    changing = {rule.endpoint for rule in app.url_map.iter_rules()
                if rule.endpoint.startswith("intake.") and "POST" in (rule.methods or ())}
    assert changing == set(ACTIONS), (
        "a new intake route that changes something: decide which sites it touches, make it "
        "call _require_sites / _require_all_sites, and add it to ACTIONS and the walk below")


@pytest.fixture()
def two_sites(db, make_site, make_user, client):
    """Sites A and B (two beds each, check-in cut-off passed), one person placed at each
    (confirmed), a user bound to A and an intake user for all sites."""
    night = tonight()
    a = make_site("alfa", beds=2, name="Alfa", checkin_cutoff=time(12, 0))
    b = make_site("beta", beds=2, name="Beta", checkin_cutoff=time(12, 0))
    at_a = ask(db.session, "Anna Alfa", need=60, preferred=a, night=night)
    at_b = ask(db.session, "Bjorn Beta", need=50, preferred=b, night=night)
    bound = make_user(Role.INTAKE, sites=[a])
    everywhere = make_user(Role.INTAKE)
    return {"night": night, "a": a, "b": b, "people": {"a": at_a.person_id, "b": at_b.person_id},
            "bound": bound, "all": everywhere}


def _confirm(db, night):
    run = alloc.run_allocation(db.session, night, city="Bergen", user=None)
    alloc.confirm_run(db.session, run, None)
    return run


def _placement(db, person_id: int) -> Placement:
    return db.session.scalar(select(Placement).where(Placement.person_id == person_id,
                                                     Placement.is_active))


def _site_of(db, placement: Placement) -> int:
    return db.session.scalar(select(Room.site_id).join(Bed).where(Bed.id == placement.bed_id))


def _setup_and_post(client, db, ctx, endpoint: str, at: str) -> tuple[Any, Any]:
    """Build what the action needs for the person at site `at`, post it; return the response
    and a function that tells whether the change happened."""
    night, person = ctx["night"], ctx["people"][at]
    if endpoint == "intake.override":
        run = alloc.run_allocation(db.session, night, city="Bergen", user=None)
        placement = _placement(db, person)
        assert _site_of(db, placement) == ctx[at].id
        response = client.post(f"/intake/runs/{run.id}/people/{person}",
                               data={"bed": "none", "reason": "test"})
        return response, lambda: _placement(db, person) is None
    _confirm(db, night)
    placement = _placement(db, person)
    assert _site_of(db, placement) == ctx[at].id
    pid = placement.id
    if endpoint == "intake.undo_placement":
        alloc.check_in(db.session, placement, None)
        response = client.post(f"/intake/placements/{pid}/undo")
        return response, lambda: db.session.get(Placement, pid).status == PlacementStatus.CONFIRMED
    if endpoint == "intake.change_placement":
        for site in (ctx["a"], ctx["b"]):  # cancelling is for before the cut-off
            site.checkin_cutoff = time(5, 59)  # belongs to the morning after: not yet
        db.session.flush()
        response = client.post(f"/intake/placements/{pid}/change",
                               data={"action": "cancel", "reason": "phoned"})
        return response, lambda: db.session.get(Placement, pid).status == PlacementStatus.RELEASED
    raise AssertionError(endpoint)


PLACEMENT_ACTIONS = ("check-in", "no-show", "release")


@pytest.mark.parametrize("endpoint", ["intake.override", "intake.change_placement",
                                      "intake.undo_placement"])
@pytest.mark.parametrize("at, allowed", [("b", False), ("a", True)])
def test_site_bound_user_acts_only_at_own_site(client, db, two_sites, endpoint, at, allowed):
    login(client, two_sites["bound"])
    response, changed = _setup_and_post(client, db, two_sites, endpoint, at)
    db.session.expire_all()
    if allowed:
        assert response.status_code == 302, response.get_data(as_text=True)[:400]
        assert changed()
    else:
        assert response.status_code == 403
        assert "You work at Alfa, so you cannot change a booking at Beta." in \
            response.get_data(as_text=True)
        assert not changed()


@pytest.mark.parametrize("action", PLACEMENT_ACTIONS)
@pytest.mark.parametrize("at, allowed", [("b", False), ("a", True)])
def test_check_in_no_show_release_only_at_own_site(client, db, two_sites, action, at, allowed):
    login(client, two_sites["bound"])
    _confirm(db, two_sites["night"])
    placement = _placement(db, two_sites["people"][at])
    if action == "release":
        alloc.check_in(db.session, placement, None)
    before = placement.status
    response = client.post(f"/intake/placements/{placement.id}/{action}",
                           data={"reason": "left the shelter"} if action == "release" else {})
    db.session.expire_all()
    after = db.session.get(Placement, placement.id).status
    if allowed:
        assert response.status_code == 302
        assert after != before
    else:
        assert response.status_code == 403
        assert "cannot change a booking at Beta" in response.get_data(as_text=True)
        assert after == before


def test_city_wide_actions_need_all_sites(app, client, db, two_sites):
    login(client, two_sites["bound"])
    refused = client.post("/intake/allocate")
    assert refused.status_code == 403
    assert "The allocation places people at every site" in refused.get_data(as_text=True)
    assert alloc.latest_run(db.session, two_sites["night"], "Bergen") is None

    run = alloc.run_allocation(db.session, two_sites["night"], city="Bergen", user=None)
    assert client.post(f"/intake/runs/{run.id}/confirm").status_code == 403
    db.session.expire_all()
    assert db.session.get(type(run), run.id).confirmed_at is None

    everywhere = new_client(app)
    login(everywhere, two_sites["all"])
    assert everywhere.post("/intake/allocate").status_code == 302
    newest = alloc.latest_run(db.session, two_sites["night"], "Bergen")
    assert everywhere.post(f"/intake/runs/{newest.id}/confirm").status_code == 302
    db.session.expire_all()
    assert db.session.get(type(newest), newest.id).confirmed_at is not None


def test_note_touches_no_site(client, db, two_sites, make_site):
    login(client, two_sites["bound"])
    away = ask(db.session, "Tor Turned", need=1, night=two_sites["night"])
    db.session.get(Request, away.id).status = RequestStatus.TURNED_AWAY
    db.session.flush()
    response = client.post(f"/intake/requests/{away.id}/note",
                           data={f"r{away.id}-note": "sent to the day centre",
                                 f"r{away.id}-referred_to": "Day centre"})
    assert response.status_code == 302
    db.session.expire_all()
    assert db.session.get(Request, away.id).note == "sent to the day centre"


def test_who_may_act_where(db, two_sites, make_user):
    a, b = two_sites["a"].id, two_sites["b"].id
    assert site_access.acting_sites(two_sites["bound"]) == {a}
    assert site_access.acting_sites(two_sites["all"]) is None  # no sites: every site
    for role in (Role.MANAGER, Role.ADMIN):  # never bound, whatever their site list says
        assert site_access.acting_sites(make_user(role, sites=[two_sites["a"]])) is None
    allowed = site_access.acting_sites(two_sites["bound"])
    assert site_access.may_act_at(allowed, a) and not site_access.may_act_at(allowed, b)
    assert site_access.may_act_at(allowed, None)
    with pytest.raises(site_access.SiteRefused):
        site_access.check_sites(db.session, two_sites["bound"], [a, b])
    site_access.check_sites(db.session, two_sites["all"], [a, b])


def test_board_hides_buttons_at_other_sites(client, db, two_sites):
    _confirm(db, two_sites["night"])
    login(client, two_sites["bound"])
    html = client.get("/intake/?site=all").get_data(as_text=True)
    mine, theirs = (_placement(db, two_sites["people"][k]).id for k in ("a", "b"))
    assert f"/intake/placements/{mine}/check-in" in html
    assert f"/intake/placements/{theirs}/check-in" not in html
    assert "another site" in html


@pytest.mark.parametrize("at, allowed", [("b", False), ("a", True)])
def test_withdrawing_a_placed_request_only_at_own_site(client, db, two_sites, at, allowed):
    """Withdrawing a request on the person page frees the bed: the same rule."""
    login(client, two_sites["bound"])
    _confirm(db, two_sites["night"])
    person = two_sites["people"][at]
    response = client.post(f"/people/{person}/withdraw", data={"reason": "other",
                                                               "note": "phoned", "confirm": "yes"})
    db.session.expire_all()
    withdrawn = db.session.scalar(select(Request.status).where(
        Request.person_id == person)) == RequestStatus.WITHDRAWN
    assert response.status_code == (302 if allowed else 403)
    assert withdrawn is allowed


def test_staff_assigned_to_every_site_of_the_city_act_everywhere(app, db, make_user, two_sites):
    """The demo's intake user is assigned to all five sites: that is all sites, so they
    may run and confirm the city's allocation (and see its button)."""
    both = make_user(Role.INTAKE, sites=[two_sites["a"], two_sites["b"]])
    assert site_access.acting_sites(both) is None
    assert site_access.acting_sites(two_sites["bound"]) == {two_sites["a"].id}
    client = new_client(app)
    login(client, both)
    assert 'action="/intake/allocate"' in client.get("/intake/").get_data(as_text=True)
    assert client.post("/intake/allocate").status_code == 302
