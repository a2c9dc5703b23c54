"""Partners see what became of their own bookings over the last 30 nights, and nothing of
anyone else's. Runs on SQLite and PostgreSQL."""
from __future__ import annotations

from datetime import timedelta
from typing import Any

from shelter.clock import tonight
from shelter.models import (
    Gender, Hold, HoldStatus, OrganisationPerson, Person, Request, RequestSource, RequestStatus,
    Role, utcnow,
)
from tests.shelter.conftest import login
from tests.shelter.partners_fixtures import add_org, add_site


def past_hold(session: Any, org: Any, site: Any, name: str, ago: int, status: HoldStatus,
              *, turned_away: bool = False, ref: str | None = None) -> Hold:
    """A booking `ago` nights before tonight that ended with `status`."""
    person = Person(name=name, gender=Gender.WOMAN, birth_year=1985)
    session.add(person)
    session.flush()
    session.add(OrganisationPerson(organisation_id=org.id, person_id=person.id,
                                   ref=ref or f"R-{person.id}"))
    bed = site.rooms[0].beds[0]
    hold = Hold(organisation_id=org.id, person_id=person.id, night=tonight() - timedelta(days=ago),
                site_id=site.id, bed_id=bed.id, expires_at=utcnow(), status=status,
                ended_at=utcnow())
    session.add(hold)
    session.flush()
    if turned_away:
        session.add(Request(person_id=person.id, night=hold.night, city=site.city,
                            source=RequestSource.PARTNER, arrival=1, hold_id=hold.id,
                            status=RequestStatus.TURNED_AWAY, turnaway_reason="no_bed"))
        session.flush()
    return hold


def test_partner_sees_the_last_30_nights_of_its_own_bookings_with_outcomes(client, db, make_user):
    org, other = add_org(db.session, "Bymisjon"), add_org(db.session, "Frelsesarmeen")
    site = add_site(db.session, "strax", beds=1, name="Strax")
    claimed = past_hold(db.session, org, site, "Anna Claimed", 1, HoldStatus.CLAIMED)
    expired = past_hold(db.session, org, site, "Berit Expired", 3, HoldStatus.EXPIRED)
    turned = past_hold(db.session, org, site, "Cecilie Turned", 30, HoldStatus.RELEASED,
                       turned_away=True)
    past_hold(db.session, org, site, "Dina TooOld", 31, HoldStatus.CLAIMED)
    past_hold(db.session, other, site, "Eva Elsewhere", 2, HoldStatus.CLAIMED)
    login(client, make_user(Role.PARTNER, organisation=org))

    r = client.get("/partner/history")
    page = r.get_data(as_text=True)
    assert r.status_code == 200
    rows = [line for line in page.splitlines() if 'id="outcome-' in line]
    assert [f'id="outcome-{h.id}"' in row for h, row in zip((claimed, expired, turned), rows)] == [True] * 3
    assert "Checked in" in page and "Expired: nobody checked in in time" in page
    assert "Turned away: no bed was given" in page
    assert "Dina TooOld" not in page and "Eva Elsewhere" not in page
    assert "last 30 nights" in client.get("/partner/").get_data(as_text=True)


def test_a_partner_with_no_past_bookings_is_told_so_and_others_may_not_look(client, db, make_user):
    org = add_org(db.session, "Bymisjon")
    intake = make_user(Role.INTAKE)
    login(client, intake)
    assert client.get("/partner/history").status_code == 403
    client.post("/logout")
    login(client, make_user(Role.PARTNER, organisation=org))
    page = client.get("/partner/history").get_data(as_text=True)
    assert "no bookings in the last 30 nights" in page
