"""Benchmark: one hub serving a fleet of simulated screens, and nginx under the same polls.

Each simulated screen does what a real player does, with raw asyncio streams (stdlib only):
holds the hub's push channel open (SSE ``/api/v1/push``), polls ``/feed.json`` every 15 s
with ``If-None-Match`` on a keep-alive connection, and sends a heartbeat every 30 s
(``POST /api/v1/heartbeat``, ~600 bytes of JSON) on another: three connections a screen,
its slides change every ``--slide`` s (10) and, as ``Heartbeat`` does, a beat carries the
screenshot then owed (at most every max(5 s, the hub's ``beat_spread_s``), the beat
coming sooner for it),
as the player's sync client and heartbeat thread keep separate pools. Polls and heartbeats
start at random offsets, as a real fleet's do. During the run, alerts are raised through
the hub's API (``POST /api/v1/alerts``): each is published, signed and announced to every
channel. On a newer version each screen does what a player does (``--after-push``, default
``fetch+shot``): it syncs at once, fetching ``feed.json`` and ``feed.json.sig`` unless the
event carried the signed pair (then no request), and sends a heartbeat with a fresh
screenshot ``NUDGE_SETTLE_S`` later plus a random part of the hub's ``beat_spread_s``.
The clients' manifest samples are printed by phase (steady, within 5 s of an alert,
push-woken) with the clients' own loop lateness at send and in flight beside each; the
hub's logged garbage collections of 50 ms or more are printed too.

Figures, each with a baseline measured in the same run:
- announce: time from the alert request until the LAST of the 1,000 channels has the new
  version (target 2 s); baseline: the same with one channel on an idle hub.
- manifest p99 under the fleet's load (target 50 ms); baseline: one client, idle hub.
- hub memory per connected screen: RSS with the fleet connected minus RSS before, / N.
- nginx (Debian's, one worker, docs/nginx/signage-feed.conf) serving the same published
  feed to the same 1,000 screens polling every 15 s: manifest p99, and hub p99 / nginx p99.

The load generator shares the 2 cores with the server, so latencies include its own
scheduling delays (equally for hub and nginx). It runs as ``--clients`` processes (default
8: with 4, each holding 2,500 screens, their own event loops ran up to 2-3.5 s late even
on a quiet machine; with 8, p99 28-119 ms), each with its share of the screens on its own
loopback source address, at nice 10 (``--client-nice``); every screen is enrolled with a
token of its own (``--no-enrol``: the admin token, as before issue 17). Besides the
fleet's own figures it prints a probe screen's polls (this process, a new connection
every 0.1 s), ``/healthz`` on a kept-alive connection (the hub's event-loop stalls), the
clients' own lateness, the kernel's listen-queue drops and why each failure failed.
``--profile FILE`` records the hub with py-spy (raw format; py-spy could not attach to
this machine's interpreter in the last runs). Descriptor limits are raised as far as the
hard limit allows (the hub and the clients inherit them).

    .venv/bin/python bench/fleet.py [--screens 1000] [--clients 8] [--duration 60]
        [--nginx-duration 40] [--profile FILE]
    .venv/bin/python bench/fleet.py --screens 10000    # issue 17's case (~2 min)
    .venv/bin/python bench/fleet.py --screens 10000 --after-push none   # earlier passes' load
    .venv/bin/python bench/fleet.py --screens 10000 --slide 0   # still screens (third pass's load)
    .venv/bin/python bench/fleet.py --screens 10000 --hub-tree /tmp/base-b0e   # A/B
"""

from __future__ import annotations

import argparse
import asyncio
import json
import math
import os
import random
import resource
import secrets
import shutil
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Iterator
from contextlib import contextmanager, suppress
from dataclasses import dataclass, field
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from signage.feed.codec import alert_to_json
from signage.hub.screens import REGISTER_NAME, Enrolled, render_register, token_digest
from signage.model import Alert, AlertText, Severity
from signage.sources.feed import PUSH_SAFETY_POLL_S
from signage.telemetry.heartbeat import FRESH_SHOT_GAP_S, NUDGE_SETTLE_S
from tests.helpers_hub import make_content_root, run_hub

ANNOUNCE_TARGET_S = 2.0
MANIFEST_P99_TARGET_MS = 50.0
NGINX_CONF = Path(__file__).resolve().parents[1] / "docs" / "nginx" / "signage-feed.conf"


def rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    return 0


def cpu_s(pid: int) -> float:
    """CPU seconds (user + system) the process has used so far."""

    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    return (int(fields[11]) + int(fields[12])) / os.sysconf("SC_CLK_TCK")


def children(pid: int) -> list[int]:
    """The live child processes of ``pid`` (the hub's heartbeat worker)."""
    out: list[int] = []
    with suppress(OSError):
        for task in Path(f"/proc/{pid}/task").iterdir():
            with suppress(OSError):
                out += [int(c) for c in (task / "children").read_text().split()]
    return out


def tree_cpu_s(pid: int) -> tuple[float, float]:
    """CPU seconds of ``pid`` and of its children (live ones, plus those it has waited
    for): (the process itself, its children)."""
    fields = Path(f"/proc/{pid}/stat").read_text().rpartition(")")[2].split()
    tick = os.sysconf("SC_CLK_TCK")
    own = (int(fields[11]) + int(fields[12])) / tick
    kids = (int(fields[13]) + int(fields[14])) / tick
    for child in children(pid):
        with suppress(OSError):
            kids += sum(tree_cpu_s(child))
    return own, kids


def run_queue_wait_s(pid: int) -> float:
    """Seconds the process's main thread (the hub's event loop) has spent runnable but
    waiting for a CPU (``/proc/PID/task/PID/schedstat``, 0 when unreadable)."""
    try:
        fields = Path(f"/proc/{pid}/task/{pid}/schedstat").read_text().split()
        return int(fields[1]) / 1e9
    except (OSError, IndexError, ValueError):
        return 0.0


def listen_overflows() -> int:
    """The kernel's count of connections dropped because a listen queue was full (all
    listeners of this network namespace: other jobs' too)."""
    lines = Path("/proc/net/netstat").read_text().splitlines()
    for names, values in zip(lines[::2], lines[1::2], strict=False):
        if names.startswith("TcpExt:"):
            table = dict(zip(names.split()[1:], values.split()[1:], strict=False))
            return int(table.get("ListenOverflows", 0))
    return 0


async def sample_lag(host: str, port: int, until: float, out: list[float]) -> None:
    """``/healthz`` every 0.5 s on one kept-alive connection (no accept queue in the way):
    how long the hub's event loop takes to answer while the fleet runs."""
    http = Http(host, port)
    while time.perf_counter() < until:
        t0 = time.perf_counter()
        with suppress(OSError, asyncio.IncompleteReadError, ValueError):
            await http.request("GET", "/healthz")
            out.append((time.perf_counter() - t0) * 1000)
        await asyncio.sleep(0.5)
    http.close()


async def probe_polls(host: str, port: int, until: float, out: list[float]) -> None:
    """One more screen, in this (not niced, lightly loaded) process: a conditional manifest
    poll on a new connection every 0.1 s, as a screen's poll reaches the hub (accept
    included). Its latencies are the hub's as a screen sees them, without the client
    processes' own scheduling delays (they carry most of the load-generating CPU)."""
    etag = ""
    while time.perf_counter() < until:
        http = Http(host, port)
        t0 = time.perf_counter()
        with suppress(OSError, asyncio.IncompleteReadError, ValueError):
            status, headers, _ = await http.request(
                "GET", "/feed.json", {"If-None-Match": etag} if etag else {}
            )
            out.append((time.perf_counter() - t0) * 1000)
            if status == 200:
                etag = headers.get("etag", etag)
        http.close()
        await asyncio.sleep(0.1)


def pct(values: list[float], q: float) -> float:
    if not values:
        return float("nan")
    ordered = sorted(values)
    return ordered[min(len(ordered) - 1, round(q / 100 * (len(ordered) - 1)))]


def screen_name(n: int) -> str:
    return f"bench-{n:05d}"


def screen_token(seed: str, n: int) -> str:
    """Screen ``n``'s own token, derived from the run's seed (clients derive it alike)."""
    import hashlib

    return hashlib.sha256(f"{seed}/{screen_name(n)}".encode()).hexdigest()


def enrol_fleet(data: Path, seed: str, screens: int) -> None:
    """Writes the hub's screen register (``DATA/screens.json``, the file ``signage screen
    add`` keeps) with a token of its own for every simulated screen, before the hub starts:
    enrolling 10,000 screens one request at a time would rewrite the register 10,000 times."""
    stamp = datetime.now(UTC).isoformat(timespec="seconds")
    register = {
        screen_name(n): Enrolled(screen_name(n), token_digest(screen_token(seed, n)), stamp)
        for n in range(screens)
    }
    data.mkdir(parents=True, exist_ok=True)
    path = data / REGISTER_NAME
    path.write_bytes(render_register(register))
    path.chmod(0o600)


# ------------------------------------------------------------------------ HTTP client


class Http:
    """One keep-alive HTTP/1.1 connection (reconnects when the server closes it)."""

    def __init__(self, host: str, port: int, source: str | None = None) -> None:
        self.host, self.port, self.source = host, port, source
        self.reader: asyncio.StreamReader | None = None
        self.writer: asyncio.StreamWriter | None = None

    async def _connect(self) -> None:
        local = (self.source, 0) if self.source else None
        self.reader, self.writer = await asyncio.open_connection(
            self.host, self.port, local_addr=local
        )

    async def request(
        self, method: str, path: str, headers: dict[str, str] | None = None, body: bytes = b""
    ) -> tuple[int, dict[str, str], bytes]:
        for attempt in range(2):
            if self.writer is None:
                await self._connect()
            assert self.reader is not None and self.writer is not None
            head = f"{method} {path} HTTP/1.1\r\nHost: {self.host}\r\n"
            for k, v in (headers or {}).items():
                head += f"{k}: {v}\r\n"
            if body or method == "POST":
                head += f"Content-Length: {len(body)}\r\n"
            try:
                self.writer.write(head.encode() + b"\r\n" + body)
                await self.writer.drain()
                return await self._response()
            except (ConnectionError, asyncio.IncompleteReadError):
                self.close()
                if attempt:
                    raise
        raise ConnectionError("unreachable")

    async def _response(self) -> tuple[int, dict[str, str], bytes]:
        # This connection's reader, kept: the phase's end may close the connection (and
        # clear self.reader) while an answer is being read; the read then fails as a
        # closed stream does, not with an AttributeError in a task nobody awaits.
        reader = self.reader
        assert reader is not None
        raw = await reader.readuntil(b"\r\n\r\n")
        lines = raw.decode("latin-1").split("\r\n")
        status = int(lines[0].split()[1])
        headers = {}
        for line in lines[1:]:
            if ":" in line:
                k, _, v = line.partition(":")
                headers[k.strip().lower()] = v.strip()
        data = b""
        if headers.get("transfer-encoding", "").lower() == "chunked":
            while True:
                size = int((await reader.readline()).strip(), 16)
                chunk = await reader.readexactly(size + 2)
                if size == 0:
                    break
                data += chunk[:-2]
        elif "content-length" in headers:
            data = await reader.readexactly(int(headers["content-length"]))
        if headers.get("connection", "").lower() == "close":
            self.close()
        return status, headers, data

    def close(self) -> None:
        if self.writer is not None:
            self.writer.close()
        self.reader = self.writer = None


# ----------------------------------------------------------------------- a screen


@dataclass
class Stats:
    manifest_ms: list[float] = field(default_factory=list)
    # per manifest sample, in the same order: when it was sent (perf_counter: one clock for
    # every process), why ("poll": the screen's timer; "push": a version announced, as a
    # player syncs at once), how late the client's own loop ran the timer that sent it, and
    # the worst lateness of that loop seen while the request was in flight
    manifest_t0: list[float] = field(default_factory=list)
    manifest_why: list[str] = field(default_factory=list)
    manifest_late_send_ms: list[float] = field(default_factory=list)
    manifest_late_during_ms: list[float] = field(default_factory=list)
    sig_ms: list[float] = field(default_factory=list)  # feed.json.sig after a push's 200
    nudged_beats: int = 0  # heartbeats sent 0.25 s after a new version, as players do
    slide_shots: int = 0  # timer beats that carried a screenshot owed after slide changes
    spreads: list[float] = field(default_factory=list)  # each screen's last beat_spread_s
    pushed_pairs: int = 0  # version events that carried the signed manifest (no fetch)
    manifest_status: dict[int, int] = field(default_factory=dict)
    heartbeat_ms: list[float] = field(default_factory=list)
    heartbeat_fail: int = 0
    # why heartbeats failed: "HTTP 403", "ConnectionResetError", ... -> count
    heartbeat_why: dict[str, int] = field(default_factory=dict)
    errors_why: dict[str, int] = field(default_factory=dict)
    client_lag_ms: list[float] = field(default_factory=list)  # the client's own loop
    errors: int = 0
    push_failed: int = 0  # push channels that could not be opened
    push_closed: int = 0  # push channels the hub closed during the run
    tasks: set[asyncio.Task[None]] = field(default_factory=set)  # push syncs in flight


@dataclass(frozen=True)
class PlayerLike:
    """What a simulated screen does after a push, as the player does (``--after-push``).

    sync_on_push: fetch ``feed.json`` and its signature at once when a newer version is
        announced (``FeedSource._on_push`` wakes the sync thread; no spread).
    nudge_beat: then a heartbeat ``NUDGE_SETTLE_S`` later (what the screen shows changed).
    screenshot: the base64 PNG that heartbeat carries (a fresh screenshot is owed after a
        picture change), or ``None``.
    """

    sync_on_push: bool = False
    nudge_beat: bool = False
    screenshot: str | None = None


def bench_screenshot() -> str:
    """A 320 x 180 PNG like the player's heartbeat thumbnail of a slide (base64): a
    gradient with a band of text-like noise, ~the size such thumbnails have."""
    import base64
    import io

    from PIL import Image, ImageDraw

    img = Image.new("RGB", (320, 180))
    draw = ImageDraw.Draw(img)
    for y in range(180):
        draw.line([(0, y), (319, y)], fill=(20 + y // 2, 40, 120 - y // 3))
    rng = random.Random(3)
    for _ in range(400):
        x, y = rng.randrange(20, 300), rng.randrange(60, 120)
        draw.rectangle([x, y, x + rng.randrange(1, 4), y + rng.randrange(2, 9)], fill="white")
    out = io.BytesIO()
    img.save(out, "PNG", optimize=True)
    return base64.b64encode(out.getvalue()).decode("ascii")


class Screen:
    """A simulated player: push channel, conditional manifest polls, heartbeats."""

    def __init__(  # noqa: PLR0917 (a bench helper)
        self,
        n: int,
        host: str,
        port: int,
        token: str | None,
        stats: Stats,
        source: str | None = None,
        player: PlayerLike | None = None,
    ) -> None:
        self.name = screen_name(n)
        self.host, self.port, self.token, self.stats = host, port, token, stats
        self.source = source
        self.player = player or PlayerLike()
        self.syncing = False  # a push-woken sync in flight (FeedSource's sync thread)
        self.sync_again = False  # another version announced meanwhile: sync once more
        self.pushed_etag: str | None = None  # the last event carried the pair (its ETag)
        self.beat_spread_s = 0.0  # the hub's beat_spread_s (the nudged beat's spread)
        # like a real player: the feed sync and the heartbeat thread have their own pools
        self.http = Http(host, port, source)
        self.beat_http = Http(host, port, source)
        # one request at a time on each, as the player's sync thread and heartbeat thread
        # do (a push-woken sync and a timer poll never overlap)
        self.sync_lock = asyncio.Lock()
        self.beat_lock = asyncio.Lock()
        self.etag: str | None = None
        self.version = -1
        self.seen: dict[int, float] = {}
        self.changed = asyncio.Event()
        self.sse: tuple[asyncio.StreamReader, asyncio.StreamWriter] | None = None
        self.spreads_seen: list[float] = []
        # the heartbeat thread's clock (Heartbeat._run): the last beat, the last screenshot
        self.last_beat = self.last_shot = 0.0

    async def open_push(self) -> None:
        local = (self.source, 0) if self.source else None
        reader, writer = await asyncio.open_connection(self.host, self.port, local_addr=local)
        writer.write(
            f"GET /api/v1/push HTTP/1.1\r\nHost: {self.host}\r\n"
            "Accept: text/event-stream\r\n\r\n".encode()
        )
        await writer.drain()
        await reader.readuntil(b"\r\n\r\n")
        self.sse = (reader, writer)

    async def read_push(self) -> None:
        assert self.sse is not None
        reader = self.sse[0]
        while True:
            try:
                line = await reader.readline()
            except OSError:
                line = b""
            if not line:
                self.stats.push_closed += 1
                return
            if line.startswith(b"data: "):
                fields = json.loads(line[6:])
                version = int(fields["version"])
                # every event says the spread (absent: 0), as FeedSource._on_push reads it
                spread = fields.get("beat_spread_s", 0.0)
                self.beat_spread_s = float(spread) if isinstance(spread, int | float) else 0.0
                self.spreads_seen.append(self.beat_spread_s)
                self.seen.setdefault(version, time.perf_counter())
                newer = self.version >= 0 and version > self.version
                self.version = max(self.version, version)
                self.changed.set()
                if newer and self.player.sync_on_push:
                    self.woken(fields)

    def woken(self, fields: dict[str, Any]) -> None:
        """What ``FeedSource._on_push`` does with a newer version: wake the sync at once
        (no spread), one sync at a time, one more if another version came meanwhile. An
        event that carries the signed manifest (``signage.hub.push.feed_event``) is taken
        without a request, as the player's sync client does once it verified it."""
        if "manifest" in fields and "signature" in fields:
            self.pushed_etag = str(fields.get("etag", ""))
            self.stats.pushed_pairs += 1
        else:
            self.pushed_etag = None

        if self.syncing:
            self.sync_again = True
            return
        self.syncing = True
        task = asyncio.get_running_loop().create_task(self.push_sync())
        self.stats.tasks.add(task)
        task.add_done_callback(self.stats.tasks.discard)

    async def push_sync(self) -> None:
        """A player's sync after a push: the conditional manifest (now 200), the signature
        (``SyncClient._sync``; an alert adds no asset), then, once the new picture is on
        screen, the heartbeat's nudge (``KioskBridge``: ``nudge`` and ``picture_changed``),
        sent ``NUDGE_SETTLE_S`` later with a fresh screenshot, plus a random part of the
        hub's ``beat_spread_s`` when the event asked for one."""
        try:
            while True:
                self.sync_again = False
                if self.pushed_etag is not None:  # the pair came with the event
                    self.etag, self.pushed_etag = self.pushed_etag or self.etag, None
                elif await self.poll_once(why="push") == 200:
                    async with self.sync_lock:
                        t0 = time.perf_counter()
                        try:
                            await self.http.request("GET", "/feed.json.sig")
                            self.stats.sig_ms.append((time.perf_counter() - t0) * 1000)
                        except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
                            self._failed(type(exc).__name__)
                if not self.sync_again:
                    break
            if self.player.nudge_beat:
                # as Heartbeat.spread_delay: a random part of the hub's beat_spread_s
                await asyncio.sleep(NUDGE_SETTLE_S + random.random() * self.beat_spread_s)
                self.stats.nudged_beats += 1
                await self.heartbeat_once(shot=self.player.screenshot)
                self.last_beat = self.last_shot = time.perf_counter()
        finally:
            self.syncing = False

    async def wait_version(self, version: int) -> float:
        while self.version < version:
            self.changed.clear()
            await self.changed.wait()
        return self.seen[min(v for v in self.seen if v >= version)]

    async def poll_once(self, late_ms: float = 0.0, why: str = "poll") -> int:
        """One conditional GET of ``feed.json``; its status (0 when it failed)."""
        async with self.sync_lock:
            headers = {"If-None-Match": self.etag} if self.etag else {}
            t0 = time.perf_counter()
            try:
                status, hdrs, _ = await self.http.request("GET", "/feed.json", headers)
            except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
                self._failed(type(exc).__name__)
                return 0
        stats = self.stats
        stats.manifest_ms.append((time.perf_counter() - t0) * 1000)
        stats.manifest_t0.append(t0)
        stats.manifest_why.append(why)
        stats.manifest_late_send_ms.append(late_ms)
        stats.manifest_status[status] = stats.manifest_status.get(status, 0) + 1
        if status == 200:
            self.etag = hdrs.get("etag", self.etag)
        return status

    def _failed(self, why: str) -> None:
        self.stats.errors += 1
        self.stats.errors_why[why] = self.stats.errors_why.get(why, 0) + 1

    async def heartbeat_once(self, late_ms: float = 0.0, shot: str | None = None) -> None:
        report: dict[str, object] = {
            "screen": self.name,
            "sent": datetime.now(UTC).isoformat(),
            "tags": ["lobby", "bench"],
            "version": self.version,
            "playlist": "lobby",
            "slide": "bienvenida",
            "last_sync": datetime.now(UTC).isoformat(),
            "stale": False,
            "errors": {"feed": 0},
            "uptime_s": 1234.5,
            "rss_mb": 180.2,
            "disk_free_mb": 20480.0,
            "software": "bench",
        }
        if shot is not None:
            report["screenshot_png"] = shot
        body = json.dumps(report).encode()
        headers = {"Content-Type": "application/json"}
        if self.token:
            headers["Authorization"] = f"Bearer {self.token}"
        async with self.beat_lock:
            t0 = time.perf_counter()
            try:
                status, _, answer = await self.beat_http.request(
                    "POST", "/api/v1/heartbeat", headers, body
                )
            except (OSError, asyncio.IncompleteReadError, ValueError) as exc:
                self._beat_failed(type(exc).__name__)
                return
            took = (time.perf_counter() - t0) * 1000
        if status // 100 == 2:
            self.stats.heartbeat_ms.append(took)
        else:
            self._beat_failed(f"HTTP {status} {answer[:80].decode('utf-8', 'replace')}")

    def _beat_failed(self, why: str) -> None:
        self.stats.heartbeat_fail += 1
        self.stats.heartbeat_why[why] = self.stats.heartbeat_why.get(why, 0) + 1

    def fresh_gap_s(self) -> float:
        """``Heartbeat.fresh_gap_s``: a screenshot owed after a slide change goes at most
        this often (the hub's spread in a big fleet, as the last event said)."""
        return max(FRESH_SHOT_GAP_S, min(self.beat_spread_s, 120.0))

    async def beat_loop(self, interval: float, slide_s: float, until: float) -> None:
        """What ``Heartbeat._run`` does on a screen whose slides change every ``slide_s``
        (0: a still screen): a beat ``interval`` after the last one, or sooner when a
        screenshot is owed (a slide changed since the last one and ``fresh_gap_s`` has
        passed), that beat carrying it. Starts as if it had been running for a while
        (random phases), so the run has no start-up burst of its own."""
        now = time.perf_counter()
        self.last_beat = now - random.uniform(0, interval)
        self.last_shot = now - random.uniform(0, max(slide_s, self.fresh_gap_s()))
        phase = now - random.uniform(0, slide_s) if slide_s > 0 else 0.0
        shot = self.player.screenshot if slide_s > 0 else None
        while True:
            now = time.perf_counter()
            if now >= until:
                return
            deadline = self.last_beat + interval
            owed = False
            if shot is not None:
                # the first slide change after the last screenshot, and the gap after it
                changes = math.floor((self.last_shot - phase) / slide_s) + 1
                owed_at = max(phase + changes * slide_s, self.last_shot + self.fresh_gap_s())
                owed = owed_at <= deadline
                deadline = min(deadline, owed_at)
            if deadline > now:  # sleep, then look again (a nudge may move it)
                await asyncio.sleep(min(deadline, until) - now + 0.001)
                continue
            late_ms = (now - deadline) * 1000
            self.last_beat = now
            if owed:
                self.last_shot = now
                self.stats.slide_shots += 1
            await self.heartbeat_once(late_ms, shot=shot if owed else None)

    async def every(self, period: float, action: str, until: float) -> None:
        """``action`` every ``period`` s from a random offset; never sleeps past ``until``."""
        next_at = time.perf_counter() + random.uniform(0, period)
        while True:
            await asyncio.sleep(max(0.0, min(next_at, until) - time.perf_counter()))
            woke = time.perf_counter()
            if woke >= until:
                return
            await getattr(self, action)((woke - next_at) * 1000)
            next_at += period

    def close(self) -> None:
        self.http.close()
        self.beat_http.close()
        if self.sse is not None:
            self.sse[1].close()


# -------------------------------------------------------------------------- phases


def raise_alert_body(i: int) -> bytes:
    now = datetime.now(UTC)
    alert = Alert(
        id=f"bench-{i}-{int(time.time() * 1000)}",
        severity=Severity.SEVERE,
        texts=(AlertText("es", f"Prueba de carga {i}", "Simulacro de la flota"),),
        sender="bench@oai",
        sent=now,
        expires=now + timedelta(minutes=10),
    )
    return json.dumps({"alert": alert_to_json(alert)}).encode()


async def announce(host: str, port: int, token: str, screens: list[Screen], i: int) -> float:
    """Raises an alert; returns seconds until the last screen has the new version."""
    admin = Http(host, port)
    t0 = time.perf_counter()
    status, _, data = await admin.request(
        "POST",
        "/api/v1/alerts",
        {"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        raise_alert_body(i),
    )
    admin.close()
    if status // 100 != 2:
        raise RuntimeError(f"alert raise refused: {status} {data[:200]!r}")
    version = int(json.loads(data)["version"])
    arrivals = await asyncio.wait_for(
        asyncio.gather(*(s.wait_version(version) for s in screens)), 30
    )
    return max(arrivals) - t0


async def connect_all(screens: list[Screen], push: bool) -> None:
    for i in range(0, len(screens), 100):  # batches: do not flood the listen backlog
        batch = screens[i : i + 100]
        if push:
            for result in await asyncio.gather(
                *(s.open_push() for s in batch), return_exceptions=True
            ):
                if isinstance(result, BaseException):
                    batch[0].stats.push_failed += 1
        await asyncio.gather(*(s.poll_once() for s in batch))  # opens the keep-alive conn


async def hub_phase(url: str, token: str, pid: int, args: argparse.Namespace) -> dict[str, float]:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    out: dict[str, float] = {}

    # baselines: one screen on an idle hub
    one = Screen(-1, host, port, token, Stats())
    await one.open_push()
    reader = asyncio.create_task(one.read_push())
    for _ in range(200):
        await one.poll_once()
    out["idle_manifest_p99_ms"] = pct(one.stats.manifest_ms, 99)
    singles = [await announce(host, port, token, [one], 100 + i) for i in range(3)]
    out["single_announce_s"] = statistics.median(singles)
    reader.cancel()
    one.close()

    await asyncio.sleep(1.0)
    rss0 = rss_kb(pid)
    t_connect = time.perf_counter()
    procs = await start_clients(host, port, token, args, push=True, duration=args.duration)
    out["connect_s"] = time.perf_counter() - t_connect
    await send_all(procs, "go")
    t_go = time.perf_counter()
    cpu_go = tree_cpu_s(pid)
    waited_go = run_queue_wait_s(pid)
    clients_go = sum(cpu_s(p.pid) for p in procs)
    out["load_start"] = os.getloadavg()[0]
    overflows_go = listen_overflows()
    lag: list[float] = []
    lagger = asyncio.create_task(sample_lag(host, port, t_go + args.duration, lag))
    probed: list[float] = []
    prober = asyncio.create_task(probe_polls(host, port, t_go + args.duration, probed))
    await asyncio.sleep(min(5.0, args.duration / 4))
    out["rss_connected_kb"] = rss_kb(pid)
    out["rss_idle_kb"] = rss0
    gap = (args.duration - 10) / max(1, args.announces)
    times, raised = [], []
    for i in range(args.announces):
        await asyncio.sleep(gap)
        took, sent = await fleet_announce(host, port, token, procs, i)
        times.append(took)
        raised.append(sent)
    if time.perf_counter() > t_go + args.duration:
        print("note: the alerts took longer than the load phase (polls had ended)")
    await send_all(procs, "stop")
    stats = await collect_stats(procs)
    cpu_end = tree_cpu_s(pid)
    out["hub_loop_waited_s"] = run_queue_wait_s(pid) - waited_go
    out["hub_loop_cpu_s"] = cpu_end[0] - cpu_go[0]  # the event loop's process
    out["hub_worker_cpu_s"] = cpu_end[1] - cpu_go[1]  # its heartbeat worker (children)
    out["hub_cpu_s"] = out["hub_loop_cpu_s"] + out["hub_worker_cpu_s"]
    out["hub_worker_rss_kb"] = sum(rss_kb(c) for c in children(pid))
    out["clients_cpu_s"] = sum(cpu_s(p.pid) for p in procs) - clients_go
    out["listen_overflows"] = listen_overflows() - overflows_go
    lagger.cancel()
    prober.cancel()
    out["probe_p50_ms"], out["probe_p99_ms"] = pct(probed, 50), pct(probed, 99)
    out["probe_max_ms"], out["probe_n"] = max(probed, default=float("nan")), len(probed)
    out["lag_p50_ms"], out["lag_max_ms"] = pct(lag, 50), max(lag, default=float("nan"))
    out["load_end"] = os.getloadavg()[0]
    out["load_s"] = time.perf_counter() - t_go
    out["rss_end_kb"] = rss_kb(pid)
    await finish_clients(procs)
    # what `signage status` costs with the whole fleet known, against /healthz
    admin = Http(host, port)
    listed, health = [], []
    for _ in range(10):
        t0 = time.perf_counter()
        status, _, body = await admin.request(
            "GET", "/api/v1/screens", {"Authorization": f"Bearer {token}"}
        )
        listed.append((time.perf_counter() - t0) * 1000)
        t0 = time.perf_counter()
        await admin.request("GET", "/healthz")
        health.append((time.perf_counter() - t0) * 1000)
    admin.close()
    out["screens_listed"] = len(json.loads(body)) if status == 200 else 0
    out["screens_list_ms"] = statistics.median(listed)
    out["healthz_ms"] = statistics.median(health)
    out["announce_max_s"] = max(times)
    out["announce_median_s"] = statistics.median(times)
    out["manifest_p50_ms"] = pct(stats.manifest_ms, 50)
    out["manifest_p99_ms"] = pct(stats.manifest_ms, 99)
    out["manifest_requests"] = len(stats.manifest_ms)
    out["manifest_304"] = stats.manifest_status.get(304, 0)
    out["heartbeat_p99_ms"] = pct(stats.heartbeat_ms, 99)
    out["heartbeats_ok"] = len(stats.heartbeat_ms)
    out["heartbeats_failed"] = stats.heartbeat_fail
    for label, table in (
        ("heartbeats failed", stats.heartbeat_why),
        ("poll errors", stats.errors_why),
    ):
        if table:
            causes = ", ".join(
                f"{n} x {why}" for why, n in sorted(table.items(), key=lambda i: -i[1])
            )
            print(f"{label}: {causes}")
    print("\n".join(phase_lines(stats, raised)))
    out["errors"] = stats.errors
    out["client_lag_p99_ms"] = pct(stats.client_lag_ms, 99)
    out["client_lag_max_ms"] = max(stats.client_lag_ms, default=float("nan"))
    out["push_failed"] = stats.push_failed
    out["push_closed"] = stats.push_closed
    return out


async def poll_phase(url: str, args: argparse.Namespace) -> dict[str, float]:
    parts = urlsplit(url)
    host, port = parts.hostname or "127.0.0.1", parts.port or 80
    one = Screen(-1, host, port, None, Stats())
    for _ in range(200):
        await one.poll_once()
    one.close()
    procs = await start_clients(host, port, None, args, push=False, duration=args.nginx_duration)
    await send_all(procs, "go")
    await asyncio.sleep(args.nginx_duration)
    await send_all(procs, "stop")
    stats = await collect_stats(procs)
    await finish_clients(procs)
    return {
        "idle_manifest_p99_ms": pct(one.stats.manifest_ms, 99),
        "manifest_p50_ms": pct(stats.manifest_ms, 50),
        "manifest_p99_ms": pct(stats.manifest_ms, 99),
        "manifest_requests": len(stats.manifest_ms),
        "manifest_304": stats.manifest_status.get(304, 0),
        "errors": stats.errors,
    }


# ------------------------------------------------------------------ client processes
#
# The fleet is split over --clients processes (one asyncio loop each could not keep up with
# 10,000 screens next to the hub on 2 cores). Each binds its connections to its own
# loopback address (127.0.0.2, .3, ...): 30,000 connections to one port from one address
# would run out of ephemeral ports. A client speaks lines on stdin/stdout: "ready" once its
# screens are connected; "go" starts the polls and heartbeats; "version V" is answered with
# "arrived V T", T the perf_counter (CLOCK_MONOTONIC, one clock for every process) when
# its last screen had V; at the end "stats {json}".


LAG_TICK_S = 0.02  # the clients' own loop lateness is sampled this often


def late_during(
    ticks: list[float], lateness_ms: list[float], starts: list[float], took_ms: list[float]
) -> list[float]:
    """For each request (sent at ``starts[i]``, answered ``took_ms[i]`` later), the worst
    lateness of the client's own loop among the lag ticks that woke while it was in flight
    or within one tick after (the tick that saw the answer wait for the loop); 0.0 if none."""
    import bisect

    out = []
    for t0, ms in zip(starts, took_ms, strict=True):
        lo = bisect.bisect_left(ticks, t0)
        hi = bisect.bisect_right(ticks, t0 + ms / 1000 + LAG_TICK_S)
        out.append(max(lateness_ms[lo:hi], default=0.0))
    return out


def _emit(line: str) -> None:
    sys.stdout.write(line + "\n")
    sys.stdout.flush()


async def client_main(spec: dict[str, Any]) -> None:
    loop = asyncio.get_running_loop()
    commands = asyncio.StreamReader()
    await loop.connect_read_pipe(lambda: asyncio.StreamReaderProtocol(commands), sys.stdin)
    random.seed(spec["first"])
    stats = Stats()
    player = PlayerLike(
        sync_on_push=spec["after_push"] != "none",
        nudge_beat=spec["after_push"] in ("fetch+beat", "fetch+shot"),
        screenshot=bench_screenshot() if spec["after_push"] == "fetch+shot" else None,
    )
    screens = [
        Screen(
            n,
            spec["host"],
            spec["port"],
            screen_token(spec["seed"], n) if spec["seed"] else spec["token"],
            stats,
            spec["source"],
            player if spec["push"] else None,
        )
        for n in range(spec["first"], spec["first"] + spec["count"])
    ]
    await connect_all(screens, push=spec["push"])
    readers = [asyncio.create_task(s.read_push()) for s in screens if s.sse is not None]
    for kept in (  # the connection burst is not steady-state polling
        stats.manifest_ms,
        stats.manifest_t0,
        stats.manifest_why,
        stats.manifest_late_send_ms,
    ):
        kept.clear()
    _emit("ready")
    await commands.readline()  # "go"
    until = time.perf_counter() + spec["duration"]
    loops = [asyncio.create_task(s.every(spec["poll"], "poll_once", until)) for s in screens]
    if spec["heartbeat"]:
        loops += [
            asyncio.create_task(s.beat_loop(spec["heartbeat"], spec["slide_s"], until))
            for s in screens
        ]

    ticks: list[float] = []  # when each lateness sample below was taken

    async def own_lag() -> None:  # how late this process's loop wakes: its share of latency
        while time.perf_counter() < until:
            t0 = time.perf_counter()
            await asyncio.sleep(LAG_TICK_S)
            woke = time.perf_counter()
            ticks.append(woke)
            stats.client_lag_ms.append((woke - t0 - LAG_TICK_S) * 1000)

    loops.append(asyncio.create_task(own_lag()))
    loops_done = asyncio.gather(*loops)
    while line := await commands.readline():
        word, _, arg = line.decode().strip().partition(" ")
        if word == "version":
            waits = [asyncio.create_task(s.wait_version(int(arg))) for s in screens]
            done, late = await asyncio.wait(waits, timeout=20)
            for task in late:
                task.cancel()
            last = max((t.result() for t in done), default=float("nan"))
            # how late this loop ran when the last arrival was read: the first lag tick
            # that woke after it (the arrival time includes up to that much of our own lag)
            import bisect

            await asyncio.sleep(3 * LAG_TICK_S)  # that tick has woken by now
            k = bisect.bisect_left(ticks, last)
            lag = stats.client_lag_ms[k] if k < len(ticks) else float("nan")
            _emit(f"arrived {arg} {last!r} {len(late)} {lag!r}")
        elif word == "stop":  # the polls and heartbeats end at `until`; push stays open
            await loops_done
            if stats.tasks:
                await asyncio.wait(set(stats.tasks), timeout=30)
            stats.manifest_late_during_ms = late_during(
                ticks, stats.client_lag_ms, stats.manifest_t0, stats.manifest_ms
            )
            figures = {
                "manifest_ms": stats.manifest_ms,
                "manifest_t0": stats.manifest_t0,
                "manifest_why": stats.manifest_why,
                "manifest_late_send_ms": stats.manifest_late_send_ms,
                "manifest_late_during_ms": stats.manifest_late_during_ms,
                "sig_ms": stats.sig_ms,
                "nudged_beats": stats.nudged_beats,
                "slide_shots": stats.slide_shots,
                "spreads": [s.spreads_seen[0] if s.spreads_seen else -1.0 for s in screens],
                "pushed_pairs": stats.pushed_pairs,
                "manifest_status": stats.manifest_status,
                "heartbeat_ms": stats.heartbeat_ms,
                "heartbeat_fail": stats.heartbeat_fail,
                "heartbeat_why": stats.heartbeat_why,
                "errors": stats.errors,
                "errors_why": stats.errors_why,
                "client_lag_ms": stats.client_lag_ms,
                "push_failed": stats.push_failed,
                "push_closed": stats.push_closed,
            }
            _emit("stats " + json.dumps(figures))
        elif word == "bye":  # the hub's memory was read with the fleet connected
            break
    for r in readers:
        r.cancel()
    for screen in screens:
        screen.close()


async def start_clients(
    host: str,
    port: int,
    token: str | None,
    args: argparse.Namespace,
    *,
    push: bool,
    duration: float,
) -> list[asyncio.subprocess.Process]:
    """Starts the client processes and returns once all their screens are connected."""
    per = -(-args.screens // args.clients)
    procs = []
    for k in range(args.clients):
        first = k * per
        count = min(per, args.screens - first)
        if count <= 0:
            break
        spec = {
            "host": host,
            "port": port,
            "token": token,
            "seed": args.seed if push else "",
            "source": f"127.0.0.{k + 2}",
            "first": first,
            "count": count,
            "push": push,
            "duration": duration,
            "poll": args.poll,
            "after_push": args.after_push,
            "heartbeat": args.heartbeat if push else 0,
            "slide_s": args.slide if args.after_push == "fetch+shot" else 0.0,
        }
        procs.append(
            await asyncio.create_subprocess_exec(
                sys.executable,
                str(Path(__file__).resolve()),
                "--client",
                json.dumps(spec),
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
                limit=1 << 26,
                # The clients stand in for screens on other machines: on these 2 shared
                # cores they yield to the hub rather than take its CPU (--client-nice).
                preexec_fn=(lambda: os.nice(args.client_nice)) if args.client_nice else None,
            )
        )
    for proc in procs:
        assert proc.stdout is not None
        line = await proc.stdout.readline()
        if line.strip() != b"ready":
            raise RuntimeError(f"a client process failed to connect its screens: {line[:200]!r}")
    return procs


async def send_all(procs: list[asyncio.subprocess.Process], line: str) -> None:
    for proc in procs:
        assert proc.stdin is not None
        proc.stdin.write(line.encode() + b"\n")
        await proc.stdin.drain()


async def fleet_announce(
    host: str, port: int, token: str, procs: list[asyncio.subprocess.Process], i: int
) -> tuple[float, float]:
    """Raises an alert; (seconds until the last screen of every client has the version,
    the perf_counter when the request was sent)."""
    admin = Http(host, port)
    t0 = time.perf_counter()
    status, _, data = await admin.request(
        "POST",
        "/api/v1/alerts",
        {"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
        raise_alert_body(i),
    )
    admin.close()
    if status // 100 != 2:
        raise RuntimeError(f"alert raise refused: {status} {data[:200]!r}")
    version = int(json.loads(data)["version"])
    await send_all(procs, f"version {version}")
    last, missed, lags = [], 0, []
    for proc in procs:
        assert proc.stdout is not None
        line = await proc.stdout.readline()
        if not line.startswith(b"arrived "):
            raise RuntimeError(f"a client process answered {line[:200]!r}")
        last.append(float(line.split()[2]))
        missed += int(line.split()[3])
        lags.append(float(line.split()[4]))
    if missed:
        print(f"alert {i}: {missed} screens did not get version {version} within 20 s")
    slowest = max(range(len(last)), key=last.__getitem__)
    print(
        f"alert {i}: last of {len(last)} clients at {(last[slowest] - t0) * 1000:.0f} ms; that"
        f" client's own loop was late by {lags[slowest]:.0f} ms when it read it (clients:"
        f" {', '.join(f'{(t - t0) * 1000:.0f}' for t in last)} ms)"
    )
    return max(last) - t0, t0


ALERT_WINDOW_S = 5.0  # a manifest sample sent this soon after an alert's raise is "after"
ON_TIME_MS = 5.0  # a client loop this late or less counts as on time


def phase_lines(stats: Stats, raised: list[float]) -> list[str]:
    """The clients' manifest samples split by why and when they were sent, each group with
    the clients' own lateness beside it: how much of the p99 is the hub and how much the
    load generator. Every sample is in exactly one group; none is dropped."""
    groups: dict[str, list[int]] = {"steady": [], "timer, after an alert": [], "push sync": []}
    for i, (t0, why) in enumerate(zip(stats.manifest_t0, stats.manifest_why, strict=True)):
        if why == "push":
            groups["push sync"].append(i)
        elif any(0 <= t0 - r <= ALERT_WINDOW_S for r in raised):
            groups["timer, after an alert"].append(i)
        else:
            groups["steady"].append(i)
    ms, send, during = stats.manifest_ms, stats.manifest_late_send_ms, stats.manifest_late_during_ms
    total = len(ms)
    slow = [i for i in range(total) if ms[i] > MANIFEST_P99_TARGET_MS]
    lines = [
        f"manifest samples by phase ({total} in all; 'after an alert' = sent within"
        f" {ALERT_WINDOW_S:.0f} s of a raise; client late = its own loop's lateness, at send"
        f" (timer) and the worst while the request was in flight):"
    ]
    for name, idx in groups.items():
        if not idx:
            lines.append(f"  {name}: none")
            continue
        own = [max(send[i], during[i]) for i in idx]
        on_time = [ms[i] for i, o in zip(idx, own, strict=True) if o <= ON_TIME_MS]
        net = [max(0.0, ms[i] - o) for i, o in zip(idx, own, strict=True)]
        over = sum(1 for i in idx if ms[i] > MANIFEST_P99_TARGET_MS)
        lines.append(
            f"  {name}: {len(idx)} ({len(idx) / total * 100:.1f} %), p50"
            f" {pct([ms[i] for i in idx], 50):.1f} ms, p99 {pct([ms[i] for i in idx], 99):.1f}"
            f" ms, max {max(ms[i] for i in idx):.0f} ms; > {MANIFEST_P99_TARGET_MS:.0f} ms:"
            f" {over} ({over / max(1, len(slow)) * 100:.0f} % of all such); client late at send"
            f" p99 {pct([send[i] for i in idx], 99):.1f} ms, during p99"
            f" {pct([during[i] for i in idx], 99):.1f} ms; with the client on time (<="
            f" {ON_TIME_MS:.0f} ms both): {len(on_time)} samples, p99 {pct(on_time, 99):.1f} ms;"
            f" latency minus the client's lateness p99 {pct(net, 99):.1f} ms"
        )
    lines.append(
        f"  version events that carried the signed manifest (taken without a request):"
        f" {stats.pushed_pairs}"
    )
    if stats.spreads:
        lines.append(
            f"heartbeats: {stats.slide_shots} timer beats carried a screenshot owed after slide"
            f" changes; the beat_spread_s a screen's channel said when it opened: median"
            f" {statistics.median(stats.spreads):.1f} s (min {min(stats.spreads):.1f}, max"
            f" {max(stats.spreads):.1f})"
        )
    if stats.sig_ms:
        lines.append(
            f"  feed.json.sig after a push sync's 200: {len(stats.sig_ms)}, p50"
            f" {pct(stats.sig_ms, 50):.1f} ms, p99 {pct(stats.sig_ms, 99):.1f} ms;"
            f" heartbeats nudged after a new version: {stats.nudged_beats}"
        )
    return lines


async def collect_stats(procs: list[asyncio.subprocess.Process]) -> Stats:
    """Every client's figures, merged (they arrive when the load phase ends)."""
    stats = Stats()
    for proc in procs:
        assert proc.stdout is not None
        line = await proc.stdout.readline()
        if not line.startswith(b"stats "):
            raise RuntimeError(f"a client process ended badly: {line[:200]!r}")
        figures = json.loads(line[6:])
        stats.manifest_ms += figures["manifest_ms"]
        stats.manifest_t0 += figures["manifest_t0"]
        stats.manifest_why += figures["manifest_why"]
        stats.manifest_late_send_ms += figures["manifest_late_send_ms"]
        stats.manifest_late_during_ms += figures["manifest_late_during_ms"]
        stats.sig_ms += figures["sig_ms"]
        stats.nudged_beats += figures["nudged_beats"]
        stats.slide_shots += figures["slide_shots"]
        stats.spreads += figures["spreads"]
        stats.pushed_pairs += figures["pushed_pairs"]
        for code, count in figures["manifest_status"].items():
            stats.manifest_status[int(code)] = stats.manifest_status.get(int(code), 0) + count
        stats.heartbeat_ms += figures["heartbeat_ms"]
        stats.heartbeat_fail += figures["heartbeat_fail"]
        stats.client_lag_ms += figures["client_lag_ms"]
        for table, more in (
            (stats.heartbeat_why, figures["heartbeat_why"]),
            (stats.errors_why, figures["errors_why"]),
        ):
            for why, count in more.items():
                table[why] = table.get(why, 0) + count
        stats.errors += figures["errors"]
        stats.push_failed += figures["push_failed"]
        stats.push_closed += figures["push_closed"]
    return stats


async def finish_clients(procs: list[asyncio.subprocess.Process]) -> None:
    await send_all(procs, "bye")
    for proc in procs:
        await proc.wait()


@contextmanager
def nginx(folder: Path, work: Path, connections: int) -> Iterator[str]:
    """Debian's nginx, one worker, enough connections for the fleet, the documented config."""
    import socket

    exe = shutil.which("nginx") or "/usr/sbin/nginx"
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    conf = work / "nginx.conf"
    work.mkdir(parents=True, exist_ok=True)
    conf.write_text(
        f"""
user root;
worker_processes 1;
worker_rlimit_nofile {connections * 2 + 256};
pid {work}/nginx.pid;
error_log {work}/error.log warn;
events {{ worker_connections {connections * 2 + 256}; }}
http {{
    access_log off;
    client_body_temp_path {work}/cb; proxy_temp_path {work}/px;
    fastcgi_temp_path {work}/fc; uwsgi_temp_path {work}/uw; scgi_temp_path {work}/sc;
    keepalive_timeout 120; keepalive_requests 1000000;
    server {{
        listen 127.0.0.1:{port} backlog=4096;
        root {folder};
        include {NGINX_CONF};
    }}
}}
"""
    )
    proc = subprocess.Popen(
        [exe, "-p", str(work), "-c", str(conf), "-g", "daemon off;"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    try:
        deadline = time.monotonic() + 10
        while True:
            with suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
                break
            if proc.poll() is not None or time.monotonic() > deadline:
                raise RuntimeError(
                    f"nginx did not start: {proc.stderr.read() if proc.stderr else ''!r}"
                )
            time.sleep(0.05)
        yield f"http://127.0.0.1:{port}"
    finally:
        proc.terminate()
        try:
            proc.wait(10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(5)
        if proc.stderr is not None:
            proc.stderr.close()


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--screens", type=int, default=1000)
    parser.add_argument("--duration", type=float, default=60.0, help="hub load phase, seconds")
    parser.add_argument("--nginx-duration", type=float, default=40.0)
    parser.add_argument(
        "--poll",
        type=float,
        default=15.0,
        help="seconds between a screen's timer polls (default 15: issue 17's load; a player"
        f" whose push channel is up polls every {PUSH_SAFETY_POLL_S:.0f} s, so 15 is ~20x"
        " the players' own steady rate)",
    )
    parser.add_argument("--heartbeat", type=float, default=30.0)
    parser.add_argument(
        "--slide",
        type=float,
        default=10.0,
        help="seconds between a screen's slide changes (default 10): the heartbeat then owes"
        " a screenshot, sent with a beat at most every max(5 s, the hub's beat_spread_s) as"
        " Heartbeat does; 0: still screens (this bench before issue 17.4's fourth pass)",
    )
    parser.add_argument("--announces", type=int, default=3)
    parser.add_argument(
        "--clients", type=int, default=8, help="load-generator processes (default 8)"
    )
    parser.add_argument(
        "--client-nice",
        type=int,
        default=10,
        help="niceness of the client processes (default 10: they yield to the hub; 0: same)",
    )
    parser.add_argument(
        "--no-enrol",
        action="store_true",
        help="screens send heartbeats with the admin token, as this bench did before issue "
        "17 (the hub keeps at most --max-unenrolled, 200, such screens: the rest get 403)",
    )
    parser.add_argument(
        "--after-push",
        choices=("none", "fetch", "fetch+beat", "fetch+shot"),
        default="fetch+shot",
        help="what a screen does when a newer version is announced: as a player does by"
        " default (fetch feed.json and its signature at once, then a heartbeat with a fresh"
        " screenshot 0.25 s later); 'none': nothing (this bench before, the version arrives"
        " with the next timer poll)",
    )
    parser.add_argument(
        "--hub-tree",
        help="run the hub from this checkout instead (an A/B: e.g. /tmp/base-b0e); the"
        " screens stay this bench's",
    )
    parser.add_argument("--profile", help="record the hub with py-spy into this file (raw)")
    parser.add_argument("--client", help=argparse.SUPPRESS)  # internal: run one client
    args = parser.parse_args()
    if args.client:
        try:  # the load generator's own cost, kept down: it shares the 2 cores with the hub
            import uvloop

            uvloop.run(client_main(json.loads(args.client)))
        except ImportError:
            asyncio.run(client_main(json.loads(args.client)))
        return 0

    # The hub and the client processes (children of this one) inherit this limit; the hard
    # limit is raised too when allowed (root).
    # A screen holds its push channel open; its poll and heartbeat connections are closed
    # by the hub 2 s after each use (uvicorn's keep-alive timeout), so with 15 s polls and
    # 30 s heartbeats the hub holds ~1.2 descriptors a screen (3 at most).
    _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want, need = args.screens * 3 + 512, args.screens * 3 // 2 + 1024
    if hard < want:
        with suppress(ValueError, OSError):
            resource.setrlimit(resource.RLIMIT_NOFILE, (want, want))
        _, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    if hard < need:
        print(f"file descriptor hard limit {hard} < {need}: lower --screens", file=sys.stderr)
        return 2
    resource.setrlimit(resource.RLIMIT_NOFILE, (hard, hard))
    if args.hub_tree:  # run_hub starts `python -m signage` from helpers_hub.REPO
        import tests.helpers_hub

        tests.helpers_hub.REPO = Path(args.hub_tree).resolve()
        print(f"hub from {tests.helpers_hub.REPO}")
    random.seed(7)
    started = time.monotonic()
    args.seed = "" if args.no_enrol else secrets.token_hex(8)  # each screen's own token
    with tempfile.TemporaryDirectory() as tmp:
        root = make_content_root(Path(tmp) / "root")
        if args.seed:
            enrol_fleet(Path(tmp) / "data", args.seed, args.screens)
        with run_hub(data=Path(tmp) / "data", root=root) as hub:
            assert hub.token is not None
            spy = None
            if args.profile:  # where the hub's time goes: py-spy (pip install py-spy)
                exe = shutil.which("py-spy") or str(Path(sys.executable).with_name("py-spy"))
                seconds = str(int(args.duration) + 30)
                record = ["record", "-p", str(hub.process.pid), "-r", "50", "-f", "raw"]
                spy = subprocess.Popen(
                    [exe, *record, "-o", args.profile, "-d", seconds],
                    stdout=subprocess.DEVNULL,
                    stderr=subprocess.DEVNULL,
                )
            hub_fig = asyncio.run(hub_phase(hub.url, hub.token, hub.process.pid, args))
            logged = hub.stderr().splitlines()
            pauses = [line for line in logged if "garbage collection of" in line]
            print(
                f"hub's own log: {len(pauses)} garbage collections of >= 50 ms"
                + "".join(f"\n  {line[24:]}" for line in pauses[:12])
            )
            # what else it said (warnings, errors, tracebacks), by its first 60 characters
            said: dict[str, int] = {}
            for line in logged:
                if "garbage collection of" not in line and not line.startswith(" "):
                    said[line[24:84]] = said.get(line[24:84], 0) + 1
            top = sorted(said.items(), key=lambda i: -i[1])[:8]
            print(f"hub's other log lines: {len(logged) - len(pauses)}")
            for text, count in top:
                print(f"  {count} x {text}")
            if spy is not None:
                spy.terminate()  # ends the recording; it writes what it has
                spy.wait(30)
            feed_copy = Path(tmp) / "static-feed"
            shutil.copytree(hub.feed_dir, feed_copy, ignore=shutil.ignore_patterns(".*"))
        with nginx(feed_copy, Path(tmp) / "nginx", args.screens) as nginx_url:
            ngx = asyncio.run(poll_phase(nginx_url, args))
    n = args.screens
    per_screen_kb = (hub_fig["rss_connected_kb"] - hub_fig["rss_idle_kb"]) / n
    print(
        f"fleet: {n} simulated screens; poll {args.poll:.0f} s, heartbeat {args.heartbeat:.0f} s,"
        f" hub phase {args.duration:.0f} s, nginx phase {args.nginx_duration:.0f} s,"
        f" total {time.monotonic() - started:.0f} s"
    )
    print(f"connect {n} push channels + keep-alive connections: {hub_fig['connect_s']:.1f} s")
    a_ratio = hub_fig["announce_max_s"] / hub_fig["single_announce_s"]
    a_ok = verdict(hub_fig["announce_max_s"] <= ANNOUNCE_TARGET_S)
    m_ok = verdict(hub_fig["manifest_p99_ms"] <= MANIFEST_P99_TARGET_MS)
    n_ok = verdict(ngx["manifest_p99_ms"] <= MANIFEST_P99_TARGET_MS)
    last = hub_fig["announce_max_s"] * 1000
    print(
        f"announce (alert raised -> last of {n} channels): max {last:.0f}"
        f" ms, median {hub_fig['announce_median_s'] * 1000:.0f} ms over {args.announces};"
        f" baseline 1 channel {hub_fig['single_announce_s'] * 1000:.0f} ms; ratio {a_ratio:.1f}x;"
        f" target <= {ANNOUNCE_TARGET_S:.0f} s -> {a_ok}"
    )
    m_ratio = hub_fig["manifest_p99_ms"] / hub_fig["idle_manifest_p99_ms"]
    print(
        f"hub manifest under load, as the client processes saw it (their own lag included):"
        f" p50 {hub_fig['manifest_p50_ms']:.1f} ms, p99"
        f" {hub_fig['manifest_p99_ms']:.1f} ms ({hub_fig['manifest_requests']:.0f} requests,"
        f" {hub_fig['manifest_304']:.0f} x 304); baseline idle p99"
        f" {hub_fig['idle_manifest_p99_ms']:.1f} ms; ratio {m_ratio:.1f}x; target p99 <="
        f" {MANIFEST_P99_TARGET_MS:.0f} ms -> {m_ok}"
    )
    p_ok = verdict(hub_fig["probe_p99_ms"] <= MANIFEST_P99_TARGET_MS)
    print(
        f"probe screen (this process, a new connection every 0.1 s): manifest p50"
        f" {hub_fig['probe_p50_ms']:.1f} ms, p99 {hub_fig['probe_p99_ms']:.1f} ms, max"
        f" {hub_fig['probe_max_ms']:.0f} ms ({hub_fig['probe_n']:.0f} polls); target p99 <="
        f" {MANIFEST_P99_TARGET_MS:.0f} ms -> {p_ok}"
    )
    print(
        f"hub heartbeats: {hub_fig['heartbeats_ok']:.0f} ok, {hub_fig['heartbeats_failed']:.0f}"
        f" failed, p99 {hub_fig['heartbeat_p99_ms']:.1f} ms;"
        f" request errors {hub_fig['errors']:.0f};"
        f" push channels not opened {hub_fig['push_failed']:.0f}, closed by the hub"
        f" {hub_fig['push_closed']:.0f}"
    )
    print(
        f"hub memory: idle {hub_fig['rss_idle_kb'] / 1024:.1f} MiB, {n} connected"
        f" {hub_fig['rss_connected_kb'] / 1024:.1f} MiB, at end {hub_fig['rss_end_kb'] / 1024:.1f}"
        f" MiB -> {per_screen_kb:.1f} KiB per connected screen (push + polls),"
        f" {(hub_fig['rss_end_kb'] - hub_fig['rss_idle_kb']) / n:.1f} KiB with heartbeats too;"
        f" heartbeat worker process {hub_fig['hub_worker_rss_kb'] / 1024:.1f} MiB"
    )
    answered = hub_fig["manifest_requests"] + hub_fig["heartbeats_ok"]

    def share(cpu: float) -> str:
        return f"{cpu / hub_fig['load_s'] * 100:.0f} %"

    print(
        f"hub CPU during the load phase: {hub_fig['hub_cpu_s']:.1f} s in"
        f" {hub_fig['load_s']:.0f} s ({hub_fig['hub_cpu_s'] / hub_fig['load_s'] * 100:.0f} % of"
        f" one core: the event loop's process {share(hub_fig['hub_loop_cpu_s'])}, its children"
        f" (heartbeat worker) {share(hub_fig['hub_worker_cpu_s'])}),"
        f" {hub_fig['hub_cpu_s'] / max(answered, 1) * 1000:.2f} ms per poll or"
        f" heartbeat answered (push fan-out and connections included); the {args.clients}"
        f" client processes {hub_fig['clients_cpu_s'] / hub_fig['load_s'] * 100:.0f} % of one"
        f" core, their own event loops late by p99 {hub_fig['client_lag_p99_ms']:.0f} ms, max"
        f" {hub_fig['client_lag_max_ms']:.0f} ms; load average {hub_fig['load_start']:.1f} ->"
        f" {hub_fig['load_end']:.1f}"
    )
    print(
        f"hub event loop thread: runnable but waiting for a CPU {hub_fig['hub_loop_waited_s']:.1f}"
        f" s of the {hub_fig['load_s']:.0f} s (schedstat; this machine's other processes,"
        f" the clients and the heartbeat worker took the cores meanwhile)"
    )
    print(
        f"hub event loop (/healthz every 0.5 s on a kept-alive connection): median"
        f" {hub_fig['lag_p50_ms']:.1f} ms, max {hub_fig['lag_max_ms']:.0f} ms; connections the"
        f" kernel dropped for a full listen queue (any listener here):"
        f" {hub_fig['listen_overflows']:.0f}"
    )
    print(
        f"fleet list (GET /api/v1/screens, {hub_fig['screens_listed']:.0f} screens): median"
        f" {hub_fig['screens_list_ms']:.0f} ms; baseline /healthz {hub_fig['healthz_ms']:.1f} ms"
    )
    n_ratio = hub_fig["manifest_p99_ms"] / ngx["manifest_p99_ms"]
    print(
        f"nginx manifest, same polling: p50 {ngx['manifest_p50_ms']:.1f} ms, p99"
        f" {ngx['manifest_p99_ms']:.1f} ms ({ngx['manifest_requests']:.0f} requests,"
        f" {ngx['manifest_304']:.0f} x 304, errors {ngx['errors']:.0f}); idle p99"
        f" {ngx['idle_manifest_p99_ms']:.1f} ms; hub p99 / nginx p99 = {n_ratio:.1f}x;"
        f" target p99 <= {MANIFEST_P99_TARGET_MS:.0f} ms -> {n_ok}"
    )
    ok = (
        hub_fig["announce_max_s"] <= ANNOUNCE_TARGET_S
        and hub_fig["manifest_p99_ms"] <= MANIFEST_P99_TARGET_MS
        and hub_fig["probe_p99_ms"] <= MANIFEST_P99_TARGET_MS
        and hub_fig["errors"] == 0
        and hub_fig["heartbeats_failed"] == 0
        and hub_fig["push_failed"] == 0
        and hub_fig["push_closed"] == 0
    )
    print(f"overall: {verdict(ok)}")
    return 0 if ok else 1


if __name__ == "__main__":
    raise SystemExit(main())
