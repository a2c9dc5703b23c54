"""Intake in bokmål: with the instance language set to "nb", the evening board, the proposal,
the turned-away list, hand changes, undo and the safety decide step read Norwegian, and the
messages services raise (refusals, undo) and flash are bokmål too."""
from __future__ import annotations

from datetime import time, timedelta

import pytest
from flask_babel import force_locale
from sqlalchemy import select

from shelter.clock import tonight
from shelter.models import Gender, OtherService, Placement, Restriction, Role
from shelter.services import allocation as alloc
from shelter.services import placements as changes
from tests.shelter.conftest import login
from tests.shelter.intake_factories import NIGHT, ask, beds_of

CITY = "Bergen"


@pytest.fixture()
def evening(nb_app, db, make_site, make_user, client):
    """Tonight at Strax (one bed, check-in open until 05:59): Hanne (need 80) and Lars
    (need 10, barred from Strax) ask; an intake worker is logged in, reading bokmål."""
    night = tonight()
    site = make_site("strax", beds=1, name="Strax", checkin_cutoff=time(5, 59))
    high = ask(db.session, "Hanne High", need=80, gender=Gender.WOMAN, night=night)
    low = ask(db.session, "Lars Low", need=10, night=night)
    db.session.add(Restriction(person_id=low.person_id, site_id=site.id, starts_on=night,
                               ends_on=None, reason="fight"))
    db.session.add_all([OtherService(city=CITY, name="Kirkens Bymisjon", for_gender=None),
                        OtherService(city=CITY, name="Krisesenteret", for_gender="woman")])
    db.session.flush()
    login(client, make_user(Role.INTAKE))
    return {"night": night, "site": site, "high": high, "low": low}


def _page(response) -> str:
    html = response.get_data(as_text=True)
    assert '<html lang="nb"' in html
    return html


def _absent(html: str, *english: str) -> None:
    found = [text for text in english if text in html]
    assert not found, f"English left on a bokmål page: {found}"


def test_the_board_reads_bokmal(client, evening):
    html = _page(client.get("/intake/"))
    for phrase in ("Fordel sengene", "ledige senger", "senger i drift", "Registrer en henvendelse",
                   "utestengt: Strax", "venter", "Behov", "Kvinne", "oppmøte",
                   "Ledige senger per sted (1 av 1)", "Blandet"):
        assert phrase in html, phrase
    _absent(html, "Allocate beds", "beds free", "beds in service", "Register a request",
            "ban: Strax", ">waiting<", "Free beds per site", "walk-in", "Woman,", ">Mixed<")


def test_the_proposal_and_confirmation_read_bokmal(client, db, evening):
    response = client.post("/intake/allocate")
    assert response.status_code == 302
    html = _page(client.get(response.headers["Location"]))
    for phrase in ("Fordeling", "forslag, venter på bekreftelse", "Får seng (1)", "Avvises (1)",
                   "Behovsgrupper", "Bekreft: 1 får seng, 1 avvises", "Tilbake til oversikten",
                   "Først til mølla", "ingen egnet seng"):
        assert phrase in html, phrase
    _absent(html, "Need bands", "Placed (1)", "Turned away (1)", "Back to the board",
            "Confirm: 1 placed", "no suitable bed", "waiting for confirmation")
    run = alloc.latest_run(db.session, evening["night"], CITY)
    done = client.post(f"/intake/runs/{run.id}/confirm", follow_redirects=True)
    html = _page(done)
    assert "Bekreftet: 1 fikk seng, 1 avvist." in html
    assert "Sjekk inn" in html and "har seng" in html
    _absent(html, "Confirmed: 1 placed", ">Check in<", "Cancel or move")


def test_a_refused_hand_change_says_why_in_bokmal(client, db, evening):
    run = alloc.run_allocation(db.session, evening["night"], city=CITY, user=None)
    url = f"/intake/runs/{run.id}/people/{evening['low'].person_id}"
    form = _page(client.get(url))
    assert "Endre en plassering" in form and "Ny seng" in form and "Velg en seng …" in form
    assert "Begrunnelse for endringen" in form and "— opptatt" in form
    _absent(form, "Change a placement", "New bed", "Reason for the change", "— taken")
    bed = beds_of(evening["site"])[0]
    refused = client.post(url, data={"bed": str(bed.id), "reason": ""})
    assert refused.status_code == 422
    html = _page(refused)
    assert "Skriv en begrunnelse: den lagres sammen med endringen." in html
    _absent(html, "Give a reason")
    none = client.post(url, data={"bed": "", "reason": "vil gjerne"})
    assert "Velg en seng, eller «Ingen seng»." in _page(none)


def test_the_turned_away_list_reads_bokmal(client, db, evening):
    alloc.confirm_run(db.session, alloc.run_allocation(db.session, evening["night"], city=CITY,
                                                       user=None), None)
    html = _page(client.get("/intake/turned-away"))
    for phrase in ("Avvist", "én person", "Andre steder å gå i kveld", "Henvist til", "Notat",
                   "Lagre notatet", "Hvor du henviste personen", "Mann", "behov 10"):
        assert phrase in html, phrase
    _absent(html, "Where else to go tonight", "Save note", "Referred to", "1 person<",
            "need 10", "queue #")
    low = evening["low"]
    bad = client.post(f"/intake/requests/{low.id}/note",
                      data={f"r{low.id}-referred_to": "x" * 201, f"r{low.id}-note": "beholdt"})
    assert bad.status_code == 422
    html = _page(bad)
    assert "Hold det under 200 tegn" in html and "beholdt" in html
    _absent(html, "under 200 characters")
    ok = client.post(f"/intake/requests/{low.id}/note", follow_redirects=True,
                     data={f"r{low.id}-referred_to": "Kirkens Bymisjon", f"r{low.id}-note": "gikk"})
    assert "Lagret notatet for Lars Low." in _page(ok)


def test_change_and_undo_read_bokmal(client, db, evening):
    alloc.confirm_run(db.session, alloc.run_allocation(db.session, evening["night"], city=CITY,
                                                       user=None), None)
    placement = db.session.scalar(select(Placement).where(
        Placement.person_id == evening["high"].person_id))
    form = _page(client.get(f"/intake/placements/{placement.id}/change"))
    for phrase in ("Endre en bekreftet plass", "Hva har skjedd", "Flytt til en annen seng",
                   "Avbestill: personen ringte", "bekreftet, ikke kommet", "Lagre endringen"):
        assert phrase in form, phrase
    _absent(form, "Change a confirmed placement", "Move to another bed", "not arrived",
            "Save the change")
    missing = client.post(f"/intake/placements/{placement.id}/change",
                          data={"action": "move", "bed": "", "reason": "roligere"})
    assert missing.status_code == 422
    assert "Velg sengen personen skal flyttes til." in _page(missing)
    done = client.post(f"/intake/placements/{placement.id}/change", follow_redirects=True,
                       data={"action": "cancel", "reason": "ringte: fant et rom"})
    html = _page(done)
    assert "Avbestilte sengen til Hanne High (Strax · Room 1 · strax-1)" in html
    assert "Avbestilt i kveld" in html and "Angre avbestillingen" in html
    _absent(html, "Cancelled tonight", "Undo cancellation", "Cancelled Hanne")
    undone = _page(client.post(f"/intake/placements/{placement.id}/undo", follow_redirects=True))
    assert "Angret avbestillingen for Hanne High: har seng på Strax · Room 1 · strax-1 igjen." \
        in undone
    again = _page(client.post(f"/intake/placements/{placement.id}/undo", follow_redirects=True))
    assert "Det er ingenting å angre for denne plassen i kveld." in again
    _absent(again, "There is nothing to undo")


def test_the_safety_decide_step_reads_bokmal(nb_app, client, db, make_site, make_user):
    strax = make_site("strax", beds=2)
    make_site("sand", beds=2)
    anna = ask(db.session, "Anna", need=80, preferred=strax)
    alloc.confirm_run(db.session, alloc.run_allocation(db.session, NIGHT, city=CITY, user=None),
                      None)
    login(client, make_user(Role.INTAKE))
    page = client.post("/people/safety/bans", data={
        "ban-person_id": str(anna.person_id), "ban-site_id": str(strax.id),
        "ban-starts_on": NIGHT.isoformat(), "ban-reason": "trusler", "ban-authority": "staff",
        "ban-review_on": (NIGHT + timedelta(days=30)).isoformat()})
    assert page.status_code == 200
    html = _page(page)
    for phrase in ("1 bestilling er berørt: ta stilling til den", "Ingenting er lagret ennå",
                   "Strax, seng strax-", "bekreftet", "Flytt til", "Behold for den natten, fordi",
                   "Frigi sengen", "Seng for Anna"):
        assert phrase in html, phrase
    _absent(html, "booking affected", "Nothing has been saved yet", "Keep that night",
            "Release the bed", "Move to<")


def test_services_raise_their_refusals_in_the_readers_language(nb_app, db, evening):
    old = ask(db.session, "Gammel", need=10, night=NIGHT)  # long past: undo is refused
    placement = Placement(person_id=old.person_id, bed_id=beds_of(evening["site"])[0].id,
                          night=NIGHT, request_id=old.id)
    db.session.add(placement)
    db.session.flush()
    with nb_app.test_request_context("/"):
        with force_locale("nb"):
            with pytest.raises(alloc.AllocationError,
                               match="Endringer kan bare angres samme natt; denne plassen "
                                     "gjaldt onsdag 25. november 2026."):
                changes.undo_last(db.session, placement, None)
            with pytest.raises(alloc.AllocationError, match="Skriv en begrunnelse"):
                changes.cancel_placement(db.session, placement, None, " ")
        with force_locale("en"):
            with pytest.raises(alloc.AllocationError, match="Give a reason"):
                changes.cancel_placement(db.session, placement, None, " ")
