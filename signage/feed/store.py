"""The player's content cache: content-addressed asset files, kept manifests, trusted state.

Layout of ``cache_dir``::

    state/current.json     trusted state and the pointer to the version on screen:
                           {"version", "manifest", "previous", "signed", "applied"};
                           written last, by one atomic rename, only after every check passed
    state/http.json        validators of the last applied manifest (ETag, Last-Modified)
    manifests/<sha256>.json (+ .sig)   the exact manifest bytes of kept versions
    objects/<sha256>       asset files, named by the sha256 of their bytes
    partial/<sha256>.part  downloads in progress (resumed with Range after a break)
    .lock                  flock: one writer at a time, across threads and processes

Feed content can only ever create files named by a sha256 under ``objects/`` and
``partial/``; nothing it sends chooses a path, so it cannot touch ``state/``. A version
becomes current in one rename of ``state/current.json``: readers see the old version or the
new one, never a mix. Unreferenced objects are removed only by ``collect`` and only after
the version that stopped needing them is no longer current or previous.
"""

from __future__ import annotations

import contextlib
import errno
import fcntl
import hashlib
import json
import os
import re
import threading
import time
from collections.abc import Callable, Iterable, Iterator
from datetime import datetime
from pathlib import Path
from types import MappingProxyType
from typing import BinaryIO, Final

from signage.durable import fsync_dir, write_atomic
from signage.errors import FeedError
from signage.feed import codec
from signage.feed.errors import ExpiredError, ReplayError, SignatureError
from signage.feed.manifest import Manifest, parse_manifest
from signage.i18n import N_
from signage.logs import area_logger
from signage.model import Content
from signage.values import Value

__all__ = ["Store", "StoreBusy", "StoreState", "fsync_dir", "hash_file", "write_atomic"]

log = area_logger("feed")

_HEX64 = re.compile(r"[0-9a-f]{64}")
PARTIAL_MAX_AGE_S = 24 * 3600
_CHUNK = 1 << 20


class StoreBusy(Exception):
    """Raised by ``Store.lock(blocking=False)`` when another writer holds the cache."""


def hash_file(path: Path) -> tuple[str, int]:
    """(sha256 hex, size) of a file, read in 1 MiB chunks."""
    digest = hashlib.sha256()
    size = 0
    with path.open("rb") as fh:
        while chunk := fh.read(_CHUNK):
            digest.update(chunk)
            size += len(chunk)
    return digest.hexdigest(), size


class StoreState(Value):
    """The trusted state: which version is on screen and the highest version ever applied.

    Args:
        version: the version of ``manifest`` (the highest applied; lower ones are replays).
        manifest: sha256 of the current manifest's bytes.
        previous: sha256 of the manifest current before it (its assets are kept too).
        signed: whether the current version came with a verified signature.
    """

    __slots__ = ("applied", "manifest", "previous", "signed", "version")
    _fields = ("version", "manifest", "previous", "signed", "applied")

    def __init__(
        self,
        version: int,
        manifest: str,
        previous: str | None = None,
        signed: bool = True,
        applied: str = "",
    ) -> None:
        self.version: Final = version
        self.manifest: Final = manifest
        self.previous: Final = previous
        self.signed: Final = signed
        self.applied: Final = applied


class Store:
    """A content-addressed cache of feed versions.

    Args:
        cache_dir: the folder it owns (created on first write).
    """

    def __init__(self, cache_dir: Path) -> None:
        self.root = Path(cache_dir)
        # Made once: a sync asks for a path in each for every asset.
        self._objects = self.root / "objects"
        self._partial = self.root / "partial"
        self._objects_text = os.fspath(self._objects) + os.sep
        self._tlock = threading.RLock()
        self._depth = 0
        self._fd: int | None = None
        self._parsed: dict[str, Manifest] = {}
        # What this writer learnt while it holds the lock, forgotten when it lets go (only
        # a lock holder changes the cache): objects it put in place or found whole
        # (sha256 -> size), and signatures it verified ((manifest sha256, sig, key)). A
        # sync's apply then neither lists ``objects/`` again nor verifies the signature its
        # check verified a moment before (bench/README.md, "issue 17, fourth pass").
        self._known: dict[str, int] = {}
        self._verified: set[tuple[str, str, str]] = set()
        self._state: tuple[StoreState | None] | None = None  # read once per lock hold
        self._owner = 0  # the thread holding the lock (its reads of the state are kept)

    # ------------------------------------------------------------------ paths

    @property
    def objects_dir(self) -> Path:
        return self._objects

    @property
    def partial_dir(self) -> Path:
        return self._partial

    @property
    def manifests_dir(self) -> Path:
        return self.root / "manifests"

    @property
    def state_dir(self) -> Path:
        return self.root / "state"

    def blob_path(self, sha256: str) -> Path:
        """Where the asset with this sha256 lives (whether or not it is there yet)."""
        if not _HEX64.fullmatch(sha256):
            raise FeedError(N_("{name} is not a sha256"), name=repr(sha256[:80]))
        return self.objects_dir / sha256

    def partial_path(self, sha256: str) -> Path:
        if not _HEX64.fullmatch(sha256):
            raise FeedError(N_("{name} is not a sha256"), name=repr(sha256[:80]))
        return self.partial_dir / f"{sha256}.part"

    def has_blob(self, sha256: str, size: int | None = None) -> bool:
        try:
            st = self.blob_path(sha256).stat()
        except FileNotFoundError:
            return False
        return size is None or st.st_size == size

    def ensure_dirs(self) -> None:
        for d in (self.objects_dir, self.partial_dir, self.manifests_dir, self.state_dir):
            d.mkdir(parents=True, exist_ok=True)

    # ------------------------------------------------------------------ locking

    @contextlib.contextmanager
    def lock(self, *, blocking: bool = True) -> Iterator[None]:
        """Exclusive access to the cache for writers (re-entrant in one thread).

        Raises:
            StoreBusy: ``blocking=False`` and another thread or process holds it.
        """
        if not self._tlock.acquire(blocking=blocking):
            raise StoreBusy(str(self.root))
        try:
            if self._depth == 0:
                self.root.mkdir(parents=True, exist_ok=True)
                fd = os.open(self.root / ".lock", os.O_RDWR | os.O_CREAT, 0o600)
                try:
                    fcntl.flock(fd, fcntl.LOCK_EX | (0 if blocking else fcntl.LOCK_NB))
                except OSError as exc:
                    os.close(fd)
                    if exc.errno in (errno.EWOULDBLOCK, errno.EAGAIN):
                        raise StoreBusy(str(self.root)) from None
                    raise
                self._fd = fd
            self._depth += 1
            self._owner = threading.get_ident()
            try:
                yield
            finally:
                self._depth -= 1
                if self._depth == 0:
                    self._known.clear()
                    self._verified.clear()
                    self._state = None
                    if self._fd is not None:
                        os.close(self._fd)
                        self._fd = None
        finally:
            self._tlock.release()

    # ------------------------------------------------------------------ adding blobs

    def commit_partial(
        self,
        sha256: str,
        digest_seen: str,
        part: str | Path | None = None,
        *,
        size: int | None = None,
    ) -> None:
        """Moves a finished download into ``objects/`` if its bytes hashed to its name.

        The caller hashed the bytes while streaming them (``digest_seen``) and makes them
        durable before any version names them (the sync flushes the cache's filesystem once,
        before the switch). ``part``: ``partial_path(sha256)`` if the caller has it already.
        ``size``: the number of bytes hashed (remembered while the lock is held, so the
        switch need not look for the object again). Raises FeedError (and removes the file)
        on a mismatch.
        """
        if part is None:
            part = self.partial_path(sha256)
        if digest_seen != sha256:
            with contextlib.suppress(FileNotFoundError):
                os.unlink(part)  # noqa: PTH108 (part may be text: see below)
            raise FeedError(
                N_("asset bytes hash to {seen}…, expected {expected}…"),
                seen=digest_seen[:12],
                expected=sha256[:12],
            )
        if not _HEX64.fullmatch(sha256):
            raise FeedError(N_("{name} is not a sha256"), name=repr(sha256[:80]))
        # Paths as text, os.replace: a Path per asset and its conversions back to text cost
        # more than the rename on tmpfs (a sync of many small files names hundreds).
        target = f"{self._objects_text}{sha256}"
        try:
            os.replace(part, target)  # noqa: PTH105 (see above)
        except FileNotFoundError:
            if not os.path.exists(part):  # noqa: PTH110
                raise
            self.objects_dir.mkdir(parents=True, exist_ok=True)  # once per cache, not per asset
            os.replace(part, target)  # noqa: PTH105
        if size is not None and self._depth:
            self._known[sha256] = size

    def import_file(self, src: Path | BinaryIO, expected: str | None = None) -> tuple[str, int]:
        """Copies a local file into ``objects/`` (temp + fsync + rename); returns (sha, size).

        ``src`` may be a file already opened (and checked) by the caller: it is read from
        where it stands and not closed. Skips the copy when the object is already there.
        """
        self.ensure_dirs()
        if expected is not None and self.has_blob(expected):
            return expected, self.blob_path(expected).stat().st_size
        tmp = self.partial_dir / f"import-{os.getpid()}-{threading.get_ident()}.part"
        digest = hashlib.sha256()
        size = 0
        opened = src.open("rb") if isinstance(src, Path) else contextlib.nullcontext(src)
        with opened as fin, tmp.open("wb") as fout:
            while chunk := fin.read(_CHUNK):
                digest.update(chunk)
                fout.write(chunk)
                size += len(chunk)
            fout.flush()
            os.fsync(fout.fileno())
        sha = digest.hexdigest()
        if expected is not None and sha != expected:
            tmp.unlink(missing_ok=True)
            raise FeedError(N_("{path}: changed while being copied"), path=src)
        target = self.blob_path(sha)
        if target.exists():
            tmp.unlink()
        else:
            tmp.replace(target)
        return sha, size

    # ------------------------------------------------------------------ state

    def state(self) -> StoreState | None:
        """The trusted state, or ``None`` for an empty (or unreadable) cache. Read once
        while the lock is held (only its holder writes it; a sync asked eight times)."""
        mine = self._depth > 0 and self._owner == threading.get_ident()
        remembered = self._state
        if remembered is not None and mine:
            return remembered[0]
        state = self._read_state()
        if mine:
            self._state = (state,)
        return state

    def _read_state(self) -> StoreState | None:
        path = self.state_dir / "current.json"
        try:
            raw = json.loads(path.read_text(encoding="utf-8"))
            state = StoreState(
                version=int(raw["version"]),
                manifest=str(raw["manifest"]),
                previous=raw.get("previous"),
                signed=bool(raw.get("signed", True)),
                applied=str(raw.get("applied", "")),
            )
        except FileNotFoundError:
            return None
        except (OSError, ValueError, KeyError, TypeError) as exc:
            log.error("%s: unreadable trusted state (%s); treating the cache as empty", path, exc)
            return None
        if not _HEX64.fullmatch(state.manifest):
            log.error("%s: bad manifest pointer; treating the cache as empty", path)
            return None
        return state

    @property
    def trusted_version(self) -> int:
        """The highest version ever applied here (0 for an empty cache)."""
        state = self.state()
        return state.version if state else 0

    def http_validators(self) -> dict[str, str]:
        """ETag / Last-Modified of the manifest now current (for a conditional GET)."""
        try:
            raw = json.loads((self.state_dir / "http.json").read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return {}
        state = self.state()
        if not isinstance(raw, dict) or state is None or raw.get("manifest") != state.manifest:
            return {}
        return {
            k: v for k, v in raw.items() if k in ("etag", "last_modified") and isinstance(v, str)
        }

    def save_http_validators(
        self, manifest_sha: str, etag: str | None, last_modified: str | None
    ) -> None:
        data = {"manifest": manifest_sha, "etag": etag, "last_modified": last_modified}
        # Not flushed: lost or torn by a power cut, it only costs one unconditional fetch
        # (``http_validators`` ignores what it cannot read or what names another manifest).
        write_atomic(self.state_dir / "http.json", json.dumps(data).encode(), durable=False)

    # ------------------------------------------------------------------ apply

    def check(
        self,
        manifest_bytes: bytes,
        sig: str | None,
        *,
        pubkey_b64: str | None,
        now: datetime,
        check_version: bool = True,
    ) -> Manifest:
        """Every check of ``apply`` except the assets' presence; nothing is written.

        The signature is verified before the bytes are parsed (once per lock hold: the
        same bytes, signature and key verified earlier in it are not verified again).
        Raises FeedError.
        """
        sha = hashlib.sha256(manifest_bytes).hexdigest()
        if pubkey_b64 is not None:
            if sig is None:
                raise SignatureError(N_("the feed has no signature (feed.json.sig)"))
            seen = (sha, sig, pubkey_b64)
            if seen not in self._verified:
                from signage.feed import signing  # cryptography: only for signed feeds

                signing.verify(manifest_bytes, sig, pubkey_b64)
                if self._depth:
                    self._verified.add(seen)
        manifest = self._parse(manifest_bytes, sha)
        if manifest.expired(now):
            raise ExpiredError(
                N_("manifest version {version} expired at {moment}"),
                version=manifest.version,
                expires=manifest.expires,
                moment=codec.format_time(manifest.expires),
            )
        if check_version:
            state = self.state()
            if state is not None:
                if manifest.version < state.version:
                    raise ReplayError(
                        N_(
                            "version {version} is older than the applied version {trusted} "
                            "(a replayed feed?)"
                        ),
                        version=manifest.version,
                        trusted=state.version,
                    )
                if manifest.version == state.version and manifest.sha256 != state.manifest:
                    raise ReplayError(
                        N_("version {version} is already applied with different content"),
                        version=manifest.version,
                        trusted=state.version,
                    )
        return manifest

    def missing_blobs(self, manifest: Manifest) -> dict[str, int]:
        """sha256 -> size of the assets of ``manifest`` not yet in ``objects/``."""
        # Objects this lock holder already put in place or found whole are not looked for
        # again (the switch after a sync asks for every asset the sync just brought).
        known = self._known
        unknown = [e for e in manifest.assets.values() if known.get(e.sha256) != e.size]
        if not unknown:
            return {}
        # One listing of objects/ instead of a stat per asset (hundreds for a feed of many
        # small files, most of them absent on a cold sync); only those present are sized,
        # by name inside the folder (no path built per asset).
        try:
            fd = os.open(self.objects_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        except FileNotFoundError:
            return {e.sha256: e.size for e in unknown}
        out: dict[str, int] = {}
        try:
            present = set(os.listdir(fd))  # noqa: PTH208 (by descriptor: a Path cannot)
            for entry in unknown:
                sha = entry.sha256  # a hex name (checked when the manifest was parsed)
                if sha not in present or _size_at(fd, sha) != entry.size:
                    out[sha] = entry.size
                elif self._depth:
                    known[sha] = entry.size
        finally:
            os.close(fd)
        return out

    def apply(
        self,
        manifest_bytes: bytes,
        sig: str | None,
        *,
        pubkey_b64: str | None,
        now: datetime,
        check_version: bool = True,
        flush: Callable[[Path], object] | None = None,
    ) -> Manifest:
        """Makes this manifest the current version, once every check has passed.

        Args:
            sig: the base64 signature (``feed.json.sig``); ignored when ``pubkey_b64`` is
                ``None`` (the in-process path of a local content root, nothing crossed a
                network).
            check_version: refuse versions lower than the trusted one (off for local roots,
                which count from 1 each run).
            flush: makes everything written in the cache durable (``flush_filesystem``),
                called once with the cache folder after the manifest and signature are
                written, before the switch: the objects a sync wrote, the manifest, its
                signature and their folders then cost one flush instead of one for the
                objects and four fsyncs more. ``None``: the objects are durable already
                (imported with fsync), the manifest and signature get their own fsyncs.

        Every asset must already be in ``objects/`` (see ``missing_blobs``). Returns the
        manifest; applying the current manifest again changes nothing.
        Raises FeedError; nothing is changed then.
        """
        with self.lock():
            manifest = self.check(
                manifest_bytes, sig, pubkey_b64=pubkey_b64, now=now, check_version=check_version
            )
            state = self.state()
            missing = self.missing_blobs(manifest)
            if missing:
                raise FeedError(
                    N_("{count} asset(s) of version {version} missing"),
                    count=len(missing),
                    version=manifest.version,
                )
            mpath = self.manifests_dir / f"{manifest.sha256}.json"
            if state is not None and state.manifest == manifest.sha256:
                if not _holds(mpath, manifest.sha256):  # repair a damaged kept manifest
                    write_atomic(mpath, manifest_bytes)
                return manifest
            self.ensure_dirs()
            own = flush is None  # fsyncs of their own, else one flush of the filesystem
            if own:
                fsync_dir(self.objects_dir)
            write_atomic(mpath, manifest_bytes, sync_dir=False, durable=own)
            if pubkey_b64 is not None and sig is not None:
                sig_path = mpath.with_suffix(".sig")
                write_atomic(sig_path, sig.strip().encode(), sync_dir=False, durable=own)
            if flush is None:
                fsync_dir(self.manifests_dir)
            else:
                flush(self.root)
            record = {
                "version": manifest.version,
                "manifest": manifest.sha256,
                "previous": state.manifest if state is not None else None,
                "signed": pubkey_b64 is not None,
                "applied": codec.format_time(now),
            }
            self._state = None  # read again after the switch (a failed write leaves the old)
            write_atomic(self.state_dir / "current.json", json.dumps(record).encode())
            log.info("feed version %d is now current (%s)", manifest.version, manifest.sha256[:12])
            return manifest

    # ------------------------------------------------------------------ reading

    def _parse(self, data: bytes, sha: str | None = None) -> Manifest:
        """``parse_manifest(data)`` remembered by the bytes' sha256 (``sha``, if the caller
        has it already; a sync, its apply and the collection after it read the same few
        manifests)."""
        if sha is None:
            sha = hashlib.sha256(data).hexdigest()
        with self._tlock:
            cached = self._parsed.get(sha)
        if cached is not None:
            return cached
        manifest = parse_manifest(data, None)
        with self._tlock:
            if len(self._parsed) >= 4:
                self._parsed.pop(next(iter(self._parsed)))
            self._parsed[sha] = manifest
        return manifest

    def _read_manifest(self, sha256: str) -> Manifest:
        data = (self.manifests_dir / f"{sha256}.json").read_bytes()
        if hashlib.sha256(data).hexdigest() != sha256:
            raise FeedError(N_("kept manifest {sha}… is corrupted"), sha=sha256[:12])
        return self._parse(data)

    def current_manifest(self) -> Manifest | None:
        """The manifest on screen (even if expired: the last good keeps playing)."""
        state = self.state()
        if state is None:
            return None
        try:
            return self._read_manifest(state.manifest)
        except (OSError, FeedError) as exc:
            log.error("cache %s: cannot read the current manifest: %s", self.root, exc)
            return None

    def current_content(self, now: datetime | None = None, source: str = "") -> Content | None:
        """The current version as ``Content`` (assets mapped to files in ``objects/``).

        ``now`` is accepted for symmetry with the other sources; an expired version is still
        returned (the caller reports it stale). ``None`` when the cache holds no version.
        """
        del now
        manifest = self.current_manifest()
        if manifest is None:
            return None
        return self.content_of(manifest, source)

    def content_of(self, manifest: Manifest, source: str = "") -> Content:
        assets = {path: self.blob_path(e.sha256) for path, e in manifest.assets.items()}
        return Content(
            version=manifest.version,
            playlists=manifest.playlists,
            theme=manifest.theme,
            alerts=manifest.alerts,
            assets=MappingProxyType(assets),
            published=manifest.published,
            expires=manifest.expires,
            source=source or str(self.root),
        )

    # ------------------------------------------------------------------ checking and GC

    def verify(self, *, deep: bool = True) -> list[str]:
        """Problems with the current version: missing or corrupted manifest or asset files.

        ``deep`` re-hashes every asset (slow for big videos); otherwise sizes only.
        An empty cache has no problems.
        """
        problems: list[str] = []
        state = self.state()
        if state is None:
            if (self.state_dir / "current.json").exists():
                problems.append("state/current.json is unreadable")
            return problems
        try:
            manifest = self._read_manifest(state.manifest)
        except (OSError, FeedError) as exc:
            return [f"current manifest {state.manifest[:12]}…: {exc}"]
        if manifest.version != state.version:
            problems.append(
                f"state says version {state.version}, the manifest is {manifest.version}"
            )
        # Sized by name in the open folder, no Path per asset: a sync's shallow check before
        # every conditional poll was ~85 % of an unchanged sync of 450 assets.
        try:
            folder = os.open(self.objects_dir, os.O_RDONLY | os.O_DIRECTORY | os.O_CLOEXEC)
        except FileNotFoundError:
            folder = None
        try:
            for path, entry in sorted(manifest.assets.items()):
                sha = entry.sha256
                if not _HEX64.fullmatch(sha):
                    raise FeedError(N_("{name} is not a sha256"), name=repr(sha[:80]))
                size = None if folder is None else _size_at(folder, sha)
                if size is None:
                    problems.append(f"{path}: object {sha[:12]}… missing")
                    continue
                if size != entry.size:
                    problems.append(f"{path}: object has {size} bytes, expected {entry.size}")
                    continue
                if deep and hash_file(self.objects_dir / sha)[0] != sha:
                    problems.append(f"{path}: object {sha[:12]}… is corrupted")
        finally:
            if folder is not None:
                os.close(folder)
        return problems

    def _kept(self) -> tuple[set[str], set[str]]:
        """(objects, manifests) the current and previous versions need."""
        objects: set[str] = set()
        manifests: set[str] = set()
        state = self.state()
        if state is None:
            return objects, manifests
        for sha in (state.manifest, state.previous):
            if not sha:
                continue
            manifests.add(sha)
            # A manifest parsed from bytes with this sha256 needs the same objects whatever
            # its file now holds: no need to read and hash it again (collect after a sync).
            with self._tlock:
                parsed = self._parsed.get(sha)
            try:
                objects |= (parsed or self._read_manifest(sha)).blobs()
            except (OSError, FeedError):
                continue
        return objects, manifests

    def collect(self, keep: Iterable[str] = (), *, blocking: bool = False) -> int:
        """Removes objects and manifests the current and previous versions do not need.

        Args:
            keep: more sha256 to keep (e.g. a version being prepared).
            blocking: wait for a running sync; by default a busy cache is skipped (0).

        Returns the number of bytes freed. Stale partial downloads (over a day old) go too.
        """
        try:
            with self.lock(blocking=blocking):
                return self._collect(set(keep))
        except StoreBusy:
            log.info("cache %s busy; garbage collection skipped", self.root)
            return 0

    def _collect(self, keep: set[str]) -> int:
        state = self.state()
        if state is None and not keep:
            return 0  # nothing current: refuse to empty a cache we cannot read
        objects, manifests = self._kept()
        objects |= keep
        freed = 0
        # Names, not paths: a Path per object (hundreds) cost more than the listing and
        # was enough garbage to start the interpreter's collector twice a sync.
        for name in _names(self.objects_dir):
            if name not in objects:
                self._known.pop(name, None)
                freed += _remove(self.objects_dir / name)
        for path in _listdir(self.manifests_dir):
            if path.name.split(".")[0] not in manifests:
                freed += _remove(path)
        # temp files of killed writers (.NAME.tmp-PID, import-PID-THREAD.part): not resumable
        from signage.leftovers import clean_temp_files  # a collection's: not a start's

        freed += clean_temp_files(self.root, self.manifests_dir, self.partial_dir)[1]
        cutoff = time.time() - PARTIAL_MAX_AGE_S
        for path in _listdir(self.partial_dir):
            with contextlib.suppress(FileNotFoundError):
                if path.stat().st_mtime < cutoff:
                    freed += _remove(path)
        if freed:
            log.info("cache %s: collected %d bytes", self.root, freed)
        return freed


def _size_at(folder_fd: int, name: str) -> int | None:
    """The size of the file ``name`` in the open folder, ``None`` if it is gone."""
    try:
        return os.stat(name, dir_fd=folder_fd).st_size
    except FileNotFoundError:
        return None


def _holds(path: Path, sha256: str) -> bool:
    """Whether the file at ``path`` exists and its bytes hash to ``sha256``."""
    try:
        return hash_file(path)[0] == sha256
    except OSError:
        return False


def _names(path: Path) -> list[str]:
    try:
        return os.listdir(path)  # noqa: PTH208 (names: no Path object per entry)
    except FileNotFoundError:
        return []


def _listdir(path: Path) -> list[Path]:
    try:
        return list(path.iterdir())
    except FileNotFoundError:
        return []


def _remove(path: Path) -> int:
    try:
        size = path.stat().st_size
        path.unlink()
    except FileNotFoundError:
        return 0
    return size
