"""Universal design (WCAG 2.1 AA, required by Norwegian law) checked in the real browser.

axe-core comes from the npm registry, pinned in package-lock.json and installed into
node_modules/ by `make test` (never a CDN). `check_page` injects it into the page and runs
the WCAG 2.1 A and AA rules; a violation fails the test with the rule, its impact, the
elements and the page's address.

The browser tests get this without asking: conftest's `browser` fixture hands out pages
whose `goto` and `wait_for_load_state` check the page they arrive at (the latter covers
pages reached by clicking and submitting forms), and `screenshot()` checks the page it
saves."""
from __future__ import annotations

import hashlib
from pathlib import Path
from typing import Any

AXE_JS = Path(__file__).resolve().parents[2] / "node_modules" / "axe-core" / "axe.min.js"
WCAG_TAGS = ["wcag2a", "wcag2aa", "wcag21a", "wcag21aa"]

_RUN = """async (tags) => {
  const result = await axe.run(document, {runOnly: {type: "tag", values: tags},
                                          resultTypes: ["violations"]});
  return result.violations.map(v => ({
    id: v.id, impact: v.impact, help: v.help,
    nodes: v.nodes.map(n => ({target: n.target.join(" "), summary: n.failureSummary || ""})),
  }));
}"""


class AccessibilityError(AssertionError):
    """A page broke WCAG 2.1 A/AA rules; the message lists each rule and element."""


def axe_source() -> str:
    if not AXE_JS.exists():
        raise AssertionError(
            f"{AXE_JS} is missing: run `make test` (or `npm ci`) to install axe-core from "
            "package-lock.json")
    return AXE_JS.read_text(encoding="utf-8")


def violations(page: Any) -> list[dict[str, Any]]:
    """axe-core's WCAG 2.1 A/AA violations on the page as it is now.

    The script is evaluated through the DevTools protocol rather than added as a <script>
    element, so a Content-Security-Policy without inline scripts cannot block it."""
    if not page.evaluate("typeof window.axe === 'object'"):
        page.evaluate(axe_source())
    return list(page.evaluate(_RUN, WCAG_TAGS))


def describe(url: str, found: list[dict[str, Any]]) -> str:
    lines = [f"{len(found)} WCAG 2.1 A/AA violation(s) on {url}:"]
    for v in found:
        lines.append(f"- {v['id']} ({v['impact']}): {v['help']}")
        for node in v["nodes"][:10]:
            summary = " ".join(node["summary"].split())
            lines.append(f"    {node['target']}  {summary[:300]}")
        if len(v["nodes"]) > 10:
            lines.append(f"    ... and {len(v['nodes']) - 10} more element(s)")
    return "\n".join(lines)


def check_page(page: Any) -> None:
    """Fail with a readable list if the page has WCAG 2.1 A/AA violations."""
    found = violations(page)
    if found:
        raise AccessibilityError(describe(page.url, found))


class CheckedPage:
    """A Playwright page whose `goto` runs the accessibility check on arrival; every other
    attribute is the page's own. Each state of a page (address + HTML) is checked once."""

    def __init__(self, page: Any) -> None:
        self._page = page
        self._seen: set[str] = set()

    def __getattr__(self, name: str) -> Any:
        return getattr(self._page, name)

    def check_accessibility(self) -> None:
        key = hashlib.sha256((self._page.url + self._page.content()).encode()).hexdigest()
        if key not in self._seen:
            check_page(self._page)
            self._seen.add(key)

    def _check_if_html(self) -> None:
        if self._page.evaluate("document.contentType") == "text/html":
            self.check_accessibility()

    def goto(self, *args: Any, **kwargs: Any) -> Any:
        response = self._page.goto(*args, **kwargs)
        self._page.wait_for_load_state("load")
        if response is not None:
            self._check_if_html()
        return response

    def wait_for_load_state(self, *args: Any, **kwargs: Any) -> None:
        """Tests wait for the load after a click or a form post: check where it landed."""
        self._page.wait_for_load_state(*args, **kwargs)
        self._check_if_html()


class CheckedContext:
    def __init__(self, context: Any) -> None:
        self._context = context

    def __getattr__(self, name: str) -> Any:
        return getattr(self._context, name)

    def new_page(self, *args: Any, **kwargs: Any) -> CheckedPage:
        return CheckedPage(self._context.new_page(*args, **kwargs))


class CheckedBrowser:
    """The session's browser, handing out CheckedContext and CheckedPage objects."""

    def __init__(self, browser: Any) -> None:
        self._browser = browser

    def __getattr__(self, name: str) -> Any:
        return getattr(self._browser, name)

    def new_context(self, *args: Any, **kwargs: Any) -> CheckedContext:
        return CheckedContext(self._browser.new_context(*args, **kwargs))

    def new_page(self, *args: Any, **kwargs: Any) -> CheckedPage:
        return CheckedPage(self._browser.new_page(*args, **kwargs))
