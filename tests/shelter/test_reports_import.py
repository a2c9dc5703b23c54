"""`import-toronto` on a hand-made three-night CSV: hand-counted figures, repeat
turn-aways, the what-if runs of --allocate-last, and bad input on the command line."""
from __future__ import annotations

import csv
from datetime import date

import pytest
from sqlalchemy import select

from shelter.models import AllocationRun
from shelter.services import reports as svc
from shelter.services.toronto_import import ImportError_, import_toronto

NIGHTS = ["2024-01-01", "2024-01-02", "2024-01-03"]
TODAY = date(2026, 6, 1)
COLUMNS = ["OCCUPANCY_DATE", "PROGRAM_ID", "PROGRAM_NAME", "SECTOR", "LOCATION_NAME",
           "LOCATION_ADDRESS", "CAPACITY_TYPE", "CAPACITY_ACTUAL_BED", "OCCUPIED_BEDS",
           "SERVICE_USER_COUNT", "CAPACITY_ACTUAL_ROOM", "OCCUPIED_ROOMS"]


@pytest.fixture()
def small_csv(tmp_path):
    """Each night: a men's program with 2 beds, both taken, 3 people asking (1 turned away);
    a women's room program with 1 room, taken (1 request, placed)."""
    path = tmp_path / "toronto.csv"
    with path.open("w", newline="", encoding="utf-8") as fh:
        w = csv.writer(fh)
        w.writerow(COLUMNS)
        for night in NIGHTS:
            w.writerow([night, "1", "Men's Place", "Men", "Loc 1", "1 Main St",
                        "Bed Based Capacity", "2", "2", "3", "", ""])
            w.writerow([night, "2", "Women's Rooms", "Women", "Loc 2", "2 Main St",
                        "Room Based Capacity", "", "", "1", "1", "1"])
    return path


def test_import_counts_and_stores_whatif_runs(app, db, small_csv):
    with app.test_request_context():
        lines = import_toronto(db.session, small_csv, nights=3, allocate_last=1)
        assert "2 programs, 3 beds" in lines[-1] and "9 placements, 3 turn-aways" in lines[-1]
        runs = db.session.scalars(select(AllocationRun).where(
            AllocationRun.city == "Toronto")).all()
        assert [(r.night, r.kind, r.confirmed_at is not None) for r in runs] == [
            (date(2024, 1, 3), "import", True)]
        assert runs[0].comparison_json["assignments"]
        start, end = date(2024, 1, 1), date(2024, 1, 3)
        away = svc.build(db.session, "turnaways", "Toronto", start, end, TODAY)
        assert away.table("nights").rows == [[n, 4, 1, 1, 0, 0, 25.0] for n in NIGHTS]
        [(_, first, last, length)] = away.table("repeat").rows
        assert (first, last, length) == ("2024-01-01", "2024-01-03", 3)
        occupancy = svc.build(db.session, "occupancy", "Toronto", start, end, TODAY)
        assert occupancy.table("nights").rows == [[n, 3, 3, 0, 0, 100.0] for n in NIGHTS]
        whatif = svc.build(db.session, "whatif", "Toronto", start, end, TODAY)
        bands = whatif.table("bands").rows
        # 4 requests on the run's night; 3 beds, one of them women-only: 3 placed by each rule.
        assert sum(r[1] for r in bands) == 4
        assert sum(r[2] for r in bands) == 3 and sum(r[4] for r in bands) == 3


def test_bad_input_is_refused(app, db, small_csv, tmp_path):
    result = app.test_cli_runner().invoke(args=["import-toronto", "--csv", str(tmp_path / "x.csv")])
    assert result.exit_code == 2 and "no such file" in result.stderr
    with app.test_request_context():
        with pytest.raises(ImportError_, match="no such file"):
            import_toronto(db.session, tmp_path / "missing.csv")
        with pytest.raises(ImportError_, match="--allocate-last"):
            import_toronto(db.session, small_csv, allocate_last=-1)
        import_toronto(db.session, small_csv, nights=1)
        with pytest.raises(ImportError_, match="already imported"):
            import_toronto(db.session, small_csv, nights=1)
