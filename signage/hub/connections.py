"""The hub's connection room: the open-file budget, the connection cap and the header timeout.

A hub holds one file descriptor per open connection, and a push channel stays open for
as long as a screen is on. Left alone, about a thousand push channels (a common limit is
1,024) use every descriptor: the hub can no longer accept ``/healthz``, the feed or a
heartbeat, nor open its database. So, at start:

- ``raise_open_files`` lifts the soft ``RLIMIT_NOFILE`` to the hard limit;
- ``plan_budget`` splits what there is (pure): ``RESERVED_FILES`` descriptors stay for
  everything that is not a connection (the database, one connection per worker thread,
  asset files being sent, logs, the watcher), and of the connections ``RESERVED_CONNECTIONS``
  are never push channels. Push channels beyond the budget get a 503 with ``Retry-After``
  (``max_push``); connections beyond ``max_connections`` are answered 503 and closed as
  soon as they are accepted, so the process never runs out;
- ``GuardedH11Protocol`` is uvicorn's h11 protocol with two more rules: a connection must
  deliver a complete request head within ``header_timeout_s`` of opening (or of its last
  response), else it is closed (uvicorn has no such timeout: a client sending one header
  byte every few seconds, or nothing at all, held its connection for ever), and TCP
  keep-alive probes plus ``TCP_USER_TIMEOUT`` close connections whose peer vanished
  without a word (a screen unplugged mid push channel).

Idle keep-alive connections are closed by uvicorn's ``timeout_keep_alive``; a request
head larger than ``MAX_HEAD_BYTES`` is refused (431, or h11's 400).

Two server pieces carry these rules (``signage.hub.server_pieces`` picks one):
``GuardedHttpToolsProtocol`` (``signage.hub.guarded_httptools``) on uvicorn's httptools
protocol (llhttp, in C) with the uvloop event loop, the hub's default, and
``GuardedH11Protocol`` here, on the pure-Python h11 parser with the standard asyncio loop.
llhttp has no head size limit of its own (it keeps a header it has not finished in
memory, however long), so the httptools protocol counts a head's bytes as they arrive and
refuses it with 431 once it passes ``MAX_HEAD_BYTES``.
"""

from __future__ import annotations

import asyncio
import json
import resource
import socket
from dataclasses import dataclass
from typing import Any, ClassVar

from uvicorn.protocols.http.h11_impl import H11Protocol

from signage.i18n import _
from signage.logs import area_logger

log = area_logger("hub")

RESERVED_FILES = 192
RESERVED_CONNECTIONS = 64
DEFAULT_HEADER_TIMEOUT_S = 10.0
# An idle kept-alive connection is closed after this. A screen's own bursts (manifest, then
# its assets) come within milliseconds; its next poll comes 15 s later on a new connection
# anyway, so a longer wait only holds descriptors: at 10,000 screens 5 s held ~5,000 idle
# connections and the budget of a 20,000 hard limit ran out (503s, bench/fleet.py).
DEFAULT_KEEP_ALIVE_S = 2
# Connections waiting to be accepted (the kernel caps it at net.core.somaxconn): a burst
# beyond it is dropped, and the screen's TCP retries after 1, 3, 7... s.
LISTEN_BACKLOG = 4096
MAX_HEAD_BYTES = 16 * 1024
# Half-open detection: first probe after 60 s of silence, then every 10 s, give up after 3;
# unacknowledged data is given up on after 60 s.
KEEPIDLE_S = 60
KEEPINTVL_S = 10
KEEPCNT = 3
USER_TIMEOUT_MS = 60_000
RETRY_AFTER_S = 5


def _closing_answer(status: str, reason: str, headers: str = "") -> bytes:
    """A whole HTTP/1.1 answer written before any request is read, then the connection is
    closed: the same ``{"error": ...}`` shape as every refusal."""
    body = json.dumps({"error": reason}).encode() + b"\n"
    return (
        f"HTTP/1.1 {status}\r\nContent-Type: application/json\r\n{headers}"
        f"Content-Length: {len(body)}\r\nConnection: close\r\n\r\n".encode()
        + body
    )


def busy_answer() -> bytes:
    """The whole 503 written to a connection over the budget (before any request is read,
    so in the hub's language)."""
    reason = _("the hub holds all the connections it can now; retry later")
    return _closing_answer("503 Service Unavailable", reason, f"Retry-After: {RETRY_AFTER_S}\r\n")


def head_too_large_answer() -> bytes:
    """The whole 431 written when a request head passes ``MAX_HEAD_BYTES`` (the httptools
    protocol's cap; in the hub's language)."""
    reason = _("request head over the {limit} byte limit").format(limit=MAX_HEAD_BYTES)
    return _closing_answer("431 Request Header Fields Too Large", reason)


@dataclass(frozen=True, slots=True)
class Budget:
    """How the hub spends its file descriptors.

    Args:
        open_files: the soft ``RLIMIT_NOFILE`` the hub runs with.
        raised_from: the soft limit it had before ``raise_open_files`` (same if unchanged).
        max_connections: connections held at once; more are answered 503 and closed.
        max_push: push channels open at once; more get a 503 with ``Retry-After``.
    """

    open_files: int
    raised_from: int
    max_connections: int
    max_push: int

    def describe(self) -> str:
        """One line for the hub's start-up output."""
        raised = f" (raised from {self.raised_from})" if self.raised_from != self.open_files else ""
        return (
            f"open-file limit {self.open_files}{raised}: up to {self.max_connections} "
            f"connections, {self.max_push} of them push channels"
        )


def plan_budget(open_files: int, raised_from: int, max_push: int) -> Budget:
    """The connection and push caps that fit ``open_files`` descriptors; pure.

    Args:
        open_files: the soft limit the hub runs with (``RLIM_INFINITY`` counts as huge).
        raised_from: the soft limit before raising it (reported only).
        max_push: the operator's ``--max-push`` (an upper bound).
    """
    connections = max(8, open_files - RESERVED_FILES)
    push = max(0, min(max_push, connections - RESERVED_CONNECTIONS))
    return Budget(open_files, raised_from, connections, push)


def raise_open_files() -> tuple[int, int]:
    """Lifts the soft open-file limit to the hard one; returns (limit now, limit before)."""
    soft, hard = resource.getrlimit(resource.RLIMIT_NOFILE)
    target = hard if hard != resource.RLIM_INFINITY else max(soft, 1 << 20)
    if soft != resource.RLIM_INFINITY and soft < target:
        try:
            resource.setrlimit(resource.RLIMIT_NOFILE, (target, hard))
        except (ValueError, OSError) as exc:
            log.warning("could not raise the open-file limit from %d to %d: %s", soft, target, exc)
            return soft, soft
        return target, soft
    now = soft if soft != resource.RLIM_INFINITY else 1 << 20
    return now, now


def probe_dead_peers(transport: asyncio.Transport) -> None:
    sock = transport.get_extra_info("socket")
    if sock is None or sock.family not in (socket.AF_INET, socket.AF_INET6):
        return
    try:
        sock.setsockopt(socket.SOL_SOCKET, socket.SO_KEEPALIVE, 1)
        for name, value in (
            ("TCP_KEEPIDLE", KEEPIDLE_S),
            ("TCP_KEEPINTVL", KEEPINTVL_S),
            ("TCP_KEEPCNT", KEEPCNT),
            ("TCP_USER_TIMEOUT", USER_TIMEOUT_MS),
        ):
            option = getattr(socket, name, None)
            if option is not None:
                sock.setsockopt(socket.IPPROTO_TCP, option, value)
    except OSError as exc:  # not fatal: the connection works, only detection is slower
        log.debug("cannot set TCP keep-alive options: %s", exc)


class HeadDeadline:
    """One connection's deadline for a complete request head (slow-loris, silent clients).

    Shared by both guarded protocols (h11 here, httptools in ``guarded_httptools``): armed
    when a connection opens or a response completes, disarmed when a head arrives; when it
    fires, the connection is closed unless a request is being answered (a push channel).
    """

    def __init__(self, loop: asyncio.AbstractEventLoop, protocol: Any) -> None:
        self._loop = loop
        self._protocol = protocol  # has header_timeout_s, transport, cycle
        self._handle: asyncio.TimerHandle | None = None

    def arm(self) -> None:
        self.disarm()
        seconds = float(self._protocol.header_timeout_s)
        if seconds > 0:
            self._handle = self._loop.call_later(seconds, self._late)

    def disarm(self) -> None:
        if self._handle is not None:
            self._handle.cancel()
            self._handle = None

    def _late(self) -> None:
        self._handle = None
        transport = self._protocol.transport
        if transport.is_closing():
            return
        cycle = self._protocol.cycle
        if cycle is not None and not cycle.response_complete:
            return  # a request is being answered (a push channel): not ours to cut
        transport.close()


def admit(protocol: Any, transport: asyncio.Transport) -> None:
    """A new connection on a guarded protocol (after its base's ``connection_made``): past
    the class's ``max_connections`` it gets the busy answer and is closed (``refused``
    counted); otherwise dead-peer probes are set and the head deadline armed."""
    guarded = type(protocol)
    if len(protocol.connections) > guarded.max_connections:
        guarded.refused += 1
        transport.write(busy_answer())
        transport.close()
        return
    probe_dead_peers(transport)
    protocol._head_deadline.arm()


class GuardedH11Protocol(H11Protocol):
    """uvicorn's h11 protocol with a connection cap, a request-head deadline and TCP
    keep-alive. Made per hub by ``server_pieces.guarded_protocol`` (class attributes carry
    the limits)."""

    max_connections: ClassVar[int] = 1 << 20
    header_timeout_s: ClassVar[float] = DEFAULT_HEADER_TIMEOUT_S
    refused: ClassVar[int] = 0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_deadline = HeadDeadline(self.loop, self)

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        admit(self, transport)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_head_deadline()
        super().connection_lost(exc)

    def handle_events(self) -> None:
        before = self.cycle
        super().handle_events()
        if self.cycle is not before:  # a complete request head arrived
            self._disarm_head_deadline()

    def on_response_complete(self) -> None:
        # Armed before the base class looks at pipelined requests: a head already waiting
        # disarms it at once through handle_events.
        if not self.transport.is_closing():
            self._arm_head_deadline()
        super().on_response_complete()

    def _arm_head_deadline(self) -> None:
        self._head_deadline.arm()

    def _disarm_head_deadline(self) -> None:
        self._head_deadline.disarm()
