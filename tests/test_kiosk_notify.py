"""sd_notify client: real unix datagram sockets (path and abstract), env parsing, no-op."""

from __future__ import annotations

import os
import socket
from pathlib import Path

import pytest

from signage.kiosk.notify import Notifier, NotifySettings


def _receiver(address: str) -> socket.socket:
    sock = socket.socket(socket.AF_UNIX, socket.SOCK_DGRAM)
    sock.bind(address)
    sock.settimeout(2.0)
    return sock


def test_sends_ready_status_watchdog_to_a_path_socket(tmp_path: Path) -> None:
    path = str(tmp_path / "notify.sock")
    with _receiver(path) as rx:
        notifier = Notifier.from_env({"NOTIFY_SOCKET": path, "WATCHDOG_USEC": "400000"})
        assert notifier.enabled
        assert notifier.watchdog_interval_s == pytest.approx(0.2)
        assert notifier.ready("playing lobby/eficiencia · feed v3")
        assert notifier.watchdog()
        assert notifier.status("  two\nlines  ")
        got = [rx.recv(4096).decode() for _ in range(3)]
        notifier.close()
    assert got[0] == "READY=1\nSTATUS=playing lobby/eficiencia · feed v3"
    assert got[1] == "WATCHDOG=1"
    assert got[2] == "STATUS=two lines"


def test_abstract_namespace_socket() -> None:
    name = f"signage-test-{os.getpid()}"
    with _receiver("\0" + name) as rx:
        notifier = Notifier.from_env({"NOTIFY_SOCKET": "@" + name})
        assert notifier.watchdog_interval_s is None  # no WATCHDOG_USEC: no pings needed
        assert notifier.ready()
        assert rx.recv(4096) == b"READY=1"
        notifier.close()


def test_no_socket_means_silent_no_op() -> None:
    notifier = Notifier.from_env({})
    assert not notifier.enabled
    assert notifier.ready() is False
    assert notifier.watchdog() is False
    assert notifier.watchdog_interval_s is None


def test_vanished_socket_is_logged_once_and_never_raises(
    tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    notifier = Notifier.from_env({"NOTIFY_SOCKET": str(tmp_path / "gone.sock")})
    assert notifier.watchdog() is False
    assert notifier.watchdog() is False
    notifier.close()
    warnings = [r for r in caplog.records if "cannot notify systemd" in r.getMessage()]
    assert len(warnings) == 1


@pytest.mark.parametrize(
    ("watchdog_pid", "expected"),
    [
        (None, 0.5),  # no WATCHDOG_PID: the watchdog is ours
        ("100", 0.5),  # our own PID
        ("50", 0.5),  # our parent: cage is the unit's main PID and wraps the player
        ("999", None),  # another process of the service pings, not us
        ("junk", None),
    ],
)
def test_watchdog_pid_rules(watchdog_pid: str | None, expected: float | None) -> None:
    env = {"NOTIFY_SOCKET": "/run/x", "WATCHDOG_USEC": "1000000"}
    if watchdog_pid is not None:
        env["WATCHDOG_PID"] = watchdog_pid
    settings = NotifySettings.parse(env, pid=100, ppid=50)
    assert settings.ping_interval_s == expected


def test_relative_or_bad_values_are_ignored() -> None:
    settings = NotifySettings.parse(
        {"NOTIFY_SOCKET": "relative.sock", "WATCHDOG_USEC": "-5"}, pid=1, ppid=0
    )
    assert settings.socket_path is None
    assert settings.watchdog_usec is None


def test_long_status_is_clipped_to_one_small_datagram(tmp_path: Path) -> None:
    path = str(tmp_path / "n.sock")
    with _receiver(path) as rx:
        notifier = Notifier.from_env({"NOTIFY_SOCKET": path})
        notifier.status("x" * 5000)
        data = rx.recv(8192).decode()
        notifier.close()
    assert data.startswith("STATUS=xxx")
    assert len(data) < 600
