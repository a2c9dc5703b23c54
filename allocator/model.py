"""The need rule, levels 1-2: max-weight flows over bed classes, branch and bound for keep-apart.

Read top to bottom: the priority key, then :class:`NeedModel` with one method per rule family,
stage 1, keep-apart, and :meth:`NeedModel.solve`, which hands the stage-1 optimum to stage 2
(:mod:`allocator.ties`, levels 3-5) through :class:`Stage1Optimum`.

Why flows, not one big CP-SAT model: without keep-apart pairs the sets of people that can be
placed together form a transversal matroid. For a matroid every maximum-weight independent set,
with weights strictly increasing in a priority key, places the greatest possible number of
people at or above *every* threshold of that key (it is "Gale optimal"). With the key
(need, nights_turned_away) and weight = rank of the key, one max-weight flow is therefore exactly
lexicographically optimal for levels 1 and 2 at once. Site-held people get a weight above every
key, which forces them in (their holds were checked to be honourable together).

Stage 1 (levels 1-2, exact): max-weight flow source -> (access, key) groups -> entry node -> bed
classes -> sink (see :mod:`allocator.network`: people with equal access share an entry, and bans
or exclusions cost a few arcs, not one per class); a bypass arc lets people be turned away.
A 100,000-bed night is a stage-1 graph of about 20,000 nodes.

Keep-apart (exact for level 1-2): solve without the pairs; if a pair shares a site ``s``, every
valid placement has ``p`` not at ``s`` or ``q`` not at ``s``; both restricted problems are again
transversal matroids, so branch on them, bounding each node by its own Gale-optimal count
vector. A quick dive (exclude the lower-priority partner from every shared site) usually meets
the root bound at once and proves optimality.

Stage 2 (levels 3-5, :mod:`allocator.ties`): the number placed per key is fixed to the stage-1
optimum, so levels 1-2 cannot change; the docstring there says what is exact.
"""

from __future__ import annotations

import time
from collections import Counter
from dataclasses import dataclass
from typing import NamedTuple

from allocator.flowgraph import SINK, SOURCE
from allocator.layout import Prepared
from allocator.network import NO_ACCESS, Access, BedLayer, ClassGraph, Placement, Route, ViaEntry
from allocator.problem import Request
from allocator.rules import queue_key


class PriorityKey(NamedTuple):
    """Levels 1-2 of a person: higher need first, then more nights turned away."""

    need: int
    nights: int


SITE_HOLD = PriorityKey(101, 0)  # above every need (0..100): a site hold is always honoured

Exclusions = dict[str, frozenset[str]]  # person -> sites they are kept out of (keep-apart)


@dataclass(frozen=True)
class Stage1Optimum:
    """What stage 2 needs from stage 1: a placement optimal for levels 1-2 that keeps every
    keep-apart pair apart, and how many people of each priority key it places."""

    placement: Placement
    counts: Counter[PriorityKey]


class NeedModel:
    """Decides the need rule for the people without a bed hold; one method per rule family."""

    def __init__(self, prep: Prepared, time_limit: float = 10.0) -> None:
        self.prep = prep
        self.night = prep.night
        self.layer = BedLayer(prep.layout, prep.taken_beds)
        self.deadline = time.perf_counter() + time_limit
        self.proven = True
        self.people = [r for r in self.night.requests if r.person not in prep.placed]
        queue = sorted(self.night.requests, key=queue_key)
        self.queue_rank = {r.person: i for i, r in enumerate(queue)}
        self.rank = self.queue_rank.__getitem__  # level 5: position in the queue
        self.key_of = {r.person: self.key(r) for r in self.people}
        self.key_rank = self._priority_ranks()
        self.partner_sites = self._held_partner_sites()
        self.plain_access = {r.person: self.access(r) for r in self.people}
        self._groups = self._stage1_groups()

    # -- rule families -------------------------------------------------------------------
    def _priority_ranks(self) -> dict[PriorityKey, int]:
        """Levels 1-2: higher need first, then more nights turned away; rank 1 is the lowest."""
        keys = sorted({k for k in self.key_of.values() if k != SITE_HOLD})
        return {k: i + 1 for i, k in enumerate(keys)}

    def key(self, request: Request) -> PriorityKey:
        """A person's priority key; site-held people rank above everyone (holds are honoured)."""
        if request.person in self.prep.site_hold:
            return SITE_HOLD
        return PriorityKey(request.need, request.nights_turned_away)

    def _held_partner_sites(self) -> dict[str, set[str]]:
        """Keep-apart: nobody goes to a site where a partner is held or already placed."""
        night, out = self.night, {}
        site_of = {p: night.bed_by_id[b].site for p, (b, _) in self.prep.placed.items()}
        site_of.update({p: s for p, (s, _) in self.prep.site_hold.items()})
        for person, site in site_of.items():
            for partner in night.partners.get(person, ()):
                out.setdefault(partner, set()).add(site)
        return out

    def access(self, request: Request, excluded: frozenset[str] | set[str] = frozenset(),
               only_site: str | None = None) -> Access:
        """Eligibility: the classes with a free bed the person may use (gender, features, age,
        bans), never at a site where a held or placed partner is or at an ``excluded`` site;
        a site hold (or ``only_site``, stage 2's pin) keeps only that site."""
        base, barred = self.prep.layout.eligibility(request)
        held = self.prep.site_hold.get(request.person)
        partner_sites = self.partner_sites.get(request.person)
        if not (barred or excluded or partner_sites or held or only_site):
            return self.layer.access(base)  # most people: every class of their base
        minus = barred | excluded | (partner_sites or frozenset())
        return self.layer.access(base, minus, held[0] if held else only_site)

    # -- stage 1: levels 1 and 2 ---------------------------------------------------------
    def _weight(self, person: str) -> int:
        """Stage 1's weight: the rank of the priority key; site holds above every key."""
        key = self.key_of[person]
        return len(self.key_rank) + 1 if key == SITE_HOLD else self.key_rank[key]

    def _stage1_groups(self) -> dict[tuple[Access, int], list[str]]:
        """People with equal access and weight are interchangeable for levels 1-2; each group
        lists its members in queue order (level 5 inside a group)."""
        groups: dict[tuple[Access, int], list[str]] = {}
        for person in sorted(self.plain_access, key=self.rank):
            access = self.plain_access[person]
            if access is not NO_ACCESS:
                groups.setdefault((access, self._weight(person)), []).append(person)
        return groups

    def stage1(self, excluded: Exclusions) -> Placement:
        """Max-weight flow, weight = rank of (need, nights): Gale optimal for levels 1-2.

        ``excluded`` keeps some people out of some sites (the keep-apart branches); everyone
        else keeps their group, so a branch costs a graph, not a pass over every person."""
        request = self.night.request_by_person
        moved: dict[tuple[Access, int], list[str]] = {}
        left_out: Counter[tuple[Access, int]] = Counter()
        for person in sorted(excluded, key=self.rank):
            r = request[person]
            if person in self.prep.placed:
                continue
            weight = self._weight(person)
            left_out[(self.plain_access[person], weight)] += 1
            access = self.access(r, excluded[person])
            if access is not NO_ACCESS:
                moved.setdefault((access, weight), []).append(person)
        g = ClassGraph(self.layer)
        arcs = []
        for groups, skip in ((self._groups, excluded), (moved, {})):
            for (access, weight), members in groups.items():
                size = len(members) - (left_out[(access, weight)] if skip else 0)
                if size:
                    entry = g.entry(access)
                    arcs.append((g.arc(SOURCE, entry, size, -weight), entry, members, skip))
        g.arc(SOURCE, SINK, len(self.people) + 1, 0)  # turned away
        if not g.solve(len(self.people) + 1):  # pragma: no cover - bypass makes it feasible
            raise RuntimeError("stage 1 infeasible")
        routes: dict[str, Route] = {}
        for arc, entry, members, skip in arcs:
            flow = g.flow(arc)
            route = ViaEntry(entry)
            for person in members:  # in queue order: the earliest of a group are placed
                if not flow:
                    break
                if person not in skip:  # moved people have a group of their own
                    routes[person] = route
                    flow -= 1
        return g.decode(routes, self.rank, self.night.partners)

    # -- keep-apart ----------------------------------------------------------------------
    def violations(self, placement: Placement) -> list[tuple[str, str, str]]:
        """Keep-apart pairs placed at one site, as (person, partner, site)."""
        bed_by_id, out = self.night.bed_by_id, []
        for p, q in self.night.keep_apart:
            if p in placement and q in placement:
                site = bed_by_id[placement[p]].site
                if site == bed_by_id[placement[q]].site:
                    out.append((p, q, site))
        return out

    def vector(self, placement: Placement) -> tuple[tuple[int, ...], tuple[int, ...]]:
        """The objective of levels 1-2, compared lexicographically: placed count per need
        (highest need first), then placed count per (need, nights) key (highest first).

        A Gale-optimal relaxation dominates every placement it relaxes at every threshold of
        the key, hence on this pair too: it is a valid bound in the branch and bound.
        """
        counts = dict.fromkeys(self.key_rank, 0)
        key_of = self.key_of
        for person in placement:
            key = key_of[person]
            if key != SITE_HOLD:
                counts[key] += 1
        keys = sorted(counts, reverse=True)
        by_need: dict[int, int] = {}
        for need, nights in keys:
            by_need[need] = by_need.get(need, 0) + counts[PriorityKey(need, nights)]
        return tuple(by_need.values()), tuple(counts[k] for k in keys)

    def loser(self, p: str, q: str) -> str:
        """Of two partners, the one to move: lower priority, later in the queue."""
        if p in self.prep.site_hold:
            return q
        if q in self.prep.site_hold:
            return p
        a = (self.key_of[p], -self.queue_rank[p])
        b = (self.key_of[q], -self.queue_rank[q])
        return p if a < b else q

    def fill(self, placement: Placement) -> Placement:
        """Give any still-free eligible bed away, by priority, never next to a partner.

        Each waiting person takes the first class (in class order) they may use that still has
        a free bed and no placed partner at its site, and its first free bed. Only classes with
        free beds left are looked at, so this is cheap when, as usual, few beds are free."""
        night, layer = self.night, self.layer
        used = set(placement.values())
        site_people: dict[str, set[str]] = {}
        for person, bed in list(placement.items()) + [(p, b) for p, (b, _) in self.prep.placed.items()]:
            site_people.setdefault(night.bed_by_id[bed].site, set()).add(person)
        left = [len(beds) for beds in layer.free_beds]
        for bed in used:
            left[layer.layout.class_of_bed[bed]] -= 1
        next_bed = [0] * len(left)
        open_in: dict[int, list[int]] = {}  # base -> classes with free beds, in class order
        out = dict(placement)
        waiting = sorted((p for p in self.plain_access if p not in out),
                         key=lambda p: (self.key_of[p], -self.queue_rank[p]), reverse=True)
        for person in waiting:
            access = self.plain_access[person]
            if access is NO_ACCESS:
                continue
            classes = open_in.get(access.base)
            if classes is None:
                classes = open_in[access.base] = sorted(c for c in layer.order[access.base]
                                                        if left[c])
            partners = night.partners.get(person)
            for c in classes:
                site = layer.site_of[c]
                if not left[c] or not layer.allows_site(access, site) or (
                        partners and site_people.get(site, set()) & partners):
                    continue
                beds = layer.free_beds[c]
                i = next_bed[c]
                while beds[i] in used:
                    i += 1
                next_bed[c] = i + 1
                out[person] = beds[i]
                used.add(beds[i])
                left[c] -= 1
                site_people.setdefault(site, set()).add(person)
                break
        return out

    def _split(self, placement: Placement) -> Placement:
        """Fallback when time runs out: drop the lower-priority partner of each clash, refill."""
        out = dict(placement)
        for p, q, _ in self.violations(out):
            if p in out and q in out:
                del out[self.loser(p, q)]
        return self.fill(out)

    def keep_apart_search(self) -> Placement:
        """Branch and bound over 'p not at s' / 'q not at s'; exact for levels 1-2."""
        root = self.stage1({})
        if not self.violations(root):
            return root
        bound = self.vector(root)
        best = self._dive(root)
        best_vec = self.vector(best)
        stack: list[Exclusions] = [{}]
        while stack and best_vec < bound:
            if time.perf_counter() > self.deadline:
                self.proven = False
                break
            excl = stack.pop()
            sol = self.stage1(excl)
            if self.vector(sol) <= best_vec:
                continue
            clash = self.violations(sol)
            if not clash:
                best = self.fill(sol)
                best_vec = self.vector(best)
                continue
            p, q, site = clash[0]
            for person in (q, p) if self.loser(p, q) == p else (p, q):
                if person in self.prep.site_hold:
                    continue  # a site hold cannot be moved off its site
                child = dict(excl)
                child[person] = child.get(person, frozenset()) | {site}
                stack.append(child)
        return best

    def _dive(self, sol: Placement) -> Placement:
        """Exclude the lower-priority partner from each shared site until no pair clashes."""
        excl: Exclusions = {}
        while clash := self.violations(sol):
            if time.perf_counter() > self.deadline:
                self.proven = False
                return self._split(sol)
            for p, q, site in clash:
                loser = self.loser(p, q)
                excl[loser] = excl.get(loser, frozenset()) | {site}
            sol = self.stage1(excl)
        return self.fill(sol)

    # -- both stages ---------------------------------------------------------------------
    def levels_1_2(self) -> Stage1Optimum:
        """Stage 1 with keep-apart: the placement and its placed count per priority key."""
        best = self.keep_apart_search()
        return Stage1Optimum(best, Counter(self.key_of[p] for p in best))

    def solve(self) -> Placement:
        """Levels 1-2 exactly, then levels 3-5 with the per-key counts held fixed."""
        from allocator.ties import TieBreaker  # ties builds on this module

        return TieBreaker(self).improve(self.levels_1_2())
