"""A YAML syntax error in the administrator's words and language, at the place to fix it.

PyYAML says what it found in English (`mapping values are not allowed here`): the mistakes
administrators make are recognised by those words and told in plain words with a hint;
PyYAML's own words follow in brackets, translated where we know them, else as PyYAML wrote
them.
"""

from __future__ import annotations

import yaml

from certify.locale import N_, _
from certify.locale.sentences import Sentences

# PyYAML's problems and contexts, worded as PyYAML words them (so English reads PyYAML's
# own); a group's name is the placeholder it fills
_PYYAML = Sentences(
    (
        (r"mapping values are not allowed here", N_("mapping values are not allowed here")),
        (r"sequence entries are not allowed here", N_("sequence entries are not allowed here")),
        (r"could not find expected ':'", N_("could not find expected ':'")),
        (
            r"found character (?P<character>'.+') that cannot start any token",
            N_("found character {character} that cannot start any token"),
        ),
        (r"found unexpected end of stream", N_("found unexpected end of stream")),
        (r"found unexpected end of document", N_("found unexpected end of document")),
        (
            r"expected (?P<wanted><.+?>|'.+?'(?: or '.+?')?), but found (?P<found>.+)",
            N_("expected {wanted}, but found {found}"),
        ),
        (
            r"expected (?P<wanted><.+?>|'.+?'(?: or '.+?')?), but got (?P<found>.+)",
            N_("expected {wanted}, but got {found}"),
        ),
        (
            r"expected the node content, but found (?P<found>.+)",
            N_("expected the node content, but found {found}"),
        ),
        (r"found undefined alias (?P<name>.+)", N_("found undefined alias {name}")),
        (
            r"found unknown escape character (?P<character>.+)",
            N_("found unknown escape character {character}"),
        ),
        (r"but found another document", N_("but found another document")),
        (
            r"could not determine a constructor for the tag (?P<tag>.+)",
            N_("could not determine a constructor for the tag {tag}"),
        ),
        (
            r"expected a single document in the stream",
            N_("expected a single document in the stream"),
        ),
        (r"while scanning for the next token", N_("while scanning for the next token")),
        (r"while scanning a simple key", N_("while scanning a simple key")),
        (r"while scanning a quoted scalar", N_("while scanning a quoted scalar")),
        (r"while scanning a plain scalar", N_("while scanning a plain scalar")),
        (r"while parsing a block mapping", N_("while parsing a block mapping")),
        (r"while parsing a block collection", N_("while parsing a block collection")),
        (r"while parsing a flow sequence", N_("while parsing a flow sequence")),
        (r"while parsing a flow mapping", N_("while parsing a flow mapping")),
        (r"while parsing a block node", N_("while parsing a block node")),
        (r"while parsing a flow node", N_("while parsing a flow node")),
        (r"while scanning an alias", N_("while scanning an alias")),
        (r"while parsing a node", N_("while parsing a node")),
    ),
)


def pyyaml_words(text: str) -> str:
    """PyYAML's problem or context in the language shown, or as PyYAML wrote it."""
    return _PYYAML.words(text)


def _quote_all() -> str:
    return _("put the whole value in quotes")


def _plain(problem: str, context: str, before: str) -> str | None:
    """The mistake in plain words, from PyYAML's problem and context; `before` is the text
    on the problem's line before it."""
    if problem.startswith("expected <block end>"):
        # text after a closed quote or bracket, else a line that is not where it belongs
        if problem.endswith("'<scalar>'"):
            return _("text after a closing quote or bracket; {advice}").format(advice=_quote_all())
        return _(
            "the indentation does not line up with the lines above (check the spaces before "
            "this line; tabs are not allowed)"
        )
    if problem == "mapping values are not allowed here":
        if ": " in before:
            return _("a second ': ' on this line; {advice} (name: \"Certificate: VCA\")").format(
                advice=_quote_all()
            )
        return _(
            "a ':' where no key can start: is this line indented deeper than the one above, "
            "or does a ':' on the line above lack the space after it?"
        )
    if problem == "sequence entries are not allowed here":
        return _("a '-' where no list item can start; {advice}, or check the indentation").format(
            advice=_quote_all()
        )
    if problem.startswith("found character '\\t'"):
        return _(
            "a tab character: YAML takes spaces only, also for indentation (replace it with spaces)"
        )
    if problem.startswith("found character") and "cannot start any token" in problem:
        character = problem.removeprefix("found character ").split(" ", 1)[0]
        return _("a value cannot start with {character}; {advice}").format(
            character=character, advice=_quote_all()
        )
    if problem == "could not find expected ':'":
        return _(
            "a line that is not `key: value`: the ':' is missing, or a text over several "
            "lines needs quotes (or `|`)"
        )
    if "quoted scalar" in context and problem.startswith("found unexpected"):
        return _("the quote that opens here is not closed (end the value with the same quote mark)")
    if problem.startswith("found unknown escape character"):
        return _(
            "in double quotes a backslash starts an escape such as \\n: write \\\\ for a "
            "backslash, or use single quotes ('C:\\exports')"
        )
    if context in ("while parsing a flow sequence", "while parsing a flow mapping"):
        opening, closing = ("[", "]") if "sequence" in context else ("{", "}")
        return _(
            "the '{opening}' that opens here is not closed with '{closing}' (or a ',' is "
            "missing between its items); a text that starts with '{opening}' needs quotes"
        ).format(opening=opening, closing=closing)
    if problem.startswith("found undefined alias"):
        name = problem.removeprefix("found undefined alias ").strip("'")
        return _(
            "'*{name}' refers to no anchor above it (mark the value to reuse with &{name})"
        ).format(name=name)
    if problem == "but found another document":
        return _("a second document ('---'): the file holds one")
    return None


# the problems told at the place their context opened (the quote, the bracket, the key)
_AT_OPENING = ("could not find expected ':'",)


def syntax_problem(exc: yaml.MarkedYAMLError, text: str, file: str) -> str:
    """A YAML syntax error in plain words with a hint, at the place to fix it, and PyYAML's
    own words after it: `actions.yaml:35:6: the indentation does not line up ...`."""
    problem, context = exc.problem or "", exc.context or ""
    mark, opened = exc.problem_mark, exc.context_mark
    before = ""
    if mark is not None:
        before = (text.splitlines()[mark.line :] or [""])[0][: mark.column]
    plain = _plain(problem, context, before)
    back = 0
    if plain is not None:
        quoted = "quoted scalar" in context and problem.startswith("found unexpected")
        flow = context in ("while parsing a flow sequence", "while parsing a flow mapping")
        if problem in _AT_OPENING or quoted or flow:
            mark = opened or mark
        elif problem.startswith("found unknown escape character"):
            back = 1  # PyYAML points after the backslash
    place = f"{file}:{mark.line + 1}:{mark.column + 1 - back}" if mark else file
    said = pyyaml_words(problem)
    if plain is None:
        return f"{place}: " + _("not valid YAML: {problem}").format(problem=said)
    detail = f"{pyyaml_words(context)}: {said}" if context else said
    return f"{place}: {plain} [YAML: {detail}]"


# what pydantic says of a value of the wrong kind, worded as pydantic words it
_PYDANTIC = Sentences(
    (
        (
            r"Input should be a valid number, unable to parse string as a number",
            N_("Input should be a valid number, unable to parse string as a number"),
        ),
        (r"Input should be a valid date", N_("Input should be a valid date")),
        (r"Input should be a valid string", N_("Input should be a valid string")),
        (
            r"Input should be a valid boolean, unable to interpret input",
            N_("Input should be a valid boolean, unable to interpret input"),
        ),
        (
            r"Input should be greater than (?P<least>\S+)",
            N_("Input should be greater than {least}"),
        ),
        (
            r"Input should be less than or equal to (?P<most>\S+)",
            N_("Input should be less than or equal to {most}"),
        ),
    ),
)


def pydantic_words(message: str) -> str:
    """Pydantic's message in the language shown, or as pydantic wrote it."""
    return _PYDANTIC.words(message)
