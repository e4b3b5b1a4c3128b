"""Proof-of-play upload: spooled on disk, sent in batches, surviving hub outages exactly once."""

from __future__ import annotations

import json
import logging
import socket
import time
from datetime import UTC, datetime, timedelta
from typing import Any
from urllib.parse import urlsplit

import requests

from signage.events import EventLog
from signage.telemetry.uplink import EventUplink
from tests.helpers_hub import make_content_root, run_hub

FAST: dict[str, Any] = {"flush_s": 0.05, "backoff_s": 0.05, "max_backoff_s": 0.3, "timeout_s": 2.0}


def _wait(predicate, timeout=20.0, what="condition"):
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


class Clock:
    """An injected event clock: each event one second after the previous."""

    def __init__(self) -> None:
        # Recent, whatever day the tests run: the hub keeps 30 days of event ids.
        self.now = datetime.now(UTC).replace(microsecond=0) - timedelta(days=2)

    def __call__(self) -> datetime:
        self.now += timedelta(seconds=1)
        return self.now


def _plays(hub) -> int:
    r = requests.get(
        hub.url + "/api/v1/report", params={"since": "3d"}, headers=hub.auth, timeout=5
    )
    r.raise_for_status()
    return sum(p["count"] for p in r.json()["plays"])


def _show(log: EventLog, n: int, start: int = 0) -> None:
    for i in range(start, start + n):
        log.emit("slide_shown", screen="lobby-1", playlist="lobby", slide=f"s{i % 3}", kind="text")


def test_batches_survive_a_hub_outage_and_a_player_restart_exactly_once(tmp_path):
    root = make_content_root(tmp_path / "root")
    spool = tmp_path / "spool"
    log = EventLog(tmp_path / "events.jsonl", clock=Clock())
    with run_hub(data=tmp_path / "hubdata", root=root) as hub:
        port = urlsplit(hub.url).port
        uplink = EventUplink(hub.url, hub.token, spool, screen="lobby-1", **FAST)
        log.subscribe(uplink.offer)
        uplink.start()
        _show(log, 20)
        log.emit("stats", rss_mb=120.0, stall_max_ms=3, stall_p99_ms=2)
        _wait(lambda: _plays(hub) == 20, what="the first 20 plays on the hub")
        _wait(lambda: uplink.stats().sent == 21, what="the stats event acknowledged")
        token = hub.token
    # The hub is down: events go to the spool, the uplink keeps retrying.
    try:
        _show(log, 30, start=20)
        _wait(lambda: uplink.stats().last_error is not None, what="the uplink noticing the outage")
        _wait(lambda: any(spool.glob("seg-*.jsonl")), what="a spool segment")
    finally:
        uplink.stop()  # the player restarts while the hub is still down
    spooled = [
        json.loads(line)
        for seg in spool.glob("seg-*.jsonl")
        for line in seg.read_text().splitlines()
    ]
    assert len(spooled) == 30
    assert len({e["eid"] for e in spooled}) == 30

    # A crash after the hub accepted a batch but before its segment was deleted leaves the
    # same events (same eid) to be sent twice: the hub must count them once.
    resent = spool / "seg-000000000.jsonl"
    assert not resent.exists()  # the first segments were sent and deleted
    lines = "".join(json.dumps(e) + "\n" for e in spooled[:5])
    resent.write_text(lines + '{"eid": "torn', encoding="utf-8")  # and a torn last line

    uplink2 = EventUplink(f"http://127.0.0.1:{port}", token, spool, screen="lobby-1", **FAST)
    log2 = EventLog(None, clock=log._clock)
    log2.subscribe(uplink2.offer)
    uplink2.start()
    try:
        _show(log2, 10, start=50)
        time.sleep(0.3)  # several failed attempts with the hub still down
        assert uplink2.stats().sent == 0
        with run_hub(
            data=tmp_path / "hubdata", root=root, extra_args=["--port", str(port)]
        ) as hub2:
            assert hub2.url.endswith(f":{port}")
            uplink2.flush_now()
            _wait(lambda: _plays(hub2) == 60, what="all 60 plays on the restarted hub")
            _wait(lambda: uplink2.stats().pending_segments == 0, what="an empty spool")
            time.sleep(0.3)
            assert _plays(hub2) == 60  # exactly once: nothing duplicated afterwards either
            assert uplink2.stats().sent == 45  # 30 spooled + 5 resent (ignored) + 10 new
    finally:
        uplink2.stop()


def test_spool_is_bounded_and_drops_the_oldest_with_a_log_line(tmp_path, caplog):
    dead_hub = f"http://127.0.0.1:{_free_port()}"
    uplink = EventUplink(
        dead_hub, None, tmp_path / "spool", max_spool_bytes=20_000, segment_bytes=4_000, **FAST
    )
    log = EventLog(None)
    log.subscribe(uplink.offer)
    uplink.start()
    try:
        with caplog.at_level(logging.WARNING, logger="signage.uplink"):
            for i in range(400):
                log.emit("slide_shown", screen="s", playlist="p", slide=f"slide-{i}", kind="image")
                if i % 50 == 0:
                    time.sleep(0.1)
            _wait(lambda: uplink.stats().dropped > 0, what="the oldest events dropped")
    finally:
        uplink.stop()
    stats = uplink.stats()
    assert stats.pending_bytes <= 20_000 + 4_000
    assert stats.sent == 0
    kept = [
        json.loads(line)
        for seg in sorted((tmp_path / "spool").glob("seg-*.jsonl"))
        for line in seg.read_text().splitlines()
    ]
    assert len(kept) + stats.dropped == 400
    assert kept[-1]["slide"] == "slide-399"  # the newest are kept
    assert any("dropped the oldest" in r.getMessage() for r in caplog.records)
    assert any("upload waiting" in r.getMessage() for r in caplog.records)


def test_offer_adds_eid_and_screen_without_touching_disk(tmp_path):
    uplink = EventUplink("http://127.0.0.1:9", None, tmp_path / "spool", screen="sala-2")
    uplink.offer({"ts": "2026-11-28T10:00:00.000Z", "event": "stats", "rss_mb": 1})
    uplink.offer({"ts": "2026-11-28T10:00:01.000Z", "event": "slide_shown", "screen": "otra"})
    assert not (tmp_path / "spool").exists()  # nothing written before start (GUI thread)
    uplink.stop()  # writes what was queued
    lines = [
        json.loads(x) for x in next((tmp_path / "spool").glob("seg-*")).read_text().splitlines()
    ]
    assert [e["screen"] for e in lines] == ["sala-2", "otra"]
    assert len({e["eid"] for e in lines}) == 2
    assert all(len(e["eid"]) == 32 for e in lines)


def test_uplink_for_a_player_config(tmp_path):
    from signage.config import PlayerConfig
    from signage.telemetry.uplink import uplink_for

    assert uplink_for(PlayerConfig(screen="s", cache=tmp_path)) is None
    from_feed = uplink_for(PlayerConfig(cache=tmp_path, feed="https://hub.example:8750/feed.json"))
    assert from_feed is not None
    assert from_feed._url == "https://hub.example:8750/api/v1/events"
    token_file = tmp_path / "hub.token"
    token_file.write_text("secreto\n", encoding="utf-8")
    config = PlayerConfig(
        screen="lobby-1",
        cache=tmp_path / "cache",
        hub="http://hub:8750/",
        hub_token_file=token_file,
    )
    uplink = uplink_for(config)
    assert uplink is not None
    assert uplink._url == "http://hub:8750/api/v1/events"
    assert uplink._token == "secreto"
    assert uplink._spool == tmp_path / "cache" / "uplink"
    uplink.offer({"ts": "2026-11-28T10:00:00.000Z", "event": "stats"})
    uplink.stop()
    line = next((tmp_path / "cache" / "uplink").glob("seg-*")).read_text()
    assert json.loads(line)["screen"] == "lobby-1"


def test_unwritable_spool_never_takes_the_player_down(tmp_path):
    blocker = tmp_path / "not-a-folder"
    blocker.write_text("a file where the spool folder should be", encoding="utf-8")
    uplink = EventUplink("http://127.0.0.1:9", None, blocker / "spool", **FAST)
    log = EventLog(None)
    log.subscribe(uplink.offer)
    uplink.start()  # no exception: the screen keeps playing
    try:
        for i in range(5):
            log.emit("slide_shown", screen="s", playlist="p", slide=f"x{i}", kind="text")
        _wait(lambda: "cannot write the spool" in (uplink.stats().last_error or ""),
              what="the spool failure noted")  # fmt: skip
    finally:
        uplink.stop()
    stats = uplink.stats()
    assert stats.dropped == 0  # still held in memory, not silently lost
    assert stats.pending_segments == 0
    assert len(uplink._queue) == 5
