"""Reading YAML with the place of every node, and reporting validation problems as `file:line:column: message`."""

from __future__ import annotations

import re
from typing import Any

import yaml

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
