"""Mistakes on the command line (`certify statuss`, a missing argument, an option without
its value) told in the administrator's language.

Typer's Click writes these sentences in English, without gettext: each is recognised by
its wording and said again from our catalogue, and what Click put in it (an option, a
command, the value typed) is kept as it was. A sentence not recognised stays as Click wrote
it. The help pages stay English, as the help texts do.
"""

from __future__ import annotations

import re
from typing import IO, Any

import typer.core
from typer._click import exceptions
from typer._click._compat import get_text_stderr
from typer._click.utils import echo

from certify.locale import N_, _
from certify.locale.sentences import Sentences

# Click's sentence → ours; the names in a pattern's groups are the placeholders of the text
_SENTENCES = Sentences(
    (
        (r"No such command (?P<name>.+)\.", N_("No such command {name}.")),
        (r"Missing command\.", N_("Missing command.")),
        (r"No such option: (?P<option>\S+)", N_("No such option: {option}")),
        (
            r"No such option: (?P<option>\S+) \(Possible options: (?P<options>.+)\)",
            N_("No such option: {option} (did you mean {options}?)"),
        ),
        (r"Missing argument (?P<name>.+)\.", N_("Missing argument {name}.")),
        (
            r"Missing option (?P<name>.+?)\. Choose from:(?P<choices>.+)",
            N_("Missing option {name}. Choose from:{choices}"),
        ),
        (r"Missing option (?P<name>.+)\.", N_("Missing option {name}.")),
        (r"Missing parameter (?P<name>.+)\.", N_("Missing parameter {name}.")),
        (
            r"Option (?P<option>'.+') requires an argument\.",
            N_("Option {option} needs a value."),
        ),
        (
            r"Option (?P<option>'.+') requires (?P<count>\d+) arguments\.",
            N_("Option {option} needs {count} values."),
        ),
        (
            r"Option (?P<option>'.+') does not take a value\.",
            N_("Option {option} does not take a value."),
        ),
        (
            r"Argument (?P<name>'.+') takes (?P<count>\d+) values\.",
            N_("Argument {name} takes {count} values."),
        ),
        (
            r"Got unexpected extra argument(?:s|\(s\))? \((?P<arguments>.*)\)",
            N_("Unexpected extra argument ({arguments}): this command does not take it"),
        ),
        (
            r"Invalid value for (?P<option>.+?): (?P<problem>.*)",
            N_("Invalid value for {option}: {problem}"),
        ),
        (r"Invalid value: (?P<problem>.*)", N_("Invalid value: {problem}")),
    ),
    re.S,
)


# what a value that cannot be read is told (pydantic's words, through Typer)
_PROBLEMS = Sentences(
    (
        (
            r"Input should be a valid integer.*",
            N_("a whole number is needed here"),
        ),
        (r"Input should be a valid number.*", N_("a number is needed here")),
        (r"Input should be a valid boolean.*", N_("true or false is needed here")),
        (
            r"Input should be greater than or equal to (?P<least>\S+)",
            N_("it must be {least} or more"),
        ),
        (
            r"Input should be greater than (?P<least>\S+)",
            N_("it must be more than {least}"),
        ),
        (
            r"(?:Value error, )?(?P<value>'.*') is not one of (?P<choices>.+)\.",
            N_("{value} is not one of {choices}"),
        ),
    ),
    re.S,
)


# of the texts Typer passes through gettext, the one shown outside a usage error; its help
# words ("Options", "default") are left alone, so --help stays English
_TYPER_TEXTS = {"Aborted!": N_("Aborted!")}
_DID_YOU_MEAN = re.compile(r"(?P<said>.*?)\.? Did you mean (?P<suggestions>.+)\?", re.S)


def _typer_text(message: str) -> str:
    return _(_TYPER_TEXTS[message]) if message in _TYPER_TEXTS else message


def sentence(message: str) -> str:
    """Click's message in our words, or as Click wrote it when it is not one we know."""
    suggestion = ""
    found = _DID_YOU_MEAN.fullmatch(message)
    if found:
        message = found["said"] + "."
        suggestion = " " + _("Did you mean {suggestions}?").format(suggestions=found["suggestions"])
    said = _SENTENCES.say(message)
    if said is None:
        return message + suggestion
    problem = re.fullmatch(r"Invalid value(?: for .+?)?: (?P<problem>.*)", message, re.S)
    if problem:
        plain = _PROBLEMS.say(problem["problem"])
        if plain is not None:
            said = said.replace(problem["problem"], plain)
    return said + suggestion


def _show(self: exceptions.UsageError, file: IO[Any] | None = None) -> None:
    """Click's usage error: its usage line, where to find help, and the mistake."""
    stream = file or get_text_stderr()
    color = self.ctx.color if self.ctx is not None else None
    if self.ctx is not None:
        usage = self.ctx.get_usage()
        usage = _("Usage: {usage}").format(usage=usage.removeprefix("Usage: "))
        hint = ""
        if self.ctx.command.get_help_option(self.ctx) is not None:
            hint = _("Try '{command}' for help.").format(
                command=f"{self.ctx.command_path} {self.ctx.help_option_names[0]}"
            )
            hint += "\n"
        echo(f"{usage}\n{hint}", file=stream, color=color)
    echo(_("Error: {message}").format(message=sentence(self.format_message())), file=stream)


def install() -> None:
    """Click's and Typer's mistakes read in the language chosen (English by default)."""
    exceptions.UsageError.show = _show  # type: ignore[method-assign]
    typer.core._ = _typer_text  # type: ignore[attr-defined]
