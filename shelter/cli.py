"""Flask commands: create-user, seed-demo, backup. Each commits at its edge; bad input exits
non-zero with one line on stderr.

Messages are in the instance language (SHELTER_LANGUAGE: a command has no request, so
Flask-Babel's locale selector answers with the instance default); --help texts stay English
(they describe the command line itself, like the README)."""
from __future__ import annotations

import sqlite3
import sys
from pathlib import Path

import click
from flask import Flask
from flask.cli import with_appcontext
from sqlalchemy import select

from shelter import clock
from shelter.extensions import db
from shelter.i18n import _
from shelter.models import Organisation


def init_app(app: Flask) -> None:
    app.cli.add_command(create_user)
    app.cli.add_command(seed_demo)
    app.cli.add_command(backup)
    # Feature commands live beside their feature; imported here, inside the factory's call.
    from shelter import commands_intake, commands_partners, commands_privacy, commands_reports

    commands_intake.init_app(app)
    commands_partners.register(app)
    commands_reports.init_app(app)
    commands_privacy.init_app(app)


def _fail(message: str) -> None:
    db.session.rollback()
    click.echo(_("error: %(message)s", message=message), err=True)
    sys.exit(2)


@click.command("create-user")
@click.argument("username")
@click.option("--role", default="admin", show_default=True,
              help="intake, partner, manager or admin.")
@click.option("--name", "display_name", default="", help="Display name (default: username).")
@click.option("--organisation", default=None, help="Organisation name (required for partners).")
@click.password_option(help="At least 12 characters, not a common password (prompted when "
                             "not given).")
@with_appcontext
def create_user(username: str, role: str, display_name: str, organisation: str | None,
                password: str) -> None:
    """Create a user, e.g. the first admin: flask create-user admin --role admin"""
    from shelter.services.accounts import FieldError, create_user as create

    org = None
    if organisation:
        org = db.session.scalar(select(Organisation).where(Organisation.name == organisation))
        if org is None:
            _fail("--organisation: " + _("no organisation named '%(name)s'", name=organisation))
    try:
        create(db.session, username=username, display_name=display_name, role=role,
               password=password, organisation=org, via="flask create-user")
    except FieldError as err:
        _fail(f"--{err.field}: {err.message}" if err.field != "username" else str(err))
    db.session.commit()
    click.echo(_("created %(role)s user '%(username)s'", role=role, username=username))


@click.command("seed-demo")
@click.option("--once", is_flag=True, help="Do nothing when the demo data is already there.")
@with_appcontext
def seed_demo(once: bool) -> None:
    """Fill an empty database with a Bergen-like demo city, its partners and demo users."""
    from shelter.demo import seed_demo as seed
    from shelter.demo.base import is_seeded, real_usernames

    if real := real_usernames(db.session):
        shown = ", ".join(real[:5]) + (" ..." if len(real) > 5 else "")
        _fail(_("this database has users that are not demo users (%(users)s); seed-demo adds "
                "demo accounts with published passwords, so it only fills a database without "
                "real users", users=shown))
    if is_seeded(db.session):
        if once:
            click.echo(_("seed-demo: demo data already present; nothing to do"))
            return
        _fail(_("demo data already present (use --once to skip, or start from an empty "
                "database)"))
    today = clock.tonight()
    try:
        lines = seed(db.session, today)
    except Exception as err:  # one line, nothing half-written
        _fail(_("seed-demo failed, nothing saved: %(error)s",
                error=f"{err.__class__.__name__}: {err}").splitlines()[0])
    db.session.commit()
    for line in lines:
        click.echo(line)


@click.command("backup")
@click.argument("path", type=click.Path(path_type=Path, dir_okay=False))
@with_appcontext
def backup(path: Path) -> None:
    """Copy the database to PATH while the app runs (SQLite backup API; pg_dump -Fc)."""
    from shelter.backup import BackupError, backup as make_backup

    try:
        click.echo(make_backup(db.engine, path))
    except (BackupError, OSError, sqlite3.Error) as err:
        _fail(str(err).splitlines()[0] if str(err) else err.__class__.__name__)
