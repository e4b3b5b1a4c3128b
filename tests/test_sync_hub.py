"""FeedSource against the hub as a real subprocess: push wakes the sync within a second;
a player that boots with the hub gone plays its cache at once; a headless player plays the
hub's feed."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from collections.abc import Callable
from pathlib import Path

import pytest

from signage.config import PlayerConfig
from signage.events import EventLog, read_events
from signage.model import Content
from signage.sources.feed import FeedSource
from tests.helpers_hub import LOBBY_YAML, REPO, make_content_root, run_hub


def wait_for(predicate: Callable[[], object], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.01)
    return bool(predicate())


def test_push_then_offline_boot_from_cache(tmp_path: Path) -> None:
    root = make_content_root(tmp_path / "root")
    cache = tmp_path / "cache"
    with run_hub(data=tmp_path / "hub", root=root, extra_args=["--keepalive", "1"]) as hub:
        assert hub.pubkey
        config = PlayerConfig(
            screen="s1", feed=hub.url + "/", pubkey=hub.pubkey, cache=cache, poll_s=60
        )
        delivered: list[Content] = []
        source = FeedSource(config)
        source.start(delivered.append, EventLog(tmp_path / "events.jsonl"))
        try:
            assert wait_for(lambda: bool(delivered) and source.push_connected, 15), (
                "no first version"
            )
            first = delivered[-1].version
            latencies = []
            for i in range(3):
                before = hub.version()
                (root / "playlists" / "lobby.yaml").write_text(
                    LOBBY_YAML.replace("Bienvenidos", f"Hola {i}"), encoding="utf-8"
                )
                version = hub.wait_version(before, timeout=10)
                announced = time.monotonic()

                def reached(v: int = version) -> bool:
                    return delivered[-1].version >= v

                assert wait_for(reached, 10), "push did not wake the sync"
                latencies.append(time.monotonic() - announced)
                assert delivered[-1].playlists[0].slides[0].text is not None
            # Poll interval is 60 s: only push can explain these delays.
            assert max(latencies) < 2.0, latencies
            assert delivered[-1].playlists[0].slides[0].text.title == "Hola 2"  # type: ignore[union-attr]
        finally:
            source.stop()
        assert delivered[-1].version > first
    events = read_events(tmp_path / "events.jsonl")
    assert [e["event"] for e in events].count("feed_applied") == 4

    # The hub is gone: a new player on the same cache plays the last version at once.
    offline = FeedSource(
        PlayerConfig(screen="s1", feed=hub.url + "/", pubkey=hub.pubkey, cache=cache, poll_s=60)
    )
    got: list[Content] = []
    started = time.monotonic()
    offline.start(got.append, EventLog(None))
    try:
        assert wait_for(lambda: bool(got), 2), "cached content not delivered without network"
        assert time.monotonic() - started < 1.0
        assert got[0].version == delivered[-1].version
        assert got[0].playlists == delivered[-1].playlists
        assert wait_for(lambda: offline.last_result is not None, 30)
        assert offline.last_result is not None and offline.last_result.status == "failed"
        assert got[-1].version == delivered[-1].version  # still playing the cache
    finally:
        offline.stop()


@pytest.mark.qt
@pytest.mark.slow
def test_headless_player_plays_the_hubs_feed(tmp_path: Path) -> None:
    root = make_content_root(tmp_path / "root")
    with run_hub(data=tmp_path / "hub", root=root) as hub:
        assert hub.pubkey
        config = tmp_path / "player.yaml"
        config.write_text(
            json.dumps(
                {
                    "screen": "sala-1",
                    "feed": hub.url + "/",
                    "pubkey": hub.pubkey,
                    "cache": str(tmp_path / "cache"),
                }
            ),
            encoding="utf-8",
        )
        env = dict(os.environ, PYTHONPATH=str(REPO), QT_QPA_PLATFORM="offscreen")
        cmd = [sys.executable, "-m", "signage", "play", "--config", str(config), "--headless"]
        cmd += ["--size", "640x360", "--for", "6", "--events", str(tmp_path / "ev.jsonl")]
        proc = subprocess.run(
            cmd, cwd=tmp_path, env=env, capture_output=True, text=True, timeout=90, check=False
        )
        assert proc.returncode == 0, proc.stderr[-2000:]
    events = read_events(tmp_path / "ev.jsonl")
    applied = [e for e in events if e["event"] == "feed_applied"]
    assert applied and applied[0]["version"] >= 1
    shown = [e for e in events if e["event"] == "slide_shown"]
    assert shown and shown[0]["slide"] == "bienvenida" and shown[0]["screen"] == "sala-1"
