"""The variable check: every variable, attribute and key a template refers to must exist in
the template context's description (`context.SCHEMA`). It works on the syntax tree, so a
misspelling in a branch that sample data would not take is still found."""

from __future__ import annotations

from collections.abc import Mapping
from typing import TYPE_CHECKING, Any

from certify.locale import _
from certify.render.context import OPEN, SCHEMA

if TYPE_CHECKING:
    from jinja2 import nodes
    from jinja2.sandbox import SandboxedEnvironment


def names_used(env: SandboxedEnvironment, source: str) -> frozenset[str]:
    """The names, attributes and constant keys a template uses; `*` when it indexes with a
    computed key (so that anything may be used)."""
    from jinja2 import TemplateSyntaxError, nodes

    try:
        tree = env.parse(source)
    except TemplateSyntaxError:
        return frozenset()
    used = {node.name for node in tree.find_all(nodes.Name)}
    used |= {node.attr for node in tree.find_all(nodes.Getattr)}
    for item in tree.find_all(nodes.Getitem):
        if isinstance(item.arg, nodes.Const) and isinstance(item.arg.value, str):
            used.add(item.arg.value)
        elif not isinstance(item.arg, nodes.Const):
            used.add("*")
    return frozenset(used)


def check_variables(
    env: SandboxedEnvironment, source: str, file: str, line_offset: int, globals_: Mapping[str, Any]
) -> list[str]:
    """Every variable and attribute a template refers to must exist in SCHEMA.

    Works on the syntax tree, so a misspelling inside an `{% if %}` branch that sample
    data would not take is still found.
    """
    from jinja2 import TemplateSyntaxError, meta, nodes

    try:
        tree = env.parse(source)
    except TemplateSyntaxError:
        return []
    problems: list[str] = []
    undeclared = meta.find_undeclared_variables(tree) - set(SCHEMA) - set(globals_)
    for name_node in tree.find_all(nodes.Name):
        if name_node.name in undeclared and name_node.ctx == "load":
            said = _unknown(name_node.name, ", ".join(SCHEMA))
            problems.append(f"{file}:{name_node.lineno + line_offset}: {said}")
            undeclared.discard(name_node.name)
    _Checker(file, line_offset, problems).visit(tree, {})
    return problems


def _unknown(name: str, known: str) -> str:
    return _("unknown variable '{name}' (known: {known})").format(name=name, known=known)


class _Checker:
    def __init__(self, file: str, line_offset: int, problems: list[str]) -> None:
        self.file = file
        self.line_offset = line_offset
        self.problems = problems

    def resolve(self, node: nodes.Node, scope: dict[str, Any]) -> Any:
        from jinja2 import nodes

        if isinstance(node, nodes.Name):
            if node.name in scope:
                return scope[node.name]
            return SCHEMA.get(node.name, OPEN)
        key: Any = None
        inner: nodes.Node | None = None
        if isinstance(node, nodes.Getattr):
            key, inner = node.attr, node.node
        elif isinstance(node, nodes.Getitem):
            inner = node.node
            if isinstance(node.arg, nodes.Const):
                key = node.arg.value
            else:
                self.visit(node.arg, scope)
        if inner is None:
            self.visit(node, scope)
            return OPEN
        base = self.resolve(inner, scope)
        if isinstance(base, list) and isinstance(key, int):
            return base[0]
        if isinstance(base, dict) and isinstance(key, str):
            if key not in base:
                path = _dotted(node)
                known = ", ".join(k for k in base)
                said = _unknown(path, known)
                self.problems.append(f"{self.file}:{node.lineno + self.line_offset}: {said}")
                return OPEN
            return base[key]
        return OPEN

    def visit(self, node: nodes.Node, scope: dict[str, Any]) -> None:
        from jinja2 import nodes

        if isinstance(node, nodes.Getattr | nodes.Getitem):
            self.resolve(node, scope)
            return
        if isinstance(node, nodes.For):
            iterable = self.resolve(node.iter, scope)
            inner = dict(scope)
            element = iterable[0] if isinstance(iterable, list) else OPEN
            for target in (
                node.target.find_all(nodes.Name)
                if not isinstance(node.target, nodes.Name)
                else [node.target]
            ):
                inner[target.name] = element if isinstance(node.target, nodes.Name) else OPEN
            inner["loop"] = OPEN
            for child in node.body:
                self.visit(child, inner)
            if node.test is not None:
                self.visit(node.test, inner)
            for child in node.else_:
                self.visit(child, scope)
            return
        if isinstance(node, nodes.Assign | nodes.AssignBlock):
            for target in node.target.find_all(nodes.Name):
                scope[target.name] = OPEN
            if isinstance(node.target, nodes.Name):
                scope[node.target.name] = OPEN
        if isinstance(node, nodes.Macro):
            inner = dict(scope)
            for arg in node.args:
                inner[arg.name] = OPEN
            for child in node.body:
                self.visit(child, inner)
            return
        for child in node.iter_child_nodes():
            self.visit(child, scope)


def _dotted(node: nodes.Node) -> str:
    from jinja2 import nodes

    if isinstance(node, nodes.Name):
        return node.name
    if isinstance(node, nodes.Getattr):
        return f"{_dotted(node.node)}.{node.attr}"
    if isinstance(node, nodes.Getitem) and isinstance(node.arg, nodes.Const):
        return f"{_dotted(node.node)}[{node.arg.value!r}]"
    return "…"


# -- the real context of a delivery ------------------------------------------------------------
