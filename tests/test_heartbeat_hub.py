"""Heartbeats against a real hub subprocess: stored, listed, screenshots, auth, hub down."""

from __future__ import annotations

import io
import logging
import socket
import time
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from PIL import Image

from signage.logs import ErrorTally, setup
from signage.telemetry.heartbeat import EventTracker, Heartbeat, SyncState
from signage.telemetry.wire import HeartbeatReport
from tests.helpers_hub import RunningHub, make_content_root, run_hub


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[RunningHub]:
    """A real hub subprocess serving a one-slide content root, with a token."""
    root = make_content_root(tmp_path / "root")
    with run_hub(data=tmp_path / "hubdata", root=root) as running:
        yield running


def _png(width: int, height: int, colour: tuple[int, int, int]) -> bytes:
    out = io.BytesIO()
    Image.new("RGB", (width, height), colour).save(out, format="PNG")
    return out.getvalue()


def _screens(hub: RunningHub, **params: str) -> list[dict[str, Any]]:
    r = requests.get(hub.url + "/api/v1/screens", params=params, headers=hub.auth, timeout=5)
    r.raise_for_status()
    data = r.json()
    assert isinstance(data, list)
    return data


def test_heartbeat_is_stored_and_listed_with_its_screenshot(hub: RunningHub) -> None:
    synced = datetime.now(UTC) - timedelta(seconds=42)
    beat = Heartbeat(
        hub.url,
        "lobby-1",
        frozenset({"lobby", "piso-1"}),
        status=lambda: {"version": hub.version(), "playlist": "lobby", "slide": "bienvenida"},
        sync=lambda: SyncState(last_success=synced),
        screenshot=lambda: _png(1920, 1080, (200, 30, 40)),
        cache=hub.data_dir,
        token=hub.token,
        tally=ErrorTally(),
    )
    try:
        assert beat.beat() is True
    finally:
        beat.stop()
    [screen] = _screens(hub)
    assert screen["screen"] == "lobby-1"
    assert screen["online"] is True
    assert screen["tags"] == ["lobby", "piso-1"]
    assert screen["playing"] == "lobby/bienvenida"
    assert screen["version"] == hub.version()
    assert screen["stale"] is False
    age = screen["last_sync_age_s"]
    assert isinstance(age, float) and 41 <= age < 60
    shot = screen["screenshot"]
    assert isinstance(shot, dict)
    path = Path(str(shot["path"]))
    assert path.name == "lobby-1.png"
    assert path.parent.name == "screenshots"
    assert path.is_file()
    with Image.open(path) as img:
        assert img.size == (320, 180)
        assert img.getpixel((160, 90)) == (200, 30, 40)
    served = requests.get(hub.url + str(shot["url"]), headers=hub.auth, timeout=5)
    assert served.status_code == 200
    assert served.headers["content-type"] == "image/png"
    assert served.content == path.read_bytes()


def test_screenshot_goes_only_every_few_minutes(hub: RunningHub) -> None:
    grabs: list[int] = []

    def grab() -> bytes:
        grabs.append(1)
        return _png(640, 360, (0, 0, 255))

    beat = Heartbeat(
        hub.url, "sala-2", screenshot=grab, token=hub.token,
        screenshot_every_s=3600, tally=ErrorTally(),
    )  # fmt: skip
    try:
        assert beat.beat() and beat.beat() and beat.beat()
    finally:
        beat.stop()
    assert len(grabs) == 1  # the first beat carried one, the next two did not


def test_heartbeat_needs_the_token_when_the_hub_has_one(hub: RunningHub) -> None:
    report = HeartbeatReport(screen="intruso", sent=datetime.now(UTC))
    r = requests.post(hub.url + "/api/v1/heartbeat", json=report.to_json(), timeout=5)
    assert r.status_code == 401
    beat = Heartbeat(hub.url, "x", token="wrong", tally=ErrorTally())
    try:
        assert beat.beat() is False
    finally:
        beat.stop()
    assert beat.failed == 1
    assert _screens(hub) == []


@pytest.mark.parametrize(
    ("body", "needle"),
    [
        (b"not json", "bad heartbeat"),
        (b'{"screen": "../etc"}', "'screen'"),
        (b'{"screen": "a", "version": "7"}', "'version'"),
        (b'{"screen": "a", "screenshot_png": "bm90IGEgcG5n"}', "PNG"),
    ],
)
def test_bad_heartbeats_are_refused_with_a_reason(
    hub: RunningHub, body: bytes, needle: str
) -> None:
    r = requests.post(
        hub.url + "/api/v1/heartbeat",
        data=body,
        headers=hub.auth | {"Content-Type": "application/json"},
        timeout=5,
    )
    assert r.status_code == 400
    assert needle in r.json()["error"]


def test_online_then_offline_then_stale(hub: RunningHub) -> None:
    v1 = hub.version()
    playing = {"version": v1, "playlist": "lobby", "slide": "bienvenida"}
    beat = Heartbeat(
        hub.url, "lobby-9", status=lambda: playing, token=hub.token, tally=ErrorTally()
    )
    try:
        assert beat.beat()
        assert _screens(hub, online_window="1")[0]["online"] is True
        time.sleep(1.3)
        [gone] = _screens(hub, online_window="1")
        assert gone["online"] is False
        assert gone["age_s"] >= 1.0
        # a new version on the hub; the screen keeps reporting v1
        assert hub.root is not None
        lobby = hub.root / "playlists" / "lobby.yaml"
        lobby.write_text(lobby.read_text().replace("Bienvenidos", "Bienvenidas"), "utf-8")
        v2 = hub.wait_version(v1)
        _screens(hub)  # the hub notes when it first saw v2
        time.sleep(0.4)
        assert beat.beat()
        [behind] = _screens(hub, stale_grace="0.2")
        assert behind["online"] is True
        assert behind["stale"] is True
        assert behind["stale_reason"] == f"plays version {v1}, the hub has {v2}"
        assert _screens(hub)[0]["stale"] is False  # within the default grace it is not
        playing["version"] = v2
        assert beat.beat()
        assert _screens(hub, stale_grace="0.2")[0]["stale"] is False
    finally:
        beat.stop()


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_hub_down_is_said_once_and_nothing_piles_up() -> None:
    stream = io.StringIO()
    installed = setup(0, stream=stream, journald=False, repeat_interval_s=3600)
    tally = ErrorTally()
    tracker = EventTracker()
    beat = Heartbeat(
        f"http://127.0.0.1:{_closed_port()}", "offline-1", tally=tally, tracker=tracker,
        timeout_s=(0.5, 0.5),
    )  # fmt: skip
    logging.getLogger("signage").addHandler(tally)
    try:
        started = time.monotonic()
        results = [beat.beat() for _ in range(40)]
        elapsed = time.monotonic() - started
    finally:
        logging.getLogger("signage").removeHandler(tally)
        installed.remove()
        logging.getLogger("signage").propagate = True
        beat.stop()
    assert results == [False] * 40
    assert elapsed < 20  # each attempt bounded by the timeouts (refused at once here)
    assert stream.getvalue().count("cannot reach the hub") == 1
    assert tally.counts()["kiosk"] == 40
    report = beat.build_report()
    assert report.errors["kiosk"] == 40  # counted, but the report stays one small object
    assert len(report.to_json()) < 30


def test_background_thread_beats_and_stops(hub: RunningHub) -> None:
    beat = Heartbeat(hub.url, "hilo-1", token=hub.token, interval_s=0.1, tally=ErrorTally())
    beat.start()
    try:
        deadline = time.monotonic() + 10
        while beat.sent < 3 and time.monotonic() < deadline:
            time.sleep(0.05)
    finally:
        beat.stop()
    assert beat.sent >= 3
    sent = beat.sent
    time.sleep(0.3)
    assert beat.sent == sent  # stopped means stopped


def test_a_long_outage_does_not_grow_memory() -> None:
    """Hundreds of failed beats: traced memory levels off (nothing is queued).

    Logging is set up as on a screen (``signage.logs.setup``: rate-limited, not propagated
    to pytest's capture, which would keep every record of the test).
    """
    import gc
    import tracemalloc

    def traced() -> int:
        gc.collect()
        snap = tracemalloc.take_snapshot().filter_traces(
            [tracemalloc.Filter(False, tracemalloc.__file__)]
        )
        return sum(stat.size for stat in snap.statistics("filename"))

    stream = io.StringIO()
    installed = setup(0, stream=stream, journald=False, repeat_interval_s=3600)
    beat = Heartbeat(
        f"http://127.0.0.1:{_closed_port()}", "offline-2", tally=installed.tally,
        timeout_s=(0.5, 0.5),
    )  # fmt: skip
    tracemalloc.start()
    try:
        for _ in range(300):  # warm-up: pools and caches fill, then level off
            beat.beat()
        before = traced()
        for _ in range(600):
            beat.beat()
        after = traced()
    finally:
        tracemalloc.stop()
        installed.remove()
        logging.getLogger("signage").propagate = True
        beat.stop()
    assert beat.failed == 900
    assert stream.getvalue().count("cannot reach the hub") == 1
    assert after - before < 32 * 1024, f"grew {after - before} bytes over 600 failed beats"


def test_a_nudge_sends_a_beat_soon_and_many_nudges_send_one(hub: RunningHub) -> None:
    beat = Heartbeat(
        hub.url, "nudge-1", token=hub.token, interval_s=60, min_gap_s=0.3, tally=ErrorTally()
    )
    beat.start()
    try:
        deadline = time.monotonic() + 10
        while beat.sent < 1 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert beat.sent == 1  # the first beat at start; the next is a minute away
        for _ in range(5):  # a version and an alert arriving together
            beat.nudge()
        deadline = time.monotonic() + 10
        while beat.sent < 2 and time.monotonic() < deadline:
            time.sleep(0.02)
        assert beat.sent == 2
        time.sleep(0.8)  # past the gap: the burst of nudges made one beat, not five
        assert beat.sent == 2
    finally:
        beat.stop()
