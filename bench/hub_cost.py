"""Benchmark: the hub's own CPU per request, by kind of request and by server build.

Where bench/fleet.py measures a whole fleet (latencies that include the machine's load),
this one asks what each kind of request costs the hub alone: the CPU time (user + system,
from /proc) of its process and its children (the heartbeat worker process since issue
17.4's fourth pass) over a fixed number of requests, divided by that number. The client
runs in this process on raw asyncio streams; its own CPU is not counted.

Kinds (each a fixed count, a few connections at once):
- ``poll-kept``: ``GET /feed.json`` with ``If-None-Match`` (304) on kept-alive connections;
- ``poll-new``: the same poll on a new connection each time (what a screen polling every
  15 s costs when the hub closes idle connections after 5 s: accept, poll, close);
- ``beat``: ``POST /api/v1/heartbeat`` (~600 bytes of JSON) with each screen's own token,
  on kept-alive connections, from 200 enrolled screens;
- ``push``: 1,000 open push channels, 5 republishes (``POST /api/v1/republish``), each
  waited for on every channel: CPU per version delivered to one channel (the publish's
  own signing is included, spread over the 1,000).

Builds, in fresh hubs, rounds interleaved (A B C A B C ...) so the machine's load falls on
all alike:
- ``main``: h11 + asyncio, no manifest lane (``SIGNAGE_HUB_PURE=1``: the hub before issue 17);
- ``pieces``: httptools + uvloop with the guards, no lane (``SIGNAGE_HUB_LANE=0``);
- ``this``: httptools + uvloop and the manifest lane (the default).

    .venv/bin/python bench/hub_cost.py [--rounds 3] [--requests 3000]

Prints, per kind and build, the median CPU per request over the rounds (and the spread),
and the ratio of each build to ``main``.
"""

from __future__ import annotations

import argparse
import asyncio
import json
import os
import secrets
import statistics
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))
sys.path.insert(0, str(Path(__file__).resolve().parent))

from fleet import Http, Screen, Stats, enrol_fleet, screen_name, screen_token, tree_cpu_s

from tests.helpers_hub import make_content_root, run_hub

BUILDS = {
    "main": {"SIGNAGE_HUB_PURE": "1"},
    "pieces": {"SIGNAGE_HUB_LANE": "0"},
    "this": {},
}
KINDS = ("poll-kept", "poll-new", "beat", "push")
SCREENS = 200
CONCURRENCY = 8
CHANNELS = 1000  # open push channels for "push"
PUBLISHES = 5


def beat_body(n: int) -> bytes:
    import json
    from datetime import UTC, datetime

    now = datetime.now(UTC).isoformat()
    return json.dumps(
        {
            "screen": screen_name(n),
            "sent": now,
            "tags": ["lobby", "bench"],
            "version": 1,
            "playlist": "lobby",
            "slide": "bienvenida",
            "last_sync": now,
            "stale": False,
            "errors": {"feed": 0},
            "uptime_s": 1234.5,
            "rss_mb": 180.2,
            "disk_free_mb": 20480.0,
            "software": "bench",
        }
    ).encode()


def cpu_s(pid: int) -> float:
    """CPU seconds of the hub: its process and its children (the heartbeat worker)."""
    return sum(tree_cpu_s(pid))


async def run_push(host: str, port: int, token: str, pid: int) -> float:
    """Hub CPU seconds per version delivered to one of ``CHANNELS`` open channels."""
    screens = [Screen(n, host, port, None, Stats()) for n in range(CHANNELS)]
    for i in range(0, CHANNELS, 100):
        await asyncio.gather(*(s.open_push() for s in screens[i : i + 100]))
    readers = [asyncio.create_task(s.read_push()) for s in screens]
    await asyncio.sleep(0.5)
    admin = Http(host, port)
    before = cpu_s(pid)
    for _ in range(PUBLISHES):
        status, _, data = await admin.request(
            "POST", "/api/v1/republish", {"Authorization": f"Bearer {token}"}
        )
        if status != 200:
            raise RuntimeError(f"republish refused: {status} {data[:200]!r}")

        version = int(json.loads(data)["version"])
        await asyncio.wait_for(asyncio.gather(*(s.wait_version(version) for s in screens)), 60)
    spent = cpu_s(pid) - before
    admin.close()
    for r in readers:
        r.cancel()
    for s in screens:
        s.close()
    return spent / (CHANNELS * PUBLISHES)


async def run_kind(kind: str, host: str, port: int, seed: str, count: int) -> int:
    """Sends ``count`` requests of ``kind``; returns how many were answered as expected."""
    probe = Http(host, port)
    _, headers, _ = await probe.request("GET", "/feed.json")
    probe.close()
    etag = headers["etag"]
    ok = 0

    async def worker(k: int) -> None:
        nonlocal ok
        http = Http(host, port)
        for i in range(k, count, CONCURRENCY):
            if kind == "beat":
                n = i % SCREENS
                status, _, _ = await http.request(
                    "POST",
                    "/api/v1/heartbeat",
                    {
                        "Content-Type": "application/json",
                        "Authorization": f"Bearer {screen_token(seed, n)}",
                    },
                    beat_body(n),
                )
                ok += status == 200
                continue
            status, _, _ = await http.request("GET", "/feed.json", {"If-None-Match": etag})
            ok += status == 304
            if kind == "poll-new":
                http.close()
        http.close()

    await asyncio.gather(*(worker(k) for k in range(CONCURRENCY)))
    return ok


def measure(build: str, count: int, tmp: Path) -> dict[str, float]:
    """Microseconds of hub CPU per request of each kind, on a fresh hub of ``build``."""
    saved = {k: os.environ.get(k) for k in ("SIGNAGE_HUB_PURE", "SIGNAGE_HUB_LANE")}
    os.environ.update(BUILDS[build])
    seed = secrets.token_hex(8)
    work = Path(tempfile.mkdtemp(dir=tmp))
    root = make_content_root(work / "root")
    enrol_fleet(work / "data", seed, SCREENS)
    out: dict[str, float] = {}
    try:
        with run_hub(data=work / "data", root=root) as hub:
            host, port = "127.0.0.1", int(hub.url.rsplit(":", 1)[1])
            pid = hub.process.pid
            asyncio.run(run_kind("beat", host, port, seed, SCREENS))  # warm: every screen known
            for kind in KINDS:
                time.sleep(0.3)
                if kind == "push":
                    assert hub.token is not None
                    out[kind] = asyncio.run(run_push(host, port, hub.token, pid)) * 1e6
                    continue
                before = cpu_s(pid)
                ok = asyncio.run(run_kind(kind, host, port, seed, count))
                spent = cpu_s(pid) - before
                if ok != count:
                    raise RuntimeError(f"{build} {kind}: {count - ok} of {count} not answered")
                out[kind] = spent / count * 1e6
    finally:
        for k, v in saved.items():
            if v is None:
                os.environ.pop(k, None)
            else:
                os.environ[k] = v
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--rounds", type=int, default=3)
    parser.add_argument("--requests", type=int, default=3000, help="per kind and round")
    args = parser.parse_args()
    figures: dict[str, dict[str, list[float]]] = {b: {k: [] for k in KINDS} for b in BUILDS}
    started = time.monotonic()
    load = [os.getloadavg()[0]]
    with tempfile.TemporaryDirectory() as tmp:
        for _ in range(args.rounds):
            for build in BUILDS:
                for kind, us in measure(build, args.requests, Path(tmp)).items():
                    figures[build][kind].append(us)
            load.append(os.getloadavg()[0])
    print(
        f"hub CPU per request ({args.requests} requests a kind, {args.rounds} rounds, "
        f"{time.monotonic() - started:.0f} s, load {min(load):.1f}-{max(load):.1f})"
    )
    for kind in KINDS:
        base = statistics.median(figures["main"][kind])
        for build in BUILDS:
            values = figures[build][kind]
            med = statistics.median(values)
            spread = f"{min(values):.0f}-{max(values):.0f}"
            print(
                f"  {kind:9s} {build:6s}: median {med:6.0f} us (rounds {spread}); "
                f"{med / base:.2f}x main"
            )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
