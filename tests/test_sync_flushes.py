"""What a sync flushes to disk, counted through ``signage.durable.watch`` (the real calls).

A cold sync of many assets costs one flush of the cache's filesystem and the two fsyncs
of the switch (``state/current.json`` and its folder), however many assets there are; the
manifest and its signature are written before that one flush and the switch after it.
"""

from __future__ import annotations

import json
from datetime import UTC, datetime
from pathlib import Path

from signage import durable
from signage.feed.publish import publish
from signage.feed.store import Store
from signage.feed.sync import SyncClient
from tests.helpers_feed import make_keypair, make_root, serve_folder, write_asset


def test_a_cold_sync_flushes_once_however_many_assets(tmp_path: Path) -> None:
    keys = make_keypair(tmp_path / "keys")
    cache = tmp_path / "cache"
    seen: dict[int, list[tuple[str, str]]] = {}
    for n in (3, 40):
        root = make_root(tmp_path / f"root-{n}", n_assets=n, size=5_000)
        feed = tmp_path / f"feed-{n}"
        publish(root, feed, keys.key, now=datetime.now(UTC))
        with serve_folder(feed) as server, durable.watch() as flushes:
            result = SyncClient(server.url, Store(cache / str(n)), keys.pubkey).sync_once(
                datetime.now(UTC)
            )
        assert result.status == "updated" and result.assets_downloaded == n
        assert Store(cache / str(n)).verify(deep=True) == []
        seen[n] = flushes
    for n, flushes in seen.items():
        state = cache / str(n) / "state"
        assert flushes == [
            ("syncfs", str(cache / str(n))),
            ("fsync", str(state / "current.json")),
            ("fsync_dir", str(state)),
        ], flushes


def test_one_changed_asset_costs_the_same_three_flushes(tmp_path: Path) -> None:
    keys = make_keypair(tmp_path / "keys")
    root = make_root(tmp_path / "root", n_assets=5, size=5_000)
    feed = tmp_path / "feed"
    publish(root, feed, keys.key, now=datetime.now(UTC))
    store = Store(tmp_path / "cache")
    with serve_folder(feed) as server:
        client = SyncClient(server.url, store, keys.pubkey)
        assert client.sync_once(datetime.now(UTC)).status == "updated"
        write_asset(root, 2, 5_000, seed=9)
        publish(root, feed, keys.key, now=datetime.now(UTC))
        with durable.watch() as flushes:
            result = client.sync_once(datetime.now(UTC))
        with durable.watch() as none:
            assert client.sync_once(datetime.now(UTC)).status == "unchanged"
    assert result.status == "updated" and result.assets_downloaded == 1
    assert [kind for kind, _ in flushes] == ["syncfs", "fsync", "fsync_dir"]
    assert none == []  # a 304 writes nothing


def test_the_manifest_is_written_before_the_flush_and_the_switch_after_it(
    tmp_path: Path,
) -> None:
    keys = make_keypair(tmp_path / "keys")
    root = make_root(tmp_path / "root", n_assets=4, size=5_000)
    feed = tmp_path / "feed"
    publish(root, feed, keys.key, now=datetime.now(UTC))
    body = (feed / "feed.json").read_bytes()
    sig = (feed / "feed.json.sig").read_text("ascii")
    store = Store(tmp_path / "cache")
    for asset in (feed / "assets").iterdir():
        store.import_file(asset, asset.name)
    at_flush: list[object] = []

    def flush(folder: Path) -> None:
        # What is on disk when the one flush runs: the manifest and its signature, and no
        # version current yet.
        kept = sorted(p.name for p in store.manifests_dir.iterdir())
        at_flush.append((kept, store.state()))
        durable.flush_filesystem(folder)

    with durable.watch() as flushes:
        manifest = store.apply(
            body, sig, pubkey_b64=keys.pubkey, now=datetime.now(UTC), flush=flush
        )
    assert at_flush == [([f"{manifest.sha256}.json", f"{manifest.sha256}.sig"], None)]
    assert [kind for kind, _ in flushes] == ["syncfs", "fsync", "fsync_dir"]
    current = json.loads((store.state_dir / "current.json").read_text())
    assert current["manifest"] == manifest.sha256
    # Without a flush to share (a local root's apply), the manifest gets fsyncs of its own.
    publish(root, feed, keys.key, now=datetime.now(UTC))
    body, sig = (feed / "feed.json").read_bytes(), (feed / "feed.json.sig").read_text("ascii")
    with durable.watch() as own:
        store.apply(body, sig, pubkey_b64=keys.pubkey, now=datetime.now(UTC))
    assert [kind for kind, _ in own] == [
        "fsync_dir",  # objects/
        "fsync",  # the manifest
        "fsync",  # its signature
        "fsync_dir",  # manifests/
        "fsync",  # current.json
        "fsync_dir",  # state/
    ]
