"""Hostile bodies against a real hub: every body is capped while it streams, JSON depth and
query values are bounded, and the hub's memory stays put.

A real ``signage serve`` subprocess. Chunked bodies far larger than any cap are streamed to
each route that reads a body (heartbeat and events with the screen token; alerts, CAP and
Alertmanager with the admin token), ten at once; each is refused with 413 after about its
cap, and the hub's peak resident memory (``VmHWM`` in ``/proc/PID/status``) grows by less
than ``RSS_BOUND_MB``, where reading them whole would take 640 MB.
"""

from __future__ import annotations

import json
import select
import socket
import threading
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from signage.hub.limits import body_limit, json_depth, json_shape, parse_json
from tests.helpers_hub import RunningHub, make_content_root, run_hub

ADMIN = "admin-token-limits-0123"
SCREEN = "screen-token-limits-4567"
STREAMED = 64 * 1024 * 1024  # what each hostile client is ready to send
CHUNK = 64 * 1024
# Ten bodies capped at 1-4 MiB, each copied at most twice while read: well under this.
RSS_BOUND_MB = 96

ROUTES = [
    ("/api/v1/heartbeat", SCREEN),
    ("/api/v1/events", SCREEN),
    ("/api/v1/alerts", ADMIN),
    ("/api/v1/alerts/cap", ADMIN),
    ("/api/v1/alerts/alertmanager", ADMIN),
]


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[RunningHub]:
    root = make_content_root(tmp_path / "root")
    with run_hub(data=tmp_path / "hubdata", root=root, token=ADMIN, screen_token=SCREEN) as h:
        yield h


def _port(hub: RunningHub) -> int:
    return int(hub.url.rsplit(":", 1)[1])


def _status_kb(pid: int) -> dict[str, int]:
    out: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            out[name] = int(value.split()[0])
    return out


def _read_response(sock: socket.socket) -> tuple[int, bytes]:
    sock.settimeout(15)
    data = b""
    while True:
        head, sep, body = data.partition(b"\r\n\r\n")
        if sep:
            length = next(
                (
                    int(line.split(b":", 1)[1])
                    for line in head.lower().split(b"\r\n")
                    if line.startswith(b"content-length:")
                ),
                0,
            )
            if len(body) >= length:
                break
        try:
            piece = sock.recv(65536)
        except ConnectionResetError:
            break
        if not piece:
            break
        data += piece
    status = int(head.split(b" ", 2)[1]) if head.startswith(b"HTTP/1.1 ") else 0
    return status, body


def chunked_post(port: int, path: str, token: str, total: int = STREAMED) -> tuple[int, int]:
    """Streams up to ``total`` bytes as a chunked body until the hub answers; returns the
    status and how many body bytes went out."""
    sock = socket.create_connection(("127.0.0.1", port), timeout=30)
    try:
        sock.sendall(
            (
                f"POST {path} HTTP/1.1\r\nHost: hub\r\nAuthorization: Bearer {token}\r\n"
                "Content-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n"
            ).encode()
        )
        piece = f"{CHUNK:x}\r\n".encode() + b"[" * CHUNK + b"\r\n"
        sent = 0
        while sent < total:
            readable, _, _ = select.select([sock], [], [], 0)
            if readable:
                break
            try:
                sock.sendall(piece)
            except (BrokenPipeError, ConnectionResetError):
                break
            sent += CHUNK
        return _read_response(sock)[0], sent
    finally:
        sock.close()


def test_declared_length_over_the_cap_is_refused_before_reading(hub: RunningHub) -> None:
    port = _port(hub)
    for path, token in ROUTES:
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(
                (
                    f"POST {path} HTTP/1.1\r\nHost: hub\r\nAuthorization: Bearer {token}\r\n"
                    f"Content-Length: {10**12}\r\n\r\n"
                ).encode()
            )
            status, body = _read_response(sock)
        assert status == 413, (path, body)
        assert b"byte limit" in body


def test_ten_chunked_bodies_at_once_are_cut_at_their_caps(hub: RunningHub) -> None:
    pid = hub.process.pid
    before = _status_kb(pid)
    port = _port(hub)
    results: dict[int, tuple[str, int, int]] = {}

    def client(i: int) -> None:
        path, token = ROUTES[i % len(ROUTES)]
        status, sent = chunked_post(port, path, token)
        results[i] = (path, status, sent)

    threads = [threading.Thread(target=client, args=(i,)) for i in range(10)]
    for t in threads:
        t.start()
    for t in threads:
        t.join(120)
    after = _status_kb(pid)
    assert len(results) == 10
    for path, status, sent in results.values():
        assert status == 413, (path, status, sent)
        # Refused near the cap: the socket buffers let a few MB more out, never the 64 MB.
        assert sent < body_limit(path) + 16 * 1024 * 1024, (path, sent)
    grown_mb = (after["VmHWM"] - before["VmRSS"]) / 1024
    assert grown_mb < RSS_BOUND_MB, f"peak RSS grew by {grown_mb:.0f} MB"
    # The hub is still whole and answers.
    assert requests.get(hub.url + "/healthz", timeout=5).status_code == 200
    assert "Traceback" not in hub.stderr()


def test_deep_json_is_a_400_not_a_500(hub: RunningHub) -> None:
    deep = b"[" * 5_000 + b"]" * 5_000  # past the C parser's recursion limit
    for path, token in ROUTES:
        if path.endswith("/cap"):
            continue  # XML
        r = requests.post(
            hub.url + path,
            data=deep,
            headers={"Authorization": f"Bearer {token}", "Content-Type": "application/json"},
            timeout=10,
        )
        assert r.status_code == 400, (path, r.status_code, r.text[:200])
        assert "nested deeper" in r.json()["error"]
    assert "Traceback" not in hub.stderr()


@pytest.mark.parametrize(
    "query",
    [
        "since=9999-12-31",
        "since=2026-01-01&until=9999-12-31T23:59:59",
        "since=99999999999999d",
        "since=0001-01-01",
        "since=999999999w",
    ],
)
def test_report_refuses_out_of_range_periods(hub: RunningHub, query: str) -> None:
    r = requests.get(hub.url + "/api/v1/report?" + query, headers=hub.auth, timeout=10)
    assert r.status_code == 400, (query, r.status_code, r.text[:200])
    assert r.json()["error"]
    assert "Traceback" not in hub.stderr()


@pytest.mark.parametrize("value", ["inf", "1e308", "nan", "-5", "0", "x" * 5000])
def test_screens_refuses_absurd_windows(hub: RunningHub, value: str) -> None:
    r = requests.get(
        hub.url + "/api/v1/screens", params={"online_window": value}, headers=hub.auth, timeout=10
    )
    assert r.status_code == 400, (value, r.status_code)
    assert "online_window" in r.json()["error"]


def test_caps_by_route() -> None:
    assert body_limit("/api/v1/heartbeat") == 1024 * 1024
    assert body_limit("/api/v1/events") == 4 * 1024 * 1024
    assert body_limit("/api/v1/alerts/cap") == 1024 * 1024
    assert body_limit("/api/v1/republish") == 16 * 1024
    assert body_limit("/console/archivos") > 200 * 1024 * 1024  # uploads, capped inside
    assert body_limit("/api/v1/anything-new") == 1024 * 1024


def test_json_depth_scan_ignores_brackets_in_strings() -> None:
    assert json_depth(b'{"a": "[[[[[[", "b": [1, {"c": "\\"]]]"}]}') == 3
    assert json_depth(b'[{}, {}, [], [[1]], {"a": {}}]') == 3
    assert json_depth(b"42") == 0
    values, depth = json_shape(b'{"a": "x,y,z", "b": [1, 2, 3]}')
    assert depth == 2 and 5 <= values <= 8
    with pytest.raises(ValueError, match="more than 50000 values"):
        parse_json(b"[" + b"[]," * 60_000 + b"[]]")  # 240 KB that would be 60,000 lists
    with pytest.raises(ValueError, match="more than 50000 values"):
        parse_json(b"[" + b'"a",' * 60_000 + b'"a"]')
    assert parse_json(b'{"a": [1]}') == {"a": [1]}
    with pytest.raises(ValueError, match="nested deeper"):
        parse_json(b"[" * 33 + b"]" * 33)
    with pytest.raises(ValueError, match="not JSON"):
        parse_json(b"{")
    with pytest.raises(ValueError, match="UTF-8"):
        parse_json(b'"\xff"')
    assert json.dumps(parse_json(b"[" * 32 + b"]" * 32)).count("[") == 32
