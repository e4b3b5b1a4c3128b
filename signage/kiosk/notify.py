"""The sd_notify client: READY=1, STATUS=, WATCHDOG=1 sent to systemd without libsystemd.

systemd passes ``NOTIFY_SOCKET`` (a file path, or ``@name`` for the abstract namespace),
``WATCHDOG_USEC`` (the watchdog period) and ``WATCHDOG_PID`` (the process expected to ping)
in the environment of a ``Type=notify`` service. Every method is a no-op when they are not
set, so the same player runs under systemd, in a terminal and in tests.

``WATCHDOG_PID`` is honoured like ``sd_watchdog_enabled()`` does, with one addition: under
cage the main PID systemd watches is the compositor, our direct parent, so a
``WATCHDOG_PID`` equal to our parent's PID also enables the watchdog (the unit sets
``NotifyAccess=all`` so systemd accepts datagrams from the player, cage's child).
"""

from __future__ import annotations

import os
import threading
from collections.abc import Mapping
from typing import TYPE_CHECKING, Final

from signage.logs import area_logger
from signage.values import Value

if TYPE_CHECKING:
    import socket  # imported by send(), under systemd only: ~2 ms of every start

log = area_logger("kiosk")

_MAX_STATUS = 480  # keep one datagram small; systemctl status shows one line anyway


def _address(raw: str) -> str:
    """The socket address: ``@name`` is the abstract namespace (a leading NUL byte)."""
    return "\0" + raw[1:] if raw.startswith("@") else raw


class NotifySettings(Value):
    """What systemd told us through the environment.

    Args:
        socket_path: where to send datagrams (``None``: not started by systemd).
        watchdog_usec: watchdog period in microseconds when the watchdog applies to us.
    """

    __slots__ = ("socket_path", "watchdog_usec")
    _fields = ("socket_path", "watchdog_usec")

    def __init__(self, socket_path: str | None = None, watchdog_usec: int | None = None) -> None:
        self.socket_path: Final = socket_path
        self.watchdog_usec: Final = watchdog_usec

    @classmethod
    def parse(cls, environ: Mapping[str, str], pid: int, ppid: int) -> NotifySettings:
        """Reads NOTIFY_SOCKET / WATCHDOG_USEC / WATCHDOG_PID; pure, so tests pass a dict."""
        raw_socket = environ.get("NOTIFY_SOCKET", "").strip()
        path = raw_socket if raw_socket.startswith(("/", "@")) else None
        usec: int | None = None
        raw_usec = environ.get("WATCHDOG_USEC", "").strip()
        if raw_usec.isdigit() and int(raw_usec) > 0:
            usec = int(raw_usec)
            raw_pid = environ.get("WATCHDOG_PID", "").strip()
            if raw_pid and (not raw_pid.isdigit() or int(raw_pid) not in (pid, ppid)):
                usec = None  # the watchdog belongs to another process of the service
        return cls(socket_path=path, watchdog_usec=usec)

    @property
    def ping_interval_s(self) -> float | None:
        """Half the watchdog period, as sd_watchdog_enabled(3) recommends."""
        return None if self.watchdog_usec is None else self.watchdog_usec / 2_000_000


class Notifier:
    """Sends sd_notify datagrams; every call is a silent no-op without NOTIFY_SOCKET.

    Sending never raises: a failure is logged once (the service manager may be gone
    while the screen must keep playing).
    """

    __slots__ = ("_failed", "_lock", "_sock", "settings")

    def __init__(self, settings: NotifySettings) -> None:
        self.settings = settings
        self._sock: socket.socket | None = None
        self._lock = threading.Lock()
        self._failed = False

    @classmethod
    def from_env(cls, environ: Mapping[str, str] | None = None) -> Notifier:
        env = os.environ if environ is None else environ
        return cls(NotifySettings.parse(env, os.getpid(), os.getppid()))

    @property
    def enabled(self) -> bool:
        return self.settings.socket_path is not None

    @property
    def watchdog_interval_s(self) -> float | None:
        """How often to send WATCHDOG=1, or ``None`` when no watchdog applies."""
        return self.settings.ping_interval_s if self.enabled else None

    def ready(self, status: str | None = None) -> bool:
        """READY=1 (with a STATUS= line when given): the first frame is on screen."""
        lines = ["READY=1"] + ([f"STATUS={_clip(status)}"] if status else [])
        return self.send("\n".join(lines))

    def status(self, text: str) -> bool:
        """STATUS=: what ``systemctl status`` shows under the unit."""
        return self.send(f"STATUS={_clip(text)}")

    def watchdog(self) -> bool:
        """WATCHDOG=1: the GUI thread is alive."""
        return self.send("WATCHDOG=1")

    def stopping(self) -> bool:
        return self.send("STOPPING=1")

    def send(self, message: str) -> bool:
        """Sends one datagram; ``True`` when it left, ``False`` when disabled or failed."""
        path = self.settings.socket_path
        if path is None:
            return False
        data = message.encode("utf-8")
        with self._lock:
            try:
                if self._sock is None:
                    import socket

                    self._sock = socket.socket(
                        socket.AF_UNIX, socket.SOCK_DGRAM | socket.SOCK_CLOEXEC
                    )
                self._sock.sendto(data, _address(path))
            except OSError as exc:
                if not self._failed:
                    log.warning("cannot notify systemd at %s: %s", path, exc)
                    self._failed = True
                return False
        self._failed = False
        return True

    def close(self) -> None:
        with self._lock:
            if self._sock is not None:
                self._sock.close()
                self._sock = None


def _clip(text: str) -> str:
    one_line = " ".join(text.split())
    return one_line if len(one_line) <= _MAX_STATUS else one_line[: _MAX_STATUS - 1] + "…"
