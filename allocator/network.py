"""The bed-class network both stages of the need rule solve flows on.

Bed layer: one node per bed class with free beds and an arc to the sink carrying at most its
free beds (a bed holds one person). People reach the bed layer through an *entry*: a node from
which exactly the classes they may use are reachable. Entries are shared by everyone with an
equal :class:`Access` (a value), so a city of 100,000 people needs a few thousand entries.

Most people may use every class of their eligibility *base* (gender, features, age): their
entry is a flat fan-out to those classes (one per base; short paths keep the flow solver fast).
A ban or a keep-apart exclusion removes a few sites. Giving each such person their own fan-out
of a few thousand arcs is what made a New York night with 3% banned people take 3.6 GiB.
Instead the classes of a base are ordered by site and covered by a segment tree of pass-through
nodes, and "every class except those at sites S" is the union of at most
``2 * (|S| + 1) * log2(classes)`` tree nodes. The reachable set is exactly the person's allowed
classes, so the flow problem is unchanged; only the graph is smaller.

Decoding turns class flows into beds: people entering an entry or tree node are handed down
along the arcs that carry flow (flow conservation makes the counts match), each class gives its
free beds, in input order, to its people in queue order, and people of one entry may then swap
beds to keep keep-apart partners at different sites (:meth:`ClassGraph._separate`).
"""

from __future__ import annotations

from collections.abc import Callable, Mapping
from dataclasses import dataclass
from typing import NamedTuple

from allocator.flowgraph import SINK, FlowGraph
from allocator.layout import Layout

Placement = dict[str, str]  # person -> bed


class Access(NamedTuple):
    """The bed classes one person may be given, as a value: the classes with free beds of
    eligibility base ``base``, minus those at the ``minus`` sites (bans, keep-apart), or, when
    ``only`` is set, only those at site ``only`` (a site hold, a pinned partner)."""

    base: int
    minus: frozenset[str] = frozenset()
    only: str | None = None


NO_ACCESS = Access(-1)  # no class at all (e.g. pinned to a site that has no bed for them)


@dataclass(frozen=True, slots=True)
class ViaEntry:
    """Placed through entry node ``node``: in any class reachable from it."""

    node: int


@dataclass(frozen=True, slots=True)
class InClass:
    """Placed in bed class ``cls`` (stage 2: at a preferred or last bed's site)."""

    cls: int


@dataclass(frozen=True, slots=True)
class InBed:
    """Placed in ``bed`` itself (stage 2: the person's own last bed)."""

    bed: str


Route = ViaEntry | InClass | InBed


class BedLayer:
    """What every graph of one night shares: free beds per class and the site order of each
    eligibility base (classes without free beds left out, since they can take nobody)."""

    def __init__(self, layout: Layout, taken: set[str] | frozenset[str]) -> None:
        self.layout = layout
        self.free_beds: list[tuple[str, ...]] = [
            tuple(b for b in c.beds if b not in taken) if taken else c.beds
            for c in layout.classes]
        self.site_of: list[str] = [c.site for c in layout.classes]
        self._canon: dict[int, int] = {}  # layout base -> base here (equal free classes merge)
        self._base_ids: dict[tuple[int, ...], int] = {}
        self.order: list[tuple[int, ...]] = []  # per base: classes ordered by site
        self.ranges: list[dict[str, tuple[int, int]]] = []  # per base: site -> positions
        self.position: list[dict[int, int]] = []  # per base: class -> position
        self._whole: dict[int, Access] = {}  # base -> its access without exclusions

    def base(self, layout_base: int) -> int:
        """This layer's base for a layout base: its classes with free beds, ordered by site."""
        found = self._canon.get(layout_base)
        if found is None:
            first_site: dict[str, int] = {}
            for c in self.layout.bases[layout_base]:
                first_site.setdefault(self.site_of[c], c)
            order = tuple(sorted((c for c in self.layout.bases[layout_base] if self.free_beds[c]),
                                 key=lambda c: (first_site[self.site_of[c]], c)))
            found = self._base_ids.get(order)
            if found is None:
                found = self._base_ids[order] = len(self.order)
                self.order.append(order)
                ranges: dict[str, tuple[int, int]] = {}
                for i, c in enumerate(order):
                    lo, _ = ranges.get(self.site_of[c], (i, i))
                    ranges[self.site_of[c]] = (lo, i + 1)
                self.ranges.append(ranges)
                self.position.append({c: i for i, c in enumerate(order)})
            self._canon[layout_base] = found
        return found

    def access(self, layout_base: int, minus: frozenset[str] | set[str] = frozenset(),
               only: str | None = None) -> Access:
        """The canonical access: sites that do not matter are dropped, so equal class sets
        mostly get equal values; NO_ACCESS when no class is left."""
        base = self.base(layout_base)
        if not minus and only is None:
            found = self._whole.get(base)
            if found is None:
                found = self._whole[base] = Access(base) if self.ranges[base] else NO_ACCESS
            return found
        ranges = self.ranges[base]
        if only is not None:
            return Access(base, frozenset(), only) if only in ranges and only not in minus \
                else NO_ACCESS
        if minus:
            minus = frozenset(s for s in minus if s in ranges)
            if len(minus) == len(ranges):
                return NO_ACCESS
        elif not ranges:
            return NO_ACCESS
        return Access(base, frozenset(minus))

    def allows_site(self, access: Access, site: str | None) -> bool:
        """Some class at ``site`` is open to ``access``."""
        if access is NO_ACCESS or site is None or site not in self.ranges[access.base]:
            return False
        return site == access.only if access.only is not None else site not in access.minus

    def allows_class(self, access: Access, cls: int) -> bool:
        return cls in self.position[access.base] if access is not NO_ACCESS and \
            self.allows_site(access, self.site_of[cls]) else False

    def classes(self, access: Access, site: str) -> tuple[int, ...]:
        """The classes at ``site`` open to ``access``."""
        if not self.allows_site(access, site):
            return ()
        lo, hi = self.ranges[access.base][site]
        return self.order[access.base][lo:hi]

    def sites(self, access: Access) -> list[str]:
        """Sites with a class open to ``access`` (in the base's site order)."""
        if access is NO_ACCESS:
            return []
        if access.only is not None:
            return [access.only]
        return [s for s in self.ranges[access.base] if s not in access.minus]


class ClassGraph(FlowGraph):
    """One flow graph over the bed layer: class nodes with their sink arcs, entries built on
    first use, and decoding of a solved flow into beds."""

    def __init__(self, layer: BedLayer) -> None:
        super().__init__()
        self.layer = layer
        self.class_node: dict[int, int] = {}
        self._class_at: dict[int, int] = {}  # node -> class
        self._cap: dict[int, int] = {}  # node -> free beds reachable from it
        for c, beds in enumerate(layer.free_beds):
            if beds:
                node = self.class_node[c] = self.add_node()
                self._class_at[node] = c
                self._cap[node] = len(beds)
                self.arc(node, SINK, len(beds))  # a bed holds at most one person
        self._entries: dict[Access, int] = {}
        self._tree: dict[tuple[int, int, int], int] = {}  # (base, lo, hi) -> node
        self._bed_node: dict[str, int] = {}
        # node -> arcs to the nodes below it; entries first, then trees in preorder
        self._entry_splits: list[tuple[int, list[tuple[int, int]]]] = []
        self._tree_splits: list[tuple[int, list[tuple[int, int]]]] = []

    # -- building ---------------------------------------------------------------------------
    def entry(self, access: Access) -> int:
        """The node from which exactly the classes open to ``access`` are reachable."""
        found = self._entries.get(access)
        if found is not None:
            return found
        layer, base = self.layer, access.base
        if access.only is not None:
            targets = [self.class_node[c] for c in layer.classes(access, access.only)]
        elif not access.minus:
            # the whole base: a flat fan-out (short paths are what the flow solver likes;
            # the tree is only for the few people who must skip some sites)
            targets = [self.class_node[c] for c in layer.order[base]]
        else:
            n = len(layer.order[base])
            if (base, 0, n) not in self._tree:
                self._build(base, 0, n)
            cuts = sorted(layer.ranges[base][s] for s in access.minus)
            targets, start = [], 0
            for lo, hi in cuts + [(n, n)]:
                if start < lo:
                    self._cover(base, start, lo, 0, n, targets)
                start = hi
        if len(targets) == 1:
            found = targets[0]
        else:
            found = self.add_node()
            self._cap[found] = sum(self._cap[t] for t in targets)
            self._entry_splits.append(
                (found, [(self.arc(found, t, self._cap[t]), t) for t in targets]))
        self._entries[access] = found
        return found

    def _build(self, base: int, lo: int, hi: int) -> int:
        """The segment tree node over positions [lo, hi) of a base, with its subtree."""
        if hi - lo == 1:
            node = self.class_node[self.layer.order[base][lo]]
        else:
            mid = (lo + hi) // 2
            node = self.add_node()
            split: list[tuple[int, int]] = []
            self._tree_splits.append((node, split))  # preorder: before its children
            for a, b in ((lo, mid), (mid, hi)):
                child = self._build(base, a, b)
                split.append((self.arc(node, child, self._cap[child]), child))
            self._cap[node] = sum(self._cap[c] for _, c in split)
        self._tree[(base, lo, hi)] = node
        return node

    def _cover(self, base: int, lo: int, hi: int, a: int, b: int, out: list[int]) -> None:
        """Tree nodes whose ranges exactly cover [lo, hi) (inside node [a, b))."""
        if lo <= a and b <= hi:
            out.append(self._tree[(base, a, b)])
            return
        mid = (a + b) // 2
        if lo < mid:
            self._cover(base, lo, hi, a, mid, out)
        if hi > mid:
            self._cover(base, lo, hi, mid, b, out)

    def bed_node(self, bed: str) -> int:
        """A node for one specific bed (stage 2: a person's own last bed)."""
        found = self._bed_node.get(bed)
        if found is None:
            found = self._bed_node[bed] = self.add_node()
            self.arc(found, self.class_node[self.layer.layout.class_of_bed[bed]], 1)
        return found

    # -- decoding ---------------------------------------------------------------------------
    def decode(self, routes: Mapping[str, Route], rank: Callable[[str], int],
               partners: Mapping[str, set[str]] | None = None) -> Placement:
        """Beds for the routed people: own last beds first, then each class gives its free
        beds in input order to its people in queue order (``rank``).

        With ``partners`` (keep-apart), people who came through the same entry and were put
        at one site with a partner are swapped with someone else of that entry where that
        separates them; see :meth:`_separate`."""
        flows = self.flow_list()
        arriving: dict[int, list[str]] = {}
        per_class: dict[int, list[str]] = {}
        placement: Placement = {}
        for person, route in routes.items():
            if type(route) is ViaEntry:
                arriving.setdefault(route.node, []).append(person)
            elif type(route) is InClass:
                per_class.setdefault(route.cls, []).append(person)
            else:
                placement[person] = route.bed
        for node, split in self._entry_splits + self._tree_splits:
            people = arriving.pop(node, None)
            if not people:
                continue
            i = 0
            for arc, child in split:
                count = flows[arc]
                if count:
                    arriving.setdefault(child, []).extend(people[i:i + count])
                    i += count
            assert i == len(people), "flow conservation"
        for node, people in arriving.items():
            per_class.setdefault(self._class_at[node], []).extend(people)
        used = set(placement.values())
        for c, people in per_class.items():
            beds = (b for b in self.layer.free_beds[c] if b not in used)
            for person in sorted(people, key=rank):
                placement[person] = next(beds)
        if partners:
            self._separate(placement, routes, partners)
        return placement

    def _separate(self, placement: Placement, routes: Mapping[str, Route],
                  partners: Mapping[str, set[str]]) -> None:
        """Keep-apart without changing the flow: two people who entered through the same
        entry may use each other's beds (every class below it is open to both) and neither
        counted any level 3-4 gain for where they went, so swapping them changes no level
        of the objective. A person put at one site with a partner is swapped with the first
        person of their entry (in queue order) at a site holding none of their partners,
        whose own partners are not at the first site. Pairs it cannot separate are left for
        the keep-apart search."""
        class_of_bed, site_of = self.layer.layout.class_of_bed, self.layer.site_of

        def site(person: str) -> str:
            return site_of[class_of_bed[placement[person]]]

        by_entry: dict[int, list[str]] = {}
        for person, route in routes.items():
            if type(route) is ViaEntry:
                by_entry.setdefault(route.node, []).append(person)
        for person in sorted(p for p in partners if p in placement):
            here = site(person)
            if not any(q in placement and site(q) == here for q in partners[person]):
                continue
            for x in [person] + sorted(q for q in partners[person]
                                       if q in placement and site(q) == here):
                route = routes.get(x)
                if type(route) is not ViaEntry:
                    continue
                swap = next((z for z in by_entry[route.node] if z != x and site(z) != here
                             and not any(q in placement and site(q) == site(z)
                                         for q in partners.get(x, ()))
                             and not any(q in placement and site(q) == here and q != x
                                         for q in partners.get(z, ()))), None)
                if swap is not None:
                    placement[x], placement[swap] = placement[swap], placement[x]
                    break
