"""Realistic random nights for tests, benchmarks and the web application's demo data.

``random_night(sites=, beds=, requests=, seed=)`` is deterministic for a seed. Shape:
about 20% women-only beds, 5% accessible beds, one youth site (18-23 or 16-24), need values
that are sums of assessment-scheme points (0..100), a queue order (a few walk-ins without an
arrival), continuity (last beds) and wishes, nights turned away, and :class:`Rates` of bans (0.3% of
requests), keep-apart pairs (0.5 per 100 requests) and holds (3%) that a careful booking system
would have accepted. ``REAL_LIFE`` are the rates a big city sees (issue 13): 5% of people hold a
partner organisation's booking, 0.6 keep-apart pairs per 100 people, 3% have a site ban.
"""

from __future__ import annotations

import random
from dataclasses import dataclass, replace

from allocator.problem import Ban, Bed, Hold, Night, Request, Site

# Points of a vulnerability assessment; a person's need is the capped sum of what applies.
SCHEME = (("sleeping rough", 30, 0.35), ("serious illness", 20, 0.2), ("mental health", 15, 0.3),
          ("substance use", 10, 0.35), ("violence or threats", 25, 0.12),
          ("pregnancy", 20, 0.02), ("under 25", 10, 0.1), ("over 65", 10, 0.08),
          ("first night out", 5, 0.15))
NAMES = ("Harbour", "Nordnes", "Fjell", "Bryggen", "Solheim", "Kalfaret", "Møhlen", "Sandviken",
         "Laksevåg", "Fana", "Årstad", "Åsane", "Danmarks", "Minde", "Landås", "Eidsvåg")
ORGANISATIONS = ("Kirkens Bymisjon", "Frelsesarmeen", "NAV", "Kommunen", "Blå Kors")


@dataclass(frozen=True)
class Rates:
    """Per request: holds (share of people with a pre-booking), keep-apart pairs (pairs per
    person) and bans (one ban per this share of people, at a random site)."""

    holds: float = 0.03
    keep_apart: float = 0.005
    bans: float = 0.003

    def count(self, rate: float, people: int) -> int:
        """How many of ``people`` (rounded down; exact for the decimal rates used here)."""
        return int(people * rate + 1e-9)


REAL_LIFE = Rates(holds=0.05, keep_apart=0.006, bans=0.03)


def need_points(rng: random.Random) -> int:
    """A need value as a scheme sum: realistic, discrete and full of ties."""
    return min(100, sum(points for _, points, share in SCHEME if rng.random() < share))


def person(rng: random.Random, pid: str, gender: str | None = None,
           age_range: tuple[int, int] | None = None) -> Request:
    """One request with drawn gender, age, needs, need and nights turned away."""
    if gender is None:
        gender = rng.choices(("man", "woman", "nonbinary", "unknown"), (68, 25, 4, 3))[0]
    if age_range is None:
        age_range = (16, 24) if rng.random() < 0.12 else (25, 78)
    age = rng.randint(*age_range) if rng.random() < 0.92 else None
    nights = 0 if rng.random() < 0.7 else min(14, int(rng.expovariate(0.4)) + 1)
    return Request(person=pid, gender=gender, need=need_points(rng), age=age,
                   needs=frozenset({"accessible"}) if rng.random() < 0.04 else frozenset(),
                   nights_turned_away=nights)


def queue_and_wishes(rng: random.Random, requests: list[Request], beds: list[Bed],
                     sites: list[str]) -> list[Request]:
    """Arrival order (5% walk-ins without one), last beds (35%) and preferred sites (25%)."""
    order = list(range(1, len(requests) + 1))
    rng.shuffle(order)
    out = []
    for r, arrival in zip(requests, order):
        last = rng.choice(beds).id if beds and rng.random() < 0.35 else None
        prefs = tuple(rng.sample(sites, min(len(sites), rng.randint(1, 2)))) \
            if sites and rng.random() < 0.25 else ()
        out.append(replace(r, arrival=None if rng.random() < 0.05 else arrival,
                           last_bed=last, preferred_sites=prefs))
    return out


def random_night(sites: int = 5, beds: int = 150, requests: int = 240, seed: int = 1,
                 date: str = "2026-11-25", rates: Rates = Rates()) -> Night:
    """A deterministic random night of the given size; raises ValueError for sizes < 1 or a
    rate outside 0..1 (keep-apart: 0..0.5, each pair takes two people)."""
    if sites < 1 or beds < sites or requests < 0:
        raise ValueError("need at least one site, one bed per site and no negative requests")
    if not (0 <= rates.holds <= 1 and 0 <= rates.bans <= 1 and 0 <= rates.keep_apart <= 0.5):
        raise ValueError("rates are shares of the requests: holds and bans 0..1, "
                         "keep-apart pairs 0..0.5 per person")
    rng = random.Random(seed)
    site_list = _sites(rng, sites)
    bed_list = _beds(rng, site_list, beds)
    youth = next(s for s in site_list if s.max_age is not None) if sites > 1 else None
    people = []
    for i in range(requests):
        ages = (youth.min_age or 16, youth.max_age or 24) if youth and rng.random() < 0.08 else None
        people.append(person(rng, f"p{i + 1:05d}", age_range=ages))
    people = queue_and_wishes(rng, people, bed_list, [s.id for s in site_list])
    return add_safety_and_holds(rng, Night(night=date, sites=tuple(site_list),
                                           beds=tuple(bed_list), requests=tuple(people)), rates)


def _sites(rng: random.Random, n: int) -> list[Site]:
    out = []
    for i in range(n):
        name = f"{NAMES[i % len(NAMES)]} {'hospits' if i < len(NAMES) else i // len(NAMES) + 1}"
        out.append(Site(id=f"s{i + 1:03d}", name=name))
    if n > 1:  # one age-limited youth site
        low, high = rng.choice(((18, 23), (16, 24)))
        out[-1] = Site(id=out[-1].id, name="Ungdomsplasser", min_age=low, max_age=high)
    return out


def _beds(rng: random.Random, sites: list[Site], total: int) -> list[Bed]:
    """Site sizes vary; about 20% of beds women-only, some men-only sites, 5% accessible."""
    weights = [rng.lognormvariate(0, 0.5) for _ in sites]
    if len(sites) > 1:
        weights[-1] = min(weights[-1], 0.5)  # youth sites are small
    scale = (total - len(sites)) / sum(weights)
    sizes = [1 + int(w * scale) for w in weights]
    for i in range(total - sum(sizes)):
        sizes[i % len(sizes)] += 1
    out: list[Bed] = []
    women_target, women = round(0.2 * total), 0
    many = len(sites) >= 8
    for i, (site, size) in enumerate(zip(sites, sizes)):
        if many and site.max_age is None and women + size <= women_target * 1.1 and i % 5 == 1:
            kinds = ["women"] * size  # a women's shelter
        elif many and site.max_age is None and i % 3 == 0:
            kinds = ["men"] * size
        else:
            kinds = ["mixed"] * size
        if not many or kinds[0] != "women":
            wing = round(size * max(0.0, women_target - women) / max(1, total - len(out)))
            kinds[:wing] = ["women"] * wing  # a women's wing
        for j, kind in enumerate(kinds):
            women += kind == "women"
            features = frozenset({"accessible"}) if rng.random() < 0.05 else frozenset()
            out.append(Bed(id=f"{site.id}-{j + 1}", site=site.id, gender=kind, features=features))
    return out


def add_safety_and_holds(rng: random.Random, night: Night, rates: Rates = Rates()) -> Night:
    """Bans, keep-apart pairs and holds at ``rates`` (at least one ban and one pair), that can
    all be honoured together."""
    people = [r.person for r in night.requests]
    site_ids = sorted(night.site_ids)
    if not people or not site_ids:
        return night
    bans = tuple(Ban(rng.choice(people), rng.choice(site_ids), "bortvisning")
                 for _ in range(max(1, rates.count(rates.bans, len(people)))))
    pairs = set()
    for _ in range(max(1, rates.count(rates.keep_apart, len(people))) if len(people) > 1 else 0):
        p, q = rng.sample(people, 2)
        pairs.add((min(p, q), max(p, q)))
    night = replace(night, barred=bans, keep_apart=tuple(sorted(pairs)))
    return replace(night, holds=_holds(rng, night, rates.count(rates.holds, len(people))))


def _holds(rng: random.Random, night: Night, n_holds: int) -> tuple[Hold, ...]:
    """Each hold reserves a concrete eligible bed in the booking system's own ledger."""
    reserved: set[str] = set()
    held_site: dict[str, str] = {}
    holds: list[Hold] = []
    for r in rng.sample(list(night.requests), n_holds):
        beds = [b for b in rng.sample(list(night.beds), min(40, len(night.beds)))
                if b.id not in reserved and night.eligible(r, b)]
        beds = [b for b in beds
                if all(held_site.get(q) != b.site for q in night.partners.get(r.person, ()))]
        if not beds:
            continue
        bed = beds[0]
        reserved.add(bed.id)
        held_site[r.person] = bed.site
        by_site = rng.random() < 0.5
        holds.append(Hold(id=f"h{len(holds) + 1}", person=r.person,
                          bed=None if by_site else bed.id, site=bed.site if by_site else None,
                          organisation=rng.choice(ORGANISATIONS)))
    return tuple(holds)
