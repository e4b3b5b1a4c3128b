"""The validation kit's specs: one typed check per value, giving both the check and its schema.

A spec (``Spec[T]``) turns a located node (``signage.validation.located``) into a ``T`` or
reports why it cannot, at the node's line and column, and describes itself as JSON Schema.
``Record`` combines named ``Field``s into a mapping (unknown keys get "did you mean",
required keys are enforced) and hands the converted values to a ``build`` function that
makes the domain object. Only generic specs live here (text, booleans, choices, lists,
records...); fields that mean something to one domain (durations, assets, URLs on screens,
schedules) stay with that domain and subclass ``Spec``.
"""

from __future__ import annotations

import difflib
import enum
import math
import re
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, date, datetime
from typing import Any, Generic, TypeVar, cast

from signage.errors import Problem
from signage.i18n import N_, _, ngettext
from signage.validation.located import YMap, YNode, YScalar, YSeq, kind_of

__all__ = [
    "INVALID",
    "JSON",
    "Boolean",
    "Choice",
    "Context",
    "Field",
    "Integer",
    "Invalid",
    "ListOf",
    "MapOf",
    "Nullable",
    "Number",
    "OrFalse",
    "Record",
    "Spec",
    "Text",
    "Timestamp",
    "Values",
    "did_you_mean",
    "expect_scalar",
]

T = TypeVar("T")
U = TypeVar("U")
E = TypeVar("E", bound=enum.Enum)

JSON = dict[str, Any]


class Invalid:
    """The result of a value that failed its check (its problems are already reported)."""

    __slots__ = ()

    def __repr__(self) -> str:
        return "INVALID"


INVALID = Invalid()


@dataclass
class Context:
    """What a check needs besides the node: where it is and the problems found so far.

    Domains that need more (the content root of a playlist, its allowed hosts) subclass
    it; their specs ask for that subclass.

    Args:
        path: the file (or request body) as shown in messages.
        problems: every problem found so far, appended to by the specs.
    """

    path: str
    problems: list[Problem] = field(default_factory=list)

    def error(self, node: YNode | None, message: str) -> Invalid:
        line, col = (node.line, node.col) if node is not None else (0, 0)
        self.problems.append(Problem(self.path, line, col, message))
        return INVALID

    def warn(self, node: YNode | None, message: str) -> None:
        line, col = (node.line, node.col) if node is not None else (0, 0)
        self.problems.append(Problem(self.path, line, col, message, severity="warning"))


class Spec(Generic[T]):
    """A value's check and schema. Subclasses implement ``convert`` and ``schema``."""

    def convert(self, node: YNode, ctx: Context) -> T | Invalid:
        raise NotImplementedError

    def schema(self) -> JSON:
        raise NotImplementedError


def expect_scalar(node: YNode, ctx: Context, expected: str) -> YScalar | Invalid:
    """The scalar ``node`` is, or an error saying ``expected`` and what was found."""
    if isinstance(node, YScalar):
        return node
    return ctx.error(
        node,
        _("expected {expected}, found {found}").format(expected=_(expected), found=kind_of(node)),
    )


def did_you_mean(name: str) -> str:
    """`` (did you mean 'name'?)``, in the current language, for a close match."""
    return _(" (did you mean '{name}'?)").format(name=name)


class Text(Spec[str]):
    """A string (numbers written unquoted are taken as their text, unless ``numbers`` is
    off: a JSON body's ``3`` is a number, not text)."""

    def __init__(
        self,
        *,
        min_len: int = 1,
        max_len: int = 2000,
        pattern: str | None = None,
        hint: str = "",
        description: str = "",
        empty_hint: str = "",
        numbers: bool = True,
    ) -> None:
        self.numbers = numbers
        self.min_len = min_len
        self.max_len = max_len
        self.pattern = re.compile(pattern) if pattern else None
        self.hint = hint
        self.description = description
        self.empty_hint = empty_hint

    def convert(self, node: YNode, ctx: Context) -> str | Invalid:
        s = expect_scalar(node, ctx, N_("text"))
        if isinstance(s, Invalid):
            return s
        if s.value is None and self.empty_hint:
            return ctx.error(node, _("this value is empty; {hint}").format(hint=_(self.empty_hint)))
        if (
            s.value is None
            or isinstance(s.value, bool)
            or not isinstance(s.value, str | int | float | date)
            or (not self.numbers and not isinstance(s.value, str))
        ):
            return ctx.error(node, _("expected text, found {found}").format(found=kind_of(s)))
        text = s.raw if not isinstance(s.value, str) else s.value
        if len(text.strip()) < self.min_len:
            return ctx.error(node, _("this text is empty; write something or remove the key"))
        if len(text) > self.max_len:
            return ctx.error(
                node,
                _("text is {length} characters long; at most {limit} fit").format(
                    length=len(text), limit=self.max_len
                ),
            )
        if self.pattern is not None and not self.pattern.fullmatch(text):
            if self.hint:
                return ctx.error(
                    node,
                    _("{value} is not valid here: {hint}").format(
                        value=repr(text), hint=_(self.hint)
                    ),
                )
            return ctx.error(node, _("{value} is not valid here").format(value=repr(text)))
        return text

    def schema(self) -> JSON:
        # numbers written unquoted are accepted as their text, so the schema allows them too
        out: JSON = {
            "type": ["string", "number"] if self.numbers else "string",
            "minLength": self.min_len,
            "maxLength": self.max_len,
        }
        if self.pattern is not None:
            out["pattern"] = f"^(?:{self.pattern.pattern})$"
        if self.description:
            out["description"] = self.description
        return out


class Boolean(Spec[bool]):
    """``true`` or ``false`` (YAML's yes/no/on/off also read as booleans)."""

    def __init__(self, description: str = "") -> None:
        self.description = description

    def convert(self, node: YNode, ctx: Context) -> bool | Invalid:
        if isinstance(node, YScalar) and isinstance(node.value, bool):
            return node.value
        return ctx.error(
            node, _("expected true or false, found {found}").format(found=kind_of(node))
        )

    def schema(self) -> JSON:
        out: JSON = {"type": "boolean"}
        if self.description:
            out["description"] = self.description
        return out


class Choice(Spec[E]):
    """One of an enum's values, spelled as the enum's ``value`` (``fade``, ``cut``...)."""

    def __init__(self, enum_type: type[E], description: str = "") -> None:
        self.enum_type = enum_type
        self.description = description

    def convert(self, node: YNode, ctx: Context) -> E | Invalid:
        names = [str(m.value) for m in self.enum_type]
        if isinstance(node, YScalar) and isinstance(node.value, str):
            for member in self.enum_type:
                if str(member.value) == node.value:
                    return member
        raw = node.raw if isinstance(node, YScalar) else kind_of(node)
        close = difflib.get_close_matches(str(raw).lower(), names, n=1)
        hint = did_you_mean(close[0]) if close else ""
        return ctx.error(
            node,
            _("{value} is not one of {choices}").format(value=repr(raw), choices=", ".join(names))
            + hint,
        )

    def schema(self) -> JSON:
        out: JSON = {"enum": [str(m.value) for m in self.enum_type]}
        if self.description:
            out["description"] = self.description
        return out


class Integer(Spec[int]):
    """A whole number (not ``true``/``false``), optionally within ``[minimum, maximum]``."""

    def __init__(
        self, *, minimum: int | None = None, maximum: int | None = None, description: str = ""
    ) -> None:
        self.minimum = minimum
        self.maximum = maximum
        self.description = description

    def convert(self, node: YNode, ctx: Context) -> int | Invalid:
        value = node.value if isinstance(node, YScalar) else None
        if not isinstance(value, int) or isinstance(value, bool):
            return ctx.error(
                node, _("expected a whole number, found {found}").format(found=kind_of(node))
            )
        if (self.minimum is not None and value < self.minimum) or (
            self.maximum is not None and value > self.maximum
        ):
            return ctx.error(
                node,
                _("{value} is out of range ({range})").format(
                    value=value, range=self.schema_range()
                ),
            )
        return value

    def schema_range(self) -> str:
        low = "" if self.minimum is None else f"{self.minimum} <= "
        high = "" if self.maximum is None else f" <= {self.maximum}"
        return f"{low}n{high}"

    def schema(self) -> JSON:
        out: JSON = {"type": "integer"}
        if self.minimum is not None:
            out["minimum"] = self.minimum
        if self.maximum is not None:
            out["maximum"] = self.maximum
        if self.description:
            out["description"] = self.description
        return out


class Number(Spec[float]):
    """A finite number (whole or not; not ``true``/``false``), as a float."""

    def __init__(self, description: str = "") -> None:
        self.description = description

    def convert(self, node: YNode, ctx: Context) -> float | Invalid:
        value = node.value if isinstance(node, YScalar) else None
        if not isinstance(value, int | float) or isinstance(value, bool):
            return ctx.error(
                node, _("expected a number, found {found}").format(found=kind_of(node))
            )
        if not math.isfinite(value):
            return ctx.error(
                node, _("expected a finite number, found {found}").format(found=kind_of(node))
            )
        return float(value)

    def schema(self) -> JSON:
        out: JSON = {"type": "number"}
        if self.description:
            out["description"] = self.description
        return out


class Timestamp(Spec[datetime]):
    """An RFC 3339 time (``2026-11-28T10:00:00Z``); one without a zone is read as UTC."""

    def __init__(self, description: str = "") -> None:
        self.description = description

    def convert(self, node: YNode, ctx: Context) -> datetime | Invalid:
        value = node.value if isinstance(node, YScalar) else None
        if not isinstance(value, str) or len(value) > 64:
            return ctx.error(
                node, _("expected an RFC 3339 time, found {found}").format(found=kind_of(node))
            )
        try:
            moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
        except ValueError:
            return ctx.error(
                node, _("expected an RFC 3339 time, got {value}").format(value=repr(value))
            )
        return moment if moment.tzinfo else moment.replace(tzinfo=UTC)

    def schema(self) -> JSON:
        out: JSON = {"type": "string", "format": "date-time"}
        if self.description:
            out["description"] = self.description
        return out


class MapOf(Spec[dict[str, T]]):
    """A mapping of free names (any text) to values that all pass ``value``."""

    def __init__(self, value: Spec[T], *, max_items: int = 1000, description: str = "") -> None:
        self.value = value
        self.max_items = max_items
        self.description = description

    def convert(self, node: YNode, ctx: Context) -> dict[str, T] | Invalid:
        if not isinstance(node, YMap):
            return ctx.error(
                node,
                _("expected a mapping of names to values, found {found}").format(
                    found=kind_of(node)
                ),
            )
        if len(node.items) > self.max_items:
            return ctx.error(
                node,
                _("{count} names; at most {limit}").format(
                    count=len(node.items), limit=self.max_items
                ),
            )
        out: dict[str, T] = {}
        ok = True
        for key, value_node in node.items:
            value = self.value.convert(value_node, ctx)
            if isinstance(value, Invalid):
                ok = False
            else:
                out[key.raw] = value
        return out if ok else INVALID

    def schema(self) -> JSON:
        out: JSON = {
            "type": "object",
            "additionalProperties": self.value.schema(),
            "maxProperties": self.max_items,
        }
        if self.description:
            out["description"] = self.description
        return out


class ListOf(Spec[tuple[T, ...]]):
    """A list whose items all pass ``item``; invalid items are reported and left out."""

    def __init__(
        self, item: Spec[T], *, min_items: int = 0, max_items: int = 1000, description: str = ""
    ) -> None:
        self.item = item
        self.min_items = min_items
        self.max_items = max_items
        self.description = description

    def convert(self, node: YNode, ctx: Context) -> tuple[T, ...] | Invalid:
        if not isinstance(node, YSeq):
            return ctx.error(
                node,
                _("expected a list (lines starting with '- '), found {found}").format(
                    found=kind_of(node)
                ),
            )
        if len(node.items) < self.min_items:
            return ctx.error(
                node,
                ngettext(
                    "the list needs at least {count} item",
                    "the list needs at least {count} items",
                    self.min_items,
                ).format(count=self.min_items),
            )
        if len(node.items) > self.max_items:
            return ctx.error(
                node,
                _("the list has {count} items; at most {limit}").format(
                    count=len(node.items), limit=self.max_items
                ),
            )
        out: list[T] = []
        for item in node.items:
            value = self.item.convert(item, ctx)
            if not isinstance(value, Invalid):
                out.append(value)
        return tuple(out)

    def schema(self) -> JSON:
        out: JSON = {"type": "array", "items": self.item.schema()}
        if self.min_items:
            out["minItems"] = self.min_items
        out["maxItems"] = self.max_items
        if self.description:
            out["description"] = self.description
        return out


class Nullable(Spec[T | None]):
    """``inner`` or ``null``."""

    def __init__(self, inner: Spec[T], description: str = "") -> None:
        self.inner = inner
        self.description = description

    def convert(self, node: YNode, ctx: Context) -> T | Invalid | None:
        if isinstance(node, YScalar) and node.value is None and not node.quoted:
            return None
        return self.inner.convert(node, ctx)

    def schema(self) -> JSON:
        out: JSON = {"anyOf": [self.inner.schema(), {"type": "null"}]}
        if self.description:
            out["description"] = self.description
        return out


class OrFalse(Spec[T | None]):
    """``inner`` or ``false`` (read as ``None``: "none of this here", e.g. ``qr: false``)."""

    def __init__(self, inner: Spec[T], description: str = "") -> None:
        self.inner = inner
        self.description = description

    def convert(self, node: YNode, ctx: Context) -> T | Invalid | None:
        if isinstance(node, YScalar) and node.value is False:
            return None
        if isinstance(node, YScalar) and node.value is True:
            return ctx.error(node, _("'true' is not enough here: give the settings, or 'false'"))
        return self.inner.convert(node, ctx)

    def schema(self) -> JSON:
        out: JSON = {"anyOf": [{"const": False}, self.inner.schema()]}
        if self.description:
            out["description"] = self.description
        return out


@dataclass(frozen=True, slots=True)
class Field(Generic[T]):
    """One key of a ``Record``: its spec, whether it must be present, and its help text."""

    spec: Spec[T]
    required: bool = False
    description: str = ""


class Values:
    """The converted values of a ``Record``'s present, valid keys, with their nodes."""

    __slots__ = ("_nodes", "_values", "node")

    def __init__(self, node: YMap, values: Mapping[str, object], nodes: Mapping[str, YNode]):
        self.node = node
        self._values = dict(values)
        self._nodes = dict(nodes)

    def has(self, key: str) -> bool:
        """Whether the key was written and its value passed its check."""
        return key in self._values

    def written(self, key: str) -> bool:
        """Whether the key was written at all (valid or not)."""
        return key in self._nodes

    def get(self, key: str, default: U) -> U:
        """The value of ``key`` (typed as ``default``), or ``default`` when absent/invalid."""
        return cast(U, self._values.get(key, default))

    def at(self, key: str) -> YNode:
        """The node of ``key`` for locating a message (the mapping itself when absent)."""
        return self._nodes.get(key, self.node)


class Record(Spec[T]):
    """A mapping of named fields built into a model object.

    Args:
        fields: key -> ``Field``, in the order the schema lists them.
        build: makes the object from the valid values; may report cross-field problems
            through the context and return ``INVALID``.
        title: a short name for messages and the schema (``a slide``, ``the schedule``).
        extra_schema: merged into the generated schema (``oneOf`` rules and the like).
        ignore_unknown: skip keys the table does not name (wire formats that newer
            senders may extend) instead of reporting them.
        misplaced: keys that belong somewhere else -> where, e.g. ``{"image": "a slide"}``,
            so an indentation slip reads "'image' belongs in a slide" instead of "unknown".
    """

    def __init__(
        self,
        fields: Mapping[str, Field[Any]],
        build: Callable[[Values, Context], T | Invalid],
        *,
        title: str,
        description: str = "",
        extra_schema: JSON | None = None,
        misplaced: Mapping[str, str] | None = None,
        ignore_unknown: bool = False,
    ) -> None:
        self.ignore_unknown = ignore_unknown
        self.fields = dict(fields)
        self.build = build
        self.title = title
        self.description = description
        self.extra_schema = extra_schema or {}
        self.misplaced = dict(misplaced or {})

    def convert(self, node: YNode, ctx: Context) -> T | Invalid:
        if isinstance(node, YScalar) and node.value is None and not node.quoted:
            return ctx.error(
                node,
                _(
                    "{title} is empty: write its 'key: value' lines below it, indented "
                    "further than its own key"
                ).format(title=_(self.title)),
            )
        if not isinstance(node, YMap):
            return ctx.error(
                node,
                _("{title} must be a mapping of 'key: value' lines, found {found}").format(
                    title=_(self.title), found=kind_of(node)
                ),
            )
        values: dict[str, object] = {}
        nodes: dict[str, YNode] = {}
        for key, value_node in node.items:
            spec_field = self.fields.get(key.raw)
            if spec_field is None and self.ignore_unknown:
                continue
            if spec_field is None:
                close = difflib.get_close_matches(key.raw, list(self.fields), n=1, cutoff=0.6)
                if key.raw in self.misplaced:
                    ctx.error(
                        key,
                        _(
                            "'{key}' belongs in {place}, not in {title}; "
                            "check this line's indentation"
                        ).format(
                            key=key.raw, place=_(self.misplaced[key.raw]), title=_(self.title)
                        ),
                    )
                    continue
                hint = (
                    did_you_mean(close[0])
                    if close
                    else _("; {title} takes: {keys}").format(
                        title=_(self.title), keys=", ".join(self.fields)
                    )
                )
                ctx.error(
                    key,
                    _("unknown key '{key}' in {title}").format(key=key.raw, title=_(self.title))
                    + hint,
                )
                continue
            nodes[key.raw] = value_node
            converted = spec_field.spec.convert(value_node, ctx)
            if not isinstance(converted, Invalid):
                values[key.raw] = converted
        for name, spec_field in self.fields.items():
            if spec_field.required and name not in nodes:
                ctx.error(
                    node,
                    _("{title} is missing the required key '{key}'").format(
                        title=_(self.title), key=name
                    ),
                )
        # build runs with the valid values even when some keys failed, and its result is
        # kept, so problems that involve several keys (or enclosing records) are reported
        # too; whoever loads a file refuses it whenever ``ctx`` holds an error
        return self.build(Values(node, values, nodes), ctx)

    def schema(self) -> JSON:
        properties: JSON = {}
        for name, spec_field in self.fields.items():
            prop = spec_field.spec.schema()
            if spec_field.description and "description" not in prop:
                prop = {**prop, "description": spec_field.description}
            properties[name] = prop
        out: JSON = {
            "type": "object",
            "properties": properties,
            "additionalProperties": self.ignore_unknown,
        }
        required = [n for n, f in self.fields.items() if f.required]
        if required:
            out["required"] = required
        if self.description:
            out["description"] = self.description
        out.update(self.extra_schema)
        return out
