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

``pipelined`` writes many GETs ahead on one connection (HTTP/1.1 pipelining) and hands
the answers back in order, stopping without a fuss wherever the server does not carry on.

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
from collections.abc import Generator, Sequence
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
    TransportError,
)
from signage.feed.wire import (
    QUICKACK,
    Connection,
    Head,
    Headers,
    ProtocolError,
    ServerClosed,
    request_bytes,
)
from signage.i18n import N_, Msg

__all__ = [
    "PIPELINE_WINDOW",
    "SILENCE",
    "USER_AGENT",
    "Response",
    "Timeouts",
    "Transport",
    "check_status",
    "tls_context",
]

USER_AGENT = "signage-sync/1"
MAX_REDIRECTS = 5
_REDIRECTS = frozenset({301, 302, 303, 307, 308})
_CHUNK = 65536
_REMEMBERED = 64  # origins and URL folders a transport keeps worked out (then starts over)
# Pipelining (``Transport.pipelined``): requests written ahead on one connection (refilled
# when half have been answered), and the silence after which the rest is left to ``get``.
PIPELINE_WINDOW = 16
SILENCE = 5.0
_PIPELINED_HEADERS = {"User-Agent": USER_AGENT, "Accept-Encoding": "identity"}


@dataclass(frozen=True, slots=True)
class Timeouts:
    """Seconds to wait for a TCP connection, and for each read of a response."""

    connect: float = 5.0
    read: float = 20.0


def check_status(status: int, reason: str, what: str | Msg, url: str = "") -> None:
    """Accepts 200 and 206; raises ``StatusError`` (transient for 5xx, 408, 429)."""
    if status in (200, 206):
        return
    if status >= 500 or status in (408, 429) or not reason.strip():
        raise StatusError(N_("{what}: server answered {status}"), url=url, status=status, what=what)
    raise StatusError(
        N_("{what}: server answered {status} {reason}"),
        url=url,
        status=status,
        what=what,
        reason=reason.rstrip(),
    )


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
            raise ReadTimeout(N_("server stalled (read timed out)"), url=self.url) from None
        except (OSError, ProtocolError):
            raise ReadError(N_("connection broken mid-body"), url=self.url) from None

    def read_capped(self, cap: int, what: str | Msg) -> bytes:
        """The whole body, refused past ``cap`` bytes (announced or received)."""
        announced = self.header("Content-Length")
        if announced and announced.isdigit() and int(announced) > cap:
            raise TooLargeError(
                N_("{what} is {size} bytes, over the {limit} allowed"),
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
                    N_("{what} is over the {limit} bytes allowed"), what=what, size=None, limit=cap
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
        # Origins that did not answer requests written ahead (silence, or a close after one
        # answer): ``pipelined`` leaves them to ``get`` for the rest of this transport's life.
        self._unpipelined: set[_Origin] = set()

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
        raise TooManyRedirects(
            N_("{url}: more than {limit} redirects"), url=url, limit=MAX_REDIRECTS
        )

    def _get_once(self, url: str, headers: dict[str, str]) -> Response:
        origin, host, target = self._where(url)
        request_headers = {"User-Agent": USER_AGENT, "Accept-Encoding": "identity", **headers}
        try:
            head = request_bytes("GET", target, host, request_headers)
        except ValueError as exc:
            raise ConnectError(N_("request not sent: {error}"), url=url, error=exc) from None
        for again in (False, True):
            conn, fresh = self._connection(origin, url)
            try:
                conn.send(head)
                got = conn.read_head()
            except TimeoutError:
                self.drop(conn)
                raise ReadTimeout(N_("server stalled (read timed out)"), url=url) from None
            except (OSError, ProtocolError):
                self.drop(conn)
                if fresh or again:
                    raise ReadError(N_("connection broken or closed"), url=url) from None
                continue  # the server closed a kept-alive connection: once more on a new one
            return Response(self, conn, got, url)
        raise AssertionError("unreachable")  # pragma: no cover

    def _where(self, url: str) -> tuple[_Origin, str, str]:
        """(where ``url`` leads, its Host header, the request target)."""
        # A sync asks one folder for hundreds of assets: where that folder's URLs lead
        # (origin, Host header, request path) is worked out once, from the first of them.
        folder, _, leaf = url.rpartition("/")
        known = None if "?" in leaf or "#" in leaf else self._folders.get(folder)
        if known is None:
            return self._resolve(url, folder, leaf)
        origin, host, path = known
        return origin, host, url if path is None else f"{path}/{leaf}"

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
                raise ConnectError(
                    N_("{shown} has a bad port"), url=url, shown=repr(url[:200])
                ) from None
            if parts.scheme not in ("http", "https") or not parts.hostname:
                raise ConnectError(
                    N_("{shown} is not an http(s) URL"), url=url, shown=repr(url[:200])
                )
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

    def pipelined(
        self, urls: Sequence[str], *, window: int = PIPELINE_WINDOW, silence: float = SILENCE
    ) -> Generator[tuple[int, Response], None, None]:
        """GETs of ``urls`` with up to ``window`` requests written ahead on one connection
        (HTTP/1.1 pipelining); yields ``(index, response)`` in the order of ``urls``.

        Each response's body must be read to its end before the next is taken; closing it
        otherwise ends the pipelining. The URLs must share one origin without a proxy in
        front of it, and the platform must have ``TCP_QUICKACK`` (see ``signage.feed.wire``);
        else nothing is yielded. It stops early, without raising, wherever the server does
        not carry on (an error, a close before an answer, ``silence`` seconds without a
        byte while answers are due, a connection the server closes after fewer than two
        answers): the caller fetches the URLs not yielded the ordinary way (``get``). An
        origin that stayed silent or closed after one answer is not pipelined again by
        this transport (its next syncs do not wait for that silence once more). A
        server that closes a connection after many answers (``keepalive_requests``) is
        asked for the rest on a new one. Redirects are not followed (a 3xx is yielded).
        """
        if QUICKACK is None or not urls or self._aborted.is_set():
            return
        where: list[tuple[str, str]] = []
        origins: set[_Origin] = set()
        for url in urls:
            try:
                origin, host, target = self._where(url)
            except ConnectError:
                return
            where.append((host, target))
            origins.add(origin)
        if len(origins) != 1:
            return

        def heads(start: int, end: int) -> bytes:
            # Built a window at a time, the first as soon as possible: all of them before
            # the first request held a lane's start back by ~0.3 ms (225 assets).
            return b"".join(
                request_bytes("GET", target, host, _PIPELINED_HEADERS)
                for host, target in where[start:end]
            )

        (first,) = origins
        if first.proxy is not None or first in self._unpipelined:
            return
        answered = 0
        while answered < len(urls):
            try:
                conn = self._connect(first, urls[answered], quickack=True)
            except TransportError:
                return
            conn.sock.settimeout(min(silence, self.timeouts.read))
            sent = start = answered
            closed = False  # the server ended the connection cleanly between two answers
            try:
                while answered < len(urls):
                    if sent - answered <= window // 2 and sent < len(urls):
                        end = min(len(urls), answered + window)
                        conn.send_ahead(heads(sent, end), end - sent)
                        sent = end
                    head = conn.read_head()
                    yield answered, Response(self, conn, head, urls[answered])
                    answered += 1
                    if not conn.done:
                        return  # the caller left the body unread
                    if not conn.reusable:
                        closed = True
                        break
            except ServerClosed:
                closed = True
            except TimeoutError:
                self._unpipelined.add(first)  # silent with answers due: not asked again
                return
            except (OSError, ProtocolError):
                return  # a reset, bytes that are not a response
            except ValueError:
                return  # a request that would split (request_bytes): asked the ordinary way
            finally:
                self.drop(conn)
            if not closed:
                return
            if answered - start < 2:
                self._unpipelined.add(first)  # closes rather than answer requests ahead
                return

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

    def _connect(self, origin: _Origin, url: str, *, quickack: bool = False) -> Connection:
        host, port = origin.host, origin.port or (443 if origin.scheme == "https" else 80)
        tunnel = False
        if origin.proxy is not None:
            proxy = urlsplit(origin.proxy if "://" in origin.proxy else f"http://{origin.proxy}")
            host, port = proxy.hostname or "", proxy.port or 80
            tunnel = origin.scheme == "https"
        sock: socket.socket | None = None
        try:
            sock = _open_socket(host, port, self.timeouts.connect)
            sock.setsockopt(socket.IPPROTO_TCP, socket.TCP_NODELAY, 1)
            if tunnel:
                _open_tunnel(sock, origin)
            if origin.scheme == "https":
                if self._ssl is None:
                    self._ssl = ssl.create_default_context()
                sock = self._ssl.wrap_socket(sock, server_hostname=origin.host)
        except ConnectionRefusedError:
            _close(sock)
            raise ConnectError(N_("connection refused"), url=url, refused=True) from None
        except ssl.SSLCertVerificationError as exc:
            _close(sock)
            raise ConnectError(
                N_(
                    "server certificate not trusted ({detail}; set ca_file for an "
                    "internal certificate authority)"
                ),
                url=url,
                detail=exc.verify_message,
            ) from None
        except TimeoutError:
            _close(sock)
            raise ConnectTimeout(N_("connection timed out"), url=url) from None
        except (OSError, ProtocolError) as exc:
            _close(sock)
            if isinstance(exc, ProtocolError):
                raise ConnectError(N_("connection failed: {error}"), url=url, error=exc) from None
            raise ConnectError(N_("connection failed"), url=url) from None
        sock.settimeout(self.timeouts.read)
        conn = Connection(sock, quickack=quickack)
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
        raise ProtocolError(
            N_("the proxy refused the tunnel ({status} {reason})"),
            status=head.status,
            reason=head.reason,
        )
    if tunnel.pending:
        raise ProtocolError(N_("the proxy sent bytes before the tunnel was up"))


def _open_socket(host: str, port: int, timeout: float) -> socket.socket:
    """``socket.create_connection((host, port), timeout)``, an ASCII host name passed as
    bytes: as text it goes through the idna codec, whose import (~0.9 ms) a process's first
    sync paid; an internationalized name still does. Like it, tries each address in turn
    and raises the first failure."""
    name: str | bytes = host.encode("ascii") if host.isascii() else host
    failures: list[OSError] = []
    for family, kind, proto, _, address in socket.getaddrinfo(name, port, 0, socket.SOCK_STREAM):
        sock = socket.socket(family, kind, proto)
        try:
            sock.settimeout(timeout)
            sock.connect(address)
        except OSError as exc:
            sock.close()
            failures.append(exc)
            continue
        return sock
    if failures:
        raise failures[0]
    raise OSError(f"no address for {host!r}")


def _close(sock: socket.socket | None) -> None:
    if sock is not None:
        sock.close()
