"""Every bad feed and misbehaving server, against a real loopback HTTP server.

Each case: a good version is applied first; then the server offers something bad. The
sync refuses it with a reason, the FeedSource records one ``feed_rejected`` event, nothing
from it reaches Content, and the previous version stays current and verifies.
"""

from __future__ import annotations

import json
import shutil
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from signage.config import PlayerConfig
from signage.events import EventLog, read_events
from signage.feed import signing
from signage.feed.manifest import canonical_json, parse_manifest
from signage.feed.publish import publish
from signage.feed.store import Store
from signage.feed.sync import RetryPolicy, SyncClient, Timeouts
from signage.model import Content
from signage.sources.feed import FeedSource
from tests.helpers_feed import (
    Fault,
    FeedServer,
    KeyPair,
    make_keypair,
    make_root,
    serve_folder,
    write_asset,
)

FAST_RETRY = RetryPolicy(attempts=2, base_s=0.01, max_s=0.05)
SHORT = Timeouts(connect=2.0, read=0.5)


class World:
    """A root, a key, a feed folder served by a FeedServer, and a cache holding version 1."""

    def __init__(self, tmp_path: Path, server: FeedServer, keys: KeyPair) -> None:
        self.tmp = tmp_path
        self.server = server
        self.keys = keys
        self.root = tmp_path / "root"
        self.feed = server.folder
        self.cache = tmp_path / "cache"
        self.now = datetime.now(UTC)
        self.v1 = 0

    def publish(
        self, now: datetime | None = None, expires_in: timedelta = timedelta(days=7)
    ) -> int:
        return publish(
            self.root, self.feed, self.keys.key, now=now or self.now, expires_in=expires_in
        ).version

    def client(self) -> SyncClient:
        return SyncClient(
            self.server.url,
            Store(self.cache),
            self.keys.pubkey,
            timeouts=SHORT,
            retry=FAST_RETRY,
            sleep=lambda s: None,
        )

    def rewrite_manifest(
        self, change: Callable[[dict[str, Any]], None], key: signing.Ed25519PrivateKey | None = None
    ) -> int:
        """Edits feed.json (version bumped), signs it with ``key`` (default the pinned one)."""
        doc = json.loads((self.feed / "feed.json").read_bytes())
        doc["version"] += 1
        change(doc)
        data = canonical_json(doc)
        (self.feed / "feed.json").write_bytes(data)
        (self.feed / "feed.json.sig").write_text(signing.sign(data, key or self.keys.key))
        return int(doc["version"])

    def run_source(self) -> tuple[FeedSource, list[Content], list[dict[str, Any]]]:
        """One FeedSource sync (poll mode) with an event log; returns it stopped."""
        log = EventLog(self.tmp / "events.jsonl")
        config = PlayerConfig(
            screen="s1",
            feed=self.server.url,
            pubkey=self.keys.pubkey,
            cache=self.cache,
            poll_s=3600,
        )
        delivered: list[Content] = []
        source = FeedSource(config, push=False, timeouts=SHORT, retry=FAST_RETRY)
        source.start(delivered.append, log)
        deadline = time.monotonic() + 30
        while source.last_result is None and time.monotonic() < deadline:
            time.sleep(0.02)
        source.stop()
        assert source.last_result is not None, "the sync did not finish in 30 s"
        return source, delivered, read_events(self.tmp / "events.jsonl")


@pytest.fixture
def world(tmp_path: Path):
    keys = make_keypair(tmp_path / "keys")
    make_root(tmp_path / "root", n_assets=3, size=200_000)
    (tmp_path / "feed").mkdir()
    with serve_folder(tmp_path / "feed") as server:
        w = World(tmp_path, server, keys)
        w.v1 = w.publish()
        first = w.client().sync_once(w.now)
        assert first.status == "updated" and first.version == w.v1
        yield w


def assert_refused(w: World, fragment: str, status: str = "rejected") -> FeedSource:
    source, delivered, events = w.run_source()
    result = source.last_result
    assert result is not None
    assert result.status == status, result
    assert fragment in result.reason, result.reason
    # The cached version 1 was delivered at once, and nothing else.
    assert [c.version for c in delivered] == [w.v1]
    rejected = [e for e in events if e["event"] == "feed_rejected"]
    assert len(rejected) == 1 and fragment in rejected[0]["reason"]
    assert not [e for e in events if e["event"] == "feed_applied"]
    store = Store(w.cache)
    assert store.trusted_version == w.v1
    assert store.verify() == []
    current = store.current_content()
    assert current is not None and current.version == w.v1
    return source


def test_wrong_signature(world: World) -> None:
    write_asset(world.root, 0, 1000, seed=1)
    world.publish()
    (world.feed / "feed.json.sig").write_text(signing.sign(b"something else", world.keys.key))
    assert_refused(world, "signature does not match")


def test_signature_by_another_key(world: World) -> None:
    world.rewrite_manifest(lambda doc: None, key=signing.generate_key())
    assert_refused(world, "signature does not match")


def test_missing_signature(world: World) -> None:
    world.publish()
    (world.feed / "feed.json.sig").unlink()
    assert_refused(world, "no signature")


def test_replayed_older_feed(world: World) -> None:
    shutil.copytree(world.feed, world.tmp / "old-feed")
    write_asset(world.root, 1, 5000, seed=2)
    v2 = world.publish()
    assert world.client().sync_once(world.now).version == v2
    world.v1 = v2  # what the screen plays now
    for name in ("feed.json", "feed.json.sig"):
        shutil.copy(world.tmp / "old-feed" / name, world.feed / name)
    assert_refused(world, "older than the applied version")


def test_expired_feed(world: World) -> None:
    write_asset(world.root, 0, 1000, seed=3)
    world.publish(now=world.now - timedelta(hours=2), expires_in=timedelta(hours=1))
    assert_refused(world, "expired")


def test_asset_bytes_do_not_match_hash(world: World) -> None:
    write_asset(world.root, 2, 300_000, seed=4)
    world.publish()
    m = parse_manifest((world.feed / "feed.json").read_bytes())
    blob = world.feed / "assets" / m.assets["assets/img/img-002.png"].sha256
    blob.write_bytes(b"\x89PNG" + b"\0" * (blob.stat().st_size - 4))
    assert_refused(world, "hash to")
    assert not list((world.cache / "partial").iterdir())


def test_asset_larger_than_announced(world: World) -> None:
    write_asset(world.root, 2, 300_000, seed=5)
    world.publish()
    m = parse_manifest((world.feed / "feed.json").read_bytes())
    world.server.faults.append(Fault(m.assets["assets/img/img-002.png"].sha256, "extra"))
    assert_refused(world, "the manifest announced")


def test_asset_announced_over_the_cap(world: World) -> None:
    write_asset(world.root, 2, 300_000, seed=6)
    world.publish()
    source_config = world.client()
    source_config.max_asset_bytes = 100_000
    result = source_config.sync_once(world.now)
    assert result.status == "rejected" and "over the 100000 allowed" in result.reason
    assert Store(world.cache).trusted_version == world.v1


@pytest.mark.parametrize(
    "escape",
    ["../../outside.png", "/etc/passwd", "assets/../../../x.png"],
)
def test_asset_path_leaving_the_cache(world: World, escape: str) -> None:
    def change(doc: dict[str, Any]) -> None:
        entry = next(iter(doc["assets"].values()))
        doc["assets"][escape] = entry
        doc["playlists"][0]["slides"][0]["source"] = escape

    world.rewrite_manifest(change)
    assert_refused(world, "refused")
    assert not (world.tmp / "outside.png").exists()


def test_playlist_reference_without_an_asset_entry(world: World) -> None:
    world.rewrite_manifest(lambda doc: doc["playlists"][0]["slides"][0].update(source="../x.png"))
    assert_refused(world, "refused")


def test_manifest_not_json(world: World) -> None:
    data = b"<html>oops</html>"
    (world.feed / "feed.json").write_bytes(data)
    (world.feed / "feed.json.sig").write_text(signing.sign(data, world.keys.key))
    assert_refused(world, "not JSON")


def test_manifest_huge(world: World) -> None:
    data = b'{"pad": "' + b"x" * (9 * 1024 * 1024) + b'"}'
    (world.feed / "feed.json").write_bytes(data)
    (world.feed / "feed.json.sig").write_text(signing.sign(data, world.keys.key))
    assert_refused(world, "allowed")


def test_server_answers_500(world: World) -> None:
    world.publish()
    world.server.faults.append(Fault("feed.json", "500"))
    assert_refused(world, "server answered 500", status="failed")
    assert len(world.server.requests_for("/feed.json")) >= 2  # retried before giving up


def test_server_closes_mid_body_every_time(world: World) -> None:
    write_asset(world.root, 0, 400_000, seed=7)
    world.publish()
    m = parse_manifest((world.feed / "feed.json").read_bytes())
    world.server.faults.append(Fault(m.assets["assets/img/img-000.png"].sha256, "close"))
    assert_refused(world, "asset", status="failed")


def test_server_stalls_mid_body(world: World) -> None:
    write_asset(world.root, 0, 400_000, seed=8)
    world.publish()
    m = parse_manifest((world.feed / "feed.json").read_bytes())
    world.server.faults.append(Fault(m.assets["assets/img/img-000.png"].sha256, "stall"))
    started = time.monotonic()
    assert_refused(world, "stalled", status="failed")
    assert time.monotonic() - started < 20


def test_broken_transfer_is_resumed_with_range(world: World) -> None:
    write_asset(world.root, 0, 400_000, seed=9)
    v2 = world.publish()
    sha = (
        parse_manifest((world.feed / "feed.json").read_bytes())
        .assets["assets/img/img-000.png"]
        .sha256
    )
    world.server.faults.append(Fault(sha, "close", times=1))
    result = world.client().sync_once(world.now)
    assert result.status == "updated" and result.version == v2
    hits = world.server.requests_for(sha)
    assert [h.status for h in hits] == [200, 206]
    assert hits[1].range == f"bytes={hits[0].bytes_sent}-"
    assert hits[0].bytes_sent + hits[1].bytes_sent == 400_000
    assert Store(world.cache).verify() == []


def test_repeated_refusal_is_one_event(world: World) -> None:
    world.rewrite_manifest(lambda doc: None, key=signing.generate_key())
    log = EventLog(world.tmp / "ev.jsonl")
    config = PlayerConfig(
        screen="s", feed=world.server.url, pubkey=world.keys.pubkey, cache=world.cache, poll_s=0.05
    )
    source = FeedSource(config, push=False, timeouts=SHORT, retry=FAST_RETRY)
    source.start(lambda c: None, log)
    try:
        deadline = time.monotonic() + 15
        while (
            len([h for h in world.server.requests_for("/feed.json") if h.path == "/feed.json"]) < 8
            and time.monotonic() < deadline
        ):
            time.sleep(0.05)
    finally:
        source.stop()
    manifests = [h for h in world.server.requests_for("/feed.json") if h.path == "/feed.json"]
    assert len(manifests) >= 8
    # The refused manifest is remembered: later polls are conditional and cost a 304 each.
    assert all(h.status == 304 for h in manifests[-5:])
    assert (
        len([e for e in read_events(world.tmp / "ev.jsonl") if e["event"] == "feed_rejected"]) == 1
    )


def test_publish_racing_the_two_requests_costs_one_retry(world: World) -> None:
    """feed.json is fetched, then a publish lands, then feed.json.sig is fetched."""
    write_asset(world.root, 1, 3000, seed=10)
    world.publish()
    stale_sig = (world.feed / "feed.json.sig").read_text()
    write_asset(world.root, 1, 3000, seed=11)
    v3 = world.publish()
    # Simulate the race: the server now pairs the new manifest with the old signature once.
    new_sig = (world.feed / "feed.json.sig").read_text()
    (world.feed / "feed.json.sig").write_text(stale_sig)
    timer = threading.Timer(0.1, lambda: (world.feed / "feed.json.sig").write_text(new_sig))
    client = world.client()
    client._sleep = lambda s: time.sleep(0.3)  # the real pause before the refetch
    timer.start()
    try:
        result = client.sync_once(world.now)
    finally:
        timer.cancel()
    assert result.status == "updated" and result.version == v3


def test_sync_command_json_line_and_exit_codes(
    world: World, capsys: pytest.CaptureFixture[str]
) -> None:
    from signage.cli import main

    args = ["sync", "--feed", world.server.url + "feed.json", "--cache", str(world.cache)]
    args += ["--pubkey", world.keys.pubkey, "--once", "--json"]
    write_asset(world.root, 0, 1234, seed=12)
    v2 = world.publish()
    assert main(args) == 0
    line = json.loads(capsys.readouterr().out.strip())
    assert list(line) == ["status", "version", "assets_downloaded", "bytes_downloaded", "reason"]
    assert line == {
        "status": "updated",
        "version": v2,
        "assets_downloaded": 1,
        "bytes_downloaded": 1234,
        "reason": "",
    }
    assert main(args) == 0
    assert json.loads(capsys.readouterr().out)["status"] == "unchanged"
    world.rewrite_manifest(lambda doc: None, key=signing.generate_key())
    assert main(args) == 1
    refused = json.loads(capsys.readouterr().out)
    assert refused["status"] == "rejected" and "signature" in refused["reason"]
    # A key file works too; a malformed key is a clear message, not a traceback.
    (world.tmp / "pub.txt").write_text(world.keys.pubkey + "\n")
    assert main([*args[:-3], str(world.tmp / "pub.txt"), "--once"]) == 1
    assert main([*args[:-3], "not-a-key", "--once"]) == 1
    err = capsys.readouterr().err
    assert "pinned public key" in err and "Traceback" not in err


def test_expired_content_keeps_playing_and_is_stale(world: World) -> None:
    moment = [world.now]
    config = PlayerConfig(
        screen="s", feed=world.server.url, pubkey=world.keys.pubkey, cache=world.cache, poll_s=0.1
    )
    delivered: list[Content] = []
    source = FeedSource(
        config, push=False, timeouts=SHORT, retry=FAST_RETRY, clock=lambda: moment[0]
    )
    source.start(delivered.append, EventLog(None))
    try:
        deadline = time.monotonic() + 10
        while source.last_result is None and time.monotonic() < deadline:
            time.sleep(0.02)
        assert not source.stale
        moment[0] = world.now + timedelta(days=8)  # past the 7-day expiry
        assert source.stale
        seen = len(world.server.requests_for("/feed.json"))
        while len(world.server.requests_for("/feed.json")) < seen + 3:
            time.sleep(0.05)
            assert time.monotonic() < deadline + 10
        assert source.stale and source.version == world.v1
        assert [c.version for c in delivered] == [world.v1]
    finally:
        source.stop()


def test_a_damaged_cache_is_repaired_by_the_next_sync(world: World) -> None:
    store = Store(world.cache)
    manifest = store.current_manifest()
    assert manifest is not None
    lost = store.blob_path(manifest.assets["assets/img/img-001.png"].sha256)
    lost.unlink()
    kept = world.cache / "manifests" / f"{manifest.sha256}.json"
    kept.write_bytes(b"garbage")
    assert store.current_content() is None and store.verify()
    result = world.client().sync_once(world.now)
    assert result.status == "unchanged" and result.assets_downloaded == 1, result
    assert store.verify() == []
    content = store.current_content()
    assert content is not None and content.version == world.v1


def test_stop_returns_within_a_second_even_mid_stall(world: World) -> None:
    write_asset(world.root, 0, 400_000, seed=13)
    world.publish()
    sha = parse_manifest((world.feed / "feed.json").read_bytes()).assets["assets/img/img-000.png"]
    world.server.faults.append(Fault(sha.sha256, "stall"))
    config = PlayerConfig(
        screen="s", feed=world.server.url, pubkey=world.keys.pubkey, cache=world.cache, poll_s=60
    )
    source = FeedSource(config, push=False)  # default timeouts: a 20 s read timeout
    source.start(lambda c: None, EventLog(None))
    deadline = time.monotonic() + 10
    while not world.server.requests_for(sha.sha256) and time.monotonic() < deadline:
        time.sleep(0.02)
    assert world.server.requests_for(sha.sha256), "the stalled download never started"
    time.sleep(0.2)
    started = time.monotonic()
    source.stop()
    assert time.monotonic() - started < 1.2
    assert not [t for t in threading.enumerate() if t.name in ("feed-sync", "feed-push")]
    assert Store(world.cache).trusted_version == world.v1


def test_two_syncs_on_one_cache_take_turns(world: World) -> None:
    """A player and a `signage sync` sharing a cache: the flock makes them take turns."""
    make_root(world.root, n_assets=3, size=300_000, seed=14)
    v2 = world.publish()
    results = []

    def run() -> None:
        client = SyncClient(world.server.url, Store(world.cache), world.keys.pubkey)
        results.append(client.sync_once(world.now))

    threads = [threading.Thread(target=run) for _ in range(2)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(timeout=30)
    assert sorted(r.status for r in results) == ["unchanged", "updated"]
    assert all(r.version == v2 for r in results)
    assert sum(r.assets_downloaded for r in results) == 3  # nothing fetched twice
    assert Store(world.cache).verify() == []


def test_retries_back_off_exponentially_with_jitter(world: World) -> None:
    world.publish()
    world.server.faults.append(Fault("feed.json", "500"))
    waits: list[float] = []
    jitter = iter([0.0, 1.0, 0.5])
    client = SyncClient(
        world.server.url,
        Store(world.cache),
        world.keys.pubkey,
        retry=RetryPolicy(attempts=4, base_s=0.5, max_s=30),
        sleep=waits.append,
        rng=lambda: next(jitter),
    )
    result = client.sync_once(world.now)
    assert result.status == "failed" and "500" in result.reason
    # base * 2**n, times a jitter factor in [0.5, 1.5): 0.5*0.5, 1.0*1.5, 2.0*1.0
    assert waits == [0.25, 1.5, 2.0]
    assert len([h for h in world.server.requests_for("/feed.json") if h.status == 500]) == 4
