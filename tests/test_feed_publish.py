"""Publishing a content root, the store's apply/replay/GC, and the in-process local path."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from signage.cli import main
from signage.errors import FeedError, ValidationError
from signage.feed import signing
from signage.feed.local import content_from_root
from signage.feed.manifest import parse_manifest
from signage.feed.publish import publish
from signage.feed.store import Store, hash_file
from signage.model import Alert, AlertText, Severity
from tests.helpers_feed import KeyPair, make_keypair, make_root, write_asset

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


@pytest.fixture
def keys(tmp_path: Path) -> KeyPair:
    return make_keypair(tmp_path / "keys")


def fill_store(store: Store, feed: Path) -> tuple[bytes, str]:
    """Copies a published feed's assets into a store the way a sync would (minus HTTP)."""
    data = (feed / "feed.json").read_bytes()
    for sha in store.missing_blobs(parse_manifest(data, None)):
        store.import_file(feed / "assets" / sha, expected=sha)
    return data, (feed / "feed.json.sig").read_text()


def test_publish_writes_content_addressed_assets_and_a_signed_manifest(tmp_path, keys) -> None:
    root = make_root(tmp_path / "root", n_assets=3)
    result = publish(root, tmp_path / "feed", keys.key, now=NOW)
    feed = tmp_path / "feed"
    data = (feed / "feed.json").read_bytes()
    signing.verify(data, (feed / "feed.json.sig").read_text(), keys.pubkey)
    m = parse_manifest(data, NOW)
    assert result.version == m.version >= int(NOW.timestamp())
    assert result.assets_written == 3
    for i in range(3):
        entry = m.assets[f"assets/img/img-{i:03d}.png"]
        blob = feed / "assets" / entry.sha256
        assert hash_file(blob) == (entry.sha256, entry.size)
        assert entry.media_type == "image/png"
    assert m.expires - m.published == timedelta(days=7)
    assert not list(feed.glob("**/*.tmp*"))


def test_versions_strictly_increase_and_unchanged_assets_are_skipped(tmp_path, keys) -> None:
    root = make_root(tmp_path / "root", n_assets=3)
    first = publish(root, tmp_path / "feed", keys.key, now=NOW)
    # Same clock, even an earlier one: still a higher version.
    second = publish(root, tmp_path / "feed", keys.key, now=NOW - timedelta(days=1))
    assert second.version == first.version + 1
    assert second.assets_written == 0
    write_asset(root, 1, 2048, seed=9)
    third = publish(root, tmp_path / "feed", keys.key, now=NOW)
    assert third.version > second.version
    assert third.assets_written == 1


def test_invalid_root_is_refused_and_nothing_is_written(tmp_path, keys) -> None:
    root = make_root(tmp_path / "root", n_assets=1)
    publish(root, tmp_path / "feed", keys.key, now=NOW)
    before = (tmp_path / "feed" / "feed.json").read_bytes()
    (root / "playlists" / "lobby.yaml").write_text("name: x\nslides:\n  - image: assets/nope.png\n")
    with pytest.raises(ValidationError) as err:
        publish(root, tmp_path / "feed", keys.key, now=NOW)
    assert any("lobby.yaml" in str(p) for p in err.value.problems)
    assert (tmp_path / "feed" / "feed.json").read_bytes() == before


def test_alerts_come_from_the_roots_alert_store(tmp_path, keys) -> None:
    from signage.alerts.store import AlertStore

    root = make_root(tmp_path / "root", n_assets=1)
    alert = Alert(
        "corte",
        Severity.EXTREME,
        (AlertText("es", "Corte de energía"),),
        "oai",
        NOW,
        NOW + timedelta(hours=1),
    )
    expired = Alert(
        "viejo",
        Severity.MINOR,
        (AlertText("es", "x"),),
        "oai",
        NOW - timedelta(hours=3),
        NOW - timedelta(hours=1),
    )
    AlertStore(root / "alerts").raise_alert(alert)
    AlertStore(root / "alerts").raise_alert(expired)
    publish(root, tmp_path / "feed", keys.key, now=NOW)
    m = parse_manifest((tmp_path / "feed" / "feed.json").read_bytes(), NOW)
    assert m.alerts == (alert,)
    publish(root, tmp_path / "feed", keys.key, now=NOW, alerts=[])
    assert parse_manifest((tmp_path / "feed" / "feed.json").read_bytes(), NOW).alerts == ()


def test_store_applies_refuses_replay_and_keeps_last_good(tmp_path, keys) -> None:
    root = make_root(tmp_path / "root", n_assets=2)
    store = Store(tmp_path / "cache")
    publish(root, tmp_path / "old", keys.key, now=NOW)
    old = fill_store(store, tmp_path / "old")
    publish(root, tmp_path / "new", keys.key, now=NOW + timedelta(seconds=5))
    new = fill_store(store, tmp_path / "new")
    applied = store.apply(*new, pubkey_b64=keys.pubkey, now=NOW)
    with pytest.raises(FeedError, match="older than the applied"):
        store.apply(*old, pubkey_b64=keys.pubkey, now=NOW)
    content = store.current_content(NOW)
    assert content is not None and content.version == applied.version
    for path in content.assets.values():
        assert path.parent == store.objects_dir and path.is_file()
    assert store.verify() == []


def test_store_refuses_bad_signature_expiry_and_missing_assets(tmp_path, keys) -> None:
    root = make_root(tmp_path / "root", n_assets=2)
    publish(root, tmp_path / "feed", keys.key, now=NOW, expires_in=timedelta(hours=1))
    data = (tmp_path / "feed" / "feed.json").read_bytes()
    sig = (tmp_path / "feed" / "feed.json.sig").read_text()
    store = Store(tmp_path / "cache")
    with pytest.raises(FeedError, match="missing"):
        store.apply(data, sig, pubkey_b64=keys.pubkey, now=NOW)
    fill_store(store, tmp_path / "feed")
    other = signing.public_key_b64(signing.generate_key())
    with pytest.raises(FeedError, match="signature"):
        store.apply(data, sig, pubkey_b64=other, now=NOW)
    with pytest.raises(FeedError, match="expired"):
        store.apply(data, sig, pubkey_b64=keys.pubkey, now=NOW + timedelta(hours=2))
    assert store.state() is None and store.current_content(NOW) is None


def test_verify_finds_corruption_and_collect_keeps_current_and_previous(tmp_path, keys) -> None:
    store = Store(tmp_path / "cache")
    root = make_root(tmp_path / "root", n_assets=2)
    versions = []
    for seed in range(3):
        write_asset(root, 0, 4096, seed=seed)
        publish(root, tmp_path / "feed", keys.key, now=NOW)
        versions.append(
            store.apply(*fill_store(store, tmp_path / "feed"), pubkey_b64=keys.pubkey, now=NOW)
        )
    assert len(list(store.objects_dir.iterdir())) == 4  # 3 versions of asset 0 + asset 1
    freed = store.collect()
    assert freed >= 4096  # version 0's asset (and its manifest)
    assert len(list(store.objects_dir.iterdir())) == 3
    kept = {p.name for p in store.objects_dir.iterdir()}
    assert kept == set(versions[2].blobs()) | set(versions[1].blobs())
    victim = store.blob_path(next(iter(versions[2].blobs())))
    victim.write_bytes(b"X" + victim.read_bytes()[1:])
    problems = store.verify()
    assert len(problems) == 1 and "corrupted" in problems[0]


def test_local_path_runs_publish_and_apply_in_process(tmp_path, monkeypatch) -> None:
    root = make_root(tmp_path / "root", n_assets=2)
    content = content_from_root(root, tmp_path / "cache", 1, NOW)
    assert content.version == 1
    assert [s.id for s in content.playlists[0].slides] == ["img-000", "img-001", "bienvenida"]
    local = content.asset_path("assets/img/img-000.png")
    assert local is not None
    assert local.read_bytes() == (root / "assets/img/img-000.png").read_bytes()
    assert Store(tmp_path / "cache").verify() == []
    # A restarted player counts from 1 again: no replay refusal for local roots; only the
    # edited asset is read and copied again (a spy on the store, to count the copies).
    write_asset(root, 0, 2048, seed=5)
    copied: list[Path] = []
    real_import = Store.import_file

    def counting_import(self: Store, src: Any, expected: str | None = None) -> tuple[str, int]:
        # the file comes opened (and checked) by the caller: named by its descriptor
        copied.append(Path(f"/proc/self/fd/{src.fileno()}").resolve())
        return real_import(self, src, expected)

    monkeypatch.setattr(Store, "import_file", counting_import)
    again = content_from_root(root, tmp_path / "cache", 1, NOW)
    assert copied == [root / "assets/img/img-000.png"]
    assert again.asset_path("assets/img/img-000.png") != local
    (root / "playlists" / "lobby.yaml").write_text("name: roto\nslides: 3\n")
    with pytest.raises(ValidationError):
        content_from_root(root, tmp_path / "cache", 2, NOW)
    still = Store(tmp_path / "cache").current_content(NOW)
    assert still is not None and still.playlists == again.playlists


def test_keygen_and_publish_commands(tmp_path, capsys) -> None:
    key = tmp_path / "k.pem"
    assert main(["keygen", "--out", str(key)]) == 0
    pub = capsys.readouterr().out.strip()
    assert signing.public_key_b64(signing.load_private_key(key)) == pub
    assert main(["keygen", "--out", str(key)]) == 1  # never overwrites a key
    root = make_root(tmp_path / "root", n_assets=1)
    out = tmp_path / "feed"
    assert (
        main(
            [
                "publish",
                "--root",
                str(root),
                "--out",
                str(out),
                "--key",
                str(key),
                "--expires",
                "1d12h",
            ]
        )
        == 0
    )
    doc = json.loads((out / "feed.json").read_bytes())
    published = datetime.fromisoformat(doc["published"])
    assert datetime.fromisoformat(doc["expires"]) - published == timedelta(hours=36)
    signing.verify((out / "feed.json").read_bytes(), (out / "feed.json.sig").read_text(), pub)
    capsys.readouterr()
    (root / "playlists" / "lobby.yaml").write_text("name: x\nslides:\n  - image: assets/nope.png\n")
    assert main(["publish", "--root", str(root), "--out", str(out), "--key", str(key)]) == 1
    err = capsys.readouterr().err
    assert "lobby.yaml" in err and "nothing was published" in err
    assert (
        main(
            [
                "publish",
                "--root",
                str(root),
                "--out",
                str(out),
                "--key",
                str(key),
                "--expires",
                "soon",
            ]
        )
        == 2
    )
    assert main(["publish", "--root", str(root), "--out", str(out)]) == 2


def test_an_asset_symlinked_outside_the_root_is_not_published(tmp_path, keys) -> None:
    root = make_root(tmp_path / "root", n_assets=1)
    secret = tmp_path / "secret.png"
    secret.write_bytes(b"\x89PNG\r\n\x1a\n" + b"private")
    target = root / "assets/img/img-000.png"
    target.unlink()
    target.symlink_to(secret)
    with pytest.raises(ValidationError) as err:
        publish(root, tmp_path / "feed", keys.key, now=NOW)
    assert any("img-000.png" in str(p) for p in err.value.problems)
    assert not (tmp_path / "feed" / "feed.json").exists()
    published = (
        list((tmp_path / "feed" / "assets").glob("*")) if (tmp_path / "feed").exists() else []
    )
    assert all(p.read_bytes() != secret.read_bytes() for p in published)


def test_collect_skips_a_busy_cache_and_never_empties_an_unreadable_one(tmp_path, keys) -> None:
    import threading

    store = Store(tmp_path / "cache")
    root = make_root(tmp_path / "root", n_assets=2)
    publish(root, tmp_path / "feed", keys.key, now=NOW)
    store.apply(*fill_store(store, tmp_path / "feed"), pubkey_b64=keys.pubkey, now=NOW)
    stray = store.blob_path("b" * 64)
    stray.write_bytes(b"left over by a version being prepared")
    held, release = threading.Event(), threading.Event()

    def hold() -> None:  # a sync in another thread (or process) holding the cache
        with Store(tmp_path / "cache").lock():
            held.set()
            release.wait(10)

    holder = threading.Thread(target=hold)
    holder.start()
    try:
        assert held.wait(5)
        assert store.collect() == 0  # the disk-space guard does not wait, and deletes nothing
        assert stray.exists()
    finally:
        release.set()
        holder.join(5)
    assert store.collect() > 0 and not stray.exists()
    (store.state_dir / "current.json").write_text("{broken")
    kept = sorted(p.name for p in store.objects_dir.iterdir())
    assert store.collect() == 0
    assert sorted(p.name for p in store.objects_dir.iterdir()) == kept
