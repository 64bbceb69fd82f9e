"""The administrator's language: every text certify shows a person comes through `_()`.

The catalogues are GNU gettext files, made with Babel (`make catalogues`): `certify.pot`
lists every text, `LANG/LC_MESSAGES/certify.po` translates it, and the compiled `.mo`
beside it is what a command reads. A command reads one catalogue, the first time it shows a
text, so a cron tick that shows nothing reads none.

The language is `--lang` (or `CERTIFY_LANG`), else `locale` in actions.yaml, else English.
`--help` texts and `--json` keys stay English.
"""

from __future__ import annotations

import gettext as _gettext
import os
from collections.abc import Iterator
from contextlib import contextmanager
from importlib.resources import files

LANGUAGES = ("en", "nl")
DEFAULT = "en"
ENVIRONMENT = "CERTIFY_LANG"

_explicit: str | None = None  # --lang, or CERTIFY_LANG
_configured: str | None = None  # locale in actions.yaml
_loaded: dict[str, _gettext.NullTranslations] = {}


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
    return from_env or _configured or DEFAULT


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
