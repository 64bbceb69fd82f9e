"""Reading YAML with the place of every node, and reporting validation problems as
`file:line:column: message`.
"""

from __future__ import annotations

import difflib
import re
import types
from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, ValidationError
from pydantic_core import ErrorDetails

Positions = dict[tuple[Any, ...], tuple[int, int]]
"""(line, column) of every node by its path of keys and list indexes, both counted from 1."""

KEY_MARK = "\x00key"  # positions[(*path, KEY_MARK)] is where the key itself stands


class _Loader(yaml.SafeLoader):
    """YAML without the 1.1 surprises: `yes`/`no` stay words, `09:00` stays a time of day."""


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag not in ("tag:yaml.org,2002:bool",)]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:bool", re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
_Loader.add_implicit_resolver(
    "tag:yaml.org,2002:int",
    re.compile(r"^(?:[-+]?0b[0-1_]+|[-+]?0[0-7_]+|[-+]?(?:0|[1-9][0-9_]*)|[-+]?0x[0-9a-fA-F_]+)$"),
    list("-+0123456789"),
)
for _first in "0123456789":
    _Loader.yaml_implicit_resolvers[_first] = [
        (tag, regexp)
        for tag, regexp in _Loader.yaml_implicit_resolvers.get(_first, [])
        if not (
            tag == "tag:yaml.org,2002:int" and ":" in regexp.pattern and "0b" not in regexp.pattern
        )
        and not (tag == "tag:yaml.org,2002:float" and "[0-9][0-9_]*(?::" in regexp.pattern)
    ]


def _walk(
    node: yaml.Node,
    loader: _Loader,
    path: tuple[Any, ...],
    positions: Positions,
    problems: list[str],
    file: str,
) -> Any:
    positions[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
    if isinstance(node, yaml.MappingNode):
        result: dict[Any, Any] = {}
        for key_node, value_node in node.value:
            key = loader.construct_object(key_node)
            if key in result:
                line = key_node.start_mark.line + 1
                problems.append(
                    f"{file}:{line}:{key_node.start_mark.column + 1}: duplicate key {key!r}"
                )
                continue
            positions[(*path, key, KEY_MARK)] = (
                key_node.start_mark.line + 1,
                key_node.start_mark.column + 1,
            )
            result[key] = _walk(value_node, loader, (*path, key), positions, problems, file)
        return result
    if isinstance(node, yaml.SequenceNode):
        return [
            _walk(item, loader, (*path, index), positions, problems, file)
            for index, item in enumerate(node.value)
        ]
    return loader.construct_object(node)


def parse_yaml(text: str, file: str) -> tuple[Any, Positions, list[str]]:
    """YAML → plain values, the position of every node, and structural problems."""
    positions: Positions = {}
    problems: list[str] = []
    loader = _Loader(text)
    try:
        node = loader.get_single_node()
        if node is None:
            return None, positions, problems
        return _walk(node, loader, (), positions, problems, file), positions, problems
    except yaml.MarkedYAMLError as exc:
        mark = exc.problem_mark
        where = f"{file}:{mark.line + 1}:{mark.column + 1}" if mark else file
        problems.append(f"{where}: not valid YAML: {exc.problem}")
        return None, positions, problems
    finally:
        loader.dispose()


def where(file: str, positions: Positions, loc: Sequence[Any]) -> str:
    """`file:line:column` of the node at `loc`, or of its nearest parent that has a place."""
    line, column = _place(positions, tuple(loc))
    return f"{file}:{line}:{column}"


def _place(positions: Positions, loc: tuple[Any, ...]) -> tuple[int, int]:
    while loc and loc not in positions:
        loc = loc[:-1]
    return positions.get(loc, (1, 1))


def validation_problems(
    error: ValidationError,
    root: type[BaseModel],
    file: str,
    positions: Positions,
    nouns: Mapping[str, str] | None = None,
) -> list[str]:
    """Every error of validating `root` as `file:line:column: message`, by place, each once."""
    located: set[tuple[int, int, str]] = set()
    for details in error.errors():
        loc, holder = _untagged(root, tuple(details["loc"]))
        unknown_key = details["type"] == "extra_forbidden"
        line, column = _place(positions, (*loc, KEY_MARK) if unknown_key else loc)
        message = _describe(details, loc, holder, nouns or {})
        located.add((line, column, f"{file}:{line}:{column}: {message}"))
    return [message for _, _, message in sorted(located)]


def _choices(annotation: Any) -> list[Any]:
    """The types an annotation accepts: `Annotated` unwrapped, unions split, `None` left out."""
    origin = get_origin(annotation)
    if origin is Annotated:
        return _choices(get_args(annotation)[0])
    if origin in (Union, types.UnionType):
        return [choice for member in get_args(annotation) for choice in _choices(member)]
    return [] if annotation is type(None) else [annotation]


def _is_model(annotation: Any) -> bool:
    return isinstance(annotation, type) and issubclass(annotation, BaseModel)


def _field(model: type[BaseModel], key: Any) -> Any:
    """The annotation of the field written as `key` (its name or its alias), else None."""
    for name, info in model.model_fields.items():
        if key in (name, info.alias):
            return info.annotation
    return None


def _untagged(
    root: type[BaseModel], loc: tuple[Any, ...]
) -> tuple[tuple[Any, ...], type[BaseModel] | None]:
    """`loc` as written in the YAML, and the model that holds its last key.

    Through a union of two or more types pydantic adds the member it tried to the path
    (`since` becomes `since`, `datetime`); the YAML has no such key, so it is left out.
    """
    kept: list[Any] = []
    holder: type[BaseModel] | None = None
    annotation: Any = root
    for part in loc:
        choices = _choices(annotation)
        if len(choices) > 1:
            annotation = next((c for c in choices if _is_model(c) and part == c.__name__), None)
            continue
        kept.append(part)
        annotation = choices[0] if choices else None
        if _is_model(annotation):
            holder = annotation
            annotation = _field(annotation, part)
        elif get_origin(annotation) in (list, tuple, set, frozenset, Sequence):
            annotation = (get_args(annotation) or (None,))[0]
        elif get_origin(annotation) in (dict, Mapping):
            annotation = (get_args(annotation) or (None,))[-1]
        else:
            annotation = None
    return tuple(kept), holder


def _known_keys(model: type[BaseModel]) -> list[str]:
    return [field.alias or name for name, field in model.model_fields.items()]


def _describe(
    error: ErrorDetails,
    loc: tuple[Any, ...],
    holder: type[BaseModel] | None,
    nouns: Mapping[str, str],
) -> str:
    kind = error["type"]
    field = next((p for p in reversed(loc) if isinstance(p, str)), "value")
    value = error.get("input")
    if kind == "extra_forbidden":
        known = _known_keys(holder) if holder else []
        close = difflib.get_close_matches(str(field), known, n=1)
        hint = f"did you mean '{close[0]}'?" if close else f"known keys: {', '.join(known)}"
        return f"unknown key '{field}' ({hint})"
    if kind == "literal_error":
        expected = error.get("ctx", {}).get("expected", "").replace("'", "").replace(" or ", ", ")
        return f"unknown {nouns.get(field, field)} {value!r} ({expected})"
    if kind == "missing":
        return f"missing required key '{field}'"
    if kind == "greater_than_equal":
        return f"'{field}' must be {error['ctx']['ge']} or more, not {value!r}"
    if kind in ("int_type", "int_parsing", "int_from_float"):
        return f"'{field}' must be a whole number, not {value!r}"
    if kind == "string_pattern_mismatch":
        return f"'{field}' {value!r} may hold letters, digits, '-', '_' and '.'"
    if kind == "value_error":
        return str(error["msg"]).removeprefix("Value error, ")
    return f"'{field}': {error['msg']}"
