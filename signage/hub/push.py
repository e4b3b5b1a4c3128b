"""The hub's push channel: announces each new feed version to every listening screen at once.

One ``Broadcaster`` per hub. Each connected screen is a ``Subscription``: a one-slot
asyncio queue that always holds the newest version not yet sent (an older unsent version
is replaced, since a screen only needs the latest). Fan-out is a loop over the
subscriptions on the event loop thread: no thread and no task per screen, so a thousand
open channels cost a thousand small queues.

``announce`` may be called from any thread (the root watcher, a request handler run in
the thread pool); it hops onto the event loop with ``call_soon_threadsafe``.
"""

from __future__ import annotations

import asyncio
import json
import threading
from collections.abc import AsyncIterator

from signage.logs import area_logger

log = area_logger("hub")

KEEPALIVE_S = 15.0
# Subscriptions woken per event-loop iteration: between batches the loop reads new
# requests, so a manifest poll never waits behind a thousand stream writes.
FAN_OUT_BATCH = 16


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

    def announce(self, version: int) -> None:
        """Sends ``version`` to every open push channel. Callable from any thread."""
        with self._lock:
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

    def _offer_batch(self, version: int | None, subs: tuple[Subscription, ...]) -> None:
        for sub in subs[:FAN_OUT_BATCH]:
            sub.offer(version)
        rest = subs[FAN_OUT_BATCH:]
        if rest and self._loop is not None and not self._loop.is_closed():
            self._loop.call_soon(self._offer_batch, version, rest)

    async def stream(self, current_version: int) -> AsyncIterator[bytes]:
        """The bytes of one server-sent-events channel.

        Sends ``current_version`` at once, then each newer version as it is announced and
        a keep-alive comment after ``keepalive_s`` of silence. The subscription is dropped
        when the client goes away (the generator is cancelled) or the hub shuts down.
        """
        sub = self.subscribe()
        try:
            yield b"retry: 2000\n" + version_event(current_version)
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
                    yield version_event(version)
        finally:
            self.unsubscribe(sub)


def version_event(version: int) -> bytes:
    """One SSE ``version`` event: ``event: version`` and ``data: {"version": N}``."""
    data = json.dumps({"version": version})
    return f"event: version\ndata: {data}\n\n".encode()
