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
import json
import math
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime
from typing import Any

from signage import __version__
from signage.events import rfc3339_ms

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
            "disk_free_mb": None if self.disk_free_mb is None else round(self.disk_free_mb, 1),
            "software": self.software,
        }
        if self.screenshot_png is not None:
            out["screenshot_png"] = base64.b64encode(self.screenshot_png).decode("ascii")
        return out

    @classmethod
    def from_json(cls, data: Any) -> HeartbeatReport:
        """Parses what ``to_json`` wrote; raises ReportError naming the bad field."""
        if not isinstance(data, dict):
            raise ReportError("the heartbeat must be a JSON object")
        screen = data.get("screen")
        if not isinstance(screen, str) or not screen.strip() or len(screen) > 128:
            raise ReportError("'screen' must be a non-empty string of at most 128 characters")
        if "/" in screen or "\\" in screen or screen.startswith("."):
            raise ReportError("'screen' must not contain '/' or '\\' or start with '.'")
        tags = data.get("tags", [])
        if not isinstance(tags, list) or not all(isinstance(t, str) for t in tags):
            raise ReportError("'tags' must be a list of strings")
        errors = data.get("errors", {})
        if not isinstance(errors, dict) or not all(
            isinstance(k, str) and isinstance(v, int) and not isinstance(v, bool)
            for k, v in errors.items()
        ):
            raise ReportError("'errors' must map names to whole numbers")
        png: bytes | None = None
        if data.get("screenshot_png") is not None:
            raw = data["screenshot_png"]
            if not isinstance(raw, str):
                raise ReportError("'screenshot_png' must be base64 text")
            try:
                png = base64.b64decode(raw, validate=True)
            except ValueError:
                raise ReportError("'screenshot_png' is not valid base64") from None
            if len(png) > MAX_SCREENSHOT_BYTES or not png.startswith(b"\x89PNG\r\n\x1a\n"):
                raise ReportError(f"'screenshot_png' must be a PNG under {MAX_SCREENSHOT_BYTES} B")
        return cls(
            screen=screen,
            sent=parse_time(data.get("sent"), "sent") or datetime.now(UTC),
            tags=tuple(tags),
            version=_opt(data, "version", int),
            playlist=_opt(data, "playlist", str),
            slide=_opt(data, "slide", str),
            alert=_opt(data, "alert", str),
            last_sync=parse_time(data.get("last_sync"), "last_sync"),
            stale=bool(data.get("stale", False)),
            errors=dict(errors),
            last_error=_opt(data, "last_error", str),
            uptime_s=float(_opt(data, "uptime_s", float) or 0.0),
            rss_mb=float(_opt(data, "rss_mb", float) or 0.0),
            disk_free_mb=_opt(data, "disk_free_mb", float),
            software=str(data.get("software") or "?"),
            screenshot_png=png,
        )


def _opt(data: Mapping[str, Any], key: str, kind: type) -> Any:
    value = data.get(key)
    if value is None:
        return None
    if kind is float and isinstance(value, int | float) and not isinstance(value, bool):
        if not math.isfinite(value):
            raise ReportError(f"'{key}' must be a finite number")
        return float(value)
    if not isinstance(value, kind) or isinstance(value, bool):
        raise ReportError(f"'{key}' must be {'a number' if kind is not str else 'a string'}")
    return value


def parse_time(value: Any, key: str) -> datetime | None:
    """An RFC 3339 time field (``None`` stays ``None``); raises ReportError naming ``key``."""
    if value is None:
        return None
    if not isinstance(value, str):
        raise ReportError(f"'{key}' must be an RFC 3339 time")
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ReportError(f"'{key}' must be an RFC 3339 time, got {value!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)
