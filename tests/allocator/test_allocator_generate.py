"""Generators: deterministic, valid nights of the promised shape; the Toronto night is real."""

from __future__ import annotations

import json
from collections import Counter

from allocator import Night, solve
from allocator.generate import random_night
from allocator.rules import check_hard
from allocator.toronto import toronto_night


def test_random_night_is_deterministic_and_valid():
    a = random_night(sites=8, beds=400, requests=600, seed=7)
    b = random_night(sites=8, beds=400, requests=600, seed=7)
    assert a == b
    assert Night.from_json(json.dumps(a.to_json())) == a  # passes the schema and every check
    assert len(a.beds) == 400 and len(a.requests) == 600 and len(a.sites) == 8


def test_random_night_shape():
    night = random_night(sites=60, beds=3000, requests=3500, seed=1)
    genders = Counter(b.gender for b in night.beds)
    assert 0.15 <= genders["women"] / 3000 <= 0.25
    assert 0.02 <= sum("accessible" in b.features for b in night.beds) / 3000 <= 0.08
    youth = [s for s in night.sites if s.max_age is not None]
    assert len(youth) == 1 and (youth[0].min_age, youth[0].max_age) in {(18, 23), (16, 24)}
    assert night.barred and night.keep_apart and night.holds
    assert all(0 <= r.need <= 100 for r in night.requests)
    assert any(r.last_bed for r in night.requests) and any(r.preferred_sites for r in night.requests)
    result = solve(night)
    check_hard(night, result.bed_of)
    assert result.status.value == "optimal"


def test_toronto_night_matches_the_data():
    night = toronto_night("2024-01-15")  # the gzipped copy shipped in allocator/data
    assert len(night.sites) == 135
    assert len(night.requests) == 9869  # that night's SERVICE_USER_COUNT
    assert len(night.beds) == 4900 + 2631  # beds in service + rooms in service
    sectors = Counter(b.gender for b in night.beds)
    assert sectors["women"] and sectors["men"] and sectors["mixed"]
    assert all((s.min_age, s.max_age) in {(None, None), (16, 24)} for s in night.sites)
