"""A real browser (Debian's chromium) on a partner's past outcomes and on the manager's
"Who needs a home" report, where a manager marks someone referred for housing follow-up."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from babel.dates import format_skeleton

from shelter.auth import hash_password
from shelter.clock import tonight
from shelter.models import (
    Gender, HoldStatus, Organisation, OrgKind, Person, Request, RequestSource, RequestStatus,
    Role, User,
)
from tests.shelter.conftest import LiveServer, add_site, build_app, screenshot
from tests.shelter.test_partners_history import past_hold

pytestmark = pytest.mark.browser

LAPTOP, PHONE = {"width": 1280, "height": 800}, {"width": 390, "height": 844}
START = date(2026, 10, 1)
RANGE = f"city=Bergen&start={START}&end={START + timedelta(days=6)}"


@pytest.fixture()
def live(tmp_path):
    app = build_app(f"sqlite:///{tmp_path / 'housing.db'}")
    from shelter.extensions import db

    with app.app_context():
        s = db.session
        site = add_site(s, "strax", beds=2, name="Strax natthjem", city="Bergen")
        org = Organisation(name="Kirkens Bymisjon", kind=OrgKind.NGO)
        s.add(org)
        s.flush()
        past_hold(s, org, site, "Anna Andersen", 1, HoldStatus.CLAIMED, ref="KB-101")
        past_hold(s, org, site, "Berit Berg", 2, HoldStatus.EXPIRED, ref="KB-102")
        past_hold(s, org, site, "Cecilie Carlsen", 5, HoldStatus.RELEASED, turned_away=True,
                  ref="KB-103")
        for name, gender, born, nights in (
                ("Per Pedersen", Gender.MAN, 1971, {0: "p", 1: "p", 2: "t", 3: "t", 4: "p"}),
                ("Siri Solberg", Gender.WOMAN, 2003, {1: "t", 2: "t", 3: "t"}),
                ("Ola Olsen", Gender.MAN, 1988, {5: "p"})):
            person = Person(name=name, gender=gender, birth_year=born)
            s.add(person)
            s.flush()
            for k, o in nights.items():
                s.add(Request(person_id=person.id, night=START + timedelta(days=k), city="Bergen",
                              source=RequestSource.WALK_IN, arrival=k + 1,
                              status=RequestStatus.PLACED if o == "p" else RequestStatus.TURNED_AWAY))
        s.add_all([
            User(username="boss", display_name="Mona Manager", role=Role.MANAGER,
                 password_hash=hash_password("manager-password")),
            User(username="bymisjon", display_name="Kari Partner", role=Role.PARTNER,
                 organisation=org, password_hash=hash_password("partner-password"))])
        s.commit()
    with LiveServer(app) as server:
        yield server
    with app.app_context():
        db.engine.dispose()


def _login(page, base: str, username: str, password: str) -> None:
    page.goto(f"{base}/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("main button[type=submit]")
    page.wait_for_load_state("networkidle")


@pytest.mark.parametrize("viewport", [LAPTOP, PHONE], ids=["laptop", "phone"])
def test_partner_sees_past_outcomes(browser, live, viewport):
    context = browser.new_context(viewport=viewport)
    page = context.new_page()
    _login(page, live.url, "bymisjon", "partner-password")
    page.goto(f"{live.url}/partner/")
    page.get_by_role("link", name="See what became of your bookings over the last 30 nights.").click()
    page.wait_for_load_state("networkidle")
    assert page.get_by_role("heading", name="Past outcomes").is_visible()
    rows = page.locator("table.outcomes tbody tr")
    assert rows.count() == 3
    texts = rows.all_inner_texts()
    assert "Anna Andersen" in texts[0] and "Checked in" in texts[0]
    assert "Berit Berg" in texts[1] and "Expired" in texts[1]
    assert "Cecilie Carlsen" in texts[2] and "Turned away" in texts[2]
    # the night as the reader's language writes it ("Tue, Dec 1, 2026")
    assert format_skeleton("yMMMEd", tonight() - timedelta(days=1), locale="en") in texts[0]
    screenshot(page, f"partners-history-{'phone' if viewport is PHONE else 'laptop'}")
    context.close()


def test_manager_reads_the_report_and_refers_someone(browser, live):
    context = browser.new_context(viewport=LAPTOP)
    page = context.new_page()
    _login(page, live.url, "boss", "manager-password")
    page.goto(f"{live.url}/reports/housing?{RANGE}")
    assert page.locator("figure.report-chart svg .mark").count() > 0
    heads = page.locator("table[data-table=people] tbody th[scope=row]").all_inner_texts()
    assert heads == ["Per Pedersen", "Siri Solberg", "Ola Olsen"]
    bands = page.locator("table[data-table=bands] tbody th[scope=row]").all_inner_texts()
    assert bands == ["18–23", "24–39", "40–59"]
    page.select_option("#refer-person", label="Siri Solberg (3 nights)")
    page.fill("#refer-note", "NAV housing team follows up.")
    page.get_by_role("button", name="Mark as referred for housing follow-up").click()
    page.wait_for_load_state("networkidle")
    assert page.get_by_text("Siri Solberg is marked as referred for housing follow-up.").is_visible()
    siri = page.locator("table[data-table=people] tbody tr", has_text="Siri Solberg")
    assert "no" != siri.locator("td").last.inner_text()
    assert page.locator("#refer-person option", has_text="Siri Solberg").count() == 0
    screenshot(page, "reports-housing")
    context.close()
