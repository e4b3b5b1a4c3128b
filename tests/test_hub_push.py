"""The hub's push channel: the Broadcaster in-process, and SSE through a real hub subprocess."""

from __future__ import annotations

import asyncio
import signal
import threading
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from signage.hub.push import Broadcaster, version_event
from tests.helpers_hub import (
    RunningHub,
    make_content_root,
    push_messages,
    run_hub,
    stop_process,
)


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[RunningHub]:
    root = make_content_root(tmp_path / "root")
    with run_hub(data=tmp_path / "hubdata", root=root, extra_args=["--keepalive", "1"]) as h:
        yield h


def test_version_event_format() -> None:
    assert version_event(7) == b'event: version\ndata: {"version": 7}\n\n'


def test_announce_reaches_a_thousand_subscribers_and_keeps_only_the_newest() -> None:
    async def scenario() -> None:
        push = Broadcaster(keepalive_s=60)
        push.bind(asyncio.get_running_loop())
        subs = [push.subscribe() for _ in range(1000)]
        assert push.subscribers == 1000
        push.announce(5)
        push.announce(6)  # not yet read: replaces 5, a screen only needs the latest
        got = await asyncio.gather(*(s.next(1.0) for s in subs))
        assert got == [6] * 1000
        for s in subs:
            push.unsubscribe(s)
        assert push.subscribers == 0

    asyncio.run(scenario())


def test_announce_from_another_thread_is_delivered_on_the_loop() -> None:
    async def scenario() -> None:
        push = Broadcaster(keepalive_s=60)
        push.bind(asyncio.get_running_loop())
        sub = push.subscribe()
        worker = threading.Thread(target=push.announce, args=(42,))
        worker.start()
        assert await sub.next(2.0) == 42
        worker.join(timeout=2)

    asyncio.run(scenario())


def test_stream_sends_current_version_then_new_ones_then_ends_on_close() -> None:
    async def scenario() -> list[bytes]:
        push = Broadcaster(keepalive_s=0.05)
        push.bind(asyncio.get_running_loop())
        stream = push.stream(3)
        chunks = [await anext(stream)]
        push.announce(4)
        chunks.append(await anext(stream))
        chunks.append(await anext(stream))  # silence: a keep-alive comment
        push.close()
        async for chunk in stream:
            chunks.append(chunk)
        assert push.subscribers == 0
        return chunks

    chunks = asyncio.run(scenario())
    assert chunks[0].endswith(version_event(3))
    assert chunks[1] == version_event(4)
    assert chunks[2] == b": keep-alive\n\n"
    assert len(chunks) == 3  # closing ended the stream


def _subscribers(hub: RunningHub) -> int:
    return int(requests.get(hub.url + "/api/v1/feed", timeout=5).json()["subscribers"])


def test_sse_current_version_then_new_version_after_root_edit(hub: RunningHub) -> None:
    with requests.get(hub.url + "/api/v1/push", stream=True, timeout=(5, 10)) as r:
        assert r.status_code == 200
        assert r.headers["Content-Type"].startswith("text/event-stream")
        messages = push_messages(r)
        first = next(messages)
        assert first.event == "version"
        current = hub.version()
        assert first.version() == current
        lobby = hub.root / "playlists" / "lobby.yaml"  # type: ignore[operator]
        t0 = time.monotonic()
        lobby.write_text(
            lobby.read_text(encoding="utf-8").replace("Bienvenidos", "Cambio"), encoding="utf-8"
        )
        while True:
            msg = next(messages)
            if not msg.comment:
                break
        elapsed = time.monotonic() - t0
        assert msg.event == "version"
        assert msg.version() > current
        assert msg.version() == hub.version()
        assert "Cambio" in requests.get(hub.url + "/feed.json", timeout=5).text
        # Save-to-announce target is well under a second; bound generous for a busy machine.
        assert elapsed < 3.0, f"announced after {elapsed:.3f}s"


def test_sse_keepalive_and_disconnect_cleanup(hub: RunningHub) -> None:
    with requests.get(hub.url + "/api/v1/push", stream=True, timeout=(5, 10)) as r:
        messages = push_messages(r)
        assert next(messages).event == "version"
        t0 = time.monotonic()
        keepalive = next(messages)
        assert keepalive.comment
        assert keepalive.data == "keep-alive"
        assert 0.5 < time.monotonic() - t0 < 5
        assert _subscribers(hub) == 1
    # The client went away: the hub forgets the subscription (bounded wait).
    deadline = time.monotonic() + 5
    while _subscribers(hub) != 0 and time.monotonic() < deadline:
        time.sleep(0.05)
    assert _subscribers(hub) == 0


def test_many_sse_clients_each_get_the_announcement(hub: RunningHub) -> None:
    sessions = [requests.Session() for _ in range(20)]
    responses = [s.get(hub.url + "/api/v1/push", stream=True, timeout=(5, 10)) for s in sessions]
    try:
        streams = [push_messages(r) for r in responses]
        firsts = {next(m).version() for m in streams}
        assert firsts == {hub.version()}
        before = hub.version()
        ok = requests.post(hub.url + "/api/v1/republish", headers=hub.auth, timeout=30)
        assert ok.status_code == 200
        new = ok.json()["version"]
        assert new > before
        for m in streams:
            msg = next(m)
            while msg.comment:
                msg = next(m)
            assert msg.version() == new
    finally:
        for r in responses:
            r.close()
        for s in sessions:
            s.close()


def test_hub_stops_promptly_with_open_push_channels(tmp_path: Path) -> None:
    root = make_content_root(tmp_path / "root")
    with run_hub(data=tmp_path / "data", root=root) as hub:
        r = requests.get(hub.url + "/api/v1/push", stream=True, timeout=(5, 10))
        try:
            messages = push_messages(r)  # kept alive: the channel stays open
            next(messages)
            assert _subscribers(hub) == 1
            t0 = time.monotonic()
            stop_process(hub.process, grace=10)
            elapsed = time.monotonic() - t0
            # uvicorn re-raises SIGTERM after its graceful shutdown: -15 is a clean stop.
            assert hub.process.returncode in (0, -signal.SIGTERM), hub.stderr()
            assert "Traceback" not in hub.stderr()
            assert elapsed < 5, f"shutdown took {elapsed:.1f}s with a push channel open"
        finally:
            r.close()


def test_push_channels_beyond_the_limit_are_refused(tmp_path: Path) -> None:
    root = make_content_root(tmp_path / "root")
    with run_hub(data=tmp_path / "data", root=root, extra_args=["--max-push", "2"]) as hub:
        opened = [
            requests.get(hub.url + "/api/v1/push", stream=True, timeout=(5, 10)) for _ in range(2)
        ]
        try:
            # Keep the parsers: dropping one closes its response, which frees the slot.
            streams = [push_messages(r) for r in opened]
            assert [next(m).event for m in streams] == ["version", "version"]
            refused = requests.get(hub.url + "/api/v1/push", timeout=5)
            assert refused.status_code == 503
            assert refused.headers["Retry-After"] == "30"
            assert "poll" in refused.json()["error"]
        finally:
            for r in opened:
                r.close()


def test_a_late_older_version_never_follows_a_newer_one() -> None:
    async def scenario() -> list[int | None]:
        push = Broadcaster(keepalive_s=60)
        push.bind(asyncio.get_running_loop())
        sub = push.subscribe()
        push.announce(9)
        first = await sub.next(1.0)
        push.announce(8)  # e.g. the tail of an earlier batched fan-out arriving late
        push.announce(10)
        return [first, await sub.next(1.0)]

    assert asyncio.run(scenario()) == [9, 10]


def test_fan_out_in_batches_lets_other_work_run_between_them() -> None:
    """With 1,000 channels the loop gets control back between batches of wake-ups."""

    async def scenario() -> tuple[int, int]:
        push = Broadcaster(keepalive_s=60)
        push.bind(asyncio.get_running_loop())
        subs = [push.subscribe() for _ in range(1000)]
        push.announce(1)
        woken_before_other_work = sum(1 for s in subs if s._queue.qsize())
        await asyncio.sleep(0)  # one loop iteration: "another request" runs here
        await asyncio.gather(*(s.next(1.0) for s in subs))
        return woken_before_other_work, len(subs)

    woken, total = asyncio.run(scenario())
    assert 0 < woken < total
