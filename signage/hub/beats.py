"""The hub's heartbeat writer room: heartbeats stored in batches by one thread.

Ten thousand screens send ~330 heartbeats a second, and a new version makes every screen
send one more with a fresh screenshot. Stored one at a time, each beat cost an ``fsync`` of
its screenshot file and a SQLite transaction, on whichever worker thread took it: the
writes waited on the disk, the worker threads piled up behind them and fought the event
loop for the interpreter lock (bench/fleet.py). ``BeatWriter`` takes checked reports from
any thread and one writer thread stores whatever has gathered since its last round with
``TelemetryStore.record_many``: one flush of the screenshots' filesystem and one SQLite
transaction per batch (up to ``MAX_BATCH``). Each caller waits for its own beat's batch,
so a heartbeat is still answered only once it is stored; a failed batch fails each of its
callers with the same error.

The thread ends after ``IDLE_S`` without work and a new one starts with the next beat.
"""

from __future__ import annotations

import threading
from collections.abc import Sequence
from concurrent.futures import Future
from typing import TYPE_CHECKING, Protocol

from signage.logs import area_logger

if TYPE_CHECKING:
    from signage.telemetry.wire import HeartbeatReport

log = area_logger("hub")

MAX_BATCH = 256
IDLE_S = 10.0

Beat = tuple["HeartbeatReport", float, "Future[None]"]


class BeatStore(Protocol):
    """Where heartbeats go (``telemetry_routes.TelemetryStore``)."""

    def record_many(self, beats: Sequence[tuple[HeartbeatReport, float]]) -> None:
        """Stores heartbeats in order; raises when it cannot."""


class BeatWriter:
    """Stores heartbeats in batches on one thread.

    Args:
        store: where they go (``record_many``).
        max_batch: the most beats stored in one round.
        idle_s: seconds without work after which the thread ends.
    """

    def __init__(
        self, store: BeatStore, max_batch: int = MAX_BATCH, idle_s: float = IDLE_S
    ) -> None:
        self._store = store
        self._max_batch = max(1, max_batch)
        self._idle_s = idle_s
        self._queue: list[Beat] = []
        self._ready = threading.Condition()
        self._thread: threading.Thread | None = None
        self.batches = 0  # rounds stored so far (tests, benches)

    def submit(self, report: HeartbeatReport, received: float) -> Future[None]:
        """Queues a checked report; the future is done once its batch is stored (any
        thread)."""
        done: Future[None] = Future()
        with self._ready:
            self._queue.append((report, received, done))
            if self._thread is None or not self._thread.is_alive():
                self._thread = threading.Thread(
                    target=self._run, name="hub-heartbeats", daemon=True
                )
                self._thread.start()
            self._ready.notify()
        return done

    def _run(self) -> None:
        while True:
            with self._ready:
                if not self._queue and not self._ready.wait_for(
                    lambda: bool(self._queue), self._idle_s
                ):
                    self._thread = None
                    return
                batch = self._queue[: self._max_batch]
                del self._queue[: self._max_batch]
            self._store_batch(batch)

    def _store_batch(self, batch: list[Beat]) -> None:
        try:
            self._store.record_many([(report, received) for report, received, _ in batch])
        except Exception as exc:  # each caller answers its own beat with the error
            log.exception("telemetry: a batch of %d heartbeats could not be stored", len(batch))
            for _report, _received, done in batch:
                done.set_exception(exc)
            return
        self.batches += 1
        for _report, _received, done in batch:
            done.set_result(None)
