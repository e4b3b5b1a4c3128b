"""Telemetry on the wire: what a screen sends the hub, read and written by both sides.

- Heartbeats: ``POST /api/v1/heartbeat`` with one ``HeartbeatReport`` as JSON
  (``to_json``); the hub parses it with ``HeartbeatReport.from_json``, which refuses a bad
  body with a ``ReportError`` naming the field.
- Proof-of-play: ``POST /api/v1/events`` with a batch ``{"events": [...]}`` of event
  records (each with a unique ``eid``; see ``signage.events``); the hub answers
  ``{"rejected": [{"index", "reason"}, ...]}`` for the ones it will never take
  (``events_body``, ``rejected_in``).

Both are sent with ``Authorization: Bearer <screen token>``; a 401/403 is logged by the
player with ``AUTH_REFUSED_HINT``. No network and no threads here: the player's side is
``telemetry.heartbeat`` and ``telemetry.uplink``, the hub's ``hub.telemetry_routes`` and
``hub.scan_routes``.
"""

from __future__ import annotations

import base64
import functools
import json
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import TYPE_CHECKING, Any

from signage import __version__
from signage.events import rfc3339_ms
from signage.i18n import _

if TYPE_CHECKING:
    from signage.validation import Context, Spec, YNode

__all__ = [
    "AUTH_REFUSED_HINT",
    "EVENTS_PATH",
    "HEARTBEAT_PATH",
    "MAX_SCREENSHOT_BYTES",
    "HeartbeatReport",
    "ReportError",
    "events_body",
    "parse_time",
    "rejected_in",
]

HEARTBEAT_PATH = "/api/v1/heartbeat"
EVENTS_PATH = "/api/v1/events"
MAX_SCREENSHOT_BYTES = 512 * 1024  # the hub refuses bigger; ours are ~20-80 KB
# Said with a 401/403: the usual cause is a screen holding no token, or the wrong one.
AUTH_REFUSED_HINT = (
    " (hub_token_file in the player configuration must hold the hub's screen token, "
    "the file it was started with as --screen-token-file)"
)


def events_body(events: Sequence[Mapping[str, Any]]) -> bytes:
    """The JSON body of one proof-of-play batch."""
    return json.dumps({"events": list(events)}, ensure_ascii=False, default=str).encode("utf-8")


def rejected_in(answer: Any) -> list[Any]:
    """The events the hub refused in its answer to a batch (empty when it says none)."""
    refused = answer.get("rejected") if isinstance(answer, dict) else None
    return refused if isinstance(refused, list) else []


class ReportError(ValueError):
    """Raised when a heartbeat body is not a valid report; the message names the field."""


@dataclass(frozen=True, slots=True)
class HeartbeatReport:
    """One heartbeat, as sent by a screen and kept by the hub.

    Args:
        playing: a human line: ``lobby/eficiencia`` or ``alert:corte-red``.
        last_sync: when content was last fetched or confirmed unchanged (``None``: never).
        stale: the screen plays content past its ``expires`` (or could not sync in time).
        errors: counts of warnings/errors per area and of error events per event name.
        screenshot_png: a small PNG, on some beats only.
        audience, exercise: what the screen's config says (which alerts it shows), so the hub
            can say how many screens an alert will reach; ``None`` from older screens.
        feed_source: the feed URL (hub or mirror) that delivered the version on screen;
            absent from older screens' beats (``None``).
    """

    screen: str
    sent: datetime
    tags: tuple[str, ...] = ()
    version: int | None = None
    playlist: str | None = None
    slide: str | None = None
    alert: str | None = None
    last_sync: datetime | None = None
    stale: bool = False
    errors: Mapping[str, int] = field(default_factory=dict)
    last_error: str | None = None
    uptime_s: float = 0.0
    rss_mb: float = 0.0
    disk_free_mb: float | None = None
    software: str = __version__
    screenshot_png: bytes | None = field(default=None, repr=False)
    feed_source: str | None = None
    audience: str | None = None
    exercise: bool | None = None
    clock_offset_s: float | None = None  # hub time minus the screen's (signage.timebase)
    rss_start_mb: float | None = None  # the first beat's RSS (the screen just came up)
    stopped: bool = False  # the last beat of a player that stops cleanly

    @property
    def playing(self) -> str:
        if self.alert:
            return f"alert:{self.alert}"
        if self.playlist and self.slide:
            return f"{self.playlist}/{self.slide}"
        return self.playlist or "idle"

    @property
    def last_sync_age_s(self) -> float | None:
        if self.last_sync is None:
            return None
        return max(0.0, (self.sent - self.last_sync).total_seconds())

    def to_json(self) -> dict[str, Any]:
        out: dict[str, Any] = {
            "screen": self.screen,
            "sent": rfc3339_ms(self.sent),
            "tags": list(self.tags),
            "version": self.version,
            "playing": self.playing,
            "playlist": self.playlist,
            "slide": self.slide,
            "alert": self.alert,
            "last_sync": None if self.last_sync is None else rfc3339_ms(self.last_sync),
            "last_sync_age_s": self.last_sync_age_s,
            "stale": self.stale,
            "errors": dict(self.errors),
            "last_error": self.last_error,
            "uptime_s": round(self.uptime_s, 1),
            "rss_mb": round(self.rss_mb, 1),
            "rss_start_mb": None if self.rss_start_mb is None else round(self.rss_start_mb, 1),
            "disk_free_mb": None if self.disk_free_mb is None else round(self.disk_free_mb, 1),
            "software": self.software,
            "clock_offset_s": None
            if self.clock_offset_s is None
            else round(self.clock_offset_s, 3),
        }
        for key in ("feed_source", "audience", "exercise"):
            value = getattr(self, key)
            if value is not None:
                out[key] = value
        if self.stopped:
            out["stopped"] = True
        if self.screenshot_png is not None:
            out["screenshot_png"] = base64.b64encode(self.screenshot_png).decode("ascii")
        return out

    @classmethod
    def from_json(cls, data: Any) -> HeartbeatReport:
        """Parses what ``to_json`` wrote; raises ReportError naming the bad field.

        Checked by the validation kit (``signage.validation``, loaded only here: the player
        never parses a report); keys it does not know are ignored (newer screens)."""
        from signage.errors import ValidationError
        from signage.validation import check_json

        if not isinstance(data, dict):
            raise ReportError(_("the heartbeat must be a JSON object"))
        try:
            report = check_json(_report_spec(), data, _("the heartbeat"))
        except ValidationError as exc:
            raise ReportError(exc.problems[0].message) from None
        _refuse_absurd(data, report.screen, report.tags, report.errors)
        return report


@functools.cache
def _report_spec() -> Spec[HeartbeatReport]:
    """The heartbeat body as a validation-kit ``Record`` (built once, on first use)."""
    from signage.validation import (
        JSON,
        Boolean,
        Field,
        Integer,
        Invalid,
        ListOf,
        MapOf,
        Nullable,
        Number,
        Record,
        Spec,
        Text,
        Timestamp,
        Values,
        YScalar,
    )

    class Png(Spec[bytes]):
        """A small PNG screenshot, base64 in the body."""

        def convert(self, node: YNode, ctx: Context) -> bytes | Invalid:
            raw = node.value if isinstance(node, YScalar) else None
            if not isinstance(raw, str):
                return ctx.error(node, "must be base64 text")
            try:
                png = base64.b64decode(raw, validate=True)
            except ValueError:
                return ctx.error(node, "is not valid base64")
            if len(png) > MAX_SCREENSHOT_BYTES or not png.startswith(b"\x89PNG\r\n\x1a\n"):
                return ctx.error(node, f"must be a PNG under {MAX_SCREENSHOT_BYTES} B")
            return png

        def schema(self) -> JSON:
            return {"type": "string", "contentEncoding": "base64"}

    def text(max_len: int = 100_000) -> Nullable[str]:
        return Nullable(Text(min_len=0, max_len=max_len, numbers=False))

    def build(v: Values, ctx: Context) -> HeartbeatReport:
        return HeartbeatReport(
            screen=v.get("screen", ""),
            sent=v.get("sent", None) or datetime.now(UTC),
            tags=v.get("tags", ()),
            version=v.get("version", None),
            playlist=v.get("playlist", None),
            slide=v.get("slide", None),
            alert=v.get("alert", None),
            last_sync=v.get("last_sync", None),
            stale=bool(v.get("stale", False)),
            errors=v.get("errors", {}),
            last_error=v.get("last_error", None),
            uptime_s=v.get("uptime_s", None) or 0.0,
            rss_mb=v.get("rss_mb", None) or 0.0,
            disk_free_mb=v.get("disk_free_mb", None),
            software=v.get("software", None) or "?",
            screenshot_png=v.get("screenshot_png", None),
            feed_source=v.get("feed_source", None),
            audience=v.get("audience", None),
            exercise=v.get("exercise", None),
            clock_offset_s=v.get("clock_offset_s", None),
            rss_start_mb=v.get("rss_start_mb", None),
            stopped=bool(v.get("stopped", False)),
        )

    screen = Text(
        max_len=128,
        numbers=False,
        pattern=r"(?!\.)[^/\\]+",
        hint="a screen id has no '/' or '\\' and does not start with '.'",
    )
    return Record(
        {
            "screen": Field(screen, required=True),
            "sent": Field(Nullable(Timestamp())),
            "tags": Field(ListOf(Text(min_len=0, numbers=False))),
            "version": Field(Nullable(Integer())),
            "playlist": Field(text()),
            "slide": Field(text()),
            "alert": Field(text()),
            "last_sync": Field(Nullable(Timestamp())),
            "stale": Field(Nullable(Boolean())),
            "errors": Field(MapOf(Integer())),
            "last_error": Field(text()),
            "uptime_s": Field(Nullable(Number())),
            "rss_mb": Field(Nullable(Number())),
            "disk_free_mb": Field(Nullable(Number())),
            "software": Field(Nullable(Text(min_len=0, max_len=200))),
            "screenshot_png": Field(Nullable(Png())),
            "feed_source": Field(text(2048)),
            "audience": Field(text(20)),
            "exercise": Field(Nullable(Boolean())),
            "clock_offset_s": Field(Nullable(Number())),
            "rss_start_mb": Field(Nullable(Number())),
            "stopped": Field(Nullable(Boolean())),
        },
        build,
        title="the heartbeat",
        ignore_unknown=True,
    )


_RANGES: dict[str, tuple[float, float]] = {
    "version": (0, 2**53),  # versions are whole seconds since 1970: far below 2**53
    "uptime_s": (0, 10 * 365 * 86400),
    "rss_mb": (0, 1 << 24),
    "rss_start_mb": (0, 1 << 24),
    "disk_free_mb": (0, 1 << 40),
    "clock_offset_s": (-10 * 365 * 86400, 10 * 365 * 86400),  # a clock ten years off at most
}


def _refuse_absurd(
    data: Mapping[str, Any], screen: str, tags: Sequence[str], errors: Mapping[str, int]
) -> None:
    """Refuses values no player sends (negative or 10**30 versions, control characters in
    ids): stopped at the door, they never reach the database, the fleet view or a terminal."""
    import unicodedata

    for key, (low, high) in _RANGES.items():
        value = data.get(key)
        if isinstance(value, bool) or not isinstance(value, int | float):
            continue  # absent, or refused by its own type check
        if not low <= value <= high:
            raise ReportError(
                _("'{key}' is out of range ({low} to {high})").format(
                    key=key, low=f"{low:g}", high=f"{high:g}"
                )
            )
    if any(not 0 <= v <= 2**31 for v in errors.values()):
        raise ReportError(_("'errors' counts must be between 0 and 2**31"))
    for what, text in (("screen", screen), *(("tags", t) for t in tags)):
        if any(unicodedata.category(ch) in ("Cc", "Cf", "Zl", "Zp") for ch in text):
            raise ReportError(
                _("'{key}' must not contain control or formatting characters").format(key=what)
            )


def parse_time(value: Any, key: str) -> datetime | None:
    """An RFC 3339 time field (``None`` stays ``None``); raises ReportError naming ``key``."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise ReportError(_("'{key}' must be an RFC 3339 time").format(key=key))
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ReportError(
            _("'{key}' must be an RFC 3339 time, got {value}").format(key=key, value=repr(value))
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
