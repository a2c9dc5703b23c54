"""Report figures against the hand-counted nights of reports_fixture (counts written out)."""
from __future__ import annotations

from datetime import date

import pytest

from shelter.services import reports as svc
from tests.shelter import reports_fixture as fx

TODAY = date(2026, 6, 1)


@pytest.fixture()
def nights(app, db, make_site):
    with app.test_request_context():
        fx.build(db, make_site)
        yield db.session


def rows(report, key):
    return report.table(key).rows


def test_occupancy_counts_beds_occupied_held_and_free(nights):
    r = svc.build(nights, "occupancy", "Bergen", fx.N1, fx.N3, TODAY)
    # night, in service, occupied, held, free, rate
    assert rows(r, "nights") == [["2026-03-01", 3, 2, 1, 0, 66.7],
                                 ["2026-03-02", 3, 0, 0, 3, 0.0],
                                 ["2026-03-03", 2, 1, 0, 1, 50.0]]
    detail = {(n, s): rest for n, s, *rest in rows(r, "site_nights")}
    assert detail[("2026-03-01", "Site A")] == [2, 1, 1, 0, 50.0]
    assert detail[("2026-03-03", "Site A")] == [1, 1, 0, 0, 100.0]
    assert "<svg" in r.chart and 'class="mark"' in r.chart


def test_turnaways_by_reason_group_and_repeats(nights):
    r = svc.build(nights, "turnaways", "Bergen", fx.N1, fx.N3, TODAY)
    # night, requests (waiting left out), turned away, capacity, no eligible, keep apart, %
    assert rows(r, "nights") == [["2026-03-01", 4, 2, 1, 0, 1, 50.0],
                                 ["2026-03-02", 1, 1, 0, 1, 0, 100.0],
                                 ["2026-03-03", 2, 1, 1, 0, 0, 50.0]]
    assert rows(r, "gender") == [["woman", 1, 2, 50.0], ["man", 3, 5, 60.0]]
    # alice (36) placed; dina (41) turned away; bob (22) placed twice; carl (66) three times away
    assert rows(r, "age") == [["18–23", 0, 2, 0.0], ["24–39", 0, 1, 0.0],
                              ["40–59", 1, 1, 100.0], ["60+", 3, 3, 100.0]]
    assert rows(r, "need") == [["0–19", 3, 3, 100.0], ["20–39", 0, 2, 0.0],
                               ["40–59", 1, 1, 100.0], ["80–100", 0, 1, 0.0]]
    assert rows(r, "repeat") == [["Carl", "2026-03-01", "2026-03-03", 3]]


def test_repeat_needs_three_nights_in_a_row(nights):
    r = svc.build(nights, "turnaways", "Bergen", fx.N2, fx.N3, TODAY)
    assert rows(r, "repeat") == []


def test_prebookings_per_organisation(nights):
    r = svc.build(nights, "prebookings", "Bergen", fx.N1, fx.N3, TODAY)
    # org, made, claimed, expired, cancelled, released, held, pending, refused, quota,
    # quota use %
    assert rows(r, "organisations") == [["Bymisjon test", 1, 0, 0, 1, 0, 0, 0, 0, 0, None],
                                        ["NAV test", 3, 1, 1, 0, 0, 1, 0, 1, 1, 100.0]]
    assert rows(r, "refusals") == [["NAV test", "quota", 1]]


def test_women_and_safety_per_night(nights):
    r = svc.build(nights, "women", "Bergen", fx.N1, fx.N3, TODAY)
    # night, women beds, occupied, %, requests from women, women turned away, bans, pairs
    assert rows(r, "nights") == [["2026-03-01", 1, 1, 100.0, 2, 1, 0, 1],
                                 ["2026-03-02", 1, 0, 0.0, 0, 0, 1, 1],
                                 ["2026-03-03", 1, 0, 0.0, 0, 0, 0, 1]]


def test_whatif_totals_and_one_night(nights):
    r = svc.build(nights, "whatif", "Bergen", fx.N1, fx.N3, TODAY, night=fx.N1)
    # band, requests, placed by need, %, placed by queue, %
    assert rows(r, "bands") == [["80–100", 1, 1, 100.0, 0, 0.0], ["40–59", 1, 0, 0.0, 0, 0.0],
                                ["20–39", 1, 1, 100.0, 1, 100.0], ["0–19", 1, 0, 0.0, 1, 100.0]]
    people = rows(r, "night_people")
    assert people == [["Alice", 85, "woman", "placed", "capacity"],
                      ["Dina", 50, "woman", "keep apart", "capacity"],
                      ["Carl", 10, "man", "capacity", "placed"]]


def test_whatif_night_without_run_is_a_field_error(nights):
    with pytest.raises(svc.ReportError) as err:
        svc.build(nights, "whatif", "Bergen", fx.N1, fx.N3, TODAY, night=fx.N2)
    assert err.value.field == "night"


def test_fairness_rates_by_group_and_need_band(nights):
    r = svc.build(nights, "fairness", "Bergen", fx.N1, fx.N3, TODAY)
    gender = {row[0]: row for row in rows(r, "gender")}
    assert gender["woman"][:4] == ["woman", 2, 1, 50.0]
    assert gender["man"][:4] == ["man", 5, 2, 40.0]
    # within need band 20–39 (bob twice) men were placed 100%
    assert gender["man"][4 + 1] == 100.0
    assert rows(r, "need") == [["0–19", 3, 0, 0.0], ["20–39", 2, 2, 100.0],
                               ["40–59", 1, 0, 0.0], ["80–100", 1, 1, 100.0]]


def test_reversed_range_is_refused(nights):
    with pytest.raises(svc.ReportError):
        svc.build(nights, "occupancy", "Bergen", fx.N3, fx.N1, TODAY)


def test_a_zero_bar_is_drawn_and_labelled():
    from shelter.services.charts import bar_chart

    svg = str(bar_chart(["women", "men"], [("placed", [0.0, 50.0])], title="t", desc="d",
                        stacked=False, percent=True))
    assert 'class="mark zero"' in svg and "women · placed: 0%" in svg
    assert svg.count('class="mark"') == 1  # the 50% bar


def test_equal_lines_stay_distinguishable():
    from shelter.services.charts import line_chart

    svg = str(line_chart(["1", "2", "3"], [("in service", [4, 4, 4]), ("occupied", [4, 4, 4])],
                         title="t", desc="d"))
    widths = [part.split('"')[0] for part in svg.split('stroke-width="')[1:]]
    assert len(widths) == 2 and widths[0] != widths[1]
    assert svg.count("stroke-dasharray") == 1  # the second line is dashed over the first
