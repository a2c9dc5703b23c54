"""Bokmål and English: the catalogues are complete, templates carry no bare English, the
language follows the user (stored), the browser before log-in, and the instance default."""
from __future__ import annotations

import re
import subprocess
import sys
from datetime import date, datetime
from html.parser import HTMLParser
from pathlib import Path

import pytest
from babel.messages.pofile import read_po

from shelter.catalogue import KEYWORDS, po_path
from shelter.models import Role

ROOT = Path(__file__).resolve().parents[2]
TEMPLATES = sorted((ROOT / "templates").rglob("*.html"))

#: Text that is the same in both languages (names, units, symbols).
SAME_IN_BOTH = {"OK", "CSV", "PDF", "JSON", "API", "E-post", "Status", "Admin", "Bergen", "%",
                "Pico", "ID", "PIN", "TOTP", "QR"}


def _catalogue(locale: str):
    with po_path(locale).open("rb") as fh:
        return read_po(fh, locale=locale)


def _texts(string: object) -> list[str]:
    return list(string) if isinstance(string, (tuple, list)) else [str(string or "")]


def test_every_message_has_real_bokmal() -> None:
    catalogue = _catalogue("nb")
    empty, same = [], []
    for message in catalogue:
        if not message.id:
            continue
        ids = _texts(message.id)
        for i, text in enumerate(_texts(message.string)):
            if not text.strip():
                empty.append(ids[0])
            elif text == ids[min(i, len(ids) - 1)] and text not in SAME_IN_BOTH \
                    and re.search(r"[A-Za-z]{3,}", text):
                same.append(text)
    assert not empty, f"{len(empty)} messages have no bokmål, e.g. {empty[:5]}"
    assert not same, f"bokmål identical to the English: {same[:10]}"


def test_english_catalogue_is_complete() -> None:
    catalogue = _catalogue("en")
    missing = [m.id for m in catalogue if m.id and not all(_texts(m.string))]
    assert not missing, missing[:5]


def test_catalogue_holds_every_string_in_the_code(tmp_path: Path) -> None:
    """`make translations` was run: no wrapped string is missing from the catalogues."""
    pot = tmp_path / "messages.pot"
    keywords = [arg for k in KEYWORDS for arg in ("-k", k)]
    subprocess.run([sys.executable, "-m", "babel.messages.frontend", "extract", "-F",
                    str(ROOT / "babel.cfg"), "--no-default-keywords", *keywords,
                    "--ignore-dirs", ".*", "-o", str(pot), "."],
                   check=True, cwd=ROOT, capture_output=True)
    with pot.open("rb") as fh:
        wanted = {m.id if isinstance(m.id, str) else m.id[0] for m in read_po(fh) if m.id}
    have = {m.id if isinstance(m.id, str) else m.id[0] for m in _catalogue("nb") if m.id}
    missing = sorted(wanted - have)
    assert not missing, f"run `make translations`; not in the catalogue: {missing[:10]}"


def test_compiled_catalogues_are_current() -> None:
    for locale in ("nb", "en"):
        po, mo = po_path(locale), po_path(locale).with_suffix(".mo")
        assert mo.exists() and mo.stat().st_mtime >= po.stat().st_mtime, \
            f"{mo} is older than its .po: run `make translations`"


# --- templates: no text outside the translation layer -----------------------------------

_TRANS = re.compile(r"{%-?\s*trans\b.*?{%-?\s*endtrans\s*-?%}", re.S)
_JINJA = re.compile(r"{{.*?}}|{%.*?%}|{#.*?#}", re.S)
_WORD = re.compile(r"[A-Za-zÆØÅæøå]{2,}")
_SHOWN_ATTRIBUTES = {"title", "aria-label", "placeholder", "alt", "aria-description"}


class _BareText(HTMLParser):
    def __init__(self) -> None:
        super().__init__(convert_charrefs=True)
        self.found: list[str] = []
        self._skip = 0

    def handle_starttag(self, tag: str, attrs: list[tuple[str, str | None]]) -> None:
        if tag in ("script", "style"):
            self._skip += 1
        for name, value in attrs:
            shown = name in _SHOWN_ATTRIBUTES or (
                name == "value" and dict(attrs).get("type") in ("submit", "button"))
            if shown and value and _WORD.search(value) and value.strip() not in SAME_IN_BOTH:
                self.found.append(f'{tag} {name}="{value}"')

    def handle_endtag(self, tag: str) -> None:
        if tag in ("script", "style") and self._skip:
            self._skip -= 1

    def handle_data(self, data: str) -> None:
        text = " ".join(data.split())
        if not self._skip and _WORD.search(text) and text not in SAME_IN_BOTH:
            self.found.append(text)


def bare_text(source: str) -> list[str]:
    """Text a person reads in a template that does not pass through gettext."""
    stripped = _JINJA.sub("\x00", _TRANS.sub("\x00", source)).replace("\x00", " ")
    parser = _BareText()
    parser.feed(stripped)
    return parser.found


def test_the_scanner_finds_bare_text() -> None:
    assert bare_text("<p>Turned away</p>") == ["Turned away"]
    assert bare_text('<a title="Open it" href="/x">{{ _("Open") }}</a>') == ['a title="Open it"']
    assert bare_text("<p>{% trans n=3 %}{{ n }} beds{% endtrans %} · {{ x }}</p>") == []


@pytest.mark.parametrize("template", TEMPLATES, ids=lambda p: str(p.relative_to(ROOT)))
def test_template_has_no_bare_text(template: Path) -> None:
    found = bare_text(template.read_text())
    assert not found, f"wrap in _() or {{% trans %}}: {found[:8]}"


# --- the language of a request ----------------------------------------------------------

def test_login_page_follows_the_browser(client) -> None:
    page = client.get("/login", headers={"Accept-Language": "nb-NO,nb;q=0.9,en;q=0.5"})
    assert '<html lang="nb"' in page.text and "Akuttovernatting" in page.text
    page = client.get("/login", headers={"Accept-Language": "en-GB,en;q=0.9"})
    assert '<html lang="en"' in page.text and "Shelter beds" in page.text
    page = client.get("/login", headers={"Accept-Language": "no"})  # "Norwegian" reads bokmål
    assert '<html lang="nb"' in page.text


def test_login_page_without_accept_language_uses_the_instance_default(nb_app, client) -> None:
    page = client.get("/login")
    assert '<html lang="nb"' in page.text


def test_a_user_switches_language_and_it_is_kept(nb_app, db, make_user) -> None:
    from tests.shelter.conftest import login, new_client

    user = make_user(Role.INTAKE)
    client = new_client(nb_app)
    login(client, user)
    page = client.get("/intake/")
    assert '<html lang="nb"' in page.text, "the instance default before a choice"
    switched = client.post("/language", data={"language": "en", "next": "/intake/"})
    assert switched.status_code == 302 and switched.headers["Location"].endswith("/intake/")
    assert '<html lang="en"' in client.get("/intake/").text
    again = new_client(nb_app)  # a new session: the choice is stored on the user
    login(again, user)
    assert '<html lang="en"' in again.get("/intake/").text
    again.post("/language", data={"language": "nb", "next": "/intake/"})
    assert '<html lang="nb"' in again.get("/intake/").text


def test_an_unknown_language_is_refused(client) -> None:
    answer = client.post("/language", data={"language": "xx"})
    assert answer.status_code == 422


def test_switch_does_not_redirect_off_site(client) -> None:
    answer = client.post("/language", data={"language": "en",
                                                        "next": "//evil.example/"})
    assert answer.status_code == 302 and "evil.example" not in answer.headers["Location"]


def test_dates_times_and_numbers_in_the_users_language(app) -> None:
    from flask_babel import force_locale

    from shelter import i18n

    with app.test_request_context("/"):
        with force_locale("nb"):
            assert i18n.day(date(2026, 12, 2)) == "onsdag 2. desember 2026"
            assert i18n.day_month(date(2026, 12, 2)) == "2. des."
            assert i18n.hm(datetime(2026, 12, 2, 20, 30)) == "21:30"  # UTC in, Oslo out
            assert i18n.stamp(datetime(2026, 7, 2, 20, 30)).endswith("22:30 CEST")
            assert i18n.decimal(2.5) == "2,5"
            assert i18n.number(12000) == "12\xa0000"
        with force_locale("en"):
            assert i18n.day(date(2026, 12, 2)) == "Wednesday, December 2, 2026"
            assert i18n.hm(datetime(2026, 12, 2, 20, 30)) == "21:30"
            assert i18n.decimal(2.5) == "2.5"
