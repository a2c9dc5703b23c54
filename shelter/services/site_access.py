"""Which sites a staff member may act at: the one place that answers it.

Intake staff can be assigned to sites (`User.sites`, set by an admin). A site-bound user acts
(check in, no-show, release, cancel, move, undo, hand changes to a proposal) only at their
own sites; their board opens on their sites. "All sites" is expressed by *no* sites: an
intake user without assigned sites, like every manager and admin, acts at every site.
An admin grants a site-bound user all sites by clearing their site list.

City-wide actions (running and confirming the allocation, which place people at every
site) need all sites. Every intake action route asks `check_sites` (or `check_all_sites`)
through the view helper `shelter.views.intake._require_sites`, and so does withdrawing a
request on the person page (it frees the bed); the board asks `may_act_at` to show a row's
buttons only where they would be accepted.
"""
from __future__ import annotations

from collections.abc import Iterable
from datetime import date
from typing import Any

from sqlalchemy import select
from sqlalchemy.orm import Session, object_session

from shelter.i18n import _
from shelter.models import Bed, Placement, Role, Room, Site


class SiteRefused(Exception):
    """The user may not act at this site (or, for a city-wide action, not at every site).
    `str()` is the sentence staff read."""


def acting_sites(user: Any) -> frozenset[int] | None:
    """The ids of the sites `user` may act at, or None for every site (managers, admins,
    intake staff with no assigned sites, and intake staff assigned to every site of their
    city: they may run the city's allocation too)."""
    if user is None or getattr(user, "role", None) in (Role.MANAGER, Role.ADMIN):
        return None
    ids = frozenset(site.id for site in user.sites)
    if not ids:
        return None
    session = object_session(user)
    if session is not None:
        cities = {site.city for site in user.sites}
        if set(session.scalars(select(Site.id).where(Site.city.in_(cities)))) <= ids:
            return None
    return ids


def home_sites(user: Any) -> list[Site]:
    """The sites the user is assigned to (their board's default view); empty for all."""
    if user is None or getattr(user, "role", None) is not Role.INTAKE:
        return []
    return sorted(user.sites, key=lambda s: s.name)


def may_act_at(allowed: frozenset[int] | None, site_id: int | None) -> bool:
    """`allowed` from `acting_sites`; a step that touches no site (None) is allowed."""
    return allowed is None or site_id is None or site_id in allowed


def check_sites(session: Session, user: Any, site_ids: Iterable[int | None]) -> None:
    """Raise SiteRefused unless `user` may act at every site in `site_ids`."""
    allowed = acting_sites(user)
    refused = sorted({s for s in site_ids if not may_act_at(allowed, s)}, key=int)
    if not refused:
        return
    names = [session.get(Site, s).name for s in refused]  # type: ignore[union-attr]
    raise SiteRefused(_("You work at %(yours)s, so you cannot change a booking at %(site)s. "
                        "Ask staff who work there, or an admin for access to all sites.",
                        yours=", ".join(s.name for s in home_sites(user)),
                        site=", ".join(names)))


def check_all_sites(user: Any) -> None:
    """Raise SiteRefused unless `user` may act at every site (city-wide actions)."""
    if acting_sites(user) is not None:
        raise SiteRefused(_("The allocation places people at every site, and you work at "
                            "%(yours)s only. Ask staff who work for all sites to run or "
                            "confirm it.", yours=", ".join(s.name for s in home_sites(user))))


def site_of_bed(session: Session, bed_id: int | None) -> int | None:
    if bed_id is None:
        return None
    return session.scalar(select(Room.site_id).join(Bed, Bed.room_id == Room.id)
                          .where(Bed.id == bed_id))


def site_of_placement(placement: Placement | None) -> int | None:
    return None if placement is None else placement.bed.room.site_id


def active_placement_site(session: Session, person_id: int, night: date) -> int | None:
    """The site of the person's active placement on `night` (None: no bed yet)."""
    return session.scalar(select(Room.site_id).join(Bed, Bed.room_id == Room.id)
                          .join(Placement, Placement.bed_id == Bed.id)
                          .where(Placement.person_id == person_id, Placement.night == night,
                                 Placement.is_active))


def undo_sites(session: Session, placement: Placement) -> list[int | None]:
    """The sites an undo touches: the placement's bed now, and the bed it goes back to
    (undoing a move returns the person to the bed before it)."""
    from shelter.services.placement_log import last_change

    sites = [site_of_placement(placement)]
    change = last_change(session, placement.id)
    if change is not None:
        sites.append(site_of_bed(session, change.before.get("placement", {}).get("bed_id")))
    return sites
