"""A real browser on the six report pages over the hand-counted fixture: each page has a
chart with marks and the table with the expected rows, on a laptop and a 390px phone."""
from __future__ import annotations

from datetime import date

import pytest

from shelter.auth import hash_password
from shelter.models import Bed, GenderRule, Role, Room, Site, User
from tests.shelter import reports_fixture as fx
from tests.shelter.conftest import ARTIFACTS, LiveServer, build_app, screenshot

pytestmark = pytest.mark.browser

LONG_NAME = "Kirkens Bymisjon akuttovernatting for unge voksne, Nygårdsgaten"
LAPTOP, PHONE = {"width": 1280, "height": 800}, {"width": 390, "height": 844}
RANGE = "city=Bergen&start=2026-03-01&end=2026-03-03"
# slug -> (first table on the page, its expected row headers) from reports_fixture's counts.
# Nights are shown as dates in the reader's language (English here; ISO only in the CSV).
NIGHTS = ["Sun, Mar 1, 2026", "Mon, Mar 2, 2026", "Tue, Mar 3, 2026"]
EXPECTED = {
    "occupancy": ("nights", NIGHTS),
    "turnaways": ("nights", NIGHTS),
    "prebookings": ("organisations", ["Bymisjon test", "NAV test"]),
    "women": ("nights", NIGHTS),
    "whatif": ("bands", ["80–100", "40–59", "20–39", "0–19"]),
    "fairness": ("gender", ["woman", "man", "nonbinary", "unknown"]),
}


@pytest.fixture()
def live(tmp_path):
    app = build_app(f"sqlite:///{tmp_path / 'reports.db'}")
    from shelter.extensions import db

    with app.app_context():
        def make_site(code, beds=2, gender=GenderRule.MIXED, **fields):
            site = Site(code=code, name=fields.pop("name", code.title()), city="Bergen", **fields)
            room = Room(site=site, name="Room 1", gender=gender, valid_from=date(2020, 1, 1))
            room.beds = [Bed(label=f"{code}-{i + 1}", valid_from=date(2020, 1, 1))
                         for i in range(beds)]
            db.session.add(site)
            db.session.flush()
            return site

        fx.build(db, make_site)
        make_site("long", beds=1, name=LONG_NAME)
        # Free women-only beds for ages 18–23 on the night dina (41) is turned away.
        make_site("young", beds=2, gender=GenderRule.WOMEN, name="Young women",
                  min_age=18, max_age=23)
        db.session.add(User(username="boss", display_name="Mona Manager", role=Role.MANAGER,
                            password_hash=hash_password("manager-password")))
        db.session.commit()
    with LiveServer(app) as server:
        yield server
    with app.app_context():
        db.engine.dispose()


def _login(page, base: str) -> None:
    page.goto(f"{base}/login")
    page.fill("#username", "boss")
    page.fill("#password", "manager-password")
    # Enter submits the log-in form (the header's language switch is a submit button too).
    page.press("#password", "Enter")
    page.wait_for_load_state("networkidle")


def test_each_report_page_draws_its_chart_and_table(browser, live):
    context = browser.new_context(viewport=LAPTOP)
    page = context.new_page()
    _login(page, live.url)
    for slug, (key, heads) in EXPECTED.items():
        extra = "&night=2026-03-01" if slug == "whatif" else ""
        page.goto(f"{live.url}/reports/{slug}?{RANGE}{extra}")
        marks = page.locator("figure.report-chart svg .mark")
        assert marks.count() > 0, slug
        assert page.locator("figure.report-chart svg title").count() > 0, slug
        rows = page.locator(f"table[data-table={key}] tbody th[scope=row]").all_inner_texts()
        assert rows == heads, (slug, rows)
        screenshot(page, f"reports-{slug}")
    context.close()


def test_report_pages_fit_a_phone(browser, live):
    context = browser.new_context(viewport=PHONE)
    page = context.new_page()
    _login(page, live.url)
    for slug in ("turnaways", "whatif"):
        page.goto(f"{live.url}/reports/{slug}?{RANGE}")
        assert page.locator("table[data-table]").count() > 0
        # Nothing but the tables' own scrollers may be wider than the phone.
        width = page.evaluate("document.documentElement.scrollWidth")
        assert width <= 390, (slug, width)
        screenshot(page, f"reports-{slug}-phone")
    context.close()


BOXES = """els => els.map(e => { const r = e.getBoundingClientRect();
  return {text: e.textContent, left: r.left, right: r.right, top: r.top, bottom: r.bottom}; })"""


def _boxes(page, selector: str) -> list[dict]:
    return page.eval_on_selector_all(selector, BOXES)


@pytest.mark.parametrize("viewport", [LAPTOP, PHONE], ids=["laptop", "phone"])
def test_heat_map_shows_whole_site_names_and_legible_night_labels(browser, live, viewport):
    context = browser.new_context(viewport=viewport)
    page = context.new_page()
    _login(page, live.url)
    page.goto(f"{live.url}/reports/occupancy?city=Bergen&start=2026-02-01&end=2026-03-31")
    svg = "figure.report-chart svg"
    names = page.eval_on_selector_all(f"{svg} text[text-anchor=end]:has(tspan)", "els => els.map("
                                      "e => [...e.querySelectorAll('tspan')].map(t => "
                                      "t.textContent).join(' '))")
    assert LONG_NAME in names and "Site A" in names, names
    labels = _boxes(page, f"{svg} text.night")
    assert len(labels) >= 5
    for a, b in zip(labels, labels[1:]):
        assert a["right"] < b["left"], (a, b)  # no night label touches the next
    height = labels[0]["bottom"] - labels[0]["top"]
    assert height >= 11, height  # rendered text stays readable on the phone too
    chart = page.locator(svg).bounding_box()
    assert labels[-1]["right"] <= chart["x"] + chart["width"] + 1  # the last one is not cut
    tag = "laptop" if viewport is LAPTOP else "phone"
    screenshot(page, f"reports-occupancy-month-{tag}")
    page.locator("figure.report-chart").screenshot(
        path=str(ARTIFACTS / f"reports-occupancy-month-chart-{tag}.png"))
    page.goto(f"{live.url}/reports/fairness?{RANGE}")
    assert page.locator(f"{svg} .mark.none").count() >= 10
    screenshot(page, f"reports-fairness-{tag}")
    page.locator("figure.report-chart").screenshot(
        path=str(ARTIFACTS / f"reports-fairness-chart-{tag}.png"))
    page.goto(f"{live.url}/reports/women?{RANGE}")
    why = page.locator("table[data-table=free] tbody tr").all_inner_texts()
    assert len(why) == 1 and "Young women" in why[0] and "age limit (18–23)" in why[0], why
    screenshot(page, f"reports-women-{tag}")
    context.close()
