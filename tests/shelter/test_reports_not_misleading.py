"""Reports that do not mislead: every gender in the fairness chart, "no requests" instead of
a 0% bar, the reason women-only beds stood free while women were turned away, and a heat
map with whole site names and night labels that do not overlap. Figures are hand-counted
from reports_fixture plus the small additions written out in each test."""
from __future__ import annotations

import re
from datetime import date

import pytest

from shelter.models import (
    Assessment, Gender, GenderRule, NeedScheme, Person, Request, Restriction,
)
from shelter.services import reports as svc
from shelter.services.charts import bar_chart, heat_map
from tests.shelter import reports_fixture as fx

TODAY = date(2026, 6, 1)


@pytest.fixture()
def nights(app, db, make_site):
    with app.test_request_context():
        fx.build(db, make_site)
        yield db.session


def _request(session, name, gender, born, night, status, reason=None, need=None):
    person = Person(name=name, gender=Gender(gender), birth_year=born)
    session.add(person)
    session.flush()
    assessment_id = None
    if need is not None:
        scheme = NeedScheme(version=901 + person.id, factors=[])
        session.add(scheme)
        session.flush()
        assessment = Assessment(person_id=person.id, scheme=scheme, answers={}, need=need,
                                parts=[])
        session.add(assessment)
        session.flush()
        assessment_id = assessment.id
    session.add(Request(person_id=person.id, night=night, city="Bergen", source="walk_in",
                        arrival=100 + person.id, status=status, turnaway_reason=reason,
                        assessment_id=assessment_id))
    session.flush()
    return person


# --- fairness ---------------------------------------------------------------------------

def test_fairness_lists_all_four_genders_even_without_requests(nights):
    r = svc.build(nights, "fairness", "Bergen", fx.N1, fx.N3, TODAY)
    table = r.table("gender").rows
    assert [row[0] for row in table] == ["woman", "man", "nonbinary", "unknown"]
    assert table[2] == ["nonbinary", 0, 0, None, None, None, None, None, None]
    assert table[3] == ["unknown", 0, 0, None, None, None, None, None, None]
    svg = str(r.chart)
    for gender in ("woman", "man", "nonbinary", "unknown"):
        assert f"{gender}</text>" in svg  # in the legend


def test_fairness_draws_a_group_without_requests_as_no_requests(nights):
    svg = str(svc.build(nights, "fairness", "Bergen", fx.N1, fx.N3, TODAY).chart)
    # Women had no request in need band 0–19 (only carl, a man): no bar, the words.
    assert "0–19 · woman: no requests" in svg
    assert "0–19 · woman: 0%" not in svg
    # dina (woman, need 50) was turned away: a real 0% in band 40–59.
    assert "40–59 · woman: 0%" in svg
    # Nonbinary and unknown: no requests in any band, five times each.
    assert svg.count("· nonbinary: no requests") == 5
    assert svg.count("· unknown: no requests") == 5


def test_fairness_counts_a_nonbinary_person(nights):
    _request(nights, "Nor", "nonbinary", 1995, fx.N2, "turned_away", "capacity", need=85)
    r = svc.build(nights, "fairness", "Bergen", fx.N1, fx.N3, TODAY)
    nonbinary = r.table("gender").rows[2]
    assert nonbinary[:4] == ["nonbinary", 1, 0, 0.0]
    assert nonbinary[4:] == [None, None, None, None, 0.0]
    svg = str(r.chart)
    assert "80–100 · nonbinary: 0%" in svg and "0–19 · nonbinary: no requests" in svg


def test_no_requests_is_not_a_bar():
    svg = str(bar_chart(["a", "b"], [("x", [None, 40.0])], title="t", desc="d",
                        stacked=False, percent=True))
    assert svg.count('class="mark none"') == 1 and ">no requests</text>" in svg
    assert 'class="mark zero"' not in svg and svg.count('<rect class="mark"') == 1


# --- women's beds -----------------------------------------------------------------------

def test_women_report_says_why_women_only_beds_stood_free(nights, make_site):
    # A women-only site for ages 18–23 with two beds, all free on N2, while two women
    # were turned away: Gro (born 1980, 46 that year) and Hege (no birth year).
    make_site("y", beds=2, gender=GenderRule.WOMEN, name="Young women", city="Bergen",
              min_age=18, max_age=23)
    _request(nights, "Gro", "woman", 1980, fx.N2, "turned_away", "no_eligible_bed")
    _request(nights, "Hege", "woman", None, fx.N2, "turned_away", "no_eligible_bed")
    r = svc.build(nights, "women", "Bergen", fx.N1, fx.N3, TODAY)
    rows = r.table("free").rows
    # N1: dina (41) was turned away; the 18–23 beds stood free. N2: Site W's bed (no age
    # limit) stood free too, and both women fitted it.
    assert rows == [
        ["2026-03-01", "Young women", 2, 1,
         "Outside the site's age limit (18–23): 1 of the women turned away."],
        ["2026-03-02", "Site W", 1, 2,
         "Fitting every rule here: 2 of the women turned away (the bed was free after the "
         "allocation, or staff left it free by hand)."],
        ["2026-03-02", "Young women", 2, 2,
         "Outside the site's age limit (18–23): 1 of the women turned away. Age not "
         "recorded, while the site has an age limit (18–23): 1 of the women turned away."],
    ]
    assert any("women-only beds stood free" in line for line in r.summary)


def test_women_report_names_a_ban_and_a_needed_feature(nights, make_site):
    young = make_site("y", beds=1, gender=GenderRule.WOMEN, name="Young women", city="Bergen",
                      min_age=18, max_age=23)
    ida = _request(nights, "Ida", "woman", 2005, fx.N3, "turned_away", "no_eligible_bed")
    jo = _request(nights, "Jo", "woman", 2004, fx.N3, "turned_away", "no_eligible_bed")
    jo.needs = ["accessible"]
    nights.add(Restriction(person_id=ida.id, site_id=young.id, starts_on=fx.N3,
                           ends_on=fx.N3, reason="violence"))
    nights.flush()
    rows = svc.build(nights, "women", "Bergen", fx.N3, fx.N3, TODAY).table("free").rows
    young_row = next(r for r in rows if r[1] == "Young women")
    assert young_row == ["2026-03-03", "Young women", 1, 2,
                         "Banned from this site that night: 1 of the women turned away. "
                         "Needing a bed feature these beds lack: 1 of the women turned away."]


def test_women_report_has_no_free_bed_rows_when_none_stood_free(nights):
    r = svc.build(nights, "women", "Bergen", fx.N1, fx.N3, TODAY)
    # N1: dina turned away, but W-1 was occupied by alice.
    assert r.table("free").rows == []
    assert not any("stood free" in line for line in r.summary)


# --- occupancy heat map -----------------------------------------------------------------

def test_heat_map_writes_whole_site_names_and_spaced_night_labels():
    long = "Kirkens Bymisjon akuttovernatting for unge kvinner, Nygårdsgaten"
    nights = [date(2026, 1, 1).replace(day=d).strftime("%d %b") for d in range(1, 32)]
    svg = str(heat_map(["Site A", long], nights, [[50.0] * 31, [None] * 31],
                       title="t", desc="d"))
    tspans = re.findall(r"<tspan[^>]*>([^<]*)</tspan>", svg)
    assert " ".join(tspans[1:]) == long and "…" not in svg  # whole, over several lines
    xs = [float(x) for x in re.findall(r'<text class="night" x="([\d.]+)"', svg)]
    assert len(xs) >= 5
    # 13 px text of "01 Jan" is under 6 × 7.2 px wide: neighbours never touch.
    assert all(b - a >= 6 * 7.2 for a, b in zip(xs, xs[1:]))
    assert all(x <= 760 for x in xs)
