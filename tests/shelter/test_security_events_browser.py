"""The security events page, a person's audit trail and an organisation's API tokens in a
real browser (Debian's chromium) on a live server, at 1366 and 390 px: an admin makes a
token and changes a user, finds those events, filters, sees a bad date refused beside its field, and reads a person's trail. axe-core
checks every page visited (WCAG 2.1 A/AA)."""
from __future__ import annotations

import re
from datetime import datetime

import pytest

from shelter.extensions import db
from shelter.models import AuditEvent, Organisation, OrgKind, Person, Role, User
from shelter.services import audit
from tests.shelter.conftest import _HASH, PASSWORD, LiveServer, build_app, screenshot

pytestmark = pytest.mark.browser

WIDE, PHONE = {"width": 1366, "height": 900}, {"width": 390, "height": 844}


def _seed(app) -> int:
    with app.app_context():
        s = db.session
        boss = User(username="boss", display_name="Boss", password_hash=_HASH, role=Role.ADMIN)
        kari = User(username="kari", display_name="Kari Intake", password_hash=_HASH,
                    role=Role.INTAKE)
        person = Person(name="Anna Berg")
        s.add_all([boss, kari, person, Organisation(name="NAV", kind=OrgKind.MUNICIPAL)])
        s.flush()
        july = datetime(2026, 7, 2, 20, 30)
        for action, detail in (("security.login", "from 10.0.0.7"),
                               ("security.login_failed", "wrong password")):
            s.execute(AuditEvent.__table__.insert(), {
                "at": july, "user_id": kari.id, "username": "kari", "role": "intake",
                "organisation_id": None, "person_id": None, "action": action,
                "detail": detail})
        audit.record(s, kari, "view_board", [person.id], "board")
        s.commit()
        return person.id


def test_security_and_audit_pages(browser, tmp_path):
    app = build_app(f"sqlite:///{tmp_path / 'events.db'}")
    person_id = _seed(app)
    with LiveServer(app) as server:
        base = server.url
        for size, viewport in (("1366", WIDE), ("390", PHONE)):
            context = browser.new_context(viewport=viewport, locale="en-GB")
            page = context.new_page()
            page.goto(f"{base}/login")
            page.get_by_label("Username").fill("boss")
            page.get_by_label("Password").fill(PASSWORD)
            page.locator("main button[type=submit]").click()
            page.wait_for_url(re.compile(r"/admin/"))

            page.goto(f"{base}/admin/organisations")
            page.get_by_role("link", name="API tokens for NAV").click()
            page.wait_for_url(re.compile(r"/tokens$"))
            if size == "1366":  # a token made on the web, shown once
                page.get_by_label("What the token is for").fill("case system")
                page.get_by_role("button", name="Make a token").click()
                page.wait_for_load_state()
                assert page.locator("#api-token").inner_text().startswith("shb_")
            assert "case system" in page.locator("main table").inner_text()
            screenshot(page, f"events-tokens-{size}")

            if size == "1366":  # an admin change, to find on the page
                page.goto(f"{base}/admin/users")
                page.get_by_role("row", name=re.compile("Kari Intake")).get_by_role(
                    "link", name="Edit").click()
                page.get_by_label("Role").select_option("manager")
                page.get_by_role("button", name="Save").click()
                page.wait_for_url(re.compile(r"/admin/users$"))

            page.goto(f"{base}/admin/")
            page.get_by_role("link", name="Security events").click()
            page.wait_for_url(re.compile(r"/admin/security$"))
            table = page.locator("main table")
            assert "Jul 2, 2026 22:30 CEST" in table.inner_text()
            assert "User changed" in table.inner_text()
            assert "role: intake -> manager" in table.inner_text()
            assert "API token created" in table.inner_text()
            screenshot(page, f"events-security-{size}")

            page.get_by_label("Action").select_option(label="Failed log-in")
            page.get_by_label("User (username)").fill("kari")
            page.get_by_role("button", name="Filter").click()
            page.wait_for_url(re.compile(r"action=security.login_failed"))
            rows = page.locator("main table tbody tr")
            assert rows.count() == 1 and "wrong password" in rows.inner_text()
            screenshot(page, f"events-security-filtered-{size}")

            page.get_by_label("From date").fill("2026-07-03")
            page.get_by_label("To date").fill("2026-07-01")
            page.get_by_role("button", name="Filter").click()
            page.wait_for_load_state()
            error = page.locator("#end-error")
            assert error.inner_text() == "The last date is before the first date."
            assert page.get_by_label("User (username)").input_value() == "kari"  # kept
            screenshot(page, f"events-security-error-{size}")

            page.goto(f"{base}/admin/people/{person_id}/audit")
            assert "board" in page.locator("main table").inner_text()
            page.get_by_label("Action").select_option("view_board")
            page.get_by_role("button", name="Filter").click()
            page.wait_for_url(re.compile(r"action=view_board"))
            assert page.locator("main table tbody tr").count() == 1
            screenshot(page, f"events-audit-{size}")
            context.close()


def test_security_page_in_bokmal(browser, tmp_path):
    """The same page in bokmål: headings, labels and the worded actions, no English left."""
    app = build_app(f"sqlite:///{tmp_path / 'events-nb.db'}", SHELTER_LANGUAGE="nb")
    _seed(app)
    with LiveServer(app) as server:
        context = browser.new_context(viewport=PHONE, locale="nb-NO")
        page = context.new_page()
        page.goto(f"{server.url}/login")
        page.get_by_label("Brukernavn").fill("boss")
        page.get_by_label("Passord").fill(PASSWORD)
        page.locator("main button[type=submit]").click()
        page.wait_for_url(re.compile(r"/admin/"))
        page.goto(f"{server.url}/admin/security?action=security.login_failed")
        main = page.inner_text("main")
        for text in ("Sikkerhetshendelser", "Mislykket innlogging", "Fra dato", "Til dato",
                     "2. juli 2026 22:30 CEST"):
            assert text in main, text
        for english in ("Security events", "Failed log-in", "From date", "All actions"):
            assert english not in main, english
        screenshot(page, "events-security-nb-390")
        context.close()
