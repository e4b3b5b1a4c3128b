"""Request bodies: a parsed JSON value checked by the same specs as the YAML files.

``check_json(spec, data, what)`` turns the value into the kit's nodes (``from_json``) and
runs ``spec`` over them, raising ``ValidationError`` with the problems. Each names the
field it concerns (``'screen': expected text, found a number (3)``) instead of a line and
column, which a JSON body does not have. The
hub's request bodies (heartbeats, proof-of-play events) are checked this way, so a wrong
body gets one clear message and never a traceback.
"""

from __future__ import annotations

from dataclasses import dataclass, field
from typing import Any, TypeVar

from signage.errors import Problem, ValidationError
from signage.i18n import _
from signage.validation.located import MAX_DEPTH, YMap, YNode, YScalar, YSeq
from signage.validation.specs import Context, Invalid, Spec

__all__ = ["JsonContext", "check_json", "from_json"]

T = TypeVar("T")


class _TooDeep(ValueError):
    pass


def from_json(value: Any, paths: dict[int, str] | None = None) -> YNode:
    """The kit's nodes for a parsed JSON value (line and column 0: a body has no lines).

    ``paths``, when given, receives each node's field path (``'tags'[2]``,
    ``'errors'['x']``) by ``id(node)`` for messages. Raises ValueError past ``MAX_DEPTH``
    levels of nesting.
    """
    return _node(value, "", 0, paths if paths is not None else {})


def _node(value: Any, where: str, depth: int, paths: dict[int, str]) -> YNode:
    if depth > MAX_DEPTH:
        raise _TooDeep(f"nested more than {MAX_DEPTH} levels deep")
    node: YNode
    if isinstance(value, dict):
        items = []
        for key, inner in value.items():
            name = str(key)
            inner_where = f"{where}[{name!r}]" if where else repr(name)
            key_node = YScalar(name, name, 0, 0, quoted=True)
            paths[id(key_node)] = inner_where
            items.append((key_node, _node(inner, inner_where, depth + 1, paths)))
        node = YMap(tuple(items), 0, 0)
    elif isinstance(value, list | tuple):
        node = YSeq(
            tuple(_node(v, f"{where}[{i}]", depth + 1, paths) for i, v in enumerate(value)),
            0,
            0,
        )
    elif isinstance(value, str):
        node = YScalar(value, value, 0, 0, quoted=True)
    else:
        raw = (
            "null"
            if value is None
            else str(value).lower()
            if isinstance(value, bool)
            else repr(value)
        )
        node = YScalar(value, raw, 0, 0)
    paths[id(node)] = where
    return node


@dataclass
class JsonContext(Context):
    """A ``Context`` whose messages start with the field they concern (``'screen': ...``)."""

    paths: dict[int, str] = field(default_factory=dict)

    def error(self, node: YNode | None, message: str) -> Invalid:
        return super().error(node, self._named(node, message))

    def warn(self, node: YNode | None, message: str) -> None:
        super().warn(node, self._named(node, message))

    def _named(self, node: YNode | None, message: str) -> str:
        where = self.paths.get(id(node), "") if node is not None else ""
        return f"{where}: {message}" if where else message


def check_json(spec: Spec[T], data: Any, what: str) -> T:
    """The value of ``data`` per ``spec``; raises ``ValidationError`` with every problem
    (in the body's order, each message naming its field) when it does not pass."""
    ctx = JsonContext(path=what)
    try:
        node = from_json(data, ctx.paths)
    except _TooDeep as exc:
        raise ValidationError([Problem(what, 0, 0, str(exc))]) from None
    value = spec.convert(node, ctx)
    errors = [p for p in ctx.problems if p.severity == "error"]
    if isinstance(value, Invalid) or errors:
        raise ValidationError(
            errors or [Problem(what, 0, 0, _("{what} is not valid").format(what=what))]
        )
    return value
