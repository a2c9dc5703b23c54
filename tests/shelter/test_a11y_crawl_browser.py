"""Pages everyone can use: after `flask seed-demo`, each demo role logs in and follows every
same-origin link from its start page (breadth first, GET only, bounded), and axe-core finds
no WCAG 2.1 A/AA violation on any page it reaches. A new page linked from the menus is
covered without anyone remembering."""
from __future__ import annotations

import re
from collections import deque
from urllib.parse import urldefrag, urlsplit

import pytest

from shelter.demo.base import USERS
from tests.shelter.a11y import describe, violations
from tests.shelter.conftest import LiveServer, build_app, screenshot

pytestmark = pytest.mark.browser

LAPTOP = {"width": 1366, "height": 900}
MAX_PAGES = 60  # per role; the demo has fewer distinct pages than this
PER_PATTERN = 2  # /people/1 and /people/2 are one page template: check two of each
# Not pages: leaving, downloads and exports.
SKIP = re.compile(r"/logout|/login|\.csv\b|[?&]format=csv|/export|/download|\.pdf\b|/static/")
# One role of each kind (the two partner users see the same pages).
ROLES = {"intake": "/intake/", "nav": "/partner/", "manager": "/reports/", "admin": "/admin/"}


@pytest.fixture(scope="module")
def demo(tmp_path_factory):
    app = build_app(f"sqlite:///{tmp_path_factory.mktemp('a11y') / 'demo.db'}")
    result = app.test_cli_runner().invoke(args=["seed-demo", "--once"])
    assert result.exit_code == 0, result.output + result.stderr
    with LiveServer(app) as server:
        yield server
    from shelter.extensions import db

    with app.app_context():
        db.engine.dispose()


def _pattern(url: str) -> str:
    """The page template behind an address: numbers and dates become placeholders."""
    path = urlsplit(url).path
    return re.sub(r"\d{4}-\d{2}-\d{2}", "DATE", re.sub(r"/\d+(?=/|$)", "/N", path))


def crawl(page, base: str, start: str) -> tuple[list[str], dict[str, str]]:
    """Visit same-origin links breadth first; answer (pages visited, url -> problems)."""
    queue, queued = deque([base + start]), {base + start}
    per_pattern: dict[str, int] = {}
    visited: list[str] = []
    problems: dict[str, str] = {}
    while queue and len(visited) < MAX_PAGES:
        url = queue.popleft()
        pattern = _pattern(url)
        if per_pattern.get(pattern, 0) >= PER_PATTERN:
            continue
        per_pattern[pattern] = per_pattern.get(pattern, 0) + 1
        response = page.goto(url)  # a plain page: checked here, not by the CheckedPage
        if response is None or response.status != 200:
            problems[url] = f"{url} answered {response and response.status}"
            continue
        if not response.headers.get("content-type", "").startswith("text/html"):
            continue
        visited.append(url)
        found = violations(page)
        if found:
            problems[url] = describe(url, found)
        hrefs = page.eval_on_selector_all("a[href]", "links => links.map(a => a.href)")
        for href in hrefs:
            href = urldefrag(href)[0]
            if href.startswith(base + "/") and not SKIP.search(href) and href not in queued:
                queued.add(href)
                queue.append(href)
    return visited, problems


@pytest.mark.parametrize("username", list(ROLES))
def test_every_page_a_role_can_reach_has_no_wcag_violations(browser, demo, username):
    _display, _role, _org, password = USERS[username]
    context = browser.new_context(viewport=LAPTOP)
    # The crawl checks each page itself and gathers every problem before failing, so it
    # drives the plain Playwright page underneath the checked one.
    page = context.new_page()._page
    page.goto(f"{demo.url}/login")
    page.fill("#username", username)
    page.fill("#password", password)
    page.click("main button[type=submit]")
    page.wait_for_load_state("networkidle")
    assert page.url == demo.url + ROLES[username]

    visited, problems = crawl(page, demo.url, ROLES[username])
    print(f"{username}: {len(visited)} pages crawled, {len(problems)} with violations")
    for url in visited:
        print("  ", url.removeprefix(demo.url))
    assert len(visited) >= 3, visited
    assert not problems, "\n\n".join(problems.values())
    page.goto(demo.url + ROLES[username])
    screenshot(page, f"a11y-crawl-{username}-home")
    context.close()
