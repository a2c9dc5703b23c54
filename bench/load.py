"""Load test: gunicorn (gunicorn.conf.py) + PostgreSQL, 40 clients on loopback for 60 s.

    python -m bench.load [--seconds 60] [--database-url URL] [--workers 4 --threads 4]

- a fresh database (default `shelter_load` on 127.0.0.1:5432, dropped and re-created),
  migrated and seeded with the demo city, plus 28 more partner organisations (30 partners
  in all, each with an API token; only the two demo ones have quotas);
- gunicorn started with the repository's config on a free loopback port;
- 30 partner clients (API: availability, book, list, cancel one of their holds), 9 intake
  clients loading tonight's board, and one intake client pressing "allocate" every 20 s;
- afterwards: req/s, p50/p95/p99 per route, status counts, then the invariants in SQL:
  every 201 of POST /holds is a hold row; no bed-night or person-night has two active
  placements or two active holds.
Not a test (a machine shared with other work gives other figures): prints what it measured.
Exit status 1 when a 5xx was answered or an invariant is broken."""
from __future__ import annotations

import argparse
import os
import random
import re
import signal
import socket
import subprocess
import sys
import threading
import time
from collections import Counter, defaultdict
from collections.abc import Callable
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import httpx
from sqlalchemy import create_engine, make_url, text

ROOT = Path(__file__).resolve().parents[1]
OUT = ROOT / "bench" / "out"
DEFAULT_URL = "postgresql+psycopg://postgres@127.0.0.1:5432/shelter_load"
PARTNERS, BOARDS = 30, 9
CSRF = re.compile(r'name="csrf_token" type="hidden" value="([^"]+)"|'
                  r'name="csrf_token" value="([^"]+)"')


class Recorder:
    def __init__(self) -> None:
        self.lock = threading.Lock()
        self.samples: dict[str, list[float]] = defaultdict(list)
        self.statuses: Counter[tuple[str, int]] = Counter()
        self.created = 0

    def add(self, route: str, status: int, seconds: float) -> None:
        with self.lock:
            self.samples[route].append(seconds)
            self.statuses[(route, status)] += 1
            if route == "POST /api/v1/holds" and status == 201:
                self.created += 1


def timed(rec: Recorder, route: str,
          call: Callable[[], httpx.Response]) -> httpx.Response | None:
    started = time.perf_counter()
    try:
        response = call()
    except httpx.HTTPError as err:
        rec.add(route, 0, time.perf_counter() - started)
        print(f"transport error on {route}: {err.__class__.__name__}", file=sys.stderr)
        return None
    rec.add(route, response.status_code, time.perf_counter() - started)
    return response


# --- set-up ------------------------------------------------------------------------------

def fresh_database(url: str) -> None:
    target = make_url(url)
    admin = create_engine(target.set(database="postgres"), isolation_level="AUTOCOMMIT")
    with admin.connect() as conn:
        conn.execute(text(f'DROP DATABASE IF EXISTS "{target.database}" WITH (FORCE)'))
        conn.execute(text(f'CREATE DATABASE "{target.database}"'))
    admin.dispose()


def flask(env: dict[str, str], *args: str) -> str:
    done = subprocess.run([sys.executable, "-m", "flask", *args], cwd=ROOT, env=env,
                          capture_output=True, text=True, timeout=600)
    if done.returncode != 0:
        raise SystemExit(f"flask {' '.join(args)} failed: {done.stderr[-2000:]}")
    return done.stdout


def partner_tokens(url: str) -> list[str]:
    """Tokens for the 2 demo partner organisations and 28 more (made here)."""
    os.environ.setdefault("SECRET_KEY", "load")
    from shelter import create_app
    from shelter.extensions import db
    from shelter.models import Organisation, OrgKind
    from shelter.services.tokens import create_token

    app = create_app({"SQLALCHEMY_DATABASE_URI": url, "REQUEST_LOG": False})
    with app.app_context():
        names = ["NAV", "Kirkens Bymisjon"]
        for i in range(PARTNERS - len(names)):
            names.append(f"Load partner {i + 1}")
            db.session.add(Organisation(name=names[-1], kind=OrgKind.NGO))
        db.session.flush()
        tokens = [create_token(db.session, name, label="load") for name in names]
        db.session.commit()
        db.engine.dispose()
    return tokens


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


# --- the clients ---------------------------------------------------------------------------

def partner(base: str, token: str, nights: list[str], rec: Recorder, stop: float,
            seed: int) -> None:
    rng = random.Random(seed)
    mine: list[int] = []
    with httpx.Client(base_url=base, headers={"Authorization": f"Bearer {token}"},
                      timeout=30) as client:
        n = 0
        while time.monotonic() < stop:
            night = rng.choice(nights)
            timed(rec, "GET /api/v1/availability",
                  lambda: client.get("/api/v1/availability", params={"night": night}))
            n += 1
            body = {"night": night, "person": {
                "name": f"Load {seed}-{n}", "gender": rng.choice(["man", "woman"]),
                "birth_year": rng.randint(1950, 2004)}}
            r = timed(rec, "POST /api/v1/holds", lambda: client.post("/api/v1/holds", json=body))
            if r is not None and r.status_code == 201:
                mine.append(r.json()["id"])
            timed(rec, "GET /api/v1/holds",
                  lambda: client.get("/api/v1/holds", params={"night": night}))
            if mine and rng.random() < 0.5:
                hold_id = mine.pop(rng.randrange(len(mine)))
                timed(rec, "DELETE /api/v1/holds/<id>",
                      lambda: client.delete(f"/api/v1/holds/{hold_id}"))


def intake_client(base: str) -> httpx.Client:
    client = httpx.Client(base_url=base, timeout=60, follow_redirects=False)
    form = CSRF.search(client.get("/login").text)
    token = (form.group(1) or form.group(2)) if form else ""
    r = client.post("/login", data={"username": "intake", "password": "intake-shelter",
                                    "csrf_token": token})
    if r.status_code != 302:
        raise RuntimeError(f"intake login failed: {r.status_code}")
    return client


def board(client: httpx.Client, rec: Recorder, stop: float) -> None:
    try:
        while time.monotonic() < stop:
            timed(rec, "GET /intake/", lambda: client.get("/intake/"))
    finally:
        client.close()


def presser(client: httpx.Client, rec: Recorder, stop: float, every: float = 20.0) -> None:
    try:
        while time.monotonic() < stop:
            started = time.monotonic()
            page = client.get("/intake/")
            match = CSRF.search(page.text)
            night = re.search(r'name="night" value="([0-9-]+)"', page.text)
            if match and night:
                token = match.group(1) or match.group(2)
                timed(rec, "POST /intake/allocate", lambda: client.post(
                    "/intake/allocate", data={"csrf_token": token, "night": night.group(1)}))
            else:
                print("allocate: no form on the board", file=sys.stderr)
            time.sleep(max(0.0, min(every - (time.monotonic() - started),
                                    stop - time.monotonic())))
    finally:
        client.close()


# --- report ----------------------------------------------------------------------------------

def pct(values: list[float], p: float) -> float:
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, int(round(p / 100 * (len(ordered) - 1))))] * 1000


def report(rec: Recorder, seconds: float) -> int:
    total = sum(len(v) for v in rec.samples.values())
    every = [s for v in rec.samples.values() for s in v]
    print(f"\n{total} requests in {seconds:.1f} s = {total / seconds:.1f} req/s; "
          f"overall p50 {pct(every, 50):.0f} ms, p95 {pct(every, 95):.0f} ms, "
          f"p99 {pct(every, 99):.0f} ms")
    print(f"{'route':32} {'count':>6} {'p50 ms':>8} {'p95 ms':>8} {'p99 ms':>8}  statuses")
    for route in sorted(rec.samples):
        values = rec.samples[route]
        statuses = ", ".join(f"{s}: {n}" for (r, s), n in sorted(rec.statuses.items())
                             if r == route)
        print(f"{route:32} {len(values):>6} {pct(values, 50):>8.0f} {pct(values, 95):>8.0f} "
              f"{pct(values, 99):>8.0f}  {statuses}")
    by_status: Counter[int] = Counter()
    for (_, status), n in rec.statuses.items():
        by_status[status] += n
    print("status counts:", dict(sorted(by_status.items())))
    return sum(n for s, n in by_status.items() if s >= 500 or s == 0)


INVARIANTS = {
    "two active placements on one bed-night": """
        SELECT count(*) FROM (SELECT bed_id, night FROM placements
          WHERE status IN ('proposed', 'confirmed', 'checked_in')
          GROUP BY bed_id, night HAVING count(*) > 1) x""",
    "two active placements for one person-night": """
        SELECT count(*) FROM (SELECT person_id, night FROM placements
          WHERE status IN ('proposed', 'confirmed', 'checked_in')
          GROUP BY person_id, night HAVING count(*) > 1) x""",
    "two active holds on one bed-night": """
        SELECT count(*) FROM (SELECT bed_id, night FROM holds WHERE status = 'held'
          GROUP BY bed_id, night HAVING count(*) > 1) x""",
    "two active holds for one person-night": """
        SELECT count(*) FROM (SELECT person_id, night FROM holds WHERE status = 'held'
          GROUP BY person_id, night HAVING count(*) > 1) x""",
}


def check_invariants(url: str, holds_before: int, created: int) -> int:
    engine = create_engine(url)
    broken = 0
    with engine.connect() as conn:
        rows = conn.execute(text("SELECT count(*) FROM holds")).scalar_one() - holds_before
        ok = rows == created
        broken += not ok
        print(f"{'ok ' if ok else 'BROKEN'} 201 answers to POST /holds = new hold rows: "
              f"{created} = {rows}")
        for name, sql in INVARIANTS.items():
            n = conn.execute(text(sql)).scalar_one()
            broken += n > 0
            print(f"{'ok ' if n == 0 else 'BROKEN'} no {name}: {n} found")
    engine.dispose()
    return broken


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--seconds", type=float, default=60.0)
    parser.add_argument("--database-url", default=os.environ.get("LOAD_DATABASE_URL",
                                                                 DEFAULT_URL))
    parser.add_argument("--workers", default=os.environ.get("WEB_WORKERS", "4"))
    parser.add_argument("--threads", default=os.environ.get("WEB_THREADS", "4"))
    args = parser.parse_args()
    url = args.database_url
    if not url.startswith("postgresql"):
        raise SystemExit("make load runs on PostgreSQL: "
                         "give --database-url postgresql+psycopg://...")
    host = make_url(url).host or "127.0.0.1"
    if host not in ("127.0.0.1", "localhost", "::1"):
        raise SystemExit("make load stays on loopback: the database must be on 127.0.0.1")

    print(f"fresh database {make_url(url).database}, migrate, seed the demo city ...")
    fresh_database(url)
    env = {**os.environ, "DATABASE_URL": url, "SECRET_KEY": "load", "FLASK_APP": "shelter",
           "PYTHONPATH": str(ROOT), "MFA_REQUIRED_ROLES": ""}  # password-only log-ins
    flask(env, "db", "upgrade")
    flask(env, "seed-demo")
    tokens = partner_tokens(url)
    tz = ZoneInfo(os.environ.get("SHELTER_TIMEZONE", "Europe/Oslo"))
    today = datetime.now(tz).date()
    nights = [today.isoformat(), (today + timedelta(days=1)).isoformat()]
    engine = create_engine(url)
    with engine.connect() as conn:
        holds_before = conn.execute(text("SELECT count(*) FROM holds")).scalar_one()
    engine.dispose()

    port = free_port()
    OUT.mkdir(parents=True, exist_ok=True)
    log_path = OUT / "load-gunicorn.log"
    server_env = {**env, "BIND": f"127.0.0.1:{port}", "WEB_WORKERS": str(args.workers),
                  "WEB_THREADS": str(args.threads)}
    with open(log_path, "w") as log:
        server = subprocess.Popen([sys.executable, "-m", "gunicorn", "-c", "gunicorn.conf.py"],
                                  cwd=ROOT, env=server_env, stdout=log, stderr=log)
    base = f"http://127.0.0.1:{port}"
    try:
        for _ in range(120):
            try:
                if httpx.get(f"{base}/readyz", timeout=2).status_code == 200:
                    break
            except httpx.TransportError:
                pass
            time.sleep(0.5)
        else:
            raise SystemExit(f"gunicorn did not start; see {log_path}")
        print(f"gunicorn {args.workers} workers x {args.threads} threads on {base}; "
              f"{PARTNERS} partners, {BOARDS} boards, 1 allocation press / 20 s, "
              f"{args.seconds:.0f} s ...")
        rec = Recorder()
        # The ten intake clients share the demo's one intake account (one server-side session
        # per user): they log in one after another, before the clock starts, so they join one
        # session instead of racing to start ten.
        intake_clients = [intake_client(base) for _ in range(BOARDS + 1)]
        started = time.monotonic()
        stop = started + args.seconds
        clients = [threading.Thread(target=partner, args=(base, t, nights, rec, stop, i))
                   for i, t in enumerate(tokens)]
        clients += [threading.Thread(target=board, args=(c, rec, stop))
                    for c in intake_clients[:BOARDS]]
        clients.append(threading.Thread(target=presser, args=(intake_clients[-1], rec, stop)))
        for c in clients:
            c.start()
        for c in clients:
            c.join(timeout=args.seconds + 120)
        elapsed = time.monotonic() - started
    finally:
        server.send_signal(signal.SIGTERM)
        try:
            server.wait(timeout=60)
        except subprocess.TimeoutExpired:
            server.kill()
    failures = report(rec, elapsed)
    broken = check_invariants(url, holds_before, rec.created)
    print(f"gunicorn log with one JSON line per request: {log_path}")
    return 1 if failures or broken else 0


if __name__ == "__main__":
    raise SystemExit(main())
