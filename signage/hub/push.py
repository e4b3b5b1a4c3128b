"""The hub's push channel: announces each new feed version to every listening screen at once.

One ``Broadcaster`` per hub. Each connected screen is a ``Subscription``: a one-slot
asyncio queue that always holds the newest version not yet sent (an older unsent version
is replaced, since a screen only needs the latest). Fan-out is a loop over the
subscriptions on the event loop thread: no thread and no task per screen, so a thousand
open channels cost a thousand small queues.

``announce`` may be called from any thread (the root watcher, a request handler run in
the thread pool); it hops onto the event loop with ``call_soon_threadsafe``.

A version's event carries what a screen needs to take that version without asking
(``feed_event``): the signed manifest (base64), its signature and its ETag, when the
manifest is at most ``PUSH_MANIFEST_MAX`` bytes. Without that, every screen answered a push
with a request for ``feed.json`` and one for ``feed.json.sig`` at the same moment: with
10,000 screens, 20,000 requests in the second after each alert (bench/fleet.py). The
event's bytes are built once per version and shared by every channel. A screen still
verifies the pushed pair against its pinned key exactly as a fetched one, and fetches when
the event carries no manifest (a bigger one) or the pair is refused.

A version also changes what every screen shows, and each screen then tells the hub at once
(a heartbeat with a fresh screenshot, ``telemetry.heartbeat``'s nudge): 10,000 heartbeats
in the same quarter second, the hub's loop and worker threads busy for seconds while every
poll waits. So the event also says ``beat_spread_s``: over how many seconds the screens
should spread that heartbeat (each picks a random moment in it), ``BEATS_PER_S`` of them a
second for the channels open now (0 with fewer than ``SPREAD_FROM`` channels; at most
``MAX_BEAT_SPREAD_S``). A channel's first event (the current version, sent when it opens)
says the spread for the channels open at that moment, not the one of when the version was
published: a player also paces the screenshots its slide changes owe by it
(``telemetry.heartbeat``), and after a hub restart every screen reconnects to a version
published before any channel was open (spread 0: a screenshot beat every 5 s per screen).
"""

from __future__ import annotations

import asyncio
import base64
import json
import threading
from collections.abc import AsyncIterator, Callable

from signage.logs import area_logger

log = area_logger("hub")

KEEPALIVE_S = 15.0
# Subscriptions woken per event-loop iteration: between batches the loop reads new
# requests, so a manifest poll never waits behind a thousand stream writes.
# 128 since issue 17.4 (was 16): at 10,000 channels 16 made 625 loop turns, each behind
# whatever else the turn had (heartbeat bodies, accepts), and an alert reached the last
# screen after 2.3 s under load; a turn of 128 wake-ups is a few ms of writes.
FAN_OUT_BATCH = 128
# The largest manifest a version event carries (a feed of ~100 slides); a bigger one is
# announced by version only and the screens fetch it. Base64 makes the line 4/3 of this,
# well under the 64 KiB a player reads of one event line (sources/feed.py).
PUSH_MANIFEST_MAX = 32 << 10
# Nudged heartbeats the hub asks for per second after a version (~1 ms of the hub's CPU
# each with its screenshot, on top of the 30 s beats: 333 a second at 10,000 screens), the
# fleet size from which it asks for a spread, and the longest spread it asks for.
BEATS_PER_S = 200
SPREAD_FROM = 100
MAX_BEAT_SPREAD_S = 60.0


def beat_spread(channels: int) -> float:
    """Seconds over which ``channels`` screens should spread the heartbeat a new version
    causes; pure. 0 for a small fleet (its beats come at once, as before)."""
    if channels < SPREAD_FROM:
        return 0.0
    return min(MAX_BEAT_SPREAD_S, round(channels / BEATS_PER_S, 1))


class Subscription:
    """One screen's place on the push channel: the newest version it has not been sent yet.

    ``None`` in the queue means the hub is shutting down and the stream should end.
    """

    __slots__ = ("_newest", "_queue")

    def __init__(self) -> None:
        self._queue: asyncio.Queue[int | None] = asyncio.Queue(maxsize=1)
        self._newest = -1

    def offer(self, version: int | None) -> None:
        """Replaces any unsent version with ``version`` (event loop thread only). Versions
        only go up: an older one arriving late (from an earlier, batched fan-out) is
        dropped."""
        if version is not None:
            if version <= self._newest:
                return
            self._newest = version
        if self._queue.full():
            self._queue.get_nowait()
        self._queue.put_nowait(version)

    async def next(self, timeout: float) -> int | None:
        """The next version to send; raises ``TimeoutError`` after ``timeout`` seconds."""
        async with asyncio.timeout(timeout):
            return await self._queue.get()


class Broadcaster:
    """Fans each new feed version out to every open push channel.

    Args:
        keepalive_s: seconds of silence after which a stream gets a comment line, so
            proxies and the screens' read timeouts see the connection alive.
    """

    def __init__(self, keepalive_s: float = KEEPALIVE_S) -> None:
        self.keepalive_s = keepalive_s
        self._subscriptions: set[Subscription] = set()
        self._loop: asyncio.AbstractEventLoop | None = None
        self._closed = False
        self._lock = threading.Lock()
        self.announced = 0
        # the newest announced version, its event's bytes (shared by every channel) and
        # what makes them again with another spread (a channel's first event)
        self._latest: tuple[int, bytes, Callable[[float], bytes] | None] = (-1, b"", None)
        self._opening: tuple[tuple[int, float], bytes] = ((-1, -1.0), b"")

    @property
    def subscribers(self) -> int:
        """How many push channels are open right now."""
        return len(self._subscriptions)

    def bind(self, loop: asyncio.AbstractEventLoop) -> None:
        """Ties the broadcaster to the server's event loop (called at start-up)."""
        with self._lock:
            self._loop = loop
            self._closed = False

    def subscribe(self) -> Subscription:
        """Opens a subscription (event loop thread only)."""
        sub = Subscription()
        self._subscriptions.add(sub)
        return sub

    def unsubscribe(self, sub: Subscription) -> None:
        """Forgets a subscription; safe to call twice."""
        self._subscriptions.discard(sub)

    def announce(
        self,
        version: int,
        event: bytes | None = None,
        remake: Callable[[float], bytes] | None = None,
    ) -> None:
        """Sends ``version`` to every open push channel. Callable from any thread.

        ``event``: the bytes to send for it (``feed_event``), else a bare version event;
        ``remake``: the same event for another ``beat_spread_s`` (a channel's first event).
        """
        with self._lock:
            self._latest = (version, event or version_event(version), remake)
            loop = self._loop
        if loop is None or loop.is_closed():
            return  # no server running: nobody to tell
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self._fan_out(version)
        else:
            loop.call_soon_threadsafe(self._fan_out, version)

    def close(self) -> None:
        """Ends every open stream (at shutdown, so the server need not wait for them)."""
        with self._lock:
            loop = self._loop
            self._closed = True
        if loop is None or loop.is_closed():
            return
        try:
            running = asyncio.get_running_loop()
        except RuntimeError:
            running = None
        if running is loop:
            self._fan_out(None)
        else:
            loop.call_soon_threadsafe(self._fan_out, None)

    def _fan_out(self, version: int | None) -> None:
        if version is not None:
            self.announced += 1
        self._offer_batch(version, tuple(self._subscriptions))

    def _offer_batch(
        self, version: int | None, subs: tuple[Subscription, ...], start: int = 0
    ) -> None:
        end = start + FAN_OUT_BATCH
        for sub in subs[start:end]:
            sub.offer(version)
        if end < len(subs) and self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon(self._offer_batch, version, subs, end)

    async def stream(self, current_version: int) -> AsyncIterator[bytes]:
        """The bytes of one server-sent-events channel.

        Sends ``current_version`` at once, then each newer version as it is announced and
        a keep-alive comment after ``keepalive_s`` of silence. The subscription is dropped
        when the client goes away (the generator is cancelled) or the hub shuts down.
        """
        sub = self.subscribe()
        try:
            yield b"retry: 2000\n" + self.opening_event(current_version)
            last_sent = current_version
            while not self._closed:
                try:
                    version = await sub.next(self.keepalive_s)
                except TimeoutError:
                    yield b": keep-alive\n\n"
                    continue
                if version is None:
                    return
                if version != last_sent:
                    last_sent = version
                    yield self.event(version)
        finally:
            self.unsubscribe(sub)

    def event(self, version: int) -> bytes:
        """The bytes announcing ``version``: the shared event of the newest announced
        version, or a bare version event."""
        latest_version, latest, _remake = self._latest
        return latest if latest_version == version else version_event(version)

    def opening_event(self, version: int) -> bytes:
        """A new channel's first event: ``event(version)`` with the spread for the channels
        open now (event loop thread; made again only when that spread changed)."""
        latest_version, _latest, remake = self._latest
        if latest_version != version or remake is None:
            return self.event(version)
        key = (version, beat_spread(self.subscribers))
        made_for, made = self._opening
        if made_for != key:
            made = remake(key[1])
            self._opening = (key, made)
        return made


def version_event(version: int) -> bytes:
    """One SSE ``version`` event: ``event: version`` and ``data: {"version": N}``."""
    data = json.dumps({"version": version})
    return f"event: version\ndata: {data}\n\n".encode()


def feed_event(
    version: int,
    manifest: bytes,
    signature: bytes | None,
    etag: str,
    spread_s: float = 0.0,
) -> bytes:
    """The ``version`` event for a published pair; pure. With a signature and a manifest
    of at most ``PUSH_MANIFEST_MAX`` bytes the data also holds ``manifest`` (the exact
    bytes, base64), ``signature`` (the text of ``feed.json.sig``) and ``etag`` (what
    ``feed.json``'s ``ETag`` says), so a screen can verify and apply the version without
    a request; ``beat_spread_s`` when ``spread_s`` > 0 (``beat_spread``). Otherwise it is
    ``version_event``."""
    fields: dict[str, object] = {"version": version}
    sig = None
    if signature is not None and manifest and len(manifest) <= PUSH_MANIFEST_MAX:
        try:
            sig = signature.decode("ascii").strip()
        except UnicodeDecodeError:
            sig = None
    if sig is not None:
        fields["etag"] = etag
        fields["signature"] = sig
        fields["manifest"] = base64.b64encode(manifest).decode("ascii")
    if spread_s > 0:
        fields["beat_spread_s"] = spread_s
    if len(fields) == 1:
        return version_event(version)
    data = json.dumps(fields, separators=(",", ":"))
    return f"event: version\ndata: {data}\n\n".encode()
