"""The hub's state: its configuration, the feed it serves, its database and its publisher.

One ``Hub`` per ``signage serve`` process. Route modules (feed, alerts, telemetry, scans)
receive it and use its public names:

- ``hub.config``: the ``HubConfig`` (folders, host, port, public URL, token).
- ``hub.db()``: this thread's SQLite connection to ``DATA/hub.sqlite3`` (WAL mode). Areas
  create their tables with ``hub.schema("CREATE TABLE IF NOT EXISTS ...")``. Both go to
  ``hub.database``, the ``HubDatabase`` (``signage.hub.database``).
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
- ``hub.require_reader(request)``: the guard of the read endpoints (screens, screenshots,
  report): ``hub.reader_guard`` when the console installed one (a viewer session or the
  admin token), else the admin token alone. ``hub.require_operator(request)`` likewise
  guards raising and clearing alerts (an operator session with its CSRF token, or the
  admin token).

The hub only serves. What it serves comes from one of two publishing strategies
(``signage.hub.publishing``): with a content root (``--root``) the hub publishes the root
into ``config.feed_dir`` and republishes on every saved change, alerts included; with a
feed folder published elsewhere (``--feed``) it serves that folder and re-signs a copy with
its alerts into ``DATA/hub-feed/`` when it must. The feed folder on disk is
``signage.feed.folder``. A hub left alone keeps its feed from expiring by re-signing it
half-way through its lifetime (a hub without a key warns instead, once, near the expiry).
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Awaitable, Callable, Sequence
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from signage.data.remote import RemoteData
from signage.hub.auth import check_bearer
from signage.hub.database import DB_NAME, HubDatabase
from signage.hub.policy import HubPolicy
from signage.hub.publishing import (
    ExpiryWatch,
    FeedFolderPublishing,
    FeedSnapshot,
    Publishing,
    RootPublishing,
)
from signage.hub.push import KEEPALIVE_S, Broadcaster, beat_spread, feed_event
from signage.hub.screens import ScreenCaller, ScreenRegister, require_screen
from signage.logs import area_logger
from signage.model import Alert

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey
    from starlette.requests import Request

log = area_logger("hub")

AlertsProvider = Callable[[datetime], Sequence[Alert]]
PublishListener = Callable[[FeedSnapshot], None]

OVERLAY_DIR_NAME = "hub-feed"


def utc_now() -> datetime:
    """The current time, timezone-aware UTC (the hub's default clock)."""
    return datetime.now(UTC)


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
        policy: what screens may store and for how long (``signage.hub.policy``).
        ca_file: root mode: the organisation's CA certificates (PEM), trusted beside the
            system's when the hub fetches data slides' https data.
        data_check_s: root mode: how often the hub looks for remote data that is due.
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
    policy: HubPolicy = field(default_factory=HubPolicy)
    ca_file: Path | None = None
    data_check_s: float = 30.0

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


def remote_data_for(config: HubConfig) -> RemoteData:
    """Root mode's remote data: the last good kept in ``data_dir/datos-remotos``, fetched
    trusting the system's CAs plus ``ca_file``'s."""
    from signage.data.store import store_in

    return RemoteData(store_in(config.data_dir), ca_file=config.ca_file)


def publishing_for(config: HubConfig, key: Ed25519PrivateKey | None) -> Publishing:
    """The publishing strategy of a hub run with ``config``: root mode or feed mode."""
    if config.root is not None:
        return RootPublishing(
            config.root,
            config.feed_dir,
            key,
            expires_in=config.expires_in,
            asset_grace_s=config.asset_grace_s,
            remote=remote_data_for(config),
        )
    return FeedFolderPublishing(
        config.feed_dir, config.overlay_dir, key, expires_in=config.expires_in
    )


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
        # what stops with the server, on its event loop (e.g. the heartbeat worker)
        self.closers: list[Callable[[], Awaitable[None]]] = []
        self.screens = ScreenRegister(config.data_dir)  # per-screen tokens (screens.py)
        self.database = HubDatabase(config.data_dir / DB_NAME)
        self.alerts_provider: AlertsProvider | None = None
        self.reader_guard: Callable[[Request], None] | None = None  # set by the console
        self.operator_guard: Callable[[Request], None] | None = None  # set by the console
        self._publishing = publishing_for(config, key)
        self._expiry = ExpiryWatch(config.feed_dir, config.refresh_fraction)
        self._clock = clock
        self._publish_lock = threading.RLock()
        self._listeners: list[PublishListener] = []
        self._snapshot = FeedSnapshot(0, b"", None, config.feed_dir / "assets")

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
        return self._publishing.key is not None

    @property
    def last_error(self) -> str | None:
        """Why the last publish of the content root failed, ``None`` after a good one."""
        return self._publishing.last_error

    def public_key(self) -> str | None:
        """The base64 public key screens pin, ``None`` when the hub holds no key."""
        return self._publishing.public_key()

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

    def require_reader(self, request: Request) -> None:
        """Refuses ``request`` (401/403 ``HTTPException``) unless a viewer (or more) or the
        admin token asks: who reaches the hub must not read the fleet's names and screenshots."""
        if self.reader_guard is not None:
            self.reader_guard(request)
        else:
            check_bearer(request, self.config.token, self.config.screen_token)

    def require_operator(self, request: Request) -> None:
        """Refuses ``request`` unless an operator (session and CSRF) or the admin token asks."""
        if self.operator_guard is not None:
            self.operator_guard(request)
        else:
            check_bearer(request, self.config.token, self.config.screen_token)

    def require_screen_token(self, request: Request) -> ScreenCaller:
        """Who sent a screen's request: a screen's own token, the shared screen token or the
        admin token (401 ``HTTPException`` otherwise; see ``screens.require_screen``)."""
        return require_screen(request, self.config.token, self.config.screen_token, self.screens)

    # -------------------------------------------------------------------- database

    def db(self) -> sqlite3.Connection:
        """This thread's connection to the hub database (``hub.database.connection()``)."""
        return self.database.connection()

    def schema(self, sql: str) -> None:
        """Runs an area's ``CREATE TABLE IF NOT EXISTS ...`` script (idempotent)."""
        self.database.schema(sql)

    def on_close(self, closer: Callable[[], Awaitable[None]]) -> None:
        """Runs ``await closer()`` on the server's event loop when it shuts down."""
        self.closers.append(closer)

    def close(self) -> None:
        """Closes every database connection this hub opened (at shutdown)."""
        self.database.close()

    def recover_database(self, exc: BaseException) -> None:
        """After a query met a damaged database (``dbguard.is_damage``): sets the file
        aside and starts a new one with every area's schema (blocking: a worker thread)."""
        self.database.recover(exc)

    # ------------------------------------------------------------------ publishing

    def load(self) -> FeedSnapshot:
        """Reads the feed from disk and serves it if it is newer (announcing it).

        In ``--feed`` mode the hub's own re-signed manifest wins while its version is
        higher than upstream's. Raises ``RepublishError`` when what is on disk is unusable.
        """
        with self._publish_lock:
            self._serve(self._publishing.load())
            return self._snapshot

    def publish_root(self, reason: str, *, skip_unchanged: bool = False) -> int:
        """Publishes the content root (root mode); returns the version served.

        ``skip_unchanged``: when the feed already carries exactly this content (a saved
        file that no playlist names), nothing is written or announced and the current
        version is returned. Raises ``ValidationError`` when the root is invalid (the last
        good feed keeps being served) and ``RepublishError`` when the hub has no key or
        no root."""
        with self._publish_lock:
            now = self._clock()
            snap = self._publishing.publish(
                reason, self._snapshot, now, self._alerts(now), skip_unchanged=skip_unchanged
            )
            if snap is not None:
                self._serve(snap)
            return self._snapshot.version

    def republish(self, reason: str) -> int:
        """Signs and serves a new version carrying the hub's current alerts; returns it.

        Root mode: publishes the root, or re-signs the last good manifest while the root
        is invalid. Feed mode: re-signs the upstream manifest with the alerts merged.
        Raises ``RepublishError`` when the hub holds no key or has nothing to re-sign.
        """
        with self._publish_lock:
            now = self._clock()
            snap = self._publishing.republish(reason, self._snapshot, now, self._alerts(now))
            self._serve(snap)
            return snap.version

    def upstream_changed(self) -> None:
        """``--feed`` mode: the folder may have been published again; serves its new
        version (re-signed with the hub's alerts when needed). A no-op in root mode."""
        with self._publish_lock:
            now = self._clock()
            snap = self._publishing.upstream_changed(self._snapshot, now, self._alerts(now))
            if snap is not None:
                self._serve(snap)

    def refresh_data(self) -> int | None:
        """Root mode: fetches the data slides' remote data that is due and republishes
        when it changed (the version served, ``None`` when nothing was due)."""
        remote = self.remote_data()
        due = remote.next_due() if remote is not None else None
        if remote is None or due is None or due > self._clock():
            return None
        remote.prefetch(self._clock())  # outside the publishing lock: alerts never wait
        return self.publish_root("remote data due", skip_unchanged=True)

    def remote_data(self) -> RemoteData | None:
        """Root mode's remote data (``None`` in feed mode)."""
        remote = getattr(self._publishing, "remote", None)
        return remote if isinstance(remote, RemoteData) else None

    def refresh_if_due(self) -> int | None:
        """Keeps the served feed from expiring while nothing else publishes.

        Once the served manifest has used up ``config.refresh_fraction`` of its lifetime,
        a hub with a key signs the same content again as a new version with a fresh
        expiry and returns it. A hub without a key cannot; it logs a warning once per
        manifest near its expiry, and returns ``None`` as it does when nothing is due.
        """
        with self._publish_lock:
            reason = self._expiry.due(self._snapshot, self._clock(), can_sign=self.can_sign)
            return None if reason is None else self.republish(reason)

    # ------------------------------------------------------------------- internals

    def _alerts(self, now: datetime) -> tuple[Alert, ...] | None:
        if self.alerts_provider is None:
            return None
        return tuple(self.alerts_provider(now))

    def _serve(self, snap: FeedSnapshot) -> None:
        old = self._snapshot
        if snap.manifest == old.manifest and snap.signature == old.signature:
            return
        self._snapshot = snap
        if snap.version != old.version:

            def remake(spread: float) -> bytes:
                return feed_event(
                    snap.version, snap.manifest, snap.signature, snap.manifest_etag, spread
                )

            self.push.announce(snap.version, remake(beat_spread(self.push.subscribers)), remake)
        for listener in tuple(self._listeners):
            self._notify(listener, snap)

    @staticmethod
    def _notify(listener: PublishListener, snap: FeedSnapshot) -> None:
        try:
            listener(snap)
        except Exception:  # a listener's bug must not stop publishing
            log.exception("a publish listener failed for version %d", snap.version)
