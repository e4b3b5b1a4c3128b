"""The hardened YAML reader: text to a tree of located nodes, hostile input to messages.

Reads one YAML document into ``YMap`` / ``YSeq`` / ``YScalar`` nodes that remember their
1-based line and column, so every later message can say ``path:line:col``. It never raises
on bad input; it returns ``(None, problems)`` instead. Refused outright, with a message:

- files over ``MAX_BYTES`` (1 MB), binary files (NUL bytes), text that is not UTF-8;
- anchors and aliases (``&name`` / ``*name``): they are how "billion laughs" bombs are
  built, and a playlist has ``defaults:`` for shared values;
- nesting deeper than ``MAX_DEPTH`` levels;
- more than one document in a file, tags other than YAML's standard ones.

Duplicate keys in a mapping are reported (YAML would silently keep the last one). The tree
is built from the parser's event stream with an explicit stack, so no input can exhaust
Python's recursion limit.
"""

from __future__ import annotations

from dataclasses import dataclass
from datetime import date, datetime
from pathlib import Path
from typing import Any, cast

import yaml

from signage.errors import Problem
from signage.i18n import _

MAX_BYTES = 1_000_000
MAX_DEPTH = 50


@dataclass(frozen=True, slots=True)
class YScalar:
    """A scalar as written: ``value`` as YAML typed it, ``raw`` the exact text.

    ``quoted`` is true for ``'...'`` and ``"..."`` scalars (always strings).
    """

    value: object
    raw: str
    line: int
    col: int
    quoted: bool = False


@dataclass(frozen=True, slots=True)
class YSeq:
    """A YAML list; ``items`` in file order."""

    items: tuple[YNode, ...]
    line: int
    col: int


@dataclass(frozen=True, slots=True)
class YMap:
    """A YAML mapping; keys are the scalars' raw text (``on:`` stays ``"on"``), in file order."""

    items: tuple[tuple[YScalar, YNode], ...]
    line: int
    col: int

    def get(self, key: str) -> YNode | None:
        for k, v in self.items:
            if k.raw == key:
                return v
        return None

    def key_node(self, key: str) -> YScalar | None:
        for k, _value in self.items:
            if k.raw == key:
                return k
        return None

    def keys(self) -> tuple[str, ...]:
        return tuple(k.raw for k, _ in self.items)


YNode = YScalar | YMap | YSeq


def kind_of(node: YNode) -> str:
    """How a node reads to a user: ``a list``, ``a mapping``, ``a number``, ``text``..."""
    if isinstance(node, YMap):
        return _("a mapping")
    if isinstance(node, YSeq):
        return _("a list")
    value = node.value
    if value is None:
        return _("nothing (null)")
    if isinstance(value, bool):
        return _("true/false ({raw})").format(raw=node.raw)
    if isinstance(value, int | float):
        return _("a number ({raw})").format(raw=node.raw)
    if isinstance(value, str):
        return _("text ({raw})").format(raw=repr(_clip(node.raw)))
    if isinstance(value, datetime):
        return _("a date and time ({raw})").format(raw=node.raw)
    if isinstance(value, date):
        return _("a date ({raw})").format(raw=node.raw)
    return f"{type(value).__name__} ({_clip(node.raw)})"


def _clip(text: str, limit: int = 40) -> str:
    return text if len(text) <= limit else text[: limit - 1] + "…"


class _Frame:
    __slots__ = ("col", "is_map", "items", "key", "line", "seen")

    def __init__(self, is_map: bool, line: int, col: int) -> None:
        self.is_map = is_map
        self.line = line
        self.col = col
        self.items: list[Any] = []
        self.key: YScalar | None = None
        self.seen: dict[str, int] = {}


def too_big(size: int) -> str:
    """The message for a file of ``size`` bytes over ``MAX_BYTES``."""
    return _(
        "file is {size:,} bytes; playlists are limited to {limit:,} bytes "
        "(put pictures and videos in assets/, not in the YAML)"
    ).format(size=size, limit=MAX_BYTES)


def _decode(data: bytes, where: str) -> tuple[str | None, list[Problem]]:
    if len(data) > MAX_BYTES:
        return None, [
            Problem(
                where,
                0,
                0,
                too_big(len(data)),
            )
        ]
    if b"\x00" in data:
        return None, [
            Problem(where, 0, 0, _("this is a binary file, not YAML text (it contains NUL bytes)"))
        ]
    try:
        text = data.decode("utf-8")
    except UnicodeDecodeError as exc:
        line = data[: exc.start].count(b"\n") + 1
        col = exc.start - (data.rfind(b"\n", 0, exc.start) + 1) + 1
        return None, [
            Problem(
                where,
                line,
                col,
                _("not UTF-8 text (byte 0x{byte:02x}); save the file as UTF-8").format(
                    byte=data[exc.start]
                ),
            )
        ]
    return text.removeprefix("\ufeff"), []


def _syntax_problem(exc: yaml.YAMLError, where: str, text: str) -> Problem:
    mark = getattr(exc, "problem_mark", None) or getattr(exc, "context_mark", None)
    problem = getattr(exc, "problem", None)
    context = getattr(exc, "context", None)
    if isinstance(exc, yaml.reader.ReaderError):
        before = text[: exc.position]
        line = before.count("\n") + 1
        col = exc.position - (before.rfind("\n") + 1) + 1
        return Problem(
            where,
            line,
            col,
            _(
                "YAML cannot read character #x{code:04x} (a control character, not "
                "printable text); delete it"
            ).format(code=exc.character),
        )
    message = " ".join(str(p) for p in (context, problem) if p) or str(exc).splitlines()[0]
    line, col = _mark_pos(mark)
    if "nesting depth" in message:  # libyaml's own limit, met while it scans ahead
        return Problem(where, line, col, _too_deep())
    tab = _first_indent_tab(text, line)
    if tab is not None or "\\t" in message or "tab" in message.lower():
        tab_line, tab_col = tab if tab is not None else (line, col)
        return Problem(
            where,
            tab_line,
            tab_col,
            _("use spaces, not tabs, to indent: line {line}").format(line=tab_line),
        )
    if "mapping values are not allowed" in message:
        value = _line_value(text, line)
        return Problem(
            where,
            line,
            col,
            _(
                "a ':' followed by a space inside a value starts a new key; "
                "put the whole value in quotes: {example}"
            ).format(example=value),
        )
    hint = ""
    if "expected <block end>" in message:
        hint = _(" (check the indentation of this line against the lines above it)")
    return Problem(where, line, col, _("YAML syntax: {message}").format(message=message) + hint)


def _first_indent_tab(text: str, line: int) -> tuple[int, int] | None:
    """The first tab in the indentation of a line up to ``line`` (YAML may stop later, at
    what it cannot read), or ``None``."""
    for number, content in enumerate(text.splitlines(), start=1):
        indent = content[: len(content) - len(content.lstrip(" \t"))]
        if "\t" in indent:
            return number, indent.index("\t") + 1
        if number >= line:
            break
    return None


def _line_value(text: str, line: int) -> str:
    """``key: "the rest"``: the line YAML stopped on, its value put in quotes."""
    lines = text.splitlines()
    content = lines[line - 1].strip() if 0 < line <= len(lines) else ""
    content = content.removeprefix("- ")
    key, sep, rest = content.partition(": ")
    if not sep:
        return '"…"'
    rest = rest.strip().replace('"', '\\"')
    return _clip(f'{key}: "{rest}"', 80)


def _too_deep() -> str:
    return _("nested deeper than {limit} levels; a playlist is never that deep").format(
        limit=MAX_DEPTH
    )


def _mark_pos(mark: Any) -> tuple[int, int]:
    return (mark.line + 1, mark.column + 1) if mark is not None else (0, 0)


_STD = "tag:yaml.org,2002:"
_SCALAR_TAGS = frozenset(
    _STD + name for name in ("str", "int", "float", "bool", "null", "timestamp", "binary")
)
_COLLECTION_TAGS = frozenset({_STD + "map", _STD + "seq", _STD + "omap"})


def _pos(event: yaml.Event) -> tuple[int, int]:
    mark = event.start_mark
    return (mark.line + 1, mark.column + 1) if mark is not None else (0, 0)


class _Typer:
    """Gives scalars their YAML type (int, bool, date...), with one resolver per document."""

    __slots__ = ("constructor", "resolver")

    def __init__(self) -> None:
        self.resolver = yaml.resolver.Resolver()
        self.constructor = yaml.constructor.SafeConstructor()

    def scalar(self, event: yaml.ScalarEvent, where: str, problems: list[Problem]) -> YScalar:
        line, col = _pos(event)
        quoted = event.style in ("'", '"')
        tag = event.tag
        if tag is not None and tag != "!" and tag not in _SCALAR_TAGS:
            problems.append(
                Problem(
                    where, line, col, _("unsupported YAML tag {tag}; remove it").format(tag=tag)
                )
            )
            return YScalar(event.value, event.value, line, col, quoted)
        if tag is None and quoted:
            return YScalar(event.value, event.value, line, col, quoted)  # always a string
        if tag in (None, "!"):
            tag = cast(
                str,
                self.resolver.resolve(yaml.ScalarNode, event.value, event.implicit),  # type: ignore[no-untyped-call]  # PyYAML's resolver is untyped
            )
        if tag == _STD + "str":
            return YScalar(event.value, event.value, line, col, quoted)
        if tag == _STD + "int" and event.value.isdigit():
            return YScalar(int(event.value), event.value, line, col, quoted)  # the common case
        node = yaml.ScalarNode(tag, event.value, None, None, event.style)
        try:
            value = self.constructor.construct_object(node, deep=True)
        except (yaml.YAMLError, ValueError, TypeError, OverflowError):
            value = event.value  # e.g. 2027-13-45: left as text, the field reports it
        return YScalar(value, event.value, line, col, quoted)


# libyaml's parser when PyYAML was built with it (same events and marks, much faster)
_PARSER_LOADER: Any = getattr(yaml, "CSafeLoader", yaml.SafeLoader)


def load_yaml_located(
    source: Path | str | bytes, display_path: str
) -> tuple[YNode | None, list[Problem]]:
    """Reads one YAML document into located nodes; never raises on bad input.

    Args:
        source: a file to read, or the document's text (``str``) or bytes.
        display_path: the path shown in problems (as the user would type it).

    Returns:
        The root node (``None`` when the file could not be read at all) and every problem
        found. Problems that do not stop reading (duplicate keys) come with a tree.
    """
    where = display_path
    if isinstance(source, Path):
        try:
            size = source.stat().st_size
            if size > MAX_BYTES:
                return None, [
                    Problem(
                        where,
                        0,
                        0,
                        too_big(size),
                    )
                ]
            data = source.read_bytes()
        except OSError as exc:
            return None, [
                Problem(
                    where,
                    0,
                    0,
                    _("cannot read the file: {reason}").format(reason=exc.strerror or exc),
                )
            ]
    elif isinstance(source, str):
        data = source.encode("utf-8", errors="surrogatepass")
    else:
        data = source
    text, problems = _decode(data, where)
    if text is None:
        return None, problems

    stack: list[_Frame] = []
    typer = _Typer()
    root: YNode | None = None
    documents = 0
    try:
        for event in yaml.parse(text, Loader=_PARSER_LOADER):
            if isinstance(event, yaml.DocumentStartEvent):
                documents += 1
                if documents > 1:
                    problems.append(
                        Problem(
                            where,
                            *_pos(event),
                            _(
                                "a second YAML document ('---') in one file; "
                                "put one playlist per file"
                            ),
                        )
                    )
                    return None, problems
                continue
            if isinstance(event, yaml.AliasEvent) or (
                isinstance(event, yaml.NodeEvent) and event.anchor is not None
            ):
                problems.append(
                    Problem(
                        where,
                        *_pos(event),
                        _(
                            "YAML anchors and aliases (&name, *name) are not accepted; "
                            "write the value out, or use 'defaults:' for shared values"
                        ),
                    )
                )
                return None, problems
            node: YNode | None = None
            if isinstance(event, yaml.MappingStartEvent | yaml.SequenceStartEvent):
                if event.tag is not None and event.tag not in _COLLECTION_TAGS:
                    problems.append(
                        Problem(
                            where,
                            *_pos(event),
                            _("unsupported YAML tag {tag}; remove it").format(tag=event.tag),
                        )
                    )
                    return None, problems
                if len(stack) >= MAX_DEPTH:
                    problems.append(
                        Problem(
                            where,
                            *_pos(event),
                            _too_deep(),
                        )
                    )
                    return None, problems
                stack.append(_Frame(isinstance(event, yaml.MappingStartEvent), *_pos(event)))
                continue
            if isinstance(event, yaml.MappingEndEvent | yaml.SequenceEndEvent):
                frame = stack.pop()
                if frame.is_map:
                    node = YMap(tuple(frame.items), frame.line, frame.col)
                else:
                    node = YSeq(tuple(frame.items), frame.line, frame.col)
            elif isinstance(event, yaml.ScalarEvent):
                node = typer.scalar(event, where, problems)
            if node is None:
                continue
            if not stack:
                root = node
                continue
            top = stack[-1]
            if not top.is_map:
                top.items.append(node)
            elif top.key is None:
                if not isinstance(node, YScalar):
                    problems.append(
                        Problem(
                            where,
                            node.line,
                            node.col,
                            _("a key must be a plain word, not a list or mapping"),
                        )
                    )
                    node = YScalar(None, "?", node.line, node.col)
                top.key = node
            else:
                key = top.key
                top.key = None
                if key.raw in top.seen:
                    problems.append(
                        Problem(
                            where,
                            key.line,
                            key.col,
                            _(
                                "duplicate key '{key}' (first written on line {line}); "
                                "remove one of them"
                            ).format(key=key.raw, line=top.seen[key.raw]),
                        )
                    )
                    continue
                top.seen[key.raw] = key.line
                top.items.append((key, node))
    except yaml.YAMLError as exc:
        problems.append(_syntax_problem(exc, where, text))
        return None, problems
    except RecursionError:  # pragma: no cover - the stack above makes this unreachable
        problems.append(Problem(where, 0, 0, _too_deep()))
        return None, problems
    if root is None:
        problems.append(Problem(where, 0, 0, _("the file is empty")))
    return root, problems
