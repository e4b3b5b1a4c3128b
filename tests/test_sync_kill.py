"""SIGKILL during `signage sync --once`, many times: the cache always holds one whole version.

The cache holds version A; the feed (real nginx) moves to version B with every asset new.
The sync is killed at random moments of its run (startup, downloads, apply, collect) 15
times, then 3 times the moment the first byte of the new version reaches the cache (on a
fast machine random kills can all miss the download). After every kill the cache verifies
(every object of the current version present and hashing to its name) and its current
content is exactly A or exactly B. A last uninterrupted sync then finishes B, resuming
partial downloads.
"""

from __future__ import annotations

import json
import os
import random
import signal
import subprocess
import sys
import time
from collections.abc import Callable
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path

import pytest

from signage.feed.manifest import Manifest, parse_manifest
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


@dataclass
class _Versions:
    """The version the cache holds, the one the feed offers, and the seed that made it."""

    old: Manifest
    new: Manifest
    seed: int


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
        versions = _Versions(old=manifest_a, new=manifest_b, seed=2)

        def downloading() -> bool:
            """Whether the cache holds part of the new version (a partial file or an object)."""
            have = {p.name for p in (cache / "objects").iterdir()}
            partial = cache / "partial"
            parts = list(partial.glob("*.part")) if partial.is_dir() else []
            return bool(parts or have & (versions.new.blobs() - versions.old.blobs()))

        def kill_and_check(wait: Callable[[subprocess.Popen[bytes]], None]) -> str:
            """Start a sync, wait as told, SIGKILL it; check the cache; say where it landed."""
            proc = subprocess.Popen(
                sync_cmd(nginx.url, cache, keys.pubkey),
                env=env,
                stdout=subprocess.DEVNULL,
                stderr=subprocess.DEVNULL,
            )
            try:
                wait(proc)
            finally:
                proc.send_signal(signal.SIGKILL)
                proc.wait(timeout=10)
            old, new = versions.old, versions.new
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
                # The sync finished before the kill: move the feed on so the next kill
                # again lands in the middle of a switch.
                versions.seed += 1
                make_root(root, n_assets=60, size=400_000, seed=versions.seed)
                publish(root, feed, keys.key, now=datetime.now(UTC))
                versions.old = new
                versions.new = parse_manifest((feed / "feed.json").read_bytes())
                return "new"
            # Killed while downloading the new version, or before it started.
            return "mid" if downloading() else "old"

        def sleep_random(_proc: subprocess.Popen[bytes]) -> None:
            time.sleep(rng.uniform(0.0, full * 1.1))

        def until_downloading(proc: subprocess.Popen[bytes]) -> None:
            deadline = time.monotonic() + 60
            while not downloading() and proc.poll() is None and time.monotonic() < deadline:
                time.sleep(0.001)

        # Kills at random moments spread over the whole run (start-up, downloads, apply,
        # collect).
        for _ in range(KILLS):
            landed = kill_and_check(sleep_random)
            seen[landed] += 1
            if landed == "mid":
                seen["old"] += 1
        # On a fast machine the download is a small part of the run and random kills can all
        # miss it, so a few kills are aimed at it: the moment the first byte of the new
        # version is in the cache.
        aimed = [kill_and_check(until_downloading) for _ in range(3)]
        assert "mid" in aimed, aimed
        seen["mid"] += aimed.count("mid")
        manifest_b = versions.new
        final = run_sync(nginx.url, cache, keys.pubkey)
        assert final["status"] in ("updated", "unchanged")
        assert final["version"] == manifest_b.version
        assert Store(cache).verify() == []
        # Kills landed both before and after switches (the random spread covered the run).
        assert seen["old"] >= 3 and seen["new"] >= 1 and seen["mid"] >= 1, seen
