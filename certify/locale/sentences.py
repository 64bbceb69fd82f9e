"""Another library's English sentences, recognised by their wording and said again from our
catalogue: PyYAML's, pydantic's, Jinja's and Click's problems, which they word without
gettext. What the library put in a sentence (a name, a value typed) is kept as it was."""

from __future__ import annotations

import re

from certify.locale import _


class Sentences:
    """Patterns of a library's sentences, each with our text for it: a pattern's named
    groups fill the placeholders of its text. Compiled when first needed, so a command
    that shows no such problem compiles none."""

    def __init__(self, pairs: tuple[tuple[str, str], ...], flags: int = 0) -> None:
        self._pairs = pairs
        self._flags = flags
        self._compiled: list[tuple[re.Pattern[str], str]] = []

    def match(self, text: str) -> tuple[str, dict[str, str]] | None:
        """Our text for the whole of `text` (not yet translated) and what fills it, or None
        when it is none of these sentences."""
        if not self._compiled:
            self._compiled = [(re.compile(p, self._flags), text) for p, text in self._pairs]
        for pattern, wording in self._compiled:
            found = pattern.fullmatch(text)
            if found:
                return wording, found.groupdict()
        return None

    def say(self, text: str) -> str | None:
        """`text` in the language shown, or None when it is none of these sentences."""
        found = self.match(text)
        return None if found is None else _(found[0]).format(**found[1])

    def words(self, text: str) -> str:
        """`text` in the language shown, or as the library wrote it."""
        said = self.say(text)
        return text if said is None else said
