"""The administrator's language: every text certify shows a person comes through `_()`.

The catalogues are GNU gettext files, made with Babel (`make catalogues`): `certify.pot`
lists every text, `LANG/LC_MESSAGES/certify.po` translates it, and the compiled `.mo`
beside it is what a command reads. A command reads one catalogue, the first time it shows a
text, so a cron tick that shows nothing reads none.

The language is `--lang` (or `CERTIFY_LANG`), else `locale` in the actions.yaml a command
reads, else `locale` in the default actions.yaml (for the commands that read none), else
English. `--help` texts and `--json` keys stay English.
"""

from __future__ import annotations

import gettext as _gettext
import os
import re
from collections.abc import Iterator
from contextlib import contextmanager
from functools import lru_cache
from importlib.resources import files

LANGUAGES = ("en", "nl")
DEFAULT = "en"
ENVIRONMENT = "CERTIFY_LANG"

_explicit: str | None = None  # --lang, or CERTIFY_LANG
_configured: str | None = None  # locale in actions.yaml
_loaded: dict[str, _gettext.NullTranslations] = {}
_default_file: str | None = None  # the actions.yaml a command reads unless told otherwise
_peeked: list[str | None] = []  # its `locale`, once looked for

# `locale: nl` at the top level, as written by `certify init` or by hand, quoted or not
_LOCALE_LINE = re.compile(rb"""^locale:[ \t]*["']?([A-Za-z]{2,3}(?:[-_][A-Za-z0-9]+)?)""", re.M)
_PEEK_BYTES = 65_536


@lru_cache(maxsize=64)
def supported(language: str) -> str | None:
    """The catalogue a language code reads (`nl_BE` and `nl-NL` read `nl`), or None."""
    base = language.strip().replace("-", "_").split("_")[0].lower()
    return base if base in LANGUAGES else None


def choose(language: str | None) -> None:
    """The language a person asked for on the command line or in the environment."""
    global _explicit
    _explicit = supported(language) if language else None


def configure(locale: str | None) -> None:
    """The language actions.yaml names, used unless one was asked for."""
    global _configured
    _configured = supported(locale) if locale else None


def fall_back_to(path: str | os.PathLike[str] | None) -> None:
    """The actions.yaml whose `locale` speaks for a command that reads no actions file."""
    global _default_file
    _default_file = os.fspath(path) if path is not None else None
    _peeked.clear()


def _peek() -> str | None:
    """The `locale` of the default actions.yaml, found by a look at its text rather than a
    full load: `init` or `certificates get` should not pay for (or fail on) the whole file."""
    if not _peeked:
        found = None
        if _default_file is not None:
            try:
                with open(_default_file, "rb") as handle:
                    match = _LOCALE_LINE.search(handle.read(_PEEK_BYTES))
            except OSError:
                match = None
            found = supported(match.group(1).decode("ascii")) if match else None
        _peeked.append(found)
    return _peeked[0]


@contextmanager
def english() -> Iterator[None]:
    """Texts in English for a while, whatever is shown: the sentences inside `--json`."""
    global _explicit
    before, _explicit = _explicit, DEFAULT
    try:
        yield
    finally:
        _explicit = before


def language() -> str:
    """The language texts are shown in now."""
    if _explicit:
        return _explicit
    from_env = supported(os.environ.get(ENVIRONMENT, ""))
    return from_env or _configured or _peek() or DEFAULT


def translations(lang: str | None = None) -> _gettext.NullTranslations:
    """The catalogue of a language, read once per process."""
    lang = lang or language()
    found = _loaded.get(lang)
    if found is None:
        folder = str(files("certify.locale"))
        found = _gettext.translation("certify", folder, languages=[lang], fallback=True)
        _loaded[lang] = found
    return found


def N_(text: str) -> str:
    """Marks a text for the catalogue where it is written; `_()` translates it where shown."""
    return text


def _(text: str) -> str:
    """The text in the language shown now."""
    return translations().gettext(text)


def ngettext(singular: str, plural: str, count: int) -> str:
    """The singular or plural text for `count`, in the language shown now."""
    return translations().ngettext(singular, plural, count)


def in_language(lang: str, text: str) -> str:
    """The text in a given language: a page in a certificate's language, whatever is shown."""
    return translations(supported(lang) or DEFAULT).gettext(text)
