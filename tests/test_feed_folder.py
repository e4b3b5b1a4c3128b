"""The feed folder on disk (``signage.feed.folder``): the one reader and writer of a pair.

Publish and the hub both go through it, so its size limit is the screens' limit and its
write order is the one the sync client's retry relies on.
"""

from __future__ import annotations

import json
import os
import time
from pathlib import Path

import pytest

from signage.errors import FeedError
from signage.feed import folder
from signage.feed.manifest import MAX_MANIFEST_BYTES
from signage.feed.signing import generate_key, public_key_b64, sign
from signage.hub.publishing import RepublishError
from signage.hub.state import Hub, HubConfig


def _manifest(version: int, **extra: object) -> bytes:
    doc = {
        "version": version,
        "assets": {"a.png": {"sha256": "a" * 64, "size": 1, "type": "image/png"}},
    }
    doc.update(extra)
    return json.dumps(doc).encode()


def test_no_manifest_reads_as_none(tmp_path: Path) -> None:
    assert folder.read_pair(tmp_path) is None


def test_a_written_pair_reads_back_and_verifies_only_with_its_key(tmp_path: Path) -> None:
    key, other = generate_key(), generate_key()
    data = _manifest(7)
    folder.write_pair(tmp_path, data, sign(data, key).encode())
    pair = folder.read_pair(tmp_path, public_key_b64(key))
    assert pair is not None
    assert (pair.version, pair.manifest, pair.verified) == (7, data, True)
    assert pair.media_types == {"a" * 64: "image/png"}
    stranger = folder.read_pair(tmp_path, public_key_b64(other))
    assert stranger is not None and stranger.verified is False
    assert sorted(p.name for p in tmp_path.iterdir()) == ["feed.json", "feed.json.sig"]


def test_an_unsigned_write_removes_the_old_signature(tmp_path: Path) -> None:
    data = _manifest(1)
    folder.write_pair(tmp_path, data, sign(data, generate_key()).encode())
    folder.write_pair(tmp_path, _manifest(2), None)
    pair = folder.read_pair(tmp_path)
    assert pair is not None and pair.signature is None and pair.version == 2
    assert not (tmp_path / "feed.json.sig").exists()


def test_each_write_moves_the_mtime_a_second_on_for_static_servers(tmp_path: Path) -> None:
    folder.write_pair(tmp_path, _manifest(1), None)
    first = (tmp_path / "feed.json").stat().st_mtime_ns
    folder.write_pair(tmp_path, _manifest(2), None)
    assert (tmp_path / "feed.json").stat().st_mtime_ns >= first + 1_000_000_000


def test_a_manifest_over_the_screens_limit_is_neither_read_nor_written(tmp_path: Path) -> None:
    big = _manifest(3, pad="x" * MAX_MANIFEST_BYTES)
    with pytest.raises(folder.ManifestRefused, match=str(MAX_MANIFEST_BYTES)):
        folder.write_pair(tmp_path, big, None)
    (tmp_path / "feed.json").write_bytes(big)
    with pytest.raises(FeedError, match="screens accept"):
        folder.read_pair(tmp_path)


@pytest.mark.parametrize(
    ("body", "reason"),
    [
        (b"{not json", "not JSON"),
        (b"[1, 2]", "JSON object"),
        (b'{"version": -1}', "non-negative integer"),
        (b'{"version": true}', "non-negative integer"),
    ],
)
def test_an_unusable_manifest_is_refused_with_its_path(
    tmp_path: Path, body: bytes, reason: str
) -> None:
    (tmp_path / "feed.json").write_bytes(body)
    with pytest.raises(folder.ManifestRefused, match=reason) as info:
        folder.read_pair(tmp_path)
    assert str(tmp_path / "feed.json") in info.value.reason


def test_a_failed_write_leaves_no_temporary_file(tmp_path: Path) -> None:
    (tmp_path / "feed.json").mkdir()  # renaming a file over a folder fails
    (tmp_path / "feed.json" / "x").write_text("occupied")
    with pytest.raises(folder.FeedWriteError, match="cannot write the feed"):
        folder.write_pair(tmp_path, _manifest(1), None)
    assert sorted(p.name for p in tmp_path.iterdir()) == ["feed.json"]


def test_prune_keeps_named_recent_and_foreign_files(tmp_path: Path) -> None:
    old = time.time() - 7200
    names = {"keep": "1" * 64, "unused": "2" * 64, "recent": "3" * 64, "other": "notes.txt"}
    for name in names.values():
        (tmp_path / name).write_bytes(b"x")
    for name in (names["keep"], names["unused"], names["other"]):
        os.utime(tmp_path / name, (old, old))
    removed = folder.prune_assets(tmp_path, frozenset({names["keep"]}), time.time() - 3600)
    assert removed == 1
    assert sorted(p.name for p in tmp_path.iterdir()) == sorted(
        [names["keep"], names["recent"], names["other"]]
    )


def test_asset_hashes_of_a_manifest(tmp_path: Path) -> None:
    assert folder.asset_hashes(_manifest(1)) == {"a" * 64}
    assert folder.asset_hashes(b"") == frozenset()
    assert folder.asset_hashes(b"{broken") == frozenset()


def test_a_hub_does_not_serve_a_manifest_screens_would_refuse_for_its_size(
    tmp_path: Path,
) -> None:
    feed = tmp_path / "feed"
    feed.mkdir()
    (feed / "feed.json").write_bytes(_manifest(9, pad="x" * MAX_MANIFEST_BYTES))
    hub = Hub(HubConfig(feed_dir=feed, data_dir=tmp_path / "data"))
    with pytest.raises(RepublishError, match="screens accept"):
        hub.load()
    assert hub.current_version() == 0
