"""The rule book: may this person sleep in this bed tonight? Written once, asked everywhere.

Every caller asks :func:`bed_reasons` -- the allocator (through :meth:`Night.eligible` and
the bed classes of :mod:`allocator.layout`), staff hand changes, partner pre-booking on the
web and the API, the check-in warning and the demo data -- so a hand change, a hold and the
solver can never disagree about who may take a bed. The answer is a tuple of reason codes
with parameters; an empty tuple means eligible. The web app turns codes into sentences; the
allocator stays language-free.

The rules (allocation.md, "Eligibility", plus keep-apart for a bed chosen by hand):

``gender``      women-only beds admit the genders of ``policy.women_beds_admit`` (women),
                men-only beds those of ``policy.men_beds_admit`` (men); mixed beds admit all.
``features``    every bed feature the person needs (e.g. ``accessible``) is on the bed.
``age_unknown`` an age-limited site admits only people whose age is known ...
``age``         ... and inside its limits.
``barred``      a person barred from the bed's site that night (a site ban, a ban from
                every site, or an exclusion order covering the site's area) gets no bed there.
``keep_apart``  a person is never placed at a site where a keep-apart partner is placed or
                held that night (a pair constraint: the solver handles it over the whole
                night, so :meth:`Night.eligible` leaves it out; a single bed chosen by hand
                or held by a partner asks it here).
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, Iterable

WOMEN_BEDS_ADMIT = frozenset({"woman"})
MEN_BEDS_ADMIT = frozenset({"man"})

#: Every code :func:`bed_reasons` may return, in the order it checks them.
CODES = ("gender", "features", "age_unknown", "age", "barred", "keep_apart")


@dataclass(frozen=True)
class Reason:
    """Why a bed is not allowed: a stable ``code`` and the facts a sentence needs."""

    code: str
    params: dict[str, Any] = field(default_factory=dict, compare=False, hash=False)


def age_fits(age: int | None, min_age: int | None, max_age: int | None) -> bool:
    """Age-limited sites admit only people of known age inside the limits."""
    if min_age is None and max_age is None:
        return True
    if age is None:
        return False
    return (min_age is None or age >= min_age) and (max_age is None or age <= max_age)


def gender_fits(gender: str, bed_gender: str, women_beds_admit: Iterable[str] = WOMEN_BEDS_ADMIT,
                men_beds_admit: Iterable[str] = MEN_BEDS_ADMIT) -> bool:
    """Women-only beds admit women only, men-only beds men only (per the night's policy)."""
    if bed_gender == "women":
        return gender in women_beds_admit
    if bed_gender == "men":
        return gender in men_beds_admit
    return True


def bed_reasons(*, gender: str, needs: Iterable[str], age: int | None, bed_gender: str,
                bed_features: Iterable[str], min_age: int | None = None,
                max_age: int | None = None, barred: bool = False,
                partner_at_site: bool = False,
                women_beds_admit: Iterable[str] = WOMEN_BEDS_ADMIT,
                men_beds_admit: Iterable[str] = MEN_BEDS_ADMIT) -> tuple[Reason, ...]:
    """Every rule that giving this bed to this person breaks; ``()`` when it is allowed.

    ``gender`` is the person's (woman, man, nonbinary, unknown), ``bed_gender`` the room's
    rule (mixed, women, men); ``barred`` whether a ban or exclusion order covers the bed's
    site that night; ``partner_at_site`` whether a keep-apart partner is placed or held at
    the bed's site that night. Raises nothing."""
    out: list[Reason] = []
    if not gender_fits(gender, bed_gender, women_beds_admit, men_beds_admit):
        out.append(Reason("gender", {"bed_gender": bed_gender, "gender": gender}))
    missing = sorted(set(needs) - set(bed_features))
    if missing:
        out.append(Reason("features", {"missing": missing}))
    if not age_fits(age, min_age, max_age):
        code = "age_unknown" if age is None else "age"
        out.append(Reason(code, {"min_age": min_age, "max_age": max_age, "age": age}))
    if barred:
        out.append(Reason("barred"))
    if partner_at_site:
        out.append(Reason("keep_apart"))
    return tuple(out)


def bed_preference(gender: str, bed_gender: str) -> int:
    """Among allowed beds, which to offer first (lower first): a woman is offered a
    women-only bed before a mixed one (many women stay away from shelters that feel unsafe);
    everyone else has no preference by gender rule."""
    return 0 if gender == "woman" and bed_gender == "women" else 1


def default_wishes(gender: str, women_only_sites: Iterable[str]) -> tuple[str, ...]:
    """Site wishes for a person who stated none: a woman wishes for the sites with
    women-only beds (the need rule then prefers them at level 4, after need, nights turned
    away and continuity); nobody else gets a wish."""
    return tuple(sorted(women_only_sites)) if gender == "woman" else ()


#: Ban categories (staff choose one per ban). Which of them keep people safe from violence,
#: and so are never suspended, is the instance's setting (COLD_NIGHT_KEEPS_BANS).
BAN_CATEGORIES = ("violence", "drugs", "rules", "other")
SAFETY_CATEGORIES = frozenset({"violence"})


def ban_applies(category: str, *, cold_night: bool, area_order: bool = False,
                safety_categories: Iterable[str] = SAFETY_CATEGORIES) -> bool:
    """Does a ban of this category bar the person on this night? On a cold night
    (kuldeberedskap) nobody should sleep outside, so bans for minor reasons (drugs on site,
    rule breaking, other) are suspended for that night; bans that keep people safe from
    violence never are, and neither are exclusion orders from an area (a police or
    municipal order, not a shelter rule). Keep-apart pairs are never suspended either."""
    return (not cold_night or area_order or category in frozenset(safety_categories))
