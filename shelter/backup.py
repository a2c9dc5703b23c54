"""`flask backup PATH`: a consistent copy of the database while the app keeps running.

SQLite: the online backup API (sqlite3.Connection.backup) copies page by page; writers may
go on meanwhile, and the copy is one consistent snapshot. Restore = stop the app, put the
file in place of instance/shelter.db (its -wal and -shm files removed), start the app.

PostgreSQL: `pg_dump -Fc` (custom format, compressed, consistent snapshot) into PATH.
Restore into an empty database: `pg_restore --no-owner -d DATABASE_URL PATH`
(README "Running in production" has the steps). Raises BackupError with one line."""
from __future__ import annotations

import shutil
import sqlite3
import subprocess
from pathlib import Path

from sqlalchemy.engine import Engine, make_url

from shelter.i18n import _, number

PAGES_PER_STEP = 1024  # copy in steps, so writers get the lock between them


class BackupError(RuntimeError):
    """The backup could not be made; the message says why."""


def backup(engine: Engine, target: Path) -> str:
    """Copy the database behind `engine` to `target`; returns a one-line summary."""
    if target.exists():
        raise BackupError(_("%(path)s exists; choose a new file name", path=target))
    if not target.parent.is_dir():
        raise BackupError(_("no such folder: %(path)s", path=target.parent))
    if engine.dialect.name == "sqlite":
        return _sqlite(engine, target)
    if engine.dialect.name == "postgresql":
        return _pg_dump(engine, target)
    raise BackupError(_("no backup for %(database)s", database=engine.dialect.name))


def _sqlite(engine: Engine, target: Path) -> str:
    database = engine.url.database
    if not database or database == ":memory:":
        raise BackupError(_("an in-memory database cannot be backed up"))
    source = sqlite3.connect(database, timeout=30)
    copy = sqlite3.connect(target)
    try:
        source.backup(copy, pages=PAGES_PER_STEP)
    finally:
        copy.close()
        source.close()
    return _("backed up %(source)s to %(path)s (%(size)s bytes, sqlite backup API)",
             source=database, path=target, size=number(target.stat().st_size))


def libpq_url(engine: Engine) -> str:
    """The SQLAlchemy URL as a libpq one (no +psycopg driver part) for pg_dump/pg_restore."""
    url = make_url(engine.url.render_as_string(hide_password=False))
    return url.set(drivername="postgresql").render_as_string(hide_password=False)


def _pg_dump(engine: Engine, target: Path) -> str:
    pg_dump = shutil.which("pg_dump")
    if pg_dump is None:
        raise BackupError(_("pg_dump is not installed (apt-get install postgresql-client)"))
    done = subprocess.run([pg_dump, "-Fc", "--no-owner", "--file", str(target),
                           "--dbname", libpq_url(engine)], capture_output=True, text=True)
    if done.returncode != 0:
        target.unlink(missing_ok=True)
        raise BackupError(_("pg_dump failed: %(error)s",
                            error=(done.stderr.strip().splitlines() or ["?"])[-1]))
    return _("backed up %(source)s to %(path)s (%(size)s bytes, pg_dump -Fc)",
             source=engine.url.database, path=target, size=number(target.stat().st_size))
