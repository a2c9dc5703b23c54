"""Scheduled jobs: each runs once per key even when several processes fire it at once,
expired holds free their beds, the night's proposal is run when intake opens."""
from __future__ import annotations

import os
import subprocess
import sys
import time
import types
from datetime import UTC, datetime, time as clock, timedelta
from pathlib import Path

import pytest
from sqlalchemy import func, select

from shelter.extensions import db
from shelter.jobs import (
    JOB_DEFAULTS, expire_holds_job, make_scheduler, minute_key, run_once, scheduled_allocation_job,
)
from shelter.models import AllocationRun, Gender, Hold, HoldStatus, JobRun, Request, RequestStatus
from shelter.services.prebooking import BookingRequest, PersonSpec, book_hold
from tests.shelter.conftest import build_app
from tests.shelter.partners_fixtures import TZ, add_org, add_site, fresh_database_url, tomorrow

ROOT = Path(__file__).resolve().parents[2]
PROCESSES = 4


@pytest.fixture()
def jobs_app(backend, tmp_path):
    url = fresh_database_url(backend, tmp_path, "jobs")
    app = build_app(url)
    app.config["TEST_URL"] = url
    yield app
    with app.app_context():
        db.session.remove()
        db.engine.dispose()


def _holds(app, count: int) -> list[int]:
    with app.app_context():
        org = add_org(db.session, "NAV")
        add_site(db.session, "strax", beds=count)
        ids = []
        for i in range(count):
            hold = book_hold(db.session, BookingRequest(
                organisation_id=org.id, night=tomorrow(),
                person=PersonSpec(name=f"P{i}", gender=Gender.MAN)), None)
            ids.append(hold.id)
        db.session.commit()
        return ids


def _make_due(app, ids: list[int]) -> None:
    with app.app_context():
        for hold in db.session.scalars(select(Hold).where(Hold.id.in_(ids))):
            hold.expires_at = datetime(2000, 1, 1)
        db.session.commit()


def test_expire_job_frees_beds_and_withdraws_requests(jobs_app):
    ids = _holds(jobs_app, 3)
    _make_due(jobs_app, ids[:2])
    with jobs_app.app_context():
        run = expire_holds_job()
        assert run is not None and run.status == "done" and run.detail.startswith("expired=2")
        statuses = dict(db.session.execute(select(Hold.id, Hold.status)).all())
        assert statuses == {ids[0]: HoldStatus.EXPIRED, ids[1]: HoldStatus.EXPIRED,
                            ids[2]: HoldStatus.HELD}
        withdrawn = db.session.scalar(select(func.count(Request.id)).where(
            Request.status == RequestStatus.WITHDRAWN))
        assert withdrawn == 2
        assert expire_holds_job(run.started_at) is None  # same minute again: skipped


@pytest.fixture()
def spawned():
    procs: list[subprocess.Popen[str]] = []
    yield procs
    for p in procs:  # only the processes this test started
        if p.poll() is None:
            p.kill()
        p.communicate()


def _spawn(app, code: str) -> subprocess.Popen[str]:
    env = {**os.environ, "DATABASE_URL": app.config["TEST_URL"], "SECRET_KEY": "t",
           "FLASK_APP": "shelter", "PYTHONPATH": str(ROOT)}
    return subprocess.Popen([sys.executable, "-c", code], cwd=ROOT, env=env,
                            stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True)


def test_concurrent_processes_expire_each_hold_once(jobs_app, tmp_path, spawned):
    ids = _holds(jobs_app, 6)
    _make_due(jobs_app, ids)
    go = tmp_path / "go"
    # Every process builds its app, waits at a barrier file, then runs the job for one
    # fixed minute: only one may claim it.
    code = f"""
import time, pathlib
from datetime import datetime
from shelter import create_app
from shelter.jobs import expire_holds_job
app = create_app()
with app.app_context():
    while not pathlib.Path({str(go)!r}).exists():
        time.sleep(0.01)
    run = expire_holds_job(datetime(2030, 1, 1, 12, 0))
    print("skipped" if run is None else run.detail)
"""
    procs = [_spawn(jobs_app, code) for _ in range(PROCESSES)]
    spawned.extend(procs)
    time.sleep(0.5)
    go.touch()
    outputs = []
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        outputs.append(out.strip().splitlines()[-1])
    winners = [o for o in outputs if o != "skipped"]
    assert len(winners) == 1, outputs
    assert winners[0].startswith(f"expired={len(ids)} ")
    with jobs_app.app_context():
        runs = db.session.scalars(select(JobRun).where(JobRun.job == "expire-holds")).all()
        assert [(r.key, r.status) for r in runs] == [(minute_key(datetime(2030, 1, 1, 12)), "done")]
        assert set(db.session.scalars(select(Hold.status))) == {HoldStatus.EXPIRED}


def test_expire_holds_command_in_parallel_processes(jobs_app, spawned):
    ids = _holds(jobs_app, 4)
    _make_due(jobs_app, ids)
    code = "from flask.cli import main; import sys; sys.argv=['flask','expire-holds']; main()"
    procs = [_spawn(jobs_app, code) for _ in range(PROCESSES)]
    spawned.extend(procs)
    expired: list[int] = []
    for p in procs:
        out, err = p.communicate(timeout=120)
        assert p.returncode == 0, err
        line = out.strip().splitlines()[-1]
        if line.startswith("expired="):
            expired += [int(x) for x in line.split("ids=")[1].split(",") if x]
    assert sorted(expired) == sorted(ids)  # each hold expired by exactly one process
    with jobs_app.app_context():
        keys = db.session.scalars(select(JobRun.key).where(JobRun.job == "expire-holds")).all()
        assert len(keys) == len(set(keys)) >= 1


def test_failed_run_can_be_claimed_again_and_a_done_run_cannot(jobs_app):
    with jobs_app.app_context():
        def boom(session):  # type: ignore[no-untyped-def]
            raise RuntimeError("solver down")

        with pytest.raises(RuntimeError):
            run_once("demo", "k", boom)
        assert db.session.scalar(select(JobRun.status).where(JobRun.key == "k")) == "failed"
        assert run_once("demo", "k", lambda s: "ok").detail == "ok"
        assert run_once("demo", "k", lambda s: "again") is None


def test_scheduled_allocation_runs_once_per_city_after_intake_opens(jobs_app, monkeypatch):
    calls = []

    def run_allocation(session, night, *, city, user, kind):  # type: ignore[no-untyped-def]
        calls.append((night, city, user, kind))
        run = AllocationRun(night=night, city=city, kind=kind, solver_status="optimal",
                            input_json={}, result_json={})
        session.add(run)
        session.flush()
        return run

    monkeypatch.setitem(sys.modules, "shelter.services.allocation",
                        types.SimpleNamespace(run_allocation=run_allocation))
    with jobs_app.app_context():
        add_site(db.session, "strax", intake_opens=clock(17, 0), city="Bergen")
        add_site(db.session, "late", intake_opens=clock(19, 0), city="Bergen")
        add_site(db.session, "oslo", intake_opens=clock(18, 0), city="Oslo")
        db.session.commit()
        day = tomorrow()

        def utc(h: int, m: int = 0) -> datetime:
            local = datetime(day.year, day.month, day.day, h, m, tzinfo=__import__("zoneinfo").ZoneInfo(TZ))
            return local.astimezone(UTC).replace(tzinfo=None)

        assert scheduled_allocation_job(utc(16, 59), TZ) == []
        assert scheduled_allocation_job(utc(17, 0), TZ) == [f"Bergen:{day}"]
        assert scheduled_allocation_job(utc(17, 1), TZ) == []  # already ran for the night
        assert scheduled_allocation_job(utc(18, 30), TZ) == [f"Oslo:{day}"]
        assert calls == [(day, "Bergen", None, "scheduled"), (day, "Oslo", None, "scheduled")]
        # Staff ran a proposal by hand before intake opened: the job records it and skips.
        next_day = day + timedelta(days=1)
        db.session.add(AllocationRun(night=next_day, city="Bergen", solver_status="optimal",
                                     input_json={}, result_json={}))
        db.session.commit()
        local = datetime(next_day.year, next_day.month, next_day.day, 17, 30,
                         tzinfo=__import__("zoneinfo").ZoneInfo(TZ))
        scheduled_allocation_job(local.astimezone(UTC).replace(tzinfo=None), TZ)
        detail = db.session.scalar(select(JobRun.detail).where(JobRun.key == f"Bergen:{next_day}"))
        assert detail.startswith("skipped") and len(calls) == 2


def test_scheduler_jobs_coalesce_and_start_only_when_enabled(jobs_app, tmp_path):
    scheduler = make_scheduler(jobs_app)
    jobs = {job.id: job for job in scheduler.get_jobs()}
    assert set(jobs) == {"expire-holds", "scheduled-allocation", "deliver-notifications",
                         "retention"}
    for job in jobs.values():
        assert job.coalesce is True and job.misfire_grace_time == JOB_DEFAULTS["misfire_grace_time"]
        assert job.max_instances == 1
    from apscheduler.schedulers.blocking import BlockingScheduler

    assert isinstance(make_scheduler(jobs_app, blocking=True), BlockingScheduler)  # flask scheduler
    assert "scheduler" not in jobs_app.extensions
    enabled = build_app(f"sqlite:///{tmp_path / 'on.db'}", SCHEDULER_ENABLED=True)
    try:
        assert enabled.extensions["scheduler"].running
    finally:
        enabled.extensions["scheduler"].shutdown(wait=False)
        with enabled.app_context():
            db.engine.dispose()
