"""Logging for a screen that runs for months: one logger per area, stderr for journald,
repeated errors rate-limited, Qt's own messages routed into ``signage.qt``.

A screen offline for a week logs "cannot reach the hub" once per interval with
"(repeated K times)", not every 30 s; the rate limiter remembers a bounded number of
distinct messages, so neither the disk nor the memory grows with the outage.

Areas: ``signage.player``, ``signage.feed``, ``signage.hub``, ``signage.kiosk``,
``signage.alerts``, ``signage.qr``, ``signage.playlist``, ``signage.uplink``, ``signage.qt``.
Every module takes its logger from ``area_logger`` (a room inside an area may name itself:
``area_logger("hub.scans")``), never ``logging.getLogger`` with a literal name.
"""

from __future__ import annotations

import logging
import os
import sys
import threading
import time
from collections import OrderedDict
from collections.abc import Callable
from typing import Any, Final, TextIO

from signage.values import Value

AREAS = ("player", "feed", "hub", "kiosk", "alerts", "qr", "playlist", "uplink", "qt")
ROOT = "signage"
DEFAULT_REPEAT_INTERVAL_S = 300.0
DEFAULT_MAX_KEYS = 512

# journald reads "<N>" at the start of a stderr line as the syslog priority (SyslogLevelPrefix).
_SYSLOG_PRIORITY = {
    logging.CRITICAL: 2,
    logging.ERROR: 3,
    logging.WARNING: 4,
    logging.INFO: 6,
    logging.DEBUG: 7,
}


def area_logger(area: str) -> logging.Logger:
    """The logger of one area, ``signage.<area>`` (or of a room in it: ``hub.scans``).

    Raises ValueError for an area not in ``AREAS`` (a typo would log under a name no
    handler or filter expects)."""
    if area.split(".", 1)[0] not in AREAS:
        raise ValueError(f"{area!r} is not a logging area ({', '.join(AREAS)})")
    return logging.getLogger(f"{ROOT}.{area}")


class RateLimitFilter(logging.Filter):
    """Lets the same message from the same logger through at most once per interval.

    When a suppressed message is let through again it carries "(repeated K times)", K being
    the copies dropped since the last one shown. At most ``max_keys`` distinct messages are
    remembered (least recently seen forgotten first), so memory stays bounded whatever the
    messages are. DEBUG records are never limited.

    Args:
        interval_s: the shortest time between two copies of one message.
        max_keys: how many distinct messages are remembered.
        clock: monotonic seconds (injected by tests).
    """

    def __init__(
        self,
        interval_s: float = DEFAULT_REPEAT_INTERVAL_S,
        max_keys: int = DEFAULT_MAX_KEYS,
        clock: Callable[[], float] = time.monotonic,
    ) -> None:
        super().__init__()
        self.interval_s = interval_s
        self.max_keys = max_keys
        self._clock = clock
        self._lock = threading.Lock()
        # key -> [last time shown, copies suppressed since]
        self._seen: OrderedDict[tuple[str, int, str], list[float]] = OrderedDict()

    def filter(self, record: logging.LogRecord) -> bool:
        if record.levelno < logging.INFO:
            return True
        decided = getattr(record, "_signage_rate_limit", None)
        if decided is not None:  # one limiter shared by several handlers: decide once
            return bool(decided)
        passed = self._decide(record)
        record._signage_rate_limit = passed
        return passed

    def _decide(self, record: logging.LogRecord) -> bool:
        message = record.getMessage()
        key = (record.name, record.levelno, message)
        now = self._clock()
        with self._lock:
            entry = self._seen.get(key)
            if entry is not None and now - entry[0] < self.interval_s:
                entry[1] += 1
                self._seen.move_to_end(key)
                return False
            suppressed = int(entry[1]) if entry is not None else 0
            self._seen[key] = [now, 0]
            self._seen.move_to_end(key)
            while len(self._seen) > self.max_keys:
                self._seen.popitem(last=False)
        if suppressed:
            record.msg = f"{message} (repeated {suppressed} times)"
            record.args = None
        return True

    def __len__(self) -> int:
        return len(self._seen)


class PrintableFormatter(logging.Formatter):
    """One line per message, printable: a screen id, an error text or a page's words in a
    message can neither forge log lines (CR/LF) nor drive the terminal (escape sequences,
    bidi overrides): ``signage.printable``. Tracebacks after the message stay as they are."""

    def formatMessage(self, record: logging.LogRecord) -> str:
        from signage.printable import printable  # with the first line logged, not at start

        record.message = printable(record.message)
        return super().formatMessage(record)


class JournalFormatter(PrintableFormatter):
    """``<3>signage.feed: message``: journald adds the time and reads the priority prefix."""

    def __init__(self, journald: bool) -> None:
        fmt = "%(name)s: %(message)s"
        if not journald:
            fmt = "%(asctime)s %(levelname)s " + fmt
        super().__init__(fmt)
        self.journald = journald

    def format(self, record: logging.LogRecord) -> str:
        text = super().format(record)
        if not self.journald:
            return text
        priority = _SYSLOG_PRIORITY.get(record.levelno, 6)
        return "\n".join(f"<{priority}>{line}" for line in text.splitlines())


class LastError(Value):
    """The most recent WARNING or worse: what the hub shows as a screen's last error.

    A small value (``signage.values``), not a dataclass: ``signage.logs`` is loaded by every
    start, and a dataclass costs ~0.5 ms to create (Python 3.11 compiles its methods).
    """

    __slots__ = ("area", "at", "level", "message")
    _fields = ("area", "level", "message", "at")

    def __init__(self, area: str, level: str, message: str, at: float) -> None:
        self.area: Final = area
        self.level: Final = level
        self.message: Final = message
        self.at: Final = at  # time.time()


class ErrorTally(logging.Handler):
    """Counts WARNING-or-worse records per area and keeps the last one (for heartbeats).

    Sees every record, rate-limited or not, so counts are true even when stderr is quiet.
    """

    def __init__(self, clock: Callable[[], float] = time.time) -> None:
        super().__init__(level=logging.WARNING)
        self._clock = clock
        self._counts: dict[str, int] = {}
        self._last: LastError | None = None
        self._tally_lock = threading.Lock()

    def emit(self, record: logging.LogRecord) -> None:
        area = record.name.removeprefix(f"{ROOT}.").split(".")[0] or ROOT
        try:
            message = record.getMessage()
        except Exception:  # a bad format string must not break logging
            message = str(record.msg)
        with self._tally_lock:
            if area not in self._counts and len(self._counts) >= 64:
                area = "other"  # bounded: loggers are per area, but be safe
            self._counts[area] = self._counts.get(area, 0) + 1
            self._last = LastError(area, record.levelname.lower(), message[:500], self._clock())

    def counts(self) -> dict[str, int]:
        with self._tally_lock:
            return dict(self._counts)

    def last(self) -> LastError | None:
        with self._tally_lock:
            return self._last


class LogSetup:
    """What ``setup`` installed, so callers (heartbeats, tests) can reach it and undo it."""

    __slots__ = ("handler", "rate_limit", "tally")

    def __init__(
        self, handler: logging.Handler, rate_limit: RateLimitFilter, tally: ErrorTally
    ) -> None:
        self.handler = handler
        self.rate_limit = rate_limit
        self.tally = tally

    def remove(self) -> None:
        root = logging.getLogger(ROOT)
        root.removeHandler(self.handler)
        root.removeHandler(self.tally)


def verbosity_of(logger: logging.Logger) -> int:
    """The ``setup`` verbosity that gives ``logger`` its present level (0, 1 or 2): what a
    child process is started with so it logs as its parent does."""
    if logger.isEnabledFor(logging.DEBUG):
        return 2
    return 1 if logger.isEnabledFor(logging.INFO) else 0


def setup(
    verbosity: int = 0,
    *,
    stream: TextIO | None = None,
    journald: bool | None = None,
    repeat_interval_s: float = DEFAULT_REPEAT_INTERVAL_S,
    clock: Callable[[], float] = time.monotonic,
) -> LogSetup:
    """Sends ``signage.*`` to stderr (journald prefixes when run by systemd), rate-limited.

    Args:
        verbosity: 0 warnings, 1 info, 2+ debug.
        journald: prefix priorities for journald; default: when ``JOURNAL_STREAM`` is set.
        repeat_interval_s: how often one repeated message may reach stderr.
    """
    if journald is None:
        journald = bool(os.environ.get("JOURNAL_STREAM"))
    level = logging.WARNING if verbosity <= 0 else logging.INFO if verbosity == 1 else logging.DEBUG
    handler = logging.StreamHandler(stream or sys.stderr)
    handler.setFormatter(JournalFormatter(journald))
    limiter = RateLimitFilter(repeat_interval_s, clock=clock)
    handler.addFilter(limiter)
    tally = ErrorTally()
    root = logging.getLogger(ROOT)
    root.setLevel(min(level, logging.WARNING))
    handler.setLevel(level)
    root.addHandler(handler)
    root.addHandler(tally)
    root.propagate = False  # our handler replaces the root's basicConfig one for signage.*
    return LogSetup(handler, limiter, tally)


def harden_root_handlers(
    *,
    journald: bool | None = None,
    repeat_interval_s: float = DEFAULT_REPEAT_INTERVAL_S,
    clock: Callable[[], float] = time.monotonic,
) -> RateLimitFilter:
    """Rate-limits (and journald-formats) the stream handlers already on the root logger.

    For long-running processes whose command line set logging up with ``basicConfig``
    (``signage.cli``): every record still propagates to the root (pytest's caplog keeps
    seeing it), but a repeated message reaches stderr once per interval. Idempotent.
    """
    if journald is None:
        journald = bool(os.environ.get("JOURNAL_STREAM"))
    root = logging.getLogger()
    for handler in root.handlers:
        for existing in handler.filters:
            if isinstance(existing, RateLimitFilter):
                return existing
    limiter = RateLimitFilter(repeat_interval_s, clock=clock)
    for handler in root.handlers:
        if isinstance(handler, logging.StreamHandler) and not isinstance(
            handler, logging.FileHandler
        ):
            handler.addFilter(limiter)
            if journald:
                handler.setFormatter(JournalFormatter(journald=True))
    error_tally()
    return limiter


_tally: ErrorTally | None = None


def error_tally() -> ErrorTally:
    """The process's tally, attached to ``signage`` on first use (for heartbeats)."""
    global _tally  # noqa: PLW0603  (one tally per process, created lazily, never at import)
    if _tally is None:
        _tally = ErrorTally()
        logging.getLogger(ROOT).addHandler(_tally)
    return _tally


def install_qt_handler() -> None:
    """Routes Qt's own messages (qDebug, qWarning...) into the ``signage.qt`` logger.

    Call once after PySide6 is importable (the player does, before building its window).
    """
    from PySide6.QtCore import QtMsgType, qInstallMessageHandler

    qt_log = area_logger("qt")
    levels = {
        QtMsgType.QtDebugMsg: logging.DEBUG,
        QtMsgType.QtInfoMsg: logging.INFO,
        QtMsgType.QtWarningMsg: logging.WARNING,
        QtMsgType.QtCriticalMsg: logging.ERROR,
        QtMsgType.QtFatalMsg: logging.CRITICAL,
    }

    def route(mode: QtMsgType, context: Any, message: str) -> None:
        category = getattr(context, "category", None) or "default"
        qt_log.log(levels.get(mode, logging.WARNING), "%s: %s", category, message)

    qInstallMessageHandler(route)


class _WatchdogStopRace(logging.Filter):
    """Drops the one error watchdog 7 logs when an observer is stopped mid-read.

    Stopping an inotify observer clears its handle while its reader thread may still be
    inside ``queue_events()``, which then logs "called when the thread is inactive" at
    ERROR: a race in watchdog's own shutdown, harmless, but a screen's journal should not
    show an error for every clean stop. Every other watchdog record passes.
    """

    def filter(self, record: logging.LogRecord) -> bool:
        return "called when the thread is inactive" not in str(record.msg)


def quiet_watchdog_stop() -> None:
    """Installs ``_WatchdogStopRace`` on watchdog's inotify logger (idempotent)."""
    logger = logging.getLogger("watchdog.observers.inotify")
    if not any(isinstance(f, _WatchdogStopRace) for f in logger.filters):
        logger.addFilter(_WatchdogStopRace())
