"""The accessibility check itself: axe-core (from package-lock.json) finds WCAG 2.1 A/AA
violations and the failure names the rule, the element and the page."""
from __future__ import annotations

import pytest

from tests.shelter.a11y import AccessibilityError, CheckedPage, check_page
from tests.shelter.conftest import screenshot

pytestmark = pytest.mark.browser

BAD = """<!doctype html><html lang="en"><head><title>Bad</title></head><body><main>
<h1>Bad page</h1><img src="data:," id="no-alt">
<p style="color:#bbb;background:#fff">Grey on white</p>
<input id="field" aria-invalid="None"></main></body></html>"""


def test_check_page_lists_rule_impact_and_element(browser):
    page = browser.new_page()
    page.set_content(BAD)
    with pytest.raises(AccessibilityError) as caught:
        check_page(page)
    message = str(caught.value)
    for rule in ("image-alt", "color-contrast", "aria-valid-attr-value", "label"):
        assert rule in message, message
    assert "#no-alt" in message and "about:blank" in message
    page.close()


def test_screenshot_checks_the_page_it_saves(browser):
    page = browser.new_page()
    assert isinstance(page, CheckedPage)
    page.set_content(BAD)
    with pytest.raises(AccessibilityError):
        screenshot(page, "a11y-bad-page")
    page.set_content(BAD.replace('<img src="data:," id="no-alt">', "")
                     .replace("color:#bbb", "color:#333")
                     .replace('<input id="field" aria-invalid="None">', ""))
    screenshot(page, "a11y-good-page")
    page.close()


def test_goto_checks_the_page_it_arrives_at(browser):
    page = browser.new_page()
    page.route("http://a11y.test/**", lambda route: route.fulfill(
        status=200, content_type="text/html; charset=utf-8",
        body=BAD if route.request.url.endswith("/bad") else BAD.replace("<img", "<img alt=''")
        .replace("color:#bbb", "color:#333").replace('aria-invalid="None"', 'aria-label="x"')))
    with pytest.raises(AccessibilityError, match="image-alt"):
        page.goto("http://a11y.test/bad")
    page.goto("http://a11y.test/good")  # no violation: no error
    page.set_content(BAD)
    with pytest.raises(AccessibilityError):
        page.wait_for_load_state("load")
    page.close()


def test_axe_runs_under_a_content_security_policy_without_inline_scripts(browser):
    page = browser.new_page()
    page.route("http://a11y.test/**", lambda route: route.fulfill(
        status=200, content_type="text/html; charset=utf-8", body=BAD,
        headers={"Content-Security-Policy": "default-src 'self'; script-src 'self'"}))
    with pytest.raises(AccessibilityError, match="image-alt"):
        page.goto("http://a11y.test/csp")
    page.close()
