"""The Flask application: `create_app(config=None)` builds it (app factory)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask, request, session
from flask.typing import ResponseReturnValue

ROOT = Path(__file__).resolve().parent.parent
READ_METHODS = frozenset({"GET", "HEAD", "OPTIONS"})


class ShelterFlask(Flask):
    """Flask whose every view runs as one unit of work (shelter.database.unit_of_work):
    services flush; a response under 400 commits, any other rolls back; a deadlock or
    serialisation failure runs the view again (bounded), so the person never sees it.
    GET/HEAD begin as readers (on SQLite: no write lock while a long write runs)."""

    def dispatch_request(self) -> ResponseReturnValue:
        from shelter.database import unit_of_work
        from shelter.extensions import db
        from shelter.services import audit

        flashes = list(session.get("_flashes", []))

        def forget_flashes() -> None:  # a retried view flashes its message again
            if flashes:
                session["_flashes"] = list(flashes)
            else:
                session.pop("_flashes", None)

        def retry() -> None:
            forget_flashes()
            audit.forget_reads()

        audit.keep_reads()
        try:
            response = unit_of_work(
                db.session, lambda: self.make_response(Flask.dispatch_request(self)),
                read_only=request.method in READ_METHODS,
                attempts=int(self.config.get("DB_RETRY_ATTEMPTS", 3)),
                commit=lambda response: response.status_code < 400,
                on_retry=retry)
        except BaseException:  # who saw whom is kept even when the answer is an error
            try:
                audit.write_reads(db.session)
            except Exception:  # e.g. the database is down: the first error is the answer
                self.logger.warning("could not write the read-audit of a failed request")
            raise
        audit.write_reads(db.session)
        return response


def _from_flask_command() -> bool:
    """True when the `flask` command line builds the app (its click context is active);
    gunicorn and tests build it outside one."""
    import click

    ctx = click.get_current_context(silent=True)
    return ctx is not None and ctx.find_root().info_name in ("flask", "python -m flask")


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the app. Tests pass their own `config` (at least SQLALCHEMY_DATABASE_URI)."""
    from shelter.config import from_environment
    from shelter.database import configure_engine, engine_options
    from shelter.extensions import csrf, db, login_manager, migrate

    app = ShelterFlask(
        __name__,
        instance_path=str(ROOT / "instance"),
        template_folder=str(ROOT / "templates"),
        static_folder="static",
    )
    app.config.from_mapping(from_environment(Path(app.instance_path)))
    if config:
        app.config.update(config)
    if _from_flask_command():  # migrations, imports, the scheduler: no web time limits
        for key in ("DB_STATEMENT_TIMEOUT", "DB_LOCK_TIMEOUT"):
            app.config.setdefault(key, 0)
    app.config.setdefault(
        "SQLALCHEMY_ENGINE_OPTIONS",
        engine_options(app.config["SQLALCHEMY_DATABASE_URI"], app.config),
    )

    db.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"), render_as_batch=True)
    csrf.init_app(app)
    login_manager.init_app(app)
    with app.app_context():
        configure_engine(db.engine, app.config)

    from shelter import auth, cli, errors, i18n, requestlog, security, templating, words

    requestlog.init_app(app)
    auth.init_app(app)
    errors.init_app(app)
    i18n.init_app(app)
    templating.init_app(app)
    words.init_app(app)
    from shelter.services import reasons

    reasons.init_app(app)
    cli.init_app(app)
    security.init_app(app)  # before the blueprints: it bounds <int:...> in their URLs

    from shelter.views import (
        admin, api, cold, health, intake, mfa, partners, pending, people, public, reports,
    )

    app.register_blueprint(health.bp)
    app.register_blueprint(public.bp)
    app.register_blueprint(mfa.bp, url_prefix="/account/mfa")
    app.register_blueprint(intake.bp, url_prefix="/intake")
    app.register_blueprint(pending.bp, url_prefix="/intake/pending")
    app.register_blueprint(people.bp, url_prefix="/people")
    app.register_blueprint(partners.bp, url_prefix="/partner")
    app.register_blueprint(reports.bp, url_prefix="/reports")
    app.register_blueprint(cold.bp, url_prefix="/cold-nights")
    app.register_blueprint(admin.bp, url_prefix="/admin")
    from shelter.views import privacy
    app.register_blueprint(privacy.bp, url_prefix="/privacy")
    app.register_blueprint(api.bp, url_prefix="/api/v1")
    csrf.exempt(api.bp)  # bearer-token API: no cookies, so no CSRF

    from shelter import jobs

    jobs.init_app(app)
    return app
