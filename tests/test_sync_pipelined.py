"""Small assets fetched with requests written ahead (HTTP/1.1 pipelining), against servers
that answer them, hold their small writes, close early, or lose them.

Every case ends the same way: the sync is ``updated``, every asset is in the cache and
verifies. What differs is how the requests went: over a few connections where the server
carries on, over new ones where it closes, the ordinary way where it does not answer.
"""

from __future__ import annotations

import contextlib
import socket
import threading
from collections.abc import Iterator
from dataclasses import dataclass, field
from datetime import UTC, datetime
from pathlib import Path

import pytest

from signage.feed.publish import publish
from signage.feed.store import Store
from signage.feed.sync import PIPELINED_LANES, SyncClient, Timeouts
from tests.helpers_feed import KeyPair, make_keypair, make_root, run_nginx, write_asset

N = 40


@pytest.fixture
def keys(tmp_path: Path) -> KeyPair:
    return make_keypair(tmp_path / "keys")


@dataclass
class RawServer:
    """A loopback HTTP/1.1 server on a bare socket, one thread per connection.

    ``mode``: ``keep`` answers every request on the connection in order, each answer
    written as its head and then its body (Nagle left on: the body waits for the head's
    ACK, as nginx's corked tails do); ``close`` answers one request with
    ``Connection: close`` and closes; ``limit`` does that after every ``limit`` answers
    (nginx's ``keepalive_requests``); ``drop`` answers one request per read and throws away
    whatever else that read brought (requests written ahead are lost).
    """

    folder: Path
    mode: str
    limit: int = 5
    answered: list[tuple[int, str]] = field(default_factory=list)  # (connection, path)
    most_waiting: int = 0  # the most whole requests one read brought
    proxied: int = 0  # requests for an absolute URL (the server used as a proxy)
    lock: threading.Lock = field(default_factory=threading.Lock)
    sock: socket.socket = field(default_factory=socket.socket)

    @property
    def url(self) -> str:
        return f"http://127.0.0.1:{self.sock.getsockname()[1]}/"

    def serve(self) -> None:
        conn_id = 0
        while True:
            try:
                conn, _ = self.sock.accept()
            except OSError:
                return
            conn_id += 1
            threading.Thread(target=self._connection, args=(conn, conn_id), daemon=True).start()

    def _connection(self, conn: socket.socket, conn_id: int) -> None:
        buf = b""
        count = 0
        with conn, contextlib.suppress(OSError):
            while True:
                while b"\r\n\r\n" not in buf:
                    data = conn.recv(65536)
                    if not data:
                        return
                    buf += data
                with self.lock:
                    self.most_waiting = max(self.most_waiting, buf.count(b"\r\n\r\n"))
                head, _, buf = buf.partition(b"\r\n\r\n")
                path = head.split(b" ")[1].decode()
                if path.startswith("http://"):  # asked as a proxy: serve it from here too
                    self.proxied += 1
                    path = "/" + path.split("/", 3)[3]
                count += 1
                close = self.mode == "close" or (self.mode == "limit" and count >= self.limit)
                self._answer(conn, conn_id, path, close=close)
                if close:
                    return
                if self.mode == "drop":
                    buf = b""

    def _answer(self, conn: socket.socket, conn_id: int, path: str, *, close: bool) -> None:
        target = self.folder / path.lstrip("/")
        body = target.read_bytes() if ".." not in path and target.is_file() else b"404\n"
        status = "200 OK" if body != b"404\n" else "404 Not Found"
        head = f"HTTP/1.1 {status}\r\nContent-Length: {len(body)}\r\n"
        if close:
            head += "Connection: close\r\n"
        with self.lock:
            self.answered.append((conn_id, path))
        conn.sendall(head.encode() + b"\r\n")
        conn.sendall(body)

    def asset_connections(self) -> dict[int, int]:
        """Asset answers per connection."""
        with self.lock:
            got: dict[int, int] = {}
            for conn_id, path in self.answered:
                if path.startswith("/assets/"):
                    got[conn_id] = got.get(conn_id, 0) + 1
            return got


@contextlib.contextmanager
def raw_server(folder: Path, mode: str, limit: int = 5) -> Iterator[RawServer]:
    server = RawServer(folder, mode, limit)
    server.sock.bind(("127.0.0.1", 0))
    server.sock.listen(64)
    thread = threading.Thread(target=server.serve, daemon=True)
    thread.start()
    try:
        yield server
    finally:
        with contextlib.suppress(OSError):
            server.sock.shutdown(socket.SHUT_RDWR)  # wakes the accept()
        server.sock.close()
        thread.join(timeout=5)


def _feed(tmp_path: Path, keys: KeyPair) -> Path:
    root = make_root(tmp_path / "root", n_assets=N, size=6_000)
    publish(root, tmp_path / "feed", keys.key, now=datetime.now(UTC))
    return tmp_path / "feed"


def _cold_sync(url: str, cache: Path, keys: KeyPair, read: float = 20.0) -> None:
    client = SyncClient(url, Store(cache), keys.pubkey, timeouts=Timeouts(connect=2.0, read=read))
    result = client.sync_once(datetime.now(UTC))
    client.close()
    assert result.status == "updated", result
    assert result.assets_downloaded == N
    assert Store(cache).verify() == []


def test_a_server_that_holds_small_writes_answers_requests_written_ahead(
    tmp_path: Path, keys: KeyPair
) -> None:
    with raw_server(_feed(tmp_path, keys), "keep") as server:
        _cold_sync(server.url, tmp_path / "cache", keys)
        per_connection = server.asset_connections()
        # The assets shared by the pipelined connections, several requests in one read.
        assert sorted(per_connection.values()) == [N // PIPELINED_LANES] * PIPELINED_LANES
        assert server.most_waiting > 1


def test_a_server_that_closes_after_every_answer(tmp_path: Path, keys: KeyPair) -> None:
    with raw_server(_feed(tmp_path, keys), "close") as server:
        _cold_sync(server.url, tmp_path / "cache", keys)
        assert sorted(server.asset_connections().values()) == [1] * N


def test_a_server_that_closes_after_a_few_answers_is_asked_again_on_new_connections(
    tmp_path: Path, keys: KeyPair
) -> None:
    with raw_server(_feed(tmp_path, keys), "limit", limit=5) as server:
        _cold_sync(server.url, tmp_path / "cache", keys)
        per_connection = server.asset_connections()
        assert sum(per_connection.values()) == N  # nothing asked twice
        # The first connection also carried the manifest and its signature.
        assert len(per_connection) <= N // 5 + PIPELINED_LANES, per_connection
        assert server.most_waiting > 1


def test_a_server_that_loses_requests_written_ahead(tmp_path: Path, keys: KeyPair) -> None:
    # It answers the first and then says nothing: after the read timeout (the pipeline's
    # silence) the rest goes the ordinary way, one request at a time.
    feed = _feed(tmp_path, keys)
    with raw_server(feed, "drop") as server:
        client = SyncClient(
            server.url, Store(tmp_path / "cache"), keys.pubkey, timeouts=Timeouts(2.0, 0.5)
        )
        cold = client.sync_once(datetime.now(UTC))
        assert cold.status == "updated" and cold.assets_downloaded == N
        assert Store(tmp_path / "cache").verify() == []
        assert sum(server.asset_connections().values()) == N
        assert server.most_waiting > 1  # requests were written ahead once
        # The next version: nothing is written ahead to that server again.
        for i in range(10):
            write_asset(tmp_path / "root", i, 6_000, seed=7)
        publish(tmp_path / "root", feed, keys.key, now=datetime.now(UTC))
        server.most_waiting = 0
        again = client.sync_once(datetime.now(UTC))
        client.close()
        assert again.status == "updated" and again.assets_downloaded == 10
        assert Store(tmp_path / "cache").verify() == []
        assert server.most_waiting == 1


@pytest.mark.nginx
def test_nginx_answers_small_assets_written_ahead_on_few_connections(
    tmp_path: Path, keys: KeyPair
) -> None:
    feed = _feed(tmp_path, keys)
    with run_nginx(feed, tmp_path / "nginx") as nginx:
        _cold_sync(nginx.url, tmp_path / "cache", keys)
        assets = [line for line in nginx.pipe_lines() if line[0].startswith("/assets/")]
        assert len(assets) == N
        assert len({conn for _, conn, _ in assets}) == PIPELINED_LANES, assets
        # nginx read most of them behind another request on that connection.
        assert sum(pipe == "p" for _, _, pipe in assets) >= N // 2, assets


def test_no_requests_written_ahead_through_a_proxy(
    tmp_path: Path, keys: KeyPair, monkeypatch: pytest.MonkeyPatch
) -> None:
    # A plain-http proxy may not keep answers in order for requests written ahead: the
    # sync goes through it the ordinary way, one request at a time per connection.
    with raw_server(_feed(tmp_path, keys), "keep") as proxy:
        monkeypatch.setenv("http_proxy", proxy.url)
        monkeypatch.delenv("no_proxy", raising=False)
        monkeypatch.delenv("NO_PROXY", raising=False)
        _cold_sync("http://feed.invalid/", tmp_path / "cache", keys)
        assert proxy.proxied == len(proxy.answered) >= N + 2
        assert proxy.most_waiting == 1
