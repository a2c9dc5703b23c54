"""The translation catalogues: ``python -m shelter.catalogue extract|compile|check``.

``make translations`` runs ``extract`` then ``compile``:

- ``extract`` collects every translatable string (``_``, ``_l``, ``gettext``, ``ngettext``,
  ``lazy_gettext`` in ``shelter/``; ``_()`` and ``{% trans %}`` in ``templates/``) into
  ``shelter/translations/messages.pot`` and updates the ``nb`` and ``en`` catalogues from it
  (new strings arrive untranslated in ``nb``: write their bokmål before committing; the
  catalogue test fails until you do). The ``en`` catalogue is the msgid itself.
- ``compile`` writes the ``.mo`` files the app reads (``make install``/``make run``/``make
  test`` do it when a ``.po`` changed).
- ``check`` prints untranslated ``nb`` entries and exits 1 if there are any.
"""
from __future__ import annotations

import subprocess
import sys
from pathlib import Path

from babel.messages.catalog import Catalog
from babel.messages.mofile import write_mo
from babel.messages.pofile import read_po, write_po

ROOT = Path(__file__).resolve().parent.parent
DIR = ROOT / "shelter" / "translations"
POT = DIR / "messages.pot"
LOCALES = ("nb", "en")
KEYWORDS = ("_", "_l", "gettext", "ngettext:1,2", "lazy_gettext", "lazy_ngettext:1,2",
            "pgettext:1c,2", "lazy_pgettext:1c,2")


def po_path(locale: str) -> Path:
    return DIR / locale / "LC_MESSAGES" / "messages.po"


def read(path: Path, locale: str | None = None) -> Catalog:
    with path.open("rb") as fh:
        return read_po(fh, locale=locale)


def write(catalog: Catalog, path: Path) -> None:
    path.parent.mkdir(parents=True, exist_ok=True)
    with path.open("wb") as fh:
        write_po(fh, catalog, width=100, sort_output=False, include_previous=False)


def extract() -> None:
    keywords = [arg for k in KEYWORDS for arg in ("-k", k)]
    subprocess.run([sys.executable, "-m", "babel.messages.frontend", "extract", "-F",
                    str(ROOT / "babel.cfg"), "--no-default-keywords", *keywords,
                    "--sort-by-file", "--no-wrap", "--ignore-dirs", ".*", "--project", "shelter",
                    "--omit-header", "-o", str(POT), "."],
                   check=True, cwd=ROOT, stdout=subprocess.DEVNULL)
    template = read(POT)
    for locale in LOCALES:
        path = po_path(locale)
        catalog = read(path, locale) if path.exists() else Catalog(locale=locale)
        catalog.update(template, no_fuzzy_matching=True)
        catalog.fuzzy = False
        catalog.project, catalog.version = "shelter", "1"
        catalog.obsolete.clear()
        for message in catalog:
            if not message.id:
                continue
            message.flags.discard("fuzzy")
            if locale == "en":
                message.string = message.id
        write(catalog, path)


def _filled(string: object) -> bool:
    if isinstance(string, (tuple, list)):
        return all(bool(s) for s in string)
    return bool(string)


def untranslated(locale: str = "nb") -> list[object]:
    return [m.id for m in read(po_path(locale), locale) if m.id and not _filled(m.string)]


def compile_all() -> None:
    for locale in LOCALES:
        catalog = read(po_path(locale), locale)
        mo = po_path(locale).with_suffix(".mo")
        with mo.open("wb") as fh:
            write_mo(fh, catalog)


def main(argv: list[str]) -> int:
    command = argv[0] if argv else "check"
    if command == "extract":
        extract()
        missing = untranslated()
        if missing:
            print(f"{len(missing)} strings still need bokmål in {po_path('nb')}",
                  file=sys.stderr)
        return 0
    if command == "compile":
        compile_all()
        return 0
    if command == "check":
        missing = untranslated()
        for msgid in missing:
            print(f"untranslated: {msgid!r}")
        return 1 if missing else 0
    print(f"unknown command {command!r}: extract, compile or check", file=sys.stderr)
    return 2


if __name__ == "__main__":
    raise SystemExit(main(sys.argv[1:]))
