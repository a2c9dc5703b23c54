"""Flask command for retention: `flask retention` runs the scheduled job by hand (through
the same job lease, so it never runs twice for one day alongside the scheduler). What it
prints is in the instance language; the --help text is for operators, in English."""
from __future__ import annotations

import click
from flask import Flask

from shelter.i18n import _, ngettext


def init_app(app: Flask) -> None:
    app.cli.add_command(retention)


@click.command("retention")
def retention() -> None:
    """Pseudonymise people with no activity for RETENTION_MONTHS (once per UTC day)."""
    from shelter.jobs import retention_job

    run = retention_job()
    if run is None:
        click.echo(_("Retention has already run today (or is running)."))
        return
    count = int(run.detail.split(" ")[0].removeprefix("pseudonymised="))  # retention_job's detail
    click.echo(ngettext("%(num)s record pseudonymised.", "%(num)s records pseudonymised.",
                        count))
