"""Can a set of holds (and confirmed placements) all be honoured together?

Holds were checked when they were made, so a night whose holds clash is bad input: two on one
bed, an ineligible bed, a site without an eligible free bed, a keep-apart pair held at one site,
or more site holds at a site than its eligible beds can take (a bipartite matching decides).
"""

from __future__ import annotations

from collections import Counter
from operator import attrgetter
from typing import TYPE_CHECKING, Hashable, Mapping

from allocator.problem import Bed, InputError, _require

if TYPE_CHECKING:
    from allocator.problem import Night

_SITE, _GENDER, _FEATURES = attrgetter("site"), attrgetter("gender"), attrgetter("features")


def check_placements(night: Night, placed: Mapping[str, tuple[str, str]],
                     site_holds: list[tuple[str, str, str]]) -> None:
    """Check that bed placements and site holds can be honoured all at once.

    ``placed`` maps person -> (bed, path) for bed holds and fixed placements; ``site_holds`` is
    (person, site, path). Raises InputError for two on one bed, an ineligible bed, a site with no
    eligible free bed, a keep-apart pair held at one site, or more site holds than beds allow.
    """
    taken: dict[str, str] = {}
    site_of: dict[str, str] = {}
    for person, (bed_id, path) in placed.items():
        _require(bed_id not in taken, f"bed {bed_id!r} is already held for {taken.get(bed_id)!r}",
                 path)
        taken[bed_id] = person
        bed = night.bed_by_id[bed_id]
        _require(night.eligible(night.request_by_person[person], bed),
                 f"bed {bed_id!r} is not eligible for {person!r}", path)
        site_of[person] = bed.site
    # Free beds grouped by (site, gender rule, features): eligibility depends on a bed only
    # through those, so one check per class stands for all its beds (a New York night has
    # thousands of site holds at sites of a hundred beds each).
    free: Counter[tuple[str, str, frozenset[str]]] = Counter()  # (site, gender, features) -> beds
    first: dict[tuple[str, str, frozenset[str]], Bed] = {}  # a bed of each class
    if site_holds:
        beds = night.beds
        keys = list(zip(map(_SITE, beds), map(_GENDER, beds), map(_FEATURES, beds)))
        free.update(keys)
        first = dict(zip(reversed(keys), reversed(beds)))
        for bed_id in taken:
            bed = night.bed_by_id[bed_id]
            free[(bed.site, bed.gender, bed.features)] -= 1
    classes_at: dict[str, list[tuple[str, str, frozenset[str]]]] = {}
    for key, n in free.items():
        if n > 0:
            classes_at.setdefault(key[0], []).append(key)
    options: list[list[tuple[str, str, frozenset[str]]]] = []
    for person, site, path in site_holds:
        request = night.request_by_person[person]
        choice = [key for key in classes_at.get(site, ()) if night.eligible(request, first[key])]
        _require(bool(choice), f"no free bed at site {site!r} is eligible for {person!r}", path)
        options.append(choice)
        site_of[person] = site
    for person, site in site_of.items():
        for partner in night.partners.get(person, ()):
            _require(site_of.get(partner) != site,
                     f"{person!r} and {partner!r} must be kept apart but are both held at {site!r}",
                     _path_of(person, placed, site_holds))
    _check_site_hold_matching(options, free, site_holds)


def _path_of(person: str, placed: Mapping[str, tuple[str, str]],
             site_holds: list[tuple[str, str, str]]) -> str:
    if person in placed:
        return placed[person][1]
    return next(path for p, _, path in site_holds if p == person)


def _check_site_hold_matching(options: list[list[Hashable]], capacity: Mapping[Hashable, int],
                              site_holds: list[tuple[str, str, str]]) -> None:
    """Site holds need distinct beds: a matching into bed classes (each taking as many holds
    as it has free beds) must cover every site hold."""
    bad = first_unmatched(options, capacity)
    if bad is not None:
        person, site, path = site_holds[bad]
        raise InputError(f"site {site!r} has too few eligible beds to honour every hold "
                         f"(including {person!r})", path)


def first_unmatched(options: list[list[Hashable]], capacity: Mapping[Hashable, int]) -> int | None:
    """The first ``i`` such that ``options[:i + 1]`` cannot all be given distinct units (slot
    ``k`` has ``capacity[k]`` units), or None when all can.

    Augmenting paths, in order (breadth first, no recursion): after ``i`` the matching is a
    maximum one of ``options[:i + 1]``, so the first ``i`` without an augmenting path is the
    first prefix that cannot be matched."""
    held: dict[Hashable, set[int]] = {}
    for i in range(len(options)):
        if not _augment(i, options, capacity, held):
            return i
    return None


def _augment(start: int, options: list[list[Hashable]], capacity: Mapping[Hashable, int],
             held: dict[Hashable, set[int]]) -> bool:
    reached_by: dict[Hashable, int] = {}  # slot -> the person who reached it
    came_through: dict[int, Hashable] = {}  # person -> the slot they hold, on the way
    queue = [start]
    for person in queue:
        for slot in options[person]:
            if slot in reached_by:
                continue
            reached_by[slot] = person
            owners = held.setdefault(slot, set())
            if len(owners) < capacity[slot]:
                while True:  # shift every person on the path one slot along
                    owners.add(person)
                    if person == start:
                        return True
                    slot = came_through[person]
                    owners = held[slot]
                    owners.discard(person)
                    person = reached_by[slot]
            for other in owners:
                if other not in came_through and other != start:
                    came_through[other] = slot
                    queue.append(other)
    return False


def match_all(options: list[list[str]]) -> list[str] | None:
    """A bed for every option list (distinct beds), or None; simple augmenting paths."""
    owner: dict[str, int] = {}

    def augment(i: int, seen: set[str]) -> bool:
        for bed in options[i]:
            if bed in seen:
                continue
            seen.add(bed)
            if bed not in owner or augment(owner[bed], seen):
                owner[bed] = i
                return True
        return False

    for i in range(len(options)):
        if not augment(i, set()):
            return None
    out = [""] * len(options)
    for bed, i in owner.items():
        out[i] = bed
    return out
