"""The feed's HTTP/1.1 wire: GET requests and bounded responses on one kept-alive socket.

What ``signage.feed.transport`` speaks on every connection it opens (direct, through a
plain-http proxy, or through a ``CONNECT`` tunnel). Only what a feed client needs: GET,
``CONNECT``, and responses framed by ``Content-Length``, ``chunked`` or the end of the
connection. A response head is read with one ``recv_into`` where it fits (a 10 kB asset
and its head usually arrive together) and parsed with a few splits; bodies are read
straight from the socket into the caller's buffer. ``http.client`` built a buffered file,
an ``email`` parser and a message object per response: for a feed of hundreds of small
assets that was most of the client's time (bench/README.md, "issue 17, many small files").

Everything a server sends is bounded: the head at ``MAX_HEAD`` bytes and ``MAX_FIELDS``
fields, interim ``1xx`` responses at ``MAX_INTERIM``, a chunk-size line at ``MAX_LINE``,
the trailers like the head; a body is never read
past its framing, so the next response on the connection starts where it should. Anything
else is a ``ProtocolError``.

Several requests may be written ahead (``send_ahead``: HTTP/1.1 pipelining, the responses
then come back in order). Such a connection asks for ``quickack``: every ``recv`` re-arms
``TCP_QUICKACK``, so the kernel acknowledges each response at once. Without it a server
that corks or delays its small writes (nginx with ``tcp_nopush on``, Debian's default: Nagle
holds the tail of a response until the last segment is acknowledged) waited for the
client's delayed ACK, ~40 ms per batch of requests (bench/README.md, "issue 17, third
pass").
"""

from __future__ import annotations

import re
import socket
from dataclasses import dataclass

from signage.i18n import N_, Msg

__all__ = [
    "MAX_FIELDS",
    "MAX_HEAD",
    "MAX_INTERIM",
    "MAX_LINE",
    "Connection",
    "Head",
    "Headers",
    "ProtocolError",
    "ServerClosed",
]

MAX_HEAD = 64 << 10
MAX_FIELDS = 100
MAX_LINE = 1024
MAX_INTERIM = 8  # 1xx responses before the real one (each bounded like a head)
_RECV = 64 << 10
_NO_BODY = frozenset({204, 304})
_BREAK = re.compile("[\r\n\0]")
_TARGET_BREAK = re.compile("[ \r\n\0]")
# Linux's: acknowledge what arrived now (the kernel falls back to delayed ACKs by itself,
# so it is set again after each read). None where the platform has none.
QUICKACK: int | None = getattr(socket, "TCP_QUICKACK", None)


class ProtocolError(Exception):
    """The server's bytes are not an HTTP/1.1 response this client accepts.

    Raised with a marked msgid and named arguments: ``str()`` is English (logs, events),
    ``said()`` the current language (shown inside a ``ConnectError``'s message).
    """

    def __init__(self, text: str, /, **args: object) -> None:
        self.text = Msg(text, **args)
        super().__init__(str(self.text))

    def said(self) -> str:
        """The message in the current language."""
        return self.text.said()


class ServerClosed(ProtocolError):
    """The connection ended before the first byte of a response (a kept-alive connection
    the server had already closed: the request may be sent again on a new one)."""


class Headers:
    """A response's header fields, looked up without regard to case; repeated fields are
    joined with ``", "`` (RFC 9110 §5.3).

    Args:
        fields: lower-case name -> value.
    """

    __slots__ = ("_fields",)

    def __init__(self, fields: dict[str, str]) -> None:
        self._fields = fields

    def get(self, name: str, default: str | None = None) -> str | None:
        return self._fields.get(name.lower(), default)

    def __contains__(self, name: object) -> bool:
        return isinstance(name, str) and name.lower() in self._fields

    def items(self) -> list[tuple[str, str]]:
        return list(self._fields.items())


@dataclass(frozen=True, slots=True)
class Head:
    """A response's status line and header fields."""

    version: str
    status: int
    reason: str
    headers: Headers


def request_bytes(method: str, target: str, host: str, headers: dict[str, str]) -> bytes:
    """The request head. Raises ``ValueError`` for a value that would split it (a line
    break or NUL, e.g. in an ETag a server sent and the cache stored)."""
    # Compiled searches, one string built: a sync writes one of these per asset.
    lines = [f"{method} {target} HTTP/1.1\r\nHost: {host}\r\n"]
    for name, value in headers.items():
        if _BREAK.search(value) or _BREAK.search(name):
            raise ValueError(f"header {name!r} holds a line break")
        lines.append(f"{name}: {value}\r\n")
    if _TARGET_BREAK.search(target):
        raise ValueError(f"request target {target[:80]!r} holds a space or line break")
    lines.append("\r\n")
    return "".join(lines).encode("latin-1")


def parse_head(data: bytes) -> Head:
    """A status line and header fields (without the blank line that ends them). Lines end
    at CRLF, LF or a lone CR (which RFC 9112 does not allow inside a field)."""
    lines = data.splitlines()
    if not lines:
        raise ProtocolError(N_("an empty response head"))
    version, _, rest = lines[0].partition(b" ")
    code, _, reason = rest.partition(b" ")
    if not version.startswith(b"HTTP/1.") or len(code) != 3 or not code.isdigit():
        raise ProtocolError(N_("not an HTTP/1.x status line: {line}"), line=repr(lines[0][:80]))
    if len(lines) - 1 > MAX_FIELDS:
        raise ProtocolError(N_("more than {limit} header fields"), limit=MAX_FIELDS)
    fields: dict[str, str] = {}
    last = ""
    for line in lines[1:]:
        first = line[:1]
        if first in {b" ", b"\t"}:  # obsolete line folding: the field before goes on
            if not last:
                raise ProtocolError(N_("a header field starts with white space"))
            fields[last] += " " + line.strip().decode("latin-1")
            continue
        name, colon, value = line.partition(b":")
        if not colon or not name or name.rstrip() != name:
            raise ProtocolError(N_("malformed header field {line}"), line=repr(line[:80]))
        last = name.decode("latin-1").lower()
        text = value.strip(b" \t").decode("latin-1")
        fields[last] = f"{fields[last]}, {text}" if last in fields else text
    return Head(version.decode("ascii"), int(code), reason.decode("latin-1"), Headers(fields))


class Connection:
    """One HTTP/1.1 connection: a request at a time, its response read before the next.

    Args:
        sock: connected (and, for https, already wrapped in TLS), its timeout set.
        quickack: re-arm ``TCP_QUICKACK`` on the TCP socket after every read (for requests
            written ahead; where ``QUICKACK`` is None it does nothing).

    ``readinto`` returns 0 at the end of the body; ``reusable`` then says whether the
    server keeps the connection open for another request.
    """

    def __init__(self, sock: socket.socket, *, quickack: bool = False) -> None:
        self.sock = sock
        self._quickack = QUICKACK if quickack and QUICKACK is not None else 0  # the option
        self._pending = bytearray()  # bytes received past what has been handed out
        self._left = 0  # body bytes left (length framing) or in this chunk (chunked)
        self._mode = "none"  # "length" | "chunked" | "close" | "none"
        self._in_chunk = False  # chunked: a chunk's data was begun (its CRLF is still due)
        self._done = True
        self._keep = True  # until a response says otherwise
        self.requests = 0

    # ------------------------------------------------------------------ requests

    def send(self, head: bytes) -> None:
        if not self._done:
            raise ProtocolError(N_("the previous response was not read to its end"))
        self.requests += 1
        self.sock.sendall(head)

    def send_ahead(self, heads: bytes, count: int) -> None:
        """Writes ``count`` requests at once, whatever responses are still to be read (the
        server answers them in order: read each with ``read_head`` and ``readinto``)."""
        self.requests += count
        self.sock.sendall(heads)

    def read_head(self, *, method: str = "GET") -> Head:
        """The next response's head (``1xx`` interim responses skipped); the body's framing
        is set up for ``readinto``."""
        for _ in range(MAX_INTERIM + 1):
            head = parse_head(self._take_head())
            if not 100 <= head.status < 200:
                self._frame(head, method)
                return head
            if head.status == 101:
                raise ProtocolError(N_("the server switched protocols"))
        raise ProtocolError(N_("more than {limit} interim (1xx) responses"), limit=MAX_INTERIM)

    def _take_head(self) -> bytes:
        start = 0
        while True:
            end = self._pending.find(b"\r\n\r\n", start)
            if end > MAX_HEAD:
                raise ProtocolError(N_("response head over {limit} bytes"), limit=MAX_HEAD)
            if end >= 0:
                data = bytes(self._pending[:end])
                del self._pending[: end + 4]
                return data
            if len(self._pending) > MAX_HEAD:
                raise ProtocolError(N_("response head over {limit} bytes"), limit=MAX_HEAD)
            start = max(0, len(self._pending) - 3)
            if not self._fill():
                if self._pending:
                    raise ProtocolError(N_("connection closed in the middle of a response head"))
                raise ServerClosed(N_("connection closed before a response"))

    def _fill(self) -> int:
        """Receives more bytes into the pending buffer; 0 at the end of the connection."""
        chunk = self.sock.recv(_RECV)
        if self._quickack:
            self.sock.setsockopt(socket.IPPROTO_TCP, self._quickack, 1)
        self._pending += chunk
        return len(chunk)

    def _frame(self, head: Head, method: str) -> None:
        headers = head.headers
        connection = (headers.get("Connection") or "").lower()
        if head.version == "HTTP/1.0":
            self._keep = "keep-alive" in connection
        else:
            self._keep = "close" not in connection
        coding = headers.get("Transfer-Encoding")
        length = headers.get("Content-Length")
        self._done = False
        if method in ("HEAD", "CONNECT") or head.status in _NO_BODY:
            self._mode, self._done = "none", True
        elif coding is not None:
            if coding.lower().rsplit(",", 1)[-1].strip() == "chunked":
                self._mode, self._left, self._in_chunk = "chunked", 0, False
            else:
                self._mode, self._keep = "close", False
            if length is not None:
                self._keep = False  # both framings announced: read it, but trust no reuse
        elif length is not None:
            values = {v.strip() for v in length.split(",")}
            if len(values) != 1 or not (value := values.pop()).isdigit():
                raise ProtocolError(N_("bad Content-Length {length}"), length=repr(length[:40]))
            self._mode, self._left = "length", int(value)
            self._done = self._left == 0
        else:
            self._mode, self._keep = "close", False

    # ------------------------------------------------------------------ bodies

    @property
    def pending(self) -> int:
        """Bytes received and not yet handed out."""
        return len(self._pending)

    @property
    def done(self) -> bool:
        """The body of the last response has been read to its end."""
        return self._done

    @property
    def reusable(self) -> bool:
        """Another request may be sent on this connection now."""
        return self._done and self._keep

    def readinto(self, view: memoryview) -> int:
        """Body bytes placed at the start of ``view``; 0 at the end of the body."""
        if self._done or not len(view):
            return 0
        if self._mode == "chunked":
            if self._left == 0 and not self._next_chunk():
                return 0
            return self._read_some(view[: self._left])
        if self._mode == "length":
            view = view[: self._left]
        return self._read_some(view)

    def _read_some(self, view: memoryview) -> int:
        if self._pending:
            n = min(len(view), len(self._pending))
            view[:n] = self._pending[:n]
            del self._pending[:n]
        else:
            n = self.sock.recv_into(view)
            if self._quickack:
                self.sock.setsockopt(socket.IPPROTO_TCP, self._quickack, 1)
            if not n:
                if self._mode != "close":
                    raise ProtocolError(N_("connection closed in the middle of a body"))
                self._done, self._keep = True, False
                return 0
        if self._mode != "close":
            self._left -= n
            if self._mode == "length" and self._left == 0:
                self._done = True
        return n

    def _line(self) -> bytes:
        while (end := self._pending.find(b"\n")) < 0:
            if len(self._pending) > MAX_LINE:
                raise ProtocolError(N_("a chunk line over {limit} bytes"), limit=MAX_LINE)
            if not self._fill():
                raise ProtocolError(N_("connection closed in the middle of a chunked body"))
        line = bytes(self._pending[:end]).rstrip(b"\r")
        del self._pending[: end + 1]
        if len(line) > MAX_LINE:
            raise ProtocolError(N_("a chunk line over {limit} bytes"), limit=MAX_LINE)
        return line

    def _next_chunk(self) -> bool:
        """Reads the end of the chunk before (if any) and the next chunk's size line;
        ``False`` after the last chunk and its trailers."""
        if self._in_chunk and self._line():
            raise ProtocolError(N_("chunk data longer than its size"))
        self._in_chunk = False
        size_text = self._line().split(b";", 1)[0].strip()
        try:
            size = int(size_text, 16)
        except ValueError:
            raise ProtocolError(N_("bad chunk size {size}"), size=repr(size_text[:20])) from None
        if size < 0 or len(size_text) > 16:
            raise ProtocolError(N_("bad chunk size {size}"), size=repr(size_text[:20]))
        if size == 0:
            for _ in range(MAX_FIELDS + 1):  # trailers, bounded like a head
                if not self._line():
                    self._done = True
                    return False
            raise ProtocolError(N_("more than {limit} trailer fields"), limit=MAX_FIELDS)
        self._left, self._in_chunk = size, True
        return True

    def close(self) -> None:
        self._done, self._keep = True, False
        self.sock.close()
