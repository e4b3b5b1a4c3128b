"""Player-side heartbeats: every 30 s the screen tells the hub who it is and how it is.

A heartbeat carries the screen id and tags, the version and slide (or alert) on screen,
the last successful sync and its age, error counts and the last error, uptime, memory,
free disk of the cache and, every few minutes, a small screenshot (PNG, 320 px wide).

It runs on its own thread with bounded timeouts and keeps nothing while the hub is down:
each beat is built fresh from the current state, sent once, and dropped if it fails (the
rate-limited ``signage.kiosk`` logger says so once per interval, not every 30 s).
What is sent, ``HeartbeatReport``, is in ``signage.telemetry.wire`` (the hub parses it).
``heartbeat_for`` builds the heartbeat a player with a given configuration runs.
"""

from __future__ import annotations

import io
import os
import random
import shutil
import threading
import time
from collections.abc import Callable, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from signage.events import EventLog
from signage.logs import ErrorTally, area_logger, error_tally
from signage.telemetry.wire import (
    AUTH_REFUSED_HINT,
    HEARTBEAT_PATH,
    HeartbeatReport,
    ReportError,
    parse_time,
)
from signage.trust import bundle_for

if TYPE_CHECKING:
    import requests

    from signage.config import PlayerConfig
    from signage.timebase import TimeKeeper

log = area_logger("kiosk")

DEFAULT_INTERVAL_S = 30.0
DEFAULT_SCREENSHOT_EVERY_S = 300.0
FRESH_SHOT_GAP_S = 5.0  # a screenshot after a slide change, at most one per this many seconds
SCREENSHOT_WIDTH = 320

# Proof-of-play events that mean something went wrong on screen or in the feed.
ERROR_EVENTS = ("slide_skipped", "feed_rejected", "playlist_rejected")


@dataclass(frozen=True, slots=True)
class SyncState:
    """What the content source knows about syncing: the last success and staleness."""

    last_success: datetime | None = None
    stale: bool = False
    source: str | None = None  # the feed URL that delivered the version on screen


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
            self.synced(parse_time(record.get("ts"), "ts") or datetime.now(UTC))
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
        clock: aware "now"; monotonic: for uptime; memory: this process's RSS in MiB.
        timekeeper: told the hub's time from each answer; its offset goes in each beat.
        spread: the hub's ``beat_spread_s`` now (the feed source's); a nudged beat waits a
            random part of it (``rng``) besides ``NUDGE_SETTLE_S``.
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
        ca_bundle: str | None = None,
        on_beat: Callable[[float | None], object] | None = None,
        clock: Callable[[], datetime] | None = None,
        monotonic: Callable[[], float] = time.monotonic,
        audience: str | None = None,
        exercise: bool | None = None,
        timekeeper: TimeKeeper | None = None,
        memory: Callable[[], float] = rss_mb,
        spread: Callable[[], float] | None = None,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self.url = hub.rstrip("/") + HEARTBEAT_PATH
        self.timekeeper = timekeeper
        self.screen = screen
        self.tags = tuple(sorted(tags))
        self.audience, self.exercise = audience, exercise
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
        self._verify: str | bool = ca_bundle or True  # ca_file: system CAs + the org's
        self._on_beat = on_beat
        self._clock = clock or (lambda: datetime.now(UTC))
        self._monotonic = monotonic
        self._started = monotonic()
        self._memory = memory
        self._rss_start: float | None = None  # so the hub can tell a leak from a big screen
        self._last_screenshot: float | None = None
        self._fresh_shot = False  # what the screen shows changed: send a picture soon
        self._stopping = False
        self._stop = threading.Event()
        self._soon = threading.Event()
        self._nudged = False  # a version or an alert (nudge): beat soon; a slide change alone waits
        self.min_gap_s = min_gap_s
        self._spread = spread
        self._rng = rng
        self._thread: threading.Thread | None = None
        self.sent = 0
        self.failed = 0

    def _sync_from_tracker(self) -> SyncState:
        return SyncState(last_success=self._tracker.last_sync())

    def screenshot_due(self) -> bool:
        if self._screenshot is None or self.screenshot_every_s <= 0:
            return False
        last = self._last_screenshot
        if last is None:
            return True
        since = self._monotonic() - last
        return since >= self.screenshot_every_s or (
            self._fresh_shot and since >= self.fresh_gap_s()
        )

    def fresh_gap_s(self) -> float:
        """How soon after the last screenshot a slide change sends a new one:
        ``FRESH_SHOT_GAP_S``, or in a big fleet the hub's ``beat_spread_s`` (the hub asks for
        a spread of one second per ``BEATS_PER_S`` screens, so the slide changes of the
        whole fleet then cost it about that many screenshot beats a second, not one per
        screen per slide: ~1,000 a second at 10,000 screens showing 10 s slides)."""
        return max(FRESH_SHOT_GAP_S, self._spread_s())

    def picture_changed(self) -> None:
        """What the screen shows changed (a slide, an alert): a beat with a new screenshot
        comes ``fresh_gap_s`` after the last one (at once if that is past), not before: a
        slide change alone never sends a beat sooner. Any thread."""
        self._fresh_shot = True
        self._soon.set()  # the beat loop re-reads its deadline

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
        rss = self._memory()
        if self._rss_start is None:
            self._rss_start = rss
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
            feed_source=sync.source,
            audience=self.audience,
            exercise=self.exercise,
            errors=errors,
            last_error=last_error,
            uptime_s=self._monotonic() - self._started,
            rss_mb=rss,
            rss_start_mb=self._rss_start,
            disk_free_mb=disk_free_mb(self._cache),
            screenshot_png=png,
            clock_offset_s=None if self.timekeeper is None else self.timekeeper.offset_s(),
            stopped=self._stopping,
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
                self.url,
                json=report.to_json(),
                headers=headers,
                timeout=self._timeout,
                verify=self._verify,
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
                self._fresh_shot = False
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
        self._nudged = True
        self._soon.set()

    def _run(self) -> None:
        while not self._stop.is_set():
            self._soon.clear()
            self._nudged = False
            last = self._monotonic()
            self.beat()
            while not self._stop.is_set():
                deadline = last + self.interval_s
                if self._fresh_shot and self._last_screenshot is not None:  # a picture is owed
                    deadline = min(deadline, self._last_screenshot + self.fresh_gap_s())
                remaining = deadline - self._monotonic()
                if remaining <= 0:
                    break
                if self._soon.wait(remaining):
                    # Cleared before _nudged is read: a nudge that lands after this sets it
                    # again, so the next wait returns at once instead of at the deadline.
                    self._soon.clear()
                    if not self._nudged:  # a slide changed: the deadline above now counts it
                        continue
                    # Gather a burst of changes (a version and its alert) into one beat, and
                    # keep beats min_gap_s apart.
                    settle = min(NUDGE_SETTLE_S, self.min_gap_s) + self.spread_delay()
                    gap = self.min_gap_s - (self._monotonic() - last)
                    self._stop.wait(max(settle, gap))
                    break

    def _spread_s(self) -> float:
        """The hub's ``beat_spread_s`` now, at most 120 s (0 without one or when odd)."""
        if self._spread is None:
            return 0.0
        try:
            spread = float(self._spread())
        except (TypeError, ValueError):
            return 0.0
        if not spread > 0:  # also NaN
            return 0.0
        return min(spread, 120.0)

    def spread_delay(self) -> float:
        """A random part of the hub's ``beat_spread_s`` (0 without one): in a big fleet a
        new version changes every screen at once, and their nudged beats are spread over
        that many seconds instead of reaching the hub in the same instant."""
        spread = self._spread_s()
        return self._rng() * spread if spread > 0 else 0.0

    def stop(self, timeout_s: float = 2.0, *, last_beat: bool = True) -> None:
        """Ends the thread (an in-flight request is bounded by the timeouts); when it was
        running and ``last_beat``, sends one last beat saying ``stopped`` so the hub lists
        the screen as stopped at once rather than online until its window runs out."""
        self._stop.set()
        self._soon.set()  # wakes a wait for the next beat
        thread, self._thread = self._thread, None
        if thread is not None:
            thread.join(timeout_s)
            if last_beat:
                self._stopping = True
                self._timeout = (1.0, 1.0)  # a hub that is down must not hold up the exit
                self.beat()
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
                told = parse_time(body["time"], "time")
            except ReportError:
                told = None
    if told is not None:
        keeper.observe_hub(told, asked, answered)
    else:
        keeper.observe_http_date(response.headers.get("Date"), asked, answered)


def heartbeat_for(
    config: PlayerConfig,
    *,
    status: StatusProvider,
    screenshot: Callable[[], bytes | None] | None = None,
    source: object = None,
    events: EventLog | None = None,
    interval_s: float = DEFAULT_INTERVAL_S,
    screenshot_every_s: float = DEFAULT_SCREENSHOT_EVERY_S,
    on_beat: Callable[[float | None], object] | None = None,
    timekeeper: TimeKeeper | None = None,
) -> Heartbeat | None:
    """The heartbeat a player with ``config`` runs (not started), ``None`` without a hub.

    The hub is ``config.hub_url``, the token ``config.hub_token()``. The last sync is the
    later of the last ``feed_applied`` in ``events`` and what ``source`` knows
    (``last_success`` or ``last_sync``, and ``stale``), so an unchanged poll counts too.
    """
    hub = config.hub_url
    if hub is None:
        return None
    tracker = EventTracker(events)

    def sync_state() -> SyncState:
        last = tracker.last_sync()
        known = getattr(source, "last_success", None) or getattr(source, "last_sync", None)
        if isinstance(known, datetime) and (last is None or known > last):
            last = known
        used = getattr(source, "last_source", None)
        return SyncState(
            last_success=last,
            stale=bool(getattr(source, "stale", False)),
            source=used if isinstance(used, str) else None,
        )

    return Heartbeat(
        hub,
        config.screen,
        config.tags,
        status=status,
        sync=sync_state,
        screenshot=screenshot,
        cache=config.cache,
        token=config.hub_token(),
        interval_s=interval_s,
        screenshot_every_s=screenshot_every_s,
        tracker=tracker,
        on_beat=on_beat,
        clock=lambda: datetime.now(UTC),
        audience=config.audience,
        exercise=config.exercise,
        ca_bundle=bundle_for(config),
        timekeeper=timekeeper,
        spread=lambda: getattr(source, "beat_spread_s", 0.0),
    )


def _alert(value: Any) -> str | None:
    """The alert on screen: its id, or ``on-screen`` when the player only says one is up."""
    if value is True:
        return "on-screen"
    return _str_or_none(value)


def _str_or_none(value: Any) -> str | None:
    return value if isinstance(value, str) and value else None
