"""The sync client: fetch a signed feed over HTTP, verify it, and switch the cache to it.

One ``sync_once``:

1. conditional GET of ``feed.json`` (If-None-Match / If-Modified-Since with the validators
   of the version in the cache); 304 -> ``unchanged``, one request, no asset bytes;
2. GET ``feed.json.sig`` and verify it against the pinned key BEFORE parsing the manifest.
   A ``SignatureError`` may be a publish landing between the two requests (the publisher
   renames the signature just before the manifest): both are fetched once more after a
   short pause, and only a second refusal rejects;
3. parse and check: format, paths, sizes, version strictly above the trusted one (replays
   are refused), not expired;
4. download each missing asset into ``partial/<sha256>.part`` while hashing it, capped at
   its announced size, its writeback started, then renamed into ``objects/``; a broken
   transfer is resumed with ``Range``; transient errors are retried with exponential
   backoff and jitter. The small assets first with requests written ahead on two
   connections (``Transport.pipelined``), then whatever is left on several download
   threads, each with its own keep-alive connection;
5. one flush of the cache's filesystem (``syncfs``), the atomic switch of the cache's
   current version, then garbage collection.

A hub's push channel may carry the signed pair of a new version (``offer_pushed``, from
``signage.hub.push.feed_event``): the next sync then starts at step 3 with it instead of
steps 1-2, verified and checked exactly the same way; a pair it refuses is dropped and the
sync fetches the manifest as above. Ten thousand screens then take an alert without
20,000 requests to the hub.

Outcomes: ``updated`` / ``unchanged``; ``rejected`` when the feed itself is refused (a
``FeedError``: bad signature, replay, expired, wrong hash, oversize, unsafe path, not JSON,
too big); ``failed`` when the server could not be reached or misbehaved (a
``TransportError``: 500, stall, reset). In every refusal the cache's current version is
untouched. HTTP is ``signage.feed.transport``'s one client; the classes of failure are
drawn in ``signage.feed.errors``; durable writes are ``signage.durable``'s.
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import random
import shutil
import threading
import time
from collections.abc import Callable
from concurrent.futures import ThreadPoolExecutor
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path
from typing import Any, Literal
from urllib.parse import urljoin, urlsplit

from signage.durable import flush_filesystem, prepare_flush, start_writeback, write_all
from signage.errors import FeedError
from signage.feed.errors import (
    ReadError,
    ResumeError,
    SignatureError,
    TooLargeError,
    TransportError,
)
from signage.feed.manifest import MAX_MANIFEST_BYTES, Manifest
from signage.feed.store import Store
from signage.feed.transport import Response, Timeouts, Transport, check_status, tls_context
from signage.feed.wire import Headers
from signage.i18n import N_, Msg, _

# Store.collect (after a switch) imports signage.leftovers where it runs, so a player's start
# does not; a sync has it loaded with its client: nothing is imported between requests.
from signage.leftovers import clean_temp_files  # noqa: F401
from signage.logs import area_logger

__all__ = [
    "Pushed",
    "RetryPolicy",
    "SyncClient",
    "SyncResult",
    "Timeouts",
    "asset_url",
    "manifest_url",
]

log = area_logger("feed")

Status = Literal["updated", "unchanged", "rejected", "failed"]
MAX_SIG_BYTES = 1024
DEFAULT_MAX_ASSET_BYTES = 4 << 30
# Asset bodies are read straight from the socket into one reused 1 MiB buffer per download
# thread (no bytes object per chunk; hashlib and os.write release the GIL on a buffer this
# big, so one thread hashes and writes while the other waits on its socket).
_READ = 1 << 20
# Writeback of a download is started every this many bytes (and at its end), so the flush
# before the switch finds the pages mostly on disk already instead of writing all of them.
_WRITEBACK_EVERY = 8 << 20
# Smaller tails are left to that flush: an I/O request per small file cost more than the
# flush saved (450 files of 10 kB: 533 ms with, 473 ms without).
_WRITEBACK_MIN = 64 << 10
_TIMEOUTS = Timeouts()
# Assets up to this size are asked for with requests written ahead on a few connections
# (``SyncClient.pipelining``); their time is the round trip, not the transfer. Larger ones
# keep a connection per download thread (transfers in parallel, resumable one by one).
PIPELINED_MAX_BYTES = 256 << 10
# Pipelined connections, each in a thread of its own: one per core of the boxes measured.
# The network needs one (tmpfs: 1 and 2 alike); the file creations behind it do not (on
# this VM's ext4 a create costs 0.3-0.8 ms of system time, and two threads overlap them:
# nginx at load 3-8, 1 lane 0.78-0.80x curl, 2 lanes 0.88-0.97x, 4 lanes 0.51-0.94x).
PIPELINED_LANES = 2


def manifest_url(feed_url: str) -> str:
    """The URL of ``feed.json`` for a feed folder URL (``http://h/``) or the file's own URL."""
    parts = urlsplit(feed_url)
    if parts.scheme not in ("http", "https") or not parts.netloc:
        raise FeedError(N_("{url} is not an http(s) URL of a feed"), url=repr(feed_url))
    if parts.path.endswith(".json"):
        return feed_url
    return feed_url.rstrip("/") + "/feed.json"


def asset_url(manifest: str, sha256: str) -> str:
    """Where a feed keeps the asset with this sha256: ``assets/<sha256>`` beside feed.json."""
    return urljoin(manifest, f"assets/{sha256}")


@dataclass(frozen=True, slots=True)
class Pushed:
    """A signed feed pair a push channel delivered (not yet verified).

    Args:
        version: the version the event announced.
        manifest: the exact bytes of ``feed.json``.
        signature: the text of ``feed.json.sig``.
        etag: the ``ETag`` the server gives ``feed.json`` (the next poll's validator).
    """

    version: int
    manifest: bytes
    signature: str
    etag: str | None = None


@dataclass(frozen=True, slots=True)
class SyncResult:
    """The outcome of one sync, as ``signage sync --json`` prints it.

    Args:
        version: the version now current (updated/unchanged) or the refused one, if known.
        repeated: the same refusal as the previous sync of this client (no new event).
    """

    status: Status
    version: int | None = None
    assets_downloaded: int = 0
    bytes_downloaded: int = 0
    reason: str = ""
    repeated: bool = False
    why: Msg | None = field(default=None, compare=False, repr=False)

    @property
    def ok(self) -> bool:
        return self.status in ("updated", "unchanged")

    def said(self) -> str:
        """``reason`` in the current language, for a person (``reason`` stays English)."""
        return self.why.said() if self.why is not None else _(self.reason)

    def to_json(self) -> dict[str, Any]:
        return {
            "status": self.status,
            "version": self.version,
            "assets_downloaded": self.assets_downloaded,
            "bytes_downloaded": self.bytes_downloaded,
            "reason": self.reason,
        }


@dataclass(frozen=True, slots=True)
class RetryPolicy:
    """Exponential backoff with jitter: attempt n waits ``base * 2**n`` (capped), ±50%."""

    attempts: int = 4
    base_s: float = 0.5
    max_s: float = 30.0

    def delay(self, attempt: int, rng: Callable[[], float]) -> float:
        raw = min(self.max_s, self.base_s * (2**attempt))
        return float(raw * (0.5 + rng()))


class _Failed(Exception):
    """A failure that retrying will not fix and that is not the network's (disk space)."""

    def __init__(self, text: Msg) -> None:
        self.text = text
        super().__init__(str(text))


@dataclass(slots=True)
class _Counters:
    assets: int = 0
    bytes: int = 0
    lock: threading.Lock = field(default_factory=threading.Lock)

    def add(self, nbytes: int, *, finished: bool) -> None:
        with self.lock:
            self.bytes += nbytes
            if finished:
                self.assets += 1


class SyncClient:
    """Keeps one cache in step with one signed feed.

    Args:
        feed_url: the feed folder (``http://h/``) or its ``feed.json``.
        store: the cache to update.
        pubkey_b64: the publisher's pinned public key.
        transport: the HTTP client (default: one with ``timeouts`` and the environment's
            proxies); its connections are closed at the end of every sync.
        ca_bundle: a PEM bundle of the certificates https is checked against (the system's
            plus ``ca_file``'s, from ``signage.trust.bundle_for``); ``None``: the system's.
        max_asset_bytes: larger announced assets are refused.
        workers: parallel asset downloads. Each waits mostly on its request's round trip
            and on the kernel (hashing and writes release the interpreter), so 4 hide the
            per-asset latency best on a 2-core box (A/B in bench/README.md).
        sleep, rng: injected for tests (backoff waits and jitter).
        own_validators: condition manifest requests on what THIS client last saw from its
            server, not on the cache's record (several clients share one cache, one per
            source: another server's ETag must not answer for this one).
        pipelining: fetch the small assets with requests written ahead on a few connections
            first (``Transport.pipelined``; what it does not bring goes the ordinary way).
    """

    def __init__(
        self,
        feed_url: str,
        store: Store,
        pubkey_b64: str,
        *,
        transport: Transport | None = None,
        timeouts: Timeouts = _TIMEOUTS,
        ca_bundle: str | None = None,
        max_asset_bytes: int = DEFAULT_MAX_ASSET_BYTES,
        retry: RetryPolicy = RetryPolicy(),
        workers: int = 4,
        sleep: Callable[[float], object] = time.sleep,
        rng: Callable[[], float] = random.random,
        own_validators: bool = False,
        pipelining: bool = True,
    ) -> None:
        from signage.feed.signing import load_public_key

        load_public_key(pubkey_b64)  # a bad pinned key is a configuration error, said now
        prepare_flush()  # once per process, not inside its first sync
        self.feed_url = feed_url
        self.manifest_url = manifest_url(feed_url)
        self._assets_url = asset_url(self.manifest_url, "")
        self.store = store
        self.pubkey_b64 = pubkey_b64
        self.transport = transport or Transport(timeouts, ssl_context=tls_context(ca_bundle))
        self.max_asset_bytes = max_asset_bytes
        self.retry = retry
        self.workers = max(1, workers)
        self.pipelining = pipelining
        self._sleep = sleep
        self._rng = rng
        self._rejected: tuple[str | None, str | None, str, int | None] | None = None
        self._rejected_why: Msg | None = None  # the last refusal, to say it again
        self._own: dict[str, str] | None = {} if own_validators else None
        # The server's last HTTP Date and the monotonic readings around it (signage.timebase).
        self.server_date: tuple[str | None, float, float] | None = None
        self._pushed: Pushed | None = None  # the newest pair a push delivered, not yet tried
        self._pushed_lock = threading.Lock()

    # ------------------------------------------------------------------ public

    def sync_once(self, now: datetime) -> SyncResult:
        """One sync; never raises for anything the network or the feed does."""
        counters = _Counters()
        if self.transport.aborted:
            return SyncResult("failed", None, reason="sync stopped", why=Msg(N_("sync stopped")))
        try:
            with self.store.lock():
                try:
                    return self._sync(now, counters)
                finally:
                    # No connection outlives a sync (polls are seconds apart; abort() needs
                    # none). Closed under the lock: a sync waiting for it has opened none.
                    self.transport.close()
        except FeedError as exc:
            return self._refused(_why(exc), None, counters)
        except (TransportError, _Failed) as exc:
            log.warning("feed %s: sync failed: %s", self.feed_url, exc)
            why = _why(exc)
            return SyncResult("failed", None, counters.assets, counters.bytes, str(why), why=why)
        except OSError as exc:
            why = Msg(N_("cache {path}: {error}"), path=self.store.root, error=exc.strerror or exc)
            log.error("feed %s: %s", self.feed_url, why)
            return SyncResult("failed", None, counters.assets, counters.bytes, str(why), why=why)
        except Exception as exc:  # a sync must never kill the player's sync thread
            log.exception("feed %s: unexpected error during sync", self.feed_url)
            why = Msg(N_("unexpected error: {name}"), name=type(exc).__name__)
            return SyncResult("failed", None, counters.assets, counters.bytes, str(why), why=why)

    def offer_pushed(self, pushed: Pushed) -> None:
        """Keeps a pair a push channel delivered for the next sync (the newest wins; any
        thread). That sync verifies it as it would a fetched pair and fetches instead when
        it is refused; a bigger manifest than a fetch may take is not kept."""
        if len(pushed.manifest) > MAX_MANIFEST_BYTES or len(pushed.signature) > MAX_SIG_BYTES:
            return
        with self._pushed_lock:
            if self._pushed is None or pushed.version > self._pushed.version:
                self._pushed = pushed

    def _take_pushed(self, trusted: int) -> Pushed | None:
        with self._pushed_lock:
            pushed, self._pushed = self._pushed, None
        return pushed if pushed is not None and pushed.version > trusted else None

    @property
    def timeouts(self) -> Timeouts:
        return self.transport.timeouts

    def close(self) -> None:
        self.transport.close()

    def abort(self) -> None:
        """Ends a sync running in another thread at once: its open transfers are cut and it
        retries nothing more. The cache keeps its current version; later syncs fail."""
        self.transport.abort()

    # ------------------------------------------------------------------ steps

    def _refused(
        self,
        why: Msg,
        version: int | None,
        counters: _Counters,
        validators: tuple[str | None, str | None] = (None, None),
    ) -> SyncResult:
        reason = str(why)
        repeated = self._rejected is not None and self._rejected[2] == reason
        self._rejected = (validators[0], validators[1], reason, version)
        self._rejected_why = why
        if not repeated:
            log.warning("feed %s: refused: %s", self.feed_url, reason)
        return SyncResult(
            "rejected", version, counters.assets, counters.bytes, reason, repeated, why=why
        )

    def _conditional_headers(self) -> dict[str, str]:
        if self._rejected is not None and (self._rejected[0] or self._rejected[1]):
            etag, modified = self._rejected[0], self._rejected[1]
        else:
            found = self.store.http_validators() if self._own is None else self._own
            etag, modified = found.get("etag"), found.get("last_modified")
        headers: dict[str, str] = {}
        if etag:
            headers["If-None-Match"] = etag
        if modified:
            headers["If-Modified-Since"] = modified
        return headers

    def _sync(self, now: datetime, counters: _Counters) -> SyncResult:
        state = self.store.state()
        pushed = self._take_pushed(state.version if state is not None else 0)
        if pushed is not None:
            try:
                manifest = self.store.check(
                    pushed.manifest, pushed.signature, pubkey_b64=self.pubkey_b64, now=now
                )
            except FeedError as exc:
                log.info(
                    "feed %s: pushed version %d refused (%s); fetching the manifest",
                    self.feed_url,
                    pushed.version,
                    _why(exc),
                )
            else:
                pair = (pushed.manifest, pushed.signature)
                return self._take(now, manifest, pair, (pushed.etag, None), counters)
        conditional = self._conditional_headers()
        if state is not None and conditional and self._rejected is None:
            damage = self.store.verify(deep=False)
            if damage:
                # Fetch the manifest in full so the sync can restore what the cache lost.
                log.warning(
                    "cache %s damaged (%s); repairing from the feed", self.store.root, damage[0]
                )
                conditional = {}
        status, body, headers = self._fetch(
            self.manifest_url, conditional, MAX_MANIFEST_BYTES, Msg(N_("manifest"))
        )
        if status == 304:
            if self._rejected is not None:
                _, _, reason, version = self._rejected
                return SyncResult(
                    "rejected", version, 0, 0, reason, repeated=True, why=self._rejected_why
                )
            return SyncResult("unchanged", state.version if state else None)
        validators = (headers.get("ETag"), headers.get("Last-Modified"))
        sig = self._fetch_sig()
        try:
            manifest = self.store.check(body, sig, pubkey_b64=self.pubkey_b64, now=now)
        except SignatureError:
            # Perhaps a publish landed between our two requests: fetch both once more.
            self._sleep(0.3)
            _, body, headers = self._fetch(
                self.manifest_url, {}, MAX_MANIFEST_BYTES, Msg(N_("manifest"))
            )
            validators = (headers.get("ETag"), headers.get("Last-Modified"))
            sig = self._fetch_sig()
            try:
                manifest = self.store.check(body, sig, pubkey_b64=self.pubkey_b64, now=now)
            except FeedError as again:
                return self._refused(_why(again), _peek_version(body), counters, validators)
        except FeedError as exc:
            return self._refused(_why(exc), _peek_version(body), counters, validators)
        return self._take(now, manifest, (body, sig), validators, counters)

    def _take(
        self,
        now: datetime,
        manifest: Manifest,
        pair: tuple[bytes, str],
        validators: tuple[str | None, str | None],
        counters: _Counters,
    ) -> SyncResult:
        """Steps 4-5 for a verified manifest: its assets, the switch, the collection."""
        body, sig = pair
        state = self.store.state()
        for path, entry in manifest.assets.items():
            if entry.size > self.max_asset_bytes:
                return self._refused(
                    Msg(
                        N_("asset {path} announces {size} bytes, over the {limit} allowed"),
                        path=repr(path),
                        size=entry.size,
                        limit=self.max_asset_bytes,
                    ),
                    manifest.version,
                    counters,
                    validators,
                )
        try:
            self._download_missing(manifest, counters)
        except FeedError as exc:
            return self._refused(_why(exc), manifest.version, counters, validators)
        already = state is not None and state.manifest == manifest.sha256
        # One flush of the cache's filesystem before the switch (inside apply, once the
        # manifest and signature are written too), instead of an fsync per file (a journal
        # commit each: it halved throughput) and four more for the manifest, its signature
        # and their folders. Each large download already started its own writeback, so
        # this mostly waits for the last pages. A power cut before the switch leaves objects
        # of a version that never became current; their sizes are checked before any
        # version uses them and a damaged cache is repaired from the feed.
        self.store.apply(body, sig, pubkey_b64=self.pubkey_b64, now=now, flush=flush_filesystem)
        if self._own is None:
            self.store.save_http_validators(manifest.sha256, *validators)
        else:
            etag, modified = validators
            self._own = {k: v for k, v in (("etag", etag), ("last_modified", modified)) if v}
        self._rejected = None
        self.store.collect(blocking=True)
        if already:
            return SyncResult("unchanged", manifest.version, counters.assets, counters.bytes)
        log.info(
            "feed %s: version %d applied (%d assets, %d bytes downloaded)",
            self.feed_url,
            manifest.version,
            counters.assets,
            counters.bytes,
        )
        return SyncResult("updated", manifest.version, counters.assets, counters.bytes)

    def _fetch_sig(self) -> str:
        status, body, _ = self._fetch(
            self.manifest_url + ".sig", {}, MAX_SIG_BYTES, Msg(N_("signature")), allow_404=True
        )
        if status == 404:
            raise SignatureError(N_("the feed has no signature (feed.json.sig not found)"))
        try:
            return body.decode("ascii")
        except UnicodeDecodeError:
            raise SignatureError(N_("the signature file is not base64 text")) from None

    # ------------------------------------------------------------------ HTTP

    def _backoff(self, attempt: int, what: str | Msg, exc: TransportError) -> None:
        """Waits before the next attempt, or gives up (aborted, attempts used, or a failure
        retrying cannot fix) by raising a ``TransportError`` that names what was fetched."""
        if self.transport.aborted:
            raise TransportError(N_("sync stopped"), url=exc.url) from None
        if not exc.transient:
            raise exc
        if attempt + 1 >= self.retry.attempts:
            raise TransportError(N_("{what}: {error}"), url=exc.url, what=what, error=exc) from exc
        delay = self.retry.delay(attempt, self._rng)
        log.info("%s: %s; retrying in %.1f s", what, exc, delay)
        self._sleep(delay)

    def _fetch(
        self,
        url: str,
        headers: dict[str, str],
        cap: int,
        what: str | Msg,
        *,
        allow_404: bool = False,
    ) -> tuple[int, bytes, Headers]:
        """GET a small document, capped at ``cap`` bytes, retrying transient failures."""
        for attempt in range(self.retry.attempts):
            try:
                sent = time.monotonic()
                resp = self.transport.get(url, headers)
                self.server_date = (resp.headers.get("Date"), sent, time.monotonic())
                try:
                    if resp.status == 304 or (allow_404 and resp.status == 404):
                        return resp.status, b"", resp.headers
                    check_status(resp.status, resp.reason, what, url)
                    return resp.status, resp.read_capped(cap, what), resp.headers
                finally:
                    resp.close(reuse=True)  # kept only if the body was read whole
            except TransportError as exc:
                self._backoff(attempt, Msg(N_("{what} {url}"), what=what, url=url), exc)
        raise AssertionError("unreachable")  # pragma: no cover

    def _download_missing(self, manifest: Manifest, counters: _Counters) -> None:
        missing = self.store.missing_blobs(manifest)
        if not missing:
            return
        self.store.ensure_dirs()
        need = sum(missing.values())
        free = shutil.disk_usage(self.store.root).free
        if need > free:
            raise _Failed(
                Msg(
                    N_("not enough disk space: {need} bytes needed, {free} free"),
                    need=need,
                    free=free,
                )
            )
        # Partial files left by a broken sync, listed once: a stat per asset of files that
        # mostly do not exist waited on the other workers' file creations in that folder.
        partials = frozenset(p.name for p in self.store.partial_dir.iterdir())
        if self.pipelining:
            missing = self._download_pipelined(missing, partials, counters)
            if not missing:
                return
        if self.workers == 1 or len(missing) == 1:
            for sha, size in missing.items():
                self._download(partials, sha, size, counters)
            return
        # Largest first: the long transfers start early and the tail stays short. Each
        # worker takes the next asset from one shared iterator (a future per asset cost two
        # thread hand-offs each: ~6 % of the samples of a sync of 450 small files).
        order = iter(sorted(missing.items(), key=lambda kv: -kv[1]))
        take = threading.Lock()

        def work() -> None:
            while True:
                with take:
                    item = next(order, None)
                if item is None:
                    return
                self._download(partials, item[0], item[1], counters)

        with ThreadPoolExecutor(self.workers, thread_name_prefix="feed-asset") as pool:
            futures = [pool.submit(work) for _ in range(min(self.workers, len(missing)))]
            errors = [exc for f in futures if (exc := f.exception()) is not None]
        # A refusal of the feed wins over a network failure in another asset.
        for exc in errors:
            if isinstance(exc, FeedError):
                raise exc
        if errors:
            raise errors[0]

    def _download_pipelined(
        self, missing: dict[str, int], partials: frozenset[str], counters: _Counters
    ) -> dict[str, int]:
        """Fetches the small assets with no partial file over ``PIPELINED_LANES``
        connections, requests written ahead (``Transport.pipelined``); returns the assets
        left to fetch the ordinary way (the large ones, the resumed ones, and whatever the
        pipelining did not bring: it stops at the first thing that is not a whole 200
        answer, and the ordinary path then retries, resumes, follows redirects and names
        the failure as before).

        Per small asset, a request written ahead instead of a round trip on one of 4
        threads: no waits between requests, fewer hand-offs of the interpreter between
        threads (bench/README.md, "issue 17, third pass")."""
        small = [
            (sha, size)
            for sha, size in missing.items()
            if size <= PIPELINED_MAX_BYTES and f"{sha}.part" not in partials
        ]
        if len(small) < 2:
            return missing
        count = min(PIPELINED_LANES, self.workers, len(small) // 2)
        lanes = [small[i::count] for i in range(count)]
        # The first lane in this thread: a thread fewer to start, and starting one waits
        # for it to run (the GIL), which held the second lane back by up to a few ms.
        with ThreadPoolExecutor(max(1, count - 1), thread_name_prefix="feed-lane") as pool:
            futures = [pool.submit(self._pipeline_lane, lane, counters) for lane in lanes[1:]]
            done = self._pipeline_lane(lanes[0], counters)
            done += [sha for f in futures for sha in f.result()]
        left = dict(missing)
        for sha in done:
            del left[sha]
        return left

    def _pipeline_lane(self, small: list[tuple[str, int]], counters: _Counters) -> list[str]:
        """The assets of ``small`` one pipelined connection brought (see above)."""
        done: list[str] = []
        urls = [self._assets_url + sha for sha, _ in small]
        # Paths as text: a Path per asset and its conversions back were ~4 us an asset.
        folder = os.fspath(self.store.partial_dir) + os.sep
        answers = self.transport.pipelined(urls)
        try:
            for i, resp in answers:
                sha, size = small[i]  # hex names (checked when the manifest was parsed)
                try:
                    self._store_body(resp, urls[i], sha, f"{folder}{sha}.part", 0, size, counters)
                except (TransportError, FeedError) as exc:
                    # Fetched again the ordinary way: a refusal is said from there.
                    log.info("feed %s: pipelined requests stopped: %s", self.feed_url, exc)
                    break
                done.append(sha)
        finally:
            answers.close()
        return done

    def _download(self, partials: frozenset[str], sha: str, size: int, counters: _Counters) -> None:
        """Fetches one asset into the store, resuming a partial file with Range."""
        url = self._assets_url + sha  # == asset_url(self.manifest_url, sha); sha is hex
        part = self.store.partial_path(sha)
        restarted = False
        for attempt in range(self.retry.attempts):
            try:
                have = part.stat().st_size if attempt or part.name in partials else 0
            except FileNotFoundError:
                have = 0
            if have > size:
                part.unlink()
                have = 0
            if have == size:
                digest = _hash_prefix(part)
                try:
                    self.store.commit_partial(sha, digest, part, size=size)
                except FeedError:
                    if restarted:
                        raise
                    restarted = True  # a stale partial from an older run: start over once
                    continue
                counters.add(0, finished=True)
                return
            headers = {"Range": f"bytes={have}-"} if have else {}
            try:
                self._stream_into(url, sha, part, have, size, headers, counters)
                return
            except FeedError:
                if not have or restarted:
                    raise
                # The resumed prefix on disk was not what the server sends (a partial file
                # damaged by a power cut?): drop it and fetch the whole asset once more.
                restarted = True
                part.unlink(missing_ok=True)
            except TransportError as exc:
                self._backoff(attempt, Msg(N_("asset {sha}…"), sha=sha[:12]), exc)
        raise TransportError(
            N_("asset {sha}…: incomplete after {attempts} attempts"),
            url=url,
            sha=sha[:12],
            attempts=self.retry.attempts,
        )

    def _stream_into(  # noqa: PLR0917 (private helper, called once)
        self,
        url: str,
        sha: str,
        part: Path,
        have: int,
        size: int,
        headers: dict[str, str],
        counters: _Counters,
    ) -> None:
        self._store_body(self.transport.get(url, headers), url, sha, part, have, size, counters)

    def _store_body(  # noqa: PLR0917 (private helper)
        self,
        resp: Response,
        url: str,
        sha: str,
        part: str | Path,
        have: int,
        size: int,
        counters: _Counters,
    ) -> None:
        """Streams an asset's response into ``part`` (after ``have`` bytes already there),
        hashing it, never past ``size``, then moves it into ``objects/`` as ``sha``."""
        finished = False
        try:
            if resp.status == 416 and have:
                _unlink(part)
                raise ResumeError(N_("server refused the resume range; starting over"), url=url)
            check_status(resp.status, resp.reason, Msg(N_("asset {url}"), url=url), url)
            if resp.status == 206 and have:
                start = _content_range_start(resp.header("Content-Range") or "")
                if start != have:
                    _unlink(part)
                    raise ResumeError(
                        N_("server resumed at the wrong offset; starting over"), url=url
                    )
            elif have:
                have = 0  # the server ignored Range: take the whole body from the start
            announced = resp.header("Content-Length")
            if announced and announced.isdigit() and have + int(announced) > size:
                raise TooLargeError(
                    N_("{what} is {size} bytes, the manifest announced {limit}"),
                    what=Msg(N_("asset {sha}…"), sha=sha[:12]),
                    size=have + int(announced),
                    limit=size,
                )
            digest = hashlib.sha256()
            if have:
                _hash_into(digest, part, have)
            received = have
            view = _read_buffer()
            flags = os.O_WRONLY | os.O_CREAT | os.O_CLOEXEC | (0 if have else os.O_TRUNC)
            fd = os.open(part, flags, 0o644)
            try:
                if have:
                    os.ftruncate(fd, have)
                    os.lseek(fd, have, os.SEEK_SET)
                kicked = have
                while True:
                    # Never more than one byte past the announced size: that byte refuses it.
                    n = resp.readinto(view[: min(_READ, size - received + 1)])
                    if not n:
                        break
                    received += n
                    if received > size:
                        raise TooLargeError(
                            N_("{what} is larger than the {limit} bytes the manifest announced"),
                            what=Msg(N_("asset {sha}…"), sha=sha[:12]),
                            size=None,
                            limit=size,
                        )
                    chunk = view[:n]
                    digest.update(chunk)
                    write_all(fd, chunk)
                    counters.add(n, finished=False)
                    if received - kicked >= _WRITEBACK_EVERY:
                        start_writeback(fd, kicked, received - kicked)
                        kicked = received
                if received - kicked >= _WRITEBACK_MIN:
                    start_writeback(fd, kicked, received - kicked)
            finally:
                os.close(fd)  # made durable in one flush before the switch (_sync)
            if received < size:
                raise ReadError(
                    N_("connection closed after {received} of {size} bytes"),
                    url=url,
                    received=received,
                    size=size,
                )
            finished = True
        finally:
            resp.close(reuse=finished)  # keep-alive only after a whole body
        self.store.commit_partial(sha, digest.hexdigest(), part, size=received)
        counters.add(0, finished=True)


_local = threading.local()


def _read_buffer() -> memoryview:
    """This thread's reused read buffer (each download thread reads one asset at a time)."""
    view: memoryview | None = getattr(_local, "view", None)
    if view is None:
        view = _local.view = memoryview(bytearray(_READ))
    return view


def _unlink(path: str | Path) -> None:
    with contextlib.suppress(FileNotFoundError):
        os.unlink(path)  # noqa: PTH108 (a path as text, see _pipeline_lane)


def _hash_into(digest: hashlib._Hash, path: str | Path, length: int) -> None:
    """Feeds the first ``length`` bytes of ``path`` (a resumed partial file) to ``digest``."""
    left = length
    with open(path, "rb") as fh:  # noqa: PTH123 (path may be text)
        while left and (chunk := fh.read(min(_READ, left))):
            digest.update(chunk)
            left -= len(chunk)


def _hash_prefix(path: Path) -> str:
    digest = hashlib.sha256()
    with path.open("rb") as fh:
        while chunk := fh.read(_READ):
            digest.update(chunk)
    return digest.hexdigest()


def _content_range_start(value: str) -> int | None:
    # "bytes 100-199/200"
    try:
        unit, _, rest = value.partition(" ")
        if unit != "bytes":
            return None
        return int(rest.split("-", 1)[0])
    except ValueError:
        return None


def _why(exc: Exception) -> Msg:
    """The exception's message as a ``Msg`` (English by ``str()``, said in the person's)."""
    text = getattr(exc, "text", None)
    return text if isinstance(text, Msg) else Msg(str(exc))


def _peek_version(body: bytes) -> int | None:
    """The version a refused manifest claims, for the ``feed_rejected`` event (untrusted)."""
    import json

    try:
        value = json.loads(body).get("version")
    except (ValueError, AttributeError, RecursionError):
        return None
    return value if isinstance(value, int) and not isinstance(value, bool) else None
