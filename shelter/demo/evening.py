"""Demo data part 'evening': the people at tonight's intake (see shelter/demo/__init__.py).

About 220 people (women, men, a few nonbinary or unknown, a few who refused a name, some
aged 18-23), assessed under scheme v1; requests for tonight (`today`) from 185 of them (more than the city's beds)
in arrival order from several sources; two bans (one at Gyldenpris, one for all sites with
an end date); one keep-apart pair; and some history: placements last night (so 'last bed'
shows) and turned-away requests on the previous three nights (so 'nights turned away'
shows). Sites are looked up by the codes shelter/demo/base.py creates, with a generic
fallback by gender rule and age limits so any set of sites works."""
from __future__ import annotations

import random
from datetime import date, datetime, time, timedelta

from sqlalchemy import select
from sqlalchemy.orm import Session

from shelter.models import (
    Area, Gender, GenderRule, Person, Placement, PlacementStatus, Request, RequestStatus, Site,
)
from shelter.demo.base import CITY
from shelter.services import assessment as assessing
from shelter.services import people as people_svc
from shelter.services import rules
from shelter.services import safety
from shelter.services.inventory import beds_in_service
from allocator.words import explain

WOMEN = ["Kari", "Ingrid", "Sigrid", "Marte", "Hanne", "Aisha", "Agnieszka", "Liv", "Fatima",
         "Tone", "Ewa", "Silje", "Nora", "Ida", "Amina", "Randi", "Mona", "Lina"]
MEN = ["Ola", "Per", "Jonas", "Tomasz", "Ahmed", "Knut", "Erik", "Mohamed", "Lars", "Geir",
       "Andrzej", "Rune", "Bjørn", "Ionut", "Stian", "Trond", "Abdi", "Kjetil", "Vidar", "Ørjan",
       "Mariusz", "Hassan", "Svein", "Eirik", "Martin", "Jørgen", "Dawit", "Roy"]
NEUTRAL = ["Alex", "Robin", "Kim", "Sam"]
SURNAMES = ["Hansen", "Johansen", "Olsen", "Larsen", "Andersen", "Nilsen", "Kowalski", "Hassan",
            "Berg", "Haugen", "Ali", "Nowak", "Dahl", "Popescu", "Strand", "Ødegård", "Mohammed",
            "Kristiansen", "Lunde", "Aas", "Sæther", "Jensen", "Warsame", "Bakke"]
ALIASES = ["Lange-Jan", "Rødjakka", "Sjømannen", "Fela", "Lillebror"]
# More people ask than Bergen has beds (~150), as on a real winter night, so the demo
# shows the need rule at work: who is placed, who is turned away and why.
N_PEOPLE = 220
N_TONIGHT = 185


def _people(rng: random.Random, year: int) -> list[Person]:
    """A realistic mix: ~30% women, a few nonbinary/unknown, 4 aliases only, 7 aged 18-23."""
    people: list[Person] = []
    for i in range(N_PEOPLE):
        if i % 10 in (1, 4, 7):
            gender, first = Gender.WOMAN, WOMEN[i % len(WOMEN)]
        elif i in (13, 38):
            gender, first = Gender.NONBINARY, NEUTRAL[i % len(NEUTRAL)]
        elif i in (26, 51):
            gender, first = Gender.UNKNOWN, NEUTRAL[(i + 1) % len(NEUTRAL)]
        else:
            gender, first = Gender.MAN, MEN[i % len(MEN)]
        age = rng.randint(18, 23) if i % 9 == 2 else rng.randint(24, 68)
        birth_year = None if i in (17, 44) else year - age
        p = Person(gender=gender, birth_year=birth_year,
                   phone=f"9{rng.randint(1000000, 9999999)}" if rng.random() < 0.4 else None,
                   needs=["accessible"] if i in (5, 22, 40) else [])
        if i in (9, 21, 33, 47):  # refused to give a name: known by an alias only
            p.refused_name, p.alias = True, ALIASES[(i // 10) % len(ALIASES)]
        else:
            p.name = f"{first} {SURNAMES[(i * 7) % len(SURNAMES)]}"
            if i % 11 == 3:
                p.alias = ALIASES[i % len(ALIASES)]
        people.append(p)
    return people


def _answers(rng: random.Random, person: Person, cold: bool, young: bool) -> dict[str, bool]:
    sleeps = rng.choices(["sleeps_outside", "temporary_housing", "own_flat", ""],
                         [60, 25, 10, 5])[0]
    violence_rate = 0.4 if person.gender is Gender.WOMAN else 0.15
    return {
        "sleeps_outside": sleeps == "sleeps_outside",
        "temporary_housing": sleeps == "temporary_housing",
        "own_flat": sleeps == "own_flat",
        "violence": rng.random() < violence_rate,
        "acute_health": rng.random() < 0.15,
        "young": young,
        "mental_health": rng.random() < 0.15,
        "cold_night": cold and sleeps == "sleeps_outside",
    }


def _site_by(sites: list[Site], code: str, pick) -> Site | None:  # type: ignore[no-untyped-def]
    return next((s for s in sites if s.code == code), None) or next(filter(pick, sites), None)


def seed(session: Session, today: date) -> list[str]:
    rng = random.Random(1125)
    scheme = assessing.current_scheme(session)
    sites = list(session.scalars(select(Site).where(Site.active.is_(True)).order_by(Site.id)))
    people = _people(rng, today.year)
    session.add_all(people)
    session.flush()

    # Assessments under the scheme: most this evening or in the last days, a few too old
    # to reuse, and a few people never assessed (need counts as 0).
    cold = today.month in (10, 11, 12, 1, 2, 3, 4)
    latest = {}
    for i, p in enumerate(people):
        if i % 15 == 14:
            continue
        age = p.age_on(today.year)
        young = age is not None and assessing.YOUNG_AGES[0] <= age <= assessing.YOUNG_AGES[1]
        a = assessing.assess(session, p, _answers(rng, p, cold, young), user=None, scheme=scheme)
        days_ago = 12 if i % 13 == 6 else rng.choice([0, 0, 0, 1, 2, 4])
        a.assessed_at = datetime.combine(today - timedelta(days=days_ago), time(16, rng.randint(0, 59)))
        latest[p.id] = (a, days_ago)

    # Safety records (reasons are staff-only).
    gyldenpris = _site_by(sites, "gyldenpris", lambda s: s.min_age is None)
    banned_here, banned_all = people[0], people[30]
    if gyldenpris is not None:
        safety.add_ban(session, person_id=banned_here.id, site_id=gyldenpris.id,
                       starts_on=today - timedelta(days=2), ends_on=today + timedelta(days=12),
                       reason="Threatened a staff member at the door", issued_by="Site manager",
                       user=None)
    safety.add_ban(session, person_id=banned_all.id, site_id=None,
                   starts_on=today - timedelta(days=10), ends_on=today + timedelta(days=4),
                   reason="Violence against another guest (police bortvisning)",
                   issued_by="Police", user=None)
    sentrum = session.scalar(select(Area).where(Area.name == "Sentrum"))
    if sentrum is not None:  # a police exclusion order from the centre (bortvisning)
        safety.add_ban(session, person_id=people[31].id, site_id=None, area_id=sentrum.id,
                       authority="police", starts_on=today - timedelta(days=3),
                       ends_on=today + timedelta(days=27), reason="Exclusion order, Sentrum",
                       issued_by="Bergen politidistrikt", user=None)
    if gyldenpris is not None:  # a minor ban: suspended on cold nights
        safety.add_ban(session, person_id=people[32].id, site_id=gyldenpris.id,
                       category="drugs", starts_on=today - timedelta(days=1), ends_on=None,
                       review_on=today + timedelta(days=5), reason="Dealing in the hallway",
                       user=None)
    pair = (people[3], people[6])  # both men, both asking tonight
    safety.add_keep_apart(session, person_a_id=pair[0].id, person_b_id=pair[1].id,
                          starts_on=today - timedelta(days=5), ends_on=None,
                          reason="Serious conflict over a debt; fought at Vågsbunnen", user=None)

    lines = _history(session, rng, people, today)

    # Tonight's requests in arrival order (the all-sites-banned person does not come).
    women_site = _site_by(sites, "kvinnehuset", lambda s: all(r.gender is GenderRule.WOMEN for r in s.rooms))
    youth_site = _site_by(sites, "ungbase", lambda s: s.max_age is not None)
    queue = [p for p in people if p is not banned_all]
    rng.shuffle(queue)
    sources = ["walk_in"] * 6 + ["phone"] * 3 + ["partner"]
    for p in queue[:N_TONIGHT]:
        a, days_ago = latest.get(p.id, (None, None))
        preferred = None
        age = p.age_on(today.year)
        if p.gender is Gender.WOMAN and women_site is not None and rng.random() < 0.5:
            preferred = women_site.id
        elif youth_site is not None and age is not None and age <= (youth_site.max_age or 0) \
                and rng.random() < 0.6:
            preferred = youth_site.id
        people_svc.register_request(
            session, p, today, source=rng.choice(sources), needs=list(p.needs),
            preferred_site_id=preferred, user=None, city=CITY,
            assessment=a if a is not None and days_ago is not None and days_ago <= 7 else None)
    session.flush()
    n_women = sum(p.gender is Gender.WOMAN for p in people)
    return [f"evening: {len(people)} people ({n_women} women), {N_TONIGHT} requests for "
            f"{today.isoformat()}, 2 bans, 1 keep-apart pair", *lines]


def _history(session: Session, rng: random.Random, people: list[Person], today: date) -> list[str]:
    """Last night's placements for a few people and turn-aways on the previous 3 nights."""
    last = today - timedelta(days=1)
    beds = beds_in_service(session, last, CITY)
    placed = 0
    used: set[int] = set()
    arrival: dict[date, int] = {}  # numbered from 101 so the demo's history part keeps 1..N
    for p in people[1:9]:  # checked in or confirmed last night: 'last bed' for tonight
        bed = next((b for b in beds if b.id not in used and not rules.reasons_for_bed(rules.facts_of(p, last), b)), None)
        if bed is None:
            continue
        used.add(bed.id)
        arrival[last] = arrival.get(last, 100) + 1
        req = Request(person_id=p.id, night=last, city=CITY, source="walk_in",
                      arrival=arrival[last], needs=list(p.needs), status=RequestStatus.PLACED,
                      created_at=datetime.combine(last, time(17, 30)))
        session.add(req)
        session.flush()
        session.add(Placement(person_id=p.id, bed_id=bed.id, night=last, request_id=req.id,
                              status=PlacementStatus.CHECKED_IN if placed % 4 else PlacementStatus.CONFIRMED,
                              checked_in_at=datetime.combine(last, time(20, 15)) if placed % 4 else None,
                              created_at=datetime.combine(last, time(18, 0))))
        placed += 1
    # Turned away: three nights running for some, fewer for others (consecutive, up to last night).
    streaks = {people[10]: 3, people[11]: 3, people[12]: 2, people[14]: 1, people[15]: 1,
               people[16]: 3}
    beds_on: dict[date, list] = {}
    for person, nights in streaks.items():
        for d in range(1, nights + 1):
            night = today - timedelta(days=d)
            arrival[night] = arrival.get(night, 100) + 1
            if night not in beds_on:
                beds_on[night] = beds_in_service(session, night, CITY)
            reason, params = _turned_away_why(person, night, beds_on[night])
            session.add(Request(
                person_id=person.id, night=night, city=CITY, source="walk_in",
                arrival=arrival[night], needs=list(person.needs), status=RequestStatus.TURNED_AWAY,
                turnaway_reason=reason, turnaway_params=params,
                turnaway_explanation=explain(reason, params),
                referred_to="MO-senteret Strax-huset", created_at=datetime.combine(night, time(18, 0))))
    session.flush()
    return [f"evening: {placed} placements last night, {sum(streaks.values())} turn-aways "
            "on the previous 3 nights"]


def _turned_away_why(person: Person, night: date, beds: list) -> tuple[str, dict]:
    """The reason and params (allocator/words.py) of a demo turn-away on an earlier night:
    every bed the rule book allows the person was taken by people with equal or higher
    need (no bed at all allowed: no eligible bed)."""
    facts = rules.facts_of(person, night)
    allowed = sum(1 for b in beds if not rules.reasons_for_bed(facts, b))
    if allowed:
        return "capacity", {"beds": allowed, "takers": ["need"]}
    return "no_eligible_bed", {"barred": False, "gender": facts.gender,
                               "needs": sorted(facts.needs), "age": facts.age,
                               "age_limited": any(b.room.site.min_age is not None
                                                  or b.room.site.max_age is not None
                                                  for b in beds)}
