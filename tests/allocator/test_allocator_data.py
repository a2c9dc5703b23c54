"""The repository carries its own data: the spec copy beside the tests matches the schemas
the package ships, and the Toronto generator reads the gzipped CSV shipped in the package
(or any --csv PATH, plain or gzipped), so a clone with nothing beside it runs everything."""

from __future__ import annotations

import gzip
import json
import os
import subprocess
import sys
from pathlib import Path

import pytest
from alloc_helpers import SPEC

from allocator.toronto import default_csv, read_rows

ROOT = Path(__file__).resolve().parents[2]


@pytest.mark.parametrize("name", ["night.schema.json", "result.schema.json"])
def test_spec_copy_matches_the_packaged_schemas(name):
    packaged = ROOT / "allocator" / "schemas" / name
    assert json.loads((SPEC / name).read_text()) == json.loads(packaged.read_text())


def test_toronto_csv_ships_in_the_package_with_its_licence():
    path = default_csv()
    assert path.is_relative_to(ROOT / "allocator" / "data") and path.name.endswith(".csv.gz")
    assert "Open Government Licence" in (path.parent / "README.md").read_text(encoding="utf-8")
    assert len(read_rows("2024-01-15")) == 135


def cli(*args: str) -> subprocess.CompletedProcess:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.run([sys.executable, "-m", "allocator", *args], text=True,
                          capture_output=True, cwd=ROOT, env=env, timeout=120)


def test_generate_toronto_reads_the_packaged_file_and_any_csv(tmp_path):
    packaged = cli("generate", "--toronto", "2024-03-30")
    assert packaged.returncode == 0, packaged.stderr
    plain = tmp_path / "toronto.csv"
    with gzip.open(default_csv(), "rt", encoding="utf-8") as src:
        plain.write_text(src.read(), encoding="utf-8")
    given = cli("generate", "--toronto", "2024-03-30", "--csv", str(plain))
    assert given.returncode == 0, given.stderr
    assert json.loads(given.stdout) == json.loads(packaged.stdout)
    missing = cli("generate", "--toronto", "2024-03-30", "--csv", str(tmp_path / "nope.csv"))
    assert missing.returncode == 2 and len(missing.stderr.splitlines()) == 1
