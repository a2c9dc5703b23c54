"""Fixtures for the web application: `app` (per database backend), `db` (rolled back per
test), `client`, small factories, and a live server + real Chromium for page flows.

Every test that uses `app` runs on SQLite, and on PostgreSQL too when TEST_DATABASE_URL is
set. With REQUIRE_POSTGRES=1 (CI) a missing PostgreSQL is an error, not a skip."""
from __future__ import annotations

import os
import threading
import uuid
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import date
from pathlib import Path
from typing import Any

import pytest
from flask import Flask, g, has_app_context
from flask.testing import FlaskClient
from sqlalchemy import create_engine, text
from flask_sqlalchemy.session import Session as FlaskSession
from werkzeug.serving import make_server

from shelter import create_app
from shelter.auth import hash_password
from shelter.extensions import db as _db
from shelter.models import Bed, GenderRule, Organisation, OrgKind, Role, Room, Site, User
from tests.shelter.a11y import CheckedBrowser, CheckedPage, check_page

BACKENDS = ["sqlite", "postgresql"]
PASSWORD = "correct horse battery"
_HASH = hash_password(PASSWORD)  # hashing once keeps factories fast
ARTIFACTS = Path(__file__).resolve().parents[2] / "test-artifacts"


def postgres_url() -> str | None:
    url = os.environ.get("TEST_DATABASE_URL")
    if not url and os.environ.get("REQUIRE_POSTGRES") == "1":
        pytest.fail("REQUIRE_POSTGRES=1 but TEST_DATABASE_URL is not set")
    return url


def postgres_url_or_skip() -> str:
    """The PostgreSQL URL for the PostgreSQL half of a test. A developer without PostgreSQL
    still runs the SQLite half; CI sets REQUIRE_POSTGRES=1, where postgres_url() fails the
    test instead, so the PostgreSQL half can never be skipped silently there."""
    url = postgres_url()
    if not url:
        pytest.skip("PostgreSQL tests need TEST_DATABASE_URL")
    return url


def reset_postgres(url: str) -> None:
    """Empty the test database's public schema (the run owns this database)."""
    engine = create_engine(url)
    with engine.begin() as conn:
        conn.execute(text("DROP SCHEMA public CASCADE"))
        conn.execute(text("CREATE SCHEMA public"))
    engine.dispose()


def database_url_for(backend: str, tmp: Path, name: str = "test") -> str:
    if backend == "sqlite":
        return f"sqlite:///{tmp / (name + '.db')}"
    url = postgres_url_or_skip()
    reset_postgres(url)
    return url


@contextmanager
def scratch_database(backend: str, tmp: Path, name: str = "scratch") -> Iterator[str]:
    """A URL for an empty database of its own, for tests that need committed data (threads,
    a live server, migrations) WITHOUT touching the session-wide `app` database.

    SQLite: a new file in `tmp`. PostgreSQL: a new schema in TEST_DATABASE_URL's database,
    selected through the connection's search_path, dropped afterwards. (Resetting the public
    schema instead would pull the tables from under the session-wide `app`.)"""
    if backend == "sqlite":
        yield f"sqlite:///{tmp / (name + '.db')}"
        return
    base = postgres_url_or_skip()
    schema = f"scratch_{name}_{uuid.uuid4().hex[:8]}".lower()
    admin = create_engine(base)
    with admin.begin() as conn:
        conn.execute(text(f'CREATE SCHEMA "{schema}"'))
    try:
        yield f"{base}{'&' if '?' in base else '?'}options=-csearch_path%3D{schema}"
    finally:
        with admin.begin() as conn:
            conn.execute(text(f'DROP SCHEMA IF EXISTS "{schema}" CASCADE'))
        admin.dispose()


def build_app(url: str, **extra: Any) -> Flask:
    """A migrated app on `url` (schema built by the Alembic migrations, as in production)."""
    from flask_migrate import upgrade

    config = {
        "TESTING": True,
        "SQLALCHEMY_DATABASE_URI": url,
        "SECRET_KEY": "test-secret",
        "WTF_CSRF_ENABLED": False,
        "SCHEDULER_ENABLED": False,
        # The tests read English; the bokmål tests ask for "nb" (test_i18n.py).
        "SHELTER_LANGUAGE": "en",
        # Nobody must use a second factor unless a test says so (test_security_mfa.py).
        "MFA_REQUIRED_ROLES": "",
        # Partner bookings go where asked unless a test asks for the random spread or review.
        "PARTNER_SPREAD_SHARE": 0.0,
        "PARTNER_REVIEW_SHARE": 0.0,
        **extra,
    }
    app = create_app(config)
    with app.app_context():
        upgrade()
    return app


@pytest.fixture(scope="session", params=BACKENDS)
def backend(request: pytest.FixtureRequest) -> str:
    return str(request.param)


@pytest.fixture(scope="session")
def app(backend: str, tmp_path_factory: pytest.TempPathFactory) -> Iterator[Flask]:
    url = database_url_for(backend, tmp_path_factory.mktemp(backend))
    app = build_app(url)
    yield app
    with app.app_context():
        _db.engine.dispose()


class _ConnectionSession(FlaskSession):
    """Flask-SQLAlchemy's session picks its engine itself; in tests it must use the
    connection that holds the outer transaction."""

    def get_bind(self, *args: Any, **kwargs: Any) -> Any:
        return self.bind if self.bind is not None else super().get_bind(*args, **kwargs)


@pytest.fixture()
def db(app: Flask) -> Iterator[Any]:
    """The Flask-SQLAlchemy `db`, with every session bound to one outer transaction that
    is rolled back after the test. Commits in views become savepoint releases.
    Failed log-in counts start from zero too (the app, and its limiter, live per session)."""
    for limiter in app.extensions.get("limiter", ()):
        limiter.reset()
    with app.app_context():
        connection = _db.engine.connect()
        transaction = connection.begin()
        original = _db.session
        _db.session = _db._make_scoped_session(
            {"bind": connection, "class_": _ConnectionSession, "join_transaction_mode": "create_savepoint"}
        )
        try:
            yield _db
        finally:
            _db.session.remove()
            _db.session = original
            transaction.rollback()
            connection.close()


class CommittingClient(FlaskClient):
    """A test client that commits the test's pending set-up before each request. Inside the
    `db` fixture a commit only releases a savepoint (the test's outer transaction is still
    rolled back at the end), but without it a request answered with a 4xx, which rolls its
    unit of work back, would roll the test's own flushed set-up data back with it.

    It also forgets the user Flask-Login cached in `g`: the `db` fixture keeps ONE app
    context for the whole test, so without this a second client would be served as
    whichever user the previous request loaded."""

    def open(self, *args: Any, **kwargs: Any) -> Any:
        _db.session.commit()
        if has_app_context():
            g.pop("_login_user", None)
        return super().open(*args, **kwargs)


def new_client(app: Flask) -> FlaskClient:
    """Another browser-like client (own cookies) on the rolled-back `db`."""
    return CommittingClient(app, app.response_class, use_cookies=True)


@pytest.fixture()
def client(app: Flask, db: Any) -> FlaskClient:
    return new_client(app)


@pytest.fixture()
def nb_app(app: Flask) -> Iterator[Flask]:
    """The session's app as a Bergen instance (SHELTER_LANGUAGE "nb") for one test."""
    app.config["SHELTER_LANGUAGE"] = "nb"
    yield app
    app.config["SHELTER_LANGUAGE"] = "en"


# --- factories -------------------------------------------------------------------------

@pytest.fixture()
def make_org(db: Any) -> Callable[..., Organisation]:
    def make(name: str = "NAV", kind: OrgKind = OrgKind.MUNICIPAL) -> Organisation:
        org = Organisation(name=name, kind=kind)
        db.session.add(org)
        db.session.flush()
        return org

    return make


@pytest.fixture()
def make_user(db: Any) -> Callable[..., User]:
    counter = iter(range(1, 10_000))

    def make(role: Role = Role.INTAKE, organisation: Organisation | None = None,
             username: str | None = None, sites: list[Site] | None = None) -> User:
        n = next(counter)
        user = User(
            username=username or f"{role.value}{n}",
            display_name=f"{role.value.title()} {n}",
            password_hash=_HASH,
            role=role,
            organisation=organisation,
            sites=sites or [],
        )
        db.session.add(user)
        db.session.flush()
        return user

    return make


def add_site(session: Any, code: str = "strax", beds: int = 2,
             gender: GenderRule = GenderRule.MIXED, features: list[str] | None = None,
             **fields: Any) -> Site:
    """A site with one room of `beds` beds labelled CODE-1, CODE-2, ..."""
    site = Site(code=code, name=fields.pop("name", code.title()), **fields)
    room = Room(site=site, name="Room 1", gender=gender, valid_from=date(2020, 1, 1))
    for i in range(beds):
        room.beds.append(Bed(label=f"{code}-{i + 1}", features=list(features or []),
                             valid_from=date(2020, 1, 1)))
    session.add(site)
    session.flush()
    return site


@pytest.fixture()
def make_site(db: Any) -> Callable[..., Site]:
    """make_site("strax", beds=3, gender=GenderRule.MIXED, features=[...], min_age=...)"""
    return lambda *args, **kwargs: add_site(db.session, *args, **kwargs)


def login(client: FlaskClient, user: User, password: str = PASSWORD) -> None:
    response = client.post("/login", data={"username": user.username, "password": password})
    assert response.status_code == 302, response.get_data(as_text=True)[:500]


# --- live server and a real browser -----------------------------------------------------

class LiveServer:
    def __init__(self, app: Flask) -> None:
        self.app = app
        self.server = make_server("127.0.0.1", 0, app, threaded=True)
        self.url = f"http://127.0.0.1:{self.server.server_port}"
        self.thread = threading.Thread(target=self.server.serve_forever, daemon=True)

    def __enter__(self) -> LiveServer:
        self.thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self.server.shutdown()
        self.thread.join(timeout=5)


@pytest.fixture()
def race_app(backend: str, tmp_path: Path) -> Iterator[Flask]:
    """A migrated app on a database of its own, for tests that commit from several threads."""
    from tests.shelter.partners_fixtures import fresh_database_url

    app = build_app(fresh_database_url(backend, tmp_path, "race"))
    yield app
    with app.app_context():
        _db.session.remove()
        _db.engine.dispose()


@pytest.fixture(scope="session")
def browser() -> Iterator[Any]:
    """Debian's chromium driven by Playwright; never a downloaded browser."""
    from playwright.sync_api import sync_playwright

    with sync_playwright() as pw:
        browser = pw.chromium.launch(
            executable_path="/usr/bin/chromium",
            headless=True,
            args=["--no-sandbox", "--disable-gpu", "--disable-background-networking"],
        )
        # Every page it hands out runs axe-core's WCAG 2.1 A/AA rules after `goto`.
        yield CheckedBrowser(browser)
        browser.close()


def screenshot(page: Any, name: str) -> Path:
    """Save a full-page screenshot as a test artefact (test-artifacts/NAME.png), then check
    the page against WCAG 2.1 A/AA (tests/shelter/a11y.py): the screenshot is there to
    look at when the check fails."""
    ARTIFACTS.mkdir(exist_ok=True)
    path = ARTIFACTS / f"{name}.png"
    page.screenshot(path=str(path), full_page=True)
    if isinstance(page, CheckedPage):
        page.check_accessibility()
    else:
        check_page(page)
    return path
