"""The manifest lane (``signage.hub.fastpath``) answers as the feed route does.

A real hub (content root published and signed in-process) and its real Starlette app;
the same ASGI requests go to the app alone and through ``ManifestLane``, and every answer
must match: status, headers (as a set), body. Requests the lane must not answer (nothing
published yet, a body announced, other paths and methods) reach Starlette, seen by a
counting layer between the two. A real ``signage serve`` answers a poll with a body over
the cap 413 (Starlette's limit), and 304 on a plain conditional poll.
"""

from __future__ import annotations

import asyncio
import socket
from collections.abc import MutableMapping
from pathlib import Path
from typing import Any

import requests

from signage.feed.signing import generate_key
from signage.hub.app import create_app
from signage.hub.fastpath import ManifestLane
from signage.hub.state import Hub, HubConfig
from tests.helpers_hub import make_content_root, run_hub

Message = MutableMapping[str, Any]


def _scope(method: str, path: str, headers: list[tuple[bytes, bytes]]) -> dict[str, Any]:
    return {
        "type": "http",
        "asgi": {"version": "3.0", "spec_version": "2.3"},
        "http_version": "1.1",
        "method": method,
        "scheme": "http",
        "path": path,
        "raw_path": path.encode(),
        "query_string": b"",
        "root_path": "",
        "headers": [(b"host", b"hub"), *headers],
        "client": ("127.0.0.1", 50000),
        "server": ("127.0.0.1", 8750),
        "state": {},
    }


async def _call(app: Any, scope: dict[str, Any]) -> tuple[int, set[tuple[bytes, bytes]], bytes]:
    sent: list[Message] = []

    async def receive() -> Message:
        return {"type": "http.request", "body": b"", "more_body": False}

    async def send(message: Message) -> None:
        sent.append(message)

    await app(scope, receive, send)
    start = sent[0]
    body = b"".join(m.get("body", b"") for m in sent[1:])
    return start["status"], {(k.lower(), v) for k, v in start["headers"]}, body


class Counting:
    """An ASGI layer that counts the requests reaching the app behind it."""

    def __init__(self, app: Any) -> None:
        self.app = app
        self.seen = 0

    async def __call__(self, scope: Any, receive: Any, send: Any) -> None:
        if scope["type"] == "http":
            self.seen += 1
        await self.app(scope, receive, send)


def _hub(tmp_path: Path) -> Hub:
    root = make_content_root(tmp_path / "root")
    data = tmp_path / "data"
    return Hub(HubConfig(root=root, feed_dir=data / "feed", data_dir=data), key=generate_key())


def test_the_lane_answers_polls_as_the_feed_route_does(tmp_path: Path) -> None:
    hub = _hub(tmp_path)
    app = create_app(hub, watch=False)
    behind = Counting(app)
    lane = ManifestLane(behind, hub)
    # Nothing published: the lane passes the poll on, Starlette answers 404.
    status, _, _ = asyncio.run(_call(lane, _scope("GET", "/feed.json", [])))
    assert status == 404 and behind.seen == 1
    hub.publish_root("test")
    etag = hub.snapshot().manifest_etag.encode()
    cases = [
        ("GET", "/feed.json", []),
        ("GET", "/feed/feed.json", []),
        ("HEAD", "/feed.json", []),
        ("GET", "/feed.json", [(b"if-none-match", etag)]),
        ("HEAD", "/feed.json", [(b"if-none-match", etag)]),
        ("GET", "/feed.json", [(b"if-none-match", b'W/"nope", ' + etag)]),
        ("GET", "/feed.json", [(b"if-none-match", b"*")]),
        ("GET", "/feed.json", [(b"if-none-match", b'"stale"')]),
    ]
    for method, path, headers in cases:
        alone = asyncio.run(_call(app, _scope(method, path, headers)))
        before = behind.seen
        fast = asyncio.run(_call(lane, _scope(method, path, headers)))
        assert behind.seen == before, (method, path, headers)  # answered by the lane
        assert fast[0] == alone[0], (method, path, headers)
        assert fast[1] == alone[1], (method, path, headers, fast[1] ^ alone[1])
        if method == "GET":
            assert fast[2] == alone[2]
    # A new version: the lane serves it, not the one it built its answers from.
    old = etag
    hub.republish("again")
    status, headers_seen, body = asyncio.run(
        _call(lane, _scope("GET", "/feed.json", [(b"if-none-match", old)]))
    )
    assert status == 200 and body == hub.snapshot().manifest
    assert (b"x-signage-version", str(hub.current_version()).encode()) in headers_seen
    # Not the lane's: other paths, other methods, a poll announcing a body.
    for method, path, headers in [
        ("GET", "/feed.json.sig", []),
        ("GET", "/healthz", []),
        ("POST", "/feed.json", []),
        ("GET", "/feed.json", [(b"content-length", b"5")]),
        ("GET", "/feed.json", [(b"transfer-encoding", b"chunked")]),
    ]:
        before = behind.seen
        asyncio.run(_call(lane, _scope(method, path, headers)))
        assert behind.seen == before + 1, (method, path, headers)
    hub.close()


def test_a_served_hub_answers_polls_in_the_lane_and_bodies_at_the_door(tmp_path: Path) -> None:
    root = make_content_root(tmp_path / "root")
    with run_hub(data=tmp_path / "hubdata", root=root) as hub:
        first = requests.get(hub.url + "/feed.json", timeout=5)
        assert first.status_code == 200 and first.json()["version"] == hub.version()
        assert first.headers["X-Signage-Signature"]
        again = requests.get(
            hub.url + "/feed.json", headers={"If-None-Match": first.headers["ETag"]}, timeout=5
        )
        assert again.status_code == 304 and again.content == b""
        port = int(hub.url.rsplit(":", 1)[1])
        with socket.create_connection(("127.0.0.1", port), timeout=10) as sock:
            sock.sendall(
                b"GET /feed.json HTTP/1.1\r\nHost: hub\r\nContent-Length: 2000000000\r\n\r\n"
            )
            answer = sock.recv(4096)
        assert answer.startswith(b"HTTP/1.1 413 "), answer[:200]
