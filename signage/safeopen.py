"""Open-once room: a user file under a content root, opened once and checked on its descriptor.

Checking a path and then opening it again is a race: between the two, the file (or a
folder above it) can be swapped for a symbolic link to anything on the machine, and that
file is then published, signed and served. Every reader of content files therefore opens
the file once here and checks the opened descriptor, never the path:

- the descriptor's real location (``/proc/self/fd/N``, what the kernel actually opened,
  whatever links and folders were swapped on the way) must be inside the content root's
  real location; a link that stays inside the root is fine, one that leaves it is not;
- it must be a regular file (``fstat``): not a FIFO that blocks a reader forever, not a
  device, not a folder (opened with ``O_NONBLOCK``, so a FIFO cannot block the open);
- its size comes from ``fstat`` of the same descriptor.

Callers hash, sniff and copy from the returned file object, so every byte read comes from
the checked file.
"""

from __future__ import annotations

import contextlib
import os
import stat
from collections.abc import Iterator
from pathlib import Path
from typing import BinaryIO

__all__ = ["UnsafeFile", "open_inside", "opened_inside", "read_head_inside"]

_FLAGS = os.O_RDONLY | os.O_NONBLOCK | getattr(os, "O_CLOEXEC", 0) | getattr(os, "O_NOCTTY", 0)


class UnsafeFile(OSError):
    """Raised when a content file is not a regular file inside its content root (it left the
    root through a link, is a FIFO or a device, or changed while it was opened).

    ``reason`` says which, in words for the person who publishes.
    """

    def __init__(self, path: Path, reason: str) -> None:
        super().__init__(f"{path}: {reason}")
        self.path = path
        self.reason = reason


def _real_location(fd: int) -> str | None:
    """The path the kernel has for an open descriptor (Linux ``/proc``; None elsewhere)."""
    try:
        return str(Path(f"/proc/self/fd/{fd}").readlink())
    except OSError:
        return None


def open_inside(path: Path, root: Path) -> tuple[BinaryIO, os.stat_result]:
    """``path`` opened once for reading, checked to be a regular file inside ``root``.

    Returns the open binary file and the descriptor's ``fstat``; the caller closes it.

    Raises:
        UnsafeFile: it leaves the root (through a link or a swapped folder) or is not a
            regular file.
        OSError: it cannot be opened (missing, no permission...).
    """
    real_root = os.path.realpath(root)
    fd = os.open(path, _FLAGS)
    try:
        st = os.fstat(fd)
        if not stat.S_ISREG(st.st_mode):
            raise UnsafeFile(path, "not a regular file (a folder, FIFO or device?)")
        where = _real_location(fd)
        if where is None:  # no /proc: compare with the path's own real location
            where = os.path.realpath(path)
            again = Path(where).stat()
            if (again.st_dev, again.st_ino) != (st.st_dev, st.st_ino):
                raise UnsafeFile(path, "the file changed while it was being opened")
        if not Path(where).is_relative_to(real_root):
            raise UnsafeFile(path, "leaves the content root (through a link?)")
        flags = os.get_blocking(fd)
        if not flags:
            os.set_blocking(fd, True)
        fh = os.fdopen(fd, "rb")
    except BaseException:
        os.close(fd)
        raise
    return fh, st


@contextlib.contextmanager
def opened_inside(path: Path, root: Path) -> Iterator[tuple[BinaryIO, os.stat_result]]:
    """``open_inside`` as a context manager that closes the file."""
    fh, st = open_inside(path, root)
    with fh:
        yield fh, st


def read_head_inside(path: Path, root: Path, size: int) -> bytes:
    """The first ``size`` bytes of a checked file (``open_inside``)."""
    with opened_inside(path, root) as (fh, _):
        return fh.read(size)
