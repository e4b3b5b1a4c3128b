"""Low disk: the guard collects the real feed cache once, then waits out its cool-down."""

from __future__ import annotations

from datetime import UTC, datetime
from pathlib import Path

import pytest

from signage.feed.local import content_from_root
from signage.feed.store import Store
from signage.kiosk.disk import LowDiskGuard
from signage.logs import ErrorTally
from signage.telemetry.heartbeat import Heartbeat, disk_free_mb
from tests.helpers_hub import make_content_root


class Ticks:
    def __init__(self) -> None:
        self.t = 0.0

    def __call__(self) -> float:
        return self.t


def _cache_with_an_orphan(tmp_path: Path) -> tuple[Store, Path]:
    root = make_content_root(tmp_path / "root")
    cache = tmp_path / "cache"
    content_from_root(root, cache, 1, datetime.now(UTC))
    store = Store(cache)
    orphan = store.objects_dir / ("ab" * 32)
    orphan.write_bytes(b"x" * 4096)  # an asset no version references any more
    return store, orphan


def test_guard_collects_under_the_threshold_only_once_per_cooldown(tmp_path: Path) -> None:
    store, orphan = _cache_with_an_orphan(tmp_path)
    ticks = Ticks()
    guard = LowDiskGuard(store.collect, min_free_mb=500, cooldown_s=600, monotonic=ticks)
    assert guard.check(10_000.0) is None  # plenty of room: nothing
    assert guard.check(None) is None  # unknown: nothing
    assert orphan.exists()
    freed = guard.check(120.0)
    assert freed is not None and freed >= 4096
    assert not orphan.exists()
    ticks.t = 300
    assert guard.check(120.0) is None  # still cooling down
    ticks.t = 601
    assert guard.check(120.0) == 0  # ran again; nothing left to free
    assert guard.collections == 2
    assert store.verify() == []


def test_heartbeat_runs_the_guard_with_the_free_disk_it_measured(tmp_path: Path) -> None:
    store, orphan = _cache_with_an_orphan(tmp_path)
    free = disk_free_mb(store.root)
    assert free is not None and free > 0
    # a threshold above what is free here: the disk counts as "low"
    guard = LowDiskGuard(store.collect, min_free_mb=free * 10 + 1)
    beat = Heartbeat(
        "http://127.0.0.1:9", "s", cache=store.root, on_beat=guard.check,
        timeout_s=(0.3, 0.3), tally=ErrorTally(),
    )  # fmt: skip
    try:
        beat.beat()  # the hub is unreachable; housekeeping still runs
    finally:
        beat.stop()
    assert guard.collections == 1
    assert not orphan.exists()


@pytest.mark.qt
def test_attach_collects_the_players_own_cache_when_a_heartbeat_finds_low_disk(
    qapp: object, tmp_path: Path
) -> None:
    import socket

    from PySide6.QtCore import QObject, Signal

    from signage.config import PlayerConfig
    from signage.kiosk.systemd import attach

    class StandIn(QObject):
        first_frame_painted = Signal()

        def status(self) -> dict[str, object]:
            return {}

    with socket.socket() as probe:  # a loopback port nobody listens on: the hub is down
        probe.bind(("127.0.0.1", 0))
        port = probe.getsockname()[1]
    collected: list[int] = []

    def collect() -> int:
        collected.append(1)
        return 0

    config = PlayerConfig(hub=f"http://127.0.0.1:{port}", cache=tmp_path, screen="sala")
    bridge = attach(
        StandIn(), config=config, environ={"SIGNAGE_MIN_FREE_MB": "1e15"}, collect=collect
    )
    without_hub = attach(StandIn(), config=PlayerConfig(cache=tmp_path), environ={})
    try:
        assert without_hub.heartbeat is None
        assert bridge.heartbeat is not None
        assert bridge.heartbeat.beat() is False  # nobody answers; the disk check still runs
        assert collected == [1]
        assert not (tmp_path / "state").exists()  # attach opened no cache of its own
    finally:
        bridge.stop()
        without_hub.stop()
