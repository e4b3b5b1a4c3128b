"""The hub's telemetry room, its records: each screen's last heartbeat and what it means.

``TelemetryStore`` keeps the last heartbeat of each screen in SQLite (table
``screen_heartbeats``) and its latest screenshot in ``DATA/screenshots/<screen>.png``
(temp file + fsync + rename), and lists the fleet: online (a heartbeat within the online
window, 90 s by default), stale content and why, last error, screenshot. The decisions
(online? stale? why?) are the pure function ``assess``; the rest is I/O. The routes that
take heartbeats in and answer ``/api/v1/screens`` are ``signage.hub.telemetry_routes``;
the heartbeat worker process (``signage.hub.beatworker``) stores through this module.
"""

from __future__ import annotations

import json
import os
import sqlite3
import threading
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any
from urllib.parse import quote

from signage.durable import flush_filesystem, fsync_dir
from signage.events import rfc3339_ms
from signage.hub.screens import ScreenCaller, ScreenRegister
from signage.logs import area_logger
from signage.telemetry.explain import (
    STALE_BEHIND,
    STALE_EMPTY,
    STALE_EXPIRED,
    stale_reason_en,
)
from signage.telemetry.wire import HeartbeatReport, ReportError
from signage.timebase import FLAG_OFFSET_S

if TYPE_CHECKING:
    pass

log = area_logger("hub")

DEFAULT_ONLINE_WINDOW_S = 90.0
# A screen still playing an older version this long after the hub published a newer one
# is stale (two heartbeats and a manifest poll comfortably fit in it).
DEFAULT_STALE_GRACE_S = 75.0
# /api/v1/screens answers a page of screens at a time (by id, ``?after=ID&limit=N``).
DEFAULT_PAGE = 500
MAX_PAGE = 1000

SCHEMA = """
CREATE TABLE IF NOT EXISTS screen_heartbeats (
    screen TEXT PRIMARY KEY,
    received REAL NOT NULL,
    report TEXT NOT NULL,
    screenshot_taken REAL
)
"""


@dataclass(frozen=True, slots=True)
class ScreenState:
    """One row of ``signage status``: a screen as the hub sees it now."""

    screen: str
    online: bool
    age_s: float
    stale: bool
    stale_code: str | None  # signage.telemetry.explain.STALE_CODES
    report: HeartbeatReport
    received: float
    hub_version: int | None
    screenshot_path: Path | None
    screenshot_taken: float | None

    def to_json(self) -> dict[str, Any]:
        r = self.report
        sync_age = r.last_sync_age_s
        return {
            "screen": self.screen,
            "online": self.online,
            "state": screen_state(self.online, self.stale, self.report.stopped),
            "stopped": self.report.stopped,
            "last_seen": _iso(self.received),
            "age_s": round(self.age_s, 1),
            "tags": list(r.tags),
            "version": r.version,
            "hub_version": self.hub_version,
            "playing": r.playing,
            "playlist": r.playlist,
            "slide": r.slide,
            "alert": r.alert,
            "last_sync": None if r.last_sync is None else r.last_sync.isoformat(),
            "last_sync_age_s": None if sync_age is None else round(sync_age + self.age_s, 1),
            "feed_source": r.feed_source,
            "stale": self.stale,
            "stale_code": self.stale_code,
            # fixed English for scripts; people read explain.stale_text(stale_code, ...)
            "stale_reason": None
            if self.stale_code is None
            else stale_reason_en(self.stale_code, r.version, self.hub_version),
            "last_error": r.last_error,
            "errors": dict(r.errors),
            "uptime_s": r.uptime_s,
            "rss_mb": r.rss_mb,
            # the first heartbeat's RSS and the growth since (None: the screen predates it)
            "rss_start_mb": r.rss_start_mb,
            "rss_growth_mb": None
            if r.rss_start_mb is None
            else round(r.rss_mb - r.rss_start_mb, 1),
            "disk_free_mb": r.disk_free_mb,
            "software": r.software,
            **clock_fields(r, self.received),
            "screenshot": None
            if self.screenshot_path is None
            else {
                "path": str(self.screenshot_path),
                "url": f"/api/v1/screens/{quote(self.screen, safe='')}/screenshot",
                "taken": None if self.screenshot_taken is None else _iso(self.screenshot_taken),
            },
        }


def clock_fields(report: HeartbeatReport, received: float) -> dict[str, Any]:
    """The screen's clock offset (hub minus screen, seconds) and whether it is flagged.

    The screen's own estimate when it sends one (``clock_offset_s``), else what the hub
    measures: when the beat arrived by its clock minus when it was sent by the screen's.
    """
    measured = received - report.sent.timestamp()
    offset = report.clock_offset_s if report.clock_offset_s is not None else measured
    return {
        "clock_offset_s": round(offset, 1),
        "clock_offset_measured_s": round(measured, 1),
        "clock_off": abs(offset) > FLAG_OFFSET_S,
    }


def screen_state(online: bool, stale: bool, stopped: bool) -> str:
    """One word for the fleet page: ``stopped`` (its last beat said so), ``offline``,
    ``stale`` or ``online``; pure."""
    if stopped:
        return "stopped"
    if not online:
        return "offline"
    return "stale" if stale else "online"


def _iso(epoch: float) -> str:
    return rfc3339_ms(datetime.fromtimestamp(epoch, UTC))


def assess(
    report: HeartbeatReport,
    received: float,
    now: float,
    *,
    hub_version: int | None,
    hub_version_since: float | None,
    online_window_s: float = DEFAULT_ONLINE_WINDOW_S,
    stale_grace_s: float = DEFAULT_STALE_GRACE_S,
) -> tuple[bool, bool, str | None]:
    """(online, stale, why stale) for one screen's last heartbeat; pure.

    Why is a code of ``signage.telemetry.explain`` (``STALE_CODES``), or None.

    Stale means the screen shows content it should not still show: it says its content
    expired, it has none, or it still plays an older version than the hub's although the
    newer one has been out for longer than ``stale_grace_s`` (judged at the heartbeat).
    """
    online = now - received <= online_window_s and not report.stopped
    if report.stale:
        return online, True, STALE_EXPIRED
    if report.version is None:
        return online, True, STALE_EMPTY
    if (
        hub_version is not None
        and report.version < hub_version
        and hub_version_since is not None
        and received - hub_version_since >= stale_grace_s
    ):
        return online, True, STALE_BEHIND
    return online, False, None


class TelemetryStore:
    """The last heartbeat per screen (SQLite) and the latest screenshot per screen (files).

    Args:
        connect: returns this thread's SQLite connection (the hub's ``db()``).
        screenshots: the folder for ``<screen>.png``.
    """

    def __init__(self, connect: Callable[[], sqlite3.Connection], screenshots: Path) -> None:
        self._connect = connect
        self.screenshots = screenshots
        self._staged = 0  # temp screenshot names (one writer thread at a time)
        db = connect()
        db.executescript(SCHEMA)
        db.commit()
        self._lock = threading.Lock()
        self._version_since: dict[int, float] = {}

    def _db(self) -> sqlite3.Connection:
        return self._connect()

    def note_hub_version(self, version: int | None, now: float) -> float | None:
        """When the hub's current version was first seen (kept for a handful of versions)."""
        if version is None:
            return None
        with self._lock:
            since = self._version_since.setdefault(version, now)
            while len(self._version_since) > 16:
                self._version_since.pop(min(self._version_since))
            return since

    def record(self, report: HeartbeatReport, received: float) -> None:
        """Stores one heartbeat (``record_many`` of one)."""
        self.record_many([(report, received)])

    def record_many(self, beats: Sequence[tuple[HeartbeatReport, float]]) -> None:
        """Stores heartbeats, in order (a later beat of the same screen wins): their
        screenshots written to temp files, made durable with one flush of their filesystem
        and renamed into place (a half-written picture never becomes a screen's), then
        every row in one SQLite transaction."""
        rows = []
        shots: list[tuple[Path, Path]] = []
        for report, received in beats:
            shot_taken: float | None = None
            if report.screenshot_png is not None:
                shots.append(self._stage_screenshot(report.screen, report.screenshot_png))
                shot_taken = received
            body = json.dumps(report.to_json() | {"screenshot_png": None})
            rows.append((report.screen, received, body, shot_taken))
        if shots:
            try:
                flush_filesystem(self.screenshots)
                for tmp, final in shots:
                    tmp.replace(final)
                fsync_dir(self.screenshots)
            finally:
                for tmp, _final in shots:
                    tmp.unlink(missing_ok=True)  # left only when the batch failed
        db = self._db()
        with db:
            db.executemany(
                "INSERT INTO screen_heartbeats (screen, received, report, screenshot_taken) "
                "VALUES (?, ?, ?, ?) ON CONFLICT(screen) DO UPDATE SET "
                "received = excluded.received, report = excluded.report, "
                "screenshot_taken = COALESCE(excluded.screenshot_taken, screenshot_taken)",
                rows,
            )

    def count(self) -> int:
        """How many screens the hub knows."""
        row = self._db().execute("SELECT COUNT(*) FROM screen_heartbeats").fetchone()
        return int(row[0])

    def known(self, screen: str) -> bool:
        """Whether ``screen`` has sent a heartbeat the hub still keeps."""
        row = (
            self._db()
            .execute("SELECT 1 FROM screen_heartbeats WHERE screen = ?", (screen,))
            .fetchone()
        )
        return row is not None

    def refusal(
        self, caller: ScreenCaller, screen: str, register: ScreenRegister, max_unenrolled: int
    ) -> str | None:
        """Why ``caller`` may not report for ``screen`` (see ``ScreenCaller.refusal``)."""
        room = True
        if caller.kind != "screen" and not register.is_enrolled(screen) and not self.known(screen):
            enrolled = register.screens()
            names = self._db().execute("SELECT screen FROM screen_heartbeats").fetchall()
            room = sum(1 for (name,) in names if name not in enrolled) < max_unenrolled
        return caller.refusal(screen, register, room)

    def _stage_screenshot(self, screen: str, png: bytes) -> tuple[Path, Path]:
        """Writes ``png`` to a temp file beside ``<screen>.png`` (not yet durable)."""
        self.screenshots.mkdir(parents=True, exist_ok=True)
        final = self.screenshots / f"{screen}.png"
        self._staged += 1
        tmp = final.with_name(f".{screen}.png.{os.getpid()}.{self._staged}.tmp")
        with tmp.open("wb") as fh:
            fh.write(png)
        return tmp, final

    def screens(
        self,
        now: float,
        hub_version: int | None,
        online_window_s: float = DEFAULT_ONLINE_WINDOW_S,
        stale_grace_s: float = DEFAULT_STALE_GRACE_S,
        *,
        after: str = "",
        limit: int = MAX_PAGE,
    ) -> list[ScreenState]:
        """One page of the fleet, by screen id: up to ``limit`` screens after ``after``."""
        since = self.note_hub_version(hub_version, now)
        rows = self._db().execute(
            "SELECT screen, received, report, screenshot_taken FROM screen_heartbeats "
            "WHERE screen > ? ORDER BY screen LIMIT ?",
            (after, limit),
        )
        out: list[ScreenState] = []
        for screen, received, body, shot_taken in rows.fetchall():
            try:
                report = HeartbeatReport.from_json(json.loads(body))
            except (ValueError, ReportError):
                log.warning("telemetry: unreadable stored heartbeat for %s, skipped", screen)
                continue
            online, stale, why = assess(
                report,
                received,
                now,
                hub_version=hub_version,
                hub_version_since=since,
                online_window_s=online_window_s,
                stale_grace_s=stale_grace_s,
            )
            path = self.screenshots / f"{screen}.png"
            out.append(
                ScreenState(
                    screen=screen,
                    online=online,
                    age_s=max(0.0, now - received),
                    stale=stale,
                    stale_code=why,
                    report=report,
                    received=received,
                    hub_version=hub_version,
                    screenshot_path=path if shot_taken is not None and path.exists() else None,
                    screenshot_taken=shot_taken,
                )
            )
        return out
