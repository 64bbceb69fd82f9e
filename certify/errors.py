"""Exceptions that the command line maps to messages and exit codes (see the README), and
the one that fails a single delivery whose certificate cannot be drawn."""

from __future__ import annotations

import difflib
import errno
from collections.abc import Mapping, Sequence

from certify.locale import N_, _

EXIT_OK = 0
EXIT_INPUT = 1
EXIT_USAGE = 2
EXIT_NOT_ACCEPTED = 3
EXIT_LOCKED = 75


class CertifyError(Exception):
    """A problem the user can fix; never shown with a traceback."""

    exit_code = EXIT_INPUT

    def __init__(
        self, message: str, *, hint: str | None = None, details: Sequence[str] = ()
    ) -> None:
        super().__init__(message)
        self.message = message
        self.hint = hint
        self.details = list(details)  # lines under the message, such as the files it names


class LocatedErrors(CertifyError):
    """Every problem found in one pass over some input, each as `file:line: message`."""

    def __init__(
        self,
        what: str,
        problems: Sequence[str],
        *,
        total: int | None = None,
        hint: str | None = None,
    ) -> None:
        self.problems = list(problems)
        self.total = total if total is not None else len(self.problems)
        from certify.locale import ngettext

        counted = ngettext("{count} problem", "{count} problems", self.total)
        super().__init__(f"{what}: {counted.format(count=self.total)}", hint=hint)


class ConfigError(LocatedErrors):
    """actions.yaml or a template is wrong."""


class ImportFailed(LocatedErrors):
    """A CSV import found errors; nothing was changed."""


class UsageError(CertifyError):
    exit_code = EXIT_USAGE


class LockedError(CertifyError):
    exit_code = EXIT_LOCKED


class TransportConfigError(CertifyError):
    """A fault that would fail every delivery (bad password, TLS, unreachable config)."""


class MissingGlyphs(ValueError):
    """A text that no font of the layout can draw: a fault of one person's data."""

    # It fails that one delivery and no other. `problems` are `file:line: message` lines,
    # one per text; `characters` are the characters no font draws, each once.

    def __init__(self, problems: list[str], characters: list[str]) -> None:
        super().__init__("; ".join(problems))
        self.problems = problems
        self.characters = characters


def did_you_mean(wanted: str, known: Sequence[str] | Mapping[str, str], *, lead: str = "; ") -> str:
    """`; did you mean 'VCA-2611'?` when `wanted` looks like a typo of one of `known`.

    Of a mapping the keys are compared and the value is named (a value as compared, say
    case-folded, to the value as written).
    """
    close = difflib.get_close_matches(wanted, list(known), n=1)
    if not close:
        return ""
    meant = known[close[0]] if isinstance(known, Mapping) else close[0]
    from certify.locale import _

    return lead + _("did you mean {name}?").format(name=repr(meant))


# Dutch words an administrator writes where actions.yaml takes an English one
_DUTCH_CHOICES = {
    "uur": "hours",
    "uren": "hours",
    "dag": "days",
    "dagen": "days",
    "week": "weeks",
    "weken": "weeks",
    "maand": "months",
    "maanden": "months",
    "jaar": "years",
    "jaren": "years",
    "automatisch": "automatic",
    "handmatig": "manual",
}


def choice_meant(written: str, choices: Sequence[str]) -> str:
    """`; did you mean 'days'?` for `dagen` or `dyas` among `choices`, else ''."""
    meant = _DUTCH_CHOICES.get(written.strip().casefold())
    if meant is not None and meant in choices:
        return did_you_mean(meant, [meant])
    return did_you_mean(written, choices)


# the operating system's own words for what goes wrong with a file or a connection, which it
# says in English whatever the language
_OS_REASONS = {
    errno.ENOENT: N_("No such file or directory"),
    errno.EACCES: N_("Permission denied"),
    errno.EPERM: N_("Operation not permitted"),
    errno.EISDIR: N_("Is a directory"),
    errno.ENOTDIR: N_("Not a directory"),
    errno.ENOSPC: N_("No space left on device"),
    errno.EROFS: N_("Read-only file system"),
    errno.EEXIST: N_("File exists"),
    errno.ENOTEMPTY: N_("Directory not empty"),
    errno.ENETUNREACH: N_("Network is unreachable"),
    errno.EHOSTUNREACH: N_("No route to host"),
}


def os_reason(exc: OSError) -> str:
    """What the operating system says went wrong, in the language shown when it is a reason
    we know (`No such file or directory`), else in its own words."""
    if exc.errno in _OS_REASONS and exc.strerror:
        return _(_OS_REASONS[exc.errno])
    return str(exc.strerror or exc)
