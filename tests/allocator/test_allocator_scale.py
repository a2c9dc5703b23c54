"""Large nights that once broke the solver (not timed: speed is `make bench`)."""
from __future__ import annotations

from allocator import Night, solve
from allocator.generate import random_night


def test_night_where_everyone_slept_here_last_night_solves():
    """A real Toronto night had a last bed for nearly every request; the stage-2 cost bound
    counted too few graph nodes and OR-Tools refused with BAD_COST_RANGE. It takes last
    beds and wishes for (nearly) everyone at this size for the cost bound to bind."""
    night = random_night(sites=150, beds=7500, requests=7800, seed=7)
    data = night.to_json()
    beds = [b["id"] for b in data["beds"]]
    sites = sorted({b["site"] for b in data["beds"]})
    for i, request in enumerate(data["requests"]):
        request["last_bed"] = beds[i % len(beds)]
        request["preferred_sites"] = [sites[i % len(sites)]]
    result = solve(Night.from_json(data), rule="need", time_limit=60)
    assert result.status.value == "optimal"
    placed = {a.person for a in result.assignments}
    assert len(placed) == len(result.assignments) == len({a.bed for a in result.assignments})
    # Continuity: with room for everyone's last bed among those placed, most keep theirs.
    last = {r["person"]: r["last_bed"] for r in data["requests"]}
    kept = sum(1 for a in result.assignments if last[a.person] == a.bed)
    assert kept > len(result.assignments) // 2
