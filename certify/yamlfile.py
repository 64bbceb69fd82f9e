"""Reading YAML with the place of every node, and reporting validation problems as
`file:line:column: message`.
"""

from __future__ import annotations

import re
import types
from collections.abc import Mapping, Sequence
from typing import Annotated, Any, Union, get_args, get_origin

import yaml
from pydantic import BaseModel, ConfigDict, ValidationError
from pydantic_core import ErrorDetails

from certify.errors import choice_meant, did_you_mean
from certify.locale import N_, _
from certify.locale.yamlsyntax import pydantic_words, pyyaml_words, syntax_problem

Positions = dict[tuple[Any, ...], tuple[int, int]]
"""(line, column) of every node by its path of keys and list indexes, both counted from 1."""

KEY_MARK = "\x00key"  # positions[(*path, KEY_MARK)] is where the key itself stands

MAX_NODES = 100_000
"""More values than any actions.yaml holds: aliases of aliases cannot blow up the reader."""

_BOOL = "tag:yaml.org,2002:bool"
_INT = "tag:yaml.org,2002:int"
_FLOAT = "tag:yaml.org,2002:float"
_MERGE = "tag:yaml.org,2002:merge"


class _Loader(yaml.SafeLoader):
    """YAML as administrators mean it: the YAML 1.2 core scalars, not YAML 1.1's.

    `yes`/`no`/`on`/`off` stay words; `9:00` and `17:30` stay times of day (1.1 read them
    as base-60 numbers, 540 and 1050); `017` is seventeen, not octal fifteen; `1.5` and
    `-1.5` are both numbers (1.1 via PyYAML made the first a string). Dates stay dates and
    `<<: *anchor` merges, as in PyYAML.
    """

    def construct_yaml_int(self, node: yaml.ScalarNode) -> int:
        """Decimal, `0x` hexadecimal or `0o` octal; a leading zero is just a zero."""
        text = str(self.construct_scalar(node)).replace("_", "")
        sign = -1 if text.startswith("-") else 1
        digits = text.lstrip("+-").lower()
        if digits.startswith("0x"):
            return sign * int(digits[2:], 16)
        if digits.startswith("0o"):
            return sign * int(digits[2:], 8)
        return sign * int(digits, 10)


_Loader.yaml_implicit_resolvers = {
    first: [(tag, regexp) for tag, regexp in resolvers if tag not in (_BOOL, _INT, _FLOAT)]
    for first, resolvers in yaml.SafeLoader.yaml_implicit_resolvers.items()
}
_Loader.add_implicit_resolver(
    _BOOL, re.compile(r"^(?:true|True|TRUE|false|False|FALSE)$"), list("tTfF")
)
# int before float: a resolver list is tried in order, and "1e3" is only a float
_Loader.add_implicit_resolver(
    _INT, re.compile(r"^(?:[-+]?[0-9]+|0o[0-7]+|0x[0-9a-fA-F]+)$"), list("-+0123456789")
)
_Loader.add_implicit_resolver(
    _FLOAT,
    re.compile(
        r"^(?:[-+]?(?:\.[0-9]+|[0-9]+\.[0-9]*)(?:[eE][-+]?[0-9]+)?"
        r"|[-+]?[0-9]+[eE][-+]?[0-9]+"
        r"|[-+]?\.(?:inf|Inf|INF)|\.(?:nan|NaN|NAN))$"
    ),
    list("-+.0123456789"),
)
_Loader.add_constructor(_INT, _Loader.construct_yaml_int)

_READS_AS = {
    "tag:yaml.org,2002:timestamp": N_("a date"),
    _INT: N_("a whole number"),
    _FLOAT: N_("a number"),
    _BOOL: N_("true or false"),
}


def _impossible_date(node: yaml.ScalarNode) -> str | None:
    """An impossible date (2026-02-30) said as the exports' dates are: PyYAML's is English."""
    if node.tag != "tag:yaml.org,2002:timestamp":
        return None
    from certify.clock import DateFormatError, parse_written

    try:
        parse_written(str(node.value))
    except DateFormatError as failure:
        return str(failure)
    return None


class _Walker:
    """Builds plain values from the node tree, noting the place of each and every problem."""

    def __init__(self, loader: _Loader, file: str, positions: Positions) -> None:
        self.loader = loader
        self.file = file
        self.positions = positions
        self.problems: list[str] = []
        self.visited = 0
        self.active: set[int] = set()  # nodes being built: an alias to one of them is a loop

    def at(self, node: yaml.Node) -> str:
        return f"{self.file}:{node.start_mark.line + 1}:{node.start_mark.column + 1}"

    def walk(self, node: yaml.Node, path: tuple[Any, ...], positions: Positions) -> Any:
        positions[path] = (node.start_mark.line + 1, node.start_mark.column + 1)
        self.visited += 1
        if self.visited > MAX_NODES:
            said = _("more than {count} values (aliases of aliases?)").format(count=MAX_NODES)
            raise _TooBig(f"{self.at(node)}: {said}")
        if isinstance(node, yaml.ScalarNode):
            return self.scalar(node)
        if id(node) in self.active:
            said = _("an alias refers to a node that contains it")
            self.problems.append(f"{self.at(node)}: {said}")
            return None
        self.active.add(id(node))
        try:
            if isinstance(node, yaml.SequenceNode):
                return [
                    self.walk(item, (*path, index), positions)
                    for index, item in enumerate(node.value)
                ]
            assert isinstance(node, yaml.MappingNode)  # the third and last kind of node
            return self.mapping(node, path, positions)
        finally:
            self.active.discard(id(node))

    def scalar(self, node: yaml.ScalarNode) -> Any:
        try:
            return self.loader.construct_object(node)
        except yaml.MarkedYAMLError as exc:  # an unknown tag such as !!python/object
            said = _("not valid YAML: {problem}").format(problem=pyyaml_words(exc.problem or ""))
            self.problems.append(f"{self.at(node)}: {said}")
        except (ValueError, TypeError, AttributeError, OverflowError) as exc:
            kind = _READS_AS.get(node.tag)
            said = _impossible_date(node) or _("cannot read {value} as {kind} ({reason})").format(
                value=repr(node.value),
                kind=_(kind) if kind else repr(node.tag.rsplit(":", 1)[-1]),
                reason=exc,
            )
            self.problems.append(f"{self.at(node)}: {said}")
        return None

    def key(self, node: yaml.Node) -> tuple[bool, Any]:
        """(usable, key): a key is one scalar; a list or mapping as key is a problem."""
        if not isinstance(node, yaml.ScalarNode):
            said = (
                _("a key must be a single word, not a list")
                if isinstance(node, yaml.SequenceNode)
                else _("a key must be a single word, not a mapping")
            )
            self.problems.append(f"{self.at(node)}: {said}")
            return False, None
        problems_before = len(self.problems)
        key = self.scalar(node)
        return len(self.problems) == problems_before, key

    def mapping(self, node: yaml.MappingNode, path: tuple[Any, ...], positions: Positions) -> Any:
        own: list[tuple[yaml.Node, yaml.Node]] = []
        sources: list[yaml.Node] = []
        merge_keys = 0
        for key_node, value_node in node.value:
            if key_node.tag != _MERGE:
                own.append((key_node, value_node))
            elif merge_keys:
                said = _("duplicate key '<<' (merge several: `<<: [*a, *b]`)")
                self.problems.append(f"{self.at(key_node)}: {said}")
            else:
                merge_keys += 1
                sources = self.merge_sources(value_node)
        result: dict[Any, Any] = {}
        written: set[Any] = set()
        for key_node, value_node in own:
            usable, key = self.key(key_node)
            if not usable:
                continue
            if key in written:
                duplicate = _("duplicate key {key}").format(key=repr(key))
                self.problems.append(f"{self.at(key_node)}: {duplicate}")
                continue
            written.add(key)
            key_place = (key_node.start_mark.line + 1, key_node.start_mark.column + 1)
            positions[(*path, key, KEY_MARK)] = key_place
            result[key] = self.walk(value_node, (*path, key), positions)
        # `<<: *base` fills in the keys not written here; of several bases the first wins.
        # Their places stay where the base is written, which is where a fix goes.
        for source in sources:
            merged_positions: Positions = {}
            merged = self.walk(source, path, merged_positions)
            if not isinstance(merged, dict):  # a base that merges itself: said by walk
                continue
            for key, value in merged.items():
                if key not in result:
                    result[key] = value
            for place_path, place in merged_positions.items():
                if len(place_path) > len(path) and place_path[len(path)] not in written:
                    positions.setdefault(place_path, place)
        return result

    def merge_sources(self, node: yaml.Node) -> list[yaml.Node]:
        """The mappings a merge key names: one (`<<: *base`) or a list (`<<: [*a, *b]`)."""
        candidates = node.value if isinstance(node, yaml.SequenceNode) else [node]
        if all(isinstance(c, yaml.MappingNode) for c in candidates):
            return list(candidates)
        said = _("'<<' merges a mapping (`<<: *base`) or a list of them (`<<: [*a, *b]`)")
        self.problems.append(f"{self.at(node)}: {said}")
        return []


class _TooBig(Exception):
    pass


def parse_yaml(text: str, file: str) -> tuple[Any, Positions, list[str]]:
    """YAML → plain values, the position of every node, and structural problems.

    Never raises for what a file holds: every problem is returned as `file:line:col: ...`.
    """
    positions: Positions = {}
    try:
        loader = _Loader(text)
    except yaml.reader.ReaderError as exc:  # a control character, found before parsing
        return None, positions, [f"{_offset_place(text, file, exc.position)}: {_reader(exc)}"]
    try:
        node = loader.get_single_node()
        if node is None:
            return None, positions, []
        walker = _Walker(loader, file, positions)
        data = walker.walk(node, (), positions)
        return data, positions, walker.problems
    except yaml.MarkedYAMLError as exc:
        return None, positions, [syntax_problem(exc, text, file)]
    except yaml.reader.ReaderError as exc:
        return None, positions, [f"{_offset_place(text, file, exc.position)}: {_reader(exc)}"]
    except _TooBig as exc:
        return None, positions, [str(exc)]
    except RecursionError:
        said = _("not valid YAML: {problem}").format(problem=_("nested too deeply"))
        return None, positions, [f"{file}:1:1: {said}"]
    except yaml.YAMLError as exc:
        said = _("not valid YAML: {problem}").format(problem=exc)
        return None, positions, [f"{file}:1:1: {said}"]
    finally:
        loader.dispose()


def _offset_place(text: str, file: str, offset: int) -> str:
    line = text.count("\n", 0, offset) + 1
    column = offset - (text.rfind("\n", 0, offset) + 1) + 1
    return f"{file}:{line}:{column}"


def _reader(exc: yaml.reader.ReaderError) -> str:
    character = exc.character
    shown = f"U+{character:04X}" if isinstance(character, int) else repr(character)
    return _("not valid YAML: control character {character} is not allowed; remove it").format(
        character=shown
    )


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
        message = _describe(details, loc, holder, nouns or {}, root)
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
    root: type[BaseModel] | None = None,
) -> str:
    kind = error["type"]
    field = next((p for p in reversed(loc) if isinstance(p, str)), "value")
    value = error.get("input")
    if kind == "extra_forbidden":
        known = _known_keys(holder) if holder else []
        hint = did_you_mean(str(field), known, lead="") or _("known keys: {keys}").format(
            keys=", ".join(known)
        )
        return _("unknown key '{key}' ({hint})").format(key=field, hint=hint)
    if kind == "literal_error":
        expected = error.get("ctx", {}).get("expected", "").replace("'", "").replace(" or ", ", ")
        said = _("unknown {noun} {value} ({expected})").format(
            noun=nouns.get(field, field), value=repr(value), expected=expected
        )
        return said + choice_meant(str(value), expected.split(", "))
    if kind == "missing":
        return _("missing required key '{key}'").format(key=field)
    if kind == "greater_than_equal":
        return _("'{key}' must be {least} or more, not {value}").format(
            key=field, least=error["ctx"]["ge"], value=repr(value)
        )
    if kind in ("int_type", "int_parsing", "int_from_float"):
        return _("'{key}' must be a whole number, not {value}").format(key=field, value=repr(value))
    if kind == "string_pattern_mismatch":
        return _("'{key}' {value} may hold letters, digits, '-', '_' and '.'").format(
            key=field, value=repr(value)
        )
    if kind == "value_error":
        return str(error["msg"]).removeprefix("Value error, ")
    if kind in ("model_type", "model_attributes_type", "dict_type"):
        return _mapping_expected(field, loc, value, _model_named(root, error.get("ctx", {})))
    if kind == "list_type":
        return _("'{key}' is a list, one entry per line starting with '- ', not {value}").format(
            key=field, value=repr(value)
        )
    return f"'{field}': {pydantic_words(str(error['msg']))}"


def _model_named(root: type[BaseModel] | None, ctx: Mapping[str, Any]) -> type[BaseModel] | None:
    """The model among `root`'s fields (at any depth) that pydantic names in `ctx`."""
    name = ctx.get("class_name")
    seen: set[type[BaseModel]] = set()
    todo = [root] if root is not None else []
    while todo:
        model = todo.pop()
        if model in seen:
            continue
        seen.add(model)
        if model.__name__ == name:
            return model
        for info in model.model_fields.values():
            for choice in _choices(info.annotation):
                inner = get_args(choice) if get_origin(choice) in (list, dict) else (choice,)
                todo.extend(c for c in inner if _is_model(c))
    return None


def _mapping_expected(
    field: str, loc: tuple[Any, ...], value: Any, model: type[BaseModel] | None
) -> str:
    """A text where keys belong, in the words of the file: which keys, and how to write it."""
    keys = _known_keys(model) if model else []
    first = keys[0] if keys else "key"
    shown = f"{value!r}" if not isinstance(value, list) else _("a list")
    if isinstance(loc[-1], int):  # an entry of a list, such as one of a layout's lines
        return _(
            "each entry of '{key}' is a mapping with the keys {keys}: "
            'write - {{{first}: "..."}}, not {shown}'
        ).format(key=field, keys=", ".join(keys), first=first, shown=shown)
    return _(
        "'{key}' is a mapping with the keys {keys}, each on its own indented "
        "line ({key}:, then   {first}: ...), not {shown}"
    ).format(key=field, keys=", ".join(keys), first=first, shown=shown)


class Strict(BaseModel):
    """A section of a YAML file read into a model: unknown keys are errors, values frozen."""

    model_config = ConfigDict(extra="forbid", frozen=True, populate_by_name=True)
