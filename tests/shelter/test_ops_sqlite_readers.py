"""SQLite keeps serving while a long write runs: read requests begin DEFERRED (a WAL
snapshot, no write lock), the Toronto import commits in batches, and a GET that writes (the
board records who viewed whom) waits for a batch at most. Five logged-in clients load the
intake board over and over while `flask import-toronto` runs in another process: 0 errors."""
from __future__ import annotations

import os
import sqlite3
import subprocess
import sys
import threading
import time
from collections import Counter
from pathlib import Path

from sqlalchemy import func, select, text

from shelter.extensions import db
from shelter.models import AuditEvent, Organisation, OrgKind, Site
from shelter.services.tokens import create_token
from tests.shelter.conftest import build_app

ROOT = Path(__file__).resolve().parents[2]


def test_five_readers_get_no_errors_while_the_toronto_import_runs(tmp_path):
    url = f"sqlite:///{tmp_path / 'shelter.db'}"
    app = build_app(url, REQUEST_LOG=False)
    assert app.test_cli_runner().invoke(args=["seed-demo"]).exit_code == 0
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "x", "FLASK_APP": "shelter",
           "REQUEST_LOG": "0", "PYTHONPATH": str(ROOT)}
    importer = subprocess.Popen(
        [sys.executable, "-m", "flask", "import-toronto", "--nights", "12", "--allocate-last", "0"],
        env=env, cwd=ROOT, stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)

    statuses: Counter[int] = Counter()
    slowest = [0.0]
    lock = threading.Lock()

    def reader() -> None:
        client = app.test_client()
        client.post("/login", data={"username": "intake", "password": "intake-shelter"})
        while importer.poll() is None:
            started = time.perf_counter()
            status = client.get("/intake/").status_code
            with lock:
                statuses[status] += 1
                slowest[0] = max(slowest[0], time.perf_counter() - started)

    readers = [threading.Thread(target=reader) for _ in range(5)]
    for t in readers:
        t.start()
    out, err = importer.communicate(timeout=600)
    for t in readers:
        t.join(timeout=60)
    print(f"\nboard loads during the import: {dict(statuses)}, slowest {slowest[0]:.2f} s")
    assert importer.returncode == 0, err[-2000:]
    assert "Toronto:" in out
    assert set(statuses) == {200} and statuses[200] >= 5
    with app.app_context():
        assert db.session.scalar(select(func.count()).select_from(Site).where(
            Site.city == "Toronto")) > 100
        assert db.session.scalar(select(func.count()).select_from(AuditEvent).where(
            AuditEvent.action == "view_board")) > 0
        limit = db.session.execute(text("PRAGMA journal_size_limit")).scalar()
        assert limit == 64 * 1024 * 1024  # the WAL is truncated back after checkpoints
        db.session.remove()
        db.engine.dispose()


def test_a_read_does_not_wait_for_a_held_write_lock(tmp_path):
    """While another connection holds SQLite's write lock (an uncommitted write), a GET
    answers at once: it begins DEFERRED and reads the last committed snapshot. (Every
    transaction used to begin IMMEDIATE: the GET waited the whole busy timeout, then 500.)"""
    url = f"sqlite:///{tmp_path / 'shelter.db'}"
    app = build_app(url, DB_BUSY_TIMEOUT=2, REQUEST_LOG=False)
    with app.app_context():
        org = Organisation(name="NAV", kind=OrgKind.MUNICIPAL)
        db.session.add(org)
        db.session.flush()
        token = create_token(db.session, "NAV")
        db.session.commit()
    writer = sqlite3.connect(tmp_path / "shelter.db", isolation_level=None)
    try:
        writer.execute("BEGIN IMMEDIATE")
        writer.execute("UPDATE organisations SET name = 'NAV Bergen'")
        client = app.test_client()
        answer = client.get("/api/v1/availability", query_string={"night": "2026-12-01"},
                            headers={"Authorization": f"Bearer {token}"})
        assert answer.status_code == 200 and answer.get_json()["night"] == "2026-12-01"
        # a write meanwhile waits for the lock, then answers 503 (not 500) when it stays taken
        refused = client.post("/api/v1/holds", json={"night": "2026-12-01", "person": {
            "name": "Kari", "gender": "woman"}}, headers={"Authorization": f"Bearer {token}"})
        assert refused.status_code == 503 and refused.get_json()["error"] == "unavailable"
    finally:
        writer.execute("ROLLBACK")
        writer.close()
        with app.app_context():
            db.session.remove()
            db.engine.dispose()
