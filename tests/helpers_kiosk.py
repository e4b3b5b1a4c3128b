"""Test helpers for unattended operation: a fake systemd notify socket that records datagrams.

``NotifySocket`` binds a real unix datagram socket (what systemd does for Type=notify) and
records every message with its arrival time on a background thread.
"""

from __future__ import annotations

import itertools
import socket
import threading
import time
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path


@dataclass(frozen=True, slots=True)
class Datagram:
    at: float  # time.monotonic() on arrival
    text: str


class NotifySocket:
    """A bound ``AF_UNIX``/``SOCK_DGRAM`` socket playing systemd; use as a context manager."""

    def __init__(self, path: Path) -> None:
        self.path = path
        self._sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
        self._sock.bind(str(path))
        self._sock.settimeout(0.1)
        self._lock = threading.Lock()
        self._got: list[Datagram] = []
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._read, daemon=True)
        self._thread.start()

    def _read(self) -> None:
        while not self._stop.is_set():
            try:
                data = self._sock.recv(65536)
            except TimeoutError:
                continue
            except OSError:
                return
            with self._lock:
                self._got.append(Datagram(time.monotonic(), data.decode("utf-8", "replace")))

    def messages(self) -> list[Datagram]:
        with self._lock:
            return list(self._got)

    def pings(self) -> list[float]:
        return [d.at for d in self.messages() if "WATCHDOG=1" in d.text.splitlines()]

    def wait_for(
        self, predicate_text: str, timeout: float, pump: Callable[[], object] | None = None
    ) -> Datagram:
        """The first datagram with a line starting ``predicate_text``; fails after timeout.

        ``pump`` runs while waiting (e.g. ``qapp.processEvents`` for an in-process GUI).
        """
        deadline = time.monotonic() + timeout
        while time.monotonic() < deadline:
            for d in self.messages():
                if any(line.startswith(predicate_text) for line in d.text.splitlines()):
                    return d
            if pump is not None:
                pump()
            time.sleep(0.01 if pump is not None else 0.02)
        raise AssertionError(f"no {predicate_text!r} within {timeout}s; got {self.messages()}")

    def close(self) -> None:
        self._stop.set()
        self._thread.join(2)
        self._sock.close()

    def __enter__(self) -> NotifySocket:
        return self

    def __exit__(self, *exc: object) -> None:
        self.close()


def longest_gap(times: list[float], start: float, end: float) -> float:
    """The longest interval without a ping between ``start`` and ``end``."""
    inside = [start, *[t for t in times if start <= t <= end], end]
    return max(b - a for a, b in itertools.pairwise(inside))
