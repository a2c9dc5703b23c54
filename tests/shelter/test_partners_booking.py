"""Pre-booking rules (service level, both databases): eligibility, bans and keep-apart that
look exactly like 'no bed', quotas, expiry time, the Request that comes with each hold."""
from __future__ import annotations

from datetime import UTC, date, datetime, time, timedelta
from zoneinfo import ZoneInfo

import pytest
from sqlalchemy import func, select

from shelter.models import (
    Gender, GenderRule, Hold, HoldRefusal, HoldStatus, KeepApart, Placement, PlacementStatus,
    Quota, Request, RequestSource, RequestStatus, Restriction,
)
from shelter.services.prebooking import (
    NO_BED_ANYWHERE, BookingInputError, BookingRequest, HoldConflict, HoldRefused, PersonSpec,
    book_hold, cancel_hold, expire_holds, hold_expires_at,
)
from tests.shelter.partners_fixtures import TZ, add_org, add_site, tomorrow


def _book(db, org, night, *, site=None, person=None, needs=None, user=None):
    spec = person or PersonSpec(name="Kari", gender=Gender.WOMAN, birth_year=1990)
    booking = BookingRequest(organisation_id=org.id, night=night, person=spec,
                             site_id=site.id if site else None, needs=needs or [])
    return book_hold(db.session, booking, user)


def _refusal(db, org, night, **kw):
    with pytest.raises(HoldRefused) as info:
        _book(db, org, night, **kw)
    row = db.session.scalars(select(HoldRefusal).order_by(HoldRefusal.id.desc())).first()
    return info.value, row


def test_booking_holds_a_bed_and_opens_a_partner_request(db):
    org = add_org(db.session, "NAV")
    site = add_site(db.session, "strax", beds=2, hold_expiry=time(21, 0))
    night = tomorrow()
    hold = _book(db, org, night, site=site)
    assert hold.status is HoldStatus.HELD and hold.site_id == site.id and hold.site_only
    local = datetime.combine(night, time(21, 0), tzinfo=ZoneInfo(TZ))
    assert hold.expires_at == local.astimezone(UTC).replace(tzinfo=None)
    req = db.session.scalar(select(Request).where(Request.hold_id == hold.id))
    assert req.source is RequestSource.PARTNER and req.status is RequestStatus.WAITING
    assert req.person_id == hold.person_id and req.night == night


def test_hold_expiry_follows_daylight_saving():
    from shelter.models import Site

    site = Site(code="x", name="X", hold_expiry=time(21, 0))
    assert hold_expires_at(site, date(2026, 1, 15)) == datetime(2026, 1, 15, 20, 0)
    assert hold_expires_at(site, date(2026, 7, 15)) == datetime(2026, 7, 15, 19, 0)


def test_gender_rule_features_and_age_limits_decide_eligibility(db):
    org = add_org(db.session, "NAV")
    night = tomorrow()
    women = add_site(db.session, "kvinne", gender=GenderRule.WOMEN)
    exc, row = _refusal(db, org, night, site=women,
                        person=PersonSpec(name="Ola", gender=Gender.MAN, birth_year=1980))
    # The partner hears the routine words; managers see the rule book's reason.
    assert exc.message == NO_BED_ANYWHERE and row.reason == "ineligible"
    plain = add_site(db.session, "plain")
    exc, row = _refusal(db, org, night, site=plain, needs=["accessible"])
    assert exc.message == NO_BED_ANYWHERE and row.reason == "ineligible"
    young = add_site(db.session, "ung", min_age=18, max_age=23)
    # Born 1990: too old for the wished youth site, so held at another site that suits.
    elsewhere = _book(db, org, night, site=young)
    assert elsewhere.site_id != young.id and elsewhere.status is HoldStatus.HELD
    assert elsewhere.wished_site_id == young.id and elsewhere.wish_reason == "ineligible"
    hold = _book(db, org, night, site=young,
                 person=PersonSpec(name="Ung", gender=Gender.MAN, birth_year=night.year - 20))
    assert hold.site_id == young.id and hold.wish_reason is None


def test_accessible_bed_is_spared_for_those_who_need_it(db):
    org = add_org(db.session, "NAV")
    site = add_site(db.session, "strax", beds=1, features=["accessible"])
    add_site(db.session, "strax2", beds=0)
    from shelter.models import Bed, Room

    room = db.session.scalar(select(Room).where(Room.site_id == site.id))
    plain = Bed(room=room, label="plain", features=[], valid_from=date(2020, 1, 1))
    db.session.add(plain)
    db.session.flush()
    hold = _book(db, org, tomorrow(), site=site)
    assert hold.bed_id == plain.id


def test_a_ban_at_the_wished_site_holds_elsewhere_and_everywhere_waits_for_intake(db):
    org = add_org(db.session, "Politiet")
    night = tomorrow()
    other = add_site(db.session, "gyldenpris", beds=2)
    banned_here = add_site(db.session, "sandviken", beds=3)
    first = _book(db, org, night, site=banned_here,
                  person=PersonSpec(name="Per", gender=Gender.MAN, birth_year=1970))
    db.session.add(Restriction(person_id=first.person_id, site_id=banned_here.id,
                               starts_on=night, ends_on=night, reason="violence (secret)"))
    cancel_hold(db.session, first)
    moved = _book(db, org, night, site=banned_here, person=PersonSpec(person_id=first.person_id))
    assert moved.status is HoldStatus.HELD and moved.site_id == other.id
    assert moved.wish_reason == "barred"  # for intake; the partner reads "held at Gyldenpris"
    cancel_hold(db.session, moved)
    # Barred from every site with a bed: the booking waits for intake, holding no bed.
    db.session.add(Restriction(person_id=first.person_id, site_id=other.id,
                               starts_on=night, ends_on=night, reason="violence (secret)"))
    db.session.flush()
    waiting = _book(db, org, night, site=banned_here, person=PersonSpec(person_id=first.person_id))
    assert waiting.status is HoldStatus.PENDING and waiting.bed_id is None
    assert waiting.wish_reason == "barred" and waiting.wished_site_id == banned_here.id
    assert db.session.scalar(select(Request.id).where(Request.person_id == first.person_id,
                                                      Request.night == night,
                                                      Request.status != RequestStatus.WITHDRAWN)) is None


def test_keep_apart_partner_held_at_the_wished_site_holds_elsewhere(db):
    org = add_org(db.session, "NAV")
    night = tomorrow()
    site = add_site(db.session, "strax", beds=3)
    other = add_site(db.session, "vaagsbunnen", beds=1)
    a = _book(db, org, night, site=site, person=PersonSpec(name="A", gender=Gender.MAN))
    b = _book(db, org, night + timedelta(days=1), site=site,
              person=PersonSpec(name="B", gender=Gender.MAN))
    lo, hi = sorted([a.person_id, b.person_id])
    db.session.add(KeepApart(person_a_id=lo, person_b_id=hi, starts_on=night, reason="threat"))
    db.session.flush()
    hold = _book(db, org, night, site=site, person=PersonSpec(person_id=b.person_id))
    assert hold.site_id == other.id and hold.wish_reason == "keep_apart"


def test_quota_per_organisation_site_and_night(db):
    nav, kirken = add_org(db.session, "NAV"), add_org(db.session, "Kirkens Bymisjon")
    site = add_site(db.session, "strax", beds=5)
    db.session.add(Quota(organisation_id=nav.id, site_id=site.id, per_night=1))
    night = tomorrow()
    _book(db, nav, night, site=site, person=PersonSpec(name="One", gender=Gender.MAN))
    exc, row = _refusal(db, nav, night, site=site,
                        person=PersonSpec(name="Two", gender=Gender.MAN))
    assert exc.reason == "quota" and row.reason == "quota" and "quota" in exc.message
    # Another night, and another organisation without a Quota row (no limit), still book.
    _book(db, nav, night + timedelta(days=1), site=site,
          person=PersonSpec(name="Three", gender=Gender.MAN))
    for i in range(3):
        _book(db, kirken, night, site=site, person=PersonSpec(name=f"K{i}", gender=Gender.MAN))


def test_refusal_keeps_no_new_person_and_no_hold(db):
    org = add_org(db.session, "NAV")
    site = add_site(db.session, "full", beds=0)
    people_before = db.session.scalar(select(func.count()).select_from(Request))
    _, row = _refusal(db, org, tomorrow(), site=site)
    assert row.person_id is None and row.site_id == site.id and row.organisation_id == org.id
    assert db.session.scalar(select(func.count()).select_from(Request)) == people_before
    assert db.session.scalar(select(func.count()).select_from(Hold)) == 0


def test_bad_input_names_the_field(db):
    org = add_org(db.session, "NAV")
    add_site(db.session, "strax")
    with pytest.raises(BookingInputError) as info:
        _book(db, org, tomorrow() + timedelta(days=30))
    assert info.value.field == "night"
    with pytest.raises(BookingInputError) as info:
        _book(db, org, tomorrow(), person=PersonSpec(ref="nobody"))
    assert info.value.field == "person.ref"
    other = add_org(db.session, "Other")
    theirs = _book(db, other, tomorrow())
    with pytest.raises(BookingInputError):  # another organisation's person is not found
        _book(db, org, tomorrow(), person=PersonSpec(person_id=theirs.person_id))


def test_one_hold_per_person_and_night(db):
    org, other = add_org(db.session, "NAV"), add_org(db.session, "Other")
    add_site(db.session, "strax", beds=3)
    night = tomorrow()
    hold = _book(db, org, night)
    exc, _ = _refusal(db, org, night, person=PersonSpec(person_id=hold.person_id))
    assert exc.reason == "duplicate"


def test_cancel_withdraws_request_and_releases_unconfirmed_placement(db):
    org = add_org(db.session, "NAV")
    add_site(db.session, "strax", beds=2)
    hold = _book(db, org, tomorrow())
    req = db.session.scalar(select(Request).where(Request.hold_id == hold.id))
    placement = Placement(person_id=hold.person_id, bed_id=hold.bed_id, night=hold.night,
                          request_id=req.id, hold_id=hold.id, status=PlacementStatus.CONFIRMED)
    db.session.add(placement)
    db.session.flush()
    cancel_hold(db.session, hold)
    assert hold.status is HoldStatus.CANCELLED and hold.ended_at is not None
    db.session.refresh(req), db.session.refresh(placement)
    assert req.status is RequestStatus.WITHDRAWN
    assert placement.status is PlacementStatus.RELEASED
    with pytest.raises(HoldConflict):
        cancel_hold(db.session, hold)


def test_expiry_ends_due_holds_only_and_claims_checked_in_ones(db):
    org = add_org(db.session, "NAV")
    add_site(db.session, "strax", beds=3)
    night = tomorrow()
    due = _book(db, org, night, person=PersonSpec(name="Due", gender=Gender.MAN))
    inside = _book(db, org, night, person=PersonSpec(name="In", gender=Gender.MAN))
    later = _book(db, org, night + timedelta(days=1), person=PersonSpec(name="L", gender=Gender.MAN))
    db.session.add(Placement(person_id=inside.person_id, bed_id=inside.bed_id, night=night,
                             hold_id=inside.id, status=PlacementStatus.CHECKED_IN))
    db.session.flush()
    expired = expire_holds(db.session, due.expires_at + timedelta(minutes=1))
    assert expired == [due.id]
    statuses = {h.id: h.status for h in db.session.scalars(select(Hold))}
    assert statuses == {due.id: HoldStatus.EXPIRED, inside.id: HoldStatus.CLAIMED,
                        later.id: HoldStatus.HELD}
    req = db.session.scalar(select(Request).where(Request.hold_id == due.id))
    assert req.status is RequestStatus.WITHDRAWN
    assert expire_holds(db.session, due.expires_at + timedelta(minutes=2)) == []  # idempotent
