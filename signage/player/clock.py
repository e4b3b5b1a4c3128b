"""The player's one timer wrapper: wall time for schedules, single-shot delays for slides.

Every delay the player waits on (slide durations, the schedule's next change, retries) goes
through a ``Clock``, so tests can swap ``QtClock`` for ``ManualClock`` and drive time by hand.
"""

from __future__ import annotations

import heapq
import itertools
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from typing import TYPE_CHECKING, Protocol

from PySide6.QtCore import QObject, QTimer

if TYPE_CHECKING:
    from signage.timebase import TimeKeeper

# QTimer takes an int of milliseconds; longer waits are cut and simply re-armed by callers
# (re-planning is idempotent), so a schedule change weeks away is still hit on time.
MAX_DELAY_S = 3600.0


class Timer(Protocol):
    """A pending call; ``cancel`` is safe to call twice or after it fired."""

    def cancel(self) -> None: ...

    @property
    def active(self) -> bool: ...


class Clock(Protocol):
    """Aware wall time and single-shot calls after a delay, on the GUI thread."""

    def now(self) -> datetime: ...

    def call_later(self, delay_s: float, callback: Callable[[], None]) -> Timer: ...


class _QtTimer(QObject):
    """One single-shot QTimer; deletes itself once it fired or was cancelled."""

    def __init__(self, parent: QObject, delay_s: float, callback: Callable[[], None]) -> None:
        super().__init__(parent)
        self._callback: Callable[[], None] | None = callback
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._fire)
        self._timer.start(int(max(0.0, min(delay_s, MAX_DELAY_S)) * 1000))

    @property
    def active(self) -> bool:
        return self._callback is not None

    def cancel(self) -> None:
        if self._callback is None:
            return
        self._callback = None
        self._timer.stop()
        self.deleteLater()

    def _fire(self) -> None:
        callback, self._callback = self._callback, None
        self.deleteLater()
        if callback is not None:
            callback()


class QtClock(QObject):
    """Real time: ``datetime.now(UTC)`` and QTimer single shots (monotonic, coarse-ms)."""

    def now(self) -> datetime:
        return datetime.now(UTC)

    def call_later(self, delay_s: float, callback: Callable[[], None]) -> Timer:
        return _QtTimer(self, delay_s, callback)


class OrgClock(QtClock):
    """Real time as schedules should see it: the local clock, or the hub's when far off.

    ``now`` is ``TimeKeeper.schedule_now`` (``signage.timebase``); delays stay QTimer's
    monotonic ones.
    """

    def __init__(self, keeper: TimeKeeper, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.keeper = keeper

    def now(self) -> datetime:
        return self.keeper.schedule_now()


class FixedClock(QtClock):
    """A clock stuck at one moment (``signage preview --at``); delays still run in real time."""

    def __init__(self, moment: datetime, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._moment = moment

    def now(self) -> datetime:
        return self._moment


class _ManualTimer:
    __slots__ = ("_callback", "due")

    def __init__(self, due: datetime, callback: Callable[[], None]) -> None:
        self.due = due
        self._callback: Callable[[], None] | None = callback

    @property
    def active(self) -> bool:
        return self._callback is not None

    def cancel(self) -> None:
        self._callback = None

    def take(self) -> Callable[[], None] | None:
        callback, self._callback = self._callback, None
        return callback


class ManualClock:
    """A clock that only moves when a test calls ``advance``; due calls fire in order.

    Args:
        start: the aware moment the clock shows first.
    """

    def __init__(self, start: datetime) -> None:
        self._now = start
        self._seq = itertools.count()
        self._queue: list[tuple[datetime, int, _ManualTimer]] = []

    def now(self) -> datetime:
        return self._now

    def call_later(self, delay_s: float, callback: Callable[[], None]) -> Timer:
        timer = _ManualTimer(self._now + timedelta(seconds=max(0.0, delay_s)), callback)
        heapq.heappush(self._queue, (timer.due, next(self._seq), timer))
        return timer

    def pending(self) -> int:
        """How many calls are still waiting."""
        return sum(1 for _, _, t in self._queue if t.active)

    def advance(self, seconds: float) -> None:
        """Moves time forward, firing every call that falls due on the way, in order."""
        target = self._now + timedelta(seconds=seconds)
        while self._queue and self._queue[0][0] <= target:
            due, _, timer = heapq.heappop(self._queue)
            self._now = max(self._now, due)
            callback = timer.take()
            if callback is not None:
                callback()
        self._now = target
