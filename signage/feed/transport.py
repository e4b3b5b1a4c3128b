"""The feed's HTTP client: keep-alive GETs, failures by cause.

One ``Transport`` does every request of a sync (manifest, signature, assets): one
kept-alive connection per thread and origin (so each download thread reuses its own),
redirects followed up to 5, the environment's ``http_proxy`` / ``https_proxy`` /
``all_proxy`` / ``no_proxy`` honoured (a ``CONNECT`` tunnel for https). The bytes on each
connection are ``signage.feed.wire``'s (bounded heads; bodies framed by length, chunks or
the connection's end, read with ``readinto`` straight into the caller's buffer). Measured:
``http.client``'s per-response machinery (a buffered file, an ``email`` header parser) was
most of the time of a sync of many small assets; urllib3's pool before it cost ~0.25 ms
more CPU per asset (bench/README.md, "sync").

Every socket it opens is registered until it is closed, so ``abort()`` from another thread
cuts every transfer at once. Failures are the ``TransportError`` classes of
``signage.feed.errors`` (drawn there): decided by class, never by message text.
"""

from __future__ import annotations

import contextlib
import socket
import ssl
import threading
import urllib.request
from dataclasses import dataclass
from urllib.parse import urljoin, urlsplit

from signage.feed.errors import (
    ConnectError,
    ConnectTimeout,
    ReadError,
    ReadTimeout,
    StatusError,
    TooLargeError,
    TooManyRedirects,
)
from signage.feed.wire import Connection, Head, Headers, ProtocolError, request_bytes

__all__ = ["USER_AGENT", "Response", "Timeouts", "Transport", "check_status", "tls_context"]

USER_AGENT = "signage-sync/1"
MAX_REDIRECTS = 5
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_CHUNK = 65536
_REMEMBERED = 64  # origins and URL folders a transport keeps worked out (then starts over)


@dataclass(frozen=True, slots=True)
class Timeouts:
    """Seconds to wait for a TCP connection, and for each read of a response."""

    connect: float = 5.0
    read: float = 20.0


def check_status(status: int, reason: str, what: str, url: str = "") -> None:
    """Accepts 200 and 206; raises ``StatusError`` (transient for 5xx, 408, 429)."""
    if status in (200, 206):
        return
    if status >= 500 or status in (408, 429):
        raise StatusError(f"{what}: server answered {status}", url=url, status=status)
    text = f"{what}: server answered {status} {reason}".rstrip()
    raise StatusError(text, url=url, status=status)


@dataclass(frozen=True, slots=True)
class _Origin:
    """Where a connection goes: the server itself, or the proxy in front of it."""

    scheme: str
    host: str
    port: int | None
    proxy: str | None  # "http://proxy:3128" or None


class Response:
    """One response being read. ``close(reuse=True)`` after a whole body keeps the
    connection for the thread's next request; anything else closes it."""

    def __init__(self, transport: Transport, conn: Connection, head: Head, url: str) -> None:
        self._transport = transport
        self._conn = conn
        self.url = url
        self.status = head.status
        self.reason = head.reason
        self.headers: Headers = head.headers

    def header(self, name: str) -> str | None:
        return self.headers.get(name)

    def readinto(self, view: memoryview) -> int:
        """Bytes of the body placed at the start of ``view``; 0 at its end."""
        try:
            return self._conn.readinto(view)
        except TimeoutError:
            raise ReadTimeout("server stalled (read timed out)", url=self.url) from None
        except (OSError, ProtocolError):
            raise ReadError("connection broken mid-body", url=self.url) from None

    def read_capped(self, cap: int, what: str) -> bytes:
        """The whole body, refused past ``cap`` bytes (announced or received)."""
        announced = self.header("Content-Length")
        if announced and announced.isdigit() and int(announced) > cap:
            raise TooLargeError(
                f"{what} is {announced} bytes, over the {cap} allowed",
                what=what,
                size=int(announced),
                limit=cap,
            )
        chunks: list[bytes] = []
        size = 0
        buf = memoryview(bytearray(_CHUNK))
        while n := self.readinto(buf):
            size += n
            if size > cap:
                raise TooLargeError(
                    f"{what} is over the {cap} bytes allowed", what=what, size=None, limit=cap
                )
            chunks.append(bytes(buf[:n]))
        return b"".join(chunks)

    def close(self, *, reuse: bool) -> None:
        if not (reuse and self._conn.reusable):
            self._transport.drop(self._conn)


def tls_context(ca_bundle: str | None) -> ssl.SSLContext | None:
    """The TLS settings for a PEM bundle of trusted certificates (the system's plus the
    organisation's, ``signage.trust.bundle_for``); ``None`` (the system's) without one.
    Certificate and host-name checks stay on either way."""
    return ssl.create_default_context(cafile=ca_bundle) if ca_bundle else None


class Transport:
    """Keep-alive HTTP/1.1 GETs for one client, safe to use from several threads.

    Args:
        timeouts: connect and read timeouts of every request.
        ssl_context: for https (default: the system's trusted certificates).

    Proxies are the environment's (``*_proxy``, ``no_proxy``), read once here.
    """

    def __init__(
        self,
        timeouts: Timeouts = Timeouts(),
        *,
        ssl_context: ssl.SSLContext | None = None,
    ) -> None:
        self.timeouts = timeouts
        self._ssl = ssl_context
        self._proxies = urllib.request.getproxies_environment()
        self._local = threading.local()
        self._origins: dict[tuple[str, str], tuple[_Origin, str]] = {}
        # URL folder -> (origin, Host header, its request path; None: the absolute URL)
        self._folders: dict[str, tuple[_Origin, str, str | None]] = {}
        self._lock = threading.Lock()
        # Each open connection and its socket (abort() cuts them from any thread).
        self._open: dict[Connection, socket.socket] = {}
        self._aborted = threading.Event()

    # ------------------------------------------------------------------ requests

    def get(self, url: str, headers: dict[str, str] | None = None) -> Response:
        """GET ``url`` (redirects followed); the caller reads the body and closes it."""
        for _ in range(MAX_REDIRECTS + 1):
            resp = self._get_once(url, headers or {})
            location = resp.header("Location")
            if resp.status not in _REDIRECTS or not location:
                return resp
            resp.close(reuse=False)
            url = urljoin(url, location)
        raise TooManyRedirects(f"{url}: more than {MAX_REDIRECTS} redirects", url=url)

    def _get_once(self, url: str, headers: dict[str, str]) -> Response:
        # A sync asks one folder for hundreds of assets: where that folder's URLs lead
        # (origin, Host header, request path) is worked out once, from the first of them.
        folder, _, leaf = url.rpartition("/")
        known = None if "?" in leaf or "#" in leaf else self._folders.get(folder)
        if known is not None:
            origin, host, path = known
            target = url if path is None else f"{path}/{leaf}"
        else:
            origin, host, target = self._resolve(url, folder, leaf)
        request_headers = {"User-Agent": USER_AGENT, "Accept-Encoding": "identity", **headers}
        try:
            head = request_bytes("GET", target, host, request_headers)
        except ValueError as exc:
            raise ConnectError(f"request not sent: {exc}", url=url) from None
        for again in (False, True):
            conn, fresh = self._connection(origin, url)
            try:
                conn.send(head)
                got = conn.read_head()
            except TimeoutError:
                self.drop(conn)
                raise ReadTimeout("server stalled (read timed out)", url=url) from None
            except (OSError, ProtocolError):
                self.drop(conn)
                if fresh or again:
                    raise ReadError("connection broken or closed", url=url) from None
                continue  # the server closed a kept-alive connection: once more on a new one
            return Response(self, conn, got, url)
        raise AssertionError("unreachable")  # pragma: no cover

    def _resolve(self, url: str, folder: str, leaf: str) -> tuple[_Origin, str, str]:
        """(where ``url`` leads, its Host header, the request target); remembered for
        ``folder`` when ``url`` is that folder plus a plain last name."""
        parts = urlsplit(url)
        # Where a scheme and host:port lead (and their Host header), worked out once.
        known = self._origins.get((parts.scheme, parts.netloc))
        if known is None:
            try:
                port = parts.port
            except ValueError:
                raise ConnectError(f"{url[:200]!r} has a bad port", url=url) from None
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ConnectError(f"{url[:200]!r} is not an http(s) URL", url=url)
            origin = self._origin(parts.scheme, parts.hostname, port)
            if len(self._origins) >= _REMEMBERED:
                self._origins.clear()
            known = self._origins[parts.scheme, parts.netloc] = (origin, _host_header(origin))
        origin, host = known
        target = parts.path or "/"
        if parts.query:
            target += f"?{parts.query}"
        absolute = origin.proxy is not None and origin.scheme == "http"
        path = parts.path.removesuffix(f"/{leaf}")
        if (
            not parts.query
            and not parts.fragment
            and parts.path == f"{path}/{leaf}"
            and folder == f"{parts.scheme}://{parts.netloc}{path}"
        ):
            if len(self._folders) >= _REMEMBERED:  # redirects may name new folders for ever
                self._folders.clear()
            self._folders[folder] = (origin, host, None if absolute else path)
        return origin, host, url if absolute else target  # a plain-http proxy: absolute

    def _origin(self, scheme: str, host: str, port: int | None) -> _Origin:
        proxy = self._proxies.get(scheme) or self._proxies.get("all")
        if proxy and urllib.request.proxy_bypass(host):
            proxy = None
        return _Origin(scheme, host, port, proxy or None)

    # ------------------------------------------------------------------ connections

    def _connection(self, origin: _Origin, url: str) -> tuple[Connection, bool]:
        """This thread's connection to ``origin`` and whether it was opened just now."""
        conns: dict[_Origin, Connection] | None = getattr(self._local, "conns", None)
        if conns is None:
            conns = self._local.conns = {}
        conn = conns.get(origin)
        if conn is not None and conn.reusable:
            return conn, False
        if conn is not None:
            self.drop(conn)
        conn = self._connect(origin, url)
        conns[origin] = conn
        return conn, True

    def _connect(self, origin: _Origin, url: str) -> Connection:
        host, port = origin.host, origin.port or (443 if origin.scheme == "https" else 80)
        tunnel = False
        if origin.proxy is not None:
            proxy = urlsplit(origin.proxy if "://" in origin.proxy else f"http://{origin.proxy}")
            host, port = proxy.hostname or "", proxy.port or 80
            tunnel = origin.scheme == "https"
        sock: socket.socket | None = None
        try:
            sock = socket.create_connection((host, port), timeout=self.timeouts.connect)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if tunnel:
                _open_tunnel(sock, origin)
            if origin.scheme == "https":
                if self._ssl is None:
                    self._ssl = ssl.create_default_context()
                sock = self._ssl.wrap_socket(sock, server_hostname=origin.host)
        except ConnectionRefusedError:
            _close(sock)
            raise ConnectError("connection refused", url=url, refused=True) from None
        except ssl.SSLCertVerificationError as exc:
            _close(sock)
            raise ConnectError(
                f"server certificate not trusted ({exc.verify_message}; set ca_file for an "
                "internal certificate authority)",
                url=url,
            ) from None
        except TimeoutError:
            _close(sock)
            raise ConnectTimeout("connection timed out", url=url) from None
        except (OSError, ProtocolError) as exc:
            _close(sock)
            detail = f": {exc}" if isinstance(exc, ProtocolError) else ""
            raise ConnectError(f"connection failed{detail}", url=url) from None
        sock.settimeout(self.timeouts.read)
        conn = Connection(sock)
        with self._lock:
            self._open[conn] = sock
        if self._aborted.is_set():
            self._cut(sock)
        return conn

    def drop(self, conn: Connection) -> None:
        """Closes ``conn`` (this thread's next request to its origin opens a new one)."""
        conn.close()
        with self._lock:
            sock = self._open.pop(conn, None)
        if sock is not None:
            sock.close()

    def open_sockets(self) -> list[socket.socket]:
        """The sockets of the connections open now (every thread's)."""
        with self._lock:
            return list(self._open.values())

    def close(self) -> None:
        """Closes every connection, of every thread; the transport stays usable."""
        with self._lock:
            conns = list(self._open)
        for conn in conns:
            self.drop(conn)

    def abort(self) -> None:
        """Cuts every open connection at once (from any thread), and any opened later: the
        requests and body reads under way fail with a ``TransportError``."""
        self._aborted.set()
        for sock in self.open_sockets():
            self._cut(sock)

    @property
    def aborted(self) -> bool:
        return self._aborted.is_set()

    @staticmethod
    def _cut(sock: socket.socket) -> None:
        with contextlib.suppress(OSError):
            sock.shutdown(socket.SHUT_RDWR)


def _host_header(origin: _Origin) -> str:
    host = f"[{origin.host}]" if ":" in origin.host else origin.host
    default = 443 if origin.scheme == "https" else 80
    return host if origin.port in (None, default) else f"{host}:{origin.port}"


def _open_tunnel(sock: socket.socket, origin: _Origin) -> None:
    """Asks an http proxy for a ``CONNECT`` tunnel to the origin (https through a proxy)."""
    authority = _host_header(_Origin(origin.scheme, origin.host, origin.port or 443, None))
    tunnel = Connection(sock)
    tunnel.send(request_bytes("CONNECT", authority, authority, {"User-Agent": USER_AGENT}))
    head = tunnel.read_head(method="CONNECT")
    if not 200 <= head.status < 300:
        raise ProtocolError(f"the proxy refused the tunnel ({head.status} {head.reason})")
    if tunnel.pending:
        raise ProtocolError("the proxy sent bytes before the tunnel was up")


def _close(sock: socket.socket | None) -> None:
    if sock is not None:
        sock.close()
