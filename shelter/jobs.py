"""Scheduled jobs: app context -> one service call -> commit at the job's edge.

Every job run is claimed first by inserting a JobRun row with a unique (job, key): when two
scheduler processes (or a scheduler and a `flask expire-holds` by hand) fire the same job for
the same key, the database lets exactly one of them in. The others skip it.

The claim is a lease: it holds until `lease_until`, which a heartbeat thread pushes forward
(every third of JOB_LEASE_SECONDS) while the work runs. A process killed mid-job (kill -9,
a lost host) stops beating, its lease runs out, and the next scheduler that fires the job
takes the claim over and runs it. The work and the "done" mark commit in one transaction,
and only while the claim is still ours, so a job's effect is committed once.

- expire-holds (every minute, key = the UTC minute): holds past their expiry time end and
  their beds go back to the pool (services.prebooking.expire_holds).
- scheduled-allocation (checked every minute, key = city:night): once the earliest intake of
  a city has opened and no allocation run exists for the night yet, run the proposal so
  staff open their evening with it ready (intake's services.allocation.run_allocation)."""
from __future__ import annotations

import logging
import os
import secrets
import socket
import threading
from collections.abc import Callable
from datetime import datetime, timedelta
from typing import Any

from flask import Flask, current_app
from sqlalchemy import and_, func, or_, select, update
from sqlalchemy.engine import Engine
from sqlalchemy.exc import IntegrityError, SQLAlchemyError
from sqlalchemy.orm import Session

from shelter import clock
from shelter.database import unit_of_work
from shelter.extensions import db
from shelter.models import AllocationRun, JobRun, Site, utcnow

log = logging.getLogger(__name__)
JOB_DEFAULTS = {"coalesce": True, "misfire_grace_time": 50, "max_instances": 1}
KEEP_MINUTE_RUNS = timedelta(days=7)


def _owner() -> str:
    """This claim's owner: host, process and a random tag (a reused pid is someone else)."""
    return f"{socket.gethostname()}:{os.getpid()}:{secrets.token_hex(3)}"[-80:]


def _claim(session: Session, job: str, key: str, owner: str, lease: timedelta) -> int | None:
    """The JobRun id if this owner now holds (job, key), else None. A new key is claimed by
    insert; a failed run, or a running one whose lease ran out (its process died), by a
    conditional UPDATE, so only one of several claimants wins."""
    now = utcnow()
    run = JobRun(job=job, key=key, owner=owner, lease_until=now + lease)
    try:
        session.add(run)
        session.commit()
        return run.id
    except IntegrityError:
        session.rollback()
    stale = session.execute(select(JobRun.id, JobRun.status, JobRun.owner).where(
        JobRun.job == job, JobRun.key == key)).one_or_none()
    taken = session.execute(
        update(JobRun).where(JobRun.job == job, JobRun.key == key, or_(
            JobRun.status == "failed",
            and_(JobRun.status == "running",
                 or_(JobRun.lease_until.is_(None), JobRun.lease_until < now))))
        .values(status="running", owner=owner, started_at=now, finished_at=None,
                lease_until=now + lease, detail="")).rowcount
    session.commit()
    if not taken or stale is None:
        return None
    if stale.status == "running":
        log.warning("job %s %s: lease of %s ran out; taken over", job, key, stale.owner)
    return int(stale.id)


class _Heartbeat(threading.Thread):
    """Pushes the claim's lease forward every third of its length, on its own connection,
    until stopped. If the claim is no longer ours it stops and says so (`lost`)."""

    def __init__(self, engine: Engine, run_id: int, owner: str, lease: timedelta) -> None:
        super().__init__(name=f"job-heartbeat-{run_id}", daemon=True)
        self.engine, self.run_id, self.owner, self.lease = engine, run_id, owner, lease
        self.done = threading.Event()
        self.lost = False

    def run(self) -> None:
        while not self.done.wait(self.lease.total_seconds() / 3):
            try:
                with self.engine.begin() as conn:
                    beat = conn.execute(update(JobRun).where(
                        JobRun.id == self.run_id, JobRun.owner == self.owner,
                        JobRun.status == "running").values(lease_until=utcnow() + self.lease))
                if beat.rowcount == 0:
                    self.lost = True
                    return
            except SQLAlchemyError as err:  # one line; the next beat tries again
                log.warning("job heartbeat %s failed: %s", self.run_id, err.__class__.__name__)


def run_once(job: str, key: str, work: Callable[[Session], str],
             lease_seconds: float | None = None) -> JobRun | None:
    """Claim (job, key), run `work(session)` and commit. Returns the finished JobRun, or None
    when another process holds that key (or finished it). A failed run, or one whose
    process died (lease expired), may be claimed again; a failure is re-raised. The work
    is one unit of work: a deadlock or serialisation failure runs it again (bounded)."""
    session = db.session
    seconds = lease_seconds or float(current_app.config.get("JOB_LEASE_SECONDS", 60))
    lease, owner = timedelta(seconds=seconds), _owner()
    run_id = _claim(session, job, key, owner, lease)
    if run_id is None:
        return None
    heartbeat = _Heartbeat(db.engine, run_id, owner, lease)
    heartbeat.start()

    def work_and_finish() -> bool:
        detail = work(session)
        return bool(session.execute(update(JobRun).where(
            JobRun.id == run_id, JobRun.owner == owner).values(
            status="done", detail=detail[:2000], finished_at=utcnow(), lease_until=None)
        ).rowcount)

    try:
        still_ours = unit_of_work(session, work_and_finish, commit=lambda ours: ours,
                                  attempts=int(current_app.config.get("DB_RETRY_ATTEMPTS", 3)))
    except Exception as exc:
        session.execute(update(JobRun).where(JobRun.id == run_id, JobRun.owner == owner).values(
            status="failed", detail=repr(exc)[:2000], finished_at=utcnow(), lease_until=None))
        session.commit()
        raise
    finally:
        heartbeat.done.set()
        heartbeat.join()
    if not still_ours:  # the lease ran out and another process took over: its run counts
        log.warning("job %s %s: claim lost before commit; work rolled back", job, key)
        return None
    return session.get(JobRun, run_id)


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
            run = run_allocation(session, night, city=city, user=None, kind="scheduled")
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


def retention_job(now: datetime | None = None) -> JobRun | None:
    """Pseudonymise people inactive for RETENTION_MONTHS (key: the UTC day)."""
    from shelter.services.retention import DEFAULT_MONTHS, run_retention

    now = now or utcnow()
    months = int(current_app.config.get("RETENTION_MONTHS", DEFAULT_MONTHS))

    def work(session: Session) -> str:
        done = run_retention(session, now, months)
        return f"pseudonymised={len(done)} ids={','.join(map(str, done))}"[:2000]

    return run_once("retention", now.date().isoformat(), work)


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
    scheduler.add_job(_in_context(app, retention_job), "cron", hour=3, minute=30,
                      id="retention", replace_existing=True, **JOB_DEFAULTS)


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
