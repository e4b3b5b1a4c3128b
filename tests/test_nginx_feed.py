"""A published feed served by Debian's nginx with docs/nginx/signage-feed.conf.

Headers and media types as documented; a sync with nothing new costs one conditional
request (counted in nginx's access log); one changed asset transfers exactly that asset;
a FeedSource without a push channel polls; a headless player plays the synced feed.
"""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests

from signage.config import PlayerConfig
from signage.events import EventLog, read_events
from signage.feed.manifest import parse_manifest
from signage.feed.publish import publish
from signage.feed.store import Store
from signage.feed.sync import SyncClient
from signage.model import Content
from signage.sources.feed import FeedSource
from tests.helpers_feed import (
    REPO,
    KeyPair,
    make_keypair,
    make_root,
    nginx_available,
    run_nginx,
    write_asset,
)

pytestmark = [
    pytest.mark.nginx,
    pytest.mark.skipif(not nginx_available(), reason="Debian's nginx is not installed"),
]


@pytest.fixture
def keys(tmp_path: Path) -> KeyPair:
    return make_keypair(tmp_path / "keys")


def asset_lines(lines: list[str]) -> list[str]:
    return [ln for ln in lines if " /assets/" in ln]


def test_headers_media_types_and_private_files(tmp_path: Path, keys: KeyPair) -> None:
    root = make_root(tmp_path / "root", n_assets=1, size=10_000)
    publish(root, tmp_path / "feed", keys.key, now=datetime.now(UTC))
    m = parse_manifest((tmp_path / "feed" / "feed.json").read_bytes())
    sha = next(iter(m.assets.values())).sha256
    with run_nginx(tmp_path / "feed", tmp_path / "nginx") as nginx:
        r = requests.get(nginx.url + "feed.json", timeout=5)
        assert r.status_code == 200
        assert r.headers["Content-Type"] == "application/json"
        assert r.headers["Cache-Control"] == "no-cache"
        etag = r.headers["ETag"]
        again = requests.get(nginx.url + "feed.json", headers={"If-None-Match": etag}, timeout=5)
        assert again.status_code == 304 and again.content == b""
        sig = requests.get(nginx.url + "feed.json.sig", timeout=5)
        assert sig.headers["Content-Type"].startswith("text/plain")
        assert sig.headers["Cache-Control"] == "no-cache"
        asset = requests.get(nginx.url + f"assets/{sha}", timeout=5)
        assert asset.headers["Content-Type"] == "application/octet-stream"
        assert asset.headers["Cache-Control"] == "public, max-age=31536000, immutable"
        part = requests.get(nginx.url + f"assets/{sha}", headers={"Range": "bytes=100-"}, timeout=5)
        assert part.status_code == 206 and part.content == asset.content[100:]
        for private in (".publish-index.json", ".publish.lock", "assets/nothash", "assets/", ""):
            assert requests.get(nginx.url + private, timeout=5).status_code == 404, private


def test_sync_costs_one_request_when_unchanged_and_one_asset_when_one_changed(
    tmp_path: Path, keys: KeyPair
) -> None:
    n = 40
    root = make_root(tmp_path / "root", n_assets=n, size=20_000)
    now = datetime.now(UTC)
    publish(root, tmp_path / "feed", keys.key, now=now)
    with run_nginx(tmp_path / "feed", tmp_path / "nginx") as nginx:
        client = SyncClient(nginx.url, Store(tmp_path / "cache"), keys.pubkey)
        cold = client.sync_once(now)
        assert cold.status == "updated" and cold.assets_downloaded == n
        assert cold.bytes_downloaded == n * 20_000
        cold_lines = asset_lines(nginx.access_lines())
        assert len(cold_lines) == n
        # Keep-alive: the assets came over one connection per download worker, not one each.
        assert len({ln.split()[-1] for ln in cold_lines}) <= client.workers

        before = len(nginx.access_lines())
        # A new client (as after a reboot): validators come from the cache.
        warm = SyncClient(nginx.url, Store(tmp_path / "cache"), keys.pubkey).sync_once(now)
        assert warm.status == "unchanged" and warm.bytes_downloaded == 0
        new_lines = nginx.access_lines()[before:]
        assert len(new_lines) == 1 and new_lines[0].startswith("GET /feed.json 304 0"), new_lines

        write_asset(root, 17, 20_000, seed=99)
        v2 = publish(root, tmp_path / "feed", keys.key, now=now)
        changed = parse_manifest((tmp_path / "feed" / "feed.json").read_bytes()).assets[
            "assets/img/img-017.png"
        ]
        before = len(nginx.access_lines())
        delta = client.sync_once(now)
        assert delta.status == "updated" and delta.version == v2.version
        assert delta.assets_downloaded == 1 and delta.bytes_downloaded == 20_000
        got = [ln.rsplit(" ", 1)[0] for ln in asset_lines(nginx.access_lines()[before:])]
        assert got == [f"GET /assets/{changed.sha256} 200 20000 -"]
        assert Store(tmp_path / "cache").verify() == []


def test_feed_source_polls_a_server_without_push(tmp_path: Path, keys: KeyPair) -> None:
    root = make_root(tmp_path / "root", n_assets=2, size=5_000)
    publish(root, tmp_path / "feed", keys.key, now=datetime.now(UTC))
    with run_nginx(tmp_path / "feed", tmp_path / "nginx") as nginx:
        config = PlayerConfig(
            screen="s1", feed=nginx.url, pubkey=keys.pubkey, cache=tmp_path / "cache", poll_s=0.5
        )
        delivered: list[Content] = []
        log = EventLog(tmp_path / "events.jsonl")
        source = FeedSource(config)
        source.start(delivered.append, log)
        try:
            deadline = time.monotonic() + 15
            while not delivered and time.monotonic() < deadline:
                time.sleep(0.05)
            assert delivered, "first version never delivered"
            write_asset(root, 0, 5_000, seed=3)
            v2 = publish(root, tmp_path / "feed", keys.key, now=datetime.now(UTC)).version
            published = time.monotonic()
            while delivered[-1].version != v2 and time.monotonic() < published + 10:
                time.sleep(0.02)
            assert delivered[-1].version == v2
            assert time.monotonic() - published < 0.5 + 3  # one poll interval plus margin
            assert not source.push_connected
        finally:
            source.stop()
        assert any("/api/v1/push 404" in ln for ln in nginx.access_lines())
    applied = [
        e["version"] for e in read_events(tmp_path / "events.jsonl") if e["event"] == "feed_applied"
    ]
    assert applied[-1] == v2 and len(applied) == 2


@pytest.mark.qt
@pytest.mark.slow
def test_headless_player_plays_a_feed_from_nginx(tmp_path: Path, keys: KeyPair) -> None:
    root = make_root(tmp_path / "root", n_assets=0)
    publish(root, tmp_path / "feed", keys.key, now=datetime.now(UTC))
    with run_nginx(tmp_path / "feed", tmp_path / "nginx") as nginx:
        config = tmp_path / "player.yaml"
        config.write_text(
            json.dumps(
                {
                    "screen": "lobby-1",
                    "feed": nginx.url,
                    "pubkey": keys.pubkey,
                    "cache": str(tmp_path / "cache"),
                    "poll": 1,
                }
            ),
            encoding="utf-8",
        )
        env = dict(os.environ, PYTHONPATH=str(REPO), QT_QPA_PLATFORM="offscreen")
        proc = subprocess.run(
            [
                sys.executable,
                "-m",
                "signage",
                "play",
                "--config",
                str(config),
                "--headless",
                "--size",
                "640x360",
                "--for",
                "6",
                "--events",
                str(tmp_path / "ev.jsonl"),
            ],
            cwd=tmp_path,
            env=env,
            capture_output=True,
            text=True,
            timeout=90,
            check=False,
        )
        assert proc.returncode == 0, proc.stderr[-2000:]
    events = read_events(tmp_path / "ev.jsonl")
    assert any(e["event"] == "feed_applied" for e in events), events
    shown = [e for e in events if e["event"] == "slide_shown"]
    assert shown and shown[0]["slide"] == "bienvenida" and shown[0]["screen"] == "lobby-1"
