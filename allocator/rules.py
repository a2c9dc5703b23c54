"""Plain shelter rules shared by every solver: first-come, turn-away reasons, the Result.

Nothing here optimises; the need rule's model lives in :mod:`allocator.model`.
"""

from __future__ import annotations

import heapq
import time
from typing import Iterable

from allocator.holds import match_all
from allocator.layout import Prepared
from allocator.problem import InputError, Night, Request
from allocator.result import Assignment, Result, Status, TurnAway
from allocator.words import explain, need_params, site_params, sites_text


def queue_key(request: Request) -> tuple[bool, int, str]:
    """First-come order: by arrival, people without an arrival last, ties by person id."""
    return (request.arrival is None, request.arrival or 0, request.person)


def honour_site_holds(prep: Prepared, bed_of: dict[str, str]) -> None:
    """Each site hold, in input order, takes the first free eligible bed of its site.

    Should that greedy order fail, any placement honouring every site hold is used instead
    (one exists: the night was checked when it was built). Adds to ``bed_of`` in place.
    """
    night = prep.night
    held = [h for h in night.holds if h.person in prep.site_hold]
    taken = set(bed_of.values())
    beds_at: dict[str, list[str]] = {}
    for bed in night.beds:
        beds_at.setdefault(bed.site, []).append(bed.id)
    options: list[list[str]] = []
    greedy: dict[str, str] = {}
    chosen: set[str] = set()  # the beds in greedy
    for hold in held:
        site = prep.site_hold[hold.person][0]
        request = night.request_by_person[hold.person]
        choice = [b for b in beds_at.get(site, [])
                  if b not in taken and night.eligible(request, night.bed_by_id[b])]
        options.append(choice)
        free = next((b for b in choice if b not in chosen), None)
        if free is not None:
            greedy[hold.person] = free
            chosen.add(free)
    if len(greedy) < len(held):
        match = match_all(options)
        if match is None:  # pragma: no cover - Night validation rules this out
            raise InputError("site holds cannot all be honoured", "holds")
        greedy = {hold.person: bed for hold, bed in zip(held, match)}
    bed_of.update(greedy)


def first_come(prep: Prepared) -> dict[str, str]:
    """Today's practice: holds first, then the queue takes the first eligible free bed.

    Each person in queue order gets the first eligible free bed in input order whose site
    holds no keep-apart partner already placed. Nobody is moved once placed.
    """
    night, layout = prep.night, prep.layout
    bed_of = {p: b for p, (b, _) in prep.placed.items()}
    honour_site_holds(prep, bed_of)
    taken = set(bed_of.values())
    order = night.bed_index
    pointer = [0] * len(layout.classes)

    def next_free(c: int) -> int | None:
        beds = layout.classes[c].beds
        i = pointer[c]
        while i < len(beds) and beds[i] in taken:
            i += 1
        pointer[c] = i
        return order[beds[i]] if i < len(beds) else None

    heaps: dict[int, list[tuple[int, int]]] = {}
    queue = sorted((r for r in night.requests if r.person not in bed_of), key=queue_key)
    for request in queue:
        base, barred = layout.eligibility(request)
        partners = night.partners.get(request.person)
        # bans, and keep-apart: never at the site of a placed partner
        blocked = barred | {night.bed_by_id[bed_of[p]].site for p in partners if p in bed_of} \
            if partners else barred
        best = _pop_first(heaps, base, layout.bases[base], next_free,
                          (lambda c, blocked=blocked: layout.classes[c].site in blocked)
                          if blocked else None)
        if best is None:
            continue
        bed = night.beds[best[0]].id
        bed_of[request.person] = bed
        taken.add(bed)
    return bed_of


def _pop_first(heaps: dict[int, list[tuple[int, int]]], key: int, classes: tuple[int, ...],
               next_free, blocked) -> tuple[int, int] | None:
    """The earliest free bed over ``classes`` outside ``blocked`` classes (None: none are), from
    a lazily refreshed heap per class set ``key`` (entries are lower bounds: beds only get
    taken, and blocked classes are set aside, then put back)."""
    heap = heaps.get(key)
    if heap is None:
        heap = [(nf, c) for c in classes if (nf := next_free(c)) is not None]
        heapq.heapify(heap)
        heaps[key] = heap
    aside: list[tuple[int, int]] = []
    found = None
    while heap:
        nf, c = heap[0]
        now = next_free(c)
        if now is None:
            heapq.heappop(heap)
        elif now != nf:
            heapq.heapreplace(heap, (now, c))
        elif blocked is not None and blocked(c):
            aside.append(heapq.heappop(heap))
        else:
            found = (nf, c)
            break
    for entry in aside:
        heapq.heappush(heap, entry)
    return found


# -- turn-away reasons -----------------------------------------------------------------------
# Each turn-away is a reason code with the facts behind it (JSON-safe params); the English
# sentence is allocator.words.explain's (the web app words the same params in its language).

def _site_params(night: Night, sites: Iterable[str]) -> dict:
    return site_params(night.site_label(s) for s in sites)


def _who_params(night: Night, request: Request) -> dict:
    return {"gender": request.gender, "needs": sorted(request.needs),
            "age_limited": any(s.min_age is not None or s.max_age is not None
                               for s in night.sites),
            "age": request.age}


def turn_aways(prep: Prepared, bed_of: dict[str, str], rule: str) -> list[TurnAway]:
    """Reason, its facts (``params``) and a sentence staff can read out (English, from
    :func:`allocator.words.explain`), for everyone without a bed.

    ``no_eligible_bed``: no bed at all is eligible; ``keep_apart``: the only free eligible beds
    are at sites where a partner is placed; ``capacity``: every eligible bed is taken. The
    capacity sentence names what took the beds truthfully: people placed by this decision
    (their needs), people already placed tonight (``fixed``, confirmed earlier) and
    pre-bookings (holds) are three different things.
    """
    night, layout = prep.night, prep.layout
    req = night.request_by_person
    # Pre-booked beds: bed holds, and site holds honoured now. Every other bed decided before
    # this run belongs to someone already placed tonight (fixed; their site hold, if any,
    # was honoured when they were confirmed).
    bed_holders = {h.person for h in night.holds if h.bed is not None}
    prebooked = {b for p, (b, _) in prep.placed.items() if p in bed_holders}
    prebooked |= {bed_of[p] for p in prep.site_hold if p in bed_of}
    placed_before = {b for b, _ in prep.placed.values()} - prebooked
    person_in = {b: p for p, b in bed_of.items()}
    free = [0] * len(layout.classes)
    occupant_needs: list[set[int]] = [set() for _ in layout.classes]
    held = [0] * len(layout.classes)
    fixed = [0] * len(layout.classes)
    for c in layout.classes:
        for b in c.beds:
            if b not in person_in:
                free[c.index] += 1
            elif b in prebooked:
                held[c.index] += 1
            elif b in placed_before:
                fixed[c.index] += 1
            else:
                occupant_needs[c.index].add(req[person_in[b]].need)
    summary = _Summaries(layout, free, held, fixed, occupant_needs)
    out: list[TurnAway] = []
    # People with the same eligibility share one params dict and sentence (read-only).
    shared: dict[tuple, tuple[str, dict, str]] = {}
    for request in night.requests:
        if request.person in bed_of:
            continue
        found = summary.of(layout.eligibility(request))
        if found is None:
            reason, params = "no_eligible_bed", _no_bed_params(night, layout, request)
            out.append(TurnAway(request.person, reason, explain(reason, params), params))
            continue
        open_sites, total, n_held, needs, lowest, n_fixed = found
        lower = []
        for n, c in lowest if rule == "need" and not open_sites else ():  # by lowest need
            if n >= request.need:
                break
            lower.append(c)
        key = (id(found), tuple(lower))
        known = shared.get(key)
        if known is None:
            if open_sites:
                reason, params = "keep_apart", _site_params(night, open_sites)
            else:
                reason, params = "capacity", _capacity_params(rule, total, n_held, needs, lower,
                                                              layout, night, n_fixed)
            known = shared[key] = (reason, params, explain(reason, params))
        out.append(TurnAway(request.person, known[0], known[2], known[1]))
    return out


class _Summaries:
    """What the turn-away sentences say about a person's eligible classes, per eligibility
    (base, barred sites): sites with a free bed, beds, held beds, occupants' needs, and classes
    by their lowest occupant need. Computed once per base; a ban subtracts its sites."""

    def __init__(self, layout, free: list[int], held: list[int], fixed: list[int],
                 occupant_needs: list[set[int]]) -> None:
        self.layout, self.free, self.held, self.needs = layout, free, held, occupant_needs
        self.fixed = fixed
        self._bases: dict[int, tuple] = {}
        self._found: dict[tuple[int, frozenset[str]], tuple | None] = {}

    def _base(self, base: int) -> tuple:
        found = self._bases.get(base)
        if found is None:
            classes, layout = self.layout.bases[base], self.layout
            need_count: dict[int, int] = {}
            for c in classes:
                for n in self.needs[c]:
                    need_count[n] = need_count.get(n, 0) + 1
            found = self._bases[base] = (
                frozenset(classes), {layout.classes[c].site for c in classes if self.free[c]},
                sum(len(layout.classes[c].beds) for c in classes),
                sum(self.held[c] for c in classes), need_count,
                sorted((min(self.needs[c]), c) for c in classes if self.needs[c]),
                sum(self.fixed[c] for c in classes))
        return found

    def of(self, eligibility: tuple[int, frozenset[str]]) -> tuple | None:
        """``(open sites, beds, held, needs, lowest, fixed)``, or None when no bed is eligible."""
        if eligibility in self._found:
            return self._found[eligibility]
        base, barred = eligibility
        members, open_sites, total, n_held, need_count, lowest, n_fixed = self._base(base)
        out: tuple | None = None
        if members:
            gone = {c for site in barred for c in self.layout.classes_at.get(site, ())
                    if c in members}
            if len(gone) < len(members):
                if gone:
                    need_count = dict(need_count)
                    for c in gone:
                        total -= len(self.layout.classes[c].beds)
                        n_held -= self.held[c]
                        n_fixed -= self.fixed[c]
                        for n in self.needs[c]:
                            need_count[n] -= 1
                    open_sites = open_sites - barred
                    lowest = [(n, c) for n, c in lowest if c not in gone]
                out = (open_sites, total, n_held, sorted(n for n, k in need_count.items() if k),
                       lowest, n_fixed)
        self._found[eligibility] = out
        return out


def _no_bed_params(night: Night, layout, request: Request) -> dict:
    unbanned = layout.unbanned_classes(request)
    if unbanned:
        sites = {layout.classes[c].site for c in unbanned}
        return {"barred": True, **_site_params(night, sites)}
    return {"barred": False, **_who_params(night, request)}


def _capacity_params(rule: str, total: int, n_held: int, needs: list[int], lower: list[int],
                     layout, night: Night, n_fixed: int = 0) -> dict:
    """Capacity params: the beds, and who took them (see allocator.words)."""
    if lower:
        sites = {layout.classes[c].site for c in lower}
        return {"beds": total, "lower": True, **_site_params(night, sites)}
    params: dict = {"beds": total, "takers": []}
    if needs:
        if rule == "first-come":
            params["takers"].append("queue")
        else:
            params["takers"].append("need")
            params.update(need_params(needs))
    if n_fixed:
        params["takers"].append("fixed")
    if n_held:
        params["takers"].append("held")
    return params


# The sentences alone, as the functions before params were kept (tests/allocator/alloc_legacy.py,
# a frozen oracle, still calls them).

def _sites_text(night: Night, sites: Iterable[str]) -> str:
    return sites_text(_site_params(night, sites))


def _no_bed(night: Night, layout, request: Request) -> str:
    return explain("no_eligible_bed", _no_bed_params(night, layout, request))


def _capacity_text(night: Night, rule: str, total: int, n_held: int, needs: list[int],
                   lower: list[int], layout, n_fixed: int = 0) -> str:
    return explain("capacity", _capacity_params(rule, total, n_held, needs, lower, layout, night,
                                                n_fixed))


def build_result(prep: Prepared, bed_of: dict[str, str], rule: str, status: Status,
                 started: float) -> Result:
    """Assemble the Result in input order, with placed counts per need value; its
    ``solve_seconds`` run from ``started`` (a ``time.perf_counter()`` reading) to now."""
    night = prep.night
    hold_of = {p: h for p, (_, h) in prep.placed.items() if h is not None}
    hold_of.update({p: h for p, (_, h) in prep.site_hold.items()})
    assignments = tuple(
        Assignment(r.person, bed_of[r.person], night.bed_by_id[bed_of[r.person]].site,
                   hold_of.get(r.person))
        for r in night.requests if r.person in bed_of)
    counts: dict[int, int] = {r.need: 0 for r in night.requests}
    for person in bed_of:
        counts[night.request_by_person[person].need] += 1
    turned_away = tuple(turn_aways(prep, bed_of, rule))
    return Result(night=night.night, rule=rule, status=status, assignments=assignments,
                  turned_away=turned_away,
                  placed_by_need={str(n): counts[n] for n in sorted(counts, reverse=True)},
                  solve_seconds=time.perf_counter() - started)


def check_hard(night: Night, bed_of: dict[str, str], fixed: dict[str, str] | None = None) -> None:
    """Assert every hard constraint of allocation.md holds (used by tests and as a guard)."""
    assert len(set(bed_of.values())) == len(bed_of), "a bed holds two people"
    for person, bed in bed_of.items():
        assert night.eligible(night.request_by_person[person], night.bed_by_id[bed]), (person, bed)
    for p, q in night.keep_apart:
        if p in bed_of and q in bed_of:
            assert night.bed_by_id[bed_of[p]].site != night.bed_by_id[bed_of[q]].site, (p, q)
    for hold in night.holds:
        assert hold.person in bed_of, hold
        if hold.bed is not None:
            assert bed_of[hold.person] == hold.bed, hold
        else:
            assert night.bed_by_id[bed_of[hold.person]].site == hold.site, hold
    for person, bed in (fixed or {}).items():
        assert bed_of.get(person) == bed, (person, bed)
