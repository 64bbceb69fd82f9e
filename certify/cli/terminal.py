"""What reaches a terminal or a cron mail: text without control characters from data.

A name or id from an export may hold an escape sequence (`ESC[31m`, a title change, a
cursor move) or a line break that would forge a line of output. Every plain line and every
string Rich renders passes through `printable`, which shows such characters as escapes
(`\\x1b`), as `--json` does; the line breaks and tabs certify writes itself stay.
"""

from __future__ import annotations

import re
from typing import TYPE_CHECKING, Any

if TYPE_CHECKING:
    from rich.console import Console
    from rich.text import Text

# C0 but line feed and tab, DEL, C1, the line and paragraph separators, and the bidi
# embeddings, overrides and isolates that make a line read otherwise than it is
_CONTROL = re.compile(r"[\x00-\x08\x0b-\x1f\x7f-\x9f\u2028\u2029\u202a-\u202e\u2066-\u2069]")


def _escape(match: re.Match[str]) -> str:
    code = ord(match[0])
    return f"\\x{code:02x}" if code < 0x100 else f"\\u{code:04x}"


def printable(text: str, *, one_line: bool = False) -> str:
    """`text` with every control character shown as an escape; with `one_line`, a line
    break too (a value inside a line never starts a new one)."""
    if text.isprintable() if one_line else text.replace("\n", "").replace("\t", "").isprintable():
        return text  # the usual case, at C speed
    text = _CONTROL.sub(_escape, text)
    if one_line:
        text = text.replace("\n", "\\n").replace("\t", "\\t")
    return text


def safe_console(*, stderr: bool = False) -> Console:
    """A Rich console whose strings (printed, or cells of a table) pass through `printable`."""
    from rich.console import Console

    class _SafeConsole(Console):
        def render_str(self, text: str, **options: Any) -> Text:
            return super().render_str(printable(text), **options)

    # without markup: a name or a server's reply such as `[internal error]` is data, shown
    # as it is, never taken for a style
    return _SafeConsole(stderr=stderr, soft_wrap=True, markup=False)
