"""The playlist domain's fields: durations, screen URLs, assets, dates, days and hours.

Each is a ``Spec`` of the validation kit (``signage.validation``), so the same table gives
both the check and the JSON Schema. Asset and URL checks need the content root and its
allow-list: they read them from a ``ContentContext``.
"""

from __future__ import annotations

import difflib
import enum
import math
import os
import re
from collections.abc import Iterable
from dataclasses import dataclass, field
from datetime import date, datetime
from pathlib import Path
from typing import TypeVar
from urllib.parse import urlsplit

from signage.i18n import N_, _
from signage.model import HourWindow, Weekday
from signage.playlist._media import sniff_media
from signage.validation import (
    INVALID,
    JSON,
    Context,
    Invalid,
    Spec,
    YNode,
    YScalar,
    YSeq,
    did_you_mean,
    expect_scalar,
    kind_of,
)

T = TypeVar("T")
U = TypeVar("U")
E = TypeVar("E", bound=enum.Enum)


@dataclass
class ContentContext(Context):
    """The context of a content root's files: the root, the allow-list, the media cache.

    Args:
        root: the content root that asset paths are relative to.
        allowed_hosts: hosts accepted in web and QR URLs; empty accepts any https host.
        check_assets: open asset files (off when only the text is being checked).
    """

    root: Path = Path()
    allowed_hosts: frozenset[str] = frozenset()
    check_assets: bool = True
    media_cache: dict[Path, str | None] = field(default_factory=dict)


def display_path(path: Path) -> str:
    """``path`` as the user would type it: relative to the working folder when inside it."""
    try:
        absolute = path if path.is_absolute() else Path.cwd() / path
        rel = os.path.relpath(absolute, Path.cwd())
    except (OSError, ValueError):
        return str(path)
    return str(path) if rel.startswith("..") else rel


def _content(ctx: Context) -> ContentContext:
    if not isinstance(ctx, ContentContext):
        raise TypeError("this spec checks files of a content root: give it a ContentContext")
    return ctx


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
        raise ValueError(_("the duration is empty; write e.g. 10s, 2m or 1m30s"))
    if isinstance(value, bool):
        raise ValueError(
            _("{value} is not a duration; write e.g. 10s, 2m or 1m30s").format(value=repr(value))
        )
    if isinstance(value, int | float):
        seconds = float(value)
    elif isinstance(value, str):
        text = value.strip().lower()
        match = _DURATION_RE.fullmatch(text)
        if text and re.fullmatch(r"\d+(\.\d+)?", text):
            seconds = float(text)
        elif not text or match is None or not any(match.group(g) for g in "hms"):
            raise ValueError(
                _("{value} is not a duration; write e.g. 10s, 2m, 1m30s or 1h (or seconds)").format(
                    value=repr(value)
                )
            )
        else:
            seconds = sum(
                float(match.group(g) or 0) * factor
                for g, factor in (("h", 3600), ("m", 60), ("s", 1))
            )
    else:
        raise ValueError(
            _("{value} is not a duration; write e.g. 10s, 2m or 1m30s").format(value=repr(value))
        )
    if not math.isfinite(seconds) or seconds <= 0:
        raise ValueError(
            _("duration must be more than 0 seconds, got {value}").format(value=repr(value))
        )
    if seconds > MAX_DURATION_S:
        raise ValueError(
            _("duration {value} is longer than a day; split the content").format(value=repr(value))
        )
    return seconds


class Duration(Spec[float]):
    """A duration in seconds: ``10s``, ``2m``, ``1m30s``, ``1h`` or a number."""

    def __init__(self, description: str = "") -> None:
        self.description = description

    def convert(self, node: YNode, ctx: Context) -> float | Invalid:
        s = expect_scalar(node, ctx, N_("a duration such as 10s, 2m or 1m30s"))
        if isinstance(s, Invalid):
            return s
        value = s.raw if s.quoted else s.value
        if isinstance(value, int) and not isinstance(value, bool) and ":" in s.raw:
            value = s.raw  # YAML 1.1 reads 1:30 as 90; say it plainly instead
            return ctx.error(
                node, _("{raw} is not a duration; write 1m30s, not 1:30").format(raw=repr(s.raw))
            )
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


def check_url(url: str, allowed_hosts: frozenset[str]) -> str | None:
    """``None`` when ``url`` may be shown or encoded on a screen, else what is wrong.

    Only ``https`` URLs with a host are accepted; when ``allowed_hosts`` is not empty the host
    must be on it (exactly, case-insensitive).
    """
    try:
        parts = urlsplit(url.strip())
        host = parts.hostname
    except ValueError as exc:
        return _("{url} is not a valid URL ({reason})").format(url=repr(url), reason=exc)
    if parts.scheme.lower() != "https":
        scheme = parts.scheme or "no scheme"
        return _("{url} uses {scheme}; only https:// URLs are shown on screens").format(
            url=repr(url), scheme=scheme
        )
    if not host:
        return _("{url} has no host name").format(url=repr(url))
    if any(c.isspace() for c in url.strip()):
        return _("{url} contains spaces; encode them as %20").format(url=repr(url))
    if allowed_hosts and host.lower() not in {h.lower() for h in allowed_hosts}:
        allowed = ", ".join(sorted(allowed_hosts))
        return _(
            "host {host} is not on the allow-list ({allowed}); add it to qr.allowed_hosts "
            "in playlists/settings.yaml or ask IT"
        ).format(host=repr(host), allowed=allowed)
    return None


class HttpsUrl(Spec[str]):
    """An https URL whose host is on the context's allow-list (when there is one)."""

    def __init__(self, description: str = "") -> None:
        self.description = description

    def convert(self, node: YNode, ctx: Context) -> str | Invalid:
        s = expect_scalar(node, ctx, N_("an https:// URL"))
        if isinstance(s, Invalid):
            return s
        if not isinstance(s.value, str):
            return ctx.error(
                node, _("expected an https:// URL, found {found}").format(found=kind_of(s))
            )
        message = check_url(s.value, _content(ctx).allowed_hosts)
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
        s = expect_scalar(
            node,
            ctx,
            _("the path of {noun} under the content root").format(noun=_(self.noun)),
        )
        if isinstance(s, Invalid):
            return s
        if not isinstance(s.value, str) or not s.value.strip():
            return ctx.error(
                node,
                _("expected the path of {noun}, found {found}").format(
                    noun=_(self.noun), found=kind_of(s)
                ),
            )
        text = s.value.strip()
        if "://" in text:
            return ctx.error(
                node,
                _("{text} is a URL; copy the file into assets/ and give its path").format(
                    text=repr(text)
                ),
            )
        rel = Path(text)
        if rel.is_absolute() or text.startswith("~"):
            return ctx.error(
                node,
                _(
                    "{text} is an absolute path; give the path relative to the content root, "
                    "e.g. assets/infografias/eficiencia.png"
                ).format(text=repr(text)),
            )
        if ".." in rel.parts:
            return ctx.error(
                node,
                _("{text} leaves the content root ('..'); keep assets inside it").format(
                    text=repr(text)
                ),
            )
        ext = rel.suffix.lower()
        claimed = EXTENSION_TYPES.get(ext)
        accepted = ", ".join(sorted(e for e, t in EXTENSION_TYPES.items() if t in self.media))
        if claimed is None or claimed not in self.media:
            return ctx.error(
                node,
                _("{text} does not look like {noun}; accepted files: {accepted}").format(
                    text=repr(text), noun=_(self.noun), accepted=accepted
                ),
            )
        content = _content(ctx)
        if not content.check_assets:
            return rel.as_posix()
        full = content.root / rel
        try:
            resolved = full.resolve()
            inside = resolved.is_relative_to(content.root.resolve())
        except (OSError, RuntimeError):
            inside = False
            resolved = full
        if not inside:
            return ctx.error(
                node, _("{text} points outside the content root (a link?)").format(text=repr(text))
            )
        if not resolved.is_file():
            hint = ""
            parent = resolved.parent
            if parent.is_dir():
                names = [p.name for p in parent.iterdir() if p.is_file()]
                close = difflib.get_close_matches(rel.name, names, n=1)
                if close:
                    hint = did_you_mean(close[0])
            return ctx.error(
                node,
                _("asset {text} does not exist under {root}{hint}").format(
                    text=repr(text), root=content.root, hint=hint
                ),
            )
        if resolved not in content.media_cache:
            content.media_cache[resolved] = sniff_media(full, content.root)
        actual = content.media_cache[resolved]
        if actual != claimed:
            found = (
                _("its content is {media}").format(media=_(MEDIA_NAMES[actual]))
                if actual
                else _("its content is not a picture or video")
            )
            if actual in self.media:
                return ctx.error(
                    node,
                    _("{text} is named {media} but {found}; rename the file").format(
                        text=repr(text), media=_(MEDIA_NAMES[claimed]), found=found
                    ),
                )
            return ctx.error(
                node,
                _("{text} is not {media}: {found} (re-export it)").format(
                    text=repr(text), media=_(MEDIA_NAMES[claimed]), found=found
                ),
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
        s = expect_scalar(node, ctx, N_("a date YYYY-MM-DD"))
        if isinstance(s, Invalid):
            return s
        if isinstance(s.value, datetime):
            return ctx.error(
                node, _("{raw}: give only the date, YYYY-MM-DD").format(raw=repr(s.raw))
            )
        if isinstance(s.value, date):
            return s.value
        text = s.value.strip() if isinstance(s.value, str) else ""
        if re.fullmatch(r"\d{4}-\d{2}-\d{2}", text):
            try:
                return date.fromisoformat(text)
            except ValueError:
                return ctx.error(node, impossible_date(text))
        return ctx.error(
            node,
            _("{value} is not a date; write YYYY-MM-DD, e.g. 2027-01-04").format(value=repr(s.raw)),
        )

    def schema(self) -> JSON:
        out: JSON = {"type": "string", "format": "date", "pattern": r"^\s*\d{4}-\d{2}-\d{2}\s*$"}
        if self.description:
            out["description"] = self.description
        return out


MONTH_NAMES = (
    N_("January"),
    N_("February"),
    N_("March"),
    N_("April"),
    N_("May"),
    N_("June"),
    N_("July"),
    N_("August"),
    N_("September"),
    N_("October"),
    N_("November"),
    N_("December"),
)


def impossible_date(text: str) -> str:
    """Why ``YYYY-MM-DD`` is no day of the calendar, in plain words ("December 32 does not
    exist"), for a text that has the shape of a date."""
    year, month, day = (int(part) for part in text.split("-"))
    if not 1 <= month <= 12:
        return _("{value}: there is no month {month}; months go from 01 to 12").format(
            value=text, month=month
        )
    name = _(MONTH_NAMES[month - 1])
    if month == 2 and day == 29:
        return _("February 29, {year} does not exist ({year} is not a leap year)").format(year=year)
    if day == 0:
        return _("{value}: days start at 01").format(value=text)
    return _("{month} {day} does not exist").format(month=name, day=day)


DAY_NAMES = {d.name.lower(): d for d in Weekday}


class Days(Spec[frozenset[Weekday]]):
    """Weekdays: a list of ``mon`` … ``sun``; ranges such as ``mon-fri`` are accepted."""

    def __init__(self, description: str = "") -> None:
        self.description = description

    def _one(self, node: YNode, ctx: Context) -> set[Weekday] | Invalid:
        if not isinstance(node, YScalar) or not isinstance(node.value, str):
            return ctx.error(
                node, _("expected a day (mon … sun), found {found}").format(found=kind_of(node))
            )
        word = node.value
        parts = word.split("-")
        if len(parts) == 2 and all(p in DAY_NAMES for p in parts):
            a, b = DAY_NAMES[parts[0]], DAY_NAMES[parts[1]]
            if b < a:
                return ctx.error(
                    node,
                    _("{word}: a day range goes forward, e.g. mon-fri").format(word=repr(word)),
                )
            return {Weekday(i) for i in range(a, b + 1)}
        if word in DAY_NAMES:
            return {DAY_NAMES[word]}
        close = difflib.get_close_matches(word.strip().lower(), list(DAY_NAMES), n=1)
        hint = did_you_mean(close[0]) if close else ""
        return ctx.error(
            node,
            _("{raw} is not a day; use mon tue wed thu fri sat sun{hint}").format(
                raw=repr(node.raw), hint=hint
            ),
        )

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
                node, _("no days listed, so this never plays; list days or remove 'days'")
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
        raise ValueError(
            _("{text} is not an hour window; write HH:MM-HH:MM, e.g. 07:00-18:00").format(
                text=repr(text)
            )
        )
    h1, m1, h2, m2 = (int(g) for g in match.groups())
    for h, m in ((h1, m1), (h2, m2)):
        if m > 59 or h > 24 or (h == 24 and m != 0):
            raise ValueError(
                _("{text}: {h:02d}:{m:02d} is not a time of day").format(text=repr(text), h=h, m=m)
            )
    start, end = h1 * 60 + m1, h2 * 60 + m2
    if start == 1440:
        raise ValueError(
            _("{text}: a window cannot start at 24:00; use 00:00").format(text=repr(text))
        )
    if start == end:
        raise ValueError(
            _("{text} is empty (it starts when it ends), so it never plays").format(text=repr(text))
        )
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
                ctx.error(
                    item,
                    _("expected an hour window HH:MM-HH:MM, found {found}{hint}").format(
                        found=kind_of(item), hint=hint
                    ),
                )
                continue
            try:
                windows.append(parse_hours(item.value))
            except ValueError as exc:
                ok = False
                ctx.error(item, str(exc))
        if not ok:
            return INVALID
        if not windows:
            return ctx.error(node, _("no hour windows listed; list some or remove 'hours'"))
        return tuple(windows)

    def schema(self) -> JSON:
        window = {"type": "string", "pattern": r"^\s*\d{1,2}:\d{2}\s*-\s*\d{1,2}:\d{2}\s*$"}
        out: JSON = {"anyOf": [window, {"type": "array", "items": window, "minItems": 1}]}
        if self.description:
            out["description"] = self.description
        return out
