"""Flask commands for reports: import-toronto, refresh-report-stats, export-occupancy.
Commit at the edge; bad input exits non-zero with one line on stderr. What they print is in
the instance language (SHELTER_LANGUAGE); the --help texts are for operators, in English."""
from __future__ import annotations

import sys
import time
from datetime import date, timedelta
from pathlib import Path

import click
from flask import Flask

from shelter.extensions import db
from shelter.i18n import _, ngettext


SQLITE_YIELD_SECONDS = 0.05


def init_app(app: Flask) -> None:
    app.cli.add_command(import_toronto_cmd)
    app.cli.add_command(refresh_report_stats)
    app.cli.add_command(export_occupancy)


@click.command("import-toronto")
@click.option("--csv", "csv_path", type=click.Path(path_type=Path), default=None,
              help="The occupancy CSV, plain or .gz (default: the copy shipped in allocator/data).")
@click.option("--nights", type=int, default=90, show_default=True)
@click.option("--allocate-last", type=int, default=7, show_default=True,
              help="Run the allocation core on the last K nights for the what-if report.")
def import_toronto_cmd(csv_path: Path | None, nights: int, allocate_last: int) -> None:
    """Load Toronto's 2024 Q1 shelter occupancy as a second demo city."""
    from shelter.services.toronto_import import ImportError_, default_csv, import_toronto

    try:
        lines = import_toronto(db.session, csv_path or default_csv(), nights,
                               allocate_last=allocate_last, checkpoint=_checkpoint)
    except ImportError_ as err:
        db.session.rollback()
        click.echo(_("error: %(message)s", message=err), err=True)
        sys.exit(2)
    db.session.commit()
    for line in lines:
        click.echo(line)


def _checkpoint() -> None:
    """Commit a batch. On SQLite, pause a moment after it: requests waiting for the write
    lock poll for it, and without a pause the next batch would take it before they wake."""
    db.session.commit()
    if db.engine.dialect.name == "sqlite":
        time.sleep(SQLITE_YIELD_SECONDS)


@click.command("refresh-report-stats")
@click.option("--start", type=click.DateTime(formats=["%Y-%m-%d"]), default=None)
@click.option("--end", type=click.DateTime(formats=["%Y-%m-%d"]), default=None)
def refresh_report_stats(start, end) -> None:  # type: ignore[no-untyped-def]
    """Recount the report aggregates for a range of nights (default: the last 30)."""
    from shelter.services.reports_fill import refresh_stats

    last = end.date() if end else date.today()
    first = start.date() if start else last - timedelta(days=30)
    if first > last:
        click.echo(_("error: --start must be on or before --end"), err=True)
        sys.exit(2)
    n = refresh_stats(db.session, [first + timedelta(days=i) for i in range((last - first).days + 1)])
    db.session.commit()
    click.echo(ngettext("counted %(num)d night", "counted %(num)d nights", n))


@click.command("export-occupancy")
@click.option("--from", "first", required=True, type=click.DateTime(formats=["%Y-%m-%d"]),
              help="The first night, YYYY-MM-DD.")
@click.option("--to", "last", required=True, type=click.DateTime(formats=["%Y-%m-%d"]),
              help="The last night, YYYY-MM-DD.")
@click.option("--city", default=None, help="Only this city's sites (default: every city).")
@click.option("--out", type=click.Path(dir_okay=False, path_type=Path), default=None,
              help="Write the CSV here (default: standard output).")
def export_occupancy(first, last, city: str | None, out: Path | None) -> None:  # type: ignore[no-untyped-def]
    """Nightly occupancy per site programme, in Toronto's open-data format (no personal data)."""
    from shelter.services.open_data import ExportError, occupancy_csv

    try:
        text = occupancy_csv(db.session, first.date(), last.date(), city)
    except ExportError as err:
        click.echo(_("error: --%(option)s: %(message)s", option=err.field, message=err),
                   err=True)
        sys.exit(2)
    db.session.rollback()
    if out is None:
        click.echo(text, nl=False)
        return
    try:
        out.write_text(text, encoding="utf-8")
    except OSError as err:
        click.echo(_("error: --out: %(reason)s: %(path)s", reason=err.strerror, path=out),
                   err=True)
        sys.exit(2)
    rows = text.count("\n") - 1
    click.echo(ngettext("wrote %(num)d row to %(path)s", "wrote %(num)d rows to %(path)s", rows,
                        path=out))
