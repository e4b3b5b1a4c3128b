"""The watchdog bridge: READY=1 after the first painted frame, WATCHDOG=1 from the GUI thread.

A real unix datagram socket plays systemd. In-process, a small real QWidget stands in for
the player (it emits ``first_frame_painted`` from its paintEvent) so the bridge is tested
on its own; the subprocess test below runs the real ``signage play --headless``.
"""

from __future__ import annotations

import os
import subprocess
import sys
import time
from pathlib import Path
from types import SimpleNamespace
from typing import Any

import pytest

from signage.kiosk.notify import Notifier
from tests.helpers_kiosk import NotifySocket, longest_gap

REPO = Path(__file__).resolve().parents[1]


def _spin(qapp: Any, seconds: float) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        qapp.processEvents()
        time.sleep(0.005)


@pytest.mark.qt
def test_bridge_readies_after_paint_pings_and_stops_when_the_gui_blocks(
    qapp: Any, tmp_path: Path
) -> None:
    from PySide6.QtCore import Signal
    from PySide6.QtGui import QPainter
    from PySide6.QtWidgets import QWidget

    from signage.kiosk.systemd import KioskBridge

    class StandIn(QWidget):
        """Paints one colour and reports its first frame, like the player does."""

        first_frame_painted = Signal()

        def __init__(self) -> None:
            super().__init__()
            self.painted = False

        def paintEvent(self, event: Any) -> None:
            QPainter(self).fillRect(self.rect(), 0x0B2545)
            if not self.painted:
                self.painted = True
                self.first_frame_painted.emit()

        def status(self) -> dict[str, object]:
            return {"version": 7, "playlist": "lobby", "slide": "eficiencia"}

    with NotifySocket(tmp_path / "notify.sock") as systemd:
        notifier = Notifier.from_env(
            {"NOTIFY_SOCKET": str(systemd.path), "WATCHDOG_USEC": "200000"}
        )
        player = StandIn()
        bridge = KioskBridge(player, notifier)
        try:
            _spin(qapp, 0.3)
            assert not bridge.ready_sent  # nothing painted yet: not ready
            player.resize(320, 180)
            player.show()
            ready = systemd.wait_for("READY=1", 5, pump=qapp.processEvents)
            assert "STATUS=playing lobby/eficiencia · feed v7" in ready.text
            _spin(qapp, 1.0)
            # the GUI thread blocks (as in a hung slide decode) for 0.8 s
            frozen_from = time.monotonic()
            time.sleep(0.8)
            frozen_to = time.monotonic()
            _spin(qapp, 0.6)
        finally:
            bridge.stop()
            player.close()
            player.deleteLater()
        pings = systemd.pings()
    before = [t for t in pings if t < frozen_from]
    after = [t for t in pings if t > frozen_to + 0.05]
    assert len(before) >= 5  # every 100 ms while the loop ran
    assert longest_gap(pings, ready.at + 0.2, frozen_from) < 0.4
    during = [t for t in pings if frozen_from + 0.05 < t < frozen_to]
    assert during == []  # a blocked GUI thread sends nothing
    assert len(after) >= 3  # and pings resume with the loop
    assert any(m.text == "STOPPING=1" for m in systemd.messages())


@pytest.mark.qt
def test_status_changes_are_sent_once_each(qapp: Any, tmp_path: Path) -> None:
    from PySide6.QtCore import QObject, Signal

    from signage.kiosk import systemd as bridge_module

    class Player(QObject):
        first_frame_painted = Signal()

        def __init__(self) -> None:
            super().__init__()
            self.now: dict[str, object] = {"version": 1, "playlist": "lobby", "slide": "a"}
            self.alerts: object = None

        def status(self) -> dict[str, object]:
            return self.now

    with NotifySocket(tmp_path / "n.sock") as systemd:
        player = Player()
        bridge = bridge_module.KioskBridge(
            player, Notifier.from_env({"NOTIFY_SOCKET": str(systemd.path)})
        )
        try:
            player.first_frame_painted.emit()
            # the real player says only "an alert is up"; its alert layer knows which one
            player.now = {"version": 2, "alert": True}
            player.alerts = SimpleNamespace(current=SimpleNamespace(id="corte-red"))
            bridge._refresh_status()
            bridge._refresh_status()  # unchanged: not sent again
            systemd.wait_for("STATUS=ALERT corte-red · feed v2", 3, pump=qapp.processEvents)
            time.sleep(0.2)
        finally:
            bridge.stop()
        texts = [m.text for m in systemd.messages()]
    assert texts[0] == "READY=1\nSTATUS=playing lobby/a · feed v1"
    assert texts.count("STATUS=ALERT corte-red · feed v2") == 1
    assert bridge.latest_status()["alert"] == "corte-red"


@pytest.mark.slow
@pytest.mark.qt
def test_headless_player_under_a_fake_systemd(tmp_path: Path) -> None:
    """READY=1 and regular pings from the real player; a frozen GUI thread stops them.

    The freeze uses the player's test hook (a file that makes the GUI thread sleep), not
    SIGSTOP: SIGSTOP halts every thread, so it would also silence a pinger running on a
    background thread and could not show that the pings come from the GUI event loop.
    """
    from tests.helpers_hub import make_content_root, stop_process

    root = make_content_root(tmp_path / "root")
    freeze = tmp_path / "freeze"
    with NotifySocket(tmp_path / "notify.sock") as systemd:
        env = dict(os.environ)
        env.update(
            NOTIFY_SOCKET=str(systemd.path),
            WATCHDOG_USEC="400000",
            SIGNAGE_TEST_FREEZE_FILE=str(freeze),
            QT_QPA_PLATFORM="offscreen",
            PYTHONPATH=str(REPO),
        )
        env.pop("WATCHDOG_PID", None)
        log_path = tmp_path / "player.log"
        with log_path.open("w") as log_file:
            proc = subprocess.Popen(
                [sys.executable, "-m", "signage", "play", "--headless", "--root", str(root),
                 "--size", "640x360", "--for", "20"],
                env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=log_file, text=True,
            )  # fmt: skip
        try:
            try:
                ready = systemd.wait_for("READY=1", 30)
            except AssertionError:
                raise AssertionError(log_path.read_text(errors="replace")) from None
            assert "STATUS=" in ready.text
            time.sleep(2.0)
            freeze.write_text("2.5")
            deadline = time.monotonic() + 5
            while freeze.exists() and time.monotonic() < deadline:
                time.sleep(0.01)
            frozen_from = time.monotonic()
            assert not freeze.exists(), "the player never picked up the freeze file"
            time.sleep(3.5)
            after_freeze = time.monotonic()
        finally:
            stop_process(proc)
        pings = systemd.pings()
        stderr = log_path.read_text(errors="replace")
    steady = [t for t in pings if ready.at < t < frozen_from]
    assert len(steady) >= 6, stderr  # ~every 200 ms for 2 s
    assert longest_gap(pings, ready.at + 0.3, frozen_from - 0.1) < 0.6
    # the GUI thread slept 2.5 s: no ping for at least ~2 s in that window
    assert longest_gap(pings, frozen_from, after_freeze) >= 2.0
    assert [t for t in pings if t > frozen_from + 2.6], "pings did not resume after the freeze"
