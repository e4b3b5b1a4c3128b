"""Low-disk housekeeping: when the cache's free disk falls under a threshold, collect.

Called after each heartbeat with the free space just measured; collects at most once per
cool-down so a disk that stays full is not scanned every 30 s.
"""

from __future__ import annotations

import time
from collections.abc import Callable

from signage.logs import area_logger

log = area_logger("kiosk")

DEFAULT_MIN_FREE_MB = 500.0
DEFAULT_COOLDOWN_S = 600.0


class LowDiskGuard:
    """Runs ``collect()`` (e.g. ``Store(cache).collect``) when free disk is under ``min_free_mb``.

    Args:
        collect: frees space and returns the bytes it freed.
        cooldown_s: the shortest time between two collections.
        monotonic: seconds clock (injected by tests).
    """

    def __init__(
        self,
        collect: Callable[[], int],
        min_free_mb: float = DEFAULT_MIN_FREE_MB,
        cooldown_s: float = DEFAULT_COOLDOWN_S,
        monotonic: Callable[[], float] = time.monotonic,
    ) -> None:
        self._collect = collect
        self.min_free_mb = min_free_mb
        self.cooldown_s = cooldown_s
        self._monotonic = monotonic
        self._last: float | None = None
        self.collections = 0

    def check(self, free_mb: float | None) -> int | None:
        """Collects if needed; returns the bytes freed, or ``None`` when it did not run."""
        if free_mb is None or free_mb >= self.min_free_mb:
            return None
        now = self._monotonic()
        if self._last is not None and now - self._last < self.cooldown_s:
            return None
        self._last = now
        freed = self._collect()
        self.collections += 1
        log.warning(
            "free disk %.0f MB is under %.0f MB: collected %.1f MB of old cache",
            free_mb,
            self.min_free_mb,
            freed / 1_048_576,
        )
        return freed
