"""Bed classes and the fixed part of a night, shared by both rules.

Beds of one site with the same gender rule and features are interchangeable for every
eligibility rule, so both solvers work on *bed classes* (site, gender, features) with the beds
of each class kept in input order. Eligibility of a person to a class depends only on gender,
needs, age (through the age-limited sites) and bans, so it is computed once per distinct
(gender, needs, age-verdicts) and then filtered by that person's bans.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from functools import cached_property
from typing import Mapping

from allocator.holds import check_placements
from allocator.problem import Bed, InputError, Night, Request
from allocator.rulebook import age_fits


@dataclass(frozen=True)
class BedClass:
    """Interchangeable beds: same site, gender rule and features; ``beds`` in input order."""

    index: int
    site: str
    gender: str
    features: frozenset[str]
    beds: tuple[str, ...]


@dataclass
class Layout:
    """Bed classes of a night and a cache of which classes each kind of person may use."""

    night: Night
    classes: list[BedClass] = field(default_factory=list)
    class_of_bed: dict[str, int] = field(default_factory=dict)
    classes_at: dict[str, list[int]] = field(default_factory=dict)
    bases: list[tuple[int, ...]] = field(default_factory=list)  # distinct unbanned class sets
    _cache: dict[tuple, int] = field(default_factory=dict)  # _kind -> index into bases
    _base_of: dict[tuple[int, ...], int] = field(default_factory=dict)
    _person: dict[str, tuple[int, ...]] = field(default_factory=dict)
    _eligibility: dict[str, tuple[int, frozenset[str]]] = field(default_factory=dict)

    def __post_init__(self) -> None:
        groups: dict[tuple[str, str, frozenset[str]], list[str]] = {}
        for bed in self.night.beds:
            groups.setdefault((bed.site, bed.gender, bed.features), []).append(bed.id)
        for i, ((site, gender, features), beds) in enumerate(groups.items()):
            self.classes.append(BedClass(i, site, gender, features, tuple(beds)))
            self.classes_at.setdefault(site, []).append(i)
            for bed_id in beds:
                self.class_of_bed[bed_id] = i
        # age rules only matter through the distinct (min, max) limits of age-limited sites
        self._limits = sorted({(s.min_age, s.max_age) for s in self.night.sites
                               if s.min_age is not None or s.max_age is not None},
                              key=lambda lim: (lim[0] or 0, lim[1] or 10 ** 6))
        self._ages: dict[int | None, tuple[bool, ...]] = {}
        self._barred_sites: dict[str, frozenset[str]] = {}
        for person, site in self.night.barred_pairs:
            self._barred_sites[person] = self._barred_sites.get(person, frozenset()) | {site}

    def eligible_classes(self, request: Request) -> tuple[int, ...]:
        """Classes whose beds are eligible for ``request`` (all four eligibility rules)."""
        found = self._person.get(request.person)
        if found is None:
            base, barred = self.eligibility(request)
            found = self.bases[base]
            if barred:
                found = tuple(c for c in found if self.classes[c].site not in barred)
            self._person[request.person] = found
        return found

    def eligibility(self, request: Request) -> tuple[int, frozenset[str]]:
        """``(base, barred sites)``: the person may use the classes of ``self.bases[base]``
        except those at a barred site. A small value, equal for people with equal eligibility,
        so it keys caches without hashing long tuples."""
        found = self._eligibility.get(request.person)
        if found is None:
            kind = self._kind(request)
            base = self._cache.get(kind)
            if base is None:
                self.unbanned_classes(request)
                base = self._cache[kind]
            found = self._eligibility[request.person] = (
                base, self._barred_sites.get(request.person, frozenset()))
        return found

    def unbanned_classes(self, request: Request) -> tuple[int, ...]:
        """Classes eligible by gender, features and age alone (bans not applied)."""
        kind = self._kind(request)
        base = self._cache.get(kind)
        if base is None:
            night = self.night
            probe = Request(person="~probe", gender=request.gender, need=0, age=request.age,
                            needs=request.needs)
            classes = tuple(c.index for c in self.classes
                            if night.eligible(probe, Bed(c.beds[0], c.site, c.gender, c.features)))
            base = self._cache[kind] = self._base_of.setdefault(classes, len(self.bases))
            if base == len(self.bases):
                self.bases.append(classes)
        return self.bases[base]

    def _kind(self, request: Request) -> tuple:
        """What eligibility (bans aside) depends on: gender, needs, and age only through the
        verdicts of the distinct age limits."""
        age = request.age
        verdicts = self._ages.get(age)
        if verdicts is None:
            verdicts = self._ages[age] = tuple(age_fits(age, lo, hi) for lo, hi in self._limits)
        return (request.gender, request.needs, verdicts)


@dataclass
class Prepared:
    """The fixed part of a night: bed holds and ``fixed`` placements, and the site holds.

    ``placed`` maps person -> (bed, hold id or None); ``site_hold`` maps person -> (site, hold id).
    """

    night: Night
    layout: Layout
    placed: dict[str, tuple[str, str | None]]
    site_hold: dict[str, tuple[str, str]]

    @cached_property
    def taken_beds(self) -> set[str]:
        """Beds already decided (bed holds and fixed placements)."""
        return {bed for bed, _ in self.placed.values()}


def prepare(night: Night, fixed: Mapping[str, str] | None = None) -> Prepared:
    """Split the night into what is already decided and what the rule must decide.

    ``fixed`` (API only) are people already confirmed in a bed tonight; they are treated like
    bed holds. Raises InputError when a fixed placement names an unknown person or bed, clashes
    with a hold or another fixed placement, is ineligible, or leaves a site hold unhonourable.
    """
    placed: dict[str, tuple[str, str | None]] = {}
    site_hold: dict[str, tuple[str, str]] = {}
    for hold in night.holds:
        if hold.bed is not None:
            placed[hold.person] = (hold.bed, hold.id)
        else:
            assert hold.site is not None
            site_hold[hold.person] = (hold.site, hold.id)
    if fixed:
        _apply_fixed(night, dict(fixed), placed, site_hold)
    return Prepared(night, Layout(night), placed, site_hold)


def _apply_fixed(night: Night, fixed: dict[str, str], placed: dict[str, tuple[str, str | None]],
                 site_hold: dict[str, tuple[str, str]]) -> None:
    """Confirmed placements are not moved; they must agree with the person's own hold."""
    for person, bed_id in fixed.items():
        path = f"fixed[{person!r}]"
        if person not in night.request_by_person:
            raise InputError(f"unknown person {person!r}", path)
        bed = night.bed_by_id.get(bed_id)
        if bed is None:
            raise InputError(f"unknown bed {bed_id!r}", path)
        if person in placed:
            held_bed, hold_id = placed[person]
            if held_bed != bed_id:
                raise InputError(f"{person!r} holds bed {held_bed!r} by hold {hold_id!r}", path)
        elif person in site_hold:
            site, hold_id = site_hold.pop(person)
            if bed.site != site:
                raise InputError(f"{person!r} holds a bed at site {site!r} by hold {hold_id!r}",
                                 path)
            placed[person] = (bed_id, hold_id)
        else:
            placed[person] = (bed_id, None)
    paths = {p: (b, f"fixed[{p!r}]" if p in fixed else f"hold {h!r}")
             for p, (b, h) in placed.items()}
    check_placements(night, paths, [(p, s, f"hold {h!r}") for p, (s, h) in site_hold.items()])
