"""A hand-counted three nights in Bergen for the report tests (expected figures in tests).

Sites: A (mixed, beds A-1, A-2), W (women, bed W-1). People: alice (woman, born 1990,
need 85), bob (man, 2004, need 30), carl (man, 1960, need 10), dina (woman, 1985, need 50),
eve (woman, 1999, no assessment).
N1: alice in W-1 (checked in), bob in A-1 (confirmed), carl turned away (capacity), dina
    turned away (keep_apart), eve waiting with a NAV hold on A-2 (held).
N2: carl turned away (no_eligible_bed); ban on carl at A this night only.
N3: A-2 out of service; bob in A-1 (confirmed); carl turned away (capacity).
Keep-apart alice–dina from N1, open-ended. Holds: NAV held N1, claimed N2, expired N3;
Bymisjon cancelled N1; a NAV refusal (quota) on N2; NAV quota 1 a night at A.
A confirmed run on N1: need placed alice, bob; first come placed bob, carl."""
from __future__ import annotations

from datetime import date, datetime

from shelter.models import (
    AllocationRun, Assessment, BedOutage, GenderRule, Hold, HoldRefusal, KeepApart, NeedScheme,
    Organisation, OrgKind, Person, Placement, Quota, Request, Restriction,
)

N1, N2, N3 = date(2026, 3, 1), date(2026, 3, 2), date(2026, 3, 3)


def build(db, make_site):
    s = db.session
    a = make_site("a", beds=2, name="Site A")
    w = make_site("w", beds=1, gender=GenderRule.WOMEN, name="Site W")
    a1, a2 = a.rooms[0].beds
    w1 = w.rooms[0].beds[0]
    scheme = NeedScheme(version=900, factors=[])
    nav = Organisation(name="NAV test", kind=OrgKind.MUNICIPAL)
    kb = Organisation(name="Bymisjon test", kind=OrgKind.NGO)
    s.add_all([scheme, nav, kb])
    people = {}
    for name, gender, born, need in [("alice", "woman", 1990, 85), ("bob", "man", 2004, 30),
                                     ("carl", "man", 1960, 10), ("dina", "woman", 1985, 50),
                                     ("eve", "woman", 1999, None)]:
        p = Person(name=name.title(), gender=gender, birth_year=born)
        s.add(p)
        s.flush()
        assessment = None
        if need is not None:
            assessment = Assessment(person_id=p.id, scheme=scheme, answers={}, need=need, parts=[])
            s.add(assessment)
            s.flush()
        people[name] = (p, assessment)
    arrival = iter(range(1, 100))

    def req(name, night, status, reason=None, hold=None):
        p, assessment = people[name]
        r = Request(person_id=p.id, night=night, city="Bergen", source="walk_in",
                    arrival=next(arrival),
                    assessment_id=assessment.id if assessment else None, status=status,
                    turnaway_reason=reason, hold_id=hold.id if hold else None)
        s.add(r)
        s.flush()
        return r

    def place(name, bed, night, status):
        s.add(Placement(person_id=people[name][0].id, bed_id=bed.id, night=night, status=status))

    def hold(org, name, bed, night, status):
        h = Hold(organisation_id=org.id, person_id=people[name][0].id, night=night,
                 site_id=bed.room.site_id, bed_id=bed.id, expires_at=datetime(2026, 3, 1, 20),
                 status=status)
        s.add(h)
        s.flush()
        return h

    h1 = hold(nav, "eve", a2, N1, "held")
    hold(nav, "eve", a2, N2, "claimed")
    hold(nav, "eve", w1, N3, "expired")
    hold(kb, "alice", w1, N1, "cancelled")
    s.add(HoldRefusal(organisation_id=nav.id, night=N2, site_id=a.id, reason="quota",
                      message="quota used"))
    s.add(Quota(organisation_id=nav.id, site_id=a.id, per_night=1))

    req("alice", N1, "placed"); place("alice", w1, N1, "checked_in")
    req("bob", N1, "placed"); place("bob", a1, N1, "confirmed")
    req("carl", N1, "turned_away", "capacity")
    req("dina", N1, "turned_away", "keep_apart")
    req("eve", N1, "waiting", hold=h1)
    req("carl", N2, "turned_away", "no_eligible_bed")
    s.add(BedOutage(bed_id=a2.id, reason="broken", starts_on=N3, ends_on=N3))
    req("bob", N3, "placed"); place("bob", a1, N3, "confirmed")
    req("carl", N3, "turned_away", "capacity")
    pid = {k: str(v[0].id) for k, v in people.items()}
    s.add(Restriction(person_id=people["carl"][0].id, site_id=a.id, starts_on=N2, ends_on=N2,
                      reason="violence"))
    ids = sorted([people["alice"][0].id, people["dina"][0].id])
    s.add(KeepApart(person_a_id=ids[0], person_b_id=ids[1], starts_on=N1, reason="threat"))
    s.add(AllocationRun(
        night=N1, city="Bergen", rule="need", kind="proposal", solver_status="optimal",
        input_json={"night": N1.isoformat(), "beds": [], "requests": [
            {"person": pid["alice"], "gender": "woman", "need": 85},
            {"person": pid["bob"], "gender": "man", "need": 30},
            {"person": pid["carl"], "gender": "man", "need": 10},
            {"person": pid["dina"], "gender": "woman", "need": 50}]},
        result_json={"assignments": [{"person": pid["alice"], "bed": "w", "site": "w"},
                                     {"person": pid["bob"], "bed": "a", "site": "a"}],
                     "turned_away": [{"person": pid["carl"], "reason": "capacity"},
                                     {"person": pid["dina"], "reason": "keep_apart"}]},
        comparison_json={"assignments": [{"person": pid["bob"], "bed": "a", "site": "a"},
                                         {"person": pid["carl"], "bed": "a", "site": "a"}],
                         "turned_away": [{"person": pid["alice"], "reason": "capacity"},
                                         {"person": pid["dina"], "reason": "capacity"}]},
        confirmed_at=datetime(2026, 3, 1, 21)))
    s.flush()
    return people
