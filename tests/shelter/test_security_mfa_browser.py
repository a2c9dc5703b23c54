"""The second factor in a real browser (Debian's chromium) on a live server: an intake user,
whose role needs one, logs in with the password, is sent to set it up, scans (reads) the
key, confirms with a code, keeps the recovery codes, and logs in again with a code. Every
page is screenshotted and checked by axe-core (WCAG 2.1 A/AA)."""
from __future__ import annotations

import re

import pyotp
import pytest

from shelter.extensions import db
from shelter.models import Role, User
from shelter.services import mfa
from tests.shelter.conftest import _HASH, PASSWORD, LiveServer, build_app, screenshot

pytestmark = pytest.mark.browser


def test_enrol_and_log_in_with_a_code(browser, tmp_path, monkeypatch):
    clock = {"now": 1_800_000_000.0}
    monkeypatch.setattr(mfa, "_now", lambda: clock["now"])
    app = build_app(f"sqlite:///{tmp_path / 'mfa.db'}", MFA_REQUIRED_ROLES="intake")
    with app.app_context():
        db.session.add(User(username="kari", display_name="Kari Intake", role=Role.INTAKE,
                            password_hash=_HASH))
        db.session.add(User(username="ada", display_name="Ada Admin", role=Role.ADMIN,
                            password_hash=_HASH))
        db.session.commit()
    with LiveServer(app) as server:
        page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="en-GB")
        page.goto(f"{server.url}/login")
        page.get_by_label("Username").fill("kari")
        page.get_by_label("Password").fill(PASSWORD)
        page.locator("main button[type=submit]").click()
        page.wait_for_url(re.compile(r"/account/mfa/$"))
        assert page.get_by_role("img", name=re.compile("QR code")).is_visible()
        screenshot(page, "mfa")
        secret = page.locator("code.secret").inner_text().replace(" ", "")
        totp = pyotp.TOTP(secret)
        page.get_by_label("The 6-digit code your app shows now").fill("000000" if totp.at(
            clock["now"]) != "000000" else "111111")
        page.locator("main button[type=submit]").click()
        assert "That code is not right" in page.locator(".field-error").inner_text()
        screenshot(page, "mfa-wrong-code")
        page.get_by_label("The 6-digit code your app shows now").fill(totp.at(clock["now"]))
        page.locator("main button[type=submit]").click()
        page.get_by_role("heading", name="Your recovery codes").wait_for()
        codes = page.locator("ol.recovery-codes code").all_inner_texts()
        assert len(codes) == 10
        screenshot(page, "mfa-recovery-codes")
        page.get_by_role("button", name="I have kept them: carry on").click()
        page.wait_for_url(re.compile(r"/intake/$"))

        page.get_by_role("button", name="Log out").click()
        page.wait_for_url(re.compile(r"/login$"))
        page.get_by_label("Username").fill("kari")
        page.get_by_label("Password").fill(PASSWORD)
        page.locator("main button[type=submit]").click()
        page.wait_for_url(re.compile(r"/login/code$"))
        screenshot(page, "mfa-login-code")
        clock["now"] += 30
        page.get_by_label("Code").fill(totp.at(clock["now"]))
        page.locator("main button[type=submit]").click()
        page.wait_for_url(re.compile(r"/intake/$"))
        page.goto(f"{server.url}/account/mfa/")
        assert "Your second factor has been on since" in page.content()
        assert secret not in page.content()  # never shown again
        screenshot(page, "mfa-status")
        page.get_by_role("button", name="Log out").click()
        page.wait_for_url(re.compile(r"/login$"))

        # an admin (whose role needs none here) takes it away: the password alone works again
        page.get_by_label("Username").fill("ada")
        page.get_by_label("Password").fill(PASSWORD)
        page.locator("main button[type=submit]").click()
        page.wait_for_url(re.compile(r"/admin/$"))
        with app.app_context():
            kari = db.session.query(User).filter_by(username="kari").one().id
        page.goto(f"{server.url}/admin/users/{kari}/edit")
        screenshot(page, "mfa-admin-reset")
        page.get_by_role("button", name="Take away the second factor").click()
        assert "has no second factor now" in page.content()
        page.close()
    with app.app_context():
        db.engine.dispose()
