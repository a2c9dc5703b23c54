"""The Toronto bench database shared by the report benches: 90 real nights imported once into
a SQLite file (reused on the next run), a manager to log in as, and a logged-in test client."""
from __future__ import annotations

import time
from pathlib import Path
from typing import Any

from shelter import create_app
from shelter.auth import hash_password
from shelter.extensions import db
from shelter.models import Role, User

USER, PASSWORD = "bench", "bench-password"


def toronto_app(path: Path, allocate_last: int) -> Any:
    """An app on `path`; a new file is migrated and gets Toronto's 90 nights (with the
    allocator run on the last `allocate_last` nights) and the bench manager."""
    path.parent.mkdir(parents=True, exist_ok=True)
    fresh = not path.exists()
    app = create_app({"SQLALCHEMY_DATABASE_URI": f"sqlite:///{path}", "SCHEDULER_ENABLED": False,
                      "WTF_CSRF_ENABLED": False, "SECRET_KEY": "bench", "TESTING": True,
                      "MFA_REQUIRED_ROLES": ""})  # the bench logs in with a password only
    if fresh:
        from flask_migrate import upgrade

        from shelter.services.toronto_import import default_csv, import_toronto

        with app.app_context():
            upgrade()
            t = time.perf_counter()
            print(*import_toronto(db.session, default_csv(), 90, allocate_last=allocate_last),
                  sep="\n")
            db.session.add(User(username=USER, display_name="Bench", role=Role.MANAGER,
                                password_hash=hash_password(PASSWORD)))
            db.session.commit()
            print(f"import: {time.perf_counter() - t:.1f} s")
    return app


def manager_client(app: Any) -> Any:
    client = app.test_client()
    client.post("/login", data={"username": USER, "password": PASSWORD})
    return client
