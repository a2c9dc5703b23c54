"""Open data: our nights exported in Toronto's daily occupancy format, imported back with
the Toronto importer into a fresh database, give the same occupancy figures per site and
night. Both databases (each side on a database of its own)."""
from __future__ import annotations

import csv
import io
from collections import defaultdict
from datetime import date, timedelta


from shelter.extensions import db
from shelter.models import (
    Bed, BedOutage, Gender, GenderRule, Person, Placement, PlacementStatus, Role, Room, Site,
)
from shelter.services.open_data import COLUMNS, occupancy_csv
from shelter.services.reports import occupancy_report
from allocator.toronto import default_csv, open_csv
from shelter.services.toronto_import import import_toronto
from tests.shelter.conftest import build_app, login
from tests.shelter.partners_fixtures import fresh_database_url

FIRST = date(2026, 11, 1)
NIGHTS = [FIRST + timedelta(days=i) for i in range(3)]
TODAY = date(2026, 12, 1)


def _site(name: str, code: str, rooms: list[tuple[GenderRule, int]]) -> Site:
    site = Site(code=code, name=name, city="Bergen", address=f"{name}gaten 1")
    for i, (gender, n) in enumerate(rooms):
        room = Room(site=site, name=f"Room {i + 1}", gender=gender, valid_from=date(2020, 1, 1))
        room.beds = [Bed(label=f"{code}-{i}-{k}", valid_from=date(2020, 1, 1)) for k in range(n)]
    db.session.add(site)
    db.session.flush()
    return site


def _seed() -> None:
    """Two sites, three nights: a site with a mixed and a women's room, a men's site, a bed
    out of service on the middle night, and placements (a released one does not count)."""
    strax = _site("Strax", "strax", [(GenderRule.MIXED, 3), (GenderRule.WOMEN, 2)])
    nostet = _site("Nøstet", "nostet", [(GenderRule.MEN, 2)])
    beds = {s.code: [b for r in s.rooms for b in r.beds] for s in (strax, nostet)}
    db.session.add(BedOutage(bed_id=beds["strax"][0].id, starts_on=NIGHTS[1], ends_on=NIGHTS[1],
                             reason="broken"))
    people = [Person(name=f"P{i}", gender=Gender.WOMAN if i % 2 else Gender.MAN,
                     birth_year=1980) for i in range(8)]
    db.session.add_all(people)
    db.session.flush()
    plan = {  # night index -> (site code, bed index, status)
        0: [("strax", 0, "checked_in"), ("strax", 3, "confirmed"), ("nostet", 0, "checked_in"),
            ("nostet", 1, "checked_in")],
        1: [("strax", 1, "checked_in"), ("strax", 2, "released"), ("nostet", 0, "checked_in")],
        2: [("strax", 1, "checked_in"), ("strax", 2, "checked_in"), ("strax", 3, "checked_in"),
            ("strax", 4, "confirmed")],
    }
    for k, rows in plan.items():
        for person, (code, b, status) in zip(people, rows):
            db.session.add(Placement(person_id=person.id, bed_id=beds[code][b].id,
                                     night=NIGHTS[k], status=PlacementStatus(status)))
    db.session.commit()


def _site_nights(city: str) -> dict[tuple[str, str], tuple[int, int]]:
    report = occupancy_report(db.session, city, NIGHTS[0], NIGHTS[-1], TODAY)
    table = report.table("site_nights")
    return {(r[0], r[1]): (r[2], r[3]) for r in table.rows}


def test_export_then_toronto_import_gives_the_same_occupancy(backend, tmp_path):
    source = build_app(fresh_database_url(backend, tmp_path, "od_src"))
    with source.app_context():
        _seed()
        text = occupancy_csv(db.session, NIGHTS[0], NIGHTS[-1], "Bergen")
        expected = _site_nights("Bergen")
        db.session.rollback()
        db.session.remove()
        db.engine.dispose()
    rows = list(csv.DictReader(io.StringIO(text)))
    assert list(rows[0]) == COLUMNS
    assert {(r["OCCUPANCY_DATE"], r["PROGRAM_NAME"], r["SECTOR"]) for r in rows if r["OCCUPANCY_DATE"] == "2026-11-01"} == {
        ("2026-11-01", "Strax (Mixed Adult)", "Mixed Adult"), ("2026-11-01", "Strax (Women)", "Women"),
        ("2026-11-01", "Nøstet", "Men")}
    assert not any(name in text for name in ("P0", "P1", "P2"))  # no personal data
    assert expected[("2026-11-02", "Strax")] == (4, 1)  # the outage and the released bed
    assert expected[("2026-11-03", "Strax")] == (5, 4)
    path = tmp_path / "export.csv"
    path.write_text(text, encoding="utf-8")
    location = {r["PROGRAM_NAME"]: r["LOCATION_NAME"] for r in rows}

    target = build_app(fresh_database_url(backend, tmp_path, "od_dst"))
    with target.app_context():
        import_toronto(db.session, path, nights=len(NIGHTS))
        db.session.commit()
        got: dict[tuple[str, str], list[int]] = defaultdict(lambda: [0, 0])
        for (night, program), (in_service, occupied) in _site_nights("Toronto").items():
            got[(night, location[program])][0] += in_service
            got[(night, location[program])][1] += occupied
        db.session.remove()
        db.engine.dispose()
    expected_nonempty = {k: v for k, v in expected.items() if v[0]}
    assert {k: tuple(v) for k, v in got.items() if v[0]} == expected_nonempty


def test_export_command_writes_the_file_and_refuses_bad_ranges(app, db, tmp_path):
    runner = app.test_cli_runner()
    out = tmp_path / "occ.csv"
    result = runner.invoke(args=["export-occupancy", "--from", "2026-11-01", "--to",
                                 "2026-11-03", "--out", str(out)])
    assert result.exit_code == 0, result.output
    assert out.read_text().splitlines()[0] == ",".join(COLUMNS)
    bad = runner.invoke(args=["export-occupancy", "--from", "2026-11-03", "--to", "2026-11-01"])
    assert bad.exit_code == 2 and "on or after" in bad.output
    assert runner.invoke(args=["export-occupancy", "--from", "yesterday", "--to",
                               "2026-11-01"]).exit_code == 2


def test_the_column_list_is_torontos_header():
    with open_csv(default_csv()) as fh:  # the copy shipped in the package
        assert next(csv.reader(fh)) == COLUMNS


def test_managers_download_it_from_the_reports_page_and_bad_input_is_422(client, db, make_user,
                                                                          make_site):
    make_site("strax", beds=2, name="Strax")
    login(client, make_user(Role.MANAGER))
    page = client.get("/reports/occupancy?city=Bergen&start=2026-11-01&end=2026-11-03")
    assert "/reports/open-data/occupancy.csv" in page.get_data(as_text=True)
    r = client.get("/reports/open-data/occupancy.csv?city=Bergen&start=2026-11-01&end=2026-11-02")
    assert r.status_code == 200 and r.mimetype == "text/csv"
    lines = r.data.decode("utf-8-sig").splitlines()
    assert lines[0] == ",".join(COLUMNS) and len(lines) == 3
    assert client.get("/reports/open-data/occupancy.csv?city=Atlantis").status_code == 422
    assert client.get("/reports/open-data/occupancy.csv?city=Bergen&start=2026-11-03"
                      "&end=2026-11-01").status_code == 422
    assert client.get("/reports/open-data/occupancy.csv?city=Bergen&start=x").status_code == 422
    client.post("/logout")
    login(client, make_user(Role.INTAKE))
    assert client.get("/reports/open-data/occupancy.csv?city=Bergen").status_code == 403
