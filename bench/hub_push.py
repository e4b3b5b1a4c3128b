"""Benchmark: the hub's push channel fanning one new version out to 1,000 open SSE channels.

Starts a real hub (``signage serve`` subprocess, root mode), opens N server-sent-event
connections with raw asyncio streams, then asks the hub to publish (``POST
/api/v1/republish``) several times and measures, for each publish, the time from the request
until the last of the N channels has the new version. Baseline in the same run: the same
measurement with one channel. Also the hub's memory per open channel (RSS delta / N).

Target: every channel has the new version within 2 s of the publish (issue 4/kiosk fleet).

    .venv/bin/python bench/hub_push.py [--subscribers 1000] [--rounds 5]
"""

from __future__ import annotations

import argparse
import asyncio
import json
import resource
import statistics
import sys
import tempfile
import time
from pathlib import Path
from urllib.parse import urlsplit

import requests

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from tests.helpers_hub import make_content_root, run_hub

TARGET_S = 2.0


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


class Channel:
    """One SSE connection read with asyncio streams; remembers the last version seen."""

    def __init__(self) -> None:
        self.version = -1
        self.changed = asyncio.Event()
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def open(self, host: str, port: int) -> None:
        self.reader, self.writer = await asyncio.open_connection(host, port)
        request = f"GET /api/v1/push HTTP/1.1\r\nHost: {host}\r\nAccept: text/event-stream\r\n\r\n"
        self.writer.write(request.encode())
        await self.writer.drain()
        await self.reader.readuntil(b"\r\n\r\n")  # response head

    async def read_forever(self) -> None:
        assert self.reader is not None
        while True:
            line = await self.reader.readline()
            if not line:
                return
            if line.startswith(b"data: "):
                self.version = int(json.loads(line[6:])["version"])
                self.changed.set()

    async def wait_for(self, version: int) -> float:
        while self.version < version:
            self.changed.clear()
            await self.changed.wait()
        return time.perf_counter()

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()


async def measure(url: str, token: str, n: int, rounds: int) -> list[float]:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    channels = [Channel() for _ in range(n)]
    for i in range(0, n, 100):  # connect in batches so the listen backlog is not flooded
        await asyncio.gather(*(c.open(host, port) for c in channels[i : i + 100]))
    readers = [asyncio.create_task(c.read_forever()) for c in channels]
    try:
        start_version = int(requests.get(url + "/healthz", timeout=10).json()["version"])
        await asyncio.wait_for(asyncio.gather(*(c.wait_for(start_version) for c in channels)), 30)
        times: list[float] = []
        for _ in range(rounds):
            t0 = time.perf_counter()
            r = await asyncio.to_thread(
                requests.post,
                url + "/api/v1/republish",
                headers={"Authorization": f"Bearer {token}"},
                timeout=30,
            )
            r.raise_for_status()
            version = int(r.json()["version"])
            done = await asyncio.wait_for(
                asyncio.gather(*(c.wait_for(version) for c in channels)), 30
            )
            times.append(max(done) - t0)
        return times
    finally:
        for t in readers:
            t.cancel()
        for c in channels:
            c.close()


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--subscribers", type=int, default=1000)
    parser.add_argument("--rounds", type=int, default=5)
    args = parser.parse_args()
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = min(hard, max(soft, args.subscribers * 2 + 256))
    resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    with tempfile.TemporaryDirectory() as tmp:
        root = make_content_root(Path(tmp) / "root")
        with run_hub(data=Path(tmp) / "data", root=root) as hub:
            assert hub.token is not None
            base = asyncio.run(measure(hub.url, hub.token, 1, args.rounds))
            rss0 = rss_kb(hub.process.pid)
            many = asyncio.run(measure(hub.url, hub.token, args.subscribers, args.rounds))
            # Measure memory with the channels open: reconnect and hold them briefly.

            async def hold() -> int:
                parts = urlsplit(hub.url)
                chans = [Channel() for _ in range(args.subscribers)]
                for i in range(0, len(chans), 100):
                    await asyncio.gather(
                        *(c.open(parts.hostname or "", parts.port or 0) for c in chans[i : i + 100])
                    )
                await asyncio.sleep(0.5)
                rss = rss_kb(hub.process.pid)
                for c in chans:
                    c.close()
                return rss

            rss1 = asyncio.run(hold())
    b50 = statistics.median(base)
    m50, mmax = statistics.median(many), max(many)
    per_kb = (rss1 - rss0) / args.subscribers
    print(f"publish -> 1 channel:    median {b50 * 1000:.1f} ms (baseline)")
    print(
        f"publish -> {args.subscribers} channels: median {m50 * 1000:.1f} ms, "
        f"max {mmax * 1000:.1f} ms over {args.rounds} publishes"
    )
    print(f"ratio {args.subscribers} vs 1 (median): {m50 / b50:.2f}x")
    print(f"hub memory per open channel: {per_kb:.1f} KiB")
    ok = mmax <= TARGET_S
    print(f"target: all channels within {TARGET_S:.1f} s -> {'PASS' if ok else 'FAIL'}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
