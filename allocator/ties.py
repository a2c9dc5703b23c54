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

NOWHERE = "\x00nowhere"  # a site no bed is at: pins a person out of every bed

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
        pinned: dict[str, str] = {}
        for round_ in range(3):
            if round_ == 2:
                self._freeze_partners(best, pinned)
            sol = self.stage2(counts, excluded, pinned)
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

    def _freeze_partners(self, best: "Placement", pinned: dict[str, str]) -> None:
        """Last resort: everyone with a keep-apart partner keeps their stage-1 site, or stays
        unplaced if stage 1 did not place them; stage 2 then cannot put a pair together."""
        for person in self.m.night.partners:
            if person not in self.m.prep.site_hold and person in self.night.request_by_person:
                bed = best.get(person)
                pinned[person] = self.night.bed_by_id[bed].site if bed else NOWHERE

    def _split(self, p: str, q: str, site: str, best: "Placement",
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

    def stage2(self, counts: Counter, excluded: dict[str, set[str]],
               pinned: dict[str, str]) -> "Placement | None":
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
            allowed = m.allowed(r, excluded.get(r.person, set()), pinned.get(r.person))
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
        # Upper bound on the nodes this graph will have: each person may add a person node,
        # a last-bed node and a fan-out node; the cost bound below depends on it.
        estimate = len(g.ids) + 3 * len(people) + 2 * len(layout.classes) + len(counts) + 16
        limit = (2 ** 63 - 1) // (estimate + 2) // 4  # OR-Tools scales costs by the node count
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
                fan = m._fan_out(g, allowed)
                outs.append((g.arc(node, fan, 1), ("fan", fan)))
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
        return self._routes(g, plain, plain_arcs, person_arcs)

    def _routes(self, g: FlowGraph, plain, plain_arcs, person_arcs) -> "Placement":
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
                routes[r.person] = ("fan", group[0])
        for person, (inflow, outs) in person_arcs.items():
            if g.flow(inflow):
                routes[person] = next(route for arc, route in outs if g.flow(arc))
        return m._decode(g, routes)
