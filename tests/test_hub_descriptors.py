"""Connection floods against a real hub run under ``ulimit -n 1024``.

A real ``signage serve`` subprocess whose open-file limit is 1,024 (soft and hard, so it
cannot raise it). Push channels are opened past what it can hold: exactly its announced
``max_push`` are served, the rest get 503 with ``Retry-After``, and meanwhile ``/healthz``,
``/feed.json`` and a heartbeat still answer. Plain connections past its connection cap
are answered 503 and closed at once, and the hub never runs out of descriptors. Clients
that trickle a request head (or send nothing) are closed after the header timeout. Each
test runs on both server pieces (httptools + uvloop, h11 + asyncio).
"""

from __future__ import annotations

import re
import resource
import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from signage.hub.connections import RESERVED_CONNECTIONS, RESERVED_FILES, plan_budget
from tests.helpers_hub import RunningHub, make_content_root, run_hub

ADMIN = "admin-token-fds-0123456"
SCREEN = "screen-token-fds-987654"
HEADER_TIMEOUT = 2.0
BUDGET = re.compile(r"open-file limit (\d+).*?up to (\d+) connections, (\d+) of them push")


@pytest.fixture(autouse=True)
def _enough_files_for_the_clients() -> None:
    # The test process itself holds ~1,000 client sockets.
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    want = 4096 if hard == resource.RLIM_INFINITY else min(hard, 4096)
    if soft < want:
        resource.setrlimit(resource.RLIMIT_NOFILE, (want, hard))
    assert resource.getrlimit(resource.RLIMIT_NOFILE)[0] >= 2048, "raise this runner's limit"


@pytest.fixture(params=["httptools", "h11"])
def hub(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[RunningHub]:
    # Both server pieces hold the same guards (signage.hub.server_pieces).
    if request.param == "h11":
        monkeypatch.setenv("SIGNAGE_HUB_PURE", "1")
    else:
        monkeypatch.delenv("SIGNAGE_HUB_PURE", raising=False)
    root = make_content_root(tmp_path / "root")
    with run_hub(
        data=tmp_path / "hubdata",
        root=root,
        token=ADMIN,
        screen_token=SCREEN,
        open_files=1024,
        extra_args=["--header-timeout", str(HEADER_TIMEOUT)],
    ) as h:
        assert f"{request.param} parser" in "".join(h.stdout_lines)
        yield h


def _port(hub: RunningHub) -> int:
    return int(hub.url.rsplit(":", 1)[1])


def _budget(hub: RunningHub) -> tuple[int, int, int]:
    line = next(ln for ln in hub.stdout_lines if "open-file limit" in ln)
    match = BUDGET.search(line)
    assert match, line
    files, connections, push = (int(g) for g in match.groups())
    return files, connections, push


def _head(sock: socket.socket) -> bytes:
    data = b""
    while b"\r\n\r\n" not in data:
        piece = sock.recv(4096)
        if not piece:
            break
        data += piece
    return data


def _open_push(port: int) -> tuple[socket.socket, bytes]:
    sock = socket.create_connection(("127.0.0.1", port), timeout=20)
    sock.sendall(b"GET /api/v1/push HTTP/1.1\r\nHost: hub\r\n\r\n")
    return sock, _head(sock)


def _open_files(pid: int) -> int:
    return len(list(Path(f"/proc/{pid}/fd").iterdir()))


def _closed_by_peer(sock: socket.socket, timeout: float) -> bool:
    sock.settimeout(timeout)
    try:
        while sock.recv(4096):
            pass
    except TimeoutError:
        return False
    except ConnectionResetError:
        return True
    return True


def test_the_budget_keeps_room_for_everything_but_push() -> None:
    b = plan_budget(1024, 1024, 10_000)
    assert b.max_connections == 1024 - RESERVED_FILES
    assert b.max_push == b.max_connections - RESERVED_CONNECTIONS
    assert plan_budget(1 << 20, 1024, 500).max_push == 500  # the operator's cap wins
    assert plan_budget(100, 100, 10_000).max_push == 0  # too few to push at all
    assert "raised from 1024" in plan_budget(4096, 1024, 10).describe()


def test_push_channels_past_the_descriptor_limit(hub: RunningHub) -> None:
    files, max_connections, max_push = _budget(hub)
    assert files == 1024  # the hard limit: it could not raise it
    port = _port(hub)
    pid = hub.process.pid
    held: list[socket.socket] = []
    refused = 0
    try:
        for _ in range(max_push + 60):
            sock, head = _open_push(port)
            if head.startswith(b"HTTP/1.1 200"):
                held.append(sock)
                continue
            assert head.startswith(b"HTTP/1.1 503"), head[:200]
            assert b"retry-after: 30" in head.lower()
            refused += 1
            assert _closed_by_peer(sock, 5), "a refused push channel must free its descriptor"
            sock.close()
        assert len(held) == max_push
        assert refused == 60
        # Everything that is not push still answers while every channel is held.
        assert requests.get(hub.url + "/healthz", timeout=10).status_code == 200
        feed = requests.get(hub.url + "/feed.json", timeout=10)
        assert feed.status_code == 200 and feed.json()["version"] > 0
        beat = requests.post(
            hub.url + "/api/v1/heartbeat",
            json={"screen": "vestibulo", "version": 1},
            headers={"Authorization": f"Bearer {SCREEN}"},
            timeout=10,
        )
        assert beat.status_code == 200, beat.text
        assert _open_files(pid) < files - 64
        # Plain connections past the connection cap are refused at the door, not queued
        # until the process runs out of descriptors.
        extra: list[socket.socket] = []
        busy = 0
        for _ in range(max_connections - max_push + 40):
            sock = socket.create_connection(("127.0.0.1", port), timeout=20)
            extra.append(sock)
        for sock in extra:
            sock.settimeout(0.5)
            try:
                first = sock.recv(4096)
            except TimeoutError:
                continue
            if first.startswith(b"HTTP/1.1 503"):
                assert b"Retry-After" in first
                busy += 1
        assert busy >= 40
        assert _open_files(pid) < files
        for sock in extra:
            sock.close()
        # Once the flood is gone (closed, or timed out by the hub), the hub answers again.
        deadline = time.monotonic() + 10
        while True:
            try:
                if requests.get(hub.url + "/healthz", timeout=5).status_code == 200:
                    break
            except requests.ConnectionError:
                pass
            assert time.monotonic() < deadline, "hub did not recover after the flood"
            time.sleep(0.2)
    finally:
        for sock in held:
            sock.close()
    err = hub.stderr()
    assert "Too many open files" not in err
    assert "Traceback" not in err


def test_slow_and_silent_clients_are_closed_after_the_header_timeout(hub: RunningHub) -> None:
    port = _port(hub)
    slow = [socket.create_connection(("127.0.0.1", port), timeout=20) for _ in range(50)]
    silent = [socket.create_connection(("127.0.0.1", port), timeout=20) for _ in range(5)]
    for sock in slow:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: hub\r\n")
    start = time.monotonic()
    open_socks = list(slow)
    closed_at: list[float] = []
    # One more header byte each, every 0.3 s: under the timeout per byte, never a full head.
    while open_socks and time.monotonic() - start < HEADER_TIMEOUT + 8:
        for sock in list(open_socks):
            try:
                sock.sendall(b"X")
            except (BrokenPipeError, ConnectionResetError):
                closed_at.append(time.monotonic() - start)
                open_socks.remove(sock)
        # The hub answers others while it is being trickled.
        assert requests.get(hub.url + "/healthz", timeout=5).status_code == 200
        time.sleep(0.3)
    assert not open_socks, f"{len(open_socks)} slow-header connections still open"
    assert max(closed_at) < HEADER_TIMEOUT + 6
    for sock in silent:
        assert _closed_by_peer(sock, 5)
    for sock in slow + silent:
        sock.close()
