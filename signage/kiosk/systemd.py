"""The player's unattended-operation shell: sd_notify from the GUI thread, heartbeats, disk.

``attach(player, config=..., events=...)`` is the one call ``signage play`` makes. It
sends READY=1 when the player paints its first frame, STATUS= with what is playing and the
feed version, and WATCHDOG=1 from a QTimer on the GUI thread every WATCHDOG_USEC/2: a hung
GUI thread stops the pings and systemd restarts the player. It keeps a copy of the
player's status and a screenshot, both taken on the GUI thread, for the heartbeat thread
to read, and starts and stops that thread (built by ``signage.telemetry.heartbeat``) when
the player has a hub. It derives nothing from the configuration and opens no cache: the
hub and token come from ``PlayerConfig``, the low-disk collection from the caller.

Test hook: with ``SIGNAGE_TEST_FREEZE_FILE=PATH`` in the environment, the GUI thread looks
for PATH every 100 ms and, when it appears, deletes it and blocks in ``time.sleep`` for
the number of seconds written in it (a hung GUI thread, while every other thread runs on).
Without the variable no timer exists.

The player is duck-typed: ``first_frame_painted`` (a Qt signal), ``status() -> Mapping``
with ``version``, ``playlist``, ``slide``, ``alert`` (an id, or ``True``); optionally
``grab_png()`` or ``grab()`` returning PNG bytes, a QImage or a QPixmap, and ``source``
(with ``stale`` / ``last_success`` if it knows them, as FeedSource does).
"""

from __future__ import annotations

import os
import threading
import time
from collections.abc import Callable, Mapping
from pathlib import Path
from typing import TYPE_CHECKING, Any

from PySide6.QtCore import QCoreApplication, QObject, QTimer
from PySide6.QtGui import QImage, QPixmap

from signage.config import PlayerConfig
from signage.events import EventLog
from signage.kiosk.notify import Notifier
from signage.logs import area_logger
from signage.timebase import TimeKeeper

if TYPE_CHECKING:  # the heartbeat (and TLS with it) loads only for a player with a hub
    from signage.kiosk.disk import LowDiskGuard  # so does the low-disk guard it runs
    from signage.telemetry.heartbeat import Heartbeat

log = area_logger("kiosk")

FREEZE_ENV = "SIGNAGE_TEST_FREEZE_FILE"
STATUS_EVERY_S = 2.0


def status_line(status: Mapping[str, Any]) -> str:
    """What ``systemctl status`` shows: ``playing lobby/eficiencia · feed v3``."""
    version = status.get("version")
    feed = f" · feed v{version}" if version is not None else ""
    alert = status.get("alert")
    if alert:
        return f"ALERT {alert}{feed}" if isinstance(alert, str) else f"ALERT on screen{feed}"
    playlist, slide = status.get("playlist"), status.get("slide")
    if playlist and slide:
        return f"playing {playlist}/{slide}{feed}"
    if playlist:
        return f"playing {playlist}{feed}"
    return f"idle, waiting for content{feed}"


def image_bytes(grabbed: Any) -> bytes | None:
    """PNG bytes from what a player's ``grab()`` returns (bytes, QImage or QPixmap)."""
    if grabbed is None:
        return None
    if isinstance(grabbed, bytes | bytearray):
        return bytes(grabbed)
    if isinstance(grabbed, QPixmap):
        grabbed = grabbed.toImage()
    if isinstance(grabbed, QImage) and not grabbed.isNull():
        from PySide6.QtCore import QBuffer, QByteArray, QIODevice  # not before a first frame

        data = QByteArray()
        buffer = QBuffer(data)
        buffer.open(QIODevice.OpenModeFlag.WriteOnly)
        grabbed.save(buffer, b"PNG")
        buffer.close()
        return bytes(data.data())
    return None


class KioskBridge(QObject):
    """Lives on the GUI thread: watchdog pings, status lines, status and screenshot copies.

    Args:
        player: the running player (see the module docstring).
        notifier: the sd_notify client (a no-op outside systemd).
        screenshot_every_s: how often to grab the screen for heartbeats (0: never).
    """

    def __init__(
        self,
        player: Any,
        notifier: Notifier,
        *,
        screenshot_every_s: float = 0.0,
        freeze_file: Path | None = None,
        parent: QObject | None = None,
    ) -> None:
        super().__init__(parent)
        self._player = player
        self.notifier = notifier
        self._lock = threading.Lock()
        self._status: dict[str, Any] = {}
        self._screenshot: bytes | None = None
        self._status_text = ""
        self.ready_sent = False
        self.pings = 0
        self.heartbeat: Heartbeat | None = None
        self._shown: tuple[object, ...] = ()
        self._picture: tuple[object, ...] = ()
        self._timers: list[QTimer] = []

        player.first_frame_painted.connect(self._on_first_frame)
        interval = notifier.watchdog_interval_s
        if interval is not None:
            self._every(interval, self._ping)
        self._every(STATUS_EVERY_S, self._refresh_status)
        self._grabber: Callable[[], Any] | None = getattr(player, "grab_png", None) or getattr(
            player, "grab", None
        )
        if screenshot_every_s > 0 and callable(self._grabber):
            self._every(screenshot_every_s, self._grab)
            self._grab_soon = True
        else:
            self._grab_soon = False
        self._freeze_file = freeze_file
        if freeze_file is not None:
            self._every(0.1, self._freeze_if_asked)
        self._refresh_status()

    def _every(self, seconds: float, slot: Callable[[], None]) -> None:
        timer = QTimer(self)
        timer.setInterval(max(1, int(seconds * 1000)))
        timer.timeout.connect(slot)
        timer.start()
        self._timers.append(timer)

    # --- GUI thread ------------------------------------------------------------------

    def _on_first_frame(self, *_args: Any) -> None:
        if self.ready_sent:
            return
        self._refresh_status(send=False)
        self.notifier.ready(self._status_text)
        self.ready_sent = True
        if self.heartbeat is not None:
            self.heartbeat.start()  # telemetry after the screen is up, not before
        log.info("first frame painted: %s", self._status_text)
        if self._grab_soon:
            QTimer.singleShot(1000, self._grab)  # the hub gets a picture right away

    def _ping(self) -> None:
        self.notifier.watchdog()
        self.pings += 1

    def _refresh_status(self, send: bool = True) -> None:
        try:
            status = dict(self._player.status())
        except Exception:  # the status must never stop the watchdog bridge
            log.exception("player status failed")
            return
        if status.get("alert") is True:  # the player says "an alert"; its layer knows which
            current = getattr(getattr(self._player, "alerts", None), "current", None)
            alert_id = getattr(current, "id", None)
            if isinstance(alert_id, str):
                status["alert"] = alert_id
        source = getattr(self._player, "source", None)
        if source is not None and "stale" not in status:
            status["stale"] = bool(getattr(source, "stale", False))
        text = status_line(status)
        with self._lock:
            self._status = status
        shown = (status.get("version"), status.get("alert"), status.get("playlist") is None)
        picture = (*shown, status.get("playlist"), status.get("slide"))
        if picture != self._picture:
            self._picture = picture
            if self.heartbeat is not None and self.ready_sent and self._grabber is not None:
                self._grab()  # the fleet page's screenshot follows the screen
                self.heartbeat.picture_changed()
        if shown != self._shown:
            self._shown = shown
            if self.heartbeat is not None and self.ready_sent:
                self.heartbeat.nudge()  # the hub hears of a new version or alert at once
        if text != self._status_text:
            self._status_text = text
            if send and self.ready_sent:
                self.notifier.status(text)

    def _grab(self) -> None:
        if self._grabber is None:
            return
        try:
            png = image_bytes(self._grabber())
        except Exception:
            log.exception("screen grab failed")
            return
        if png:
            with self._lock:
                self._screenshot = png

    def _freeze_if_asked(self) -> None:
        path = self._freeze_file
        if path is None or not path.exists():
            return
        try:
            seconds = float(path.read_text().strip() or "2")
            path.unlink()
        except (OSError, ValueError):
            seconds = 2.0
        log.warning("test hook: blocking the GUI thread for %.1f s", seconds)
        time.sleep(seconds)

    # --- any thread ------------------------------------------------------------------

    def latest_status(self) -> dict[str, Any]:
        with self._lock:
            return dict(self._status)

    def latest_screenshot(self) -> bytes | None:
        with self._lock:
            return self._screenshot

    def stop(self) -> None:
        """Stops timers and heartbeats; tells systemd we are stopping (GUI thread)."""
        for timer in self._timers:
            timer.stop()
        if self.heartbeat is not None:
            self.heartbeat.stop()
            self.heartbeat = None
        if self.ready_sent:
            self.notifier.stopping()
        self.notifier.close()


def _env_float(environ: Mapping[str, str], name: str, default: float) -> float:
    raw = environ.get(name)
    try:
        return float(raw) if raw else default
    except ValueError:
        log.warning("%s=%r is not a number; using %s", name, raw, default)
        return default


def attach(
    player: Any,
    *,
    config: PlayerConfig | None = None,
    events: EventLog | None = None,
    environ: Mapping[str, str] | None = None,
    collect: Callable[[], int] | None = None,
    timekeeper: TimeKeeper | None = None,
) -> KioskBridge:
    """Wires a player for unattended operation; stops itself when the application quits.

    With a hub (``config.hub_url``) it also runs the heartbeat (``telemetry.heartbeat``);
    ``collect`` (the feed cache's ``Store.collect``, from the ``FeedSource`` the player
    plays) is then run after a heartbeat that measured low free disk.

    Environment knobs (documented in docs/kiosk.md): ``SIGNAGE_HEARTBEAT_S`` (30),
    ``SIGNAGE_SCREENSHOT_EVERY_S`` (300), ``SIGNAGE_MIN_FREE_MB`` (500).
    """
    env = os.environ if environ is None else environ
    from signage.logs import harden_root_handlers

    harden_root_handlers()  # months of uptime: repeated errors once per interval
    freeze = env.get(FREEZE_ENV)
    hub = config.hub_url if config is not None else None
    shot_every = 0.0
    if hub is not None:
        # Only with a hub: its import (TLS, the wire format) is ~15 ms of a screen's start.
        from signage.telemetry.heartbeat import DEFAULT_SCREENSHOT_EVERY_S

        shot_every = _env_float(env, "SIGNAGE_SCREENSHOT_EVERY_S", DEFAULT_SCREENSHOT_EVERY_S)
    bridge = KioskBridge(
        player,
        Notifier.from_env(env),
        screenshot_every_s=shot_every if hub else 0.0,
        freeze_file=Path(freeze) if freeze else None,
        parent=player if isinstance(player, QObject) else None,  # lives as long as the player
    )
    if config is not None and hub is not None:
        from signage.kiosk.disk import DEFAULT_MIN_FREE_MB, LowDiskGuard
        from signage.telemetry.heartbeat import DEFAULT_INTERVAL_S, heartbeat_for

        guard: LowDiskGuard | None = None
        if collect is not None:
            guard = LowDiskGuard(
                collect, _env_float(env, "SIGNAGE_MIN_FREE_MB", DEFAULT_MIN_FREE_MB)
            )
        bridge.heartbeat = heartbeat_for(
            config,
            status=bridge.latest_status,
            screenshot=bridge.latest_screenshot,
            source=getattr(player, "source", None),
            events=events,
            interval_s=_env_float(env, "SIGNAGE_HEARTBEAT_S", DEFAULT_INTERVAL_S),
            screenshot_every_s=shot_every,
            on_beat=guard.check if guard is not None else None,
            timekeeper=timekeeper,
        )
    app = QCoreApplication.instance()
    if app is not None:
        app.aboutToQuit.connect(bridge.stop)
    return bridge
