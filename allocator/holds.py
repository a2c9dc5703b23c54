"""Can a set of holds (and confirmed placements) all be honoured together?

Holds were checked when they were made, so a night whose holds clash is bad input: two on one
bed, an ineligible bed, a site without an eligible free bed, a keep-apart pair held at one site,
or more site holds at a site than its eligible beds can take (a bipartite matching decides).
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Mapping

from allocator.problem import Bed, InputError, _require

if TYPE_CHECKING:
    from allocator.problem import Night


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
    beds_at: dict[str, list[Bed]] = {}
    for bed in night.beds:
        if bed.id not in taken:
            beds_at.setdefault(bed.site, []).append(bed)
    options: list[list[str]] = []
    for person, site, path in site_holds:
        request = night.request_by_person[person]
        choice = [b.id for b in beds_at.get(site, []) if night.eligible(request, b)]
        _require(bool(choice), f"no free bed at site {site!r} is eligible for {person!r}", path)
        options.append(choice)
        site_of[person] = site
    for person, site in site_of.items():
        for partner in night.partners.get(person, ()):
            _require(site_of.get(partner) != site,
                     f"{person!r} and {partner!r} must be kept apart but are both held at {site!r}",
                     _path_of(person, placed, site_holds))
    _check_site_hold_matching(options, site_holds)


def _path_of(person: str, placed: Mapping[str, tuple[str, str]],
             site_holds: list[tuple[str, str, str]]) -> str:
    if person in placed:
        return placed[person][1]
    return next(path for p, _, path in site_holds if p == person)


def _check_site_hold_matching(options: list[list[str]], site_holds: list[tuple[str, str, str]]) -> None:
    """Site holds need distinct beds: a bipartite matching must cover every site hold."""
    match = match_all(options)
    if match is None:
        bad = _first_unmatched(options)
        person, site, path = site_holds[bad]
        raise InputError(f"site {site!r} has too few eligible beds to honour every hold "
                         f"(including {person!r})", path)


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


def _first_unmatched(options: list[list[str]]) -> int:
    for k in range(1, len(options) + 1):
        if match_all(options[:k]) is None:
            return k - 1
    return len(options) - 1
