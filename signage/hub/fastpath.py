"""The hub's fast lane: a screen's manifest poll answered before Starlette's routing.

Ten thousand screens polling ``/feed.json`` every 15 s make ~700 requests a second, nearly
all answered ``304 Not Modified``. Through Starlette each one builds a ``Request``, walks
the middleware stack and the router and a ``Response`` (most of the hub's CPU per poll in
py-spy, bench/README.md "fleet"). ``ManifestLane`` is a plain ASGI application in front of
the whole Starlette app: a ``GET``/``HEAD`` of ``/feed.json`` or ``/feed/feed.json``
without a request body, while a version is published, is answered from the snapshot with
the very headers the feed route sends (``feed_routes.manifest``): 304 when
``If-None-Match`` names the ETag, else 200 with the bytes. The response pieces are built
once per published version. Everything else, and any poll it does not recognise
(nothing published, a body announced), goes on to Starlette unchanged, so its limits and
error answers stay where they are; uvicorn's access log sees every request either way.
"""

from __future__ import annotations

from collections.abc import Awaitable, Callable, MutableMapping
from email.utils import formatdate
from typing import TYPE_CHECKING, Any

from signage.hub.feed_routes import MANIFEST_TYPE, NO_CACHE, etag_matches

if TYPE_CHECKING:
    from signage.hub.publishing import FeedSnapshot
    from signage.hub.state import Hub

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

MANIFEST_PATHS = frozenset({"/feed.json", "/feed/feed.json"})
_BODY_HEADERS = frozenset({b"content-length", b"transfer-encoding"})


class _Answers:
    """The 304 and 200 response starts of one published version (built once)."""

    __slots__ = ("etag", "fresh", "full", "manifest", "snapshot")

    def __init__(self, snap: FeedSnapshot) -> None:
        self.snapshot = snap
        self.manifest = snap.manifest
        self.etag = snap.manifest_etag
        headers: list[tuple[bytes, bytes]] = [
            (b"etag", self.etag.encode("latin-1")),
            (b"cache-control", NO_CACHE.encode("latin-1")),
        ]
        if snap.modified > 0:
            headers.append((b"last-modified", formatdate(snap.modified, usegmt=True).encode()))
        headers.append((b"x-signage-version", str(snap.version).encode()))
        if snap.signature is not None:
            sig = snap.signature.decode("ascii", "replace").strip()
            headers.append((b"x-signage-signature", sig.encode("latin-1", "replace")))
        self.fresh: Message = {"type": "http.response.start", "status": 304, "headers": headers}
        self.full: Message = {
            "type": "http.response.start",
            "status": 200,
            "headers": [
                *headers,
                (b"content-length", str(len(self.manifest)).encode()),
                (b"content-type", MANIFEST_TYPE.encode()),
            ],
        }


class ManifestLane:
    """ASGI: answers screens' manifest polls from the hub's snapshot, passes the rest on.

    Args:
        app: the hub's Starlette application (everything else).
        hub: the hub whose snapshot is served.
    """

    __slots__ = ("_answers", "app", "hub")

    def __init__(self, app: ASGIApp, hub: Hub) -> None:
        self.app = app
        self.hub = hub
        self._answers: _Answers | None = None

    def _current(self) -> _Answers | None:
        snap = self.hub.snapshot()
        answers = self._answers
        if answers is None or answers.snapshot is not snap:
            if not snap.published:
                return None
            answers = self._answers = _Answers(snap)
        return answers

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if (
            scope["type"] == "http"
            and scope["path"] in MANIFEST_PATHS
            and scope["method"] in ("GET", "HEAD")
        ):
            answers = self._current()
            if answers is not None:
                if_none_match: bytes | None = None
                for name, value in scope["headers"]:
                    if name in _BODY_HEADERS:
                        break  # a body on a poll: Starlette's limits answer it
                    if name == b"if-none-match" and if_none_match is None:
                        if_none_match = value
                else:
                    if if_none_match is not None and etag_matches(
                        if_none_match.decode("latin-1"), answers.etag
                    ):
                        await send(answers.fresh)
                        await send({"type": "http.response.body", "body": b""})
                    else:
                        await send(answers.full)
                        await send({"type": "http.response.body", "body": answers.manifest})
                    return
        await self.app(scope, receive, send)
