"""The fast cold-sync path: direct keep-alive connections, their fallbacks, and the flush.

The sync fetches everything over its transport's ``http.client`` connections (one per
download thread) and reads bodies straight into a reused buffer. Each case runs a real
loopback server that behaves one particular way (redirects assets, closes connections with
or without saying so, sends a body with no Content-Length that is too long) and checks the
cache afterwards. nginx's access log shows how many connections a cold sync opened.
"""

from __future__ import annotations

import contextlib
import os
import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path

import pytest

from signage import durable
from signage.durable import flush_filesystem
from signage.feed.publish import publish
from signage.feed.store import Store
from signage.feed.sync import RetryPolicy, SyncClient, Timeouts
from tests.helpers_feed import (
    KeyPair,
    make_keypair,
    make_root,
    nginx_available,
    run_nginx,
    serve_folder,
    write_asset,
)

FAST_RETRY = RetryPolicy(attempts=2, base_s=0.01, max_s=0.05)
SHORT = Timeouts(connect=2.0, read=2.0)


class Odd:
    """How the odd server treats asset requests (the manifest is always served plainly)."""

    def __init__(self, mode: str, folder: Path, redirect_to: str = "") -> None:
        self.mode = mode
        self.folder = folder
        self.redirect_to = redirect_to
        self.asset_requests = 0
        self.connections: set[tuple[str, int]] = set()
        self.lock = threading.Lock()


def _handler(odd: Odd) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            return

        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            target = odd.folder / path.lstrip("/")
            if not target.is_file():
                self.send_response(404)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            asset = path.startswith("/assets/")
            if asset:
                with odd.lock:
                    odd.asset_requests += 1
                    odd.connections.add(self.client_address)
            if asset and odd.mode == "redirect":
                self.send_response(302)
                self.send_header("Location", odd.redirect_to + path.lstrip("/"))
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            data = target.read_bytes()
            if asset and odd.mode == "nolength":
                # HTTP/1.0 style: no Content-Length, the body ends when the connection does,
                # and it is longer than the manifest announced.
                self.send_response(200)
                self.send_header("Connection", "close")
                self.end_headers()
                self.wfile.write(data + b"\0" * 3_000_000)
                self.close_connection = True
                return
            self.send_response(200)
            self.send_header("Content-Length", str(len(data)))
            if asset and odd.mode == "close":
                self.send_header("Connection", "close")
            self.end_headers()
            self.wfile.write(data)
            if asset and odd.mode in ("close", "drop"):
                # "drop": a keep-alive connection the server closes without having said so
                # (its idle timeout); the client learns it on its next request.
                self.wfile.flush()
                self.close_connection = True
                with contextlib.suppress(OSError):
                    self.connection.shutdown(socket.SHUT_RDWR)

    return Handler


@contextlib.contextmanager
def odd_server(odd: Odd) -> Iterator[str]:
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _handler(odd))
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield f"http://127.0.0.1:{httpd.server_address[1]}/"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=10)


def make_feed(tmp_path: Path, n: int = 6, size: int = 300_000) -> tuple[Path, KeyPair]:
    keys = make_keypair(tmp_path / "keys")
    root = make_root(tmp_path / "root", n_assets=n, size=size)
    feed = tmp_path / "feed"
    publish(root, feed, keys.key, now=datetime.now(UTC))
    return feed, keys


def client(url: str, cache: Path, keys: KeyPair, workers: int = 2) -> SyncClient:
    return SyncClient(
        url,
        Store(cache),
        keys.pubkey,
        timeouts=SHORT,
        retry=FAST_RETRY,
        workers=workers,
        sleep=lambda s: None,
    )


def assert_whole(cache: Path, n: int) -> None:
    store = Store(cache)
    assert store.verify(deep=True) == []
    manifest = store.current_manifest()
    assert manifest is not None and len(manifest.assets) == n


@pytest.mark.parametrize("mode", ["close", "drop"])
def test_connections_the_server_closes_are_reopened(tmp_path: Path, mode: str) -> None:
    feed, keys = make_feed(tmp_path)
    odd = Odd(mode, feed)
    with odd_server(odd) as url:
        sync = client(url, tmp_path / "cache", keys)
        result = sync.sync_once(datetime.now(UTC))
    assert result.status == "updated", result.reason
    assert result.assets_downloaded == 6
    # No socket stays registered for abort() after the sync (a long-lived player's client
    # would otherwise keep one per closed connection).
    assert not sync.transport.open_sockets()
    assert_whole(tmp_path / "cache", 6)
    # Every asset needed a connection of its own; "drop" costs one failed reuse each time,
    # answered on a new connection without a backoff or a second request of the asset.
    assert odd.asset_requests == 6
    assert len(odd.connections) == 6


def test_redirected_assets_are_followed_to_the_other_server(tmp_path: Path) -> None:
    feed, keys = make_feed(tmp_path)
    with serve_folder(feed) as real:
        odd = Odd("redirect", feed, redirect_to=real.url)
        with odd_server(odd) as url:
            result = client(url, tmp_path / "cache", keys).sync_once(datetime.now(UTC))
        served = real.requests_for("/assets/")
    assert result.status == "updated", result.reason
    assert odd.asset_requests == 6 and len(served) == 6
    assert_whole(tmp_path / "cache", 6)


def test_a_body_without_length_is_cut_one_byte_past_the_announced_size(tmp_path: Path) -> None:
    feed, keys = make_feed(tmp_path, n=1, size=200_000)
    odd = Odd("nolength", feed)
    cache = tmp_path / "cache"
    with odd_server(odd) as url:
        result = client(url, cache, keys, workers=1).sync_once(datetime.now(UTC))
    assert result.status == "rejected"
    assert "larger than the 200000 bytes the manifest announced" in result.reason
    # Nothing past the announced size reached the disk, and nothing became current.
    parts = list((cache / "partial").iterdir())
    assert all(p.stat().st_size <= 200_000 for p in parts), [p.stat() for p in parts]
    assert Store(cache).state() is None
    assert result.bytes_downloaded <= 200_000


@pytest.mark.nginx
@pytest.mark.skipif(not nginx_available(), reason="Debian's nginx is not installed")
def test_cold_sync_keeps_one_connection_per_download_thread(tmp_path: Path) -> None:
    feed, keys = make_feed(tmp_path, n=24, size=100_000)
    with run_nginx(feed, tmp_path / "nginx") as nginx:
        sync = client(nginx.url, tmp_path / "cache", keys, workers=3)
        result = sync.sync_once(datetime.now(UTC))
        lines = [ln for ln in nginx.access_lines() if " /assets/" in ln]
    assert result.status == "updated" and result.assets_downloaded == 24
    assert len(lines) == 24 and all(ln.split()[2] == "200" for ln in lines)
    connections = {ln.split()[-1] for ln in lines}
    assert 1 <= len(connections) <= 3, connections
    assert_whole(tmp_path / "cache", 24)


def test_a_resumed_asset_still_goes_over_a_direct_connection(tmp_path: Path) -> None:
    feed, keys = make_feed(tmp_path, n=2, size=300_000)
    cache = tmp_path / "cache"
    store = Store(cache)
    store.ensure_dirs()
    # Half of one asset left by an earlier, interrupted sync.
    manifest_assets = sorted((feed / "assets").iterdir())
    first = manifest_assets[0]
    store.partial_path(first.name).write_bytes(first.read_bytes()[:123_456])
    with serve_folder(feed) as server:
        result = client(server.url, cache, keys).sync_once(datetime.now(UTC))
        hits = server.requests_for(first.name)
    assert result.status == "updated", result.reason
    assert [h.range for h in hits] == ["bytes=123456-"] and hits[0].status == 206
    assert result.bytes_downloaded == 300_000 * 2 - 123_456
    assert_whole(cache, 2)


def test_flush_uses_syncfs_and_falls_back_to_sync(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    calls: list[str] = []
    monkeypatch.setattr(os, "sync", lambda: calls.append("sync"))
    (tmp_path / "f").write_bytes(b"x" * 100_000)
    flush_filesystem(tmp_path)
    assert calls == [], "syncfs exists on Linux: the whole machine must not be flushed"
    monkeypatch.setitem(durable._libc_fns, "syncfs", None)  # a libc without syncfs
    flush_filesystem(tmp_path)
    assert calls == ["sync"]


def test_writeback_head_start_never_fails_a_download(tmp_path: Path) -> None:
    path = tmp_path / "f"
    fd = os.open(path, os.O_WRONLY | os.O_CREAT, 0o644)
    try:
        os.write(fd, b"y" * 200_000)
        durable.start_writeback(fd, 0, 200_000)
    finally:
        os.close(fd)
    durable.start_writeback(fd, 0, 10)  # a closed descriptor: only the head start is lost
    assert path.read_bytes() == b"y" * 200_000


def test_a_changed_asset_after_a_cold_sync_is_fetched_alone(tmp_path: Path) -> None:
    keys = make_keypair(tmp_path / "keys")
    root = make_root(tmp_path / "root", n_assets=5, size=50_000)
    feed = tmp_path / "feed"
    publish(root, feed, keys.key, now=datetime.now(UTC))
    with serve_folder(feed) as server:
        cache = tmp_path / "cache"
        assert client(server.url, cache, keys).sync_once(datetime.now(UTC)).status == "updated"
        before = len(server.requests_for("/assets/"))
        write_asset(root, 2, 50_000, seed=77)
        publish(root, feed, keys.key, now=datetime.now(UTC))
        result = client(server.url, cache, keys).sync_once(datetime.now(UTC))
        after = server.requests_for("/assets/")[before:]
    assert result.status == "updated" and result.assets_downloaded == 1
    assert len(after) == 1
    assert_whole(cache, 5)
