"""Merging two records of one person (services/people_merge.py): every mover moves its rows,
every conflict is refused with its sentence and changes nothing, the merge is one
transaction, audited once naming both, and the merged-away record takes no new request and
is not found any more. Both databases."""
from __future__ import annotations

from datetime import date, timedelta

import pytest
from sqlalchemy import func, inspect, select

from shelter.models import (
    Assessment, AuditEvent, AuditEventPerson, Base, Gender, Hold, HoldRefusal, HoldStatus,
    HousingReferral, KeepApart, Organisation, OrganisationPerson, OrgKind, Override, Person,
    Placement, PlacementChange, PlacementStatus, ReportTurnaway, Request, RequestSource,
    RequestStatus, Restriction, SafetyExemption,
)
from shelter.services import people as people_svc
from shelter.services import people_merge as merge_svc
from tests.shelter.intake_factories import NIGHT, ask, beds_of, hold_for

NEXT = NIGHT + timedelta(days=1)


def _person(db, name="Kari Nordmann", **kw):
    kw.setdefault("gender", Gender.WOMAN)
    p = Person(name=name, **kw)
    db.session.add(p)
    db.session.flush()
    return p


@pytest.fixture()
def pair(db):
    """(survivor, merged): the same woman registered twice."""
    return _person(db, "Kari Nordmann", birth_year=1990), _person(db, "Kari Nordmand")


def _count(db, model, column, person_id):
    return db.session.scalar(select(func.count()).select_from(model).where(column == person_id))


def _merge(db, survivor, merged):
    return merge_svc.merge_people(db.session, survivor.id, merged.id, None)


# --- every table with a foreign key to people.id is moved or deliberately kept -----------

def test_every_foreign_key_to_people_has_a_mover_or_stays():
    moved = {(m.column.class_.__tablename__, m.column.key) for m in merge_svc.MOVERS}
    pointing = {(table.name, col.name) for table in Base.metadata.tables.values()
                for col in table.columns for fk in col.foreign_keys
                if fk.column.table.name == "people"}
    missing = pointing - moved - merge_svc.STAYS
    assert not missing, f"add a mover in services/people_merge.py for {sorted(missing)}"


# --- one test per mover --------------------------------------------------------------------

def test_requests_and_assessments_move(db, pair):
    survivor, merged = pair
    ask(db.session, "", person=merged, need=40, night=NIGHT)
    ask(db.session, "", person=survivor, need=10, night=NEXT)
    done = _merge(db, survivor, merged)
    assert _count(db, Request, Request.person_id, survivor.id) == 2
    assert _count(db, Assessment, Assessment.person_id, survivor.id) == 2
    assert _count(db, Request, Request.person_id, merged.id) == 0
    assert {line.key: line.moves for line in done.lines}["requests"] == 1


def test_placements_changes_and_overrides_move(db, pair, make_site):
    survivor, merged = pair
    bed = beds_of(make_site("strax"))[0]
    req = ask(db.session, "", person=merged, night=NIGHT)
    placement = Placement(person_id=merged.id, bed_id=bed.id, night=NIGHT, request_id=req.id,
                          status=PlacementStatus.CONFIRMED)
    db.session.add(placement)
    db.session.flush()
    db.session.add_all([
        PlacementChange(placement_id=placement.id, night=NIGHT, person_id=merged.id,
                        action="check_in", before={}, after={}),
        Override(person_id=merged.id, night=NIGHT, to_bed_id=bed.id, reason="by hand")])
    db.session.flush()
    _merge(db, survivor, merged)
    for model in (Placement, PlacementChange, Override):
        assert _count(db, model, model.person_id, survivor.id) == 1, model
        assert _count(db, model, model.person_id, merged.id) == 0, model


def test_holds_refusals_and_partner_links_move(db, pair, make_site):
    survivor, merged = pair
    bed = beds_of(make_site("strax"))[0]
    hold = hold_for(db.session, merged, bed)
    org_id = hold.organisation_id
    db.session.add_all([
        HoldRefusal(organisation_id=org_id, night=NIGHT, person_id=merged.id, reason="quota",
                    message="full"),
        OrganisationPerson(organisation_id=org_id, person_id=merged.id, ref="R-1")])
    db.session.flush()
    _merge(db, survivor, merged)
    assert db.session.get(Hold, hold.id).person_id == survivor.id
    assert _count(db, HoldRefusal, HoldRefusal.person_id, survivor.id) == 1
    link = db.session.scalar(select(OrganisationPerson).where(OrganisationPerson.ref == "R-1"))
    assert link.person_id == survivor.id, "the partner's ref now finds the survivor"


def test_a_partner_link_stays_where_the_survivor_is_already_linked(db, pair):
    survivor, merged = pair
    nav = Organisation(name="NAV", kind=OrgKind.MUNICIPAL)
    kbm = Organisation(name="KBM", kind=OrgKind.NGO)
    db.session.add_all([nav, kbm])
    db.session.flush()
    db.session.add_all([OrganisationPerson(organisation_id=nav.id, person_id=survivor.id, ref="A"),
                        OrganisationPerson(organisation_id=nav.id, person_id=merged.id, ref="B"),
                        OrganisationPerson(organisation_id=kbm.id, person_id=merged.id, ref="C")])
    db.session.flush()
    plan = merge_svc.preview(db.session, survivor, merged, None)
    line = next(x for x in plan.lines if x.key == "organisation_people")
    assert (line.moves, line.stays) == (1, 1)
    _merge(db, survivor, merged)
    refs = dict(db.session.execute(select(OrganisationPerson.ref, OrganisationPerson.person_id)).tuples().all())
    assert refs == {"A": survivor.id, "B": merged.id, "C": survivor.id}


def test_bans_exemptions_and_keep_apart_pairs_move_in_order(db, make_site):
    third = _person(db, "Ola", gender=Gender.MAN)  # smallest id
    survivor = _person(db, "Kari")
    merged = _person(db, "Kari N")
    fourth = _person(db, "Per", gender=Gender.MAN)  # largest id
    ban = Restriction(person_id=merged.id, starts_on=NIGHT, reason="threats")
    low = KeepApart(person_a_id=third.id, person_b_id=merged.id, starts_on=NIGHT, reason="x")
    high = KeepApart(person_a_id=merged.id, person_b_id=fourth.id, starts_on=NIGHT, reason="y")
    db.session.add_all([ban, low, high])
    db.session.flush()
    db.session.add(SafetyExemption(person_id=merged.id, night=NIGHT, restriction_id=ban.id,
                                   reason="kept"))
    db.session.flush()
    _merge(db, survivor, merged)
    assert db.session.get(Restriction, ban.id).person_id == survivor.id
    assert _count(db, SafetyExemption, SafetyExemption.person_id, survivor.id) == 1
    pairs = {(k.person_a_id, k.person_b_id) for k in db.session.scalars(select(KeepApart))}
    assert pairs == {(third.id, survivor.id), (survivor.id, fourth.id)}


def test_keep_apart_pair_is_reordered_when_the_survivor_has_the_larger_id(db):
    merged = _person(db, "Kari N")
    other = _person(db, "Ola", gender=Gender.MAN)
    survivor = _person(db, "Kari")  # largest id: the pair must become (other, survivor)
    db.session.add(KeepApart(person_a_id=merged.id, person_b_id=other.id, starts_on=NIGHT,
                             reason="x"))
    db.session.flush()
    _merge(db, survivor, merged)
    pair = db.session.scalar(select(KeepApart))
    assert (pair.person_a_id, pair.person_b_id) == (other.id, survivor.id)


def test_housing_referral_moves_unless_the_survivor_has_one(db, pair):
    survivor, merged = pair
    db.session.add(HousingReferral(person_id=merged.id, note="needs a flat"))
    db.session.flush()
    _merge(db, survivor, merged)
    assert db.session.scalar(select(HousingReferral.person_id)) == survivor.id
    # and when both have one, the survivor keeps its own
    again = _person(db, "Kari again")
    db.session.add(HousingReferral(person_id=again.id, note="other"))
    db.session.flush()
    done = _merge(db, survivor, again)
    line = next(x for x in done.lines if x.key == "housing_referrals")
    assert (line.moves, line.stays) == (0, 1)
    assert _count(db, HousingReferral, HousingReferral.person_id, again.id) == 1


def test_report_turnaways_move(db, pair):
    survivor, merged = pair
    db.session.add(ReportTurnaway(city="Bergen", night=NIGHT, day=NIGHT.toordinal(),
                                  person_id=merged.id))
    db.session.flush()
    _merge(db, survivor, merged)
    assert _count(db, ReportTurnaway, ReportTurnaway.person_id, survivor.id) == 1


# --- the survivor's fields ---------------------------------------------------------------

def test_survivor_keeps_its_fields_fills_empty_ones_and_needs_are_the_union(db):
    survivor = _person(db, "Kari Nordmann", birth_year=None, needs=["accessible"])
    merged = _person(db, "Kari N", alias="Kiki", phone="99887766", birth_year=1990,
                     needs=["ground_floor"])
    plan = merge_svc.preview(db.session, survivor, merged, None)
    assert plan.filled == {"alias": "Kiki", "phone": "99887766", "birth_year": 1990}
    _merge(db, survivor, merged)
    survivor = db.session.get(Person, survivor.id)
    assert survivor.name == "Kari Nordmann" and survivor.alias == "Kiki"
    assert survivor.phone == "99887766" and survivor.birth_year == 1990
    assert survivor.needs == ["accessible", "ground_floor"]
    assert db.session.get(Person, merged.id).merged_into_id == survivor.id


# --- conflicts: refused with a sentence, nothing changed ---------------------------------

def _refused(db, survivor, merged, words):
    before = db.session.scalar(select(func.count()).select_from(AuditEvent))
    with pytest.raises(merge_svc.MergeRefused) as err:
        _merge(db, survivor, merged)
    assert any(words in r for r in err.value.reasons), err.value.reasons
    assert db.session.get(Person, merged.id).merged_into_id is None
    assert db.session.scalar(select(func.count()).select_from(AuditEvent)) == before
    return err.value


def test_merging_a_record_with_itself_is_refused(db, pair):
    _refused(db, pair[0], pair[0], "cannot be merged with itself")


def test_a_record_already_merged_away_is_refused(db, pair):
    survivor, merged = pair
    _merge(db, survivor, merged)
    third = _person(db, "Kari Nord")
    with pytest.raises(merge_svc.MergeRefused) as err:
        _merge(db, third, merged)
    assert err.value.reasons == [f"Record #{merged.id} was already merged into #{survivor.id}."]


def test_a_keep_apart_pair_between_the_two_is_refused(db, pair):
    survivor, merged = pair
    db.session.add(KeepApart(person_a_id=min(survivor.id, merged.id),
                             person_b_id=max(survivor.id, merged.id), starts_on=NIGHT, reason="x"))
    db.session.flush()
    _refused(db, survivor, merged, "There is a keep-apart pair between")


def test_both_with_an_open_request_on_one_night_is_refused(db, pair):
    survivor, merged = pair
    ask(db.session, "", person=survivor, night=NIGHT)
    ask(db.session, "", person=merged, night=NIGHT)
    err = _refused(db, survivor, merged, "Both records have an open request on")
    assert "25" in str(err)  # the night is named
    assert _count(db, Request, Request.person_id, merged.id) == 1


def test_a_withdrawn_request_on_the_same_night_is_no_conflict(db, pair):
    survivor, merged = pair
    ask(db.session, "", person=survivor, night=NIGHT)
    ask(db.session, "", person=merged, night=NIGHT).status = RequestStatus.WITHDRAWN
    db.session.flush()
    _merge(db, survivor, merged)
    assert _count(db, Request, Request.person_id, survivor.id) == 2


def test_both_placed_on_one_night_is_refused(db, pair, make_site):
    survivor, merged = pair
    beds = beds_of(make_site("strax", beds=2))
    db.session.add_all([Placement(person_id=survivor.id, bed_id=beds[0].id, night=NIGHT),
                        Placement(person_id=merged.id, bed_id=beds[1].id, night=NIGHT)])
    db.session.flush()
    _refused(db, survivor, merged, "Both records have a bed on")


def test_both_held_on_one_night_is_refused(db, pair, make_site):
    survivor, merged = pair
    beds = beds_of(make_site("strax", beds=2))
    hold_for(db.session, survivor, beds[0])
    hold_for(db.session, merged, beds[1])
    _refused(db, survivor, merged, "Both records have an active pre-booking on")


def test_a_missing_record_is_refused(db, pair):
    with pytest.raises(merge_svc.MergeRefused) as err:
        merge_svc.merge_people(db.session, pair[0].id, 999_999, None)
    assert err.value.reasons == ["There is no record #999999."]


# --- one transaction, one audit event ----------------------------------------------------

def test_a_failure_half_way_leaves_nothing_changed(db, pair, monkeypatch):
    survivor, merged = pair
    ask(db.session, "", person=merged, need=40, night=NIGHT)
    db.session.add(Restriction(person_id=merged.id, starts_on=NIGHT, reason="threats"))
    db.session.flush()
    index = [m.key for m in merge_svc.MOVERS].index("restrictions")

    class Boom(merge_svc.Mover):
        def move(self, session, merged_id, survivor_id):
            raise RuntimeError("disk full")

    broken = list(merge_svc.MOVERS)
    broken[index] = Boom("restrictions", "x", Restriction.person_id)
    monkeypatch.setattr(merge_svc, "MOVERS", broken)
    with pytest.raises(RuntimeError):
        _merge(db, survivor, merged)
    db.session.expire_all()
    # requests and assessments had moved before the failure: they are back
    assert _count(db, Request, Request.person_id, merged.id) == 1
    assert _count(db, Assessment, Assessment.person_id, merged.id) == 1
    assert _count(db, Restriction, Restriction.person_id, merged.id) == 1
    assert _count(db, Request, Request.person_id, survivor.id) == 0
    assert db.session.get(Person, merged.id).merged_into_id is None
    assert db.session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.action == "merge")) == 0


def test_the_merge_is_one_audit_event_naming_both_and_old_rows_keep_their_ids(db, pair):
    survivor, merged = pair
    from shelter.services import audit
    audit.record(db.session, None, "update", merged.id, "before the merge")
    ask(db.session, "", person=merged, night=NIGHT)
    _merge(db, survivor, merged)
    events = list(db.session.scalars(select(AuditEvent).where(AuditEvent.action == "merge")))
    assert len(events) == 1
    named = set(db.session.scalars(select(AuditEventPerson.person_id).where(
        AuditEventPerson.event_id == events[0].id)))
    assert named == {survivor.id, merged.id}
    assert f"#{merged.id} merged into #{survivor.id}" in events[0].detail
    assert "requests 1" in events[0].detail
    assert db.session.scalar(select(func.count()).select_from(AuditEvent).where(
        AuditEvent.person_id == merged.id, AuditEvent.action == "update")) == 1


# --- afterwards ------------------------------------------------------------------------

def test_the_merged_away_record_takes_no_new_request_and_is_not_found(db, pair):
    survivor, merged = pair
    assert merged.id in [p.id for p in people_svc.search_people(db.session, "kari")]
    assert merged.id in [p.id for p in people_svc.find_likely_duplicates(
        db.session, "Kari Nordmand", None, None)]
    _merge(db, survivor, merged)
    merged = db.session.get(Person, merged.id)
    assert merged.id not in [p.id for p in people_svc.search_people(db.session, "kari")]
    assert survivor.id in [p.id for p in people_svc.search_people(db.session, "kari")]
    assert merged.id not in [p.id for p in people_svc.find_likely_duplicates(
        db.session, "Kari Nordmand", None, None)]
    with pytest.raises(people_svc.PeopleError) as err:
        people_svc.register_request(db.session, merged, NIGHT, source=RequestSource.WALK_IN,
                                    needs=[], preferred_site_id=None, assessment=None, user=None)
    assert err.value.errors == {"night": f"This record was merged into #{survivor.id}: register "
                                         "the request there."}
    assert merge_svc.current_record(db.session, merged).id == survivor.id


def test_a_merged_hold_stays_active_and_keeps_its_bed(db, pair, make_site):
    survivor, merged = pair
    bed = beds_of(make_site("strax"))[0]
    hold = hold_for(db.session, merged, bed)
    _merge(db, survivor, merged)
    hold = db.session.get(Hold, hold.id)
    assert (hold.person_id, hold.bed_id, hold.status) == (survivor.id, bed.id, HoldStatus.HELD)


def test_the_schema_has_the_column_with_its_check(db, pair):
    survivor, merged = pair
    columns = {c["name"] for c in inspect(db.session.connection()).get_columns("people")}
    assert "merged_into_id" in columns
    from sqlalchemy.exc import IntegrityError
    with pytest.raises(IntegrityError):
        with db.session.begin_nested():
            survivor.merged_into_id = survivor.id
            db.session.flush()


def test_dates_in_the_sentence_are_all_the_shared_nights(db, pair):
    survivor, merged = pair
    for night in (NIGHT, NEXT):
        ask(db.session, "", person=survivor, night=night)
        ask(db.session, "", person=merged, night=night)
    ask(db.session, "", person=merged, night=date(2026, 11, 1))
    reasons = merge_svc.conflicts(db.session, survivor, merged)
    assert len(reasons) == 1 and "25" in reasons[0] and "26" in reasons[0]
    assert " 1." not in reasons[0] and "1 Nov" not in reasons[0]


def test_no_ban_or_keep_apart_pair_on_a_merged_away_record(db, pair):
    from shelter.services import safety as safety_svc
    survivor, merged = pair
    other = _person(db, "Ola", gender=Gender.MAN)
    _merge(db, survivor, merged)
    sentence = f"Record #{merged.id} was merged into #{survivor.id}: use that number."
    with pytest.raises(safety_svc.SafetyError) as err:
        safety_svc.add_ban(db.session, person_id=merged.id, site_id=None, starts_on=NIGHT,
                           ends_on=None, review_on=NEXT, reason="threats", user=None)
    assert err.value.errors["person_id"] == sentence
    with pytest.raises(safety_svc.SafetyError) as err:
        safety_svc.add_keep_apart(db.session, person_a_id=other.id, person_b_id=merged.id,
                                  starts_on=NIGHT, ends_on=None, reason="fight", user=None)
    assert err.value.errors["person_b_id"] == sentence
    assert db.session.scalar(select(func.count()).select_from(Restriction)) == 0


def test_a_ban_on_one_record_against_the_others_bed_from_tonight_is_refused(db, pair, make_site):
    from shelter.clock import tonight
    survivor, merged = pair
    site = make_site("strax")
    db.session.add_all([
        Placement(person_id=survivor.id, bed_id=beds_of(site)[0].id, night=tonight(),
                  status=PlacementStatus.CONFIRMED),
        Restriction(person_id=merged.id, site_id=site.id, starts_on=NIGHT, reason="threats")])
    db.session.flush()
    err = _refused(db, survivor, merged, "After the merge, the bed on")
    assert "Ban: the person is barred from this site tonight." in str(err)
    assert "Strax (strax-1)" in str(err)


def test_a_keep_apart_partner_of_one_record_at_the_others_site_is_refused(db, pair, make_site):
    from shelter.clock import tonight
    survivor, merged = pair
    beds = beds_of(make_site("strax", beds=2))
    ola = _person(db, "Ola", gender=Gender.MAN)
    db.session.add_all([
        Placement(person_id=survivor.id, bed_id=beds[0].id, night=tonight()),
        Placement(person_id=ola.id, bed_id=beds[1].id, night=tonight()),
        KeepApart(person_a_id=min(merged.id, ola.id), person_b_id=max(merged.id, ola.id),
                  starts_on=tonight(), reason="fight")])
    db.session.flush()
    _refused(db, survivor, merged, "Keep-apart: someone this person must be kept apart from")


def test_past_nights_and_rules_already_broken_do_not_block_the_merge(db, pair, make_site):
    from shelter.clock import tonight
    survivor, merged = pair
    site = make_site("strax")
    db.session.add_all([
        # a past night's bed at a site the other record is banned from: history, not a conflict
        Placement(person_id=survivor.id, bed_id=beds_of(site)[0].id,
                  night=tonight() - timedelta(days=3), status=PlacementStatus.CHECKED_IN),
        Restriction(person_id=merged.id, site_id=site.id, starts_on=NIGHT, reason="threats")])
    db.session.flush()
    _merge(db, survivor, merged)
    assert db.session.get(Person, merged.id).merged_into_id == survivor.id


def test_a_bed_that_already_broke_a_rule_does_not_block_the_merge(db, pair, make_site):
    from shelter.clock import tonight
    survivor, merged = pair
    site = make_site("strax")
    db.session.add_all([
        Placement(person_id=survivor.id, bed_id=beds_of(site)[0].id, night=tonight()),
        Restriction(person_id=survivor.id, site_id=site.id, starts_on=NIGHT, reason="own ban"),
        Restriction(person_id=merged.id, site_id=site.id, starts_on=NIGHT, reason="same ban")])
    db.session.flush()
    assert merge_svc.conflicts(db.session, survivor, merged) == []


def test_the_unique_indexes_still_hold_when_the_check_is_raced(db, pair, monkeypatch):
    """Another request may register between the check and the move: then the partial
    unique index says no, the merge is refused with a sentence and nothing is changed."""
    survivor, merged = pair
    ask(db.session, "", person=survivor, night=NIGHT)
    ask(db.session, "", person=merged, night=NIGHT)
    ask(db.session, "", person=merged, night=NEXT, need=20)
    monkeypatch.setattr(merge_svc, "conflicts", lambda *args: [])  # the race: check saw nothing
    with pytest.raises(merge_svc.MergeRefused) as err:
        _merge(db, survivor, merged)
    assert err.value.reasons == ["The records changed while they were being merged. Look at "
                                 "the preview again."]
    db.session.expire_all()
    assert _count(db, Request, Request.person_id, merged.id) == 2
    assert _count(db, Assessment, Assessment.person_id, merged.id) == 1
    assert db.session.get(Person, merged.id).merged_into_id is None
