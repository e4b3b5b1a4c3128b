"""Test helpers for the feed: keypairs, content roots with many assets, a misbehaving
loopback HTTP server, and Debian's nginx serving a folder with docs/nginx/signage-feed.conf.

    from tests.helpers_feed import keypair, run_nginx, FeedServer  # noqa: F401

``FeedServer`` is a real HTTP server (``http.server`` in a thread) that serves a feed folder
with ETag/304 and Range, logs every request, and can be told to misbehave on some paths
(answer 500, close the connection mid-body, stall mid-body, send more bytes than asked).
"""

from __future__ import annotations

import contextlib
import hashlib
import os
import shutil
import socket
import subprocess
import sys
import threading
import time
from collections.abc import Iterator
from dataclasses import dataclass, field
from email.utils import formatdate
from http.server import BaseHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest

from signage.feed import signing

REPO = Path(__file__).resolve().parents[1]
NGINX_CONF = REPO / "docs" / "nginx" / "signage-feed.conf"
PNG_MAGIC = b"\x89PNG\r\n\x1a\n"


# ---------------------------------------------------------------------------- keys


@dataclass(frozen=True)
class KeyPair:
    """A signing key written to ``path`` and the public key screens pin."""

    key: signing.Ed25519PrivateKey
    pubkey: str
    path: Path


def make_keypair(folder: Path, name: str = "publisher.pem") -> KeyPair:
    key = signing.generate_key()
    path = folder / name
    signing.write_private_key(key, path)
    return KeyPair(key, signing.public_key_b64(key), path)


@pytest.fixture
def keypair(tmp_path: Path) -> KeyPair:
    """A fresh Ed25519 keypair in ``tmp_path/keys``."""
    return make_keypair(tmp_path / "keys")


# ---------------------------------------------------------------------------- content


def make_root(
    root: Path,
    n_assets: int = 3,
    size: int = 2048,
    *,
    seed: int = 0,
    tags: str | None = None,
) -> Path:
    """A valid content root: one playlist of ``n_assets`` image slides of ``size`` bytes.

    The images carry PNG magic bytes then deterministic pseudo-random bytes (validation
    sniffs headers; the feed only moves bytes), plus one text slide.
    """
    (root / "playlists").mkdir(parents=True, exist_ok=True)
    (root / "assets" / "img").mkdir(parents=True, exist_ok=True)
    lines = ["name: Lobby de prueba"]
    if tags:
        lines.append(f"tags: [{tags}]")
    lines += ["defaults:", "  duration: 5s", "slides:"]
    for i in range(n_assets):
        write_asset(root, i, size, seed=seed)
        lines += [f"  - id: img-{i:03d}", f"    image: assets/img/img-{i:03d}.png"]
    lines += ["  - id: bienvenida", "    text:", '      title: "Bienvenidos"']
    (root / "playlists" / "lobby.yaml").write_text("\n".join(lines) + "\n", encoding="utf-8")
    return root


def write_asset(root: Path, i: int, size: int, *, seed: int = 0) -> Path:
    """(Re)writes asset ``i`` of a ``make_root`` root with bytes that depend on ``seed``."""
    path = root / "assets" / "img" / f"img-{i:03d}.png"
    block = hashlib.sha256(f"{seed}-{i}".encode()).digest() * 2048  # 64 KiB
    body = (block * (size // len(block) + 1))[: max(0, size - len(PNG_MAGIC))]
    path.write_bytes(PNG_MAGIC + body)
    return path


# ---------------------------------------------------------------------------- FeedServer


@dataclass
class Fault:
    """A misbehaviour for requests whose path contains ``path``.

    Args:
        kind: ``500`` | ``close`` (headers + half the body, then close) | ``stall``
            (headers + half the body, then silence until the server stops) | ``extra``
            (the body followed by ``extra`` more bytes, Content-Length covering them).
        times: how many requests it applies to (then the path is served normally).
    """

    path: str
    kind: str
    times: int = 1_000_000
    extra: int = 4096


@dataclass(frozen=True)
class Hit:
    method: str
    path: str
    status: int
    bytes_sent: int
    range: str | None


@dataclass
class FeedServer:
    """A real loopback HTTP server for a feed folder (see the module docstring)."""

    folder: Path
    faults: list[Fault] = field(default_factory=list)
    hits: list[Hit] = field(default_factory=list)
    httpd: ThreadingHTTPServer | None = None
    release: threading.Event = field(default_factory=threading.Event)
    lock: threading.Lock = field(default_factory=threading.Lock)

    @property
    def url(self) -> str:
        assert self.httpd is not None
        return f"http://127.0.0.1:{self.httpd.server_address[1]}/"

    def fault_for(self, path: str) -> Fault | None:
        with self.lock:
            for fault in self.faults:
                if fault.path in path and fault.times > 0:
                    fault.times -= 1
                    return fault
        return None

    def requests_for(self, fragment: str) -> list[Hit]:
        with self.lock:
            return [h for h in self.hits if fragment in h.path]

    def record(self, hit: Hit) -> None:
        with self.lock:
            self.hits.append(hit)


def _handler(server: FeedServer) -> type[BaseHTTPRequestHandler]:
    class Handler(BaseHTTPRequestHandler):
        protocol_version = "HTTP/1.1"

        def log_message(self, format: str, *args: object) -> None:
            return

        def do_GET(self) -> None:
            path = self.path.split("?", 1)[0]
            target = (server.folder / path.lstrip("/")).resolve()
            if not target.is_relative_to(server.folder.resolve()) or not target.is_file():
                self._simple(404, path)
                return
            fault = server.fault_for(path)
            if fault is not None and fault.kind == "500":
                self._simple(500, path)
                return
            data = target.read_bytes()
            etag = '"' + hashlib.sha256(data).hexdigest()[:32] + '"'
            if self.headers.get("If-None-Match") == etag:
                server.record(Hit("GET", path, 304, 0, None))
                self.send_response(304)
                self.send_header("ETag", etag)
                self.end_headers()
                return
            status, start = 200, 0
            rng = self.headers.get("Range")
            if rng and rng.startswith("bytes=") and rng.endswith("-"):
                start = int(rng[6:-1])
                if start >= len(data):
                    self._simple(416, path)
                    return
                status = 206
            body = data[start:]
            if fault is not None and fault.kind == "extra":
                body += b"\0" * fault.extra
            self.send_response(status)
            self.send_header("Content-Length", str(len(body)))
            self.send_header("ETag", etag)
            self.send_header("Last-Modified", formatdate(target.stat().st_mtime, usegmt=True))
            if status == 206:
                self.send_header("Content-Range", f"bytes {start}-{len(data) - 1}/{len(data)}")
            self.end_headers()
            if fault is not None and fault.kind in ("close", "stall"):
                half = body[: max(1, len(body) // 2)]
                server.record(Hit("GET", path, status, len(half), rng))
                self.wfile.write(half)
                self.wfile.flush()
                if fault.kind == "stall":
                    server.release.wait(30)
                self.close_connection = True
                with contextlib.suppress(OSError):
                    self.connection.shutdown(socket.SHUT_RDWR)
                return
            server.record(Hit("GET", path, status, len(body), rng))  # before the client has it
            self.wfile.write(body)

        def _simple(self, code: int, path: str) -> None:
            body = f"{code}\n".encode()
            server.record(Hit("GET", path, code, len(body), None))
            self.send_response(code)
            self.send_header("Content-Length", str(len(body)))
            self.end_headers()
            self.wfile.write(body)

    return Handler


class _QuietServer(ThreadingHTTPServer):
    """A client hanging up mid-body is what several faults provoke: not worth a traceback."""

    def handle_error(self, request: Any, client_address: Any) -> None:
        if isinstance(sys.exc_info()[1], ConnectionError):
            return
        super().handle_error(request, client_address)


@contextlib.contextmanager
def serve_folder(folder: Path, faults: list[Fault] | None = None) -> Iterator[FeedServer]:
    """A ``FeedServer`` on a free loopback port, stopped (and stalls released) at exit."""
    server = FeedServer(folder, list(faults or []))
    httpd = _QuietServer(("127.0.0.1", 0), _handler(server))
    httpd.daemon_threads = True
    server.httpd = httpd
    thread = threading.Thread(target=httpd.serve_forever, kwargs={"poll_interval": 0.05})
    thread.start()
    try:
        yield server
    finally:
        server.release.set()
        httpd.shutdown()
        httpd.server_close()
        thread.join(timeout=5)


# ---------------------------------------------------------------------------- nginx


@dataclass
class RunningNginx:
    """Debian's nginx serving ``folder`` on ``url`` with docs/nginx/signage-feed.conf."""

    url: str
    folder: Path
    access_log: Path
    error_log: Path
    process: subprocess.Popen[bytes]

    def access_lines(self, settle: float = 0.2) -> list[str]:
        """Access log lines: ``METHOD URI STATUS BODY_BYTES RANGE CONNECTION``.

        nginx logs a request just after answering it: ``settle`` seconds are allowed for the
        last lines to land, so a count is never short.
        """
        time.sleep(settle)
        for _ in range(50):  # nginx writes the line after the response; allow it a moment
            text = self.access_log.read_text(encoding="utf-8") if self.access_log.exists() else ""
            if text.endswith("\n") or not text:
                return text.splitlines()
            time.sleep(0.01)
        return text.splitlines()

    def pipe_lines(self, settle: float = 0.2) -> list[tuple[str, str, str]]:
        """``(URI, CONNECTION, PIPE)`` per request, PIPE ``p`` for a request nginx read
        after another one on its connection (pipelined) and ``.`` otherwise."""
        self.access_lines(settle)  # the same wait for the last lines
        text = (self.access_log.parent / "pipe.log").read_text(encoding="utf-8")
        return [(f[0], f[1], f[2]) for ln in text.splitlines() if len(f := ln.split()) == 3]


def nginx_available() -> bool:
    return shutil.which("nginx") is not None or Path("/usr/sbin/nginx").exists()


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def run_nginx(folder: Path, work: Path) -> Iterator[RunningNginx]:
    """Starts nginx in the foreground on a free loopback port; kills it at exit."""
    exe = shutil.which("nginx") or "/usr/sbin/nginx"
    work.mkdir(parents=True, exist_ok=True)
    for attempt in range(5):
        port = _free_port()
        user = "user root;" if os.geteuid() == 0 else ""
        conf = work / "nginx.conf"
        conf.write_text(
            f"""
{user}
worker_processes 1;
pid {work}/nginx.pid;
error_log {work}/error.log warn;
events {{ worker_connections 512; }}
http {{
    log_format feed '$request_method $uri $status $body_bytes_sent $http_range $connection';
    access_log {work}/access.log feed;
    log_format pipe '$uri $connection $pipe';
    access_log {work}/pipe.log pipe;
    client_body_temp_path {work}/client_body;
    proxy_temp_path {work}/proxy;
    fastcgi_temp_path {work}/fastcgi;
    uwsgi_temp_path {work}/uwsgi;
    scgi_temp_path {work}/scgi;
    sendfile on;
    tcp_nopush on;
    keepalive_timeout 65;
    keepalive_requests 100000;
    server {{
        listen 127.0.0.1:{port};
        server_name localhost;
        root {folder.resolve()};
        include {NGINX_CONF};
    }}
}}
""",
            encoding="utf-8",
        )
        proc = subprocess.Popen(
            [exe, "-p", str(work), "-c", str(conf), "-g", "daemon off;"],
            stdout=subprocess.DEVNULL,
            stderr=subprocess.PIPE,
        )
        deadline = time.monotonic() + 10
        up = False
        while time.monotonic() < deadline and proc.poll() is None:
            with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
                up = True
                break
            time.sleep(0.05)
        if up:
            break
        proc.kill()
        _, err = proc.communicate(timeout=5)
        if attempt == 4 or b"Address already in use" not in err:
            raise AssertionError(f"nginx did not start: {err.decode(errors='replace')}")
    try:
        yield RunningNginx(
            f"http://127.0.0.1:{port}/", folder, work / "access.log", work / "error.log", proc
        )
    finally:
        proc.terminate()  # SIGTERM: the master stops its workers (SIGKILL would orphan them)
        try:
            proc.wait(timeout=10)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
        if proc.stderr is not None:
            proc.stderr.close()
