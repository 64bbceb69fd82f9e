"""JSON text made ahead, in pieces: a dry run's 200,000 deliveries written as they are made,
within the document `emit_json` writes around them."""

from __future__ import annotations

import json
from collections.abc import Iterable, Iterator
from itertools import chain
from typing import Any


class JSONText:
    """A value of a dict given to `emit_json` that is JSON text already (compact, as
    `json.dumps` writes it), in pieces made as they are written: none encoded again, and
    the text of 200,000 deliveries never held whole."""

    def __init__(self, pieces: Iterable[str]) -> None:
        self.pieces = pieces


def decoded(value: Any) -> Any:
    """A JSONText value read back (to be indented); any other as it is."""
    return json.loads("".join(value.pieces)) if isinstance(value, JSONText) else value


def compact(value: Any) -> Iterator[str]:
    """Compact JSON of `value` in pieces: the JSONText values of a dict as they come, between
    the rest encoded together."""

    def dumps(plain: Any) -> str:
        # a tree of plain values: no cycle to look for in 200,000 deliveries
        return json.dumps(plain, ensure_ascii=False, default=str, check_circular=False)

    if not isinstance(value, dict) or not any(isinstance(v, JSONText) for v in value.values()):
        yield dumps(value)
        return
    members: list[Iterable[str]] = []  # the pieces of each member, or of several together
    between: dict[Any, Any] = {}
    for key, item in value.items():
        if not isinstance(item, JSONText):
            between[key] = item
            continue
        if between:
            members.append([dumps(between)[1:-1]])
            between = {}
        members.append(chain([f"{dumps(str(key))}: "], item.pieces))
    if between:
        members.append([dumps(between)[1:-1]])
    yield "{"
    for index, member in enumerate(members):
        if index:
            yield ", "
        yield from member
    yield "}"


__all__ = ["JSONText", "compact", "decoded"]
