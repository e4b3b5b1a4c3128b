"""The hub's collector settings (``signage.hub.gcpolicy``): frozen survivors, rare young
collections, and a full collection that still frees cycles that died after being frozen.

Runs in this process and puts the collector back as it found it.
"""

from __future__ import annotations

import asyncio
import gc
import time
import weakref
from collections.abc import Iterator

import pytest

from signage.hub import gcpolicy


class Node:
    def __init__(self) -> None:
        self.other: Node | None = None


@pytest.fixture
def collector() -> Iterator[None]:
    before = gc.get_threshold()
    try:
        yield
    finally:
        gc.unfreeze()
        gc.set_threshold(*before)


def _cycle() -> weakref.ref[Node]:
    a, b = Node(), Node()
    a.other, b.other = b, a
    return weakref.ref(a)


@pytest.mark.usefixtures("collector")
def test_settle_freezes_start_up_and_raises_the_young_threshold() -> None:
    gcpolicy.settle()
    assert gc.get_threshold() == (gcpolicy.YOUNG, gcpolicy.MIDDLE, gcpolicy.OLD)
    assert gc.get_freeze_count() > 1000  # modules, classes, this test's own objects
    young = _cycle()  # made after the freeze: an ordinary collection frees it
    gc.collect()
    assert young() is None


@pytest.mark.usefixtures("collector")
def test_a_cycle_frozen_alive_is_freed_by_the_full_collection() -> None:
    gcpolicy.settle()
    frozen = _cycle()
    gc.freeze()  # as keep_young does every FREEZE_EVERY_S: the cycle was alive then
    gc.collect()
    assert frozen() is not None  # dead now, but frozen: ordinary collections skip it
    freed, took = gcpolicy.full_collection()
    assert frozen() is None and freed >= 2 and took >= 0
    assert gc.get_freeze_count() > 0  # the survivors are frozen again


@pytest.mark.usefixtures("collector")
def test_keep_young_freezes_and_runs_full_collections_on_its_clock() -> None:
    gcpolicy.settle()

    async def run() -> weakref.ref[Node]:
        keeper = asyncio.create_task(gcpolicy.keep_young(freeze_every_s=0.05, full_every_s=0.3))
        await asyncio.sleep(0.1)
        ref = _cycle()
        await asyncio.sleep(0.1)  # frozen alive by now
        assert gc.get_freeze_count() > 0
        await asyncio.sleep(0.5)  # a full collection has run since
        keeper.cancel()
        return ref

    gone = asyncio.run(run())
    assert gone() is None


def test_pause_watch_times_real_collections_and_logs_the_long_ones(
    caplog: pytest.LogCaptureFixture,
) -> None:
    watch = gcpolicy.watch_pauses()
    try:
        assert gcpolicy.watch_pauses() is watch  # installed once
        before = list(watch.counts)
        gc.collect()
        assert watch.counts[2] == before[2] + 1  # the real collection was seen
        caplog.set_level("WARNING", logger="signage.hub")
        watch("start", {})
        time.sleep(gcpolicy.LONG_PAUSE_S * 1.5)  # a collection that stood the loop still
        watch("stop", {"generation": 1, "collected": 7})
        assert watch.long >= 1 and watch.longest >= gcpolicy.LONG_PAUSE_S
        assert "garbage collection of generation 1 took" in caplog.text
        assert "(7 objects collected)" in caplog.text
    finally:  # a hub's watch, not the test run's: the rest of the suite is not timed
        gc.callbacks.remove(watch)


@pytest.mark.usefixtures("collector")
def test_the_middle_generation_is_never_walked_between_freezes() -> None:
    """Its collections (every 20 young ones before) walked up to FREEZE_EVERY_S of the
    fleet's survivors for 80-300 ms and freed nothing; the freeze moves them on instead."""
    gcpolicy.settle()
    watch = gcpolicy.PauseWatch()
    gc.callbacks.append(watch)
    try:
        kept: list[list[int]] = [[] for _ in range(gcpolicy.YOUNG * 30)]  # ~30 young ones
    finally:
        gc.callbacks.remove(watch)
    assert len(kept) == gcpolicy.YOUNG * 30
    assert watch.counts[0] >= 25  # the young generation is collected as it fills
    assert watch.counts[1] == 0 and watch.counts[2] == 0
