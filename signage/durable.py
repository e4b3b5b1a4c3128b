"""Durable files: atomic writes, folder fsyncs, and the kernel's writeback and flush.

What every writer of the cache, the feed folder and the hub's files uses so a power cut
never leaves a half-written file current: write to a temp file in the same folder, fsync
it, rename it over the old one, fsync the folder. For bulk downloads the sync instead
starts each file's writeback as it lands (``start_writeback``) and makes them all durable
with one ``flush_filesystem`` before its switch. The two Linux calls the ``os`` module lacks
(``sync_file_range``, ``syncfs``) are reached through ctypes here and only here; where they
do not exist the head start is skipped and the flush falls back to ``os.sync()``.
"""

from __future__ import annotations

import contextlib
import os
import threading
from collections.abc import Callable, Iterator
from pathlib import Path

__all__ = [
    "flush_filesystem",
    "fsync_dir",
    "prepare_flush",
    "start_writeback",
    "watch",
    "write_all",
    "write_atomic",
]

_watchers: list[list[tuple[str, str]]] = []


@contextlib.contextmanager
def watch() -> Iterator[list[tuple[str, str]]]:
    """Records every flush to disk this module makes while inside, in order, as
    ``(kind, path)``: ``"fsync"`` (a file), ``"fsync_dir"``, ``"syncfs"`` or ``"sync"`` (a
    whole filesystem). The calls are the real ones; this only counts them (tests, benches)."""
    seen: list[tuple[str, str]] = []
    _watchers.append(seen)
    try:
        yield seen
    finally:
        _watchers.remove(seen)


def _note(kind: str, path: Path) -> None:
    for seen in _watchers:
        seen.append((kind, str(path)))


def fsync_dir(path: Path) -> None:
    """Makes renames inside ``path`` durable."""
    fd = os.open(path, os.O_RDONLY | os.O_DIRECTORY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)
    _note("fsync_dir", path)


def write_all(fd: int, data: memoryview) -> None:
    """Writes every byte of ``data`` to ``fd`` (``os.write`` may write fewer)."""
    while data:
        data = data[os.write(fd, data) :]


def write_atomic(
    path: Path, data: bytes, *, mode: int = 0o644, sync_dir: bool = True, durable: bool = True
) -> None:
    """Writes ``data`` to ``path`` via a temp file in the same folder, fsync, atomic rename.

    ``durable=False`` leaves out the fsync (and ``sync_dir``): readers still see the old
    bytes or the new, never a mix, and the caller makes it durable later with one
    ``flush_filesystem`` for many files."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}-{threading.get_ident()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, mode)
    try:
        write_all(fd, memoryview(data))
        if durable:
            os.fsync(fd)
            _note("fsync", path)
    finally:
        os.close(fd)
    tmp.replace(path)
    if durable and sync_dir:
        fsync_dir(path.parent)


_SYNC_FILE_RANGE_WRITE = 2
_libc_fns: dict[str, Callable[..., int] | None] = {}


def _libc(name: str, argtypes: tuple[type, ...]) -> Callable[..., int] | None:
    """A function of the C library (Linux), or ``None`` where there is no such function."""
    if name not in _libc_fns:
        fn: Callable[..., int] | None = None
        try:
            import ctypes

            found = getattr(ctypes.CDLL(None, use_errno=True), name)
            found.argtypes = list(argtypes)
            found.restype = ctypes.c_int
            fn = found
        except (OSError, AttributeError, ImportError):
            fn = None
        _libc_fns[name] = fn
    return _libc_fns[name]


def start_writeback(fd: int, offset: int, length: int) -> None:
    """Asks the kernel to start writing these bytes to disk now, without waiting for it
    (``sync_file_range(SYNC_FILE_RANGE_WRITE)``). Only a head start for the flush that makes
    them durable; does nothing where the call does not exist."""
    import ctypes

    fn = _libc("sync_file_range", (ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint))
    if fn is not None:
        fn(fd, offset, length, _SYNC_FILE_RANGE_WRITE)  # an error only loses the head start


def prepare_flush() -> None:
    """Looks up ``syncfs`` (and ``sync_file_range``) now: importing ctypes for them is
    ~1.6 ms, paid once per process, which a process's first sync otherwise paid between
    its downloads and its switch (a player has it imported already; ``signage sync
    --once`` is a process per sync)."""
    import ctypes

    _libc("syncfs", (ctypes.c_int,))
    _libc("sync_file_range", (ctypes.c_int, ctypes.c_int64, ctypes.c_int64, ctypes.c_uint))


def flush_filesystem(folder: Path) -> None:
    """Makes everything written on ``folder``'s filesystem durable: ``syncfs`` on it (only
    that filesystem, not the whole machine's dirty pages), else ``os.sync()``."""
    import ctypes

    fn = _libc("syncfs", (ctypes.c_int,))
    if fn is not None:
        fd = os.open(folder, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        try:
            if fn(fd) == 0:
                _note("syncfs", folder)
                return
        finally:
            os.close(fd)
    os.sync()
    _note("sync", folder)
