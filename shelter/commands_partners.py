"""Flask commands for pre-booking: API tokens, the scheduler process, expiring holds.
Messages in the instance language (SHELTER_LANGUAGE); a job run's detail is its record,
printed as stored."""
from __future__ import annotations

import sys

import click
from flask import Flask, current_app

from shelter.extensions import db
from shelter.i18n import _, ngettext


def register(app: Flask) -> None:
    for command in (create_token, revoke_token, scheduler, expire_holds):
        app.cli.add_command(command)


@click.command("create-token")
@click.argument("organisation")
@click.option("--label", default="", help="What the token is for, e.g. the partner's system.")
def create_token(organisation: str, label: str) -> None:
    """Create an API token for ORGANISATION (its name); the token is the last line printed."""
    from shelter.services.tokens import TokenError, create_token as make

    try:
        raw = make(db.session, organisation, label, via="flask create-token")
    except TokenError as exc:
        click.echo(_("error: %(message)s", message=exc), err=True)
        sys.exit(2)
    db.session.commit()
    click.echo(_("API token for '%(organisation)s' (shown once; store it now; revoke with "
                 "`flask revoke-token %(prefix)s`):", organisation=organisation, prefix=raw[:8]))
    click.echo(raw)


@click.command("revoke-token")
@click.argument("prefix")
def revoke_token(prefix: str) -> None:
    """Revoke the API token whose first 8 characters are PREFIX."""
    from shelter.services.tokens import TokenError, revoke_token as revoke

    try:
        count = revoke(db.session, prefix, via="flask revoke-token")
    except TokenError as exc:
        click.echo(_("error: %(message)s", message=exc), err=True)
        sys.exit(2)
    db.session.commit()
    click.echo(ngettext("revoked %(num)d token with prefix %(prefix)s",
                        "revoked %(num)d tokens with prefix %(prefix)s", count,
                        prefix=prefix[:8]))


@click.command("scheduler")
def scheduler() -> None:
    """Run the scheduled jobs in this process (one such process per deployment)."""
    from shelter.jobs import make_scheduler

    click.echo(_("scheduler running: expire-holds and scheduled-allocation every minute"))
    make_scheduler(current_app._get_current_object(), blocking=True).start()  # type: ignore[attr-defined]


@click.command("expire-holds")
def expire_holds() -> None:
    """Expire holds whose time has passed, now (the job the scheduler runs every minute)."""
    from shelter.jobs import expire_holds_job

    run = expire_holds_job()
    click.echo(_("skipped: another process ran this minute") if run is None else run.detail)
