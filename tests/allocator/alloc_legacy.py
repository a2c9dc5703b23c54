"""The need rule's solver as it was before the scale work (main at ab95754), kept as an oracle.

Frozen copy of allocator/flowgraph.py, allocator/ties.py, allocator/model.py and the first-come
functions and turn_aways of allocator/rules.py of that commit (only the imports changed), so the tests can check that every speed-up leaves the answer's
levels 1-4 unchanged on generated nights. It is slow on large nights (quadratic refill) and is
not maintained: do not fix it, only compare against it.
"""
# ruff: noqa
from __future__ import annotations

import heapq
import time
from collections import Counter
from typing import TYPE_CHECKING, Hashable, Iterable

import numpy as np
from ortools.graph.python import min_cost_flow

from allocator.layout import Prepared, prepare
from allocator.holds import match_all
from allocator.problem import InputError, Night, Request
from allocator.result import TurnAway
from allocator.rules import _capacity_text, _no_bed, _sites_text, queue_key

SOURCE, SINK = 0, 1


class FlowError(RuntimeError):
    """The flow solver refused the model (never expected; it signals a bug, not bad input)."""


class FlowGraph:
    """Nodes are created on first use from a hashable name; arcs are kept in plain lists."""

    def __init__(self) -> None:
        self.ids: dict[Hashable, int] = {"source": SOURCE, "sink": SINK}
        self.tails: list[int] = []
        self.heads: list[int] = []
        self.caps: list[int] = []
        self.costs: list[int] = []
        self.flows: np.ndarray | None = None
        self.fan_arcs: list[tuple[int, int, int]] = []  # (arc, fan node, class index)

    def node(self, name: Hashable) -> int:
        found = self.ids.get(name)
        if found is None:
            found = self.ids[name] = len(self.ids)
        return found

    def arc(self, tail: int, head: int, cap: int, cost: int = 0) -> int:
        self.tails.append(tail)
        self.heads.append(head)
        self.caps.append(cap)
        self.costs.append(cost)
        return len(self.tails) - 1

    def solve(self, supply: int) -> bool:
        """Send ``supply`` units source -> sink at minimum cost; False when impossible."""
        smcf = min_cost_flow.SimpleMinCostFlow()
        if self.tails:
            smcf.add_arcs_with_capacity_and_unit_cost(
                np.asarray(self.tails, dtype=np.int32), np.asarray(self.heads, dtype=np.int32),
                np.asarray(self.caps, dtype=np.int64), np.asarray(self.costs, dtype=np.int64))
        supplies = np.zeros(len(self.ids), dtype=np.int64)
        supplies[SOURCE], supplies[SINK] = supply, -supply
        smcf.set_nodes_supplies(np.arange(len(self.ids), dtype=np.int32), supplies)
        status = smcf.solve()
        if status == smcf.INFEASIBLE:
            return False
        if status != smcf.OPTIMAL:
            raise FlowError(f"min-cost flow failed: {status}")
        self.flows = smcf.flows(np.arange(len(self.tails), dtype=np.int32)) if self.tails \
            else np.zeros(0, dtype=np.int64)
        return True

    def used_fan_arcs(self) -> list[tuple[int, int, int]]:
        """(fan node, class index, flow) for every fan-out arc that carries flow."""
        if not self.fan_arcs:
            return []
        assert self.flows is not None
        arcs = np.asarray([a for a, _, _ in self.fan_arcs], dtype=np.int64)
        carried = self.flows[arcs]
        return [(self.fan_arcs[i][1], self.fan_arcs[i][2], int(carried[i]))
                for i in np.flatnonzero(carried)]

    def flow(self, arc: int) -> int:
        assert self.flows is not None
        return int(self.flows[arc])


NOWHERE = "\x00nowhere"  # a site no bed is at: pins a person out of every bed



class TieBreaker:
    """Levels 3-5 for a fixed stage-1 optimum; never returns anything worse on levels 1-2."""

    def __init__(self, model: NeedModel) -> None:
        self.m = model
        self.night = model.night
        self._site_cache: dict[int, set[str]] = {}  # keyed by id of a cached allowed tuple
        self._set_cache: dict[int, frozenset[int]] = {}

    def improve(self, best: Placement) -> Placement:
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

    def _freeze_partners(self, best: Placement, pinned: dict[str, str]) -> None:
        """Last resort: everyone with a keep-apart partner keeps their stage-1 site, or stays
        unplaced if stage 1 did not place them; stage 2 then cannot put a pair together."""
        for person in self.m.night.partners:
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
               pinned: dict[str, str]) -> Placement | None:
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

    def _routes(self, g: FlowGraph, plain, plain_arcs, person_arcs) -> Placement:
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



def legacy_need(night: Night) -> dict[str, str]:
    """person -> bed under the need rule, as the old solver decided it."""
    prep = prepare(night)
    bed_of = {p: b for p, (b, _) in prep.placed.items()}
    bed_of.update(NeedModel(prep, 600.0).solve())
    return bed_of


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
    for hold in held:
        site = prep.site_hold[hold.person][0]
        request = night.request_by_person[hold.person]
        choice = [b for b in beds_at.get(site, [])
                  if b not in taken and night.eligible(request, night.bed_by_id[b])]
        options.append(choice)
        free = [b for b in choice if b not in greedy.values()]
        if free:
            greedy[hold.person] = free[0]
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

    site_people: dict[str, set[str]] = {}
    for person, bed in bed_of.items():
        site_people.setdefault(night.bed_by_id[bed].site, set()).add(person)
    heaps: dict[tuple[int, ...], list[tuple[int, int]]] = {}
    queue = sorted((r for r in night.requests if r.person not in bed_of), key=queue_key)
    for request in queue:
        classes = layout.eligible_classes(request)
        partners = night.partners.get(request.person)
        if partners:
            best = None
            for c in classes:
                if site_people.get(layout.classes[c].site, set()) & partners:
                    continue  # keep-apart: never at the site of a placed partner
                nf = next_free(c)
                if nf is not None and (best is None or nf < best[0]):
                    best = (nf, c)
        else:
            best = _pop_first(heaps, classes, next_free)
        if best is None:
            continue
        bed = night.beds[best[0]]
        bed_of[request.person] = bed.id
        taken.add(bed.id)
        site_people.setdefault(bed.site, set()).add(request.person)
    return bed_of


def _pop_first(heaps: dict[tuple[int, ...], list[tuple[int, int]]], classes: tuple[int, ...],
               next_free) -> tuple[int, int] | None:
    """The earliest free bed over ``classes``, kept in a lazily refreshed heap per class set."""
    heap = heaps.get(classes)
    if heap is None:
        heap = [(nf, c) for c in classes if (nf := next_free(c)) is not None]
        heapq.heapify(heap)
        heaps[classes] = heap
    while heap:
        nf, c = heap[0]
        now = next_free(c)
        if now == nf:
            return nf, c
        if now is None:
            heapq.heappop(heap)
        else:
            heapq.heapreplace(heap, (now, c))
    return None


def legacy_first_come(night: Night) -> dict[str, str]:
    """person -> bed under first-come, as the old code decided it."""
    return first_come(prepare(night))


def turn_aways(prep: Prepared, bed_of: dict[str, str], rule: str) -> list[TurnAway]:
    """Reason and a sentence staff can read out, for everyone without a bed.

    ``no_eligible_bed``: no bed at all is eligible; ``keep_apart``: the only free eligible beds
    are at sites where a partner is placed; ``capacity``: every eligible bed is taken.
    """
    night, layout = prep.night, prep.layout
    req = night.request_by_person
    holders = {b for b, _ in prep.placed.values()}  # bed holds and confirmed (fixed) people
    holders |= {bed_of[p] for p in prep.site_hold if p in bed_of}
    person_in = {b: p for p, b in bed_of.items()}
    free = [0] * len(layout.classes)
    occupant_needs: list[set[int]] = [set() for _ in layout.classes]
    held = [0] * len(layout.classes)
    for c in layout.classes:
        for b in c.beds:
            if b not in person_in:
                free[c.index] += 1
            elif b in holders:
                held[c.index] += 1
            else:
                occupant_needs[c.index].add(req[person_in[b]].need)
    summary: dict[int, tuple] = {}  # per eligible-class tuple (cached per person by Layout)
    out: list[TurnAway] = []
    for request in night.requests:
        if request.person in bed_of:
            continue
        classes = layout.eligible_classes(request)
        if not classes:
            out.append(TurnAway(request.person, "no_eligible_bed", _no_bed(night, layout, request)))
            continue
        found = summary.get(id(classes))
        if found is None:
            found = summary[id(classes)] = (
                {layout.classes[c].site for c in classes if free[c]},
                sum(len(layout.classes[c].beds) for c in classes),
                sum(held[c] for c in classes),
                sorted(set().union(*(occupant_needs[c] for c in classes))),
                sorted((min(occupant_needs[c]), c) for c in classes if occupant_needs[c]))
        open_sites, total, n_held, needs, lowest = found
        if open_sites:
            out.append(TurnAway(request.person, "keep_apart",
                                f"The only free beds you could take are at "
                                f"{_sites_text(night, open_sites)}, where someone you must be "
                                f"kept apart from is placed."))
            continue
        lower = []
        for n, c in lowest if rule == "need" else ():  # sorted by the lowest occupant need
            if n >= request.need:
                break
            lower.append(c)
        out.append(TurnAway(request.person, "capacity",
                            _capacity_text(night, rule, total, n_held, needs, lower, layout)))
    return out
