"""Reports in bokmål: pages, charts, messages and CSV exports a Norwegian Excel opens
(UTF-8 with BOM, ";" and decimal commas for bokmål readers, "," and points for English ones,
?sep= to choose, formula neutralising kept), and the same figures in English."""
from __future__ import annotations

import csv
import io

import pytest

from shelter.models import Role
from shelter.services import reports as svc
from tests.shelter import reports_fixture as fx
from tests.shelter.conftest import login

RANGE = {"city": "Bergen", "start": "2026-03-01", "end": "2026-03-03"}
BOM = b"\xef\xbb\xbf"


def _manager(db, make_user, language: str | None):
    user = make_user(Role.MANAGER)
    user.language = language
    db.session.flush()
    return user


@pytest.fixture()
def nb_manager(nb_app, client, db, make_site, make_user):
    """A manager with no language of their own, on an instance that reads bokmål."""
    fx.build(db, make_site)
    user = _manager(db, make_user, None)
    login(client, user)
    return user


def _csv(response, delimiter: str) -> list[list[str]]:
    assert response.status_code == 200, response.data[:300]
    assert response.mimetype == "text/csv" and response.data.startswith(BOM)
    return list(csv.reader(io.StringIO(response.data.decode("utf-8-sig")), delimiter=delimiter))


# --- pages ------------------------------------------------------------------------------

def test_index_lists_the_reports_in_bokmal(client, nb_manager):
    html = client.get("/reports/").get_data(as_text=True)
    assert '<html lang="nb"' in html
    for phrase in ("Rapporter", "Belegg", "Hvem trenger et hjem", "Likebehandling",
                   "Tall for å styre kapasiteten"):
        assert phrase in html, phrase
    for english in ("Occupancy", "Who needs a home", "Fairness", "Facts to steer capacity"):
        assert english not in html, english


# slug -> (bokmål that must be on the page, English that must not)
PAGES = {
    "occupancy": (["av sengene i drift var belagt", "Per natt, hele byen", "belegg %",
                   "søn. 1. mars 2026", "66,7", "Belegg: lys", "1. mars"],
                  ["Per night, whole city", "bed-nights", "occupancy %", "66.7", "01 Mar",
                   "2026-03-01</th>"]),
    "turnaways": (["4 av 7 henvendelser ble avvist", "Etter kjønn", "kvinne", "mann",
                   "ingen egnet seng", "Avvist 3 netter eller flere på rad"],
                  ["requests were turned away", "By gender", ">woman<", "no eligible bed",
                   "nights in a row"]),
    "prebookings": (["forhåndsbestillinger, 1 brukt", "kvoten brukt opp", "kvotebruk %",
                     "Avslag etter årsak"],
                    ["holds made", "Refusals by reason", ">quota<"]),
    "women": (["Kvinneplassene hadde", "henvendelser fra kvinner", "utestengelser i kraft",
               "Hvorfor kvinneplasser sto ledige"],
              ["Women-only beds were", "requests from women", "bans active"]),
    "whatif": (["fikk seng etter behov", "førstemann til mølla", "Spill av en natt på nytt",
                "avvist etter minst én av reglene"],
               ["placed by need", "first come", "Replay a night", "turned away under either"]),
    "fairness": (["Andel som fikk seng etter kjønn", "ingen henvendelser", "ikke-binær",
                  "Etter aldersgruppe"],
                 ["no requests", "nonbinary", "By age band", "Placement rate"]),
    "housing": (["akuttovernattinger", "henvist til boligoppfølging",
                 "Henvis til boligoppfølging", "Carl (3 netter)",
                 "Person som skal henvises"],
                ["emergency nights", "Mark as referred", "(3 nights)", "Refer someone"]),
}


@pytest.mark.parametrize("slug", list(PAGES))
def test_each_report_page_reads_bokmal(client, nb_manager, slug):
    query = {**RANGE, "night": "2026-03-01"} if slug == "whatif" else RANGE
    page = client.get(f"/reports/{slug}", query_string=query)
    html = page.get_data(as_text=True)
    assert page.status_code == 200 and '<html lang="nb"' in html
    assert "søndag 1. mars 2026" in html  # the heading's range
    present, absent = PAGES[slug]
    for phrase in present:
        assert phrase in html, phrase
    for english in absent:
        assert english not in html, english


def test_errors_and_messages_in_bokmal(client, nb_manager, db):
    page = client.get("/reports/occupancy", query_string={**RANGE, "start": "2026-03-05"})
    assert page.status_code == 422
    html = page.get_data(as_text=True)
    assert "Siste natt må være samme natt som eller etter første natt." in html
    assert "on or after the first night" not in html
    page = client.get("/reports/occupancy", query_string={**RANGE, "city": "Oslo"})
    assert page.status_code == 422 and "Velg en by fra listen." in page.get_data(as_text=True)

    from sqlalchemy import select

    from shelter.models import Person

    carl = db.session.scalar(select(Person).where(Person.name == "Carl"))
    done = client.post("/reports/housing/refer", data={"person": carl.id, **RANGE},
                       follow_redirects=True).get_data(as_text=True)
    assert "Carl er nå henvist til boligoppfølging." in done
    again = client.post("/reports/housing/refer", data={"person": carl.id, **RANGE},
                        follow_redirects=True).get_data(as_text=True)
    assert "Carl er allerede henvist til boligoppfølging." in again
    assert "already referred" not in again
    bad = client.post("/reports/housing/refer", data={"person": "x"}, follow_redirects=True)
    assert "Velg en person fra listen." in bad.get_data(as_text=True)


# --- CSV exports ------------------------------------------------------------------------

def test_csv_for_a_bokmal_reader_opens_in_norwegian_excel(client, nb_manager):
    rows = _csv(client.get("/reports/turnaways.csv", query_string={**RANGE, "table": "nights"}),
                ";")
    assert rows[0] == ["natt", "henvendelser", "avvist", "fullt", "ingen egnet seng",
                       "holdes adskilt", "avvist %"]
    assert rows[1] == ["2026-03-01", "4", "2", "1", "0", "1", "50,0"]  # ISO night, decimal comma
    occupancy = _csv(client.get("/reports/occupancy.csv",
                                query_string={**RANGE, "table": "nights"}), ";")
    assert occupancy[1][-1] == "66,7" and occupancy[0][0] == "natt"
    # Worded cells are bokmål too.
    gender = _csv(client.get("/reports/turnaways.csv", query_string={**RANGE, "table": "gender"}),
                  ";")
    assert [r[0] for r in gender[1:]] == ["kvinne", "mann"]


def test_csv_for_an_english_reader(client, db, make_site, make_user):
    fx.build(db, make_site)
    login(client, _manager(db, make_user, "en"))
    rows = _csv(client.get("/reports/turnaways.csv", query_string={**RANGE, "table": "nights"}),
                ",")
    assert rows[0] == ["night", "requests", "turned away", "capacity", "no eligible bed",
                       "keep apart", "turned away %"]
    assert rows[1] == ["2026-03-01", "4", "2", "1", "0", "1", "50.0"]


def test_a_users_own_language_decides_over_the_instance(nb_app, client, db, make_site,
                                                        make_user):
    fx.build(db, make_site)
    login(client, _manager(db, make_user, "en"))
    rows = _csv(client.get("/reports/occupancy.csv", query_string={**RANGE, "table": "nights"}),
                ",")
    assert rows[0][0] == "night" and rows[1][-1] == "66.7"


@pytest.mark.parametrize("sep, delimiter", [(";", ";"), (",", ","), ("tab", "\t")])
def test_sep_chooses_the_delimiter(client, nb_manager, sep, delimiter):
    response = client.get("/reports/occupancy.csv",
                          query_string={**RANGE, "table": "sites", "sep": sep})
    rows = _csv(response, delimiter)
    assert rows[0] == ["sted", "i drift", "belagt", "holdt av", "belegg %"]
    assert rows[1] == ["Site A", "1,7", "0,7", "0,3", "40,0"]  # one column each, comma decimals


@pytest.mark.parametrize("sep", ["x", "|", "semicolon", ";;"])
def test_a_bad_sep_is_a_422_naming_sep(client, nb_manager, sep):
    for url in ("/reports/occupancy.csv", "/reports/open-data/occupancy.csv"):
        response = client.get(url, query_string={**RANGE, "table": "sites", "sep": sep})
        assert response.status_code == 422, url
        assert response.data.startswith(BOM)
        assert "sep" in response.data.decode("utf-8-sig")


def test_formulas_are_still_neutralised_in_the_bokmal_csv(client, nb_manager, db):
    from sqlalchemy import select

    from shelter.models import Person

    carl = db.session.scalar(select(Person).where(Person.name == "Carl"))
    carl.name, carl.alias = "=1+2;@SUM(A1)", None
    db.session.flush()
    rows = _csv(client.get("/reports/turnaways.csv", query_string={**RANGE, "table": "repeat"}),
                ";")
    assert rows[0] == ["navn", "første natt", "siste natt", "netter på rad"]
    assert rows[1] == ["'=1+2;@SUM(A1)", "2026-03-01", "2026-03-03", "3"]


def test_open_data_keeps_torontos_format_for_a_bokmal_reader(client, nb_manager):
    from shelter.services.open_data import COLUMNS

    response = client.get("/reports/open-data/occupancy.csv", query_string=RANGE)
    rows = _csv(response, ",")
    assert rows[0] == COLUMNS
    rate = rows[1][COLUMNS.index("OCCUPANCY_RATE_BEDS")]
    assert "." in rate or rate.isdigit()
    with_sep = _csv(client.get("/reports/open-data/occupancy.csv",
                               query_string={**RANGE, "sep": ";"}), ";")
    assert with_sep[0] == COLUMNS


def test_the_writer_cells():
    comma = svc.CsvStyle(";", ",")
    assert svc.csv_cell(66.7, comma) == "66,7" and svc.csv_cell(66.7) == "66.7"
    assert svc.csv_cell(12000, comma) == "12000"  # no thousands separator
    assert svc.csv_cell(-3, comma) == "-3"  # a negative number stays a number
    assert svc.csv_cell(1e20, comma) == "100000000000000000000"  # never "1e+20"
    assert svc.csv_cell("-3", comma) == "'-3"  # text that looks like a formula does not
    assert svc.csv_cell(None, comma) == ""
    assert svc.csv_style(None, "nb") == comma
    assert svc.csv_style(None, "en") == svc.CsvStyle(",", ".")
    assert svc.csv_style("tab", "en") == svc.CsvStyle("\t", ".")
    with pytest.raises(svc.ReportError) as err:
        svc.csv_style("x", "nb")
    assert err.value.field == "sep"


def test_chart_in_bokmal(nb_app, db, make_site):
    with nb_app.test_request_context():
        fx.build(db, make_site)
        svg = str(svc.build(db.session, "fairness", "Bergen", fx.N1, fx.N3,
                            fx.N3.replace(month=6)).chart)
        assert "0–19 · kvinne: ingen henvendelser" in svg and ">ingen henvendelser</text>" in svg
        assert "80–100 · kvinne: 100" in svg
        assert "no requests" not in svg and "woman" not in svg
        heat = str(svc.build(db.session, "occupancy", "Bergen", fx.N1, fx.N3,
                             fx.N3.replace(month=6)).chart)
        assert ">1. mars</text>" in heat and "grå = ingen senger i drift" in heat
        assert "Mar" not in heat


# --- a real browser: the bokmål pages pass axe (WCAG 2.1 A/AA) and fit a phone ------------

@pytest.mark.browser
def test_bokmal_report_pages_in_a_browser(browser, tmp_path):
    from datetime import date

    from shelter.auth import hash_password
    from shelter.extensions import db as _db
    from shelter.models import Bed, GenderRule, Room, Site, User
    from tests.shelter.conftest import LiveServer, build_app, screenshot

    app = build_app(f"sqlite:///{tmp_path / 'nb.db'}", SHELTER_LANGUAGE="nb")
    with app.app_context():
        def make_site(code, beds=2, gender=GenderRule.MIXED, **fields):
            site = Site(code=code, name=fields.pop("name", code.title()), city="Bergen", **fields)
            room = Room(site=site, name="Rom 1", gender=gender, valid_from=date(2020, 1, 1))
            room.beds = [Bed(label=f"{code}-{i + 1}", valid_from=date(2020, 1, 1))
                         for i in range(beds)]
            _db.session.add(site)
            _db.session.flush()
            return site

        fx.build(_db, make_site)
        _db.session.add(User(username="leder", display_name="Mona Leder", role=Role.MANAGER,
                             password_hash=hash_password("manager-password")))
        _db.session.commit()
    query = "city=Bergen&start=2026-03-01&end=2026-03-03"
    with LiveServer(app) as live:
        for viewport in ({"width": 1280, "height": 800}, {"width": 390, "height": 844}):
            context = browser.new_context(viewport=viewport)
            page = context.new_page()
            page.goto(f"{live.url}/login")
            page.fill("#username", "leder")
            page.fill("#password", "manager-password")
            page.press("#password", "Enter")
            page.wait_for_load_state("networkidle")
            for slug in PAGES:
                extra = "&night=2026-03-01" if slug == "whatif" else ""
                page.goto(f"{live.url}/reports/{slug}?{query}{extra}")  # axe runs on each page
                assert page.locator("html").get_attribute("lang") == "nb"
                assert page.locator("figure.report-chart svg .mark").count() > 0, slug
                if slug in ("occupancy", "turnaways", "women"):
                    heads = page.locator("table[data-table=nights] tbody th[scope=row]")
                    assert heads.all_inner_texts()[0] == "søn. 1. mars 2026", slug
                width = page.evaluate("document.documentElement.scrollWidth")
                assert width <= viewport["width"], (slug, width)
            screenshot(page, f"reports-nb-housing-{viewport['width']}")
            context.close()
    with app.app_context():
        _db.engine.dispose()
