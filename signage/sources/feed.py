"""FeedSource: the player's ContentSource for a signed feed (cache first, then sync).

At ``start`` the cached current version is delivered at once, with no network. Then a
sync thread keeps the cache in step: woken by the hub's push channel (server-sent events
at ``{hub}/api/v1/push``, data ``{"version": N}``) when there is one, else polling every
``config.poll_s`` seconds. A push listener thread reconnects with backoff; a server
without the push channel (plain nginx) is probed again every few minutes. A version event
that carries the signed manifest (``manifest``, ``signature``, ``etag``: the hub sends them
for manifests up to 32 KiB) is handed to the sync client when the hub serves this feed,
which verifies and applies it without a request (``SyncClient.offer_pushed``) or fetches
when it refuses it. The
event's ``beat_spread_s`` (a big fleet) is kept as ``beat_spread_s`` for the heartbeat,
which spreads the beat a new picture causes over that many seconds.

Each new version is announced with ``feed_applied`` {version}; each refusal with
``feed_rejected`` {version, reason} (once per distinct reason, so an offline screen does not
flood its log). Content past its ``expires`` keeps playing and ``stale`` turns true.
"""

from __future__ import annotations

import base64
import binascii
import contextlib
import dataclasses
import http.client
import json
import random
import socket
import ssl
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from typing import TypedDict, Unpack
from urllib.parse import urlsplit

from signage.config import PlayerConfig
from signage.errors import ConfigError
from signage.events import EventLog
from signage.feed.store import Store
from signage.feed.sync import Pushed, RetryPolicy, SyncClient, SyncResult, Timeouts
from signage.feed.transport import tls_context
from signage.i18n import _
from signage.logs import area_logger
from signage.model import Content
from signage.sources import ContentCallback
from signage.space import lacks_space, wait_for_space
from signage.timebase import TimeKeeper
from signage.trust import bundle_for

__all__ = ["FeedSource", "SourceOptions", "parse_sse", "pushed_pair"]

log = area_logger("feed")

PUSH_PATH = "/api/v1/push"
DEFAULT_TIMEOUTS = Timeouts()
DEFAULT_RETRY = RetryPolicy()
PUSH_SAFETY_POLL_S = 300.0  # with push connected, a cheap conditional poll now and then
PUSH_REPROBE_S = 300.0  # a server without push: look again this often
PUSH_READ_TIMEOUT_S = 60.0  # the hub sends a keep-alive every 15 s
MAX_BEAT_SPREAD_S = 120.0  # the most of a hub's beat_spread_s this player follows


class SourceOptions(TypedDict, total=False):
    """What a feed source may be given besides its config (each has a default).

    clock: the aware current time (injected by tests).
    push: ``False`` never uses the push channel (poll only).
    timeouts, retry: of every sync request (retry: the class's ``default_retry``).
    timekeeper: told the server's time (HTTP ``Date``) and each verified ``published``.
    """

    clock: Callable[[], datetime] | None
    push: bool
    timeouts: Timeouts
    retry: RetryPolicy
    timekeeper: TimeKeeper | None


def parse_sse(lines: list[str]) -> tuple[str, str] | None:
    """One server-sent event from its lines (without the blank line): (event, data)."""
    event, data = "message", []
    for line in lines:
        if not line or line.startswith(":"):
            continue
        name, _, value = line.partition(":")
        value = value.removeprefix(" ")
        if name == "event":
            event = value
        elif name == "data":
            data.append(value)
    if not data:
        return None
    return event, "\n".join(data)


def pushed_pair(fields: dict[str, object], version: int) -> Pushed | None:
    """The signed pair a version event carries (``signage.hub.push.feed_event``), or
    ``None`` when it carries none or a malformed one; pure. Nothing here is trusted yet:
    the sync client verifies it against the pinned key."""
    manifest, signature, etag = fields.get("manifest"), fields.get("signature"), fields.get("etag")
    if not isinstance(manifest, str) or not isinstance(signature, str):
        return None
    try:
        body = base64.b64decode(manifest, validate=True)
    except (binascii.Error, ValueError):
        return None
    return Pushed(version, body, signature, etag if isinstance(etag, str) else None)


class FeedSource:
    """Plays a signed feed through a local cache.

    Args:
        config: feed URL, pinned key, cache folder, poll interval, hub.
        events: where ``feed_applied``/``feed_rejected`` go (``start``'s wins if given).
        options: ``SourceOptions`` (clock, push, timeouts, retry, timekeeper).
    """

    # Manifest requests conditioned on what this client last saw from its own server, not on
    # the cache's record (``SyncClient(own_validators=)``): a source sharing its cache.
    own_validators = False
    default_retry = DEFAULT_RETRY

    def __init__(
        self, config: PlayerConfig, events: EventLog | None = None, **options: Unpack[SourceOptions]
    ) -> None:
        if not config.feed:
            raise ConfigError(_("no feed URL: set 'feed' in player.yaml or pass --feed URL"))
        if not config.pubkey:
            raise ConfigError(
                _(
                    "no pinned public key: set 'pubkey' in player.yaml to what "
                    "'signage keygen' printed (or the hub's /api/v1/pubkey)"
                )
            )
        self.config = config
        self.store = Store(config.cache)
        self._stop = threading.Event()
        self._ca_bundle = bundle_for(config)  # every request trusts what the player trusts
        # The push channel checks the hub's certificate against the same trust as the sync.
        self._tls = tls_context(self._ca_bundle)
        self._timeouts = options.get("timeouts", DEFAULT_TIMEOUTS)
        self._retry = options.get("retry", self.default_retry)
        self.client = self._new_client(config.feed)
        self._events = events
        self._clock = options.get("clock") or (lambda: datetime.now(UTC))
        self._push_enabled = options.get("push", True)
        self.timekeeper = options.get("timekeeper")
        self._hub = config.hub_url
        self._on_content: ContentCallback | None = None
        self._wake = threading.Event()
        self._threads: list[threading.Thread] = []
        self._push_connected = False
        self._push_sock: socket.socket | None = None
        # Ends a wait between push attempts early: stop(), or (MultiFeedSource) a sync that
        # reached the hub again, so a hub back after a crisis gets push within a poll.
        self._hub_back = threading.Event()
        self._lock = threading.Lock()
        self._content: Content | None = None
        self._last_refusal: str | None = None
        self.last_result: SyncResult | None = None
        self.last_success: datetime | None = None
        self._announced = 0
        self._stale_logged = False
        self.beat_spread_s = 0.0  # the hub's last beat_spread_s (telemetry.heartbeat)

    def _new_client(self, url: str) -> SyncClient:
        return SyncClient(
            url,
            self.store,
            self.config.pubkey or "",
            timeouts=self._timeouts,
            retry=self._retry,
            sleep=self._stop.wait,  # backoff waits end at once when the source stops
            own_validators=self.own_validators,
            ca_bundle=self._ca_bundle,
        )

    # ------------------------------------------------------------------ ContentSource

    def describe(self) -> str:
        return str(self.config.feed)

    def start(self, on_content: ContentCallback, events: EventLog | None = None) -> None:
        if events is not None:
            self._events = events
        self._on_content = on_content
        self._stop.clear()
        sync = threading.Thread(target=self._sync_loop, name="feed-sync", daemon=True)
        self._threads = [sync]
        if self._push_enabled and self._hub:
            self._threads.append(
                threading.Thread(target=self._push_loop, name="feed-push", daemon=True)
            )
        for thread in self._threads:
            thread.start()

    def stop(self) -> None:
        self._stop.set()
        self._wake.set()
        self._hub_back.set()  # ends the push thread's wait at once
        self.client.abort()  # cut a transfer in flight (a stalled server waits no longer)
        sock = self._push_sock
        if sock is not None:
            with contextlib.suppress(OSError):
                sock.shutdown(socket.SHUT_RDWR)
        deadline = time.monotonic() + 1.0
        for thread in self._threads:
            thread.join(timeout=max(0.05, deadline - time.monotonic()))
        self._threads = []
        self.client.close()

    # ------------------------------------------------------------------ state

    @property
    def content(self) -> Content | None:
        """The version last delivered."""
        return self._content

    @property
    def version(self) -> int | None:
        content = self._content
        return content.version if content else None

    @property
    def stale(self) -> bool:
        """The content on screen is past its ``expires`` (it keeps playing)."""
        content = self._content
        return bool(content and content.expires and self._clock() >= content.expires)

    @property
    def push_connected(self) -> bool:
        return self._push_connected

    def sync_now(self) -> None:
        """Wakes the sync thread (e.g. after the network came back)."""
        self._wake.set()

    # ------------------------------------------------------------------ sync thread

    def _deliver(self, content: Content) -> None:
        content = dataclasses.replace(content, signed=True)  # the cache holds verified feeds
        self._content = content
        if self.timekeeper is not None:
            self.timekeeper.observe_signed(content.published)  # verified when applied
        if self._on_content is not None:
            self._on_content(content)

    def _emit(self, event: str, **fields: object) -> None:
        if self._events is not None:
            self._events.emit(event, **fields)

    def _sync_loop(self) -> None:
        cached = self.store.current_content(self._clock(), source=self.describe())
        if cached is not None:
            log.info("playing cached feed version %d while syncing", cached.version)
            self._deliver(cached)
            if self.stale:
                self._stale_logged = True
                log.warning("cached feed version %d has expired; playing it", cached.version)
        while not self._stop.is_set():
            self._sync_once()
            interval = PUSH_SAFETY_POLL_S if self._push_connected else self.config.poll_s
            refused = self.last_result.reason if self.last_result is not None else ""
            if lacks_space(refused):  # sync again once space returns, within a minute
                wait_for_space(self.store.root, refused, interval, self._wake.wait)
            else:
                self._wake.wait(interval)
            self._wake.clear()

    def _sync_once(self) -> None:
        now = self._clock()
        result = self.client.sync_once(now)
        self.last_result = result
        told = self.client.server_date
        if self.timekeeper is not None and told is not None:
            self.timekeeper.observe_http_date(*told)
        if result.ok:
            self.last_success = now
            self._last_refusal = None
        if result.status == "updated" or (result.ok and self._content is None):
            content = self.store.current_content(now, source=self.describe())
            if content is not None and (
                self._content is None or content.version != self._content.version
            ):
                if result.status == "updated":
                    self._emit("feed_applied", version=content.version, reason="")
                self._deliver(content)
        elif not result.ok and result.reason != self._last_refusal:
            self._last_refusal = result.reason
            self._emit(
                "feed_rejected",
                version=result.version,
                reason=f"{result.status}: {result.reason}",
            )
        stale = self.stale
        if stale and not self._stale_logged:
            log.warning(
                "feed version %s expired; still playing it until a valid newer one arrives",
                self.version,
            )
        self._stale_logged = stale

    # ------------------------------------------------------------------ push thread

    def _push_loop(self) -> None:
        attempt = 0
        policy = RetryPolicy(attempts=1_000_000, base_s=1.0, max_s=60.0)
        while not self._stop.is_set():
            outcome = self._listen_once()
            self._push_connected = False
            if self._stop.is_set():
                return
            self._hub_back.clear()
            if outcome == "unsupported":
                log.info(
                    "%s has no push channel; polling every %.0f s", self._hub, self.config.poll_s
                )
                self._stop.wait(PUSH_REPROBE_S)
                attempt = 0
                continue
            attempt = 0 if outcome == "was-connected" else attempt + 1
            self._wake.set()  # catch up on anything missed while disconnected
            self._hub_back.wait(policy.delay(min(attempt, 6), random.random))

    def _listen_once(self) -> str:
        """Listens until the channel ends: 'unsupported', 'failed' or 'was-connected'."""
        parts = urlsplit(f"{self._hub}{PUSH_PATH}")
        timeout = self.client.transport.timeouts.connect
        conn: http.client.HTTPConnection
        if parts.scheme == "https":
            conn = http.client.HTTPSConnection(
                parts.netloc, timeout=timeout, context=self._tls or ssl.create_default_context()
            )
        else:
            conn = http.client.HTTPConnection(parts.netloc, timeout=timeout)
        connected = False
        try:
            conn.connect()
            self._push_sock = conn.sock
            if self._stop.is_set():
                return "failed"
            conn.request(
                "GET",
                parts.path,
                headers={"Accept": "text/event-stream", "Cache-Control": "no-cache"},
            )
            if conn.sock is not None:
                conn.sock.settimeout(PUSH_READ_TIMEOUT_S)
            resp = conn.getresponse()
            ctype = resp.getheader("Content-Type", "")
            if resp.status in (404, 405, 501) or (
                resp.status == 200 and not ctype.startswith("text/event-stream")
            ):
                return "unsupported"
            if resp.status != 200:
                return "failed"
            connected = True
            self._push_connected = True
            log.info("listening to %s%s", self._hub, PUSH_PATH)
            lines: list[str] = []
            while not self._stop.is_set():
                raw = resp.readline(65536)
                if not raw:
                    break
                line = raw.decode("utf-8", "replace").rstrip("\r\n")
                if line:
                    lines.append(line)
                    continue
                event = parse_sse(lines)
                lines = []
                if event is not None:
                    self._on_push(*event)
        except (OSError, http.client.HTTPException) as exc:
            if not self._stop.is_set():
                log.info("push channel %s: %s", self._hub, exc)
        finally:
            self._push_sock = None
            conn.close()
        return "was-connected" if connected else "failed"

    def _push_serves_feed(self) -> bool:
        """Whether the push channel's hub is the server of this source's (first) feed: only
        then is a pushed pair what the feed would have served. A screen playing a mirror
        (its ``hub`` only for heartbeats and the wake-up) syncs from its mirror."""
        hub = self._hub
        return hub is not None and self.client.feed_url.startswith(hub.rstrip("/") + "/")

    def _on_push(self, event: str, data: str) -> None:
        try:
            fields = json.loads(data)
            version = fields.get("version")
        except (ValueError, AttributeError):
            return
        if not isinstance(version, int) or isinstance(version, bool):
            return
        spread = fields.get("beat_spread_s", 0.0)
        if isinstance(spread, int | float) and not isinstance(spread, bool):
            self.beat_spread_s = min(MAX_BEAT_SPREAD_S, max(0.0, float(spread)))
        current = self.version or 0
        if version > current and version != self._announced:
            self._announced = version
            pushed = pushed_pair(fields, version) if self._push_serves_feed() else None
            if pushed is not None:
                self.client.offer_pushed(pushed)
            log.info(
                "push: version %d announced (%s)%s",
                version,
                event,
                ", manifest included" if pushed is not None else "",
            )
            self._wake.set()
