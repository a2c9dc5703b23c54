"""A scheduler killed mid-job (kill -9) does not block the job for ever: its claim is a
lease that nobody renews any more; two schedulers started afterwards race for the job and
exactly one runs it, well within two minutes; the killed run's half-done work is gone.
Real processes on the real database; the lease is 3 s here (JOB_LEASE_SECONDS) to keep the
test short."""
from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from pathlib import Path

from sqlalchemy import func, select

from shelter.extensions import db
from shelter.models import JobRun
from tests.shelter.conftest import build_app
from tests.shelter.partners_fixtures import fresh_database_url

ROOT = Path(__file__).resolve().parents[2]
SCHEDULER = """
import os, sys, time
from sqlalchemy import select
from shelter import create_app
from shelter.extensions import db
from shelter.jobs import run_once
from shelter.models import JobRun

url, mode = sys.argv[1], sys.argv[2]
app = create_app({"SQLALCHEMY_DATABASE_URI": url, "SECRET_KEY": "x", "REQUEST_LOG": False,
                  "JOB_LEASE_SECONDS": 3})

def work(session):
    session.add(JobRun(job="lease-effect", key=str(os.getpid()), status="done"))
    session.flush()  # half-done work, in the job's transaction
    if mode == "stuck":
        print("working", flush=True)
        time.sleep(600)
    return f"done by {os.getpid()}"

with app.app_context():
    if mode == "stuck":
        run_once("nightly", "Bergen:2026-12-01", work)
    while True:  # a scheduler firing the job every 0.2 s until it is done
        if run_once("nightly", "Bergen:2026-12-01", work) is not None:
            print("ran", flush=True)
            break
        status = db.session.scalar(select(JobRun.status).where(JobRun.job == "nightly"))
        db.session.rollback()
        if status == "done":
            print("skipped", flush=True)
            break
        time.sleep(0.2)
"""


def _spawn(url: str, mode: str) -> subprocess.Popen[str]:
    env = {**os.environ, "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-c", SCHEDULER, url, mode], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_killed_scheduler_job_is_taken_over_and_runs_once(backend, tmp_path):
    url = fresh_database_url(backend, tmp_path, "lease")
    app = build_app(url)
    stuck = _spawn(url, "stuck")
    procs = [stuck]
    try:
        assert stuck.stdout is not None and stuck.stdout.readline().strip() == "working"
        stuck.send_signal(signal.SIGKILL)
        stuck.communicate(timeout=30)  # reaps it and closes its pipes
        with app.app_context():
            assert db.session.scalar(select(JobRun.status).where(JobRun.job == "nightly")) \
                == "running"  # what stayed for ever before leases
            db.session.rollback()
        started = time.monotonic()
        procs += [_spawn(url, "fresh"), _spawn(url, "fresh")]
        outputs = [p.communicate(timeout=150) for p in procs[1:]]
        took = time.monotonic() - started
    finally:
        for p in procs:
            if p.poll() is None:
                p.kill()
                p.communicate()
    print(f"\nkilled job taken over and finished in {took:.1f} s (lease 3 s)")
    assert all(p.returncode == 0 for p in procs[1:]), [err[-1500:] for _, err in outputs]
    assert sorted(out.strip() for out, _ in outputs) == ["ran", "skipped"]
    with app.app_context():
        run = db.session.scalar(select(JobRun).where(JobRun.job == "nightly"))
        assert run is not None and run.status == "done" and run.lease_until is None
        effects = db.session.scalar(select(func.count()).select_from(JobRun).where(
            JobRun.job == "lease-effect"))
        assert effects == 1  # the killed run's flushed work was never committed
        db.session.remove()
        db.engine.dispose()
