"""The board in a real browser (Debian's chromium) on a live server: search, filter by site,
previous / next night with the filters kept, a site-bound user's board opening on their
site, on a laptop (1366 px) and a phone (390 px). Screenshots in test-artifacts/board*.png;
axe-core checks every page visited."""
from __future__ import annotations

import re
from datetime import date, time, timedelta

import pytest

from shelter.clock import tonight
from shelter.extensions import db
from shelter.models import Bed, Gender, GenderRule, Role, Room, Site, User
from tests.shelter.conftest import _HASH, PASSWORD, LiveServer, build_app, screenshot
from tests.shelter.intake_factories import ask

pytestmark = pytest.mark.browser


def _seed(app, night: date) -> None:
    with app.app_context():
        s = db.session
        sites = {}
        for code, name, gender, n in (("alfa", "Alfa", GenderRule.MIXED, 3),
                                      ("beta", "Beta", GenderRule.MIXED, 2),
                                      ("kvinne", "Kvinnehuset", GenderRule.WOMEN, 2)):
            site = Site(code=code, name=name, checkin_cutoff=time(23, 0))
            room = Room(site=site, name="Room 1", gender=gender, valid_from=date(2020, 1, 1))
            for i in range(n):
                room.beds.append(Bed(label=f"{code}-{i + 1}", valid_from=date(2020, 1, 1)))
            s.add(site)
            sites[code] = site
        s.flush()
        s.add(User(username="kari", display_name="Kari Intake", role=Role.INTAKE,
                   password_hash=_HASH))
        s.add(User(username="sven", display_name="Sven at Alfa", role=Role.INTAKE,
                   password_hash=_HASH, sites=[sites["alfa"]]))
        for name, need, gender, site in (
                ("Anna Berg", 85, Gender.WOMAN, "kvinne"), ("Bjørn Dahl", 70, Gender.MAN, "alfa"),
                ("Carl Eng", 55, Gender.MAN, "beta"), ("Dina Fjord", 40, Gender.WOMAN, "alfa"),
                ("Erik Gran", 20, Gender.MAN, None)):
            ask(s, name, need=need, gender=gender, night=night,
                preferred=sites[site] if site else None)
        ask(s, "Frida Tomorrow", need=60, gender=Gender.WOMAN, night=night + timedelta(days=1))
        s.commit()


def _log_in(page, base: str, username: str) -> None:
    page.goto(f"{base}/login")
    page.get_by_label("Username").fill(username)
    page.get_by_label("Password").fill(PASSWORD)
    page.locator("main button[type=submit]").click()
    page.wait_for_url(re.compile(r"/intake/$"))


def _names(page) -> list[str]:
    return page.locator("table.board tbody tr td:nth-child(2) a").all_inner_texts()


def test_board_search_filters_nights_and_site_bound_default(browser, tmp_path):
    app = build_app(f"sqlite:///{tmp_path / 'board.db'}")
    night = tonight()
    _seed(app, night)
    with LiveServer(app) as server:
        base = server.url
        page = browser.new_page(viewport={"width": 1366, "height": 900})
        _log_in(page, base, "kari")
        assert _names(page) == ["Anna Berg", "Bjørn Dahl", "Carl Eng", "Dina Fjord", "Erik Gran"]
        screenshot(page, "board")

        # Search by name: type, press Show; the URL carries it (shareable).
        page.get_by_label("Search", exact=True).fill("bjørn")
        page.get_by_role("button", name="Show", exact=True).click()
        page.wait_for_url(re.compile(r"q=bj"))
        assert _names(page) == ["Bjørn Dahl"]

        # Filter by site (the search cleared).
        page.get_by_label("Search", exact=True).fill("")
        page.get_by_label("Site", exact=True).select_option(label="Alfa")
        page.get_by_role("button", name="Show", exact=True).click()
        page.wait_for_url(re.compile(r"site=\d+"))
        assert _names(page) == ["Bjørn Dahl", "Dina Fjord"]
        screenshot(page, "board-site")

        # Next night: Frida asked for tomorrow; the site filter is kept, so she (no site)
        # is not shown until it is cleared. Then back to tonight.
        page.get_by_role("link", name="Next night →").click()
        page.wait_for_url(re.compile(r"night=" + (night + timedelta(days=1)).isoformat()))
        assert page.get_by_label("Site", exact=True).input_value() != "all"
        assert _names(page) == []
        page.get_by_role("link", name="Clear filters").click()
        assert _names(page) == ["Frida Tomorrow"]
        screenshot(page, "board-next-night")
        page.get_by_role("link", name="← Previous night").click()
        page.wait_for_load_state()
        assert "night=" not in page.url  # tonight has no ?night=
        assert "Anna Berg" in _names(page)

        # A phone: the filters stack, the rows become cards, nothing scrolls sideways.
        phone = browser.new_page(viewport={"width": 390, "height": 844})
        _log_in(phone, base, "kari")
        phone.get_by_label("Status").select_option(label="waiting")
        phone.get_by_role("button", name="Show", exact=True).click()
        phone.wait_for_url(re.compile(r"status=waiting"))
        assert len(_names(phone)) == 5
        assert phone.evaluate("document.documentElement.scrollWidth") <= 390
        screenshot(phone, "board-phone")

        # Without JavaScript the filter form works the same (a plain GET form). Not
        # checked by axe-core, which needs JavaScript: the pages above are the same pages.
        no_js = browser._browser.new_context(java_script_enabled=False,
                                             viewport={"width": 390, "height": 844})
        plain = no_js.new_page()
        _log_in(plain, base, "kari")
        plain.get_by_label("Search", exact=True).fill("dina")
        plain.get_by_label("Gender").select_option(label="Woman")
        plain.get_by_role("button", name="Show", exact=True).click()
        plain.wait_for_url(re.compile(r"q=dina&.*gender=woman"))
        assert _names(plain) == ["Dina Fjord"]
        no_js.close()

        # Sven works at Alfa: his board opens on Alfa; "All sites" shows everyone.
        sven = browser.new_page(viewport={"width": 1366, "height": 900})
        _log_in(sven, base, "sven")
        assert _names(sven) == ["Bjørn Dahl", "Dina Fjord"]
        assert sven.get_by_label("Site", exact=True).input_value() == "mine"
        # The allocation places people at every site: not Sven's button.
        assert sven.get_by_role("button", name="Allocate beds").count() == 0
        assert page.get_by_role("button", name="Allocate beds").count() == 1
        screenshot(sven, "board-site-bound")
        sven.get_by_label("Site", exact=True).select_option(label="All sites")
        sven.get_by_role("button", name="Show", exact=True).click()
        sven.wait_for_url(re.compile(r"site=all"))
        assert len(_names(sven)) == 5
        phone_sven = browser.new_page(viewport={"width": 390, "height": 844})
        _log_in(phone_sven, base, "sven")
        assert phone_sven.evaluate("document.documentElement.scrollWidth") <= 390
        screenshot(phone_sven, "board-site-bound-phone")
    with app.app_context():
        db.engine.dispose()
