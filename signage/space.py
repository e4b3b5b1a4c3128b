"""Disk-space room: a sync refused for lack of space is retried as soon as space returns.

The sync client refuses a version whose missing assets do not fit in the cache ("not
enough disk space: N bytes needed, M free"), and a write can fail with ENOSPC. Waiting
for the next regular poll (5 minutes while the push channel is up) leaves the screen on
old content long after someone freed space, so the sync thread waits here instead: it
looks at the free space every ``CHECK_EVERY_S`` and syncs once there is enough, and in
any case within ``RETRY_S``.
"""

from __future__ import annotations

import re
import shutil
import time
from collections.abc import Callable
from pathlib import Path

__all__ = ["CHECK_EVERY_S", "RETRY_S", "bytes_needed", "lacks_space", "wait_for_space"]

CHECK_EVERY_S = 2.0
RETRY_S = 60.0

_NEEDED = re.compile(r"not enough disk space: (\d+) bytes needed")


def lacks_space(reason: str) -> bool:
    """Whether a sync failed for lack of disk space (refused up front, or ENOSPC)."""
    return "not enough disk space" in reason or "No space left on device" in reason


def bytes_needed(reason: str) -> int | None:
    """The bytes a refused version needs, when the reason says (``None``: unknown)."""
    match = _NEEDED.search(reason)
    return int(match.group(1)) if match else None


def _free_bytes(folder: Path) -> int:
    try:
        return shutil.disk_usage(folder).free
    except OSError:
        return 0


def wait_for_space(
    folder: Path,
    reason: str,
    limit_s: float,
    wait: Callable[[float], bool],
    *,
    free: Callable[[Path], int] = _free_bytes,
    monotonic: Callable[[], float] = time.monotonic,
) -> bool:
    """Waits until ``folder``'s file system has the space ``reason`` asked for, at most
    ``min(limit_s, RETRY_S)``; ``wait(seconds)`` sleeps and returns True when woken
    (a push, a stop). Returns True when the space is there (or it was woken)."""
    deadline = monotonic() + min(limit_s, RETRY_S)
    need = bytes_needed(reason)
    while True:
        if need is not None and free(folder) >= need:
            return True
        left = deadline - monotonic()
        if left <= 0:
            return False
        if wait(min(CHECK_EVERY_S, left)):
            return True
