"""The English sentence of a turn-away, from its reason code and parameters.

The allocator stays language-free: :func:`allocator.rules.turn_aways` returns a reason code
with the facts behind it (``TurnAway.params``, JSON-safe); this module words them in plain
English for the command line (allocation.md: "one plain sentence staff can read out"). The
web application words the same codes and parameters in the reader's language
(``shelter/services/reasons.py``). Pure functions, no I/O.

Parameters by reason (every key optional unless said):

``no_eligible_bed``
    ``barred`` (bool, required): the only beds that would admit the person are at sites they
    are barred from; then ``sites`` (up to three site labels, sorted) and ``site_count``.
    Otherwise ``gender``, ``needs`` (bed features, sorted), ``age_limited`` (some site has
    an age limit) and ``age`` (None when not recorded).
``keep_apart``
    ``sites``, ``site_count``: where the only free eligible beds are (a partner is there).
``capacity``
    ``beds`` (required): how many beds the person is eligible for. Either ``lower`` (true:
    beds taken by people with lower need are at ``sites``/``site_count``, where a partner
    is placed) or ``takers``: who took the beds, in order, among ``need`` (people placed by
    this decision, their needs in ``needs`` (at most six, sorted) or ``need_range``
    ``[lowest, highest]``), ``queue`` (people ahead in the first-come queue), ``fixed``
    (people already placed tonight) and ``held`` (pre-bookings).
"""

from __future__ import annotations

from typing import Any, Iterable, Mapping

NOUN = {"woman": "a woman", "man": "a man", "nonbinary": "a nonbinary person",
        "unknown": "a person whose gender is not recorded"}

#: Most site labels a sentence names; above that it says how many sites.
MAX_SITES = 3
#: Most need values a capacity sentence lists; above that it gives the range.
MAX_NEEDS = 6


def site_params(labels: Iterable[str]) -> dict[str, Any]:
    """``sites`` (the labels, sorted, when there are at most three) and ``site_count``."""
    names = sorted(set(labels))
    return {"sites": names if len(names) <= MAX_SITES else [], "site_count": len(names)}


def need_params(needs: list[int]) -> dict[str, Any]:
    """``needs`` (sorted) when there are at most six, else ``need_range``."""
    if len(needs) <= MAX_NEEDS:
        return {"needs": list(needs)}
    return {"need_range": [needs[0], needs[-1]]}


def sites_text(params: Mapping[str, Any]) -> str:
    names = list(params.get("sites") or ())
    if names and len(names) == params.get("site_count", len(names)):
        return names[0] if len(names) == 1 else ", ".join(names[:-1]) + " and " + names[-1]
    return f"{params.get('site_count', 0)} sites"


def needs_text(params: Mapping[str, Any]) -> str:
    if params.get("need_range"):
        low, high = params["need_range"]
        return f"{low} to {high}"
    return ", ".join(str(n) for n in params.get("needs") or ())


def who_text(params: Mapping[str, Any]) -> str:
    who = NOUN.get(params.get("gender", "unknown"), NOUN["unknown"])
    if params.get("age_limited"):
        age = params.get("age")
        who += f" aged {age}" if age is not None else " whose age is not recorded"
    needs = list(params.get("needs") or ())
    if needs:
        who += " who needs " + ("an " if needs[0][:1] in "aeiou" else "a ") + \
            " and ".join(needs) + " bed"
    return who


def capacity_text(params: Mapping[str, Any]) -> str:
    total = int(params.get("beds", 0))
    head = ("The only bed you are eligible for is" if total == 1
            else f"All {total:,} beds you are eligible for are")
    if params.get("lower"):
        return (f"{head} taken; those taken by people with lower need are at "
                f"{sites_text(params)}, where someone you must be kept apart from is placed.")
    takers = []
    for taker in params.get("takers") or ():
        if taker == "need":
            by = "someone with equal or higher need" if total == 1 else \
                "people with equal or higher need"
            listed = needs_text(params)
            takers.append(f"{by} ({listed})" if listed else by)
        elif taker == "queue":
            takers.append("people ahead of you in the queue")
        elif taker == "fixed":
            takers.append("people already placed tonight")
        elif taker == "held":
            takers.append("pre-bookings")
    if len(takers) > 1:  # "A or by B", "A, by B or by C"
        takers = [", by ".join(takers[:-1]) + " or by " + takers[-1]]
    return f"{head} taken by {takers[0] if takers else ''}."


def explain(reason: str, params: Mapping[str, Any]) -> str:
    """The English sentence staff can read out for a turn-away (see the module docstring)."""
    if reason == "no_eligible_bed":
        if params.get("barred"):
            return (f"The only beds that would admit you are at {sites_text(params)}, "
                    f"where you are barred tonight.")
        return f"No bed tonight admits {who_text(params)}."
    if reason == "keep_apart":
        return (f"The only free beds you could take are at {sites_text(params)}, where someone "
                f"you must be kept apart from is placed.")
    if reason == "capacity":
        return capacity_text(params)
    return ""
