"""Player-side heartbeats: every 30 s the screen tells the hub who it is and how it is.

A heartbeat carries the screen id and tags, the version and slide (or alert) on screen,
the last successful sync and its age, error counts and the last error, uptime, memory,
free disk of the cache and, every few minutes, a small screenshot (PNG, 320 px wide).

It runs on its own thread with bounded timeouts and keeps nothing while the hub is down:
each beat is built fresh from the current state, sent once, and dropped if it fails (the
rate-limited ``signage.kiosk`` logger says so once per interval, not every 30 s).
``HeartbeatReport`` is also what the hub parses (``signage.hub.telemetry_routes``).
"""

from __future__ import annotations

import base64
import io
import logging
import math
import os
import shutil
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from signage import __version__
from signage.events import EventLog, rfc3339_ms
from signage.logs import ErrorTally, error_tally

if TYPE_CHECKING:
    import requests

    from signage.timebase import TimeKeeper

log = logging.getLogger("signage.kiosk")

DEFAULT_INTERVAL_S = 30.0
DEFAULT_SCREENSHOT_EVERY_S = 300.0
SCREENSHOT_WIDTH = 320
MAX_SCREENSHOT_BYTES = 512 * 1024  # the hub refuses bigger; ours are ~20-80 KB
HEARTBEAT_PATH = "/api/v1/heartbeat"
# Said with a 401/403: the usual cause is a screen holding no token, or the wrong one.
AUTH_REFUSED_HINT = (
    " (hub_token_file in the player configuration must hold the hub's screen token, "
    "the file it was started with as --screen-token-file)"
)

# Proof-of-play events that mean something went wrong on screen or in the feed.
ERROR_EVENTS = ("slide_skipped", "feed_rejected", "playlist_rejected")


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
    clock_offset_s: float | None = None  # hub time minus this clock (signage.timebase)

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
            "clock_offset_s": None
            if self.clock_offset_s is None
            else round(self.clock_offset_s, 3),
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
            sent=_time(data.get("sent"), "sent") or datetime.now(UTC),
            tags=tuple(tags),
            version=_opt(data, "version", int),
            playlist=_opt(data, "playlist", str),
            slide=_opt(data, "slide", str),
            alert=_opt(data, "alert", str),
            last_sync=_time(data.get("last_sync"), "last_sync"),
            stale=bool(data.get("stale", False)),
            errors=dict(errors),
            last_error=_opt(data, "last_error", str),
            uptime_s=float(_opt(data, "uptime_s", float) or 0.0),
            rss_mb=float(_opt(data, "rss_mb", float) or 0.0),
            disk_free_mb=_opt(data, "disk_free_mb", float),
            software=str(data.get("software") or "?"),
            screenshot_png=png,
            clock_offset_s=_opt(data, "clock_offset_s", float),
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


def _time(value: Any, key: str) -> datetime | None:
    if value is None:
        return None
    if not isinstance(value, str):
        raise ReportError(f"'{key}' must be an RFC 3339 time")
    try:
        moment = datetime.fromisoformat(value.replace("Z", "+00:00"))
    except ValueError:
        raise ReportError(f"'{key}' must be an RFC 3339 time, got {value!r}") from None
    return moment if moment.tzinfo else moment.replace(tzinfo=UTC)


@dataclass(frozen=True, slots=True)
class SyncState:
    """What the content source knows about syncing: the last success and staleness."""

    last_success: datetime | None = None
    stale: bool = False


class EventTracker:
    """Listens to the proof-of-play log: counts error events and remembers the last sync.

    ``feed_applied`` counts as a successful sync; sources that also know about "unchanged"
    syncs can report them with ``synced(now)``. Thread-safe; memory is a few counters.
    """

    def __init__(self, events: EventLog | None = None) -> None:
        self._lock = threading.Lock()
        self._counts: dict[str, int] = {}
        self._last_sync: datetime | None = None
        self._last_error: str | None = None
        if events is not None:
            events.subscribe(self.on_event)

    def on_event(self, record: dict[str, Any]) -> None:
        name = record.get("event")
        if name == "feed_applied":
            self.synced(_time(record.get("ts"), "ts") or datetime.now(UTC))
        elif name in ERROR_EVENTS:
            reason = record.get("reason") or record.get("errors") or ""
            with self._lock:
                self._counts[name] = self._counts.get(name, 0) + 1
                self._last_error = f"{name}: {reason}"[:500]

    def synced(self, when: datetime) -> None:
        with self._lock:
            if self._last_sync is None or when > self._last_sync:
                self._last_sync = when

    def counts(self) -> dict[str, int]:
        with self._lock:
            return dict(self._counts)

    def last_sync(self) -> datetime | None:
        with self._lock:
            return self._last_sync

    def last_error(self) -> str | None:
        with self._lock:
            return self._last_error


def rss_mb() -> float:
    """Resident memory of this process in MiB (Linux /proc; 0 when unknown)."""
    try:
        pages = int(Path("/proc/self/statm").read_text().split()[1])
    except (OSError, IndexError, ValueError):
        return 0.0
    return pages * os.sysconf("SC_PAGE_SIZE") / 1_048_576


def disk_free_mb(folder: Path | None) -> float | None:
    """Free space of the filesystem holding ``folder`` (its nearest existing parent)."""
    if folder is None:
        return None
    probe = folder
    while not probe.exists() and probe != probe.parent:
        probe = probe.parent
    try:
        return shutil.disk_usage(probe).free / 1_048_576
    except OSError:
        return None


def thumbnail_png(image: bytes, width: int = SCREENSHOT_WIDTH) -> bytes:
    """Any image Pillow reads, scaled to ``width`` px wide, as an optimised PNG."""
    from PIL import Image

    with Image.open(io.BytesIO(image)) as src:
        src.load()
        rgb = src.convert("RGB")
    height = max(1, round(rgb.height * width / max(1, rgb.width)))
    small = rgb.resize((width, height), Image.Resampling.LANCZOS)
    out = io.BytesIO()
    small.save(out, format="PNG", optimize=True)
    return out.getvalue()


StatusProvider = Callable[[], Mapping[str, Any]]


NUDGE_SETTLE_S = 0.25  # a nudge waits this long for the changes that come with it


class Heartbeat:
    """Sends a heartbeat every ``interval_s`` from a background thread.

    Args:
        hub: the hub's base URL (``http://hub:8750``).
        screen, tags: who this screen is.
        status: the player's latest status (keys ``version``, ``playlist``, ``slide``,
            ``alert``); must be safe to call from this thread (``signage.kiosk.systemd``
            keeps a copy taken on the GUI thread).
        sync: the content source's sync state; default from ``tracker``.
        screenshot: the latest full-size screenshot (any image format) or ``None``;
            called from this thread, so it should return bytes captured elsewhere.
        cache: the cache folder whose free disk is reported.
        token: the hub token (Bearer), when the hub asks for one.
        on_beat: called after each beat with the free disk in MiB (low-disk GC hook).
        clock: aware "now"; monotonic: for uptime.
        timekeeper: told the hub's time from each answer; its offset goes in each beat.
    """

    def __init__(
        self,
        hub: str,
        screen: str,
        tags: frozenset[str] | tuple[str, ...] = (),
        *,
        status: StatusProvider | None = None,
        sync: Callable[[], SyncState] | None = None,
        screenshot: Callable[[], bytes | None] | None = None,
        cache: Path | None = None,
        token: str | None = None,
        interval_s: float = DEFAULT_INTERVAL_S,
        min_gap_s: float = 2.0,
        screenshot_every_s: float = DEFAULT_SCREENSHOT_EVERY_S,
        timeout_s: tuple[float, float] = (3.0, 5.0),
        tracker: EventTracker | None = None,
        tally: ErrorTally | None = None,
        session: requests.Session | None = None,
        on_beat: Callable[[float | None], object] | None = None,
        clock: Callable[[], datetime] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        timekeeper: TimeKeeper | None = None,
    ) -> None:
        self.url = hub.rstrip("/") + HEARTBEAT_PATH
        self.timekeeper = timekeeper
        self.screen = screen
        self.tags = tuple(sorted(tags))
        self._status = status or dict
        self._tracker = tracker or EventTracker()
        self._sync = sync or self._sync_from_tracker
        self._screenshot = screenshot
        self._cache = cache
        self._token = token
        self.interval_s = interval_s
        self.screenshot_every_s = screenshot_every_s
        self._timeout = timeout_s
        self._tally = tally if tally is not None else error_tally()
        self._session = session  # made on first use: importing requests costs ~75 ms
        self._on_beat = on_beat
        self._clock = clock or (lambda: datetime.now(UTC))
        self._monotonic = monotonic
        self._started = monotonic()
        self._last_screenshot: float | None = None
        self._stop = threading.Event()
        self._soon = threading.Event()
        self.min_gap_s = min_gap_s
        self._thread: threading.Thread | None = None
        self.sent = 0
        self.failed = 0

    def _sync_from_tracker(self) -> SyncState:
        return SyncState(last_success=self._tracker.last_sync())

    def screenshot_due(self) -> bool:
        if self._screenshot is None or self.screenshot_every_s <= 0:
            return False
        last = self._last_screenshot
        return last is None or self._monotonic() - last >= self.screenshot_every_s

    def build_report(self, with_screenshot: bool = False) -> HeartbeatReport:
        """The heartbeat as it would be sent now (no network)."""
        status = self._status()
        sync = self._sync()
        errors = self._tally.counts()
        errors.update(self._tracker.counts())
        last = self._tally.last()
        last_error = self._tracker.last_error()
        if last is not None:
            last_error = f"{last.area}: {last.message}"
        png: bytes | None = None
        if with_screenshot and self._screenshot is not None:
            raw = self._screenshot()
            if raw:
                try:
                    png = thumbnail_png(raw)
                except (OSError, ValueError) as exc:
                    log.warning("cannot make a screenshot thumbnail: %s", exc)
        version = status.get("version")
        return HeartbeatReport(
            screen=self.screen,
            sent=self._clock(),
            tags=self.tags,
            version=version if isinstance(version, int) and not isinstance(version, bool) else None,
            playlist=_str_or_none(status.get("playlist")),
            slide=_str_or_none(status.get("slide")),
            alert=_alert(status.get("alert")),
            last_sync=sync.last_success,
            stale=sync.stale or bool(status.get("stale", False)),
            errors=errors,
            last_error=last_error,
            uptime_s=self._monotonic() - self._started,
            rss_mb=rss_mb(),
            disk_free_mb=disk_free_mb(self._cache),
            screenshot_png=png,
            clock_offset_s=None if self.timekeeper is None else self.timekeeper.offset_s(),
        )

    def beat(self) -> bool:
        """Builds and sends one heartbeat; ``True`` when the hub took it."""
        import requests

        if self._session is None:
            self._session = requests.Session()

        with_shot = self.screenshot_due()
        try:
            report = self.build_report(with_screenshot=with_shot)
        except Exception:  # a broken status provider must not end the heartbeat thread
            log.exception("cannot build a heartbeat")
            return False
        headers = {"Content-Type": "application/json"}
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        ok = False
        try:
            keeper = self.timekeeper
            asked = keeper.mono() if keeper is not None else 0.0
            response = self._session.post(
                self.url, json=report.to_json(), headers=headers, timeout=self._timeout
            )
            if keeper is not None:  # even a refusal tells the hub's time (its Date)
                hub_time_from(response, asked, keeper.mono(), keeper)
            if response.status_code // 100 == 2:
                ok = True
            else:
                log.warning(
                    "the hub refused the heartbeat at %s: HTTP %s%s",
                    self.url,
                    response.status_code,
                    AUTH_REFUSED_HINT if response.status_code in (401, 403) else "",
                )
            response.close()
        except requests.RequestException as exc:
            log.warning("cannot reach the hub at %s: %s", self.url, type(exc).__name__)
        if ok:
            self.sent += 1
            if report.screenshot_png is not None:
                self._last_screenshot = self._monotonic()
        else:
            self.failed += 1
        if self._on_beat is not None:
            try:
                self._on_beat(report.disk_free_mb)
            except Exception:
                log.exception("the low-disk check failed")
        return ok

    def start(self) -> None:
        """Starts the thread; the first beat goes out at once."""
        if self._thread is not None:
            return
        self._stop.clear()
        self._thread = threading.Thread(target=self._run, name="signage-heartbeat", daemon=True)
        self._thread.start()

    def nudge(self) -> None:
        """Asks for a beat soon: what the screen shows changed (a new version, an alert).

        Without it the hub would report the screen as it was up to ``interval_s`` ago (the
        first beat, sent at the first frame, often shows the waiting screen). Beats stay at
        least ``min_gap_s`` apart however often this is called. Any thread.
        """
        self._soon.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._soon.clear()
            last = self._monotonic()
            self.beat()
            deadline = last + self.interval_s
            while not self._stop.is_set():
                remaining = deadline - self._monotonic()
                if remaining <= 0:
                    break
                if self._soon.wait(remaining):
                    # Gather a burst of changes (a version and its alert) into one beat, and
                    # keep beats min_gap_s apart.
                    settle = min(NUDGE_SETTLE_S, self.min_gap_s)
                    gap = self.min_gap_s - (self._monotonic() - last)
                    self._stop.wait(max(settle, gap))
                    break

    def stop(self, timeout_s: float = 2.0) -> None:
        """Ends the thread (an in-flight request is bounded by the timeouts)."""
        self._stop.set()
        self._soon.set()  # wakes a wait for the next beat
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout_s)
        if self._session is not None:
            self._session.close()


def hub_time_from(
    response: requests.Response, asked: float, answered: float, keeper: TimeKeeper
) -> None:
    """Tells ``keeper`` the hub's time from a heartbeat answer: its ``time``, else ``Date``."""
    told = None
    if len(response.content) <= 4096:
        try:
            body = response.json()
        except ValueError:
            body = None
        if isinstance(body, dict) and isinstance(body.get("time"), str):
            try:
                told = _time(body["time"], "time")
            except ReportError:
                told = None
    if told is not None:
        keeper.observe_hub(told, asked, answered)
    else:
        keeper.observe_http_date(response.headers.get("Date"), asked, answered)


def _alert(value: Any) -> str | None:
    """The alert on screen: its id, or ``on-screen`` when the player only says one is up."""
    if value is True:
        return "on-screen"
    return _str_or_none(value)


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
