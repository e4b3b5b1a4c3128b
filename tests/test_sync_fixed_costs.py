"""The fixed costs of a sync (issue 17.3): what one sync no longer does twice, and that the
shortcuts hold only while the cache's lock is held.

Folder listings are observed through the interpreter's audit events (``os.listdir``,
``os.scandir``: the real calls, seen as they are made); a listing by descriptor is named
through ``/proc/self/fd``.
"""

from __future__ import annotations

import gc
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from contextlib import contextmanager
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from signage.errors import FeedError
from signage.feed.publish import publish
from signage.feed.signing import generate_key, sign
from signage.feed.store import Store
from signage.feed.sync import SyncClient
from tests.helpers_feed import make_keypair, make_root, serve_folder, write_asset

_listings: list[list[str]] = []


def _audit(event: str, args: tuple[object, ...]) -> None:
    if not _listings or event not in {"os.listdir", "os.scandir"}:
        return
    where = args[0] if args else "."
    if isinstance(where, int):
        try:
            where = str(Path(f"/proc/self/fd/{where}").readlink())
        except OSError:
            where = f"fd {where}"
    for seen in _listings:
        seen.append(os.fsdecode(where) if isinstance(where, str | bytes) else str(where))


sys.addaudithook(_audit)  # audit hooks stay for the process: it records only inside listed()


@contextmanager
def listed() -> Iterator[list[str]]:
    """Every folder listed (by path or by descriptor) while inside."""
    seen: list[str] = []
    _listings.append(seen)
    try:
        yield seen
    finally:
        _listings.remove(seen)


def _feed(tmp_path: Path, n: int) -> tuple[Path, str]:
    keys = make_keypair(tmp_path / "keys")
    root = make_root(tmp_path / "root", n_assets=n, size=3_000)
    feed = tmp_path / "feed"
    publish(root, feed, keys.key, now=datetime.now(UTC))
    return feed, keys.pubkey


def test_a_cold_sync_lists_the_objects_folder_once(tmp_path: Path) -> None:
    """The switch does not look again for the objects the sync has just put in place (it
    listed objects/ a second time and sized every asset), and the collection after it
    lists the folder once, by name."""
    feed, pubkey = _feed(tmp_path, 30)
    store = Store(tmp_path / "cache")
    with serve_folder(feed) as server, listed() as seen:
        result = SyncClient(server.url, store, pubkey).sync_once(datetime.now(UTC))
    assert result.status == "updated" and result.assets_downloaded == 30
    objects = str(tmp_path / "cache" / "objects")
    assert seen.count(objects) == 1, seen
    assert store.verify(deep=True) == []


def test_what_the_lock_holder_learnt_is_forgotten_when_it_lets_go(tmp_path: Path) -> None:
    """An object removed after the sync's lock was released is missed by the next apply
    (the shortcut above must not outlive the lock)."""
    feed, pubkey = _feed(tmp_path, 4)
    store = Store(tmp_path / "cache")
    with serve_folder(feed) as server:
        assert SyncClient(server.url, store, pubkey).sync_once(datetime.now(UTC)).ok
    body = (feed / "feed.json").read_bytes()
    sig = (feed / "feed.json.sig").read_text()
    victim = next(iter(store.objects_dir.iterdir()))
    victim.unlink()
    with pytest.raises(FeedError, match="missing"):
        store.apply(body, sig, pubkey_b64=pubkey, now=datetime.now(UTC))
    with store.lock(), pytest.raises(FeedError, match="missing"):
        store.apply(body, sig, pubkey_b64=pubkey, now=datetime.now(UTC))


def test_a_signature_verified_once_in_a_lock_hold_is_only_that_one(tmp_path: Path) -> None:
    """Inside one lock hold the same bytes, signature and key are verified once; another
    signature (or key) over the same bytes is still verified, and refused when wrong."""
    feed, pubkey = _feed(tmp_path, 2)
    body = (feed / "feed.json").read_bytes()
    sig = (feed / "feed.json.sig").read_text()
    other = sign(body, generate_key())
    store = Store(tmp_path / "cache")
    now = datetime.now(UTC)
    with store.lock():
        first = store.check(body, sig, pubkey_b64=pubkey, now=now)
        assert store.check(body, sig, pubkey_b64=pubkey, now=now) is first
        with pytest.raises(FeedError, match="signature"):
            store.check(body, other, pubkey_b64=pubkey, now=now)
        with pytest.raises(FeedError):
            store.check(body, sig, pubkey_b64=_other_pubkey(), now=now)


def _other_pubkey() -> str:
    from signage.feed.signing import public_key_b64

    return public_key_b64(generate_key())


def test_collect_keeps_the_current_objects_when_its_kept_file_is_damaged(
    tmp_path: Path,
) -> None:
    """The collection after a sync takes the version's objects from the manifest it has
    just parsed: a kept manifest file damaged meanwhile no longer makes it delete the
    objects of the version on screen (it read the file, found it corrupted and kept
    nothing of that version)."""
    feed, pubkey = _feed(tmp_path, 3)
    store = Store(tmp_path / "cache")
    with serve_folder(feed) as server:
        assert SyncClient(server.url, store, pubkey).sync_once(datetime.now(UTC)).ok
    state = store.state()
    assert state is not None
    (store.manifests_dir / f"{state.manifest}.json").write_bytes(b"{}")
    store.collect(blocking=True)
    assert len(list(store.objects_dir.iterdir())) == 3


def test_collect_makes_no_object_per_cached_file(tmp_path: Path) -> None:
    """Collecting a cache of many objects starts no collection of the interpreter's
    garbage collector (a Path per object, two tracked objects each, was enough to start it
    twice a sync)."""
    feed, pubkey = _feed(tmp_path, 300)
    store = Store(tmp_path / "cache")
    with serve_folder(feed) as server:
        assert SyncClient(server.url, store, pubkey).sync_once(datetime.now(UTC)).ok
    store.current_manifest()  # parsed and remembered before counting
    runs: list[int] = []

    def seen(phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            runs.append(info["generation"])

    threshold = gc.get_threshold()
    gc.collect()
    gc.set_threshold(400, *threshold[1:])
    gc.callbacks.append(seen)
    try:
        store.collect(blocking=True)
    finally:
        gc.callbacks.remove(seen)
        gc.set_threshold(*threshold)
    assert runs == [], runs


def _pathlib_calls_in_a_cold_sync(tmp_path: Path, n: int, *, again: bool = False) -> int:
    """pathlib calls made by the sync's own threads in a cold sync of ``n`` assets (with
    ``again``: in the unchanged sync after it)."""
    feed, pubkey = _feed(tmp_path / str(n), n)
    store = Store(tmp_path / str(n) / "cache")
    calls = [0]

    def count(frame: Any, event: str, arg: object) -> None:
        if event == "call" and frame.f_code.co_filename.endswith("pathlib.py"):
            name = threading.current_thread().name  # the sync's, not the server's
            if name == "MainThread" or name.startswith("feed-"):
                calls[0] += 1

    with serve_folder(feed) as server:
        client = SyncClient(server.url, store, pubkey)
        if again:
            assert client.sync_once(datetime.now(UTC)).status == "updated"
        threading.setprofile(count)
        sys.setprofile(count)
        try:
            result = client.sync_once(datetime.now(UTC))
        finally:
            sys.setprofile(None)
            threading.setprofile(None)
    if again:
        assert result.status == "unchanged"
    else:
        assert result.status == "updated" and result.assets_downloaded == n
    return calls[0]


def test_the_pipelined_downloads_build_no_path_per_asset(tmp_path: Path) -> None:
    """The small assets' downloads name their files as text: 50 more assets cost no more
    pathlib calls than 10 (it was ~6 calls an asset: a Path built, converted, joined)."""
    few = _pathlib_calls_in_a_cold_sync(tmp_path, 10)
    many = _pathlib_calls_in_a_cold_sync(tmp_path, 60)
    assert many - few < 25, (few, many)


def test_an_unchanged_sync_builds_no_path_per_asset(tmp_path: Path) -> None:
    """Before its conditional request a sync checks the sizes of the current version's
    objects (a damaged cache fetches the manifest whole): by name in the open folder, not
    a Path per asset (that check was ~85 % of an unchanged sync of 450 assets)."""
    few = _pathlib_calls_in_a_cold_sync(tmp_path, 10, again=True)
    many = _pathlib_calls_in_a_cold_sync(tmp_path, 60, again=True)
    assert many - few < 25, (few, many)


def test_a_process_s_first_sync_imports_nothing(tmp_path: Path) -> None:
    """Whatever a sync needs is imported or looked up when its client is made, not between
    its requests: ctypes for syncfs (~1.6 ms) was imported between the downloads and the
    switch, the idna codec (~0.9 ms) at the first connection."""
    feed, pubkey = _feed(tmp_path, 3)
    env = dict(os.environ, PYTHONPATH=str(Path(__file__).resolve().parents[1]))
    code = (
        "import sys\n"
        "from datetime import UTC, datetime\n"
        "from pathlib import Path\n"
        "from signage.feed.store import Store\n"
        "from signage.feed.sync import SyncClient\n"
        "client = SyncClient(sys.argv[1], Store(Path(sys.argv[2])), sys.argv[3])\n"
        "before = set(sys.modules)\n"
        "assert client.sync_once(datetime.now(UTC)).status == 'updated'\n"
        "print(sorted(set(sys.modules) - before))\n"
    )
    with serve_folder(feed) as server:
        done = subprocess.run(
            [sys.executable, "-c", code, server.url, str(tmp_path / "cache"), pubkey],
            env=env,
            capture_output=True,
            text=True,
            check=False,
        )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"


def test_a_sync_reads_the_trusted_state_once_before_and_once_after_its_switch(
    tmp_path: Path,
) -> None:
    """``state/current.json`` is read once while the lock is held, and again after the
    switch writes it (a sync read it six times); the holder sees its own switch."""
    keys = make_keypair(tmp_path / "keys")
    root = make_root(tmp_path / "root", n_assets=5, size=2_000)
    feed = tmp_path / "feed"
    publish(root, feed, keys.key, now=datetime.now(UTC))
    store = Store(tmp_path / "cache")
    current = str(tmp_path / "cache" / "state" / "current.json")
    with serve_folder(feed) as server:
        client = SyncClient(server.url, store, keys.pubkey)
        first = client.sync_once(datetime.now(UTC))
        assert first.status == "updated" and first.version is not None
        write_asset(root, 1, 2_000, seed=7)
        publish(root, feed, keys.key, now=datetime.now(UTC))
        with opened() as seen:
            result = client.sync_once(datetime.now(UTC))
    assert result.status == "updated" and (result.version or 0) > first.version
    assert seen.count(current) == 2, seen
    state = store.state()
    assert state is not None and state.version == result.version
    with store.lock():
        assert store.state() == state
        body = (feed / "feed.json").read_bytes()
        sig = (feed / "feed.json.sig").read_text()
        store.apply(body, sig, pubkey_b64=keys.pubkey, now=datetime.now(UTC))
        assert store.state() == state  # the same version again: nothing switched
        Path(current).write_text("{broken", encoding="utf-8")
        assert store.state() == state  # remembered while the lock is held
    assert store.state() is None  # read again once it is released


_opens: list[list[str]] = []


def _audit_open(event: str, args: tuple[object, ...]) -> None:
    if _opens and event == "open" and isinstance(args[0], str | bytes | os.PathLike):
        for seen in _opens:
            seen.append(os.fsdecode(args[0]))


sys.addaudithook(_audit_open)


@contextmanager
def opened() -> Iterator[list[str]]:
    """Every file opened through ``open()`` while inside."""
    seen: list[str] = []
    _opens.append(seen)
    try:
        yield seen
    finally:
        _opens.remove(seen)


def test_the_shallow_check_names_missing_and_resized_objects(tmp_path: Path) -> None:
    feed, pubkey = _feed(tmp_path, 4)
    store = Store(tmp_path / "cache")
    with serve_folder(feed) as server:
        assert SyncClient(server.url, store, pubkey).sync_once(datetime.now(UTC)).ok
    manifest = store.current_manifest()
    assert manifest is not None and store.verify(deep=False) == []
    (gone, cut) = sorted(manifest.assets.items())[:2]
    (store.objects_dir / gone[1].sha256).unlink()
    (store.objects_dir / cut[1].sha256).write_bytes(b"short")
    assert store.verify(deep=False) == [
        f"{gone[0]}: object {gone[1].sha256[:12]}… missing",
        f"{cut[0]}: object has 5 bytes, expected {cut[1].size}",
    ]
    shutil.rmtree(store.objects_dir)
    assert len(store.verify(deep=False)) == 4
