"""Demo data part 'history': the last 21 nights in the demo city, so every report shows
something after `make run`.

Each night gets synthetic requests from a seeded pool of people (more requests than beds,
with need from a small assessment), and the allocation core decides them under the need
rule (first come is recorded beside it, as intake's runs do). The run is stored confirmed;
placements are checked in (a few no-shows), the rest turned away with the core's reason. A
few partner holds per night end claimed or expired, and a few bookings were refused."""
from __future__ import annotations

import random
from datetime import date, datetime, timedelta

from sqlalchemy import insert, select
from sqlalchemy.orm import Session

from shelter.models import (
    AllocationRun, Assessment, Hold, HoldRefusal, NeedScheme, Organisation, Person, Placement,
    Request, RequestStatus,
)
from shelter.services.inventory import beds_in_service
from shelter.services.reports_fill import refresh_stats

CITY = "Bergen"
NIGHTS = 21
FIRST = ("Ola", "Kari", "Nils", "Ingrid", "Per", "Sigrid", "Jon", "Astrid", "Lars", "Marit",
         "Erik", "Hanne", "Tor", "Liv", "Odd", "Randi", "Arne", "Solveig", "Knut", "Berit")
LAST = ("Hansen", "Johansen", "Olsen", "Larsen", "Berg", "Dahl", "Haugen", "Lie", "Moe", "Strand")
NEEDS = (30, 25, 20, 15, 10)  # nowhere to sleep, violence, acute health, mental health, young


def seed(session: Session, today: date) -> list[str]:
    """Idempotent: does nothing when the demo city already has a confirmed run."""
    if session.scalar(select(AllocationRun.id).where(AllocationRun.city == CITY).limit(1)):
        return []
    from allocator import Night, solve

    rng = random.Random(2024)
    scheme = session.scalar(select(NeedScheme).order_by(NeedScheme.version.desc()).limit(1))
    if scheme is None:
        scheme = NeedScheme(version=1, factors=[], note="demo")
        session.add(scheme)
        session.flush()
    beds_now = beds_in_service(session, today - timedelta(days=1), CITY)
    if not beds_now:
        return []
    pool = []
    for i in range(int(len(beds_now) * 1.6)):
        gender = rng.choices(("man", "woman", "nonbinary", "unknown"), (66, 28, 3, 3))[0]
        pool.append(Person(name=f"{rng.choice(FIRST)} {rng.choice(LAST)} {i + 1}", gender=gender,
                           birth_year=rng.randint(1950, 2007)))
    session.add_all(pool)
    session.flush()
    needs = {}
    for p in pool:
        need = min(100, sum(pts for pts in NEEDS if rng.random() < 0.3))
        a = Assessment(person_id=p.id, scheme_id=scheme.id, answers={}, need=need, parts=[])
        session.add(a)
        needs[p.id] = a
    session.flush()
    orgs = list(session.scalars(select(Organisation).order_by(Organisation.id)))
    nights = [today - timedelta(days=d) for d in range(NIGHTS, 0, -1)]
    placed_total = away_total = 0
    for night in nights:
        p, a = _night(session, rng, night, pool, needs, orgs, Night, solve)
        placed_total += p
        away_total += a
    refresh_stats(session, nights)
    return [f"history: {NIGHTS} nights in {CITY}, {placed_total} placements, "
            f"{away_total} turn-aways"]


def _night(session, rng, night, pool, needs, orgs, Night, solve):  # type: ignore[no-untyped-def]
    # The evening part may already have placed or turned away people on the last nights:
    # leave their beds and their requests alone (one active placement per bed and night,
    # one open request per person and night).
    taken = set(session.scalars(select(Placement.bed_id).where(
        Placement.night == night, Placement.is_active)))
    asking = set(session.scalars(select(Request.person_id).where(
        Request.city == CITY, Request.night == night,
        Request.status != RequestStatus.WITHDRAWN)))
    beds = [b for b in beds_in_service(session, night, CITY) if b.id not in taken]
    pool = [p for p in pool if p.id not in asking]
    people = rng.sample(pool, min(len(pool), int(len(beds) * rng.uniform(1.05, 1.3))))
    year = night.year
    sites = {}
    for b in beds:
        s = b.room.site
        sites[s.id] = {"id": str(s.id), "name": s.name,
                       **({"min_age": s.min_age} if s.min_age is not None else {}),
                       **({"max_age": s.max_age} if s.max_age is not None else {})}
    data = {
        "night": night.isoformat(), "sites": list(sites.values()),
        "beds": [{"id": str(b.id), "site": str(b.room.site_id), "gender": b.room.gender.value,
                  "features": list(b.features)} for b in beds],
        "requests": [{"person": str(p.id), "gender": str(getattr(p.gender, "value", p.gender)), "need": needs[p.id].need,
                      "arrival": i + 1, **({"age": year - p.birth_year} if p.birth_year else {})}
                     for i, p in enumerate(people)],
    }
    problem = Night.from_json(data)
    result = solve(problem, rule="need", time_limit=5.0).to_json(params=True)
    queue = solve(problem, rule="first-come", time_limit=5.0).to_json(params=True)
    at = datetime.combine(night, datetime.min.time()) + timedelta(hours=20)
    run = AllocationRun(night=night, city=CITY, rule="need", kind="proposal",
                        solver_status=result.get("status", "optimal"), input_json=data,
                        result_json=result, comparison_json=queue, created_at=at,
                        confirmed_at=at + timedelta(minutes=5))
    session.add(run)
    session.flush()
    bed_of = {a["person"]: int(a["bed"]) for a in result["assignments"]}
    away = {t["person"]: t for t in result["turned_away"]}
    requests = []
    for i, p in enumerate(people):
        key = str(p.id)
        t = away.get(key)
        requests.append({"person_id": p.id, "night": night, "city": CITY, "source": "walk_in",
                         "arrival": i + 1, "needs": [], "assessment_id": needs[p.id].id,
                         "status": "placed" if key in bed_of else "turned_away",
                         "turnaway_reason": t["reason"] if t else None,
                         "turnaway_explanation": t.get("explanation") if t else None,
                         "turnaway_params": t.get("params") if t else None,
                         "created_at": at - timedelta(hours=2), "note": ""})
    session.execute(insert(Request), requests)
    req_id = dict(session.execute(select(Request.person_id, Request.id).where(
        Request.city == CITY, Request.night == night)).all())
    placements = [{"person_id": int(k), "bed_id": b, "night": night, "run_id": run.id,
                   "request_id": req_id[int(k)], "created_at": at,
                   "status": "checked_in" if rng.random() > 0.06 else "no_show"}
                  for k, b in bed_of.items()]
    if placements:
        session.execute(insert(Placement), placements)
    if orgs:  # partner holds for some placed people: claimed, or expired when they did not come
        for row in rng.sample(placements, min(4, len(placements))):
            org = rng.choice(orgs)
            bed_site = next(b.room.site_id for b in beds if b.id == row["bed_id"])
            session.add(Hold(organisation_id=org.id, person_id=row["person_id"], night=night,
                             site_id=bed_site, bed_id=row["bed_id"], expires_at=at + timedelta(hours=1),
                             status="claimed" if row["status"] == "checked_in" else "expired",
                             created_at=at - timedelta(hours=6), ended_at=at))
        if rng.random() < 0.5:
            session.add(HoldRefusal(organisation_id=rng.choice(orgs).id, night=night,
                                    site_id=beds[0].room.site_id, reason=rng.choice(("no_bed", "quota")),
                                    message="No bed could be held.", created_at=at - timedelta(hours=5)))
    session.flush()
    return len(placements), len(away)
