"""The message catalogues: every text shown through `_()` is in them, translated into Dutch,
with the same placeholders, and the compiled catalogue the package reads is up to date."""

from __future__ import annotations

import gettext
import string
import subprocess
import sys

import pytest
from babel.messages.catalog import Catalog
from babel.messages.extract import extract_from_dir
from babel.messages.pofile import read_po

from certify import locale
from tests.helpers import ROOT

LOCALES = ROOT / "certify" / "locale"
KEYWORDS = {"_": None, "N_": None, "ngettext": (1, 2), "in_language": (2,)}


def shown_texts() -> set[str | tuple[str, str]]:
    """Every text the source passes to `_()` and its kin, as Babel extracts it."""
    found: set[str | tuple[str, str]] = set()
    for _file, _line, message, _comments, _context in extract_from_dir(
        ROOT / "certify", method_map=[("**.py", "python"), ("**.j2", "jinja2")], keywords=KEYWORDS
    ):
        found.add(message if isinstance(message, str) else (message[0], message[1]))
    return found


def catalogue(lang: str) -> Catalog:
    with (LOCALES / lang / "LC_MESSAGES" / "certify.po").open("rb") as po:
        return read_po(po, locale=lang)


def key(message_id: str | tuple[str, ...]) -> str | tuple[str, str]:
    return message_id if isinstance(message_id, str) else (message_id[0], message_id[1])


def fields(text: str) -> set[str]:
    return {name for _, name, _, _ in string.Formatter().parse(text) if name is not None}


@pytest.mark.parametrize("lang", locale.LANGUAGES)
def test_every_shown_text_is_in_the_catalogue(lang: str) -> None:
    listed = {key(message.id) for message in catalogue(lang) if message.id}
    missing = shown_texts() - listed
    assert not missing, f"run `make catalogues`, then translate: {sorted(map(str, missing))[:10]}"


def test_every_text_is_translated_into_dutch_with_the_same_placeholders() -> None:
    untranslated, broken = [], []
    for message in catalogue("nl"):
        if not message.id:
            continue
        ids = [message.id] if isinstance(message.id, str) else list(message.id)
        strings = [message.string] if isinstance(message.string, str) else list(message.string)
        if message.fuzzy or not all(strings):
            untranslated.append(ids[0])
            continue
        wanted = set().union(*(fields(text) for text in ids))
        if any(fields(text) != wanted for text in strings):
            broken.append(ids[0])
    assert not untranslated, f"not yet in Dutch: {untranslated[:10]}"
    assert not broken, f"placeholders differ from the English: {broken[:10]}"


@pytest.mark.parametrize("lang", locale.LANGUAGES)
def test_the_compiled_catalogue_says_what_the_po_file_says(lang: str) -> None:
    with (LOCALES / lang / "LC_MESSAGES" / "certify.mo").open("rb") as mo:
        compiled = gettext.GNUTranslations(mo)
    for message in catalogue(lang):
        if not message.id or message.fuzzy:
            continue
        if isinstance(message.id, str):
            assert compiled.gettext(message.id) == (message.string or message.id), message.id
        else:
            singular, plural = message.id[0], message.id[1]
            for count, index in ((1, 0), (2, 1)):
                wanted = message.string[index] or (singular, plural)[index]
                assert compiled.ngettext(singular, plural, count) == wanted, message.id


def test_the_language_is_the_option_else_the_environment_else_actions_yaml_else_english(
    monkeypatch: pytest.MonkeyPatch,
) -> None:
    monkeypatch.delenv(locale.ENVIRONMENT, raising=False)
    monkeypatch.setattr(locale, "_explicit", None)
    monkeypatch.setattr(locale, "_configured", None)
    assert locale.language() == "en"
    locale.configure("nl_NL")
    assert locale.language() == "nl"
    monkeypatch.setenv(locale.ENVIRONMENT, "en")
    assert locale.language() == "en"
    locale.choose("nl-BE")
    assert locale.language() == "nl"
    locale.choose("de")  # no catalogue: the next in line
    assert locale.language() == "en"


def test_a_command_that_shows_nothing_reads_no_catalogue() -> None:
    probe = (
        "import sys; from certify.cli import app; import certify.locale as l;"
        "sys.argv = ['certify', '--version'];\n"
        "try: app()\nexcept SystemExit: pass\n"
        "assert not l._loaded, l._loaded"
    )
    result = subprocess.run([sys.executable, "-c", probe], capture_output=True, text=True)
    assert result.returncode == 0, result.stderr
