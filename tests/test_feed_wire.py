"""The feed's HTTP/1.1 wire against a real loopback server that sends exact bytes.

Each case scripts what the server answers (chunked bodies with extensions and trailers,
interim 100 responses, HTTP/1.0, oversized heads, short bodies, conflicting lengths) and
checks what the client makes of it: the body it hands out, whether the connection can
carry the next request, and a ``ProtocolError`` (a ``ReadError`` through the transport)
for anything it refuses. An https feed reached through a ``CONNECT`` proxy shows the
tunnel; a stored ETag holding a line break is never sent.
"""

from __future__ import annotations

import contextlib
import select
import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest

from signage.feed.errors import ConnectError, ReadError
from signage.feed.publish import publish
from signage.feed.store import Store
from signage.feed.sync import SyncClient
from signage.feed.transport import Timeouts, Transport
from signage.feed.wire import (
    MAX_FIELDS,
    MAX_HEAD,
    MAX_INTERIM,
    Connection,
    ProtocolError,
    request_bytes,
)
from tests.helpers_feed import make_keypair, make_root
from tests.helpers_tls import Route, https_server, make_ca, server_cert


class Scripted:
    """A loopback server answering the n-th request on a connection with ``replies[n]``
    (then closing, if ``close_after``); records each request head and connection."""

    def __init__(self, replies: list[bytes], *, close_after: bool = False) -> None:
        self.replies = replies
        self.close_after = close_after
        self.requests: list[bytes] = []
        self.connections = 0
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.port = self.sock.getsockname()[1]
        self._stop = threading.Event()
        self._thread = threading.Thread(target=self._serve, daemon=True)

    def _serve(self) -> None:
        while not self._stop.is_set():
            ready, _, _ = select.select([self.sock], [], [], 0.05)
            if not ready:
                continue
            conn, _ = self.sock.accept()
            self.connections += 1
            with conn:
                for reply in self.replies:
                    head = b""
                    while b"\r\n\r\n" not in head:
                        got = conn.recv(4096)
                        if not got:
                            break
                        head += got
                    if not head:
                        break
                    self.requests.append(head)
                    conn.sendall(reply)
                if self.close_after:
                    conn.shutdown(socket.SHUT_RDWR)

    def __enter__(self) -> Scripted:
        self._thread.start()
        return self

    def __exit__(self, *exc: object) -> None:
        self._stop.set()
        self._thread.join(timeout=5)
        self.sock.close()


@contextlib.contextmanager
def connect(server: Scripted) -> Iterator[Connection]:
    conn = Connection(socket.create_connection(("127.0.0.1", server.port), timeout=5))
    try:
        yield conn
    finally:
        conn.close()


def body_of(conn: Connection) -> bytes:
    out = bytearray()
    buf = memoryview(bytearray(7))  # small reads cross chunk and buffer boundaries
    while n := conn.readinto(buf):
        out += buf[:n]
    return bytes(out)


def get(conn: Connection, path: str = "/x") -> None:
    conn.send(request_bytes("GET", path, "localhost", {}))


CHUNKED = (
    b'HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\nETag: "a"\r\n\r\n'
    b"5;name=value\r\nhello\r\n"
    b"0000B\r\n, chunked!!\r\n"
    b"0\r\nX-Trailer: yes\r\n\r\n"
)
PLAIN = b"HTTP/1.1 200 OK\r\nContent-Length: 4\r\n\r\nnext"


def test_a_chunked_body_with_extensions_and_trailers_then_the_next_response() -> None:
    with Scripted([CHUNKED, PLAIN]) as server, connect(server) as conn:
        get(conn)
        head = conn.read_head()
        assert (head.status, head.headers.get("etag")) == (200, '"a"')
        assert body_of(conn) == b"hello, chunked!!"
        assert conn.reusable  # the trailers were read: the next response starts clean
        get(conn, "/y")
        assert conn.read_head().status == 200
        assert body_of(conn) == b"next"
    assert server.connections == 1 and len(server.requests) == 2


def test_interim_100_responses_are_skipped_and_http10_ends_with_the_connection() -> None:
    reply = b"HTTP/1.1 100 Continue\r\n\r\nHTTP/1.0 200 OK\r\nServer: old\r\n\r\nuntil the end"
    with Scripted([reply], close_after=True) as server, connect(server) as conn:
        get(conn)
        head = conn.read_head()
        assert head.status == 200 and head.version == "HTTP/1.0"
        assert body_of(conn) == b"until the end"
        assert not conn.reusable


def test_connection_close_and_304_have_what_they_say() -> None:
    replies = [
        b'HTTP/1.1 304 Not Modified\r\nETag: "a"\r\n\r\n',
        b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nConnection: close\r\n\r\nok",
    ]
    with Scripted(replies) as server, connect(server) as conn:
        get(conn)
        assert conn.read_head().status == 304
        assert conn.done and conn.reusable and body_of(conn) == b""
        get(conn)
        assert conn.read_head().status == 200
        assert body_of(conn) == b"ok"
        assert conn.done and not conn.reusable


@pytest.mark.parametrize(
    ("reply", "found"),
    [
        (b"HTTP/1.1 200 OK\r\nX-Big: " + b"a" * (MAX_HEAD + 10) + b"\r\n\r\n", "head over"),
        (
            b"HTTP/1.1 200 OK\r\n" + b"X-F: 1\r\n" * (MAX_FIELDS + 1) + b"\r\n",
            "header fields",
        ),
        (b"HTTP/1.1 200 OK\r\nContent-Length: 3, 4\r\n\r\nabcd", "bad Content-Length"),
        (b"HTTP/1.1 200 OK\r\nContent-Length: -1\r\n\r\n", "bad Content-Length"),
        (b"ICY 200 OK\r\n\r\n", "not an HTTP/1.x status line"),
        (b"HTTP/1.1 200 OK\r\nno colon here\r\n\r\n", "malformed header field"),
        (b"HTTP/1.1 100 Continue\r\n\r\n" * (MAX_INTERIM + 1), "interim"),
    ],
)
def test_heads_it_refuses(reply: bytes, found: str) -> None:
    with Scripted([reply]) as server, connect(server) as conn:
        get(conn)
        with pytest.raises(ProtocolError, match=found):
            conn.read_head()


@pytest.mark.parametrize(
    ("reply", "found"),
    [
        (b"HTTP/1.1 200 OK\r\nContent-Length: 10\r\n\r\nshort", "in the middle of a body"),
        (b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\nzz\r\n", "bad chunk size"),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n3\r\nabcdef\r\n0\r\n\r\n",
            "longer than its size",
        ),
        (
            b"HTTP/1.1 200 OK\r\nTransfer-Encoding: chunked\r\n\r\n" + b"1" * 2000,
            "chunk line over",
        ),
    ],
)
def test_bodies_it_refuses(reply: bytes, found: str) -> None:
    with Scripted([reply], close_after=True) as server, connect(server) as conn:
        get(conn)
        conn.read_head()
        with pytest.raises(ProtocolError, match=found):
            body_of(conn)


def test_a_reply_the_transport_refuses_is_a_read_error_and_the_connection_is_dropped() -> None:
    with Scripted([b"HTTP/1.1 200 OK\r\nContent-Length: 9\r\n\r\nabc"], close_after=True) as s:
        transport = Transport(Timeouts(connect=2, read=2))
        resp = transport.get(f"http://127.0.0.1:{s.port}/feed.json")
        try:
            with pytest.raises(ReadError):
                resp.read_capped(100, "manifest")
        finally:
            resp.close(reuse=True)
        assert transport.open_sockets() == []


def test_a_header_value_with_a_line_break_is_never_sent() -> None:
    with pytest.raises(ValueError, match="line break"):
        request_bytes("GET", "/feed.json", "h", {"If-None-Match": '"a"\r\nX-Evil: 1'})
    with Scripted([PLAIN]) as server:
        transport = Transport(Timeouts(connect=2, read=2))
        url = f"http://127.0.0.1:{server.port}/feed.json"
        with pytest.raises(ConnectError, match="line break"):
            transport.get(url, {"If-None-Match": '"a"\nX-Evil: 1'})
        assert server.requests == []


@pytest.mark.parametrize(
    ("target", "headers", "fragment"),
    [
        ("/a b", {}, "space or line break"),
        ("/a\r\nX: 1", {}, "space or line break"),
        ("/a\0", {}, "space or line break"),
        ("/a", {"X-A": "b\0c"}, "line break"),
        ("/a", {"X-A\r": "b"}, "line break"),
        ("/a", {"X-A": "b\rc"}, "line break"),
    ],
)
def test_a_request_that_would_split_is_refused(
    target: str, headers: dict[str, str], fragment: str
) -> None:
    with pytest.raises(ValueError, match=fragment):
        request_bytes("GET", target, "h", headers)


def test_a_request_head_is_its_lines_in_order() -> None:
    head = request_bytes("GET", "/assets/x?y=1", "h:8", {"User-Agent": "u", "Range": "bytes=5-"})
    assert head == b"GET /assets/x?y=1 HTTP/1.1\r\nHost: h:8\r\nUser-Agent: u\r\n" + (
        b"Range: bytes=5-\r\n\r\n"
    )


class ConnectProxy:
    """A forward proxy on loopback that only opens ``CONNECT`` tunnels (https through a
    proxy), relaying bytes both ways; records each CONNECT target."""

    def __init__(self) -> None:
        self.targets: list[str] = []
        self.sock = socket.create_server(("127.0.0.1", 0))
        self.url = f"http://127.0.0.1:{self.sock.getsockname()[1]}"
        self._stop = threading.Event()
        self._threads: list[threading.Thread] = []

    def _accept(self) -> None:
        while not self._stop.is_set():
            ready, _, _ = select.select([self.sock], [], [], 0.05)
            if ready:
                conn, _ = self.sock.accept()
                t = threading.Thread(target=self._tunnel, args=(conn,), daemon=True)
                self._threads.append(t)
                t.start()

    def _tunnel(self, client: socket.socket) -> None:
        head = b""
        while b"\r\n\r\n" not in head and (got := client.recv(4096)):
            head += got
        method, target, _ = head.split(b"\r\n", 1)[0].split(b" ")
        self.targets.append(target.decode())
        if method != b"CONNECT":
            client.sendall(b"HTTP/1.1 405 Method Not Allowed\r\nContent-Length: 0\r\n\r\n")
            client.close()
            return
        host, port = target.decode().rsplit(":", 1)
        upstream = socket.create_connection((host, int(port)), timeout=5)
        client.sendall(b"HTTP/1.1 200 Connection established\r\n\r\n")
        pair = {client: upstream, upstream: client}
        with contextlib.suppress(OSError), client, upstream:
            while not self._stop.is_set():
                ready, _, _ = select.select(list(pair), [], [], 0.05)
                for s in ready:
                    data = s.recv(65536)
                    if not data:
                        return
                    pair[s].sendall(data)

    @contextlib.contextmanager
    def running(self) -> Iterator[ConnectProxy]:
        accept = threading.Thread(target=self._accept, daemon=True)
        accept.start()
        try:
            yield self
        finally:
            self._stop.set()
            accept.join(timeout=5)
            for t in self._threads:
                t.join(timeout=5)
            self.sock.close()


def _file_route(path: Path) -> Route:
    data = path.read_bytes() if path.is_file() else b""

    def route(handler: object) -> tuple[int, dict[str, str], bytes]:
        return 200, {"Content-Type": "application/octet-stream"}, data

    return route


def test_an_https_feed_through_a_connect_proxy(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    keys = make_keypair(tmp_path / "keys")
    root = make_root(tmp_path / "root", n_assets=3, size=30_000)
    feed = tmp_path / "feed"
    publish(root, feed, keys.key, now=datetime.now(UTC))
    ca = make_ca(tmp_path / "ca")
    routes = {f"/{p.relative_to(feed).as_posix()}": _file_route(p) for p in feed.rglob("*")}
    for name in ("http_proxy", "https_proxy", "all_proxy", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)
    proxy = ConnectProxy()
    with (
        https_server(server_cert(tmp_path / "tls", ca), routes) as (port, seen),
        proxy.running(),
    ):
        monkeypatch.setenv("https_proxy", proxy.url)
        client = SyncClient(
            f"https://127.0.0.1:{port}/",
            Store(tmp_path / "cache"),
            keys.pubkey,
            ca_bundle=str(ca.pem),
            workers=2,
        )
        result = client.sync_once(datetime.now(UTC))
        client.close()
    assert result.status == "updated", result.reason
    assert result.assets_downloaded == 3
    assert proxy.targets and set(proxy.targets) == {f"127.0.0.1:{port}"}
    assert sum(1 for p in seen if p.startswith("/assets/")) == 3
    assert Store(tmp_path / "cache").verify(deep=True) == []


@pytest.mark.parametrize("url", ["http://127.0.0.1:99999/feed.json", "ftp://h/feed.json"])
def test_urls_it_cannot_fetch_are_connect_errors(url: str) -> None:
    with pytest.raises(ConnectError):
        Transport(Timeouts(connect=1, read=1)).get(url)


def test_each_url_reaches_its_own_server_and_path() -> None:
    """The transport remembers where a folder's URLs lead; URLs that only look alike
    (no path, another port, a query) still go where they say."""
    with Scripted([PLAIN] * 4) as one, Scripted([PLAIN] * 4) as two:
        transport = Transport(Timeouts(connect=2, read=2))
        for url in (
            f"http://127.0.0.1:{one.port}",
            f"http://127.0.0.1:{two.port}",
            f"http://127.0.0.1:{one.port}/assets/a",
            f"http://127.0.0.1:{two.port}/assets/b",
            f"http://127.0.0.1:{one.port}/assets/c?v=1",
            f"http://127.0.0.1:{two.port}/assets/",
        ):
            resp = transport.get(url)
            assert resp.read_capped(10, "x") == b"next"
            resp.close(reuse=True)
        transport.close()
    first_lines = [r.split(b"\r\n", 1)[0] for r in one.requests + two.requests]
    assert first_lines == [
        b"GET / HTTP/1.1",
        b"GET /assets/a HTTP/1.1",
        b"GET /assets/c?v=1 HTTP/1.1",
        b"GET / HTTP/1.1",
        b"GET /assets/b HTTP/1.1",
        b"GET /assets/ HTTP/1.1",
    ]
