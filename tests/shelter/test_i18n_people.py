"""People, safety records and cold nights in bokmål: with the instance language set to "nb"
the pages, form labels, validation messages, flashes and dates read Norwegian, and the
built-in need factors are shown in the reader's language while a manager's own labels stay
as typed."""
from __future__ import annotations

from datetime import timedelta

import pytest
from flask_babel import force_locale

from shelter.clock import tonight
from shelter.models import Gender, KeepApart, Person, Restriction, Role
from shelter.services import assessment as assessing
from tests.shelter.conftest import login


@pytest.fixture()
def staff(nb_app, client, make_user):
    user = make_user(Role.INTAKE)
    login(client, user)
    return user


@pytest.fixture()
def manager(nb_app, client, make_user):
    user = make_user(Role.MANAGER)
    login(client, user)
    return user


def _person(db, name="Kari Nordmann", year=1990, gender=Gender.WOMAN, **kw):
    p = Person(name=name, birth_year=year, gender=gender, **kw)
    db.session.add(p)
    db.session.commit()
    return p


def _reads(html: str, bokmal: list[str], english: list[str]) -> None:
    assert '<html lang="nb"' in html
    for text in bokmal:
        assert text in html, f"missing bokmål {text!r}"
    for text in english:
        assert text not in html, f"English left: {text!r}"


def test_search_and_new_person_read_bokmal(client, db, staff):
    _person(db, "Kari Nordmann", 1990, needs=["single_room"])
    page = client.get("/people/?q=kari født 1990").get_data(as_text=True)
    _reads(page, ["Personer", "Søk", "Født", "Kvinne", "Ny person", "Kari Nordmann"],
           ["Search", "Born", "New person", "Woman"])
    assert client.get("/people/?q=ingen").get_data(as_text=True).count("Fant ingen for") == 1
    form = client.get("/people/new").get_data(as_text=True)
    _reads(form, ["Ny person", "Alias eller kallenavn", "Vil ikke oppgi navn", "Fødselsår",
                  "Faste behov for tilrettelegging",
                  "Kjønn", "Vil ikke oppgi", "Universelt utformet (rullestol, ingen trapper)",
                  "Registrer person", "Avbryt"],
           ["Alias or nickname", "Birth year", "Prefers not to say", "Create person", "Cancel"])


def test_person_form_errors_are_bokmal(client, db, staff):
    year = tonight().year
    answer = client.post("/people/new", data={"name": "Kim"})
    assert answer.status_code == 422
    _reads(answer.get_data(as_text=True), ["Spør personen, eller velg «vil ikke oppgi»."],
           ["Ask the person"])
    answer = client.post("/people/new", data={"refused_name": "y", "birth_year": year + 5,
                                              "gender": "woman"})
    assert answer.status_code == 422
    _reads(answer.get_data(as_text=True),
           ["Personen vil ikke oppgi navn: oppgi et alias",
            f"Fødselsåret må være mellom {year - 110} og {year}."],
           ["give an alias", "Birth year must be"])


def test_likely_duplicate_and_created_flash_in_bokmal(client, db, staff):
    _person(db, "Ola Hansen", 1985, gender=Gender.MAN)
    dup = client.post("/people/new", data={"name": "Ola Hansen", "birth_year": 1985,
                                           "gender": "man"}).get_data(as_text=True)
    _reads(dup, ["Trolig dobbeltregistrering.", "født 1985", "Mann",
                 "Dette er en annen person: registrer likevel"],
           ["Likely duplicate", "create anyway"])
    made = client.post("/people/new", data={"name": "Ola Hansen", "birth_year": 1985,
                                            "gender": "man", "confirm_duplicate": "y"},
                       follow_redirects=True).get_data(as_text=True)
    assert "er registrert." in made and "Created" not in made


def test_person_page_reads_bokmal_with_norwegian_dates(client, db, staff, make_site):
    p = _person(db, "Per Persen", tonight().year - 40, gender=Gender.MAN, needs=["accessible"])
    other = _person(db, "Pål Pålsen", 1970, gender=Gender.MAN)
    site = make_site("strax", beds=1)
    night = tonight()
    db.session.add(Restriction(person_id=p.id, site_id=site.id, starts_on=night,
                               ends_on=night + timedelta(days=3), reason="Truet ansatte",
                               category="violence"))
    db.session.add(KeepApart(person_a_id=min(p.id, other.id), person_b_id=max(p.id, other.id),
                             starts_on=night, reason="Slåss"))
    db.session.commit()
    client.post(f"/people/{p.id}/request", data={"source": "walk_in"})
    html = client.get(f"/people/{p.id}").get_data(as_text=True)
    with force_locale("nb"):
        from shelter.i18n import day_short
        shown = day_short(night)  # "ons. 2. des. 2026"
    _reads(html, ["født", "(ca. 40 år)", "Mann", "behov: universelt utformet",
                  "Registrert i kveld · kønummer 1 · venter", "Vurder behov", "Rett opplysningene",
                  "Trekk henvendelsen for i kveld", "Gikk før de fikk seng",
                  "Ikke vurdert ennå (behovet regnes som 0).", "De siste 14 nettene",
                  "oppmøte, kønummer 1", "utestengt", "ilagt av ansatte", "holdes adskilt",
                  "fra <a href", "Avslutt utestengelsen", shown],
           ["Registered tonight", "Assess need", "Last 14 nights", "until ended", "issued by",
            "End ban", "Left before getting a bed", "walk-in, queue"])
    assert shown.split()[0] in ("man.", "tir.", "ons.", "tor.", "fre.", "lør.", "søn.")


def test_request_page_and_flash_in_bokmal(client, db, staff):
    p = _person(db)
    form = client.get(f"/people/{p.id}/request").get_data(as_text=True)
    _reads(form, ["Be om seng for i natt", "Hvordan tok de kontakt?", "Oppmøte",
                  "Henvist fra samarbeidspartner", "Ønsket sted (valgfritt)", "Ikke noe ønske",
                  "Ingen vurdering nå (behovet regnes som 0)", "Vurder nå",
                  "Registrer for i kveld"],
           ["How did they ask?", "Partner referral", "No preference", "Register for tonight"])
    done = client.post(f"/people/{p.id}/request", data={"source": "walk_in"},
                       follow_redirects=True).get_data(as_text=True)
    assert "er registrert for i kveld: kønummer 1." in done
    again = client.post(f"/people/{p.id}/request", data={"source": "walk_in"})
    html = again.get_data(as_text=True)
    assert again.status_code == 422
    _reads(html, ["Allerede registrert for denne natten (kønummer 1, venter)."],
           ["Already registered"])


def test_assessment_shows_built_in_factors_in_bokmal(client, db, staff):
    p = _person(db)
    form = client.get(f"/people/{p.id}/assess").get_data(as_text=True)
    _reads(form, ["Vurder behov: Kari Nordmann", "Hvor skal personen sove i natt?",
                  "Sover ute eller har ikke noe sted å sove i natt (40)", "Vet ikke",
                  "Utsatt for eller på flukt fra vold (25)", "Lagre vurderingen"],
           ["Where do they sleep tonight?", "Sleeps outside", "Not known", "Save assessment"])
    done = client.post(f"/people/{p.id}/assess", data={"group_sleeps": "sleeps_outside",
                                                       "f_violence": "y"},
                       follow_redirects=True).get_data(as_text=True)
    _reads(done, ["Behov 65 (Sover ute eller har ikke noe sted å sove i natt 40, "
                  "Utsatt for eller på flukt fra vold 25).", "etter skjema v1"],
           ["Exposed to or fleeing violence", "under scheme"])


def test_scheme_page_translates_built_in_labels_and_keeps_typed_ones(nb_app, client, db,
                                                                    manager):
    page = client.get("/people/scheme").get_data(as_text=True)
    _reads(page, ["Poeng per faktor", 'value="Har egen bolig"', "Opprinnelig skjema",
                  "Lagre som versjon 2", "i bruk"],
           ["Has their own flat", "Starting scheme", "Save as version"])
    scheme = assessing.current_scheme(db.session)
    rows = {}
    for i, f in enumerate(scheme.factors):
        with nb_app.test_request_context("/"), force_locale("nb"):  # what the manager sees
            label = "Egen hybel" if f["key"] == "own_flat" else assessing.factor_label(f)
        assert label != f["label"] or f["key"] == "own_flat"
        rows.update({f"factors-{i}-key": f["key"], f"factors-{i}-label": label,
                     f"factors-{i}-points": str(f["points"]), f"factors-{i}-group": f["group"]})
    saved = client.post("/people/scheme", data=rows, follow_redirects=True)
    assert "Lagret som versjon 2." in saved.get_data(as_text=True)
    stored = {f["key"]: f["label"] for f in assessing.current_scheme(db.session).factors}
    # the bokmål shown for a built-in label is saved back as the built-in one, so it
    # keeps following each reader's language; a label the manager typed is data
    assert stored["violence"] == "Exposed to or fleeing violence"
    assert stored["own_flat"] == "Egen hybel"
    bad = client.post("/people/scheme", data={"factors-0-key": "violence",
                                              "factors-0-label": "", "factors-0-points": "abc"})
    _reads(bad.get_data(as_text=True), ["Gi faktoren en tekst.",
                                        "Poengene må være et helt tall fra 0 til 100."],
           ["Give the factor a label", "whole number"])


def test_built_in_labels_are_the_stored_english(app):
    """The English msgids of the built-in labels are exactly what the scheme stores (else a
    built-in label would never be recognised and translated)."""
    with app.test_request_context("/"), force_locale("en"):
        for factor in assessing.DEFAULT_FACTORS:
            assert str(assessing.BUILTIN_LABELS[factor["key"]]) == factor["label"]
    with app.test_request_context("/"), force_locale("nb"):
        assert assessing.factor_label({"key": "violence", "label": "Exposed to or fleeing "
                                       "violence"}) == "Utsatt for eller på flukt fra vold"
        assert assessing.factor_label({"key": "violence", "label": "Vold"}) == "Vold"


def test_safety_pages_and_messages_in_bokmal(client, db, staff, make_site):
    p = _person(db, "Per Persen", 1980, gender=Gender.MAN)
    make_site("strax", beds=1)
    page = client.get(f"/people/safety?person={p.id}").get_data(as_text=True)
    _reads(page, ["Sikkerhetsregistreringer", "Gjeldende og kommende utestengelser",
                  "Registrer utestengelse for Per Persen", "Personnummer", "Alle steder",
                  "Ilagt av", "Politiet (bortvisning)",
                  "Rus på stedet (gjelder ikke ved kuldeberedskap)", "Hold to personer adskilt",
                  "Siste natt (tom: til den avsluttes)"],
           ["Safety records", "Add a ban", "Person number", "All sites", "Keep two people apart"])
    bad = client.post("/people/safety/bans", data={"ban-person_id": "nobody",
                                                   "ban-starts_on": "1999-01-01"})
    html = bad.get_data(as_text=True)
    assert bad.status_code == 422
    _reads(html, ["Bruk personnummeret som står på personsiden, f.eks. 42.",
                  "Velg en natt mellom", "Rett opp de merkede feltene"],
           ["Use the person number", "Choose a night between"])
    assert "1. jan. 2000" in html  # the range is a date in bokmål, not ISO
    night = tonight().isoformat()
    added = client.post("/people/safety/bans", data={
        "ban-person_id": str(p.id), "ban-starts_on": night, "ban-review_on": night,
        "ban-authority": "staff", "ban-category": "violence", "ban-reason": "Truet ansatte"},
        follow_redirects=True).get_data(as_text=True)
    assert "Utestengelse registrert for Per Persen." in added
    review = client.get("/people/safety/review").get_data(as_text=True)
    _reads(review, ["Utestengelser som skal vurderes", "vurderes innen", "alle steder"],
           ["Bans due for review", "review by"])
    same = client.post("/people/safety/keep-apart", data={
        "pair-person_a_id": str(p.id), "pair-person_b_id": str(p.id), "pair-starts_on": night,
        "pair-reason": "x"})
    _reads(same.get_data(as_text=True), ["Velg to forskjellige personer."],
           ["two different people"])


def test_cold_nights_in_bokmal(client, db, manager):
    page = client.get("/cold-nights/").get_data(as_text=True)
    _reads(page, ["Ved kuldeberedskap i Bergen skal ingen måtte sove ute",
                  "I kveld og senere", "Erklær kuldeberedskap", "Erklær"],
           ["Tonight and later", "Declare cold nights", "nobody should sleep outside"])
    first = tonight()
    bad = client.post("/cold-nights/", data={"first": first.isoformat(),
                                      "last": (first + timedelta(days=40)).isoformat(),
                                      "reason": "-12"})
    _reads(bad.get_data(as_text=True), ["Erklær høyst 31 netter om gangen."],
           ["Declare at most"])
    done = client.post("/cold-nights/", data={"first": first.isoformat(),
                                       "last": (first + timedelta(days=1)).isoformat(),
                                       "reason": "-12 °C"}, follow_redirects=True)
    html = done.get_data(as_text=True)
    _reads(html, ["Kuldeberedskap erklært for 2 netter", "i kveld", "Trekk tilbake"],
           ["cold nights declared", "Take back"])
