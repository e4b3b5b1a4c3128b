"""Leftovers room: temporary files a killed writer left behind, found and removed.

Every atomic write in signage goes through a temporary file named after the writing
process (``.NAME.tmp-PID``, ``.NAME.tmp-PID-THREAD``; the hub's screenshots
``.NAME.PID.THREAD.tmp``; a cache's ``import-PID-THREAD.part``) renamed into place. A
writer killed half-way (SIGKILL, power cut) leaves that file for ever: 8 killed publishes
of a large video left 558 MB.
``clean_temp_files`` removes those whose process is gone, or that are older than
``MAX_AGE_S`` whatever their PID says (PIDs are reused); the caller's own are never
touched. Publishing calls it on the feed folder and its assets before it writes; the hub
with its asset pruning; a player's cache with its garbage collection (resumable downloads,
``<sha256>.part``, are not temp files: they go after a day, as before).
"""

from __future__ import annotations

import os
import re
import time
from collections.abc import Callable
from pathlib import Path

from signage.logs import area_logger

__all__ = ["MAX_AGE_S", "clean_temp_files", "leftover_pid", "pid_alive", "stale"]

log = area_logger("feed")

MAX_AGE_S = 6 * 3600.0
"""A temporary file untouched this long is a leftover even if its PID is alive again."""

_PATTERNS = (
    re.compile(r"\..+\.tmp-(\d+)(?:-\d+)?"),
    re.compile(r"\..+\.(\d+)\.\d+\.tmp"),
    re.compile(r"import-(\d+)-\d+\.part"),  # a local root's file being copied into a cache
)


def leftover_pid(name: str) -> int | None:
    """The PID in a temporary file's name (``None``: not one of signage's temp files)."""
    for pattern in _PATTERNS:
        match = pattern.fullmatch(name)
        if match is not None:
            return int(match.group(1))
    return None


def pid_alive(pid: int) -> bool:
    """Whether a process with this PID exists (signal 0; another user's counts as alive)."""
    if pid <= 0:
        return False
    try:
        os.kill(pid, 0)
    except ProcessLookupError:
        return False
    except PermissionError:
        return True
    return True


def stale(
    name: str,
    age_s: float,
    *,
    own_pid: int,
    alive: Callable[[int], bool] = pid_alive,
    max_age_s: float = MAX_AGE_S,
) -> bool:
    """Whether the file ``name``, last written ``age_s`` ago, is a leftover to remove."""
    pid = leftover_pid(name)
    if pid is None or pid == own_pid:
        return False
    return age_s > max_age_s or not alive(pid)


def clean_temp_files(*folders: Path, max_age_s: float = MAX_AGE_S) -> tuple[int, int]:
    """Removes leftover temporary files directly in ``folders``; returns (files, bytes)."""
    removed = freed = 0
    now = time.time()
    own = os.getpid()
    for folder in folders:
        try:
            entries = list(os.scandir(folder))
        except OSError:
            continue
        for entry in entries:
            try:
                if not entry.is_file(follow_symlinks=False):
                    continue
                st = entry.stat(follow_symlinks=False)
                if not stale(entry.name, now - st.st_mtime, own_pid=own, max_age_s=max_age_s):
                    continue
                Path(entry.path).unlink()
            except OSError:
                continue  # gone meanwhile, or not ours to remove: left for next time
            removed += 1
            freed += st.st_size
    if removed:
        log.info("removed %d leftover temporary file(s), %d bytes", removed, freed)
    return removed, freed
