"""The hub's state: its configuration, the feed it serves, its database and its publisher.

One ``Hub`` per ``signage serve`` process. Route modules (feed, alerts, telemetry, scans)
receive it and use its public names:

- ``hub.config``: the ``HubConfig`` (folders, host, port, public URL, token).
- ``hub.db()``: this thread's SQLite connection to ``DATA/hub.sqlite3`` (WAL mode). Areas
  create their tables with ``hub.schema("CREATE TABLE IF NOT EXISTS ...")``.
- ``hub.push``: the ``Broadcaster`` of the push channel.
- ``hub.snapshot()`` / ``hub.current_version()``: the feed being served right now.
- ``hub.republish(reason)``: signs and serves a new version carrying the hub's current
  alerts (from ``hub.alerts_provider``), announces it, returns its number.
- ``hub.refresh_if_due()``: re-signs the served feed (same content, fresh expiry) once it
  has used up half its lifetime; the app calls it every ``config.refresh_check_s``.
- ``hub.on_publish(callback)``: called with each new ``FeedSnapshot`` the hub serves.
- ``hub.require_token(request)``: the guard of every admin write endpoint (admin token).
- ``hub.require_screen_token(request)``: the guard of the screens' own write endpoints
  (heartbeat, proof-of-play): the screen token or the admin token.

Two modes. With a content root (``--root``) the hub publishes the root into
``config.feed_dir`` and republishes on every saved change; alerts go into that publish.
With a feed folder published elsewhere (``--feed``) the hub serves it as it is, and only
when it must add alerts does it re-sign a copy of the upstream manifest (alerts merged,
version above both) into ``DATA/hub-feed/``; the upstream folder is never written.

A saved change that leaves the content the same (a file no playlist names, a player's
cache inside the root) publishes nothing: screens only sync when what they show changes.
A hub left alone keeps its feed from expiring by re-signing it half-way through its
lifetime (a hub without a key warns instead, once, when the feed nears its expiry).
"""

from __future__ import annotations

import hashlib
import json
import logging
import os
import sqlite3
import threading
import time
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from signage.errors import FeedError, SignageError, ValidationError
from signage.hub.auth import check_bearer, check_screen_bearer
from signage.hub.push import KEEPALIVE_S, Broadcaster
from signage.leftovers import clean_temp_files
from signage.model import Alert

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from starlette.requests import Request

log = logging.getLogger("signage.hub")

AlertsProvider = Callable[[datetime], Sequence[Alert]]
PublishListener = Callable[["FeedSnapshot"], None]

MANIFEST_NAME = "feed.json"
SIGNATURE_NAME = "feed.json.sig"
OVERLAY_DIR_NAME = "hub-feed"
UPSTREAM_BASE_NAME = "upstream.sha256"
DB_NAME = "hub.sqlite3"
MAX_MANIFEST_BYTES = 16 * 1024 * 1024


def utc_now() -> datetime:
    """The current time, timezone-aware UTC (the hub's default clock)."""
    return datetime.now(UTC)


class RepublishError(SignageError):
    """Raised when the hub cannot sign a new version (no key, nothing published yet, I/O)."""


@dataclass(frozen=True, slots=True, kw_only=True)
class HubConfig:
    """How one hub runs. Built by ``signage serve`` from its flags.

    Args:
        root: the live content root (``--root``), or ``None`` when serving ``--feed``.
        feed_dir: the published feed folder served (written by the hub in root mode).
        data_dir: the hub's own state: SQLite database, generated key, alerts, overlay feed.
        key_path: the signing key file, when one was given or generated.
        token: the admin bearer token write endpoints require (``None``: writes disabled).
        screen_token: the token screens hold (``--screen-token-file``): accepted only by
            heartbeats and proof-of-play batches, beside ``token``. ``None``: those accept
            ``token`` only (or anything when the hub has no token at all).
        host, port: where the hub listens (``port`` is the bound port, never 0).
        public_url: the base URL screens and phones use (``/q/`` links); ``base_url``
            falls back to ``http://host:port``.
        keepalive_s: silence after which the push channel sends a comment line.
        max_subscribers: open push channels beyond this are refused (503), so a flood of
            connections cannot exhaust the hub's file descriptors.
        debounce_s: quiet time after a change under the root before republishing.
        expires_in: lifetime of each published manifest.
        refresh_check_s: how often the hub checks whether the served manifest has used up
            ``refresh_fraction`` of its lifetime and re-signs it (fresh expiry, same content).
        refresh_fraction: that share of the lifetime (0 < f < 1).
        asset_grace_s: root mode: an asset file neither the current nor the previous
            version names is deleted once it is at least this old (the feed folder would
            otherwise grow with every edited image for as long as the hub runs).
    """

    feed_dir: Path
    data_dir: Path
    root: Path | None = None
    key_path: Path | None = None
    token: str | None = field(default=None, repr=False)
    screen_token: str | None = field(default=None, repr=False)
    host: str = "127.0.0.1"
    port: int = 8750
    public_url: str | None = None
    keepalive_s: float = KEEPALIVE_S
    max_subscribers: int = 10_000
    debounce_s: float = 0.05
    expires_in: timedelta = timedelta(days=7)
    asset_grace_s: float = 3600.0
    refresh_check_s: float = 600.0
    refresh_fraction: float = 0.5

    @property
    def base_url(self) -> str:
        """``public_url`` without a trailing slash, else ``http://host:port``."""
        if self.public_url:
            return self.public_url.rstrip("/")
        host = f"[{self.host}]" if ":" in self.host else self.host
        return f"http://{host}:{self.port}"

    @property
    def overlay_dir(self) -> Path:
        """Where a ``--feed`` hub writes the manifests it re-signs with alerts."""
        return self.data_dir / OVERLAY_DIR_NAME


@dataclass(frozen=True, slots=True)
class FeedSnapshot:
    """One consistent manifest + signature pair as served, with what the routes need.

    Args:
        version: the manifest's ``version`` (0 when nothing is published yet).
        manifest: the exact bytes of ``feed.json`` (empty when nothing is published).
        signature: the exact bytes of ``feed.json.sig``, or ``None`` for an unsigned feed.
        media_types: asset sha256 -> media type, from the manifest.
        assets_dir: the folder holding ``<sha256>`` asset files.
        modified: when this manifest was written (epoch seconds, for ``Last-Modified``).
    """

    version: int
    manifest: bytes
    signature: bytes | None
    assets_dir: Path
    media_types: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    modified: float = 0.0

    @property
    def manifest_etag(self) -> str:
        """Strong ETag of the manifest: the quoted sha256 of its bytes."""
        return _etag(self.manifest)

    @property
    def signature_etag(self) -> str | None:
        """Strong ETag of the signature, ``None`` when unsigned."""
        return None if self.signature is None else _etag(self.signature)

    @property
    def published(self) -> bool:
        return bool(self.manifest)


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


def _etag(data: bytes) -> str:
    return '"' + _sha256(data) + '"'


def _manifest_doc(data: bytes, where: Path) -> dict[str, Any]:
    try:
        doc = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise RepublishError(f"{where}: not JSON ({exc})") from None
    if not isinstance(doc, dict):
        raise RepublishError(f"{where}: a manifest is a JSON object")
    version = doc.get("version")
    if not isinstance(version, int) or isinstance(version, bool) or version < 0:
        raise RepublishError(f"{where}: 'version' must be a non-negative integer")
    return doc


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


def _is_sha256(name: str) -> bool:
    return len(name) == 64 and all(c in "0123456789abcdef" for c in name)


def _asset_hashes(manifest: bytes) -> frozenset[str]:
    """Every sha256 a manifest's ``assets`` table names (empty for no or bad manifest)."""
    if not manifest:
        return frozenset()
    try:
        doc = json.loads(manifest)
    except ValueError:
        return frozenset()
    assets = doc.get("assets") if isinstance(doc, dict) else None
    entries = assets.values() if isinstance(assets, dict) else assets or []
    return frozenset(
        e["sha256"] for e in entries if isinstance(e, dict) and isinstance(e.get("sha256"), str)
    )


def atomic_write(path: Path, data: bytes) -> None:
    """Writes ``data`` to ``path`` through a temp file, fsync and rename (readers never
    see a partial file)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}-{threading.get_ident()}")
    with tmp.open("wb") as fh:
        fh.write(data)
        fh.flush()
        os.fsync(fh.fileno())
    tmp.replace(path)
    dir_fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(dir_fd)
    finally:
        os.close(dir_fd)


class Hub:
    """The running hub: the feed it serves, its push channel, database and publisher.

    Args:
        config: how it runs.
        key: the Ed25519 key it signs with (``None``: it can serve but never republish).
        clock: the source of ``now`` for publishing (tests inject a fixed clock).
    """

    def __init__(
        self,
        config: HubConfig,
        *,
        key: Ed25519PrivateKey | None = None,
        clock: Callable[[], datetime] = utc_now,
    ) -> None:
        self.config = config
        self.push = Broadcaster(config.keepalive_s)
        self.alerts_provider: AlertsProvider | None = None
        self.last_error: str | None = None
        self._key = key
        self._public_key: str | None = None
        self._clock = clock
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._db_lock = threading.Lock()
        self._publish_lock = threading.RLock()
        self._listeners: list[PublishListener] = []
        self._snapshot = FeedSnapshot(0, b"", None, config.feed_dir / "assets")
        self._resigned = False  # --feed mode: the hub has served its own re-signed manifest
        self._upstream_seen = b""
        self._expiry_warned: bytes = b""  # the manifest whose nearing expiry was logged

    # ----------------------------------------------------------------- reading state

    def snapshot(self) -> FeedSnapshot:
        """The manifest and signature being served right now (one consistent pair)."""
        return self._snapshot

    def current_version(self) -> int:
        """The version being served, 0 when nothing is published yet."""
        return self._snapshot.version

    @property
    def can_sign(self) -> bool:
        """Whether this hub holds a key and can publish new versions itself."""
        return self._key is not None

    def public_key(self) -> str | None:
        """The base64 public key screens pin, ``None`` when the hub holds no key."""
        if self._key is None:
            return None
        if self._public_key is None:
            from signage.feed.signing import public_key_b64

            self._public_key = public_key_b64(self._key)
        return self._public_key

    def now(self) -> datetime:
        """The hub clock."""
        return self._clock()

    # ----------------------------------------------------------------------- hooks

    def on_publish(self, listener: PublishListener) -> None:
        """Calls ``listener(snapshot)`` for each new version served, and at once for the
        current one if there is one. Called on the publishing thread: keep it short."""
        self._listeners.append(listener)
        snap = self._snapshot
        if snap.published:
            self._notify(listener, snap)

    def require_token(self, request: Request) -> None:
        """Refuses ``request`` (401/403 ``HTTPException``, JSON by the app's handler)
        unless it carries the hub's admin bearer token (the screen token gets a 403)."""
        check_bearer(request, self.config.token, self.config.screen_token)

    def require_screen_token(self, request: Request) -> None:
        """Refuses ``request`` (401 ``HTTPException``) unless it carries the screen token or
        the admin token; a hub with neither accepts it (see ``check_screen_bearer``)."""
        check_screen_bearer(request, self.config.token, self.config.screen_token)

    # -------------------------------------------------------------------- database

    def db(self) -> sqlite3.Connection:
        """This thread's connection to the hub database (WAL mode, 5 s busy timeout)."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            self.config.data_dir.mkdir(parents=True, exist_ok=True)
            conn = sqlite3.connect(
                self.config.data_dir / DB_NAME, timeout=5.0, check_same_thread=False
            )
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
            self._local.conn = conn
            with self._db_lock:
                self._connections.append(conn)
        return conn

    def schema(self, sql: str) -> None:
        """Runs an area's ``CREATE TABLE IF NOT EXISTS ...`` script (idempotent)."""
        conn = self.db()
        conn.executescript(sql)
        conn.commit()

    def close(self) -> None:
        """Closes every database connection this hub opened (at shutdown)."""
        with self._db_lock:
            conns, self._connections = self._connections, []
        for conn in conns:
            try:
                conn.close()
            except sqlite3.Error:  # a connection still busy on another thread
                log.debug("database connection could not be closed", exc_info=True)
        self._local = threading.local()

    # ------------------------------------------------------------------ publishing

    def load(self) -> FeedSnapshot:
        """Reads the feed from disk and serves it if it is newer (announcing it).

        In ``--feed`` mode the hub's own re-signed manifest wins while its version is
        higher than upstream's. Raises ``RepublishError`` when what is on disk is unusable.
        """
        with self._publish_lock:
            upstream = self._read_feed(self.config.feed_dir)
            best = upstream
            overlay = self._overlay_snapshot()
            if overlay is not None and overlay.version >= best.version:
                # On a tie the hub's copy wins: screens that took it would refuse an
                # upstream manifest with the same number; upstream_changed() re-signs it.
                best = overlay
            if self.config.root is None and (
                overlay is None or self._overlay_base() == _sha256(upstream.manifest)
            ):
                # Nothing upstream that the hub has not seen: the start-up check is a no-op.
                # Otherwise upstream was published while the hub was down, under the hub's
                # own re-signed version, and the first upstream_changed() re-signs it.
                self._upstream_seen = upstream.manifest
            self._serve(best)
            return self._snapshot

    def publish_root(self, reason: str, *, skip_unchanged: bool = False) -> int:
        """Publishes the content root (root mode); returns the version served.

        ``skip_unchanged``: when the feed already carries exactly this content (a saved
        file that no playlist names), nothing is written or announced and the current
        version is returned. Raises ``ValidationError`` when the root is invalid (the last
        good feed keeps being served) and ``RepublishError`` when the hub has no key or
        no root."""
        root = self.config.root
        if root is None:
            raise RepublishError("this hub serves a feed folder (--feed); it has no root")
        key = self._require_key()
        from signage.feed.publish import publish

        with self._publish_lock:
            now = self._clock()
            alerts = None if self.alerts_provider is None else tuple(self.alerts_provider(now))
            try:
                result = publish(
                    root,
                    self.config.feed_dir,
                    key,
                    now=now,
                    expires_in=self.config.expires_in,
                    alerts=alerts,
                    skip_unchanged=skip_unchanged,
                )
            except ValidationError as exc:
                first = str(exc.problems[0]) if exc.problems else str(root)
                more = f" (and {len(exc.problems) - 1} more)" if len(exc.problems) > 1 else ""
                self.last_error = f"{reason}: {first}{more}"
                raise
            except FeedError as exc:
                self.last_error = f"{reason}: {exc.reason}"
                raise RepublishError(f"{reason}: {exc.reason}") from exc
            self.last_error = None
            previous = self._snapshot
            if not result.changed and previous.version == result.version:
                log.debug("%s: content unchanged, still serving %d", reason, result.version)
                return previous.version
            snap = self.load()
            log.info("published version %d (%s)", snap.version, reason)
            self._prune_assets(previous, snap)
            return snap.version

    def republish(self, reason: str) -> int:
        """Signs and serves a new version carrying the hub's current alerts; returns it.

        Root mode: publishes the root; if the root is invalid right now (an edit half
        done) the last good manifest is re-signed with the alerts instead, so an alert
        never waits for a playlist fix. Feed mode: re-signs the upstream manifest with the
        alerts merged. Raises ``RepublishError`` when the hub holds no key or has nothing
        to re-sign.
        """
        self._require_key()
        with self._publish_lock:
            if self.config.root is not None:
                try:
                    return self.publish_root(reason)
                except ValidationError as exc:
                    log.warning(
                        "%s: the content root is invalid (%d problem(s)); re-signing the "
                        "last good feed with the current alerts instead",
                        reason,
                        len(exc.problems),
                    )
                    base = self._snapshot
                    if not base.published:
                        raise RepublishError(
                            f"{reason}: nothing to re-sign: the content root is invalid and "
                            "no good feed was published yet"
                        ) from exc
                    return self._resign(base.manifest, reason, merge_upstream_alerts=False)
            upstream = self._read_feed(self.config.feed_dir)
            if not upstream.published:
                raise RepublishError(
                    f"{reason}: nothing to re-sign: {self.config.feed_dir} holds no feed.json"
                )
            return self._resign(upstream.manifest, reason, merge_upstream_alerts=True)

    def upstream_changed(self) -> None:
        """``--feed`` mode: the folder may have been published again. Serves the new
        upstream version, re-signed with the hub's alerts when there are any, or when the
        hub has re-signed before and upstream's number is not above the one served (so the
        version screens see never goes down)."""
        with self._publish_lock:
            upstream = self._read_feed(self.config.feed_dir)
            if not upstream.published or upstream.manifest == self._upstream_seen:
                return
            self._upstream_seen = upstream.manifest
            current = self._snapshot
            if upstream.manifest == current.manifest:
                return  # already serving exactly this
            behind = current.published and upstream.version <= current.version
            if self._key is not None and (self._provider_alerts() or behind):
                self._resign(upstream.manifest, "feed folder changed", merge_upstream_alerts=True)
                return
            if behind:
                log.warning(
                    "%s: version %d is not above the served %d and the hub cannot re-sign it "
                    "(no --key); still serving %d",
                    self.config.feed_dir,
                    upstream.version,
                    current.version,
                    current.version,
                )
                return
            self._serve(upstream)

    def refresh_if_due(self) -> int | None:
        """Keeps the served feed from expiring while nothing else publishes.

        Once the served manifest has used up ``config.refresh_fraction`` of its lifetime,
        a hub with a key signs the same content again as a new version with a fresh
        expiry and returns it. A hub without a key cannot; it logs a warning once per
        manifest when that manifest is within a day (or half its lifetime, if shorter)
        of expiring, and returns ``None`` as it does when nothing is due.
        """
        from signage.feed.codec import format_time
        from signage.feed.manifest import parse_manifest
        from signage.feed.publish import refresh_due

        with self._publish_lock:
            snap = self._snapshot
            if not snap.published:
                return None
            try:
                served = parse_manifest(snap.manifest, None)
            except FeedError as exc:
                log.debug("cannot read the served manifest's lifetime: %s", exc)
                return None
            now = self._clock()
            if not refresh_due(served.published, served.expires, now, self.config.refresh_fraction):
                return None
            if self._key is None:
                self._warn_expiring(snap.manifest, served.published, served.expires, now)
                return None
            return self.republish(
                f"version {served.version} expires {format_time(served.expires)}; "
                "signed again with a fresh expiry"
            )

    # ------------------------------------------------------------------- internals

    def _warn_expiring(
        self, manifest: bytes, published: datetime, expires: datetime, now: datetime
    ) -> None:
        from signage.feed.codec import format_time

        margin = min(timedelta(days=1), (expires - published) / 2)
        if now < expires - margin or self._expiry_warned == manifest:
            return
        self._expiry_warned = manifest
        state = "expired" if now >= expires else "expires"
        log.warning(
            "%s/feed.json %s at %s and this hub has no --key to sign it again: publish "
            "again with 'signage publish' (screens mark an expired feed stale and new "
            "screens refuse it)",
            self.config.feed_dir,
            state,
            format_time(expires),
        )

    def _require_key(self) -> Ed25519PrivateKey:
        if self._key is None:
            raise RepublishError(
                "this hub has no signing key: start it with --key FILE (the key screens "
                "pin) to let it publish alerts"
            )
        return self._key

    def _provider_alerts(self) -> tuple[Alert, ...]:
        if self.alerts_provider is None:
            return ()
        return tuple(self.alerts_provider(self._clock()))

    def _resign(self, base: bytes, reason: str, merge_upstream_alerts: bool) -> int:
        """Writes ``base`` with the hub's alerts and a higher version, signed, and serves it.

        ``merge_upstream_alerts``: keep the alerts ``base`` carries (a feed published
        elsewhere) and add the hub's, the hub's winning on equal ids; otherwise the hub's
        alerts replace them (``base`` is the hub's own last publish).
        """
        from signage.feed.manifest import build_manifest, parse_manifest
        from signage.feed.publish import next_version
        from signage.feed.signing import sign

        key = self._require_key()
        try:
            manifest = parse_manifest(base, None)
        except FeedError as exc:
            raise RepublishError(f"{reason}: the feed to re-sign is unusable: {exc}") from None
        now = self._clock()
        hub_alerts = self._provider_alerts()
        if merge_upstream_alerts:
            ids = {a.id for a in hub_alerts}
            alerts = tuple(a for a in manifest.alerts if a.id not in ids) + hub_alerts
        elif self.alerts_provider is not None:
            alerts = hub_alerts
        else:
            alerts = tuple(manifest.alerts)
        version = next_version(max(manifest.version, self._snapshot.version), now)
        try:
            data = build_manifest(
                manifest,
                alerts,
                version,
                now,
                now + self.config.expires_in,
                dict(manifest.assets),
            )
        except ValueError as exc:
            raise RepublishError(f"{reason}: cannot rebuild the manifest: {exc}") from None
        sig = sign(data, key).encode()
        folder = self.config.overlay_dir
        if self.config.root is not None:
            folder = self.config.feed_dir  # root mode: the hub owns the feed folder
        # Signature first, as publish does: a reader pairing the new manifest with the old
        # signature sees a mismatch and retries; the hub itself serves the pair from memory.
        try:
            if self.config.root is None:
                atomic_write(folder / UPSTREAM_BASE_NAME, _sha256(base).encode())
            atomic_write(folder / SIGNATURE_NAME, sig)
            atomic_write(folder / MANIFEST_NAME, data)
        except OSError as exc:
            raise RepublishError(f"{folder}: cannot write the feed ({exc.strerror})") from None
        self._resigned = self.config.root is None
        doc = _manifest_doc(data, folder / MANIFEST_NAME)
        assets_dir = self.config.feed_dir / "assets"
        self._serve(FeedSnapshot(version, data, sig, assets_dir, _media_types(doc), time.time()))
        log.info("re-signed version %d (%s)", version, reason)
        return version

    def _prune_assets(self, previous: FeedSnapshot, current: FeedSnapshot) -> int:
        """Root mode: deletes asset files that neither ``current`` nor ``previous`` names
        and that are older than the grace period. A screen still fetching the previous
        version finds its files; anything older it would re-fetch from the new manifest."""
        if not current.published:
            return 0
        keep = _asset_hashes(current.manifest) | _asset_hashes(previous.manifest)
        clean_temp_files(self.config.feed_dir, current.assets_dir)  # from killed writers
        cutoff = time.time() - self.config.asset_grace_s
        removed = 0
        try:
            entries = list(os.scandir(current.assets_dir))
        except OSError:
            return 0
        for entry in entries:
            if entry.name in keep or not _is_sha256(entry.name):
                continue
            try:
                if entry.stat().st_mtime > cutoff:
                    continue
                Path(entry.path).unlink()
                removed += 1
            except OSError as exc:
                log.warning("could not remove unused asset %s: %s", entry.path, exc.strerror)
        if removed:
            log.info("removed %d asset file(s) no recent version uses", removed)
        return removed

    def _overlay_base(self) -> str | None:
        """sha256 of the upstream manifest the overlay was re-signed from, if recorded."""
        try:
            return (self.config.overlay_dir / UPSTREAM_BASE_NAME).read_text().strip()
        except OSError:
            return None

    def _overlay_snapshot(self) -> FeedSnapshot | None:
        if self.config.root is not None:
            return None
        overlay = self.config.overlay_dir
        if not (overlay / MANIFEST_NAME).is_file():
            return None
        snap = self._read_feed(overlay, assets_dir=self.config.feed_dir / "assets")
        self._resigned = True
        return snap

    def _read_feed(self, folder: Path, assets_dir: Path | None = None) -> FeedSnapshot:
        """Reads ``folder/feed.json`` and its signature as one consistent pair.

        A publisher replaces the two files one after the other; when the hub knows the
        public key it re-reads until the pair verifies (bounded), otherwise it takes the
        pair as read (screens verify it anyway).
        """
        assets = assets_dir or folder / "assets"
        manifest_path = folder / MANIFEST_NAME
        sig_path = folder / SIGNATURE_NAME
        pubkey = self.public_key()
        for attempt in range(20):
            try:
                modified = manifest_path.stat().st_mtime
                manifest = manifest_path.read_bytes()
            except FileNotFoundError:
                return FeedSnapshot(0, b"", None, assets)
            except OSError as exc:
                raise RepublishError(f"{manifest_path}: cannot read it ({exc.strerror})") from None
            if len(manifest) > MAX_MANIFEST_BYTES:
                raise RepublishError(f"{manifest_path}: {len(manifest)} bytes is too large")
            try:
                signature: bytes | None = sig_path.read_bytes()
            except FileNotFoundError:
                signature = None
            except OSError as exc:
                raise RepublishError(f"{sig_path}: cannot read it ({exc.strerror})") from None
            doc = _manifest_doc(manifest, manifest_path)
            if (
                pubkey is not None
                and signature is not None
                and not self._verifies(manifest, signature, pubkey)
            ):
                if attempt < 19:
                    time.sleep(0.01)
                    continue
                log.warning(
                    "%s: the signature does not verify with the hub's key; screens pinned "
                    "to that key will refuse this feed (is --key the publisher's key?)",
                    sig_path,
                )
            return FeedSnapshot(
                int(doc["version"]), manifest, signature, assets, _media_types(doc), modified
            )
        raise AssertionError("unreachable")  # pragma: no cover

    @staticmethod
    def _verifies(manifest: bytes, signature: bytes, pubkey: str) -> bool:
        from signage.feed.signing import verify

        try:
            verify(manifest, signature.decode("ascii", "replace"), pubkey)
        except FeedError:
            return False
        return True

    def _serve(self, snap: FeedSnapshot) -> None:
        old = self._snapshot
        if snap.manifest == old.manifest and snap.signature == old.signature:
            return
        self._snapshot = snap
        if snap.version != old.version:
            self.push.announce(snap.version)
        for listener in tuple(self._listeners):
            self._notify(listener, snap)

    @staticmethod
    def _notify(listener: PublishListener, snap: FeedSnapshot) -> None:
        try:
            listener(snap)
        except Exception:  # a listener's bug must not stop publishing
            log.exception("a publish listener failed for version %d", snap.version)
