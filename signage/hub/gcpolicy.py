"""The hub's garbage-collector room: keep the cyclic collector from stopping the event loop.

A hub with thousands of screens holds a million and more live objects (each push
channel's transport, protocol, request cycle, stream and queue: ~150 objects a screen).
CPython's cyclic collector, at its default thresholds (700, 10, 10), walks the older
generations often, and a walk of every tracked object runs while the event loop waits:
measured with 3,000 simulated screens, full collections of 580,000 objects took 1.3-2.5 s
(nothing to free), and with 10,000 screens collections of the middle generation took
1.7-2.5 s; every manifest poll and alert waited behind them (bench/fleet.py). What the hub
does instead (``settle`` before serving, then ``keep_young`` on the event loop):

- ``gc.freeze()`` at start and then every ``FREEZE_EVERY_S``: what has lived that long
  (start-up's modules, app and routes; then open push channels and the like) moves to a
  generation the collector does not walk, so each collection walks only what is younger;
- ``gc.set_threshold(YOUNG, MIDDLE, OLD)``: the youngest generation is collected after
  ``YOUNG`` allocations instead of 700, so a request's objects are mostly freed by
  reference counting before a collection ever sees them; the middle one practically never
  (the freeze moves its objects on before it would be);
- every ``FULL_EVERY_S`` the frozen objects are thawed and one full collection runs (the
  one long pause, ~0.3 s of CPU per million objects here), so a reference cycle that died
  after it was frozen is freed within that time: memory does not creep over months.

Objects freed by reference counting (nearly all: the collections above found ~nothing to
free) go at once either way; only cycles wait, at most ``FULL_EVERY_S``.
"""

from __future__ import annotations

import asyncio
import gc
import time

from signage.logs import area_logger

log = area_logger("hub")

# 10,000 and a freeze every 2 s (were 50,000 and 10 s): at 10,000 screens a young collection
# of 50,000 objects took 50-160 ms and a middle one, walking up to 10 s of survivors (the
# whole fleet's push channels right after it connected), 430-830 ms, logged by PauseWatch
# in bench/fleet.py; with these the longest were ~110 ms (on a loaded machine: partly the
# hub waiting for a core) and the clients' steady manifest p99 went from 325-555 to 172 ms.
# MIDDLE: the middle generation is never walked between freezes (issue 17.4, fourth pass).
# The freeze every FREEZE_EVERY_S empties it, and its collections (every 20 young ones, the
# count not reset by a freeze) walked up to 2 s of survivors, the fleet's new connections,
# for 80-300 ms each and freed nothing ("0 objects collected" in every one logged at 3,000
# and 10,000 screens): pure pause. A cycle that outlives a young collection now waits for
# the hourly full collection, as one frozen before its middle collection already did.
YOUNG = 10_000
MIDDLE = 1_000_000
OLD = 10
FREEZE_EVERY_S = 2.0
FULL_EVERY_S = 3600.0


# A collection at least this long is logged (a warning: the event loop stood still).
LONG_PAUSE_S = 0.05


class PauseWatch:
    """Times every collection (``gc.callbacks``) and logs those of ``LONG_PAUSE_S`` or
    more with their generation and size, so a hub's stalls can be told from the
    collector's. Keeps the longest seen (``longest``) and a count per generation."""

    __slots__ = ("counts", "long", "longest", "started")

    def __init__(self) -> None:
        self.started = 0.0
        self.longest = 0.0
        self.long = 0
        self.counts = [0, 0, 0]

    def __call__(self, phase: str, info: dict[str, int]) -> None:
        if phase == "start":
            self.started = time.perf_counter()
            return
        took = time.perf_counter() - self.started
        generation = info.get("generation", 0)
        self.counts[min(generation, 2)] += 1
        self.longest = max(self.longest, took)
        if took >= LONG_PAUSE_S:
            self.long += 1
            log.warning(
                "garbage collection of generation %d took %.0f ms (%d objects collected)",
                generation,
                took * 1000,
                info.get("collected", 0),
            )


def watch_pauses() -> PauseWatch:
    """Installs a ``PauseWatch`` (once per process) and returns it."""
    for callback in gc.callbacks:
        if isinstance(callback, PauseWatch):
            return callback
    watch = PauseWatch()
    gc.callbacks.append(watch)
    return watch


def settle() -> tuple[int, int, int]:
    """Collects and freezes what start-up made, sets the hub's thresholds; returns the
    thresholds before."""
    before = gc.get_threshold()
    gc.collect()  # start-up's own garbage goes first, so none of it is frozen
    gc.freeze()
    gc.set_threshold(YOUNG, MIDDLE, OLD)
    return before


def full_collection() -> tuple[int, float]:
    """Thaws the frozen objects, collects everything, freezes the survivors again;
    returns (objects freed, seconds it took)."""
    started = time.perf_counter()
    gc.unfreeze()
    freed = gc.collect()
    gc.freeze()
    return freed, time.perf_counter() - started


async def keep_young(
    freeze_every_s: float = FREEZE_EVERY_S, full_every_s: float = FULL_EVERY_S
) -> None:
    """Freezes the survivors every ``freeze_every_s`` and runs ``full_collection`` every
    ``full_every_s``; runs until cancelled."""
    last_full = time.monotonic()
    while True:
        await asyncio.sleep(freeze_every_s)
        if time.monotonic() - last_full >= full_every_s:
            freed, took = full_collection()
            last_full = time.monotonic()
            log.info("full garbage collection: %d objects freed in %.0f ms", freed, took * 1000)
        else:
            gc.freeze()
