"""What a template's own words are checked for: its front matter, its fixed addresses and
its date patterns; and Jinja's problems with it, in the administrator's language.

Jinja says what it found in English (`unexpected '}'`, `'x' is undefined`): the common
problems are recognised by those words and said from our catalogue, the names in them kept;
a problem not recognised stays as Jinja wrote it.
"""

from __future__ import annotations

import re
from functools import lru_cache
from typing import Any

import yaml

from certify.locale import N_, _
from certify.locale.sentences import Sentences

# Jinja's messages, worded as Jinja words them (so English reads Jinja's own); a group's
# name is the placeholder it fills
_TAGS = r"Jinja was looking for the following tags: (?P<tags>.+)\. The innermost block that "
_TAGS += r"needs to be closed is (?P<block>'[^']*')\."


_JINJA = Sentences(
    (
        (r"(?P<name>'[^']*') is undefined", N_("{name} is undefined")),
        (
            r"'dict object' has no attribute (?P<key>'[^']*')",
            N_("'dict object' has no attribute {key}"),
        ),
        (
            r"(?P<value>'.*') has no attribute (?P<key>'[^']*')",
            N_("{value} has no attribute {key}"),
        ),
        (r"unexpected (?P<token>'.*')", N_("unexpected {token}")),
        (
            r"unexpected char (?P<token>.+) at (?P<position>\d+)",
            N_("unexpected char {token} at {position}"),
        ),
        (r"Encountered unknown tag (?P<tag>'[^']*')\.", N_("Encountered unknown tag {tag}.")),
        (
            r"Encountered unknown tag (?P<tag>'[^']*')\. " + _TAGS,
            N_(
                "Encountered unknown tag {tag}. Jinja was looking for the following tags: "
                "{tags}. The innermost block that needs to be closed is {block}."
            ),
        ),
        (
            r"Unexpected end of template\. " + _TAGS,
            N_(
                "Unexpected end of template. Jinja was looking for the following tags: "
                "{tags}. The innermost block that needs to be closed is {block}."
            ),
        ),
        (r"No filter named (?P<name>'[^']*')\.", N_("No filter named {name}.")),
        (
            r"expected token (?P<expected>'[^']*'), got (?P<found>'.*')",
            N_("expected token {expected}, got {found}"),
        ),
        (
            r"Expected an expression, got (?P<found>'.*')",
            N_("Expected an expression, got {found}"),
        ),
        (r"division by zero", N_("division by zero")),
    ),
    re.S,
)


# the names Jinja gives the ends of {{ ... }} and {% ... %}
_JINJA_WORDS = {
    "'end of print statement'": N_("'end of print statement'"),
    "'end of statement block'": N_("'end of statement block'"),
}


def jinja_words(message: str) -> str:
    """Jinja's message in the language shown, or as Jinja wrote it."""
    found = _JINJA.match(message)
    if found is None:
        return message
    wording, groups = found
    names = {
        key: _(_JINJA_WORDS[value]).format() if value in _JINJA_WORDS else value
        for key, value in groups.items()
    }
    if "tags" in names:  # 'elif' or 'else' or 'endif'
        names["tags"] = names["tags"].replace("' or '", "' " + _("or") + " '")
    return _(wording).format(**names)


def address_problem(key: str, value: str) -> str | None:
    """What is wrong with a fixed `from`, `reply_to`, `cc` or `bcc` of front matter."""
    from certify.render.message import AddressError, parse_address_list

    if value.strip() in ("", "None"):
        return _("{key}: empty; give an address, or leave the line out").format(key=key)

    try:
        found = parse_address_list(value)
    except AddressError as exc:
        return _(
            '{key}: {problem} (a name with a comma goes in double quotes: "Name, Co" <a@b>)'
        ).format(key=key, problem=exc)
    if not found:
        return _("{key}: no address in {value}").format(key=key, value=repr(value))
    if key == "from" and len(found) != 1:
        return _("from: {value} reads as {count} addresses; the sender is one").format(
            value=repr(value), count=len(found)
        )
    return None


# letters a Dutch or English writer of a date pattern reaches for that mean something else
_MISREAD = {
    "D": N_("D is the day of the year; the day of the month is d"),
    "Y": N_("Y is the year of the week, another year around New Year; the year is y"),
}
_TIME_LETTERS = "hHkKmsSaAbB"


_NO_LETTER = N_(
    "{letter} is no pattern letter (d day, M month, MMMM its name, yyyy year, HH:mm time; "
    "words go in 'single quotes')"
)
_TIME_OF_DAY = N_("{letter} is a time of day, which a date has not")


@lru_cache(maxsize=256)
def _pattern_problem(pattern: str, date_only: bool) -> tuple[str, str] | None:
    """The first letter of a pattern that is wrong, and what is wrong with it (a text to
    translate when said: the answer is kept whatever the language)."""
    from babel.dates import PATTERN_CHARS

    quoted = False
    for char in pattern:
        if char == "'":
            quoted = not quoted
            continue
        if quoted or not char.isascii() or not char.isalpha():
            continue
        if char in _MISREAD:
            return _MISREAD[char], char
        if char not in PATTERN_CHARS:
            return _NO_LETTER, char
        if date_only and char in _TIME_LETTERS:
            return _TIME_OF_DAY, char
    return None


def check_pattern(pattern: str, date_only: bool) -> None:
    """Refuse a pattern that would print something else than its writer meant: a letter
    Babel does not know (printed as it is: `jjjj`), the day of the year or the week's year
    (`DD-MM-YYYY`), or a time of day for a date (`mm`, the minutes)."""
    found = _pattern_problem(pattern, date_only)
    if found is None:
        return
    text, char = found
    said = _(text).format(letter=repr(char))
    if text == _TIME_OF_DAY and char == "m":
        said += _("; the month is M")
    raise ValueError(
        _("date pattern {pattern}: {problem}").format(pattern=repr(pattern), problem=said)
    )


def split_front_matter(raw: str, file: str) -> tuple[dict[str, Any], str, list[str]]:
    """Front matter mapping, and the body with the front matter blanked.

    The front matter becomes a Jinja comment of the same number of lines, so that the
    line numbers Jinja reports are the file's.
    """
    lines = raw.splitlines(keepends=True)
    if not lines or lines[0].strip() != "---":
        said = _("missing front matter: start with '---', a 'subject:' line, '---'")
        return {}, raw, [f"{file}:1: {said}"]
    for index in range(1, len(lines)):
        if lines[index].strip() == "---":
            front = "".join(lines[1:index])
            body = "{#" + "\n" * (index + 1) + "#}" + "".join(lines[index + 1 :])
            try:
                data = yaml.safe_load(front) or {}
            except yaml.YAMLError as exc:
                mark = getattr(exc, "problem_mark", None)
                line = 2 + (mark.line if mark else 0)
                return {}, body, [f"{file}:{line}: " + _("front matter is not valid YAML")]
            if not isinstance(data, dict):
                said = _("front matter must be 'key: value' lines")
                return {}, body, [f"{file}:2: {said}"]
            return data, body, []
    return {}, raw, [f"{file}:1: " + _("front matter is not closed by a '---' line")]


def front_line(raw: str, key: str) -> int:
    """The line of front matter that holds `key`."""
    for number, line in enumerate(raw.splitlines(), start=1):
        if line.lstrip().startswith(f"{key}:"):
            return number
    return 1
