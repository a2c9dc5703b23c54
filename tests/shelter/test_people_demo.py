"""The demo evening (shelter/demo/evening.py) on top of the demo city's base."""
from __future__ import annotations

from datetime import date, timedelta

from sqlalchemy import func, select

from shelter.demo import base, evening
from shelter.services.inventory import beds_in_service
from shelter.models import (
    Assessment, Gender, KeepApart, Person, Placement, Request, RequestStatus, Restriction, Site,
)


def test_demo_evening_has_people_requests_safety_records_and_history(db):
    today = date(2026, 11, 25)
    base.seed(db.session, today)
    lines = evening.seed(db.session, today)
    s = db.session
    assert lines and f"{evening.N_TONIGHT} requests" in lines[0]
    people = s.scalars(select(Person)).all()
    assert len(people) == evening.N_PEOPLE
    genders = {g: sum(p.gender is g for p in people) for g in Gender}
    assert genders[Gender.WOMAN] >= 12 and genders[Gender.NONBINARY] >= 1 and genders[Gender.UNKNOWN] >= 1
    assert sum(p.refused_name and p.name is None and p.alias is not None for p in people) >= 3
    assert sum(p.birth_year is not None and 18 <= today.year - p.birth_year <= 23 for p in people) >= 4
    tonight = s.scalars(select(Request).where(Request.night == today).order_by(Request.arrival)).all()
    assert [r.arrival for r in tonight] == list(range(1, evening.N_TONIGHT + 1))
    # More people ask than there are beds, so the demo shows who the need rule places.
    assert len(tonight) > len(beds_in_service(s, today))
    assert {r.source.value for r in tonight} >= {"walk_in", "phone"}
    assert all(a.scheme.version == 1 for a in s.scalars(select(Assessment)))
    bans = s.scalars(select(Restriction)).all()
    gyldenpris = s.scalar(select(Site).where(Site.code == "gyldenpris"))
    # a site ban and a drugs ban at Gyldenpris, a ban from all sites, a police exclusion order
    assert sorted((b.site_id is not None, b.area_id is not None) for b in bans) == [
        (False, False), (False, True), (True, False), (True, False)]
    assert {b.site_id for b in bans if b.site_id} == {gyldenpris.id}
    assert all(b.ends_on is not None or b.review_on is not None for b in bans)
    assert {b.category for b in bans} == {"violence", "drugs"}
    assert s.scalar(select(func.count()).select_from(KeepApart)) == 1
    last = today - timedelta(days=1)
    assert s.scalar(select(func.count()).select_from(Placement).where(Placement.night == last)) >= 5
    # someone was turned away on each of the last three nights
    streak = s.execute(select(Request.person_id, func.count()).where(
        Request.status == RequestStatus.TURNED_AWAY, Request.night >= today - timedelta(days=3))
        .group_by(Request.person_id)).all()
    assert max(n for _, n in streak) == 3
