"""Stage 2 of the need rule: levels 3-5 with the level 1-2 counts held fixed.

See :mod:`allocator.model` for why fixing the number placed per (need, nights) key keeps levels
1-2 optimal, and for what is exact here. The costs are a mixed-radix integer per placement:

    cost = -(U * A + queue weight)
    U    = continuity * (W + 1) + wish       continuity: X for the last bed, 1 for its site
    X    = 1 + number of people whose last bed's site is in play     (last beds dominate sites)
    W    = number of people with a preferred site in play            (continuity dominates wishes)
    A    = placed * Q + 1                                            (wishes dominate the queue)

where Q is the queue weight of the earliest arrival (linear in queue position, reduced only when
the product would leave int64).
"""

from __future__ import annotations

import time
from collections import Counter
from typing import TYPE_CHECKING, Iterable

from allocator.flowgraph import SOURCE, FlowGraph
from allocator.problem import Request

if TYPE_CHECKING:
    from allocator.model import NeedModel, Placement


class TieBreaker:
    """Levels 3-5 for a fixed stage-1 optimum; never returns anything worse on levels 1-2."""

    def __init__(self, model: "NeedModel") -> None:
        self.m = model
        self.night = model.night
        self._site_cache: dict[int, set[str]] = {}  # keyed by id of a cached allowed tuple
        self._set_cache: dict[int, frozenset[int]] = {}

    def improve(self, best: "Placement") -> "Placement":
        """Re-solve with fixed counts; split keep-apart clashes; fall back to ``best``."""
        m = self.m
        counts = Counter(m.key(m.night.request_by_person[p]) for p in best)
        excluded: dict[str, set[str]] = {}
        bed_site = self.night.bed_by_id
        for _ in range(50):
            sol = self.stage2(counts, excluded)
            if sol is None:  # pragma: no cover - best is always feasible for stage 2
                return best
            clash = m.violations(sol)
            if not clash:
                return sol
            if time.perf_counter() > m.deadline:
                return best
            for p, q, site in clash:
                first = m.loser(p, q)
                for person in (first, q if first == p else p):
                    now = best.get(person)
                    if person not in m.prep.site_hold and (now is None
                                                           or bed_site[now].site != site):
                        excluded.setdefault(person, set()).add(site)
                        break
        return best  # pragma: no cover - clashes are few; 50 rounds never run out

    def _sites(self, allowed: tuple[int, ...]) -> set[str]:
        found = self._site_cache.get(id(allowed))
        if found is None:
            found = self._site_cache[id(allowed)] = {self.m.layout.classes[c].site for c in allowed}
        return found

    def _set(self, allowed: tuple[int, ...]) -> frozenset[int]:
        found = self._set_cache.get(id(allowed))
        if found is None:
            found = self._set_cache[id(allowed)] = frozenset(allowed)
        return found

    def _continuity(self, r: Request) -> tuple[str | None, str | None]:
        """Level 3: the person's last bed if free tonight, and that bed's site."""
        bed = self.night.bed_by_id.get(r.last_bed) if r.last_bed else None
        if bed is None:
            return None, None
        free = bed.id not in self.m.prep.taken_beds
        return (bed.id if free else None), bed.site

    def stage2(self, counts: Counter, excluded: dict[str, set[str]]) -> "Placement | None":
        """Min-cost flow with exactly ``counts[key]`` people placed per priority key."""
        m, layout = self.m, self.m.layout
        g = FlowGraph()
        m._bed_capacity(g)
        for key, n in counts.items():
            g.arc(SOURCE, g.node(("key", key)), n)
        people = [r for r in m.people if m.key(r) in counts]
        info = {}
        n_site = n_wish = 0
        for r in people:
            allowed = m.allowed(r, excluded.get(r.person, set()))
            last_bed, last_site = self._continuity(r)
            sites = self._sites(allowed)
            if last_bed is not None and layout.class_of_bed[last_bed] not in self._set(allowed):
                last_bed = None
            last_site = last_site if last_site in sites else None
            wishes = set(r.preferred_sites) & sites if r.preferred_sites else set()
            n_site += last_site is not None
            n_wish += bool(wishes)
            info[r.person] = (allowed, last_bed, last_site, wishes)
        x_weight, w_radix = n_site + 1, n_wish + 1
        top = x_weight * w_radix + 1
        placed = max(sum(counts.values()), 1)
        estimate = len(g.ids) + len(people) + 2 * len(layout.classes) + len(counts) + 16
        limit = (2 ** 62) // (estimate + 2) // 16
        q_max = max(0, min(len(self.night.requests), (limit // top - 1) // placed))
        a_radix = placed * q_max + 1
        span = max(len(self.night.requests) - 1, 1)

        def queue_weight(person: str) -> int:
            return (span - m.queue_rank[person]) * q_max // span

        plain: dict[tuple, list[Request]] = {}
        plain_arcs: list[tuple[int, tuple]] = []
        person_arcs: dict[str, tuple[int, list[tuple[int, tuple]]]] = {}
        for r in people:
            allowed, last_bed, last_site, wishes = info[r.person]
            if not allowed:
                continue
            key_node = g.ids[("key", m.key(r))]
            forced = r.person in m.prep.site_hold
            if not forced and last_site is None and not wishes:
                plain.setdefault((m._fan_out(g, allowed), m.key(r), queue_weight(r.person)),
                                 []).append(r)
                continue
            node = g.node(("person", r.person))
            inflow = g.arc(key_node, node, 1, -queue_weight(r.person))
            outs: list[tuple[int, tuple]] = []
            if not forced:
                outs.append((g.arc(node, m._fan_out(g, allowed), 1), ("fan", None)))
            if forced:
                candidates: Iterable[int] = allowed
            else:
                ok = self._set(allowed)
                candidates = [c for site in wishes | {last_site} - {None}
                              for c in layout.classes_at[site] if c in ok]
            for c in candidates:
                site = layout.classes[c].site
                u = (site == last_site) * w_radix + (site in wishes)
                if forced or u:
                    outs.append((g.arc(node, g.node(("class", c)), 1, -u * a_radix), ("class", c)))
            if last_bed is not None:
                bed_node = ("bed", last_bed)
                if bed_node not in g.ids:
                    g.arc(g.node(bed_node), g.ids[("class", layout.class_of_bed[last_bed])], 1)
                site = self.night.bed_by_id[last_bed].site
                u = x_weight * w_radix + (site in wishes)
                outs.append((g.arc(node, g.ids[bed_node], 1, -u * a_radix), ("bed", last_bed)))
            person_arcs[r.person] = (inflow, outs)
        for (fan, key, weight), members in plain.items():
            plain_arcs.append((g.arc(g.ids[("key", key)], fan, len(members), -weight),
                               (fan, key)))
        if not g.solve(sum(counts.values())):
            return None
        return self._routes(g, plain, plain_arcs, person_arcs, excluded)

    def _routes(self, g: FlowGraph, plain, plain_arcs, person_arcs, excluded) -> "Placement":
        """Who goes where: earliest arrivals of each plain group, and each person's arc."""
        m = self.m
        routes: dict[str, tuple] = {}
        chosen = Counter()
        for arc, group in plain_arcs:
            chosen[group] += g.flow(arc)
        members: dict[tuple, list[Request]] = {}
        for (fan, key, _), rs in plain.items():
            members.setdefault((fan, key), []).extend(rs)
        for group, rs in members.items():
            rs.sort(key=lambda r: m.queue_rank[r.person])  # level 5 inside a group: exact
            for r in rs[:chosen[group]]:
                routes[r.person] = ("fan", None)
        for person, (inflow, outs) in person_arcs.items():
            if g.flow(inflow):
                routes[person] = next(route for arc, route in outs if g.flow(arc))
        return m._decode(g, routes, excluded)
