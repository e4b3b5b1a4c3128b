"""Publishing: a validated content root becomes a signed static feed folder.

Layout written to ``out``::

    assets/<sha256>     every asset, named by the sha256 of its bytes (written first)
    feed.json.sig       base64 Ed25519 signature over the exact bytes of feed.json
    feed.json           the manifest (renamed into place last)

Order and consistency: assets are copied (temp + fsync + rename, existing ones skipped)
before anything names them. The new signature and manifest are written by
``signage.feed.folder.write_pair`` (the hub's writer too): both fsynced to temporary files,
then renamed back to back, ``feed.json.sig`` first, ``feed.json`` last. A
reader that fetches ``feed.json`` and then ``feed.json.sig`` can pair a manifest with the
signature of the next publish only if a whole publish lands between its two requests; the
sync client then sees a bad signature, waits briefly and fetches both once more (see
``signage.feed.sync``), so a concurrent publish costs one retry and is never applied wrongly.

Versions: ``max(previous + 1, whole seconds since the epoch)``. The clock floor means a lost
feed folder, or a second publishing machine, still produces versions screens accept.

Unchanged content: with ``skip_unchanged`` a publish whose manifest body (format, theme,
playlists, alerts, assets: everything but version, published and expires) equals the feed
already in ``out`` writes nothing and returns the previous version flagged
``changed=False``, so a file saved under a content root that no playlist names (a player's
cache, an editor's swap file, a git checkout) never makes screens sync. It still writes a
new version when the previous one is unsigned but this one would be signed (or the other
way round), signed with another key, or past half its lifetime (``refresh_due``).
"""

from __future__ import annotations

import hashlib
import json
import mimetypes
import os
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from signage.alerts.store import AlertStore
from signage.durable import fsync_dir, write_atomic
from signage.errors import FeedError, Problem, ValidationError
from signage.feed.folder import publish_lock, read_pair, write_pair
from signage.feed.manifest import (
    AssetEntry,
    ContentLike,
    asset_path_problem,
    build_manifest,
    parse_manifest,
    referenced_assets,
)
from signage.leftovers import clean_temp_files
from signage.logs import area_logger
from signage.model import Alert
from signage.safeopen import UnsafeFile

if TYPE_CHECKING:  # cryptography is imported only to sign or verify (a local root never does)
    from signage.data.remote import RemoteData
    from signage.feed.signing import Ed25519PrivateKey
    from signage.playlist import LoadResult  # the validator loads only when a root is read

__all__ = [
    "DEFAULT_EXPIRES_IN",
    "REFRESH_FRACTION",
    "PublishResult",
    "alerts_of_root",
    "load_valid_root",
    "manifest_body",
    "next_version",
    "previous_version",
    "publish",
    "publish_content",
    "refresh_due",
]

log = area_logger("feed")

DEFAULT_EXPIRES_IN = timedelta(days=7)
REFRESH_FRACTION = 0.5
"""Share of a manifest's lifetime after which it is due to be signed again."""
_STAMP_KEYS = frozenset({"version", "published", "expires"})
_INDEX = ".publish-index.json"
_SHA256 = re.compile(r"[0-9a-f]{64}")
_CHUNK = 1 << 20


@dataclass(frozen=True, slots=True)
class PublishResult:
    """What one publish wrote.

    Args:
        assets_written: asset files newly copied into ``assets/`` (existing ones skipped).
        changed: False when ``skip_unchanged`` found the feed already serving this content:
            nothing was written and ``version`` is the previous one.
    """

    version: int
    manifest_path: Path
    assets_written: int
    bytes_written: int = 0
    manifest_sha256: str = ""
    signed: bool = True
    changed: bool = True
    data_problems: tuple[str, ...] = ()
    data_moved: int = 0  # files of a FEED/datos-remotos left by an earlier version, moved out


def media_type(path: str) -> str:
    """The media type for an asset path, by its extension."""
    guessed, _ = mimetypes.guess_type(path, strict=False)
    return guessed or "application/octet-stream"


def previous_version(out: Path) -> int:
    """The version of the feed already in ``out`` (0 if none or unreadable)."""
    try:
        data = (out / "feed.json").read_bytes()
    except FileNotFoundError:
        return 0
    try:
        return parse_manifest(data, None).version
    except FeedError:
        try:  # a feed this tool cannot parse still fixes the floor if it has a version
            version = json.loads(data).get("version")
        except (ValueError, AttributeError):
            return 0
        return version if isinstance(version, int) and not isinstance(version, bool) else 0


def manifest_body(manifest: bytes) -> dict[str, object] | None:
    """The parts of a manifest that say what screens show: everything but ``version``,
    ``published`` and ``expires``. ``None`` when the bytes are not a JSON object."""
    try:
        doc = json.loads(manifest)
    except (ValueError, UnicodeDecodeError):
        return None
    if not isinstance(doc, dict):
        return None
    return {k: v for k, v in doc.items() if k not in _STAMP_KEYS}


def refresh_due(
    published: datetime, expires: datetime, now: datetime, fraction: float = REFRESH_FRACTION
) -> bool:
    """Whether a manifest has used up ``fraction`` of its lifetime at ``now`` (or is
    expired, or its times make no sense) and should be signed again with a fresh expiry."""
    lifetime = expires - published
    if lifetime <= timedelta(0):
        return True
    return now >= published + lifetime * fraction


def _same_as_served(
    out: Path, manifest: bytes, key: Ed25519PrivateKey | None, now: datetime
) -> tuple[int, bytes] | None:
    """``(version, bytes)`` of the feed in ``out`` when it carries the same body as
    ``manifest``, is signed the same way, and is not yet due for a refresh; else ``None``."""
    try:
        served = read_pair(out)
    except FeedError:
        return None
    if served is None:
        return None
    previous = served.manifest
    try:
        parsed = parse_manifest(previous, None)
    except FeedError:
        return None
    if refresh_due(parsed.published, parsed.expires, now):
        return None
    if manifest_body(previous) != manifest_body(manifest):
        return None
    if key is None:
        return None if served.signature is not None else (parsed.version, previous)
    if served.signature is None:
        return None
    from signage.feed import signing

    try:
        signature = served.signature.decode("ascii").strip()
        signing.verify(previous, signature, signing.public_key_b64(key))
    except (ValueError, FeedError):
        return None  # unreadable or signed with another key: sign it again
    return parsed.version, previous


def next_version(previous: int, now: datetime) -> int:
    """``max(previous + 1, whole seconds since the epoch)``."""
    return max(previous + 1, int(now.timestamp()))


class _HashIndex:
    """Remembers (size, mtime) -> sha256 of source files so republishing skips re-hashing."""

    def __init__(self, out: Path) -> None:
        self.path = out / _INDEX
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
            self.entries: dict[str, list[object]] = raw if isinstance(raw, dict) else {}
        except (OSError, ValueError):
            self.entries = {}
        self.used: dict[str, list[object]] = {}

    def lookup(self, src: Path, assets_dir: Path) -> tuple[str, int] | None:
        st = src.stat()
        entry = self.entries.get(str(src))
        if (
            isinstance(entry, list)
            and len(entry) == 3
            and entry[0] == st.st_size
            and entry[1] == st.st_mtime_ns
            and isinstance(entry[2], str)
            and _SHA256.fullmatch(entry[2]) is not None
            and (assets_dir / entry[2]).is_file()
        ):
            self.used[str(src)] = entry
            return entry[2], st.st_size
        return None

    def remember(self, src: Path, sha: str, size: int, mtime_ns: int) -> None:
        self.used[str(src)] = [size, mtime_ns, sha]

    def save(self) -> None:
        write_atomic(self.path, json.dumps(self.used).encode(), sync_dir=False)


def _copy_asset(src: Path, assets_dir: Path, root: Path | None) -> tuple[str, int, bool, int]:
    """Hashes ``src`` and copies it to a temp file renamed to assets/<sha256>, all from ONE
    open descriptor checked to be a regular file inside ``root`` (``signage.safeopen``):
    a file swapped for a link after validation is never read.

    Returns (sha256, size, written, mtime_ns) where ``written`` is False when it was
    already there.
    """
    from signage.safeopen import opened_inside

    with opened_inside(src, root if root is not None else src.parent) as (fin, st):
        digest = hashlib.sha256()
        while chunk := fin.read(_CHUNK):
            digest.update(chunk)
        sha, size = digest.hexdigest(), fin.tell()
        target = assets_dir / sha
        if target.is_file() and target.stat().st_size == size:
            return sha, size, False, st.st_mtime_ns
        fin.seek(0)
        tmp = assets_dir / f".{sha}.tmp-{os.getpid()}"
        digest = hashlib.sha256()
        with tmp.open("wb") as fout:
            while chunk := fin.read(_CHUNK):
                digest.update(chunk)
                fout.write(chunk)
            fout.flush()
            os.fsync(fout.fileno())
    if digest.hexdigest() != sha:
        tmp.unlink(missing_ok=True)
        raise FeedError(f"{src}: the file changed while it was being published; publish again")
    tmp.chmod(0o644)
    tmp.replace(target)
    return sha, size, True, st.st_mtime_ns


def _write_feed(out: Path, manifest: bytes, key: Ed25519PrivateKey | None) -> None:
    """Signs ``manifest`` (when there is a key) and writes the pair (``folder.write_pair``)."""
    signature = None
    if key is not None:
        from signage.feed import signing

        signature = (signing.sign(manifest, key) + "\n").encode("ascii")
    write_pair(out, manifest, signature)


def publish_content(
    content: ContentLike,
    files: Mapping[str, Path],
    out: Path,
    key: Ed25519PrivateKey | None,
    *,
    now: datetime,
    expires_in: timedelta = DEFAULT_EXPIRES_IN,
    alerts: Sequence[Alert] = (),
    min_version: int = 0,
    skip_unchanged: bool = False,
    root: Path | None = None,
    fetched: Mapping[str, Path] | None = None,
) -> PublishResult:
    """Writes a feed for already-validated content whose asset paths map to local files.

    Args:
        root: the content root every file must be inside (checked on the opened file);
            without it, each file's own folder.
        fetched: asset path -> file of remote data the publisher fetched (kept in its own
            data folder, outside the root: each is checked inside its own folder).
        skip_unchanged: when the feed in ``out`` already carries exactly this content
            (see the module docstring), write nothing and return its version with
            ``changed=False``. Without it every call writes a new version (which also
            gives the feed a fresh expiry).
    """
    if expires_in <= timedelta(0):
        raise FeedError("the feed must expire in the future (use --expires 7d or more)")
    with publish_lock(out):
        assets_dir = out / "assets"
        assets_dir.mkdir(parents=True, exist_ok=True)
        clean_temp_files(out, assets_dir)  # what a killed publish left (.NAME.tmp-PID)
        index = _HashIndex(out)
        table: dict[str, AssetEntry] = {}
        written = written_bytes = 0
        fetched = fetched or {}
        for path in sorted({**files, **fetched}):
            src = fetched.get(path) or files[path]
            known = index.lookup(src, assets_dir)
            if known is None:
                inside = src.parent if path in fetched else root
                sha, size, was_written, mtime_ns = _copy_asset(src, assets_dir, inside)
                index.remember(src, sha, size, mtime_ns)
                if was_written:
                    written += 1
                    written_bytes += size
            else:
                sha, size = known
            table[path] = AssetEntry(sha256=sha, size=size, media_type=media_type(path))
        fsync_dir(assets_dir)
        version = max(next_version(previous_version(out), now), min_version)
        manifest = build_manifest(content, alerts, version, now, now + expires_in, table)
        same = _same_as_served(out, manifest, key, now) if skip_unchanged else None
        if same is not None and same[0] >= min_version:
            if index.used != index.entries:
                index.save()  # remember re-hashed files; the feed itself is untouched
            log.debug("feed in %s already serves this content (version %d)", out, same[0])
            return PublishResult(
                version=same[0],
                manifest_path=out / "feed.json",
                assets_written=written,
                bytes_written=written_bytes,
                manifest_sha256=hashlib.sha256(same[1]).hexdigest(),
                signed=key is not None,
                changed=False,
            )
        _write_feed(out, manifest, key)
        index.save()

    log.info("published feed version %d to %s (%d new assets)", version, out, written)
    return PublishResult(
        version=version,
        manifest_path=out / "feed.json",
        assets_written=written,
        bytes_written=written_bytes,
        manifest_sha256=hashlib.sha256(manifest).hexdigest(),
        signed=key is not None,
    )


def alerts_of_root(root: Path, now: datetime) -> tuple[Alert, ...]:
    """The alerts of ``root/alerts`` still active at ``now`` (what a root's feed carries)."""
    return tuple(AlertStore(root / "alerts").active(now))


def resolve_assets(root: Path, content: ContentLike) -> dict[str, Path]:
    """Asset path -> file under ``root`` for every path the content names.

    Raises ValidationError naming each path that is unsafe, missing or outside the root.
    """
    problems: list[Problem] = []
    files: dict[str, Path] = {}
    real_root = root.resolve()
    for path in referenced_assets(content.playlists, content.theme):
        reason = asset_path_problem(path)
        src = root / path
        if reason is None:
            try:
                if not src.resolve().is_relative_to(real_root):
                    reason = "asset path leaves the content root (through a symlink?)"
                elif not src.is_file():
                    reason = "asset file not found"
            except OSError as exc:
                reason = f"asset cannot be read ({exc.strerror})"
        if reason is not None:
            problems.append(Problem(path, 0, 0, f"{reason}; fix the playlist or add the file"))
        else:
            files[path] = src
    if problems:
        raise ValidationError(problems)
    return files


def load_valid_root(
    root: Path, allowed_hosts: frozenset[str] = frozenset()
) -> tuple[LoadResult, dict[str, Path]]:
    """A content root loaded and checked, with the file behind every asset path it names.

    The first step of both publishing and the player's in-process local path, so the two
    accept and refuse exactly the same roots. Raises ValidationError with every error.
    """
    from signage.playlist import load_content_root

    if not (root / "playlists").is_dir():
        raise ValidationError(
            [Problem(str(root), 0, 0, "no 'playlists' folder here; pass --root CONTENT_ROOT")]
        )
    load = load_content_root(root, allowed_hosts=allowed_hosts)
    if not load.ok:
        raise ValidationError([p for p in load.problems if p.severity == "error"])
    return load, resolve_assets(root, load)


def publish(
    root: Path,
    out: Path,
    key: Ed25519PrivateKey | None,
    *,
    now: datetime,
    expires_in: timedelta = DEFAULT_EXPIRES_IN,
    alerts: Sequence[Alert] | None = None,
    allowed_hosts: frozenset[str] = frozenset(),
    skip_unchanged: bool = False,
    remote: RemoteData | None = None,
) -> PublishResult:
    """Validates ``root`` and writes a static feed to ``out``.

    Args:
        key: signs ``feed.json``; ``None`` writes an unsigned feed (no ``feed.json.sig``).
        alerts: the alerts to carry; ``None`` takes the active ones of ``root/alerts``.
        skip_unchanged: write nothing when ``out`` already serves this content (the
            result then has ``changed=False`` and the previous version).
        remote: fetches the data slides' ``url`` data when due and keeps the last good
            (``signage.data.remote``); default: kept in ``ROOT/.signage-hub/datos-remotos``
            (``signage.data.store``), system CAs. Never inside ``out``, which a web server
            may serve; a ``out/datos-remotos`` left by an earlier version is moved there.

    Raises:
        ValidationError: the content root has an error (nothing is written then).
        FeedError: the feed folder cannot be written.
    """
    load, files = load_valid_root(root, allowed_hosts)
    moved = _move_legacy_store(root, out, remote)
    load, fetched, data_problems = _remote_data(load, root, now, remote)
    chosen = alerts_of_root(root, now) if alerts is None else tuple(alerts)
    try:
        result = publish_content(
            load,
            files,
            out,
            key,
            now=now,
            expires_in=expires_in,
            alerts=chosen,
            skip_unchanged=skip_unchanged,
            root=root,
            fetched=fetched,
        )
    except UnsafeFile as exc:
        raise ValidationError([Problem(str(exc.path), 0, 0, exc.reason)]) from None
    except OSError as exc:
        raise FeedError(f"{out}: cannot write the feed ({exc.strerror or exc})") from None
    return replace(result, data_problems=data_problems, data_moved=moved)


def _move_legacy_store(root: Path, out: Path, remote: RemoteData | None) -> int:
    """Refuses a store inside the feed folder; moves an earlier version's out of it."""
    from signage.data.store import default_store, is_inside, move_legacy_store

    store = remote.folder if remote is not None else default_store(root)
    if is_inside(store, out):
        raise FeedError(
            f"{store}: the remote data store is inside the feed folder {out}, which a web "
            "server may serve; keep it outside (signage publish --data DIR)"
        )
    try:
        return move_legacy_store(out, store)
    except OSError as exc:
        raise FeedError(
            f"{out}/datos-remotos: cannot move it to {store} ({exc.strerror or exc})"
        ) from None


def _remote_data(
    load: LoadResult, root: Path, now: datetime, remote: RemoteData | None
) -> tuple[LoadResult, dict[str, Path], tuple[str, ...]]:
    """The data slides' remote data applied (only when some slide has a ``url``)."""
    remote_slides = any(
        s.data is not None and (s.data.url or s.data.scans)
        for p in load.playlists
        for s in p.slides
    )
    if not remote_slides and not any(p.ticker_feeds for p in load.playlists):
        return load, {}, ()
    from signage.data.remote import RemoteData
    from signage.data.store import default_store

    remote = remote or RemoteData(default_store(root))
    load, fetched = remote.apply(load, now)
    return load, fetched, tuple(remote.problems.values())
