"""The feed folder on disk: a consistent manifest + signature pair read or written; assets pruned.

Layout of a feed folder::

    assets/<sha256>     every asset, named by the sha256 of its bytes (written first)
    feed.json.sig       base64 Ed25519 signature over the exact bytes of feed.json
    feed.json           the manifest (renamed into place last)

``signage.feed.publish`` fills a folder from a content root; the hub serves one and re-signs
it with its alerts. Both go through this module, so there is one write order (signature
first, then manifest, each fsynced to a temporary file and renamed), one reader that pairs a
manifest with its own signature, and one size limit: ``feed.manifest.MAX_MANIFEST_BYTES``,
what every screen accepts, so nothing is served that screens would refuse for its size.

Exceptions (all ``FeedError``, so the CLI prints them as messages)::

    FeedError
    └── FeedFolderError      the feed folder cannot be read or written
        ├── FeedUnreadable   reading feed.json or feed.json.sig failed (I/O)
        ├── ManifestRefused  feed.json is too large, not a JSON object, or has no version
        └── FeedWriteError   writing the pair failed; the previous pair stays current
"""

from __future__ import annotations

import contextlib
import fcntl
import json
import os
import time
from collections.abc import Iterator, Mapping
from dataclasses import dataclass, field
from pathlib import Path
from types import MappingProxyType
from typing import Any

from signage.errors import FeedError
from signage.feed.manifest import MAX_MANIFEST_BYTES
from signage.feed.store import fsync_dir
from signage.i18n import N_
from signage.logs import area_logger

__all__ = [
    "ASSETS_NAME",
    "MANIFEST_NAME",
    "SIGNATURE_NAME",
    "FeedFolderError",
    "FeedPair",
    "FeedUnreadable",
    "FeedWriteError",
    "ManifestRefused",
    "asset_hashes",
    "pair_from_bytes",
    "prune_assets",
    "publish_lock",
    "read_pair",
    "write_pair",
]

log = area_logger("feed")

MANIFEST_NAME = "feed.json"
SIGNATURE_NAME = "feed.json.sig"
ASSETS_NAME = "assets"
LOCK_NAME = ".publish.lock"
PAIR_ATTEMPTS = 20
"""Reads of a pair that does not verify before it is taken as it is (a publish in between)."""
PAIR_SETTLE_S = 0.01


class FeedFolderError(FeedError):
    """Raised when a feed folder cannot be read or written; ``reason`` names the file."""


class FeedUnreadable(FeedFolderError):
    """Raised when ``feed.json`` or ``feed.json.sig`` exists but cannot be read."""


class ManifestRefused(FeedFolderError):
    """Raised when ``feed.json`` is over the size limit, not a JSON object, or carries no
    non-negative integer ``version``."""


class FeedWriteError(FeedFolderError):
    """Raised when the pair cannot be written; the pair already there stays current."""


@dataclass(frozen=True, slots=True)
class FeedPair:
    """A manifest with the signature found beside it, read at one moment.

    Args:
        version: the manifest's ``version``.
        manifest: the exact bytes of ``feed.json``.
        signature: the exact bytes of ``feed.json.sig``, ``None`` for an unsigned feed.
        media_types: asset sha256 -> media type, from the manifest's ``assets``.
        modified: the manifest file's mtime (epoch seconds).
        verified: ``True`` when the signature verified with the key asked for, ``False``
            when it never did (signed with another key), ``None`` when not checked.
    """

    version: int
    manifest: bytes
    signature: bytes | None
    media_types: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    modified: float = 0.0
    verified: bool | None = None


def _media_types(doc: Mapping[str, Any]) -> Mapping[str, str]:
    """sha256 -> media type from the manifest's ``assets`` (a mapping or a list of entries)."""
    assets = doc.get("assets")
    entries: list[Any]
    if isinstance(assets, dict):
        entries = list(assets.values())
    elif isinstance(assets, list):
        entries = assets
    else:
        return MappingProxyType({})
    types: dict[str, str] = {}
    for entry in entries:
        if not isinstance(entry, dict):
            continue
        sha = entry.get("sha256")
        media = entry.get("media_type") or entry.get("type")
        if isinstance(sha, str) and isinstance(media, str):
            types[sha] = media
    return MappingProxyType(types)


def pair_from_bytes(
    manifest: bytes, signature: bytes | None, *, where: Path | str, modified: float = 0.0
) -> FeedPair:
    """The pair for ``manifest`` bytes, checked only as far as serving needs (size, a JSON
    object, a version); screens check the rest. Raises ``ManifestRefused``."""
    if len(manifest) > MAX_MANIFEST_BYTES:
        raise ManifestRefused(
            N_("{where}: {size} bytes is over the {limit} screens accept"),
            where=where,
            size=len(manifest),
            limit=MAX_MANIFEST_BYTES,
        )
    try:
        doc = json.loads(manifest)
    except (ValueError, UnicodeDecodeError, RecursionError) as exc:
        raise ManifestRefused(
            N_("{where}: not JSON ({error})"), where=where, error=str(exc)[:80]
        ) from None
    if not isinstance(doc, dict):
        raise ManifestRefused(N_("{where}: a manifest is a JSON object"), where=where)
    version = doc.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 0:
        raise ManifestRefused(N_("{where}: 'version' must be a non-negative integer"), where=where)
    return FeedPair(version, manifest, signature, _media_types(doc), modified)


def _read_bounded(path: Path, limit: int) -> bytes:
    """At most ``limit + 1`` bytes of ``path`` (one open, so a swap cannot mix two files)."""
    with path.open("rb") as fh:
        return fh.read(limit + 1)


def _verifies(manifest: bytes, signature: bytes, pubkey: str) -> bool:
    from signage.feed.signing import verify  # cryptography only when a key is in play

    try:
        verify(manifest, signature.decode("ascii", "replace"), pubkey)
    except FeedError:
        return False
    return True


def read_pair(folder: Path, pubkey: str | None = None) -> FeedPair | None:
    """Reads ``folder/feed.json`` and its signature as one consistent pair.

    A publisher replaces the two files one after the other. With ``pubkey`` the pair is
    read again (up to ``PAIR_ATTEMPTS`` times, ``PAIR_SETTLE_S`` apart) until it verifies;
    a pair that never does is returned with ``verified=False`` (signed with another key).
    Without it the pair is taken as read (screens verify it anyway).

    Returns ``None`` when there is no ``feed.json``. Raises ``FeedUnreadable`` or
    ``ManifestRefused``.
    """
    manifest_path = folder / MANIFEST_NAME
    sig_path = folder / SIGNATURE_NAME
    for attempt in range(PAIR_ATTEMPTS):
        try:
            modified = manifest_path.stat().st_mtime
            manifest = _read_bounded(manifest_path, MAX_MANIFEST_BYTES)
        except FileNotFoundError:
            return None
        except OSError as exc:
            raise FeedUnreadable(
                N_("{path}: cannot read it ({error})"), path=manifest_path, error=exc.strerror
            ) from None
        try:
            signature: bytes | None = _read_bounded(sig_path, 4096)
        except FileNotFoundError:
            signature = None
        except OSError as exc:
            raise FeedUnreadable(
                N_("{path}: cannot read it ({error})"), path=sig_path, error=exc.strerror
            ) from None
        pair = pair_from_bytes(manifest, signature, where=manifest_path, modified=modified)
        if pubkey is None or signature is None:
            return pair
        if _verifies(manifest, signature, pubkey):
            return _with_verified(pair, True)
        if attempt < PAIR_ATTEMPTS - 1:
            time.sleep(PAIR_SETTLE_S)
    return _with_verified(pair, False)


def _with_verified(pair: FeedPair, verified: bool) -> FeedPair:
    return FeedPair(
        pair.version, pair.manifest, pair.signature, pair.media_types, pair.modified, verified
    )


@contextlib.contextmanager
def publish_lock(folder: Path) -> Iterator[None]:
    """Holds the folder's writer lock (``flock`` on ``.publish.lock``): one publish at a
    time, across threads and processes."""
    folder.mkdir(parents=True, exist_ok=True)
    fd = os.open(folder / LOCK_NAME, os.O_RDWR | os.O_CREAT, 0o644)
    try:
        fcntl.flock(fd, fcntl.LOCK_EX)
        yield
    finally:
        os.close(fd)


def write_pair(folder: Path, manifest: bytes, signature: bytes | None) -> None:
    """Writes ``feed.json.sig`` then ``feed.json`` (``signature=None``: an unsigned feed, any
    old signature removed). Call it holding ``publish_lock(folder)``.

    Both are written and fsynced to temporary files first, then renamed back to back,
    signature first: a reader pairing the new manifest with the old signature sees a
    mismatch and reads again; it never sees a half-written file. Raises ``FeedWriteError``
    (the previous pair stays current, no temporary file is left).
    """
    if len(manifest) > MAX_MANIFEST_BYTES:
        raise ManifestRefused(
            N_("{where}: {size} bytes is over the {limit} screens accept"),
            where=folder / MANIFEST_NAME,
            size=len(manifest),
            limit=MAX_MANIFEST_BYTES,
        )
    sig_path, man_path = folder / SIGNATURE_NAME, folder / MANIFEST_NAME
    tmp_man = folder / f".{MANIFEST_NAME}.tmp-{os.getpid()}"
    tmp_sig = folder / f".{SIGNATURE_NAME}.tmp-{os.getpid()}"
    pending = [(tmp_man, manifest)]
    if signature is not None:
        pending.append((tmp_sig, signature))
    try:
        folder.mkdir(parents=True, exist_ok=True)
        # Web servers such as nginx derive ETag and Last-Modified from (mtime in whole
        # seconds, size). Two publishes within one second of equal size would look unchanged
        # to a conditional GET, so each new file gets an mtime a second after the old one.
        mtime_ns = time.time_ns()
        with contextlib.suppress(FileNotFoundError):
            mtime_ns = max(mtime_ns, man_path.stat().st_mtime_ns + 1_000_000_000)
        for tmp, data in pending:
            _write_synced(tmp, data)
            os.utime(tmp, ns=(mtime_ns, mtime_ns))
        if signature is not None:
            tmp_sig.replace(sig_path)
        else:
            sig_path.unlink(missing_ok=True)  # an old signature would only mislead readers
        tmp_man.replace(man_path)
        fsync_dir(folder)
    except OSError as exc:
        for tmp, _ in pending:
            with contextlib.suppress(OSError):
                tmp.unlink(missing_ok=True)
        raise FeedWriteError(
            N_("{folder}: cannot write the feed ({error})"),
            folder=folder,
            error=exc.strerror or exc,
        ) from None


def _write_synced(path: Path, data: bytes) -> None:
    fd = os.open(path, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o644)
    try:
        view = memoryview(data)
        while view:
            view = view[os.write(fd, view) :]
        os.fsync(fd)
    finally:
        os.close(fd)


def _is_sha256(name: str) -> bool:
    return len(name) == 64 and all(c in "0123456789abcdef" for c in name)


def asset_hashes(manifest: bytes) -> frozenset[str]:
    """Every sha256 a manifest's ``assets`` table names (empty for no or a bad manifest)."""
    if not manifest:
        return frozenset()
    try:
        doc = json.loads(manifest)
    except (ValueError, RecursionError):
        return frozenset()
    assets = doc.get("assets") if isinstance(doc, dict) else None
    entries = assets.values() if isinstance(assets, dict) else assets or []
    return frozenset(
        e["sha256"] for e in entries if isinstance(e, dict) and isinstance(e.get("sha256"), str)
    )


def prune_assets(assets_dir: Path, keep: frozenset[str], older_than: float) -> int:
    """Deletes asset files named by a sha256 not in ``keep`` whose mtime is before
    ``older_than`` (epoch seconds); returns how many. Other names are never touched."""
    removed = 0
    try:
        entries = list(os.scandir(assets_dir))
    except OSError:
        return 0
    for entry in entries:
        if entry.name in keep or not _is_sha256(entry.name):
            continue
        try:
            if entry.stat(follow_symlinks=False).st_mtime > older_than:
                continue
            Path(entry.path).unlink()
            removed += 1
        except OSError as exc:
            log.warning("could not remove unused asset %s: %s", entry.path, exc.strerror)
    if removed:
        log.info("removed %d asset file(s) no recent version uses", removed)
    return removed
