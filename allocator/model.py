"""The need rule as min-cost flows over bed classes, with branch-and-bound for keep-apart.

Why flows, not one big CP-SAT model: without keep-apart pairs the sets of people that can be
placed together form a transversal matroid. For a matroid every maximum-weight independent set,
with weights strictly increasing in a priority key, places the greatest possible number of
people at or above *every* threshold of that key (it is "Gale optimal"). With the key
(need, nights_turned_away) and weight = rank of the key, one max-weight flow is therefore exactly
lexicographically optimal for levels 1 and 2 at once. Site-held people get a weight above every
key, which forces them in (their holds were checked to be honourable together).

Stage 1 (levels 1-2, exact): max-weight flow source -> (fan-out, key) groups -> fan-out node
(one per distinct set of eligible bed classes) -> bed classes -> sink; a bypass arc lets people
be turned away. Beds of a class are interchangeable and people of one group too, so the graph
has a few hundred nodes even for a city.

Keep-apart (exact for level 1-2): solve without the pairs; if a pair shares a site ``s``, every
valid placement has ``p`` not at ``s`` or ``q`` not at ``s``; both restricted problems are again
transversal matroids, so branch on them, bounding each node by its own Gale-optimal count
vector. A quick dive (exclude the lower-priority partner from every shared site) usually meets
the root bound at once and proves optimality.

Stage 2 (levels 3-5): the number placed per key is fixed to the stage-1 optimum (source -> key
node with exactly that capacity), so levels 1-2 cannot change; among such placements a min-cost
flow maximises, lexicographically, people in their own ``last_bed``, then people at their last
bed's site, then people at a preferred site (exact: the weights are mixed-radix integers sized
from the counts), and then favours earlier arrivals with a weight linear in queue position.
Level 5 is exact among people interchangeable for levels 1-4 (same eligible classes, need and
nights, no continuity or wish in play): the earliest arrivals of such a group are the ones
placed. Across different groups it is the linear queue weight, not a strict lexicographic
order, and on very large nights the queue weight is bucketed to stay within int64.
If stage 2 puts a keep-apart pair together, the pair is split in a way that keeps the stage-1
placement feasible (so the fixed counts stay reachable) and stage 2 is solved again: first by
keeping one partner out of the shared site, then by pinning clashing partners to their stage-1
sites, and in a third and last round by pinning everyone with a partner to their stage-1 site
(or out, if stage 1 left them out), which cannot clash. Levels 1-2 stay exact; levels 3-5 are
then best-found rather than proven.
"""

from __future__ import annotations

import time

from allocator.flowgraph import SINK, SOURCE, FlowGraph
from allocator.layout import Prepared
from allocator.problem import Request
from allocator.rules import queue_key
from allocator.ties import TieBreaker

Placement = dict[str, str]  # person -> bed, for the people the model decides


class NeedModel:
    """Decides the need rule for the people without a bed hold; one method per rule family."""

    def __init__(self, prep: Prepared, time_limit: float = 10.0) -> None:
        self.prep = prep
        self.night = prep.night
        self.layout = prep.layout
        self.deadline = time.perf_counter() + time_limit
        self.proven = True
        taken = prep.taken_beds
        self.free_beds = [[b for b in c.beds if b not in taken] for c in self.layout.classes]
        self.people = [r for r in self.night.requests if r.person not in prep.placed]
        queue = sorted(self.night.requests, key=queue_key)
        self.queue_rank = {r.person: i for i, r in enumerate(queue)}
        self.key_rank = self._priority_ranks()
        self.base_excluded = self._held_partner_sites()
        self.allowed_cache: dict[tuple, tuple[int, ...]] = {}

    # -- rule families ---------------------------------------------------------------------
    def _priority_ranks(self) -> dict[tuple[int, int], int]:
        """Levels 1-2: higher need first, then more nights turned away; rank 1 is the lowest."""
        keys = sorted({(r.need, r.nights_turned_away) for r in self.people})
        return {k: i + 1 for i, k in enumerate(keys)}

    def key(self, request: Request) -> tuple:
        """A person's priority key; site-held people rank above everyone (holds are honoured)."""
        if request.person in self.prep.site_hold:
            return (101, 0)
        return (request.need, request.nights_turned_away)

    def _held_partner_sites(self) -> dict[str, set[str]]:
        """Keep-apart: nobody goes to a site where a partner is held or already placed."""
        night, out = self.night, {}
        site_of = {p: night.bed_by_id[b].site for p, (b, _) in self.prep.placed.items()}
        site_of.update({p: s for p, (s, _) in self.prep.site_hold.items()})
        for person, site in site_of.items():
            for partner in night.partners.get(person, ()):
                out.setdefault(partner, set()).add(site)
        return out

    def allowed(self, request: Request, excluded: set[str],
                only_site: str | None = None) -> tuple[int, ...]:
        """Eligible classes with a free bed, minus excluded sites; a site hold (or
        ``only_site``) keeps only that site. Cached: equal answers are one tuple object."""
        held = self.prep.site_hold.get(request.person)
        only = held[0] if held else only_site
        classes = self.layout.eligible_classes(request)
        base = self.base_excluded.get(request.person)
        if only is None and not excluded and not base:
            excl: frozenset[str] = frozenset()
            cache_key: tuple = (id(classes),)  # per-person tuples are cached, ids stable
        else:
            excl = frozenset(excluded | base) if base else frozenset(excluded)
            cache_key = (id(classes), excl, only)
        found = self.allowed_cache.get(cache_key)
        if found is None:
            found = tuple(c for c in classes if self.free_beds[c]
                          and self.layout.classes[c].site not in excl
                          and (only is None or self.layout.classes[c].site == only))
            self.allowed_cache[cache_key] = found
        return found

    def _bed_capacity(self, g: FlowGraph) -> None:
        """A bed holds at most one person: each class carries at most its free beds."""
        for c, beds in enumerate(self.free_beds):
            if beds:
                g.arc(g.node(("class", c)), SINK, len(beds))

    def _fan_out(self, g: FlowGraph, classes: tuple[int, ...]) -> int:
        """Every assignment is eligible: a fan-out node reaches only the allowed classes."""
        name = ("fan", id(classes))  # allowed tuples are cached: one object per class set
        if name not in g.ids:
            node = g.node(name)
            for c in classes:
                arc = g.arc(node, g.node(("class", c)), len(self.free_beds[c]))
                g.fan_arcs.append((arc, node, c))
        return g.ids[name]

    # -- stage 1: levels 1 and 2 -----------------------------------------------------------
    def stage1(self, excluded: dict[str, set[str]]) -> Placement:
        """Max-weight flow, weight = rank of (need, nights): Gale optimal for levels 1-2."""
        g = FlowGraph()
        self._bed_capacity(g)
        top = len(self.key_rank) + 1
        groups: dict[tuple[int, int], list[Request]] = {}
        for r in self.people:
            allowed = self.allowed(r, excluded.get(r.person, set()))
            if not allowed:
                continue
            weight = top if r.person in self.prep.site_hold else self.key_rank[self.key(r)]
            groups.setdefault((self._fan_out(g, allowed), weight), []).append(r)
        arcs = [(g.arc(SOURCE, fan, len(members), -weight), members)
                for (fan, weight), members in groups.items()]
        g.arc(SOURCE, SINK, len(self.people) + 1, 0)  # turned away
        if not g.solve(len(self.people) + 1):  # pragma: no cover - bypass makes it feasible
            raise RuntimeError("stage 1 infeasible")
        routes: dict[str, tuple] = {}
        for arc, members in arcs:
            members.sort(key=lambda r: self.queue_rank[r.person])  # level 5 inside a group
            fan = g.heads[arc]
            for r in members[:g.flow(arc)]:
                routes[r.person] = ("fan", fan)
        return self._decode(g, routes)

    def _decode(self, g: FlowGraph, routes: dict[str, tuple]) -> Placement:
        """Turn class flows into beds: last beds first, then free beds in input order."""
        per_class: dict[int, list[str]] = {}
        fan_people: dict[int, list[str]] = {}
        specific: dict[str, str] = {}
        for person, (kind, value) in routes.items():
            if kind == "fan":  # value: the fan-out node the person entered
                fan_people.setdefault(value, []).append(person)
            elif kind == "class":
                per_class.setdefault(value, []).append(person)
            else:  # a specific last bed
                specific[person] = value
        outflow: dict[int, list[tuple[int, int]]] = {}
        for fan, c, count in g.used_fan_arcs():
            outflow.setdefault(fan, []).append((c, count))
        for fan, people in fan_people.items():
            people.sort(key=lambda p: self.queue_rank[p])
            i = 0
            for c, count in outflow.get(fan, []):
                per_class.setdefault(c, []).extend(people[i:i + count])
                i += count
        placement: Placement = dict(specific)
        used = set(specific.values())
        for c, people in per_class.items():
            beds = (b for b in self.free_beds[c] if b not in used)
            for person in sorted(people, key=lambda p: self.queue_rank[p]):
                placement[person] = next(beds)
        return placement

    # -- keep-apart ------------------------------------------------------------------------
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
        for person in placement:
            if person not in self.prep.site_hold:
                counts[self.key(self.night.request_by_person[person])] += 1
        keys = sorted(counts, reverse=True)
        by_need: dict[int, int] = {}
        for need, nights in keys:
            by_need[need] = by_need.get(need, 0) + counts[(need, nights)]
        return tuple(by_need.values()), tuple(counts[k] for k in keys)

    def loser(self, p: str, q: str) -> str:
        """Of two partners, the one to move: lower priority, later in the queue."""
        rp, rq = self.night.request_by_person[p], self.night.request_by_person[q]
        if p in self.prep.site_hold:
            return q
        if q in self.prep.site_hold:
            return p
        a = (self.key(rp), -self.queue_rank[p])
        b = (self.key(rq), -self.queue_rank[q])
        return p if a < b else q

    def fill(self, placement: Placement) -> Placement:
        """Give any still-free eligible bed away, by priority, never next to a partner."""
        night, layout = self.night, self.layout
        used = set(placement.values())
        site_people: dict[str, set[str]] = {}
        for person, bed in list(placement.items()) + [(p, b) for p, (b, _) in self.prep.placed.items()]:
            site_people.setdefault(night.bed_by_id[bed].site, set()).add(person)
        out = dict(placement)
        waiting = sorted((r for r in self.people if r.person not in out),
                         key=lambda r: (self.key(r), -self.queue_rank[r.person]), reverse=True)
        for r in waiting:
            partners = night.partners.get(r.person, set())
            for c in self.allowed(r, set()):
                site = layout.classes[c].site
                if site_people.get(site, set()) & partners:
                    continue
                bed = next((b for b in self.free_beds[c] if b not in used), None)
                if bed is not None:
                    out[r.person] = bed
                    used.add(bed)
                    site_people.setdefault(site, set()).add(r.person)
                    break
        return out

    def _split(self, placement: Placement) -> Placement:
        """Fallback when time runs out: drop the lower-priority partner of each clash, refill."""
        out = dict(placement)
        for p, q, _ in self.violations(out):
            if p in out and q in out:
                del out[self.loser(p, q)]
        return self.fill(out)

    def keep_apart_search(self) -> tuple[Placement, dict[str, set[str]]]:
        """Branch and bound over 'p not at s' / 'q not at s'; exact for levels 1-2."""
        root = self.stage1({})
        if not self.violations(root):
            return root, {}
        bound = self.vector(root)
        best, best_excl = self._dive(root)
        best_vec = self.vector(best)
        stack: list[dict[str, set[str]]] = [{}]
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
                best, best_excl = self.fill(sol), excl
                best_vec = self.vector(best)
                continue
            p, q, site = clash[0]
            for person in (q, p) if self.loser(p, q) == p else (p, q):
                if person in self.prep.site_hold:
                    continue  # a site hold cannot be moved off its site
                child = {k: set(v) for k, v in excl.items()}
                child.setdefault(person, set()).add(site)
                stack.append(child)
        return best, best_excl

    def _dive(self, sol: Placement) -> tuple[Placement, dict[str, set[str]]]:
        """Exclude the lower-priority partner from each shared site until no pair clashes."""
        excl: dict[str, set[str]] = {}
        while clash := self.violations(sol):
            if time.perf_counter() > self.deadline:
                self.proven = False
                return self._split(sol), excl
            for p, q, site in clash:
                excl.setdefault(self.loser(p, q), set()).add(site)
            sol = self.stage1(excl)
        return self.fill(sol), excl

    # -- stage 2: levels 3 to 5 ------------------------------------------------------------
    def solve(self) -> Placement:
        """Levels 1-2 exactly, then levels 3-5 with the per-key counts held fixed."""
        best, _ = self.keep_apart_search()
        return TieBreaker(self).improve(best)

