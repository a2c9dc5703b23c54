"""The Flask application: `create_app(config=None)` builds it (app factory)."""
from __future__ import annotations

from pathlib import Path
from typing import Any

from flask import Flask

ROOT = Path(__file__).resolve().parent.parent


def create_app(config: dict[str, Any] | None = None) -> Flask:
    """Build the app. Tests pass their own `config` (at least SQLALCHEMY_DATABASE_URI)."""
    from shelter.config import from_environment
    from shelter.database import configure_engine, engine_options
    from shelter.extensions import csrf, db, login_manager, migrate

    app = Flask(
        __name__,
        instance_path=str(ROOT / "instance"),
        template_folder=str(ROOT / "templates"),
        static_folder="static",
    )
    app.config.from_mapping(from_environment(Path(app.instance_path)))
    if config:
        app.config.update(config)
    app.config.setdefault(
        "SQLALCHEMY_ENGINE_OPTIONS", engine_options(app.config["SQLALCHEMY_DATABASE_URI"])
    )

    db.init_app(app)
    migrate.init_app(app, db, directory=str(ROOT / "migrations"), render_as_batch=True)
    csrf.init_app(app)
    login_manager.init_app(app)
    with app.app_context():
        configure_engine(db.engine)

    from shelter import auth, cli, errors, security, templating

    auth.init_app(app)
    errors.init_app(app)
    templating.init_app(app)
    cli.init_app(app)
    security.init_app(app)  # before the blueprints: it bounds <int:...> in their URLs

    from shelter.views import admin, api, intake, partners, people, public, reports

    app.register_blueprint(public.bp)
    app.register_blueprint(intake.bp, url_prefix="/intake")
    app.register_blueprint(people.bp, url_prefix="/people")
    app.register_blueprint(partners.bp, url_prefix="/partner")
    app.register_blueprint(reports.bp, url_prefix="/reports")
    app.register_blueprint(admin.bp, url_prefix="/admin")
    app.register_blueprint(api.bp, url_prefix="/api/v1")
    csrf.exempt(api.bp)  # bearer-token API: no cookies, so no CSRF

    @app.after_request
    def _commit_unit_of_work(response):  # type: ignore[no-untyped-def]
        # One transaction per request: services flush; here it commits or rolls back.
        if response.status_code < 400:
            db.session.commit()
        else:
            db.session.rollback()
        return response

    from shelter import jobs

    jobs.init_app(app)
    return app
