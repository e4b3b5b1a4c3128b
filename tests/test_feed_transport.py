"""The feed's one HTTP client and its failures by class.

A real loopback proxy (absolute-URL GETs forwarded to the feed server) shows the sync goes
through ``http_proxy`` and around it for ``no_proxy`` hosts; a closed port, a 404 and
refused feeds show each failure arrives as its own class carrying its context, so callers
never test message text.
"""

from __future__ import annotations

import contextlib
import http.client
import socket
import threading
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from urllib.parse import urlsplit

import pytest

from signage.feed import signing
from signage.feed.errors import (
    ConnectError,
    ExpiredError,
    ReplayError,
    SignatureError,
    StatusError,
    TooLargeError,
    TransportError,
)
from signage.feed.manifest import MAX_MANIFEST_BYTES, parse_manifest
from signage.feed.publish import publish
from signage.feed.store import Store
from signage.feed.sync import RetryPolicy, SyncClient
from signage.feed.transport import Timeouts, Transport, check_status
from tests.helpers_feed import make_keypair, make_root, serve_folder

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


class Proxy:
    """A forward HTTP proxy on loopback: takes ``GET http://host/path`` and relays it."""

    def __init__(self) -> None:
        self.targets: list[str] = []
        self.lock = threading.Lock()


def _proxy_handler(proxy: Proxy) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            return

        def do_GET(self) -> None:
            with proxy.lock:
                proxy.targets.append(self.path)
            parts = urlsplit(self.path)
            if parts.scheme != "http":  # not an absolute URL: not a proxy request
                self.send_response(400)
                self.send_header("Content-Length", "0")
                self.end_headers()
                return
            upstream = http.client.HTTPConnection(parts.netloc, timeout=5)
            headers = {k: v for k, v in self.headers.items() if k.lower() != "host"}
            upstream.request("GET", parts.path or "/", headers=headers)
            resp = upstream.getresponse()
            body = resp.read()
            upstream.close()
            self.send_response(resp.status)
            for name in ("Content-Type", "ETag", "Last-Modified", "Content-Range"):
                if resp.getheader(name):
                    self.send_header(name, resp.getheader(name) or "")
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return Handler


@contextlib.contextmanager
def run_proxy() -> Iterator[tuple[Proxy, str]]:
    proxy = Proxy()
    httpd = ThreadingHTTPServer(("127.0.0.1", 0), _proxy_handler(proxy))
    httpd.daemon_threads = True
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield proxy, f"http://127.0.0.1:{httpd.server_address[1]}"
    finally:
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=10)


@pytest.fixture
def feed(tmp_path: Path) -> tuple[Path, str]:
    keys = make_keypair(tmp_path / "keys")
    root = make_root(tmp_path / "root", n_assets=3, size=40_000)
    out = tmp_path / "feed"
    publish(root, out, keys.key, now=datetime.now(UTC))
    return out, keys.pubkey


def _clear_proxy_env(monkeypatch: pytest.MonkeyPatch) -> None:
    for name in ("http_proxy", "https_proxy", "all_proxy", "no_proxy"):
        monkeypatch.delenv(name, raising=False)
        monkeypatch.delenv(name.upper(), raising=False)


def test_the_sync_goes_through_the_environments_proxy(
    tmp_path: Path, feed: tuple[Path, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    folder, pubkey = feed
    _clear_proxy_env(monkeypatch)
    with serve_folder(folder) as server, run_proxy() as (proxy, proxy_url):
        monkeypatch.setenv("http_proxy", proxy_url)
        result = SyncClient(server.url, Store(tmp_path / "cache"), pubkey).sync_once(
            datetime.now(UTC)
        )
        direct = len(server.requests_for("/"))
    assert result.status == "updated", result.reason
    assert result.assets_downloaded == 3
    # Every request (manifest, signature, 3 assets) went to the proxy as an absolute URL.
    assert len(proxy.targets) == 5, proxy.targets
    assert all(t.startswith(server.url) for t in proxy.targets), proxy.targets
    assert direct == 5  # ...and each reached the feed server once, relayed
    assert Store(tmp_path / "cache").verify() == []


def test_no_proxy_hosts_are_fetched_directly(
    tmp_path: Path, feed: tuple[Path, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    folder, pubkey = feed
    _clear_proxy_env(monkeypatch)
    with serve_folder(folder) as server, run_proxy() as (proxy, proxy_url):
        monkeypatch.setenv("http_proxy", proxy_url)
        monkeypatch.setenv("no_proxy", "127.0.0.1")
        result = SyncClient(server.url, Store(tmp_path / "cache"), pubkey).sync_once(
            datetime.now(UTC)
        )
    assert result.status == "updated", result.reason
    assert proxy.targets == []


def _closed_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def test_a_refused_connection_is_a_connect_error_and_a_failed_sync(
    tmp_path: Path, monkeypatch: pytest.MonkeyPatch
) -> None:
    _clear_proxy_env(monkeypatch)
    url = f"http://127.0.0.1:{_closed_port()}/"
    transport = Transport(Timeouts(connect=2, read=2))
    with pytest.raises(ConnectError) as caught:
        transport.get(url + "feed.json")
    assert caught.value.refused and caught.value.transient
    assert caught.value.url == url + "feed.json"
    assert isinstance(caught.value, TransportError)
    keys = make_keypair(tmp_path / "keys")
    client = SyncClient(
        url,
        Store(tmp_path / "cache"),
        keys.pubkey,
        retry=RetryPolicy(attempts=2, base_s=0.01),
        sleep=lambda s: None,
    )
    result = client.sync_once(NOW)
    assert result.status == "failed" and "connection refused" in result.reason
    assert client.transport.open_sockets() == []


def test_status_errors_say_whether_a_retry_can_help(
    feed: tuple[Path, str], monkeypatch: pytest.MonkeyPatch
) -> None:
    folder, _ = feed
    _clear_proxy_env(monkeypatch)
    transport = Transport()
    with serve_folder(folder) as server:
        resp = transport.get(server.url + "missing.json")
        try:
            with pytest.raises(StatusError) as caught:
                check_status(resp.status, resp.reason, "manifest", resp.url)
        finally:
            resp.close(reuse=False)
        resp = transport.get(server.url + "feed.json")
        body = resp.read_capped(MAX_MANIFEST_BYTES, "manifest")
        resp.close(reuse=True)
        assert transport.open_sockets(), "a whole body keeps its connection for the next"
        with pytest.raises(TooLargeError) as too_big:
            again = transport.get(server.url + "feed.json")
            try:
                again.read_capped(100, "manifest")
            finally:
                again.close(reuse=True)
    transport.close()
    assert caught.value.status == 404 and not caught.value.transient
    assert "server answered 404" in caught.value.reason
    assert StatusError("x", status=503).transient and StatusError("x", status=429).transient
    assert parse_manifest(body).version >= 1
    assert too_big.value.limit == 100 and too_big.value.what == "manifest"
    assert transport.open_sockets() == []


def test_refusals_are_classes_that_carry_their_context(tmp_path: Path) -> None:
    keys = make_keypair(tmp_path / "keys")
    root = make_root(tmp_path / "root")
    out = tmp_path / "feed"
    publish(root, out, keys.key, now=NOW, expires_in=timedelta(days=7))
    v1 = (out / "feed.json").read_bytes()
    sig1 = (out / "feed.json.sig").read_text()
    store = Store(tmp_path / "cache")
    store.ensure_dirs()
    manifest = parse_manifest(v1)

    other = signing.public_key_b64(signing.generate_key())
    with pytest.raises(SignatureError):
        store.check(v1, sig1, pubkey_b64=other, now=NOW)
    with pytest.raises(SignatureError):
        store.check(v1, None, pubkey_b64=keys.pubkey, now=NOW)

    late = manifest.expires + timedelta(seconds=1)
    with pytest.raises(ExpiredError) as expired:
        store.check(v1, sig1, pubkey_b64=keys.pubkey, now=late)
    assert expired.value.version == manifest.version
    assert expired.value.expires == manifest.expires

    for asset in tmp_path.glob("root/assets/img/*"):
        store.import_file(asset)
    store.apply(v1, sig1, pubkey_b64=keys.pubkey, now=NOW)
    (root / "playlists" / "lobby.yaml").write_text(
        (root / "playlists" / "lobby.yaml").read_text() + "  - id: otra\n    text:\n"
        '      title: "Otra"\n'
    )
    publish(root, out, keys.key, now=NOW)
    v2 = (out / "feed.json").read_bytes()
    sig2 = (out / "feed.json.sig").read_text()
    for asset in tmp_path.glob("root/assets/img/*"):
        store.import_file(asset)
    store.apply(v2, sig2, pubkey_b64=keys.pubkey, now=NOW)
    with pytest.raises(ReplayError) as replay:
        store.check(v1, sig1, pubkey_b64=keys.pubkey, now=NOW)
    assert (replay.value.version, replay.value.trusted) == (manifest.version, manifest.version + 1)

    with pytest.raises(TooLargeError) as big:
        parse_manifest(b" " * (MAX_MANIFEST_BYTES + 1))
    assert big.value.size == MAX_MANIFEST_BYTES + 1
    assert big.value.limit == MAX_MANIFEST_BYTES


def test_the_players_feed_path_loads_one_http_stack_and_no_yaml() -> None:
    """The sync, the feed source and the heartbeat load no requests/urllib3 (one client)
    and not the validation kit or YAML (the hub parses reports; the player only sends)."""
    import os
    import subprocess
    import sys

    from tests.helpers_feed import REPO

    code = (
        "import sys, signage.sources.feed, signage.telemetry.heartbeat, signage.kiosk.systemd\n"
        "print(sorted(m for m in sys.modules if m.split('.')[0] in "
        "('requests', 'urllib3', 'yaml') or m.startswith('signage.validation')))"
    )
    done = subprocess.run(
        [sys.executable, "-c", code],
        env=dict(os.environ, PYTHONPATH=str(REPO), QT_QPA_PLATFORM="offscreen"),
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr
    assert done.stdout.strip() == "[]"
