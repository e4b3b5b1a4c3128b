"""Health room: the event-loop stall probe and memory figures behind the ``stats`` event.

A 10 ms precise timer measures how late each tick fires; the lateness is how long the GUI
thread was busy elsewhere (decoding, layout, a blocking call), i.e. how long the screen
could not have been repainted.
"""

from __future__ import annotations

import math
import os
import time
from typing import Final

from PySide6.QtCore import QObject, Qt, QTimer

from signage.values import Value

TICK_MS = 10


def rss_mb() -> float:
    """Resident memory of this process in MiB (Linux ``/proc``; 0 where unavailable)."""
    try:
        with open("/proc/self/statm", encoding="ascii") as fh:  # noqa: PTH123
            pages = int(fh.read().split()[1])
    except (OSError, ValueError, IndexError):
        return 0.0
    return pages * os.sysconf("SC_PAGE_SIZE") / (1024 * 1024)


def percentile(values: list[float], share: float) -> float:
    """The nearest-rank percentile (``share`` in 0..1) of ``values``; 0 for none."""
    if not values:
        return 0.0
    ordered = sorted(values)
    rank = max(0, min(len(ordered) - 1, math.ceil(share * len(ordered)) - 1))
    return ordered[rank]


class StallFigures(Value):
    """One window's lateness figures (a small value, ``signage.values``: made before the
    first frame, where a dataclass costs ~0.5 ms to create)."""

    __slots__ = ("max_ms", "p99_ms", "ticks")
    _fields = ("max_ms", "p99_ms", "ticks")

    def __init__(self, max_ms: float, p99_ms: float, ticks: int) -> None:
        self.max_ms: Final = max_ms
        self.p99_ms: Final = p99_ms
        self.ticks: Final = ticks


class StallProbe(QObject):
    """Measures GUI event-loop lateness; ``take()`` returns and resets the window's figures."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._timer = QTimer(self)
        self._timer.setTimerType(Qt.TimerType.PreciseTimer)
        self._timer.setInterval(TICK_MS)
        self._timer.timeout.connect(self._tick)
        self._last = 0.0
        self._late: list[float] = []
        self.all_late: list[float] | None = None  # set to [] to keep every sample (benches)

    def start(self) -> None:
        self._last = time.perf_counter()
        self._timer.start()

    def stop(self) -> None:
        self._timer.stop()

    def _tick(self) -> None:
        now = time.perf_counter()
        late = max(0.0, (now - self._last) * 1000.0 - TICK_MS)
        self._last = now
        self._late.append(late)
        if self.all_late is not None:
            self.all_late.append(late)

    def take(self) -> StallFigures:
        late, self._late = self._late, []
        return StallFigures(max(late, default=0.0), percentile(late, 0.99), len(late))
