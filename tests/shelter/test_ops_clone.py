"""A clone with nothing beside it runs everything: no code or test reaches outside the
repository, and `flask import-toronto` reads the CSV shipped gzipped in the package."""
from __future__ import annotations

import re
from pathlib import Path

from sqlalchemy import func, select

from shelter.models import Site

ROOT = Path(__file__).resolve().parents[2]
SIBLING = ".." + "/shared"  # spelled in two pieces so this file does not match itself


def test_nothing_reaches_outside_the_repository():
    outside = re.compile(re.escape(SIBLING) + r'|parent\s*/\s*"shared"')
    offenders = [
        f"{path.relative_to(ROOT)}:{n}"
        for folder in ("tests", "shelter", "allocator", "bench")
        for path in (ROOT / folder).rglob("*.py")
        for n, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1)
        if outside.search(line)
    ]
    offenders += [f"Makefile:{n}" for n, line in
                  enumerate((ROOT / "Makefile").read_text().splitlines(), 1) if SIBLING in line]
    assert offenders == []


def test_import_toronto_reads_the_packaged_csv(app, db):
    runner = app.test_cli_runner()
    result = runner.invoke(args=["import-toronto", "--nights", "1", "--allocate-last", "0"])
    assert result.exit_code == 0, result.output
    assert "Toronto: 1" in result.output.splitlines()[-1]  # "Toronto: 1xx programs, ..."
    assert db.session.scalar(select(func.count()).select_from(Site).where(
        Site.city == "Toronto")) > 100
