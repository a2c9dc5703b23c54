"""A turn-away worded in the reader's language: the allocator's reason code and its params.

The allocator stays language-free (allocator/words.py describes the params and words them in
English for the command line); every page that shows why someone got no bed asks
:func:`turnaway_text` (also a template global), which words the code and params with
gettext in the language of the request. Rows stored before the params were kept show the
English text they were stored with. Site names are data: they are shown as they are.
"""
from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from babel.lists import format_list
from flask_babel import get_locale

from shelter.i18n import _, _l, ngettext, number
from shelter.words import feature

#: Code of a turn-away that staff made by hand (allocation.STAFF_REASON).
STAFF = "staff"

#: The person's gender as a noun phrase ("No bed tonight admits %(who)s.").
WHO = {"woman": _l("a woman"), "man": _l("a man"), "nonbinary": _l("a nonbinary person"),
       "unknown": _l("a person whose gender is not recorded")}


def _locale() -> str:
    locale = get_locale()
    return str(locale) if locale is not None else "en"


def _list(items: list[str], style: str = "standard") -> str:
    """"A, B and C" / "A, B og C" ("or" / "eller" with style "or")."""
    return format_list(items, style=style, locale=_locale()) if items else ""


def _sites(params: Mapping[str, Any]) -> str:
    """The site names (at most three), else how many sites."""
    names = [str(n) for n in params.get("sites") or ()]
    count = int(params.get("site_count", len(names)))
    if names and len(names) == count:
        return _list(names)
    return ngettext("%(count)s site", "%(count)s sites", count, count=number(count))


def _needs(params: Mapping[str, Any]) -> str:
    if params.get("need_range"):
        low, high = params["need_range"]
        return _("%(low)s to %(high)s", low=low, high=high)
    return ", ".join(str(n) for n in params.get("needs") or ())


def _no_bed(params: Mapping[str, Any]) -> str:
    if params.get("barred"):
        return _("The only beds that would admit you are at %(sites)s, where you are barred "
                 "tonight.", sites=_sites(params))
    who = str(WHO.get(params.get("gender", "unknown"), WHO["unknown"]))
    needs = _list([feature(n) for n in params.get("needs") or ()])
    age = params.get("age")
    if not params.get("age_limited"):
        if needs:
            return _("No bed tonight admits %(who)s (needs: %(needs)s).", who=who, needs=needs)
        return _("No bed tonight admits %(who)s.", who=who)
    if age is None:
        if needs:
            return _("No bed tonight admits %(who)s whose age is not recorded "
                     "(needs: %(needs)s).", who=who, needs=needs)
        return _("No bed tonight admits %(who)s whose age is not recorded.", who=who)
    if needs:
        return _("No bed tonight admits %(who)s aged %(age)s (needs: %(needs)s).",
                 who=who, age=age, needs=needs)
    return _("No bed tonight admits %(who)s aged %(age)s.", who=who, age=age)


def _takers(params: Mapping[str, Any], beds: int) -> list[str]:
    """Who took the beds, each as a phrase for "... taken by %(takers)s"."""
    out = []
    for taker in params.get("takers") or ():
        if taker == "need":
            listed = _needs(params)
            if beds == 1:
                out.append(_("someone with equal or higher need (%(needs)s)", needs=listed)
                           if listed else _("someone with equal or higher need"))
            else:
                out.append(_("people with equal or higher need (%(needs)s)", needs=listed)
                           if listed else _("people with equal or higher need"))
        elif taker == "queue":
            out.append(_("people ahead of you in the queue"))
        elif taker == "fixed":
            out.append(_("people already placed tonight"))
        elif taker == "held":
            out.append(_("pre-bookings"))
    return out


def _capacity(params: Mapping[str, Any]) -> str:
    beds = int(params.get("beds", 0))
    num = number(beds)
    if params.get("lower"):
        return ngettext(
            "The only bed you are eligible for is taken; those taken by people with lower need "
            "are at %(sites)s, where someone you must be kept apart from is placed.",
            "All %(count)s beds you are eligible for are taken; those taken by people with lower "
            "need are at %(sites)s, where someone you must be kept apart from is placed.",
            beds, count=num, sites=_sites(params))
    takers = _takers(params, beds)
    if not takers:
        return ngettext("The only bed you are eligible for is taken.",
                        "All %(count)s beds you are eligible for are taken.", beds, count=num)
    return ngettext("The only bed you are eligible for is taken by %(takers)s.",
                    "All %(count)s beds you are eligible for are taken by %(takers)s.",
                    beds, count=num, takers=_list(takers, "or"))


def explain(code: str | None, params: Mapping[str, Any] | None, fallback: str | None = "") -> str:
    """Why the person got no bed, in the current language. ``params`` as the allocator gives
    them (allocator/words.py); without params (an old row) the stored ``fallback`` text."""
    if code == STAFF:
        return _("Staff changed the proposal by hand and gave the bed to someone else.")
    if params:
        if code == "no_eligible_bed":
            return _no_bed(params)
        if code == "keep_apart":
            return _("The only free beds you could take are at %(sites)s, where someone you "
                     "must be kept apart from is placed.", sites=_sites(params))
        if code == "capacity":
            return _capacity(params)
    return fallback or ""


def turnaway_text(item: Any) -> str:
    """The sentence for a turned-away Request (``turnaway_reason``, ``turnaway_params``,
    ``turnaway_explanation``) or a result's turned_away item (``reason``, ``params``,
    ``explanation``); "" for None."""
    if item is None:
        return ""
    if isinstance(item, Mapping):
        return explain(item.get("reason"), item.get("params"), item.get("explanation"))
    return explain(item.turnaway_reason, item.turnaway_params, item.turnaway_explanation)


def init_app(app: Any) -> None:
    """Templates: ``{{ turnaway_text(request_or_item) }}``."""
    app.add_template_global(turnaway_text)
