"""The printable night list in a real browser (Debian's chromium) on a live server, on SQLite
and PostgreSQL: a 60-bed site with 60 people prints on at most two A4 pages, and in print
media no column is cut and the menu and buttons are gone. Screenshots of the screen and
print views in test-artifacts/ (print-*.png)."""
from __future__ import annotations

import re
from datetime import date

import pytest

from shelter.clock import tonight
from shelter.extensions import db
from shelter.models import (
    Assessment,
    Bed,
    Gender,
    Person,
    Placement,
    PlacementStatus,
    Request,
    RequestSource,
    Role,
    Room,
    Site,
    User,
)
from tests.shelter.conftest import (
    _HASH,
    ARTIFACTS,
    PASSWORD,
    LiveServer,
    build_app,
    scratch_database,
    screenshot,
)
from tests.shelter.intake_factories import scheme

pytestmark = pytest.mark.browser

FIRST = ["Kari", "Ola", "Ingrid", "Mohammed", "Anne-Lise", "Bjørn", "Fatima", "Jan Erik",
         "Marius", "Siri", "Oleksandr", "Aleksandra"]
LAST = ["Nordmann", "Hansen", "Johannessen-Kristiansen", "Haugland", "Abdirahman",
        "Kvamme", "Solheim", "Ødegård", "Stavland-Rasmussen", "Berg"]


def _seed(app, night: date) -> int:
    """Gyldenpris: three rooms of 20 beds, each bed taken by a confirmed person (every fifth
    already checked in, every seventh known by an alias too). Returns the site id."""
    with app.app_context():
        s = db.session
        site = Site(code="gyldenpris", name="Gyldenpris (MO Strax-huset)")
        for r in range(1, 4):
            room = Room(site=site, name=f"Room {r}", valid_from=date(2020, 1, 1))
            for i in range(1, 21):
                room.beds.append(Bed(label=f"G{r}-{i:02d}", valid_from=date(2020, 1, 1)))
        s.add(site)
        s.add(User(username="kari", display_name="Kari Intake", role=Role.INTAKE,
                   password_hash=_HASH))
        s.flush()
        sch = scheme(s)
        beds = [b for room in site.rooms for b in room.beds]
        for n, bed in enumerate(beds):
            person = Person(name=f"{FIRST[n % len(FIRST)]} {LAST[n % len(LAST)]}",
                            alias="Langnavn-Gatenavn" if n % 7 == 0 else None,
                            gender=Gender.WOMAN if n % 2 else Gender.MAN, birth_year=1970 + n % 30)
            s.add(person)
            s.flush()
            assessment = Assessment(person_id=person.id, scheme_id=sch.id, answers={},
                                    need=(n * 37) % 101, parts=[])
            s.add(assessment)
            s.flush()
            req = Request(person_id=person.id, night=night, source=RequestSource.WALK_IN,
                          arrival=n + 1, assessment_id=assessment.id)
            s.add(req)
            s.flush()
            s.add(Placement(person_id=person.id, bed_id=bed.id, night=night, request_id=req.id,
                            status=PlacementStatus.CHECKED_IN if n % 5 == 0
                            else PlacementStatus.CONFIRMED))
        s.commit()
        return site.id


def _log_in(page, base: str) -> None:
    page.goto(f"{base}/login")
    page.fill("#username", "kari")
    page.fill("#password", PASSWORD)
    page.click("main button[type=submit]")
    page.wait_for_url(re.compile(r"/intake/$"))


def _pages(pdf: bytes) -> int:
    """Page objects in the PDF (not the /Pages tree node)."""
    return len(re.findall(rb"/Type\s*/Page(?![a-zA-Z])", pdf))


def test_sixty_people_print_on_two_a4_pages_without_a_cut_column(browser, backend, tmp_path):
    night = tonight()
    with scratch_database(backend, tmp_path, "print") as url:
        app = build_app(url)
        site_id = _seed(app, night)
        with LiveServer(app) as server:
            page = browser.new_page(viewport={"width": 1280, "height": 900})
            _log_in(page, server.url)
            page.get_by_role("link", name="Night list to print").click()
            page.wait_for_url(re.compile(r"/intake/night-list\?night="))
            screenshot(page, "print-01-choose-site")
            page.get_by_role("link", name="Gyldenpris (MO Strax-huset)").click()
            page.wait_for_url(re.compile(rf"/intake/night-list\?site={site_id}"))
            assert page.locator("table.night-list tbody tr").count() == 60
            # The Print button is shown by print.js (the CSP allows no inline script).
            assert page.get_by_role("button", name="Print").is_visible()
            assert "60 people have a bed here this night." in page.inner_text("main")
            screenshot(page, "print-02-screen")
            phone = browser.new_page(viewport={"width": 390, "height": 844})
            phone.context.add_cookies(page.context.cookies())
            phone.goto(page.url)
            assert phone.evaluate("document.documentElement.scrollWidth") <= 390
            screenshot(phone, "print-02-screen-phone")
            phone.close()

            pdf = page.pdf(format="A4", print_background=True)
            (ARTIFACTS / f"print-night-list-{backend}.pdf").write_bytes(pdf)
            pages = _pages(pdf)
            assert 1 <= pages <= 2, f"{pages} pages"
            print(f"\nnight list, 60 people: {pages} A4 pages, {len(pdf)} bytes ({backend})")

            # Print media at the A4 printable width (210 mm - 2 x 12 mm = 186 mm = 703 px):
            # no menu, no button, headers repeated, every cell inside the page and not cut.
            page.set_viewport_size({"width": 703, "height": 1000})
            page.emulate_media(media="print")
            assert not page.locator("header.topbar").is_visible()
            assert not page.get_by_role("button", name="Print").is_visible()
            assert page.locator("form button").evaluate_all(
                "els => els.filter(e => e.offsetParent !== null).length") == 0
            assert page.locator("table.night-list thead").evaluate(
                "e => getComputedStyle(e).display") == "table-header-group"
            cut = page.evaluate("""() => {
                const width = document.documentElement.clientWidth;
                return [...document.querySelectorAll('table.night-list th, table.night-list td')]
                  .filter(c => { const r = c.getBoundingClientRect();
                                 return r.left < 0 || r.right > width + 0.5
                                        || c.scrollWidth > c.clientWidth + 1; })
                  .map(c => c.textContent.trim());
            }""")
            assert cut == [], cut
            size = page.locator("table.night-list td").first.evaluate(
                "e => parseFloat(getComputedStyle(e).fontSize)")
            assert size >= 13, f"{size}px is too small to read on paper"  # 10.5 pt = 14 px
            page.screenshot(path=str(ARTIFACTS / "print-03-print-media.png"), full_page=True)
            page.close()
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
