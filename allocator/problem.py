"""One night's allocation problem as frozen, self-validating dataclasses.

Every class checks its own fields in ``__post_init__``; :class:`Night` also checks the
cross-references (unknown or duplicate ids) and that the holds can all be honoured together,
because a night that breaks those rules has no valid answer and must be refused, not solved.
Every refusal is an :class:`InputError` naming the offending item, e.g.
``holds[1].bed: unknown bed 'x-9'``.
"""

from __future__ import annotations

import json
from dataclasses import dataclass, field
from functools import cached_property, lru_cache
from operator import attrgetter
from importlib import resources
from typing import Any, Iterable, Mapping

from allocator.rulebook import MEN_BEDS_ADMIT, WOMEN_BEDS_ADMIT, Reason, age_fits, bed_reasons

GENDERS = ("woman", "man", "nonbinary", "unknown")
_BED_ID, _PERSON, _SITE = attrgetter("id"), attrgetter("person"), attrgetter("site")
BED_GENDERS = ("mixed", "women", "men")


class InputError(ValueError):
    """A night (or a ``fixed`` mapping) that breaks the contract in allocation.md.

    ``str(error)`` is the one line the CLI prints after ``error:``; ``path`` names the item.
    """

    def __init__(self, message: str, path: str = "") -> None:
        self.message = message
        self.path = path
        super().__init__(f"{path}: {message}" if path else message)


def _require(condition: bool, message: str, path: str) -> None:
    if not condition:
        raise InputError(message, path)


def _is_int(value: Any) -> bool:
    return isinstance(value, int) and not isinstance(value, bool)


@dataclass(frozen=True)
class Site:
    """Site facts; a site with ``min_age``/``max_age`` only admits people of known age inside."""

    id: str
    name: str | None = None
    min_age: int | None = None
    max_age: int | None = None

    def __post_init__(self) -> None:
        _require(isinstance(self.id, str) and self.id != "", "site id must be a non-empty string", "id")
        for name in ("min_age", "max_age"):
            value = getattr(self, name)
            _require(value is None or (_is_int(value) and value >= 0),
                     f"must be a non-negative integer, got {value!r}", f"site {self.id!r}.{name}")

    @property
    def label(self) -> str:
        """The name staff know the site by (its id when no name is given)."""
        return self.name or self.id


@dataclass(frozen=True)
class Bed:
    """A bed in service tonight; ``gender`` is mixed, women or men; ``features`` e.g. accessible."""

    id: str
    site: str
    gender: str = "mixed"
    features: frozenset[str] = frozenset()

    def __post_init__(self) -> None:
        # one quick test for the usual valid bed; the messages are built only when it fails
        if not (type(self.id) is str and self.id and type(self.site) is str and self.site
                and self.gender in BED_GENDERS):
            _require(isinstance(self.id, str) and self.id != "",
                     "bed id must be a non-empty string", "id")
            _require(isinstance(self.site, str) and self.site != "", "must be a non-empty string",
                     f"bed {self.id!r}.site")
            _require(self.gender in BED_GENDERS, f"unknown bed gender {self.gender!r}",
                     f"bed {self.id!r}.gender")
        if type(self.features) is not frozenset:
            object.__setattr__(self, "features", frozenset(self.features))


@dataclass(frozen=True)
class Request:
    """One person asking for a bed tonight; ``need`` 0..100, higher is more urgent."""

    person: str
    gender: str
    need: int
    age: int | None = None
    needs: frozenset[str] = frozenset()
    arrival: int | None = None
    preferred_sites: tuple[str, ...] = ()
    last_bed: str | None = None
    nights_turned_away: int = 0

    def __post_init__(self) -> None:
        need, age, arrival, nights = self.need, self.age, self.arrival, self.nights_turned_away
        # one quick test for the usual valid request; the messages are built only when it fails
        if not (type(self.person) is str and self.person and self.gender in GENDERS
                and type(need) is int and 0 <= need <= 100
                and (age is None or (type(age) is int and age >= 0))
                and (arrival is None or (type(arrival) is int and arrival >= 0))
                and type(nights) is int and nights >= 0):
            self._explain()
        if type(self.needs) is not frozenset:
            object.__setattr__(self, "needs", frozenset(self.needs))
        if type(self.preferred_sites) is not tuple:
            object.__setattr__(self, "preferred_sites", tuple(self.preferred_sites))

    def _explain(self) -> None:
        """Raise InputError naming the first bad field."""
        where = f"request {self.person!r}"
        _require(isinstance(self.person, str) and self.person != "",
                 "person id must be a non-empty string", "person")
        _require(self.gender in GENDERS, f"unknown gender {self.gender!r}", f"{where}.gender")
        _require(_is_int(self.need) and 0 <= self.need <= 100,
                 f"need must be an integer 0..100, got {self.need!r}", f"{where}.need")
        for name in ("age", "arrival"):
            value = getattr(self, name)
            _require(value is None or (_is_int(value) and value >= 0),
                     f"must be a non-negative integer, got {value!r}", f"{where}.{name}")
        _require(_is_int(self.nights_turned_away) and self.nights_turned_away >= 0,
                 "must be a non-negative integer", f"{where}.nights_turned_away")


@dataclass(frozen=True)
class Hold:
    """A pre-booking: ``person`` must get ``bed``, or some bed at ``site``."""

    id: str
    person: str
    bed: str | None = None
    site: str | None = None
    organisation: str | None = None

    def __post_init__(self) -> None:
        _require(isinstance(self.id, str) and self.id != "", "hold id must be a non-empty string", "id")
        _require(self.bed is not None or self.site is not None,
                 "a hold must name a bed or a site", f"hold {self.id!r}")


@dataclass(frozen=True)
class Ban:
    """``person`` may not be given any bed at ``site`` tonight."""

    person: str
    site: str
    reason: str | None = None


@dataclass(frozen=True)
class Policy:
    """Which genders the women-only and men-only beds admit."""

    women_beds_admit: frozenset[str] = WOMEN_BEDS_ADMIT
    men_beds_admit: frozenset[str] = MEN_BEDS_ADMIT

    def __post_init__(self) -> None:
        for name in ("women_beds_admit", "men_beds_admit"):
            value = frozenset(getattr(self, name))
            bad = sorted(value - set(GENDERS))
            _require(not bad, f"unknown gender {bad[0]!r}" if bad else "", f"policy.{name}")
            object.__setattr__(self, name, value)


def _schema(name: str) -> dict[str, Any]:
    text = resources.files("allocator").joinpath("schemas", name).read_text(encoding="utf-8")
    return json.loads(text)


def _json_path(parts: Iterable[Any]) -> str:
    out = ""
    for part in parts:
        out += f"[{part}]" if isinstance(part, int) else (f".{part}" if out else str(part))
    return out


@lru_cache(maxsize=None)
def _fast_validator(name: str) -> Any:
    import fastjsonschema

    return fastjsonschema.compile(_schema(name))


_BED_KEYS = frozenset({"id", "site", "gender", "features"})
_REQUEST_KEYS = frozenset({"person", "gender", "need", "age", "needs", "arrival",
                           "preferred_sites", "last_bed", "nights_turned_away"})
_BED_GENDER_SET = frozenset(BED_GENDERS)
_GENDER_SET = frozenset(GENDERS)


def _strings(value: Any, unique: bool) -> bool:
    """A JSON array of strings (all distinct when ``unique``)."""
    if type(value) is not list:
        return False
    for item in value:
        if type(item) is not str:
            return False
    return not unique or len(set(value)) == len(value)


def _beds_surely_valid(beds: list[Any]) -> bool:
    """True only if every item satisfies night.schema.json's ``beds.items`` (never a false True;
    False merely means "ask the schema validators")."""
    keys, genders = _BED_KEYS, _BED_GENDER_SET
    for bed in beds:
        if type(bed) is not dict:
            return False
        bed_id, site = bed.get("id"), bed.get("site")
        if type(bed_id) is not str or not bed_id or type(site) is not str or not site:
            return False
        if len(bed) > 2:
            if not bed.keys() <= keys:
                return False
            gender = bed.get("gender", "mixed")
            if type(gender) is not str or gender not in genders:
                return False
            if "features" in bed and not _strings(bed["features"], True):
                return False
    return True


def _requests_surely_valid(requests: list[Any]) -> bool:
    """True only if every item satisfies night.schema.json's ``requests.items`` (never a false
    True; False merely means "ask the schema validators")."""
    keys, genders = _REQUEST_KEYS, _GENDER_SET
    for r in requests:
        if type(r) is not dict:
            return False
        person, gender, need = r.get("person"), r.get("gender"), r.get("need")
        if (type(person) is not str or not person or type(gender) is not str
                or gender not in genders or type(need) is not int or not 0 <= need <= 100):
            return False
        if len(r) > 3:  # exactly person, gender and need when it has three keys
            if not r.keys() <= keys:
                return False
            for name in ("age", "arrival", "nights_turned_away"):
                value = r.get(name, 0)
                if type(value) is not int or value < 0:
                    return False
            if type(r.get("last_bed", "")) is not str:
                return False
            if "needs" in r and not _strings(r["needs"], True):
                return False
            if "preferred_sites" in r and not _strings(r["preferred_sites"], False):
                return False
    return True


def _night_surely_valid(obj: Any) -> bool:
    """A quick yes for a valid night: the two big lists (beds, requests) are checked by hand,
    item by item, against exactly what night.schema.json asks of them (strictly: a JSON
    1.0 or a dict subclass is left to the validators), and the rest of the night by the
    compiled schema with those two lists emptied (no keyword of the schema relates an item
    to anything outside it). False means only "not decided here"."""
    import fastjsonschema

    if type(obj) is not dict:
        return False
    beds, requests = obj.get("beds"), obj.get("requests")
    if type(beds) is not list or type(requests) is not list:
        return False
    if not (_beds_surely_valid(beds) and _requests_surely_valid(requests)):
        return False
    try:
        _fast_validator("night.schema.json")({**obj, "beds": [], "requests": []})
    except fastjsonschema.JsonSchemaException:
        return False
    return True


def validate_against_schema(obj: Any, name: str) -> None:
    """Check ``obj`` against a shipped JSON schema; raises InputError naming the first bad item.

    A night's beds and requests (most of a city's night) are first checked by hand
    (:func:`_night_surely_valid`, a third of the compiled validator's time on New York).
    Otherwise a compiled validator (fastjsonschema) decides quickly whether the input is
    valid: a Toronto-size night takes 0.1 s instead of 7 s. Only invalid input goes through
    jsonschema, whose best match gives the clearest message and path."""
    import fastjsonschema
    import jsonschema

    if name == "night.schema.json" and _night_surely_valid(obj):
        return
    try:
        _fast_validator(name)(obj)
        return
    except fastjsonschema.JsonSchemaException:
        pass
    validator = jsonschema.Draft202012Validator(
        _schema(name), format_checker=jsonschema.Draft202012Validator.FORMAT_CHECKER)
    error = jsonschema.exceptions.best_match(validator.iter_errors(obj))
    if error is not None:
        path = _json_path(error.absolute_path) or "(top level)"
        raise InputError(error.message.replace("\n", " "), path)
    # jsonschema is the reference: where the two disagree and it finds nothing, accept.


@dataclass(frozen=True)
class Night:
    """Everything the allocator needs for one night; refuses input it cannot honour.

    Raises InputError for duplicate ids, holds naming unknown people, beds or sites, a
    keep-apart pair naming one person twice, and holds that cannot all be honoured together.
    Beds may name sites that are not listed (those sites simply have no age limits).
    """

    night: str
    beds: tuple[Bed, ...]
    requests: tuple[Request, ...]
    sites: tuple[Site, ...] = ()
    holds: tuple[Hold, ...] = ()
    barred: tuple[Ban, ...] = ()
    keep_apart: tuple[tuple[str, str], ...] = ()
    policy: Policy = field(default_factory=Policy)

    def __post_init__(self) -> None:
        for name in ("beds", "requests", "sites", "holds", "barred"):
            object.__setattr__(self, name, tuple(getattr(self, name)))
        object.__setattr__(self, "keep_apart", tuple(tuple(p) for p in self.keep_apart))
        _require(isinstance(self.night, str), "must be a date string", "night")
        self._check_unique("sites", "id")
        self._check_unique("beds", "id")
        self._check_unique("requests", "person")
        self._check_unique("holds", "id")
        self._check_keep_apart()
        self._check_holds()

    @classmethod
    def from_json(cls, obj: str | bytes | Mapping[str, Any]) -> "Night":
        """Build a night from JSON text or a parsed object; raises InputError on bad input."""
        from allocator.jsonio import night_from_json

        return night_from_json(obj)

    def to_json(self) -> dict[str, Any]:
        """The night as a JSON object matching night.schema.json (defaults left out)."""
        from allocator.jsonio import night_to_json

        return night_to_json(self)

    # -- lookups -------------------------------------------------------------------------
    @cached_property
    def site_by_id(self) -> dict[str, Site]:
        return {s.id: s for s in self.sites}

    @cached_property
    def bed_by_id(self) -> dict[str, Bed]:
        return dict(zip(map(_BED_ID, self.beds), self.beds))

    @cached_property
    def bed_index(self) -> dict[str, int]:
        return {bed_id: i for i, bed_id in enumerate(map(_BED_ID, self.beds))}

    @cached_property
    def request_by_person(self) -> dict[str, Request]:
        return dict(zip(map(_PERSON, self.requests), self.requests))

    @cached_property
    def site_ids(self) -> set[str]:
        """Sites known tonight: listed ones and those named by a bed."""
        return set(self.site_by_id).union(map(_SITE, self.beds))

    @cached_property
    def barred_pairs(self) -> frozenset[tuple[str, str]]:
        return frozenset((b.person, b.site) for b in self.barred)

    @cached_property
    def partners(self) -> dict[str, set[str]]:
        """Keep-apart partners of each person asking tonight (others are not in play)."""
        asking = self.request_by_person
        out: dict[str, set[str]] = {}
        for p, q in self.keep_apart:
            if p in asking and q in asking:
                out.setdefault(p, set()).add(q)
                out.setdefault(q, set()).add(p)
        return out

    def site_label(self, site_id: str) -> str:
        site = self.site_by_id.get(site_id)
        return site.label if site else site_id

    def eligible(self, request: Request, bed: Bed) -> bool:
        """The four eligibility rules of allocation.md (gender, features, barring, age), as
        the rule book (:mod:`allocator.rulebook`) states them.

        The rule book's answer depends only on the facts in ``key`` below (the age only at an
        age-limited site), so it is asked once per distinct key and remembered for the night:
        a city night asks this for every placement and every bed a site hold could take."""
        site = self.site_by_id.get(bed.site)
        if site is None or (site.min_age is None and site.max_age is None):
            limits = None
        else:
            limits = (site.min_age, site.max_age, request.age)
        key = (request.gender, request.needs, bed.gender, bed.features, limits,
               (request.person, bed.site) in self.barred_pairs)
        known = self._eligible_by_facts.get(key)
        if known is None:
            known = self._eligible_by_facts[key] = not self.reasons(request, bed)
        return known

    @cached_property
    def _eligible_by_facts(self) -> dict[tuple[Any, ...], bool]:
        return {}

    def reasons(self, request: Request, bed: Bed) -> tuple[Reason, ...]:
        """The rule book's reason codes for giving ``bed`` to ``request`` (``()``: eligible)."""
        site = self.site_by_id.get(bed.site)
        return bed_reasons(
            gender=request.gender, needs=request.needs, age=request.age,
            bed_gender=bed.gender, bed_features=bed.features,
            min_age=site.min_age if site else None, max_age=site.max_age if site else None,
            barred=(request.person, bed.site) in self.barred_pairs,
            women_beds_admit=self.policy.women_beds_admit,
            men_beds_admit=self.policy.men_beds_admit)

    def age_ok(self, request: Request, site_id: str) -> bool:
        """Age-limited sites admit only people of known age inside the limits (rule book)."""
        site = self.site_by_id.get(site_id)
        return site is None or age_fits(request.age, site.min_age, site.max_age)

    # -- validation ------------------------------------------------------------------------
    def _check_unique(self, collection: str, key: str) -> None:
        """Ids are unique within each list, so every reference means one thing."""
        items = getattr(self, collection)
        if len(set(map(attrgetter(key), items))) == len(items):
            return
        seen: set[str] = set()
        for i, item in enumerate(items):
            value = getattr(item, key)
            _require(value not in seen, f"duplicate {key} {value!r}", f"{collection}[{i}].{key}")
            seen.add(value)

    def _check_keep_apart(self) -> None:
        """A keep-apart pair names two different people."""
        for i, pair in enumerate(self.keep_apart):
            _require(len(pair) == 2, "a keep-apart pair names exactly two people", f"keep_apart[{i}]")
            _require(pair[0] != pair[1], f"pair names {pair[0]!r} twice", f"keep_apart[{i}]")

    def _check_holds(self) -> None:
        """Holds name known people, beds and sites, and can all be honoured together."""
        placed: dict[str, tuple[str, str]] = {}  # person -> (bed, path)
        site_holds: list[tuple[str, str, str]] = []  # (person, site, path)
        holders: dict[str, str] = {}
        for i, hold in enumerate(self.holds):
            path = f"holds[{i}]"
            request = self.request_by_person.get(hold.person)
            _require(request is not None, f"unknown person {hold.person!r}", f"{path}.person")
            _require(hold.person not in holders,
                     f"person {hold.person!r} already has hold {holders.get(hold.person)!r}",
                     f"{path}.person")
            holders[hold.person] = hold.id
            if hold.bed is not None:
                bed = self.bed_by_id.get(hold.bed)
                _require(bed is not None, f"unknown bed {hold.bed!r}", f"{path}.bed")
                assert bed is not None and request is not None
                _require(hold.site is None or hold.site == bed.site,
                         f"bed {bed.id!r} is not at site {hold.site!r}", f"{path}.site")
                placed[hold.person] = (bed.id, f"{path}.bed")
            else:
                assert hold.site is not None
                _require(hold.site in self.site_ids, f"unknown site {hold.site!r}", f"{path}.site")
                site_holds.append((hold.person, hold.site, f"{path}.site"))
        from allocator.holds import check_placements  # holds.py builds on this module

        check_placements(self, placed, site_holds)
