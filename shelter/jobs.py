"""Scheduled jobs: app context -> one service call -> commit at the job's edge.

Every job run is claimed first by inserting a JobRun row with a unique (job, key): when two
scheduler processes (or a scheduler and a `flask expire-holds` by hand) fire the same job for
the same key, the database lets exactly one of them in. The others skip it.

- expire-holds (every minute, key = the UTC minute): holds past their expiry time end and
  their beds go back to the pool (services.prebooking.expire_holds).
- scheduled-allocation (checked every minute, key = city:night): once the earliest intake of
  a city has opened and no allocation run exists for the night yet, run the proposal so
  staff open their evening with it ready (intake's services.allocation.run_allocation)."""
from __future__ import annotations

import logging
import os
import socket
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from flask import Flask
from sqlalchemy import func, select, update
from sqlalchemy.exc import IntegrityError
from sqlalchemy.orm import Session

from shelter import clock
from shelter.extensions import db
from shelter.models import AllocationRun, JobRun, Site, utcnow

log = logging.getLogger(__name__)
JOB_DEFAULTS = {"coalesce": True, "misfire_grace_time": 50, "max_instances": 1}
KEEP_MINUTE_RUNS = timedelta(days=7)


def _owner() -> str:
    return f"{socket.gethostname()}:{os.getpid()}"[:80]


def run_once(job: str, key: str, work: Callable[[Session], str]) -> JobRun | None:
    """Claim (job, key), run `work(session)` and commit. Returns the finished JobRun, or None
    when another process already claimed that key. A failed run may be claimed again (the
    claim is a conditional UPDATE, so only one retrier wins); a failure is re-raised."""
    session = db.session
    run = JobRun(job=job, key=key, owner=_owner())
    try:
        session.add(run)
        session.commit()
    except IntegrityError:
        session.rollback()
        retried = session.execute(
            update(JobRun).where(JobRun.job == job, JobRun.key == key, JobRun.status == "failed")
            .values(status="running", owner=_owner(), started_at=utcnow(), detail="")
        ).rowcount
        session.commit()
        if not retried:
            return None
        run = session.scalar(select(JobRun).where(JobRun.job == job, JobRun.key == key))
        assert run is not None
    try:
        detail = work(session)
        run.status, run.detail, run.finished_at = "done", detail, utcnow()
        session.commit()
    except Exception as exc:
        session.rollback()
        run.status, run.detail, run.finished_at = "failed", repr(exc)[:2000], utcnow()
        session.commit()
        raise
    return run


def minute_key(now: datetime) -> str:
    return now.strftime("%Y-%m-%dT%H:%M")


def expire_holds_job(now: datetime | None = None) -> JobRun | None:
    """Release holds whose expiry time has passed (key: the UTC minute)."""
    from shelter.services.prebooking import expire_holds

    now = now or utcnow()

    def work(session: Session) -> str:
        expired = expire_holds(session, now)
        session.execute(JobRun.__table__.delete().where(  # keep a week of minute runs
            JobRun.job == "expire-holds", JobRun.key != minute_key(now),
            JobRun.started_at < utcnow() - KEEP_MINUTE_RUNS))
        return f"expired={len(expired)} ids={','.join(map(str, expired))}"[:2000]

    return run_once("expire-holds", minute_key(now), work)


def scheduled_allocation_job(now: datetime | None = None, tz: str | None = None) -> list[str]:
    """Run tonight's proposal for each city whose earliest intake has opened and that has
    no allocation run for the night yet. Returns the keys this call ran."""
    now = now or utcnow()
    local = clock.to_local(now, tz)
    night = clock.tonight(now, tz)
    cities = db.session.execute(
        select(Site.city, func.min(Site.intake_opens)).where(Site.active.is_(True))
        .group_by(Site.city)).all()
    db.session.rollback()  # end the read transaction before claiming
    done = []
    for city, opens in cities:
        if local.time().replace(tzinfo=None) < opens:
            continue

        def work(session: Session, city: str = city) -> str:
            exists = session.scalar(select(AllocationRun.id).where(
                AllocationRun.night == night, AllocationRun.city == city).limit(1))
            if exists is not None:
                return f"skipped: run {exists} exists"
            try:
                from shelter.services.allocation import run_allocation
            except ImportError as exc:  # intake's allocation service is not installed yet
                raise RuntimeError("shelter.services.allocation is not available") from exc
            from shelter.services.inventory import retry_lock_conflicts

            run = retry_lock_conflicts(session, lambda: run_allocation(
                session, night, city=city, user=None, kind="scheduled"))
            return f"run {run.id}"

        if run_once("scheduled-allocation", f"{city}:{night.isoformat()}", work) is not None:
            done.append(f"{city}:{night.isoformat()}")
    return done


def deliver_notifications_job(now: datetime | None = None) -> JobRun | None:
    """Send partners' pending mails and webhooks that are due (services.notifications)."""
    from shelter.services import notifications as outbox

    now = now or utcnow()

    def work(session: Session) -> str:
        items = outbox.claim_due(session, now)
        session.commit()  # no transaction (on SQLite: no write lock) while mail and HTTP wait
        outcomes = [outbox.send(item) for item in items]
        for outcome in outcomes:
            outbox.record(session, outcome, now)
        return f"due={len(items)} delivered={sum(o.ok for o in outcomes)}"

    return run_once("deliver-notifications", minute_key(now), work)


def _in_context(app: Flask, fn: Callable[..., Any], **kwargs: Any) -> Callable[[], None]:
    def job() -> None:
        with app.app_context():
            try:
                fn(**kwargs)
            except Exception:  # a job's failure is logged and recorded; the scheduler lives on
                log.exception("job %s failed", fn.__name__)
            finally:
                db.session.remove()

    job.__name__ = fn.__name__
    return job


def add_jobs(scheduler: Any, app: Flask) -> None:
    """Both jobs, each every minute, with coalescing (a backlog runs once) and a grace time
    shorter than the interval (a run more than 50 s late is skipped: the next one is due)."""
    tz = app.config["TIMEZONE"]
    scheduler.add_job(_in_context(app, expire_holds_job), "cron", second=5,
                      id="expire-holds", replace_existing=True, **JOB_DEFAULTS)
    scheduler.add_job(_in_context(app, scheduled_allocation_job, tz=tz), "cron", second=20,
                      id="scheduled-allocation", replace_existing=True, **JOB_DEFAULTS)
    scheduler.add_job(_in_context(app, deliver_notifications_job), "cron", second=35,
                      id="deliver-notifications", replace_existing=True, **JOB_DEFAULTS)


def make_scheduler(app: Flask, blocking: bool = False) -> Any:
    from apscheduler.schedulers.background import BackgroundScheduler
    from apscheduler.schedulers.blocking import BlockingScheduler

    cls = BlockingScheduler if blocking else BackgroundScheduler
    scheduler = cls(timezone=app.config["TIMEZONE"], job_defaults=JOB_DEFAULTS)
    add_jobs(scheduler, app)
    return scheduler


def init_app(app: Flask) -> None:
    """Start the in-process scheduler only when SCHEDULER_ENABLED is set (dev/demo; in
    production one `flask scheduler` process runs the jobs instead)."""
    if not app.config.get("SCHEDULER_ENABLED"):
        return
    scheduler = make_scheduler(app)
    scheduler.start()
    app.extensions["scheduler"] = scheduler
