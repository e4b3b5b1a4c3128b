"""SIGKILL during `signage sync --once`, many times: the cache always holds one whole version.

The cache holds version A; the feed (real nginx) moves to version B with every asset new.
The sync is killed at random moments of its run (startup, downloads, apply, collect) 15
times; after every kill the cache verifies (every object of the current version present
and hashing to its name) and its current content is exactly A or exactly B. A last
uninterrupted sync then finishes B, resuming partial downloads.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from signage.feed.manifest import parse_manifest
from signage.feed.publish import publish
from signage.feed.store import Store
from tests.helpers_feed import REPO, make_keypair, make_root, nginx_available, run_nginx

pytestmark = [
    pytest.mark.nginx,
    pytest.mark.slow,
    pytest.mark.skipif(not nginx_available(), reason="Debian's nginx is not installed"),
]

KILLS = 15


def sync_cmd(url: str, cache: Path, pubkey: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "signage",
        "sync",
        "--feed",
        url,
        "--cache",
        str(cache),
        "--pubkey",
        pubkey,
        "--once",
        "--json",
    ]


def run_sync(url: str, cache: Path, pubkey: str) -> dict[str, object]:
    env = dict(os.environ, PYTHONPATH=str(REPO))
    proc = subprocess.run(
        sync_cmd(url, cache, pubkey),
        env=env,
        capture_output=True,
        text=True,
        timeout=120,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    result: dict[str, object] = json.loads(proc.stdout.strip().splitlines()[-1])
    return result


def test_sigkill_at_random_points_never_leaves_a_mixed_cache(tmp_path: Path) -> None:
    keys = make_keypair(tmp_path / "keys")
    root = make_root(tmp_path / "root", n_assets=60, size=400_000, seed=1)
    feed = tmp_path / "feed"
    publish(root, feed, keys.key, now=datetime.now(UTC))
    manifest_a = parse_manifest((feed / "feed.json").read_bytes())
    cache = tmp_path / "cache"
    rng = random.Random(20261128)
    with run_nginx(feed, tmp_path / "nginx") as nginx:
        assert run_sync(nginx.url, cache, keys.pubkey)["status"] == "updated"
        make_root(root, n_assets=60, size=400_000, seed=2)  # every asset changes
        publish(root, feed, keys.key, now=datetime.now(UTC))
        manifest_b = parse_manifest((feed / "feed.json").read_bytes())

        # How long an uninterrupted sync takes here, to spread the kills over its run.
        started = time.monotonic()
        run_sync(nginx.url, tmp_path / "probe-cache", keys.pubkey)
        full = time.monotonic() - started

        env = dict(os.environ, PYTHONPATH=str(REPO))
        seen = {"old": 0, "new": 0, "mid": 0}
        old, new = manifest_a, manifest_b
        seed = 2
        for _ in range(KILLS):
            proc = subprocess.Popen(
                sync_cmd(nginx.url, cache, keys.pubkey),
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            try:
                time.sleep(rng.uniform(0.0, full * 1.1))
            finally:
                proc.send_signal(signal.SIGKILL)
                proc.wait(timeout=10)
            store = Store(cache)
            assert store.verify() == [], "cache does not verify after SIGKILL"
            current = store.current_manifest()
            assert current is not None
            assert current.sha256 in (old.sha256, new.sha256), "a third, mixed version"
            content = store.current_content()
            assert content is not None
            for path, entry in current.assets.items():
                assert content.assets[path].stat().st_size == entry.size
            if current.sha256 == new.sha256:
                seen["new"] += 1
                # The sync finished before the kill: move the feed on so the next kill
                # again lands in the middle of a switch.
                seed += 1
                make_root(root, n_assets=60, size=400_000, seed=seed)
                publish(root, feed, keys.key, now=datetime.now(UTC))
                old, new = new, parse_manifest((feed / "feed.json").read_bytes())
            else:
                seen["old"] += 1
                have = {p.name for p in (cache / "objects").iterdir()}
                partial = list((cache / "partial").glob("*.part"))
                if partial or have & (new.blobs() - old.blobs()):
                    seen["mid"] += 1  # killed while downloading the new version
        manifest_b = new
        final = run_sync(nginx.url, cache, keys.pubkey)
        assert final["status"] in ("updated", "unchanged")
        assert final["version"] == manifest_b.version
        assert Store(cache).verify() == []
        # Kills landed both before and after switches (the random spread covered the run).
        assert seen["old"] >= 3 and seen["new"] >= 1 and seen["mid"] >= 1, seen
