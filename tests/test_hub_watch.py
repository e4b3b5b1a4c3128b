"""The hub's folder watcher with real inotify events (watchdog) on a temporary folder."""

from __future__ import annotations

import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from signage.hub.watch import ChangeWatcher


class Calls:
    def __init__(self) -> None:
        self.times: list[float] = []
        self.event = threading.Event()

    def __call__(self) -> None:
        self.times.append(time.monotonic())
        self.event.set()

    def wait(self, timeout: float = 5.0) -> bool:
        ok = self.event.wait(timeout)
        self.event.clear()
        return ok


@pytest.fixture
def watched(tmp_path: Path) -> Iterator[tuple[Path, Calls, ChangeWatcher]]:
    folder = tmp_path / "root"
    (folder / "playlists").mkdir(parents=True)
    (folder / ".hub").mkdir()
    (folder / "playlists" / "lobby.yaml").write_text("name: x\n")
    calls = Calls()
    watcher = ChangeWatcher(
        folder, calls, debounce_s=0.05, max_wait_s=0.3, ignore=(folder / ".hub",)
    )
    watcher.start()
    try:
        time.sleep(0.1)  # let inotify watches settle
        yield folder, calls, watcher
    finally:
        t0 = time.monotonic()
        watcher.stop()
        assert time.monotonic() - t0 < 3


def test_a_burst_of_saves_is_handled_once(watched: tuple[Path, Calls, ChangeWatcher]) -> None:
    folder, calls, _ = watched
    for i in range(5):
        (folder / "playlists" / f"p{i}.yaml").write_text(f"name: {i}\n")
    assert calls.wait()
    time.sleep(0.3)
    assert len(calls.times) == 1


def test_reading_files_and_ignored_folders_do_not_count(
    watched: tuple[Path, Calls, ChangeWatcher],
) -> None:
    folder, calls, _ = watched
    for _ in range(5):
        (folder / "playlists" / "lobby.yaml").read_text()  # what publishing does
        (folder / ".hub" / "hub.sqlite3").write_bytes(b"x")  # the hub's own data
    assert not calls.wait(0.5)
    assert calls.times == []
    (folder / "playlists" / "lobby.yaml").write_text("name: y\n")
    assert calls.wait()


def test_changes_that_never_settle_are_still_handled(
    watched: tuple[Path, Calls, ChangeWatcher],
) -> None:
    folder, calls, _ = watched
    target = folder / "playlists" / "copying.bin"
    t_end = time.monotonic() + 1.2
    while time.monotonic() < t_end:  # a change every 20 ms: never quiet for 50 ms
        with target.open("ab") as fh:
            fh.write(b"x" * 100)
        time.sleep(0.02)
    during = [t for t in calls.times if t < t_end]
    assert len(during) >= 2, f"handled {len(during)} times during a 1.2 s stream (max wait 0.3)"
    deadline = time.monotonic() + 3
    while not any(t >= t_end for t in calls.times) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert any(t >= t_end for t in calls.times), "the last change was never handled"
