"""A real browser after `flask seed-demo` on a live server: every demo role logs in and
lands on its start page; the admin pages render on a laptop and on a 390px phone."""
from __future__ import annotations

import re

import pytest

from shelter.demo.base import USERS
from tests.shelter.conftest import LiveServer, build_app, screenshot

pytestmark = pytest.mark.browser

LANDING = {"intake": "/intake/", "partner": "/partner/", "manager": "/reports/",
           "admin": "/admin/"}
LAPTOP, PHONE = {"width": 1280, "height": 800}, {"width": 390, "height": 844}


@pytest.fixture()
def live(tmp_path):
    app = build_app(f"sqlite:///{tmp_path / 'live.db'}")
    result = app.test_cli_runner().invoke(args=["seed-demo", "--once"])
    assert result.exit_code == 0, result.output + result.stderr
    with LiveServer(app) as server:
        yield server
    from shelter.extensions import db

    with app.app_context():
        db.engine.dispose()


def _login(page, base: str, username: str, password: str) -> None:
    page.goto(f"{base}/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("main button[type=submit]")
    page.wait_for_load_state("networkidle")


def test_each_demo_role_logs_in_and_lands_on_its_start_page(browser, live):
    for username, (display, role, _org, password) in USERS.items():
        context = browser.new_context(viewport=LAPTOP)
        page = context.new_page()
        _login(page, live.url, username, password)
        assert page.url == live.url + LANDING[role.value], (username, page.url)
        assert display in page.content()
        screenshot(page, f"foundation-landing-{username}")
        page.click("text=Log out")
        page.wait_for_load_state("networkidle")
        assert page.url.endswith("/login")
        context.close()


def test_admin_pages_render_on_laptop_and_phone(browser, live):
    _display, _role, _org, password = USERS["admin"]
    for name, viewport in (("laptop", LAPTOP), ("phone", PHONE)):
        context = browser.new_context(viewport=viewport)
        page = context.new_page()
        _login(page, live.url, "admin", password)
        for slug, path in [("sites", "/admin/"), ("organisations", "/admin/organisations"),
                           ("users", "/admin/users"), ("quotas", "/admin/quotas"),
                           ("services", "/admin/services")]:
            response = page.goto(live.url + path)
            assert response.status == 200, path
            assert page.title().endswith("· Shelter beds"), page.title()
            screenshot(page, f"foundation-admin-{slug}-{name}")

        # A site's inventory: rooms as cards, beds as tiles, out-of-service beds marked.
        page.goto(live.url + "/admin/")
        page.click("text=Vågsbunnen akuttovernatting")
        assert page.locator("li.bed").count() >= 30
        assert page.locator("li.bed.out").count() >= 1
        screenshot(page, f"foundation-admin-site-{name}")
        site_url = page.url

        page.locator("li.bed.out a").first.click()
        assert page.locator("text=Water damage").count() >= 1
        screenshot(page, f"foundation-admin-bed-{name}")

        # Bad input: the message sits beside the field and what was typed is kept.
        page.goto(site_url)
        page.click("text=Edit site")
        page.fill("#min_age", "30")
        page.fill("#max_age", "18")
        page.click("button:has-text('Save')")
        assert page.locator("#max_age-error").inner_text() == \
            "The upper age limit is below the lower one."
        assert page.input_value("#min_age") == "30"
        screenshot(page, f"foundation-admin-site-error-{name}")

        page.goto(live.url + "/admin/users")
        page.click("tr:has-text('nav') >> text=Edit")
        assert re.search(r"/admin/users/\d+/edit$", page.url)
        screenshot(page, f"foundation-admin-user-edit-{name}")
        context.close()
