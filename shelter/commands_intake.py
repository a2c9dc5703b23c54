"""`flask allocate`: run tonight's allocation from the command line (a proposal to check
and confirm on the board). Commits at its edge; bad input exits 2 with one line on stderr."""
from __future__ import annotations

import sys
from datetime import date

import click
from flask import Flask

from shelter.extensions import db
from shelter.i18n import _, day_short


def init_app(app: Flask) -> None:
    app.cli.add_command(allocate)


def _fail(message: str) -> None:
    db.session.rollback()
    click.echo(_("error: %(message)s", message=message), err=True)
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
        _fail("--night: " + _("'%(value)s' is not a date (use YYYY-MM-DD)", value=night))
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
    click.echo(_("run %(run)s (%(kind)s, %(rule)s) for %(night)s in %(city)s: %(placed)s placed, "
                 "%(turned)s turned away, solver %(status)s in %(seconds)s s; confirm it on the "
                 "board", run=run.id, kind=run.kind, rule=rule, night=day_short(day), city=where,
                 placed=placed, turned=turned, status=run.solver_status,
                 seconds=f"{run.solve_seconds:.2f}"))
