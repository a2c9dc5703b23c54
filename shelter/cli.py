"""Flask commands: create-user, seed-demo, ..."""
from __future__ import annotations

import sys

import click
from flask import Flask
from sqlalchemy import select

from shelter.auth import hash_password
from shelter.extensions import db
from shelter.models import Organisation, Role, User


def init_app(app: Flask) -> None:
    app.cli.add_command(create_user)


@click.command("create-user")
@click.argument("username")
@click.option("--role", type=click.Choice([r.value for r in Role]), default="admin")
@click.option("--name", "display_name", default=None, help="Display name (default: username).")
@click.option("--organisation", default=None, help="Organisation name (required for partners).")
@click.password_option()
def create_user(username: str, role: str, display_name: str | None, organisation: str | None,
                password: str) -> None:
    """Create a user, e.g. the first admin: flask create-user admin --role admin"""
    if db.session.scalar(select(User).where(User.username == username)):
        click.echo(f"error: user '{username}' already exists", err=True)
        sys.exit(2)
    org = None
    if organisation:
        org = db.session.scalar(select(Organisation).where(Organisation.name == organisation))
        if org is None:
            click.echo(f"error: --organisation: no organisation named '{organisation}'", err=True)
            sys.exit(2)
    if role == "partner" and org is None:
        click.echo("error: --organisation: a partner user needs an organisation", err=True)
        sys.exit(2)
    if len(password) < 10:
        click.echo("error: password: use at least 10 characters", err=True)
        sys.exit(2)
    db.session.add(User(username=username, display_name=display_name or username,
                        password_hash=hash_password(password), role=Role(role), organisation=org))
    db.session.commit()
    click.echo(f"created {role} user '{username}'")
