"""The hub's server pieces: httptools + uvloop by default, h11 + asyncio on request, and the
request-head guards on both.

Real ``signage serve`` subprocesses, one per parser (``SIGNAGE_HUB_PURE=1`` in the hub's
environment asks for h11). Each is sent, over raw sockets: a request head far over the
16 KiB cap in one piece and trickled in small pieces (refused, the connection closed, the
hub's memory unchanged), two pipelined requests in one write (both answered, in order),
and a conditional manifest poll (200, then 304).
"""

from __future__ import annotations

import socket
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from signage.hub.connections import MAX_HEAD_BYTES
from signage.hub.server_pieces import guarded_protocol, manifest_lane, server_pieces
from tests.helpers_hub import RunningHub, make_content_root, run_hub

BOTH = frozenset({"httptools", "uvloop"})


def test_the_pieces_are_httptools_and_uvloop_when_both_are_there() -> None:
    assert server_pieces({}, BOTH) == ("httptools", "uvloop")
    assert server_pieces({"SIGNAGE_HUB_PURE": "0"}, BOTH) == ("httptools", "uvloop")
    assert server_pieces({"SIGNAGE_HUB_PURE": "1"}, BOTH) == ("h11", "asyncio")
    assert server_pieces({}, frozenset({"httptools"})) == ("h11", "asyncio")
    assert server_pieces({}, frozenset()) == ("h11", "asyncio")
    assert manifest_lane({}) and manifest_lane({"SIGNAGE_HUB_LANE": "1"})
    assert not manifest_lane({"SIGNAGE_HUB_LANE": "0"})
    assert not manifest_lane({"SIGNAGE_HUB_PURE": "1"})
    cls = guarded_protocol(500, 3.0, "httptools")
    assert cls.max_connections == 500  # type: ignore[attr-defined]
    assert cls.header_timeout_s == 3.0  # type: ignore[attr-defined]


def _start(piece: str, tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[RunningHub]:
    if piece == "h11":
        monkeypatch.setenv("SIGNAGE_HUB_PURE", "1")
    else:
        monkeypatch.delenv("SIGNAGE_HUB_PURE", raising=False)
    root = make_content_root(tmp_path / "root")
    with run_hub(data=tmp_path / "hubdata", root=root) as h:
        line = next(ln for ln in h.stdout_lines if " parser and the " in ln)
        want = {"httptools": "httptools parser and the uvloop", "h11": "h11 parser and the asyncio"}
        assert want[piece] in line, line
        yield h


@pytest.fixture(params=["httptools", "h11"])
def hub(
    request: pytest.FixtureRequest, tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> Iterator[RunningHub]:
    yield from _start(request.param, tmp_path, monkeypatch)


@pytest.fixture
def fast_hub(tmp_path: Path, monkeypatch: pytest.MonkeyPatch) -> Iterator[RunningHub]:
    yield from _start("httptools", tmp_path, monkeypatch)


def _port(hub: RunningHub) -> int:
    return int(hub.url.rsplit(":", 1)[1])


def _rss_kb(pid: int) -> int:
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        if line.startswith("VmRSS:"):
            return int(line.split()[1])
    raise AssertionError("no VmRSS")


def _read_all(sock: socket.socket, timeout: float = 10.0) -> bytes:
    sock.settimeout(timeout)
    data = b""
    try:
        while piece := sock.recv(65536):
            data += piece
    except ConnectionResetError:
        pass
    return data


def test_a_head_over_the_cap_in_one_piece_is_refused(fast_hub: RunningHub) -> None:
    # httptools only: h11 caps the head it holds while incomplete, so a head that arrives
    # whole in one read (up to the loop's 256 KiB read size) passes it.
    hub = fast_hub
    big = b"X-Filler: " + b"a" * (MAX_HEAD_BYTES + 1024) + b"\r\n"
    with socket.create_connection(("127.0.0.1", _port(hub)), timeout=10) as sock:
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: hub\r\n" + big + b"\r\n")
        answer = _read_all(sock)  # returns once the hub closed the connection
    assert answer.startswith(b"HTTP/1.1 431 "), answer[:200]
    assert b'"ok"' not in answer  # the request was never served
    # A head just under the cap is served.
    fits = b"X-Filler: " + b"a" * (MAX_HEAD_BYTES - 200) + b"\r\n"
    with socket.create_connection(("127.0.0.1", _port(hub)), timeout=10) as sock:
        sock.sendall(
            b"GET /healthz HTTP/1.1\r\nHost: hub\r\nConnection: close\r\n" + fits + b"\r\n"
        )
        assert _read_all(sock).startswith(b"HTTP/1.1 200 ")


def test_a_trickled_endless_header_is_cut_near_the_cap(hub: RunningHub) -> None:
    pid = hub.process.pid
    before = _rss_kb(pid)
    socks = []
    sent: list[int] = []
    for _ in range(20):
        sock = socket.create_connection(("127.0.0.1", _port(hub)), timeout=10)
        sock.sendall(b"GET /healthz HTTP/1.1\r\nHost: hub\r\nX-Endless: ")
        socks.append(sock)
        sent.append(0)
    piece = b"b" * 4096
    open_socks = set(range(len(socks)))
    deadline = time.monotonic() + 30
    # Up to 4 MiB each (80 MiB in all) of one header value that never ends.
    while open_socks and time.monotonic() < deadline:
        for i in list(open_socks):
            try:
                socks[i].sendall(piece)
                sent[i] += len(piece)
            except (BrokenPipeError, ConnectionResetError):
                open_socks.discard(i)
                continue
            if sent[i] >= 4 * 1024 * 1024:
                open_socks.discard(i)
    for i, sock in enumerate(socks):
        answer = _read_all(sock, 5)
        sock.close()
        assert answer == b"" or answer.startswith((b"HTTP/1.1 431 ", b"HTTP/1.1 400 ")), answer[
            :100
        ]
        # cut near the cap: the socket buffers let some more out, never megabytes
        assert sent[i] < MAX_HEAD_BYTES + 3 * 1024 * 1024, sent[i]
    grown_mb = (_rss_kb(pid) - before) / 1024
    assert grown_mb < 24, f"RSS grew by {grown_mb:.1f} MB"
    assert requests.get(hub.url + "/healthz", timeout=5).status_code == 200


def test_pipelined_requests_and_conditional_polls_are_answered(hub: RunningHub) -> None:
    with socket.create_connection(("127.0.0.1", _port(hub)), timeout=10) as sock:
        sock.sendall(
            b"GET /healthz HTTP/1.1\r\nHost: hub\r\n\r\n"
            b"GET /feed.json HTTP/1.1\r\nHost: hub\r\nConnection: close\r\n\r\n"
        )
        answer = _read_all(sock)
    first = answer.find(b"HTTP/1.1 200 ")
    second = answer.find(b"HTTP/1.1 200 ", first + 1)
    assert first == 0 and second > 0, answer[:300]
    assert b'"ok"' in answer[:second] and b'"version"' in answer[second:]
    feed = requests.get(hub.url + "/feed.json", timeout=5)
    assert feed.status_code == 200
    again = requests.get(
        hub.url + "/feed.json", headers={"If-None-Match": feed.headers["ETag"]}, timeout=5
    )
    assert again.status_code == 304 and again.content == b""
    assert again.headers["ETag"] == feed.headers["ETag"]
    assert "Traceback" not in hub.stderr()
