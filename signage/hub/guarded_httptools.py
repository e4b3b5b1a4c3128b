"""The hub's fast door: uvicorn's httptools protocol with the hub's connection guards.

The same rules as ``connections.GuardedH11Protocol`` (see ``signage.hub.connections``), on
llhttp instead of h11:

- connections past ``max_connections`` are answered 503 and closed as they are accepted;
- a connection must deliver a complete request head within ``header_timeout_s`` of
  opening or of its last answer, else it is closed (a slow-loris client, or one that says
  nothing, never holds its descriptor for long);
- TCP keep-alive probes and ``TCP_USER_TIMEOUT`` close connections whose peer vanished;
- a request head over ``MAX_HEAD_BYTES`` is refused with 431 and the connection closed.
  llhttp itself keeps an unfinished header in memory however long it grows, so the bytes
  of a head are counted as they arrive (``data_received``: every chunk read while the head
  is incomplete) and, once it is complete, measured exactly (its URL and header fields).

Imported only when httptools is installed (``server_pieces.guarded_protocol``).
"""

from __future__ import annotations

import asyncio
from typing import Any, ClassVar

from uvicorn.protocols.http.httptools_impl import HttpToolsProtocol

from signage.hub.connections import (
    DEFAULT_HEADER_TIMEOUT_S,
    MAX_HEAD_BYTES,
    HeadDeadline,
    admit,
    head_too_large_answer,
)


class HeadTooLarge(Exception):
    """Raised from a parser callback when a request head passes ``MAX_HEAD_BYTES``."""


class GuardedHttpToolsProtocol(HttpToolsProtocol):
    """uvicorn's httptools protocol with a connection cap, a request-head deadline, a head
    size cap and TCP keep-alive. Made per hub by ``server_pieces.guarded_protocol``."""

    max_connections: ClassVar[int] = 1 << 20
    header_timeout_s: ClassVar[float] = DEFAULT_HEADER_TIMEOUT_S
    max_head_bytes: ClassVar[int] = MAX_HEAD_BYTES
    refused: ClassVar[int] = 0

    def __init__(self, *args: Any, **kwargs: Any) -> None:
        super().__init__(*args, **kwargs)
        self._head_deadline = HeadDeadline(self.loop, self)
        self._awaiting_head = True  # between a message's end (or the start) and its head
        self._head_read = 0  # bytes read while the head was incomplete
        self._head_size = 0  # the head's URL and fields, measured by the callbacks
        self._head_too_large = False

    # ------------------------------------------------------------ connection

    def connection_made(self, transport: asyncio.Transport) -> None:  # type: ignore[override]
        super().connection_made(transport)
        admit(self, transport)

    def connection_lost(self, exc: Exception | None) -> None:
        self._disarm_head_deadline()
        super().connection_lost(exc)

    def data_received(self, data: bytes) -> None:
        if self.transport.is_closing():
            return  # refused (busy, head too large): nothing more is read
        counting = self._awaiting_head
        if counting:
            self._head_read += len(data)
        super().data_received(data)  # a callback's HeadTooLarge ends in send_400_response
        if counting and self._awaiting_head and self._head_read > self.max_head_bytes:
            self._refuse_head()

    def _refuse_head(self) -> None:
        self._disarm_head_deadline()
        self.logger.warning("request head over %d bytes refused (431)", self.max_head_bytes)
        if not self.transport.is_closing():
            self.transport.write(head_too_large_answer())
            self.transport.close()

    # ------------------------------------------------------------ parser callbacks

    def on_message_begin(self) -> None:
        super().on_message_begin()
        self._awaiting_head = True
        self._head_size = 0

    def on_url(self, url: bytes) -> None:
        self._measure_head(len(url))
        super().on_url(url)

    def on_header(self, name: bytes, value: bytes) -> None:
        self._measure_head(len(name) + len(value) + 4)
        super().on_header(name, value)

    def _measure_head(self, size: int) -> None:
        self._head_size += size
        if self._head_size > self.max_head_bytes:
            self._head_too_large = True
            raise HeadTooLarge  # llhttp stops; uvicorn calls send_400_response

    def on_headers_complete(self) -> None:
        self._awaiting_head = False
        self._head_read = 0
        self._disarm_head_deadline()
        super().on_headers_complete()

    def on_message_complete(self) -> None:
        super().on_message_complete()
        self._awaiting_head = True

    def on_response_complete(self) -> None:
        # A pipelined request already parsed needs no deadline: its head is complete.
        if not self.transport.is_closing() and not self.pipeline:
            self._arm_head_deadline()
        super().on_response_complete()

    def send_400_response(self, msg: str) -> None:
        if self._head_too_large:
            self._refuse_head()
            return
        self._disarm_head_deadline()
        super().send_400_response(msg)

    # ------------------------------------------------------------ head deadline

    def _arm_head_deadline(self) -> None:
        self._head_deadline.arm()

    def _disarm_head_deadline(self) -> None:
        self._head_deadline.disarm()


__all__ = ["GuardedHttpToolsProtocol", "HeadTooLarge"]
