"""Two first log-ins of one account at the same moment (a shared office account at the start
of an evening) join one server-side session instead of logging each other out."""
from __future__ import annotations

from sqlalchemy.orm import Session

from shelter.auth import start_session
from shelter.extensions import db
from shelter.models import Role, User, utcnow
from tests.shelter.conftest import _HASH


def test_two_simultaneous_first_log_ins_share_one_session(race_app):
    with race_app.app_context():
        user = User(username="office", display_name="Office", role=Role.INTAKE,
                    password_hash=_HASH)
        db.session.add(user)
        db.session.flush()
        user_id, first_token = user.id, user.session_token
        db.session.commit()
        db.session.remove()  # hold no transaction (nor SQLite's lock) while the two log in
        engine = db.engine
        # Both log-ins read the user before either has started a session.
        a, b = Session(engine, expire_on_commit=False), Session(engine, expire_on_commit=False)
        try:
            seen_by_a = a.get(User, user_id)
            a.commit()  # (one at a time: on SQLite every transaction here takes the write lock)
            seen_by_b = b.get(User, user_id)
            b.commit()
            now = utcnow()
            start_session(seen_by_a, now)  # the first starts the session ...
            a.commit()
            start_session(seen_by_b, now)  # ... the second, reading stale, joins it
            b.commit()
            assert seen_by_a.session_token != first_token  # a new session, a new token
            assert seen_by_b.session_token == seen_by_a.session_token
            with Session(engine) as fresh:
                stored = fresh.get(User, user_id).session_token
            assert stored == seen_by_a.session_token  # A's cookie still works
        finally:
            a.close()
            b.close()
