"""Engine set-up per dialect, and the unit of work that commits, retries or gives up.

SQLite: foreign keys on, WAL bounded by `journal_size_limit`, a busy timeout. Writers begin
with BEGIN IMMEDIATE: taking the write lock at BEGIN means a writing transaction never reads
a snapshot it then cannot write on (SQLITE_BUSY_SNAPSHOT), so two requests racing for the
last bed queue up and the unique indexes decide, as on PostgreSQL. Read-only units of work
(GET and HEAD requests) begin DEFERRED: in WAL mode they read a snapshot and never wait for a
writer, so a long import does not stall the boards. A GET that does write (the audit trail
records who viewed whom) and meets a busy database is retried once as a writer.

PostgreSQL: a connect timeout, and statement / lock / idle-in-transaction timeouts set on each
new connection, so a slow or locked database answers with an error instead of holding every
request. A server that stops answering altogether (a hung host) is not caught by its own
timeouts, so a watchdog shuts the socket of a connection whose statement, commit or ping has
run past the statement timeout plus a grace, and psycopg raises instead of waiting forever.

`unit_of_work` runs one transaction: commit on success, rollback on failure, and a bounded
retry on deadlocks and serialisation failures (PostgreSQL SQLSTATE 40P01 / 40001) and on a
busy SQLite read that turned into a write. `is_unavailable` tells errors that mean "the
database is down or too slow" (answered 503 with Retry-After) from bugs (500)."""
from __future__ import annotations

import logging
import os
import random
import socket
import sqlite3
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from contextvars import ContextVar
from typing import Any, TypeVar

from sqlalchemy import event, exc
from sqlalchemy.engine import Engine
from sqlalchemy.orm import Session

log = logging.getLogger(__name__)
T = TypeVar("T")

RETRY_SQLSTATES = {"40001", "40P01"}  # serialization_failure, deadlock_detected
DEFAULTS = {
    "DB_CONNECT_TIMEOUT": 5,  # seconds to open a connection (PostgreSQL)
    "DB_STATEMENT_TIMEOUT": 30,  # seconds per statement (PostgreSQL), then 503
    "DB_LOCK_TIMEOUT": 10,  # seconds waiting for a row or table lock (PostgreSQL)
    "DB_BUSY_TIMEOUT": 30,  # seconds a SQLite writer waits for the write lock
    "DB_RETRY_ATTEMPTS": 3,  # tries of one unit of work on deadlock / serialisation failure
    "DB_POOL_TIMEOUT": 10,  # seconds waiting for a free pooled connection
}
WAL_SIZE_LIMIT = 64 * 1024 * 1024  # bytes kept of the SQLite WAL after a checkpoint
_begin_mode: ContextVar[str] = ContextVar("sqlite_begin_mode", default="IMMEDIATE")


def settings(config: Any) -> dict[str, float]:
    """The DB_* timeouts from a Flask config (or any mapping), defaults filled in."""
    return {key: float(config.get(key, default)) for key, default in DEFAULTS.items()}


def engine_options(url: str, config: Any = None) -> dict[str, Any]:
    s = settings(config or {})
    if url.startswith("sqlite"):
        return {"connect_args": {"timeout": s["DB_BUSY_TIMEOUT"], "check_same_thread": False}}
    return {
        "connect_args": {"connect_timeout": max(1, int(s["DB_CONNECT_TIMEOUT"]))},
        "pool_timeout": s["DB_POOL_TIMEOUT"],
        "pool_size": 5,
        "max_overflow": 10,
    }


def configure_engine(engine: Engine, config: Any = None) -> None:
    if engine.dialect.name == "sqlite":
        _configure_sqlite(engine, settings(config or {}))
    elif engine.dialect.name == "postgresql":
        _configure_postgresql(engine, settings(config or {}))


def _configure_sqlite(engine: Engine, s: dict[str, float]) -> None:
    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        dbapi_connection.isolation_level = None  # we emit BEGIN ourselves
        cursor = dbapi_connection.cursor()
        cursor.execute("PRAGMA foreign_keys=ON")
        cursor.execute(f"PRAGMA busy_timeout={int(s['DB_BUSY_TIMEOUT'] * 1000)}")
        if engine.url.database not in (None, "", ":memory:"):
            cursor.execute("PRAGMA journal_mode=WAL")
            cursor.execute("PRAGMA synchronous=NORMAL")
            cursor.execute(f"PRAGMA journal_size_limit={WAL_SIZE_LIMIT}")
        cursor.close()

    @event.listens_for(engine, "begin")
    def _on_begin(conn: Any) -> None:
        conn.exec_driver_sql(f"BEGIN {_begin_mode.get()}")


def _configure_postgresql(engine: Engine, s: dict[str, float]) -> None:
    """A timeout of 0 means none (PostgreSQL's own meaning); with no statement timeout
    there is no watchdog either (a migration may run for minutes)."""
    statement_ms = int(s["DB_STATEMENT_TIMEOUT"] * 1000)
    lock_ms = int(s["DB_LOCK_TIMEOUT"] * 1000)
    idle_ms = max(statement_ms * 2, 300_000) if statement_ms else 0
    grace = s["DB_STATEMENT_TIMEOUT"] + max(2.0, s["DB_CONNECT_TIMEOUT"])
    watchdog = _WATCHDOG if statement_ms else _NO_WATCHDOG

    @event.listens_for(engine, "connect")
    def _on_connect(dbapi_connection: Any, _record: Any) -> None:
        with watchdog.guard(dbapi_connection, grace):
            with dbapi_connection.cursor() as cursor:
                cursor.execute(f"SET statement_timeout = {statement_ms}")
                cursor.execute(f"SET lock_timeout = {lock_ms}")
                cursor.execute(f"SET idle_in_transaction_session_timeout = {idle_ms}")
            dbapi_connection.commit()

    @event.listens_for(engine, "checkout")
    def _ping(dbapi_connection: Any, _record: Any, _proxy: Any) -> None:
        # pool_pre_ping without the watchdog could wait forever on a hung server
        try:
            with watchdog.guard(dbapi_connection, grace):
                with dbapi_connection.cursor() as cursor:
                    cursor.execute("SELECT 1")  # its transaction is the request's (as pre_ping)
        except Exception as err:  # the pool retries with a fresh connection
            raise exc.DisconnectionError(str(err).splitlines()[0] if str(err) else "") from err

    @event.listens_for(engine, "before_cursor_execute")
    def _arm(conn: Any, *_args: Any) -> None:
        watchdog.arm(_dbapi(conn), grace)

    @event.listens_for(engine, "after_cursor_execute")
    def _disarm(conn: Any, *_args: Any) -> None:
        watchdog.disarm(_dbapi(conn))

    @event.listens_for(engine, "handle_error")
    def _disarm_on_error(context: Any) -> None:
        if context.connection is not None:
            watchdog.disarm(_dbapi(context.connection))

    for name in ("commit", "rollback"):  # armed until the connection goes back to the pool
        event.listen(engine, name, lambda conn: watchdog.arm(_dbapi(conn), grace))

    @event.listens_for(engine.pool, "checkin")
    def _checkin(dbapi_connection: Any, _record: Any) -> None:
        if dbapi_connection is not None:
            watchdog.disarm(dbapi_connection)


def _dbapi(conn: Any) -> Any:
    """The DBAPI connection under a SQLAlchemy Connection, or None once it is invalidated."""
    try:
        return None if conn.invalidated else conn.connection.dbapi_connection
    except exc.SQLAlchemyError:
        return None


class Watchdog:
    """Shuts the socket of a psycopg connection busy for longer than its grace in seconds:
    the waiting call then fails with an OperationalError at once (SQLAlchemy invalidates the
    connection) instead of waiting on a server that will never answer. One thread per
    process, started on first use."""

    def __init__(self) -> None:
        self._deadlines: dict[int, tuple[float, Any]] = {}
        self._lock = threading.Lock()
        self._thread: threading.Thread | None = None

    def arm(self, connection: Any, grace: float) -> None:
        if connection is None:
            return
        with self._lock:
            self._deadlines[id(connection)] = (time.monotonic() + grace, connection)
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(target=self._watch, name="db-watchdog",
                                                daemon=True)
                self._thread.start()

    def disarm(self, connection: Any) -> None:
        with self._lock:
            self._deadlines.pop(id(connection), None)

    @contextmanager
    def guard(self, connection: Any, grace: float) -> Iterator[None]:
        self.arm(connection, grace)
        try:
            yield
        finally:
            self.disarm(connection)

    def _watch(self) -> None:
        while True:
            time.sleep(0.5)
            now = time.monotonic()
            with self._lock:
                late = [c for deadline, c in self._deadlines.values() if deadline < now]
                for connection in late:
                    self._deadlines.pop(id(connection), None)
            for connection in late:
                _shut_socket(connection)


class _NoWatchdog(Watchdog):
    def arm(self, connection: Any, grace: float) -> None:
        pass


_WATCHDOG = Watchdog()
_NO_WATCHDOG = _NoWatchdog()


def _shut_socket(connection: Any) -> None:
    try:
        fd = connection.pgconn.socket
        sock = socket.socket(fileno=os.dup(fd))
        try:
            sock.shutdown(socket.SHUT_RDWR)
        finally:
            sock.close()
        log.warning("database did not answer in time; connection shut")
    except Exception:  # already closed: nothing to wake
        pass


# --- classifying errors ---------------------------------------------------------------------

def _sqlstate(err: BaseException) -> str | None:
    orig = getattr(err, "orig", None) or err
    return getattr(orig, "sqlstate", None)


def is_retryable(err: BaseException) -> bool:
    """A deadlock or serialisation failure: the same unit of work may succeed if run again."""
    return _sqlstate(err) in RETRY_SQLSTATES


def is_sqlite_busy(err: BaseException) -> bool:
    orig = getattr(err, "orig", None)
    return isinstance(orig, sqlite3.OperationalError) and "locked" in str(orig)


def is_unavailable(err: BaseException) -> bool:
    """The database is down, unreachable, too slow, or too busy: worth a 503 + Retry-After."""
    if isinstance(err, exc.DBAPIError) and err.connection_invalidated:
        return True
    if isinstance(err, (exc.TimeoutError, exc.DisconnectionError, exc.InterfaceError)):
        return True
    if isinstance(err, exc.OperationalError):
        return True  # refused, timed out, cancelled, locked, deadlocked past its retries
    return False


# --- the unit of work -------------------------------------------------------------------------

def unit_of_work(session: Session, work: Callable[[], T], *, read_only: bool = False,
                 attempts: int = 3, commit: Callable[[T], bool] = lambda _result: True,
                 on_retry: Callable[[], None] | None = None) -> T:
    """Run `work()` in one transaction and commit it (or roll back when `commit(result)` is
    false). A deadlock or serialisation failure rolls back and runs `work` again, up to
    `attempts` times in all, after a short random pause; `on_retry` undoes side effects kept
    outside the database (e.g. flashed messages). A read-only unit of work on SQLite begins
    DEFERRED; if it wrote after all and found the database busy, it is run again as a writer.
    Any other error rolls back and is re-raised (so is the last retryable one)."""
    for attempt in range(1, attempts + 1):
        token = _begin_mode.set("DEFERRED" if read_only and attempt == 1 else "IMMEDIATE")
        try:
            result = work()
            if commit(result):
                session.commit()
            else:
                session.rollback()
            return result
        except exc.DBAPIError as err:
            _rollback_quietly(session)
            retry = is_retryable(err) or (read_only and attempt == 1 and is_sqlite_busy(err))
            if not retry or attempt == attempts:
                raise
            log.info("retrying unit of work (attempt %d of %d): %s", attempt + 1, attempts,
                     _sqlstate(err) or "sqlite busy")
            if on_retry is not None:
                on_retry()
            time.sleep(random.uniform(0.02, 0.1) * attempt)  # let the winner commit first
        except BaseException:
            _rollback_quietly(session)
            raise
        finally:
            _begin_mode.reset(token)
    raise AssertionError("unreachable")  # pragma: no cover


def _rollback_quietly(session: Session) -> None:
    try:
        session.rollback()
    except exc.SQLAlchemyError:  # the connection is gone; the pool has forgotten it
        session.invalidate()
