"""`flask allocate`: run tonight's allocation from the command line (a proposal to check
and confirm on the board). Commits at its edge; bad input exits 2 with one line on stderr."""
from __future__ import annotations

import sys
from datetime import date

import click
from flask import Flask

from shelter.extensions import db


def init_app(app: Flask) -> None:
    app.cli.add_command(allocate)


def _fail(message: str) -> None:
    db.session.rollback()
    click.echo(f"error: {message}", err=True)
    sys.exit(2)


@click.command("allocate")
@click.option("--night", default=None, help="The evening's date, YYYY-MM-DD (default: tonight).")
@click.option("--city", default=None, help="City (default: the app's CITY setting).")
@click.option("--rule", type=click.Choice(["need", "first-come"]), default="need")
def allocate(night: str | None, city: str | None, rule: str) -> None:
    """Run the allocation core on a night's requests and store the proposal."""
    from shelter.config import instance_city
    from shelter.services.allocation import AllocationError, run_allocation
    from shelter.clock import tonight
    from shelter.database import unit_of_work

    try:
        day = date.fromisoformat(night) if night else tonight()
    except ValueError:
        _fail(f"--night: '{night}' is not a date (use YYYY-MM-DD)")
        return
    where = city or instance_city()
    try:
        # one transaction, run again after a deadlock or serialisation failure
        run = unit_of_work(db.session, lambda: run_allocation(
            db.session, day, city=where, user=None, kind=None, rule=rule, allow_empty=False))
    except AllocationError as err:
        _fail(str(err))
        return
    placed, turned = len(run.result_json["assignments"]), len(run.result_json["turned_away"])
    db.session.commit()
    click.echo(f"run {run.id} ({run.kind}, {rule}) for {day} in {where}: {placed} placed, "
               f"{turned} turned away, solver {run.solver_status} in {run.solve_seconds:.2f} s; "
               f"confirm it on the board")
