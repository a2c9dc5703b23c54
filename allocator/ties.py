"""Stage 2 of the need rule: levels 3-5 with the level 1-2 counts held fixed.

Stage 1 (:mod:`allocator.model`) hands over a :class:`~allocator.model.Stage1Optimum`: a
placement and its placed count per priority key. Stage 2 is one min-cost flow in which exactly
that many people of each key are placed (source -> key node with exactly that capacity), so
levels 1-2 cannot change; among such placements it maximises, lexicographically, people in
their own ``last_bed``, then people at their last bed's site, then people at a preferred site
(exact: the weights are mixed-radix integers sized from the counts), and then favours earlier
arrivals with a weight linear in queue position:

    cost = -(U * A + queue weight)
    U    = continuity * (W + 1) + wish       continuity: X for the last bed, 1 for its site
    X    = 1 + number of people whose last bed's site is in play     (last beds dominate sites)
    W    = number of people with a preferred site in play            (continuity dominates wishes)
    A    = placed * Q + 1                                            (wishes dominate the queue)

where Q is the queue weight of the earliest arrival (linear in queue position, reduced only when
the product would leave int64 for the graph's actual node count).

Level 5 is exact among people interchangeable for levels 1-4 (same access, need and nights, no
continuity or wish in play): the earliest arrivals of such a group are the ones placed. Across
different groups it is the linear queue weight, not a strict lexicographic order.

If stage 2 puts a keep-apart pair together, the pair is split in a way that keeps the stage-1
placement feasible (so the fixed counts stay reachable) and stage 2 is solved again: first by
keeping one partner out of the shared site, then by pinning clashing partners to their stage-1
sites, and in a third and last round by pinning everyone with a partner to their stage-1 site
(or out, if stage 1 left them out), which cannot clash. Levels 1-2 stay exact; levels 3-5 are
then best-found rather than proven.
"""

from __future__ import annotations

import time
from collections import Counter
from typing import TYPE_CHECKING, NamedTuple

from allocator.flowgraph import SOURCE, CostRangeError
from allocator.network import (NO_ACCESS, Access, ClassGraph, InBed, InClass, Placement, Route,
                               ViaEntry)
from allocator.problem import Request

if TYPE_CHECKING:
    from allocator.model import NeedModel, PriorityKey, Stage1Optimum

NOWHERE = "\x00nowhere"  # a site no bed is at: pins a person out of every bed


class Options(NamedTuple):
    """What levels 3-4 can give one person tonight, within their access."""

    access: Access
    last_bed: str | None  # their own last bed, free tonight and open to them
    last_site: str | None  # their last bed's site, if open to them
    wishes: frozenset[str]  # preferred sites open to them
    classes: tuple[int, ...] = ()  # the open classes at those sites (all at a held site)

    @property
    def plain(self) -> bool:
        """Nothing for levels 3-4 depends on where this person goes."""
        return self.last_site is None and not self.wishes


class TieBreaker:
    """Levels 3-5 for a fixed stage-1 optimum; never returns anything worse on levels 1-2."""

    def __init__(self, model: "NeedModel") -> None:
        self.m = model
        self.night = model.night
        self.layer = model.layer
        self._plain_options: dict[str, Options | Access] = {}  # people not excluded or pinned

    def improve(self, optimum: "Stage1Optimum") -> Placement:
        """Re-solve with fixed counts; split keep-apart clashes; fall back to stage 1's."""
        m, best = self.m, optimum.placement
        excluded: dict[str, set[str]] = {}
        pinned: dict[str, str] = {}
        for round_ in range(3):
            if round_ == 2:
                self._freeze_partners(best, pinned)
            sol = self.stage2(optimum.counts, excluded, pinned)
            if sol is None:  # pragma: no cover - best is always feasible for stage 2
                return best
            clash = m.violations(sol)
            if not clash:
                return sol
            if time.perf_counter() > m.deadline:
                return best
            for p, q, site in clash:
                self._split(p, q, site, best, excluded, pinned, round_ > 0)
        return best  # pragma: no cover - the third round cannot clash

    # -- keep-apart in stage 2 -----------------------------------------------------------
    def _freeze_partners(self, best: Placement, pinned: dict[str, str]) -> None:
        """Last resort: everyone with a keep-apart partner keeps their stage-1 site, or stays
        unplaced if stage 1 did not place them; stage 2 then cannot put a pair together."""
        for person in self.night.partners:
            if person not in self.m.prep.site_hold and person in self.night.request_by_person:
                bed = best.get(person)
                pinned[person] = self.night.bed_by_id[bed].site if bed else NOWHERE

    def _split(self, p: str, q: str, site: str, best: Placement,
               excluded: dict[str, set[str]], pinned: dict[str, str], for_good: bool) -> None:
        """Keep-apart: split a pair stage 2 put together, so that stage 1 stays feasible.

        First round: keep one partner (the lower-priority one if stage 1 has it elsewhere) out
        of the shared site. From the second round on, pairs are split for good (so the rounds
        end quickly): a partner stage 1 placed stays at that site, one it did not place keeps
        out of the shared site.
        """
        m, bed_site = self.m, self.night.bed_by_id
        movable = [x for x in (p, q) if x not in m.prep.site_hold]
        if not for_good:
            first = m.loser(p, q)
            for person in sorted(movable, key=lambda x: x != first):
                now = best.get(person)
                if now is None or bed_site[now].site != site:
                    excluded.setdefault(person, set()).add(site)
                    return
        for person in movable:
            if person in best:
                pinned[person] = bed_site[best[person]].site
            else:
                excluded.setdefault(person, set()).add(site)

    # -- levels 3 and 4 ------------------------------------------------------------------
    def options(self, r: Request, access: Access) -> Options:
        """Level 3: the person's last bed if free tonight, and that bed's site; level 4: their
        preferred sites; each only if it is open to them."""
        layer = self.layer
        bed = self.night.bed_by_id.get(r.last_bed) if r.last_bed else None
        last_bed = last_site = None
        if bed is not None and layer.allows_site(access, bed.site):
            last_site = bed.site
            if bed.id not in self.m.prep.taken_beds and \
                    layer.allows_class(access, layer.layout.class_of_bed[bed.id]):
                last_bed = bed.id
        wishes = frozenset(s for s in r.preferred_sites if layer.allows_site(access, s)) \
            if r.preferred_sites else frozenset()
        if access.only is not None and r.person in self.m.prep.site_hold:
            classes = layer.classes(access, access.only)
        else:
            sites = sorted(wishes | {last_site}) if last_site is not None else sorted(wishes)
            classes = tuple(c for site in sites for c in layer.classes(access, site))
        return Options(access, last_bed, last_site, wishes, classes)

    def _options_or_access(self, r: Request, access: Access) -> Options | Access:
        """The person's options, or just their access when they are plain and not site-held
        (then they join a group of interchangeable people)."""
        held = r.person in self.m.prep.site_hold
        if access is NO_ACCESS or (r.last_bed is None and not r.preferred_sites and not held):
            return access
        opt = self.options(r, access)
        return access if opt.plain and not held else opt

    # -- stage 2 -------------------------------------------------------------------------
    def stage2(self, counts: "Counter[PriorityKey]", excluded: dict[str, set[str]],
               pinned: dict[str, str], q_cap: int | None = None) -> Placement | None:
        """Min-cost flow with exactly ``counts[key]`` people placed per priority key.

        ``q_cap`` caps the queue weight (a retry when OR-Tools refuses the cost range)."""
        m, layer = self.m, self.layer
        site_hold, key_of = m.prep.site_hold, m.key_of
        people: list[tuple[str, Options | Access]] = []  # plain people keep only their access
        n_site = n_wish = n_special = 0
        cache = self._plain_options
        for r in m.people:
            person = r.person
            if key_of[person] not in counts:
                continue
            if person in excluded or person in pinned:
                opt = self._options_or_access(r, m.access(
                    r, excluded.get(person, frozenset()), pinned.get(person)))
            else:
                opt = cache.get(person)
                if opt is None:
                    opt = cache[person] = self._options_or_access(r, m.plain_access[person])
            if opt is NO_ACCESS:
                continue
            if type(opt) is Options:
                n_site += opt.last_site is not None
                n_wish += bool(opt.wishes)
                n_special += 1
            people.append((person, opt))
        x_weight, w_radix = n_site + 1, n_wish + 1
        top = x_weight * w_radix + 1
        placed = max(sum(counts.values()), 1)
        # OR-Tools multiplies costs by the node count and its prices grow further while it
        # solves: a wide margin over an upper bound on the nodes this graph will have.
        nodes = (2 + len(layer.free_beds) + sum(len(o) for o in layer.order) + len(counts)
                 + len(people) + 2 * n_special)
        limit = (2 ** 63 - 1) // (nodes + 2) // 16
        q_max = max(0, min(len(self.night.requests), (limit // top - 1) // placed))
        if q_cap is not None:
            q_max = min(q_max, q_cap)
        a_radix = placed * q_max + 1
        span = max(len(self.night.requests) - 1, 1)

        # a bed node only where two people in play share a last bed: otherwise the arc to
        # the bed's class (capacity 1) is the same constraint, one node and arc fewer
        shared = {bed for bed, n in Counter([opt.last_bed for _, opt in people
                                             if type(opt) is Options]).items() if n > 1}
        g = ClassGraph(layer)
        key_node = {key: g.add_node() for key in counts}
        for key, n in counts.items():
            g.arc(SOURCE, key_node[key], n)
        plain: dict[tuple[Access, "PriorityKey", int], list[str]] = {}
        person_arcs: dict[str, tuple[int, list[tuple[int, Route]]]] = {}
        arc, class_node, site_of = g.arc, g.class_node, layer.site_of
        class_of_bed, queue_rank = layer.layout.class_of_bed, m.queue_rank
        via: dict[int, ViaEntry] = {}
        in_class = [InClass(c) for c in range(len(site_of))]
        for person, opt in people:
            key = key_of[person]
            queue_weight = (span - queue_rank[person]) * q_max // span
            if type(opt) is Access:
                plain.setdefault((opt, key, queue_weight), []).append(person)
                continue
            assert isinstance(opt, Options)
            node = g.add_node()
            inflow = arc(key_node[key], node, 1, -queue_weight)
            outs: list[tuple[int, Route]] = []
            forced = person in site_hold
            if not forced:
                entry = g.entry(opt.access)
                route = via.get(entry)
                if route is None:
                    route = via[entry] = ViaEntry(entry)
                outs.append((arc(node, entry, 1), route))
            # the last bed's own class is dominated by the last bed itself, unless another
            # person in play has that last bed too
            last_bed, last_site, wishes = opt.last_bed, opt.last_site, opt.wishes
            own = -1 if last_bed is None or last_bed in shared else class_of_bed[last_bed]
            for c in opt.classes:
                site = site_of[c]
                u = (site == last_site) * w_radix + (site in wishes)
                if (forced or u) and c != own:
                    outs.append((arc(node, class_node[c], 1, -u * a_radix), in_class[c]))
            if last_bed is not None:
                u = x_weight * w_radix + (last_site in wishes)
                head = g.bed_node(last_bed) if last_bed in shared else \
                    class_node[class_of_bed[last_bed]]
                outs.append((arc(node, head, 1, -u * a_radix), InBed(last_bed)))
            person_arcs[person] = (inflow, outs)
        plain_arcs: list[tuple[int, tuple[Access, "PriorityKey"]]] = []
        for (access, key, queue_weight), members in plain.items():
            arc = g.arc(key_node[key], g.entry(access), len(members), -queue_weight)
            plain_arcs.append((arc, (access, key)))
        assert g.n_nodes <= nodes, "the cost bound counted too few nodes"
        try:
            if not g.solve(sum(counts.values())):
                return None
        except CostRangeError:
            if q_max == 0:
                raise
            return self.stage2(counts, excluded, pinned, q_max // 16)
        return self._routes(g, plain, plain_arcs, person_arcs)

    def _routes(self, g: ClassGraph, plain, plain_arcs, person_arcs) -> Placement:
        """Who goes where: earliest arrivals of each plain group, and each person's arc."""
        m = self.m
        routes: dict[str, Route] = {}
        chosen: Counter = Counter()
        for arc, group in plain_arcs:
            chosen[group] += g.flow(arc)
        members: dict[tuple, list[str]] = {}
        for (access, key, _), people in plain.items():
            members.setdefault((access, key), []).extend(people)
        for (access, key), people in members.items():
            if chosen[(access, key)]:
                people.sort(key=m.rank)  # level 5 inside a group: exact
                route = ViaEntry(g.entry(access))
                for person in people[:chosen[(access, key)]]:
                    routes[person] = route
        for person, (inflow, outs) in person_arcs.items():
            if g.flow(inflow):
                routes[person] = next(route for arc, route in outs if g.flow(arc))
        return g.decode(routes, m.rank, m.night.partners)
