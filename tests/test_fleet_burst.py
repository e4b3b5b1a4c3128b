"""What a new version makes a big fleet do at once, kept from swamping the hub (issue 17.4).

Every screen learns of a new version in the same instant (the push channel), and each then
sends a heartbeat with a fresh screenshot. Two rules keep that burst from stalling the hub:
the hub asks the screens to spread those beats (``beat_spread_s`` in the version event,
followed by ``Heartbeat``), and it checks and stores heartbeats in a worker process of
its own (``signage.hub.beatworker``), not on threads that take the interpreter from its
event loop. Real hub subprocess, real push channels and real heartbeats.
"""

from __future__ import annotations

import base64
import io
import json
import socket
import sqlite3
import threading
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests
from PIL import Image

from signage import durable
from signage.config import PlayerConfig
from signage.hub.push import (
    MAX_BEAT_SPREAD_S,
    SPREAD_FROM,
    Broadcaster,
    beat_spread,
    feed_event,
)
from signage.hub.telemetry_store import TelemetryStore
from signage.logs import ErrorTally
from signage.sources.feed import MAX_BEAT_SPREAD_S as PLAYER_MAX_SPREAD_S
from signage.sources.feed import FeedSource
from signage.telemetry.heartbeat import Heartbeat
from signage.telemetry.wire import HeartbeatReport
from tests.helpers_hub import LOBBY_YAML, make_content_root, run_hub


def test_the_spread_grows_with_the_fleet_and_is_bounded() -> None:
    assert beat_spread(0) == 0.0
    assert beat_spread(SPREAD_FROM - 1) == 0.0  # a small fleet beats at once, as before
    assert 0 < beat_spread(SPREAD_FROM) < 1
    assert beat_spread(10_000) == 50.0
    assert beat_spread(10_000_000) == MAX_BEAT_SPREAD_S


def test_the_event_says_the_spread_only_when_there_is_one() -> None:
    with_spread = feed_event(3, b"", None, "", 4.5)
    assert json.loads(with_spread.split(b"data: ")[1]) == {"version": 3, "beat_spread_s": 4.5}
    assert b"beat_spread_s" not in feed_event(3, b"", None, "", 0.0)


def test_a_new_channel_hears_the_spread_for_the_channels_open_now() -> None:
    """After a hub restart every screen reconnects to a version published while no
    channel was open: its first event must say the fleet's spread now (the player paces
    its slide-change screenshots by it), not the 0 of when it was published."""
    push = Broadcaster()

    def remake(spread: float) -> bytes:
        return feed_event(4, b"", None, "", spread)

    push.announce(4, remake(0.0), remake)  # published with no channel open
    assert b"beat_spread_s" not in push.event(4)
    subs = [push.subscribe() for _ in range(SPREAD_FROM * 3)]
    opening = push.opening_event(4)
    assert json.loads(opening.split(b"data: ")[1])["beat_spread_s"] == beat_spread(len(subs))
    assert push.opening_event(4) is opening  # made once while the count's spread holds
    assert b"beat_spread_s" not in push.opening_event(3)  # another version: a bare event
    for sub in subs:
        push.unsubscribe(sub)
    assert b"beat_spread_s" not in push.opening_event(4)


def _source(tmp_path: Path) -> FeedSource:
    from tests.helpers_feed import make_keypair

    keys = make_keypair(tmp_path / "keys")
    config = PlayerConfig(
        screen="s1", feed="http://127.0.0.1:9/", pubkey=keys.pubkey, cache=tmp_path / "cache"
    )
    return FeedSource(config)


def test_the_player_keeps_a_bounded_spread_from_the_event(tmp_path: Path) -> None:
    source = _source(tmp_path)
    assert source.beat_spread_s == 0.0
    source._on_push("version", '{"version": 5, "beat_spread_s": 12.5}')
    assert source.beat_spread_s == 12.5
    source._on_push("version", '{"version": 6, "beat_spread_s": 1e300}')
    assert source.beat_spread_s == PLAYER_MAX_SPREAD_S
    source._on_push("version", '{"version": 7, "beat_spread_s": -3}')
    assert source.beat_spread_s == 0.0
    for junk in ('"mucho"', "true", "null", "[1]"):
        event = {"version": 8, "beat_spread_s": json.loads(junk)}
        source._on_push("version", json.dumps(event))
        assert source.beat_spread_s == 0.0


def test_a_nudged_beat_waits_a_random_part_of_the_spread() -> None:
    spread = [10.0]
    beat = Heartbeat(
        "http://127.0.0.1:9", "s1", spread=lambda: spread[0], rng=lambda: 0.25, tally=ErrorTally()
    )
    assert beat.spread_delay() == 2.5
    for bad in (float("nan"), -1.0, 0.0):
        spread[0] = bad
        assert beat.spread_delay() == 0.0
    spread[0] = 1e9
    assert beat.spread_delay() == 0.25 * 120.0
    assert Heartbeat("http://127.0.0.1:9", "s2", tally=ErrorTally()).spread_delay() == 0.0


def _wait_sent(beat: Heartbeat, count: int, within_s: float) -> float:
    """Waits until ``beat`` has sent ``count`` heartbeats (at most ``within_s``); the moment."""
    deadline = time.monotonic() + within_s
    while beat.sent < count and time.monotonic() < deadline:
        time.sleep(0.02)
    assert beat.sent == count
    return time.monotonic()


def test_a_slide_change_owes_a_screenshot_after_the_fleets_spread() -> None:
    # At 10,000 screens a screenshot beat at every slide change (10 s slides) would be ~1,000
    # beats a second; in a big fleet the owed picture waits the hub's spread instead.
    from signage.telemetry.heartbeat import FRESH_SHOT_GAP_S

    now, spread = [100.0], [0.0]
    beat = Heartbeat(
        "http://127.0.0.1:9",
        "s1",
        screenshot=lambda: b"png",
        spread=lambda: spread[0],
        monotonic=lambda: now[0],
        tally=ErrorTally(),
    )
    beat._last_screenshot = now[0]
    beat.picture_changed()
    now[0] += FRESH_SHOT_GAP_S
    assert beat.screenshot_due()  # a small fleet: 5 s after the last one, as before
    spread[0] = 50.0
    assert beat.fresh_gap_s() == 50.0
    assert not beat.screenshot_due()
    now[0] += 45.0
    assert beat.screenshot_due()
    spread[0] = float("nan")
    assert beat.fresh_gap_s() == FRESH_SHOT_GAP_S


def test_slide_changes_alone_send_no_beat_before_the_picture_is_due(tmp_path: Path) -> None:
    root = make_content_root(tmp_path / "root")
    with run_hub(data=tmp_path / "hub", root=root) as hub:
        beat = Heartbeat(
            hub.url,
            "slides-1",
            token=hub.token,
            screenshot=_png,
            interval_s=60,
            min_gap_s=0.1,
            spread=lambda: 2.0,  # the hub's spread: an owed picture waits 5 s (the floor)
            tally=ErrorTally(),
        )
        beat.start()
        try:
            first = _wait_sent(beat, 1, 10)  # the first beat, with its screenshot
            for _ in range(6):  # slides changing every 0.3 s
                beat.picture_changed()
                time.sleep(0.3)
            assert beat.sent == 1  # no beat per slide change
            assert _wait_sent(beat, 2, 15) - first >= 4.5  # when the owed picture was due
            beat.nudge()  # a version or an alert still goes at once
            nudged = time.monotonic()
            assert _wait_sent(beat, 3, 10) - nudged < 4.0
        finally:
            beat.stop(last_beat=False)


def test_a_nudge_in_a_big_fleet_is_sent_after_the_spread(tmp_path: Path) -> None:
    root = make_content_root(tmp_path / "root")
    with run_hub(data=tmp_path / "hub", root=root) as hub:
        beat = Heartbeat(
            hub.url,
            "spread-1",
            token=hub.token,
            interval_s=60,
            min_gap_s=0.1,
            spread=lambda: 1.5,
            rng=lambda: 1.0,  # the end of the spread
            tally=ErrorTally(),
        )
        beat.start()
        try:
            _wait_sent(beat, 1, 10)
            nudged = time.monotonic()
            beat.nudge()
            assert _wait_sent(beat, 2, 10) - nudged >= 1.5  # not at once: after the spread
        finally:
            beat.stop(last_beat=False)


def _open_channels(url: str, n: int) -> list[socket.socket]:
    host, port = url.removeprefix("http://").split(":")
    socks = []
    for _ in range(n):
        s = socket.create_connection((host, int(port)), timeout=10)
        s.sendall(b"GET /api/v1/push HTTP/1.1\r\nHost: hub\r\nAccept: text/event-stream\r\n\r\n")
        socks.append(s)
    return socks


def test_the_hub_asks_a_big_fleet_to_spread_its_beats(tmp_path: Path) -> None:
    root = make_content_root(tmp_path / "root")
    with run_hub(data=tmp_path / "hub", root=root) as hub:
        socks = _open_channels(hub.url, SPREAD_FROM + 20)
        try:
            deadline = time.monotonic() + 15
            while time.monotonic() < deadline:
                feed = requests.get(hub.url + "/api/v1/feed", timeout=5).json()
                if feed["subscribers"] >= SPREAD_FROM + 20:
                    break
                time.sleep(0.05)
            listener = socks[-1]
            listener.settimeout(10)
            version = hub.version()
            (root / "playlists" / "lobby.yaml").write_text(
                LOBBY_YAML.replace("Bienvenidos", "Flota grande"), encoding="utf-8"
            )
            hub.wait_version(version)
            seen = b""
            events: list[dict[str, float]] = []
            while not any(e["version"] > version for e in events) and len(seen) < 1 << 20:
                chunk = listener.recv(65536)
                assert chunk, seen[-500:]
                seen += chunk
                events = [
                    json.loads(ln[len(b"data: ") :])
                    for ln in seen.split(b"\n")
                    if ln.startswith(b"data: ") and ln.endswith(b"}")
                ]
            opening, *_, newer = events
            # the channel opened last, with ~SPREAD_FROM + 19 others open: its first event
            # (the version published before any channel was) says their spread, not 0
            assert opening["version"] == version
            assert 0 < opening["beat_spread_s"] <= beat_spread(SPREAD_FROM + 20)
            assert newer["version"] > version
            assert newer["beat_spread_s"] == beat_spread(SPREAD_FROM + 20)
        finally:
            for s in socks:
                s.close()


def _png() -> bytes:
    out = io.BytesIO()
    Image.effect_noise((320, 180), 60).convert("RGB").save(out, format="PNG")
    return out.getvalue()


def _threads(pid: int) -> int:
    return len(list(Path(f"/proc/{pid}/task").iterdir()))


def test_a_burst_of_heartbeats_runs_outside_the_hubs_process(tmp_path: Path) -> None:
    """100 screens beating at once, each with a screenshot: all taken, checked by one
    worker process, and the hub's own process runs no thread for them (the default pool
    ran ~40, then two took the interpreter from the event loop in turn)."""
    root = make_content_root(tmp_path / "root")
    with run_hub(data=tmp_path / "hub", root=root) as hub:
        assert requests.get(hub.url + "/api/v1/feed", timeout=5).ok
        pid = hub.process.pid
        before = _threads(pid)
        most = [before]
        done = threading.Event()

        def watch() -> None:
            while not done.is_set():
                most[0] = max(most[0], _threads(pid))
                time.sleep(0.002)

        watcher = threading.Thread(target=watch)
        watcher.start()
        png = _png()
        answers: list[int] = []
        lock = threading.Lock()
        go = threading.Barrier(100)

        def one(i: int) -> None:
            beat = Heartbeat(
                hub.url,
                f"burst-{i:03d}",
                token=hub.token,
                screenshot=lambda: png,
                tally=ErrorTally(),
            )
            go.wait()
            ok = beat.beat()
            with lock:
                answers.append(int(ok))
            beat.stop(last_beat=False)

        workers = [threading.Thread(target=one, args=(i,)) for i in range(100)]
        for w in workers:
            w.start()
        for w in workers:
            w.join(60)
        done.set()
        watcher.join()
        assert sum(answers) == 100  # every beat taken
        screens = requests.get(hub.url + "/api/v1/screens", headers=hub.auth, timeout=10).json()
        assert sum(s["screen"].startswith("burst-") for s in screens) == 100
        # no checking or writing thread in the hub's process (one: a child watcher's, at most)
        assert most[0] - before <= 1, (before, most[0])
        kids = list(Path(f"/proc/{pid}/task/{pid}/children").read_text().split())
        assert len(kids) == 1  # the heartbeat worker


# ------------------------------------------------------------ heartbeats stored in batches


def _store(tmp_path: Path) -> TelemetryStore:
    local = threading.local()

    def connect() -> sqlite3.Connection:
        if not hasattr(local, "db"):
            local.db = sqlite3.connect(tmp_path / "hub.sqlite3")
        return local.db  # type: ignore[no-any-return]

    return TelemetryStore(connect, tmp_path / "screenshots")


def _report(screen: str, shot: bytes | None, version: int = 1) -> HeartbeatReport:
    return HeartbeatReport(
        screen=screen, sent=datetime.now(UTC), version=version, screenshot_png=shot
    )


def test_a_batch_is_one_flush_and_one_transaction(tmp_path: Path) -> None:
    store = _store(tmp_path)
    png = _png()
    beats = [(_report(f"s-{i:02d}", png), 1000.0 + i) for i in range(50)]
    beats.append((_report("s-07", None, version=9), 2000.0))  # a later beat, no picture
    with durable.watch() as flushes:
        store.record_many(beats)
    assert [kind for kind, _ in flushes] in (["syncfs", "fsync_dir"], ["sync", "fsync_dir"])
    shots = sorted(p.name for p in (tmp_path / "screenshots").iterdir())
    assert shots == [f"s-{i:02d}.png" for i in range(50)]  # no temp file left
    assert (tmp_path / "screenshots" / "s-33.png").read_bytes() == png
    assert store.count() == 50
    row = store._db().execute(
        "SELECT received, screenshot_taken FROM screen_heartbeats WHERE screen = 's-07'"
    )
    assert row.fetchone() == (2000.0, 1007.0)  # the later beat wins, its picture kept


def test_heartbeats_past_the_waiting_bound_get_503_at_once(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    """A burst larger than the hub keeps waiting is answered 503 + Retry-After at once
    (the player tries again at its next beat) instead of queueing past the player's 5 s
    timeout; what is taken is stored."""
    monkeypatch.setenv("SIGNAGE_HUB_MAX_WAITING_BEATS", "2")
    root = make_content_root(tmp_path / "root")
    out = io.BytesIO()
    Image.effect_noise((500, 300), 80).save(out, format="PNG")  # ~150 KB, grey noise
    shot = base64.b64encode(out.getvalue()).decode("ascii")  # slow to decode: beats overlap
    with run_hub(data=tmp_path / "hub", root=root) as hub:
        answers: list[tuple[int, str | None, dict[str, object]]] = []
        lock = threading.Lock()
        go = threading.Barrier(30)

        def one(i: int) -> None:
            body = {"screen": f"busy-{i:02d}", "sent": datetime.now(UTC).isoformat()}
            body["screenshot_png"] = shot
            go.wait()
            r = requests.post(
                hub.url + "/api/v1/heartbeat", json=body, headers=hub.auth, timeout=60
            )
            with lock:
                answers.append((r.status_code, r.headers.get("Retry-After"), r.json()))

        workers = [threading.Thread(target=one, args=(i,)) for i in range(30)]
        for w in workers:
            w.start()
        for w in workers:
            w.join(90)
        assert len(answers) == 30
        statuses = sorted(status for status, _, _ in answers)
        assert set(statuses) == {200, 503}, statuses
        for status, retry_after, body in answers:
            if status == 503:
                assert retry_after == "30"
                assert "heartbeats" in str(body["error"])
        screens = requests.get(hub.url + "/api/v1/screens", headers=hub.auth, timeout=10).json()
        assert sum(s["screen"].startswith("busy-") for s in screens) == statuses.count(200)
