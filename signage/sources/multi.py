"""MultiFeedSource: one screen, several copies of the same signed feed (hub + mirrors).

``feed:`` in the player config may list URLs: the hub first, then static mirrors (nginx, a
file share, a CDN). Every URL gets its own ``SyncClient``; all of them write ONE cache, so
the cache's trusted state (highest version applied, same version never with other bytes)
is the replay rule across every source: whichever answers first with a newer version that
verifies is applied, and nothing older or different at the same version is ever taken from
any other. A version is fetched whole from one source (manifest, signature and assets), so
files of two versions are never mixed.

The hub keeps its push channel (inherited from ``FeedSource``); mirrors are polled every
``poll_s`` whether or not push is up, because the emergency route (``signage alert raise
--feed-dir``) writes to a mirror folder while the hub may be gone. A mirror that is merely
behind (serves an older version than the screen has) is logged at info level and is not a
``feed_rejected`` event; anything else a mirror is refused for is one, with its source.

Beside the content each source may serve an alerts-only document (``alerts.json`` +
``alerts.json.sig``, see ``signage.feed.emergency``); the newest one that verifies and is
bound to the version on screen is laid over the content's alerts before delivery. Those
are read every ``poll_s`` on one thread per source, each with its own connection, so a
source that stalls (the content syncs, or its own alerts document) cannot hold up an
alert from another.

``last_source`` names the URL that delivered the version on screen (heartbeat
``feed_source``, ``signage status``).
"""

from __future__ import annotations

import threading
import time
from datetime import datetime
from typing import Unpack

from signage.config import PlayerConfig
from signage.events import EventLog
from signage.feed.sync import RetryPolicy, SyncClient, SyncResult
from signage.logs import area_logger
from signage.model import Content
from signage.sources import ContentCallback
from signage.sources.feed import PUSH_SAFETY_POLL_S, FeedSource, SourceOptions
from signage.space import lacks_space, wait_for_space

__all__ = ["MultiFeedSource", "is_behind"]

log = area_logger("feed")


# One quick retry per source and poll: the other sources (and the next poll) cover a failure,
# and a dead hub must not hold up the mirrors' turn (backoff of seconds would).
SOURCE_RETRY = RetryPolicy(attempts=2, base_s=0.2, max_s=1.0)
# A source's sync that runs longer is cut, so one that drips bytes just under the read
# timeout cannot keep the others from their turn for ever. Nothing is lost: a cut asset
# download stays in the cache's partial/ and the next sync (from any source) resumes it.
SYNC_DEADLINE_S = 120.0


def is_behind(result: SyncResult, trusted: int) -> bool:
    """A refusal that only says the source lags: it serves a version below the trusted one."""
    return result.status == "rejected" and result.version is not None and result.version < trusted


class MultiFeedSource(FeedSource):
    """A ``FeedSource`` over ``config.feeds``: the hub (push + safety poll) and mirrors (poll).

    Args: as ``FeedSource``; ``config.feeds`` lists the sources, hub first.
    """

    own_validators = True  # the hub's ETag must not answer for a mirror (one cache)
    default_retry = SOURCE_RETRY

    def __init__(
        self, config: PlayerConfig, events: EventLog | None = None, **options: Unpack[SourceOptions]
    ) -> None:
        super().__init__(config, events, **options)
        self.clients = [self.client] + [self._new_client(url) for url in config.mirrors]
        self.sync_deadline_s = SYNC_DEADLINE_S
        self.results: dict[str, SyncResult] = {}
        self.last_source: str | None = None
        self._refusals: dict[str, str] = {}
        self._hub_due = 0.0
        self._woken = False
        self._show_lock = threading.Lock()
        self._base: Content | None = None  # the version on screen, before any alerts overlay
        from signage.feed.emergency import EmergencyReader

        self.emergency = EmergencyReader(self.store, config, self._emit, tls=self._tls)

    def start(self, on_content: ContentCallback, events: EventLog | None = None) -> None:
        super().start(on_content, events)
        for url in self.config.feeds:  # one per source: a stalled one holds up only itself
            alerts = threading.Thread(
                target=self._alerts_loop, args=(url,), name="feed-alerts", daemon=True
            )
            self._threads.append(alerts)
            alerts.start()

    def describe(self) -> str:
        return " | ".join(self.config.feeds)

    def stop(self) -> None:
        self._stop.set()
        for client in self.clients[1:]:
            client.abort()
        self.emergency.abort()
        super().stop()
        for client in self.clients[1:]:
            client.close()
        self.emergency.close()

    def _sync_loop(self) -> None:
        cached = self.store.current_content(self._clock(), source=self.describe())
        if cached is not None:
            log.info("playing cached feed version %d while syncing", cached.version)
            self._base = cached
            self._show(self._clock())
        while not self._stop.is_set():
            self._sync_once()
            refused = [r.reason for r in self.results.values() if lacks_space(r.reason)]
            if refused:  # sync again once space returns, within a minute (as FeedSource)
                wait_for_space(self.store.root, refused[0], self.config.poll_s, self._wake.wait)
                self._woken = False
            else:
                self._woken = self._wake.wait(self.config.poll_s)
            self._wake.clear()

    def _sync_once(self) -> None:
        now = self._clock()
        hub_turn = not self._push_connected or self._woken or time.monotonic() >= self._hub_due
        updated_by: str | None = None
        for i, client in enumerate(self.clients):
            if self._stop.is_set():
                return
            if i == 0 and not hub_turn:
                continue
            result = self._sync_bounded(i, client, now)
            self.results[client.feed_url] = result
            if i == 0:
                # Only the hub's HTTP Date tells the organisation's time; a mirror's is
                # whatever clock that server has (signage.timebase).
                told = client.server_date
                if self.timekeeper is not None and told is not None:
                    self.timekeeper.observe_http_date(*told)
                self._hub_due = time.monotonic() + PUSH_SAFETY_POLL_S
                if result.ok and not self._push_connected:
                    self._hub_back.set()
            if result.ok:
                self.last_success = now
                self._refusals.pop(client.feed_url, None)
                if result.status == "updated":
                    updated_by = client.feed_url
            else:
                self._note_refusal(client.feed_url, result)
        self.last_result = self.results.get(self.clients[0].feed_url, self.last_result)
        base = self._base
        if updated_by is not None or base is None:
            fresh = self.store.current_content(now, source=updated_by or self.describe())
            if fresh is not None and (base is None or fresh.version != base.version):
                if updated_by is not None:
                    self.last_source = updated_by
                    self._emit("feed_applied", version=fresh.version, reason="", source=updated_by)
                base = self._base = fresh
        if base is None:
            return
        self._show(now)
        self._stale_check()

    def _sync_bounded(self, i: int, client: SyncClient, now: datetime) -> SyncResult:
        """``client.sync_once``, cut after ``sync_deadline_s`` (the client is then replaced:
        an aborted one stays aborted)."""
        watchdog = threading.Timer(self.sync_deadline_s, client.abort)
        watchdog.daemon = True
        watchdog.start()
        try:
            result = client.sync_once(now)
        finally:
            watchdog.cancel()
        if client.transport.aborted and not self._stop.is_set():
            log.warning(
                "feed %s: sync cut after %.0f s; the other sources go on",
                client.feed_url,
                self.sync_deadline_s,
            )
            client.close()
            fresh = self._new_client(client.feed_url)
            self.clients[i] = fresh
            if i == 0:
                self.client = fresh
        return result

    def _show(self, now: datetime) -> None:
        """Delivers the version on screen with the kept alerts document laid over it, when
        that differs from what was delivered (either thread)."""
        with self._show_lock:
            base = self._base
            if base is None:
                return
            shown = self.emergency.overlay(base, now, fetch=False)
            if self._content is None or not _same_show(shown, self._content):
                self._deliver(shown)

    def _alerts_loop(self, url: str) -> None:
        while not self._stop.is_set():
            self.emergency.look(url, lambda: self._show(self._clock()))
            self._show(self._clock())  # a kept document may have expired
            self._stop.wait(self.config.poll_s)

    def _note_refusal(self, url: str, result: SyncResult) -> None:
        if is_behind(result, self.store.trusted_version):
            if not result.repeated:
                log.info("feed %s is behind (version %s)", url, result.version)
            return
        reason = f"{result.status}: {result.reason}"
        if self._refusals.get(url) != reason:
            self._refusals[url] = reason
            self._emit("feed_rejected", version=result.version, reason=reason, source=url)

    def _stale_check(self) -> None:
        stale = self.stale
        if stale and not self._stale_logged:
            log.warning("feed version %s expired; still playing it", self.version)
        self._stale_logged = stale


def _same_show(a: Content, b: Content) -> bool:
    return a.version == b.version and a.alerts == b.alerts
