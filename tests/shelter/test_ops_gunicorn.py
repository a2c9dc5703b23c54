"""The production profile starts: gunicorn with the repository's gunicorn.conf.py against
DATABASE_URL serves the app, answers the health checks, writes JSON request lines, and
stops cleanly on SIGTERM."""
from __future__ import annotations

import json
import os
import signal
import socket
import subprocess
import time
from pathlib import Path

import httpx

from shelter.extensions import db
from tests.shelter.conftest import build_app
from tests.shelter.partners_fixtures import fresh_database_url

ROOT = Path(__file__).resolve().parents[2]
GUNICORN = ROOT / ".venv" / "bin" / "gunicorn"


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_gunicorn_serves_the_app_with_the_repository_config(backend, tmp_path):
    url = fresh_database_url(backend, tmp_path, "gunicorn")
    app = build_app(url)  # migrated, as `make serve` does with `flask db upgrade`
    with app.app_context():
        db.engine.dispose()
    port = _free_port()
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "x", "BIND": f"127.0.0.1:{port}",
           "WEB_WORKERS": "2", "WEB_THREADS": "2"}
    server = subprocess.Popen([str(GUNICORN), "-c", "gunicorn.conf.py"], cwd=ROOT, env=env,
                              stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):  # wait for the workers (at most a minute)
            try:
                if httpx.get(f"{base}/healthz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                time.sleep(0.5)
        assert httpx.get(f"{base}/readyz", timeout=10).json() == {"status": "ready"}
        assert httpx.get(f"{base}/login", timeout=10).status_code == 200
        assert httpx.get(f"{base}/api/v1/holds", timeout=10).status_code == 401
    finally:
        server.send_signal(signal.SIGTERM)
        _, err = server.communicate(timeout=60)
    assert server.returncode == 0, err[-2000:]
    lines = [json.loads(x) for x in err.splitlines() if x.startswith('{"ts"')]
    assert {(x["route"], x["status"]) for x in lines} >= {
        ("/readyz", 200), ("/login", 200), ("/api/v1/holds", 401)}
    assert "Traceback" not in err
