"""The field definitions: one typed spec per value, giving both the check and the JSON Schema.

A spec (``Spec[T]``) turns a located YAML node into a ``T`` or reports why it cannot, at the
node's line and column, and describes itself as JSON Schema. ``Record`` combines named
``Field``s into a mapping (unknown keys get "did you mean", required keys are enforced) and
hands the converted values to a ``build`` function that makes the model object. The playlist
format (``_format.py``) and the alert templates are both written as such tables, so the
validator and the schema can never disagree.
"""

from __future__ import annotations

import difflib
import enum
import math
import re
from collections.abc import Callable, Iterable, Mapping
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import Any, Generic, TypeVar, cast
from urllib.parse import urlsplit

from signage.errors import Problem
from signage.model import HourWindow, Weekday
from signage.playlist._media import sniff_media
from signage.playlist._yaml import YMap, YNode, YScalar, YSeq, kind_of

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
    """What a check needs besides the node: where it is, the root, the allow-list, problems.

    Args:
        path: the file as shown in messages.
        root: the content root that asset paths are relative to.
        allowed_hosts: hosts accepted in web and QR URLs; empty accepts any https host.
        check_assets: open asset files (off when only the text is being checked).
        problems: every problem found so far, appended to by the specs.
    """

    path: str
    root: Path
    allowed_hosts: frozenset[str] = frozenset()
    check_assets: bool = True
    problems: list[Problem] = field(default_factory=list)
    media_cache: dict[Path, str | None] = field(default_factory=dict)

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


def _scalar_or_error(node: YNode, ctx: Context, expected: str) -> YScalar | Invalid:
    if isinstance(node, YScalar):
        return node
    return ctx.error(node, f"expected {expected}, found {kind_of(node)}")


class Text(Spec[str]):
    """A string (numbers written unquoted are taken as their text)."""

    def __init__(
        self,
        *,
        min_len: int = 1,
        max_len: int = 2000,
        pattern: str | None = None,
        hint: str = "",
        description: str = "",
        empty_hint: str = "",
    ) -> None:
        self.min_len = min_len
        self.max_len = max_len
        self.pattern = re.compile(pattern) if pattern else None
        self.hint = hint
        self.description = description
        self.empty_hint = empty_hint

    def convert(self, node: YNode, ctx: Context) -> str | Invalid:
        s = _scalar_or_error(node, ctx, "text")
        if isinstance(s, Invalid):
            return s
        if s.value is None and self.empty_hint:
            return ctx.error(node, f"this value is empty; {self.empty_hint}")
        if (
            s.value is None
            or isinstance(s.value, bool)
            or not isinstance(s.value, str | int | float | date)
        ):
            return ctx.error(node, f"expected text, found {kind_of(s)}")
        text = s.raw if not isinstance(s.value, str) else s.value
        if len(text.strip()) < self.min_len:
            return ctx.error(node, "this text is empty; write something or remove the key")
        if len(text) > self.max_len:
            return ctx.error(
                node, f"text is {len(text)} characters long; at most {self.max_len} fit"
            )
        if self.pattern is not None and not self.pattern.fullmatch(text):
            return ctx.error(
                node, f"{text!r} is not valid here{': ' + self.hint if self.hint else ''}"
            )
        return text

    def schema(self) -> JSON:
        # numbers written unquoted are accepted as their text, so the schema allows them too
        out: JSON = {
            "type": ["string", "number"],
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
        return ctx.error(node, f"expected true or false, found {kind_of(node)}")

    def schema(self) -> JSON:
        out: JSON = {"type": "boolean"}
        if self.description:
            out["description"] = self.description
        return out


_DURATION_RE = re.compile(
    r"\s*(?:(?P<h>\d+(?:\.\d+)?)\s*h)?\s*(?:(?P<m>\d+(?:\.\d+)?)\s*m(?:in)?)?"
    r"\s*(?:(?P<s>\d+(?:\.\d+)?)\s*s)?\s*"
)
DURATION_PATTERN = (
    r"\s*(\d+(\.\d+)?\s*[hH])?\s*(\d+(\.\d+)?\s*[mM]([iI][nN])?)?\s*(\d+(\.\d+)?\s*[sS])?\s*"
    r"|\s*\d+(\.\d+)?\s*"
)
MAX_DURATION_S = 24 * 3600.0


def parse_duration(value: object) -> float:
    """Seconds from ``10s``, ``2m``, ``1m30s``, ``1h``, ``1.5s`` or a number of seconds.

    Raises:
        ValueError: with a message that says what was wrong and what is accepted.
    """
    if value is None:
        raise ValueError("the duration is empty; write e.g. 10s, 2m or 1m30s")
    if isinstance(value, bool):
        raise ValueError(f"{value!r} is not a duration; write e.g. 10s, 2m or 1m30s")
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str):
        text = value.strip().lower()
        match = _DURATION_RE.fullmatch(text)
        if text and re.fullmatch(r"\d+(\.\d+)?", text):
            seconds = float(text)
        elif not text or match is None or not any(match.group(g) for g in "hms"):
            raise ValueError(
                f"{value!r} is not a duration; write e.g. 10s, 2m, 1m30s or 1h (or seconds)"
            )
        else:
            seconds = sum(
                float(match.group(g) or 0) * factor
                for g, factor in (("h", 3600), ("m", 60), ("s", 1))
            )
    else:
        raise ValueError(f"{value!r} is not a duration; write e.g. 10s, 2m or 1m30s")
    if not math.isfinite(seconds) or seconds <= 0:
        raise ValueError(f"duration must be more than 0 seconds, got {value!r}")
    if seconds > MAX_DURATION_S:
        raise ValueError(f"duration {value!r} is longer than a day; split the content")
    return seconds


class Duration(Spec[float]):
    """A duration in seconds: ``10s``, ``2m``, ``1m30s``, ``1h`` or a number."""

    def __init__(self, description: str = "") -> None:
        self.description = description

    def convert(self, node: YNode, ctx: Context) -> float | Invalid:
        s = _scalar_or_error(node, ctx, "a duration such as 10s, 2m or 1m30s")
        if isinstance(s, Invalid):
            return s
        value = s.raw if s.quoted else s.value
        if isinstance(value, int) and not isinstance(value, bool) and ":" in s.raw:
            value = s.raw  # YAML 1.1 reads 1:30 as 90; say it plainly instead
            return ctx.error(node, f"{s.raw!r} is not a duration; write 1m30s, not 1:30")
        try:
            return parse_duration(value)
        except ValueError as exc:
            return ctx.error(node, str(exc))

    def schema(self) -> JSON:
        out: JSON = {
            "anyOf": [
                {"type": "number", "exclusiveMinimum": 0, "maximum": MAX_DURATION_S},
                {"type": "string", "pattern": f"^(?:{DURATION_PATTERN})$"},
            ]
        }
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
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        return ctx.error(node, f"{raw!r} is not one of {', '.join(names)}{hint}")

    def schema(self) -> JSON:
        out: JSON = {"enum": [str(m.value) for m in self.enum_type]}
        if self.description:
            out["description"] = self.description
        return out


def check_url(url: str, allowed_hosts: frozenset[str]) -> str | None:
    """``None`` when ``url`` may be shown or encoded on a screen, else what is wrong.

    Only ``https`` URLs with a host are accepted; when ``allowed_hosts`` is not empty the host
    must be on it (exactly, case-insensitive).
    """
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname
    except ValueError as exc:
        return f"{url!r} is not a valid URL ({exc})"
    if parts.scheme.lower() != "https":
        scheme = parts.scheme or "no scheme"
        return f"{url!r} uses {scheme}; only https:// URLs are shown on screens"
    if not host:
        return f"{url!r} has no host name"
    if any(c.isspace() for c in url.strip()):
        return f"{url!r} contains spaces; encode them as %20"
    if allowed_hosts and host.lower() not in {h.lower() for h in allowed_hosts}:
        allowed = ", ".join(sorted(allowed_hosts))
        return f"host {host!r} is not on the allow-list ({allowed}); ask IT to add it"
    return None


class HttpsUrl(Spec[str]):
    """An https URL whose host is on the context's allow-list (when there is one)."""

    def __init__(self, description: str = "") -> None:
        self.description = description

    def convert(self, node: YNode, ctx: Context) -> str | Invalid:
        s = _scalar_or_error(node, ctx, "an https:// URL")
        if isinstance(s, Invalid):
            return s
        if not isinstance(s.value, str):
            return ctx.error(node, f"expected an https:// URL, found {kind_of(s)}")
        message = check_url(s.value, ctx.allowed_hosts)
        if message is not None:
            return ctx.error(node, message)
        return s.value.strip()

    def schema(self) -> JSON:
        out: JSON = {
            "type": "string",
            "format": "uri",
            "pattern": "^\\s*[hH][tT][tT][pP][sS]://[^\\s/]+",
        }
        if self.description:
            out["description"] = self.description
        return out


MEDIA_NAMES = {
    "png": "PNG",
    "jpeg": "JPEG",
    "webp": "WebP",
    "gif": "GIF",
    "svg": "SVG",
    "mp4": "MP4/MOV",
    "webm": "WebM/Matroska",
}
IMAGE_TYPES = frozenset({"png", "jpeg", "webp", "gif", "svg"})
VIDEO_TYPES = frozenset({"mp4", "webm"})
EXTENSION_TYPES = {
    ".png": "png",
    ".jpg": "jpeg",
    ".jpeg": "jpeg",
    ".webp": "webp",
    ".gif": "gif",
    ".svg": "svg",
    ".mp4": "mp4",
    ".m4v": "mp4",
    ".mov": "mp4",
    ".webm": "webm",
    ".mkv": "webm",
}


class Asset(Spec[str]):
    """A file under the content root, opened to check it is the media it claims to be.

    Args:
        media: accepted media types (``IMAGE_TYPES`` or ``VIDEO_TYPES``).
        noun: how the media is named in messages (``an image``, ``a video``).
    """

    def __init__(self, media: frozenset[str], noun: str, description: str = "") -> None:
        self.media = media
        self.noun = noun
        self.description = description

    def convert(self, node: YNode, ctx: Context) -> str | Invalid:
        s = _scalar_or_error(node, ctx, f"the path of {self.noun} under the content root")
        if isinstance(s, Invalid):
            return s
        if not isinstance(s.value, str) or not s.value.strip():
            return ctx.error(node, f"expected the path of {self.noun}, found {kind_of(s)}")
        text = s.value.strip()
        if "://" in text:
            return ctx.error(
                node, f"{text!r} is a URL; copy the file into assets/ and give its path"
            )
        rel = Path(text)
        if rel.is_absolute() or text.startswith("~"):
            return ctx.error(
                node,
                f"{text!r} is an absolute path; give the path relative to the content root, "
                "e.g. assets/infografias/eficiencia.png",
            )
        if ".." in rel.parts:
            return ctx.error(
                node, f"{text!r} leaves the content root ('..'); keep assets inside it"
            )
        ext = rel.suffix.lower()
        claimed = EXTENSION_TYPES.get(ext)
        accepted = ", ".join(sorted(e for e, t in EXTENSION_TYPES.items() if t in self.media))
        if claimed is None or claimed not in self.media:
            return ctx.error(
                node, f"{text!r} does not look like {self.noun}; accepted files: {accepted}"
            )
        if not ctx.check_assets:
            return rel.as_posix()
        full = ctx.root / rel
        try:
            resolved = full.resolve()
            inside = resolved.is_relative_to(ctx.root.resolve())
        except (OSError, RuntimeError):
            inside = False
            resolved = full
        if not inside:
            return ctx.error(node, f"{text!r} points outside the content root (a link?)")
        if not resolved.is_file():
            hint = ""
            parent = resolved.parent
            if parent.is_dir():
                names = [p.name for p in parent.iterdir() if p.is_file()]
                close = difflib.get_close_matches(rel.name, names, n=1)
                if close:
                    hint = f" (did you mean '{close[0]}'?)"
            return ctx.error(node, f"asset {text!r} does not exist under {ctx.root}{hint}")
        if resolved not in ctx.media_cache:
            ctx.media_cache[resolved] = sniff_media(full, ctx.root)
        actual = ctx.media_cache[resolved]
        if actual != claimed:
            found = (
                f"its content is {MEDIA_NAMES[actual]}"
                if actual
                else "its content is not a picture or video"
            )
            if actual in self.media:
                return ctx.error(
                    node,
                    f"{text!r} is named {MEDIA_NAMES[claimed]} but {found}; rename the file",
                )
            return ctx.error(
                node, f"{text!r} is not {MEDIA_NAMES[claimed]}: {found} (re-export it)"
            )
        return rel.as_posix()

    def schema(self) -> JSON:
        exts = sorted({e.lstrip(".") for e, t in EXTENSION_TYPES.items() if t in self.media})
        out: JSON = {
            "type": "string",
            "pattern": r"^\s*(?![/~])(?!.*(^|/)\.\.(/|$)).+\.("
            + "|".join(map(_any_case, exts))
            + r")\s*$",
        }
        if self.description:
            out["description"] = self.description
        return out


def _any_case(text: str) -> str:
    """``png`` -> ``[pP][nN][gG]`` (JSON Schema patterns have no case-insensitive flag)."""
    return "".join(f"[{c.lower()}{c.upper()}]" if c.isalpha() else re.escape(c) for c in text)


class DateValue(Spec[date]):
    """An ISO date ``YYYY-MM-DD``."""

    def __init__(self, description: str = "") -> None:
        self.description = description

    def convert(self, node: YNode, ctx: Context) -> date | Invalid:
        s = _scalar_or_error(node, ctx, "a date YYYY-MM-DD")
        if isinstance(s, Invalid):
            return s
        if isinstance(s.value, datetime):
            return ctx.error(node, f"{s.raw!r}: give only the date, YYYY-MM-DD")
        if isinstance(s.value, date):
            return s.value
        try:
            if isinstance(s.value, str) and re.fullmatch(r"\d{4}-\d{2}-\d{2}", s.value.strip()):
                return date.fromisoformat(s.value.strip())
        except ValueError as exc:
            return ctx.error(node, f"{s.raw!r} is not a date: {exc}")
        return ctx.error(node, f"{s.raw!r} is not a date; write YYYY-MM-DD, e.g. 2027-01-04")

    def schema(self) -> JSON:
        out: JSON = {"type": "string", "format": "date", "pattern": r"^\s*\d{4}-\d{2}-\d{2}\s*$"}
        if self.description:
            out["description"] = self.description
        return out


DAY_NAMES = {d.name.lower(): d for d in Weekday}


class Days(Spec[frozenset[Weekday]]):
    """Weekdays: a list of ``mon`` … ``sun``; ranges such as ``mon-fri`` are accepted."""

    def __init__(self, description: str = "") -> None:
        self.description = description

    def _one(self, node: YNode, ctx: Context) -> set[Weekday] | Invalid:
        if not isinstance(node, YScalar) or not isinstance(node.value, str):
            return ctx.error(node, f"expected a day (mon … sun), found {kind_of(node)}")
        word = node.value
        parts = word.split("-")
        if len(parts) == 2 and all(p in DAY_NAMES for p in parts):
            a, b = DAY_NAMES[parts[0]], DAY_NAMES[parts[1]]
            if b < a:
                return ctx.error(node, f"{word!r}: a day range goes forward, e.g. mon-fri")
            return {Weekday(i) for i in range(a, b + 1)}
        if word in DAY_NAMES:
            return {DAY_NAMES[word]}
        close = difflib.get_close_matches(word.strip().lower(), list(DAY_NAMES), n=1)
        hint = f" (did you mean '{close[0]}'?)" if close else ""
        return ctx.error(node, f"{node.raw!r} is not a day; use mon tue wed thu fri sat sun{hint}")

    def convert(self, node: YNode, ctx: Context) -> frozenset[Weekday] | Invalid:
        items: Iterable[YNode] = node.items if isinstance(node, YSeq) else (node,)
        days: set[Weekday] = set()
        ok = True
        for item in items:
            one = self._one(item, ctx)
            if isinstance(one, Invalid):
                ok = False
            else:
                days |= one
        if not ok:
            return INVALID
        if not days:
            return ctx.error(
                node, "no days listed, so this never plays; list days or remove 'days'"
            )
        return frozenset(days)

    def schema(self) -> JSON:
        day = {
            "type": "string",
            "pattern": "^(mon|tue|wed|thu|fri|sat|sun)(-(mon|tue|wed|thu|fri|sat|sun))?$",
        }
        out: JSON = {"anyOf": [day, {"type": "array", "items": day, "minItems": 1}]}
        if self.description:
            out["description"] = self.description
        return out


_HOURS_RE = re.compile(r"(\d{1,2}):(\d{2})\s*-\s*(\d{1,2}):(\d{2})")


def parse_hours(text: str) -> HourWindow:
    """``HH:MM-HH:MM`` into a window; raises ValueError with a message. ``24:00`` ends a day."""
    match = _HOURS_RE.fullmatch(text.strip())
    if match is None:
        raise ValueError(f"{text!r} is not an hour window; write HH:MM-HH:MM, e.g. 07:00-18:00")
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    for h, m in ((h1, m1), (h2, m2)):
        if m > 59 or h > 24 or (h == 24 and m != 0):
            raise ValueError(f"{text!r}: {h:02d}:{m:02d} is not a time of day")
    start, end = h1 * 60 + m1, h2 * 60 + m2
    if start == 1440:
        raise ValueError(f"{text!r}: a window cannot start at 24:00; use 00:00")
    if start == end:
        raise ValueError(f"{text!r} is empty (it starts when it ends), so it never plays")
    return HourWindow(start, end)


class Hours(Spec[tuple[HourWindow, ...]]):
    """One ``HH:MM-HH:MM`` window or a list of them; a window may cross midnight."""

    def __init__(self, description: str = "") -> None:
        self.description = description

    def convert(self, node: YNode, ctx: Context) -> tuple[HourWindow, ...] | Invalid:
        items: Iterable[YNode] = node.items if isinstance(node, YSeq) else (node,)
        windows: list[HourWindow] = []
        ok = True
        for item in items:
            if not isinstance(item, YScalar) or not isinstance(item.value, str):
                ok = False
                hint = " (put the window in quotes)" if isinstance(item, YScalar) else ""
                ctx.error(item, f"expected an hour window HH:MM-HH:MM, found {kind_of(item)}{hint}")
                continue
            try:
                windows.append(parse_hours(item.value))
            except ValueError as exc:
                ok = False
                ctx.error(item, str(exc))
        if not ok:
            return INVALID
        if not windows:
            return ctx.error(node, "no hour windows listed; list some or remove 'hours'")
        return tuple(windows)

    def schema(self) -> JSON:
        window = {"type": "string", "pattern": r"^\s*\d{1,2}:\d{2}\s*-\s*\d{1,2}:\d{2}\s*$"}
        out: JSON = {"anyOf": [window, {"type": "array", "items": window, "minItems": 1}]}
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
                node, f"expected a list (lines starting with '- '), found {kind_of(node)}"
            )
        if len(node.items) < self.min_items:
            return ctx.error(node, f"the list needs at least {self.min_items} item(s)")
        if len(node.items) > self.max_items:
            return ctx.error(
                node, f"the list has {len(node.items)} items; at most {self.max_items}"
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
            return ctx.error(node, "'true' is not enough here: give the settings, or 'false'")
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
    ) -> None:
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
                f"{self.title} is empty: write its 'key: value' lines below it, indented "
                "further than its own key",
            )
        if not isinstance(node, YMap):
            return ctx.error(
                node, f"{self.title} must be a mapping of 'key: value' lines, found {kind_of(node)}"
            )
        values: dict[str, object] = {}
        nodes: dict[str, YNode] = {}
        for key, value_node in node.items:
            spec_field = self.fields.get(key.raw)
            if spec_field is None:
                close = difflib.get_close_matches(key.raw, list(self.fields), n=1, cutoff=0.6)
                if key.raw in self.misplaced:
                    ctx.error(
                        key,
                        f"'{key.raw}' belongs in {self.misplaced[key.raw]}, not in {self.title}; "
                        "check this line's indentation",
                    )
                    continue
                hint = (
                    f" (did you mean '{close[0]}'?)"
                    if close
                    else f"; {self.title} takes: {', '.join(self.fields)}"
                )
                ctx.error(key, f"unknown key '{key.raw}' in {self.title}{hint}")
                continue
            nodes[key.raw] = value_node
            converted = spec_field.spec.convert(value_node, ctx)
            if not isinstance(converted, Invalid):
                values[key.raw] = converted
        for name, spec_field in self.fields.items():
            if spec_field.required and name not in nodes:
                ctx.error(node, f"{self.title} is missing the required key '{name}'")
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
        out: JSON = {"type": "object", "properties": properties, "additionalProperties": False}
        required = [n for n, f in self.fields.items() if f.required]
        if required:
            out["required"] = required
        if self.description:
            out["description"] = self.description
        out.update(self.extra_schema)
        return out
