"""The hub's feed endpoints: manifest, signature, assets, push channel, health and key.

Everything a screen's sync client reads. The manifest and its signature come from memory
(one consistent pair per version, ``Hub.snapshot()``) with strong ETags; assets come from
the content-addressed folder with Range support and a year-long immutable cache lifetime.
"""

from __future__ import annotations

import re
from email.utils import formatdate

from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from signage.hub.errors import json_error
from signage.hub.publishing import RepublishError
from signage.hub.state import Hub
from signage.i18n import _

ASSET_NAME = re.compile(r"[0-9a-f]{64}")
MANIFEST_TYPE = "application/json"
SIGNATURE_TYPE = "text/plain; charset=us-ascii"
NO_CACHE = "no-cache"
IMMUTABLE = "public, max-age=31536000, immutable"


def etag_matches(if_none_match: str | None, etag: str) -> bool:
    """Whether an ``If-None-Match`` header names ``etag`` (weak comparison, ``*`` matches)."""
    if not if_none_match:
        return False
    wanted = etag.removeprefix("W/")
    for part in if_none_match.split(","):
        tag = part.strip()
        if tag == "*" or tag.removeprefix("W/") == wanted:
            return True
    return False


def _conditional(
    request: Request, body: bytes, etag: str, media_type: str, modified: float, **extra: str
) -> Response:
    headers = {"ETag": etag, "Cache-Control": NO_CACHE, **extra}
    if modified > 0:
        # Informational. If-Modified-Since is deliberately not honoured: two publishes
        # within one second share the date, and a screen must never miss the second.
        headers["Last-Modified"] = formatdate(modified, usegmt=True)
    if etag_matches(request.headers.get("if-none-match"), etag):
        return Response(status_code=304, headers=headers)
    return Response(body, media_type=media_type, headers=headers)


def routes(hub: Hub) -> list[BaseRoute]:
    """The feed routes of ``hub``: ``/feed.json``, ``/feed.json.sig``, ``/assets/<sha256>``
    (each also under ``/feed/``), ``/api/v1/push``, ``/api/v1/feed``, ``/api/v1/pubkey``,
    ``/api/v1/republish`` (token) and ``/healthz``."""

    async def manifest(request: Request) -> Response:
        snap = hub.snapshot()
        if not snap.published:
            raise HTTPException(404, _("no feed has been published on this hub yet"))
        extra = {"X-Signage-Version": str(snap.version)}
        if snap.signature is not None:
            # The signature of exactly these bytes, so a client can take the pair from one
            # response and never pair a manifest with another version's signature.
            extra["X-Signage-Signature"] = snap.signature.decode("ascii", "replace").strip()
        return _conditional(
            request, snap.manifest, snap.manifest_etag, MANIFEST_TYPE, snap.modified, **extra
        )

    async def signature(request: Request) -> Response:
        snap = hub.snapshot()
        if snap.signature is None or snap.signature_etag is None:
            raise HTTPException(404, _("the feed served by this hub is not signed"))
        return _conditional(
            request,
            snap.signature,
            snap.signature_etag,
            SIGNATURE_TYPE,
            snap.modified,
            **{"X-Signage-Version": str(snap.version)},
        )

    async def asset(request: Request) -> Response:
        name = request.path_params["name"]
        if not ASSET_NAME.fullmatch(name):
            raise HTTPException(
                404, _("an asset name is the 64 lowercase hex digits of its sha256")
            )
        snap = hub.snapshot()
        path = snap.assets_dir / name
        try:
            stat = path.stat()
        except OSError:
            raise HTTPException(404, _("no asset {name} on this hub").format(name=name)) from None
        etag = f'"{name}"'
        headers = {"ETag": etag, "Cache-Control": IMMUTABLE}
        if etag_matches(request.headers.get("if-none-match"), etag):
            return Response(status_code=304, headers=headers)
        media_type = snap.media_types.get(name, "application/octet-stream")
        return FileResponse(path, headers=headers, media_type=media_type, stat_result=stat)

    async def push(request: Request) -> Response:
        if hub.push.subscribers >= hub.config.max_subscribers:
            raise HTTPException(
                503,
                _("too many open push channels; poll the feed instead"),
                {"Retry-After": "30", "Connection": "close"},  # and free the descriptor
            )
        return StreamingResponse(
            hub.push.stream(hub.current_version()),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    async def healthz(request: Request) -> Response:
        return JSONResponse({"ok": True, "version": hub.current_version()})

    async def feed_status(request: Request) -> Response:
        snap = hub.snapshot()
        return JSONResponse(
            {
                "version": snap.version,
                "published": snap.published,
                "signed": snap.signature is not None,
                "mode": "root" if hub.config.root is not None else "feed",
                "can_sign": hub.can_sign,
                "subscribers": hub.push.subscribers,
                "last_error": hub.last_error,
                "base_url": hub.config.base_url,
                "database": hub.database.damage_report(),  # damaged databases set aside, if any
            }
        )

    async def pubkey(request: Request) -> Response:
        key = hub.public_key()
        if key is None:
            raise HTTPException(
                404, _("this hub holds no signing key (started with --feed, no --key)")
            )
        return JSONResponse({"pubkey": key})

    def republish(request: Request) -> Response:
        # A sync endpoint: Starlette runs it in its thread pool, so publishing (file I/O,
        # hashing) does not stall the push channel.
        hub.require_token(request)
        try:
            version = hub.republish("requested through the API")
        except RepublishError as exc:
            return json_error(409, str(exc))
        return JSONResponse({"version": version})

    return [
        Route("/feed.json", manifest, methods=["GET", "HEAD"]),
        Route("/feed/feed.json", manifest, methods=["GET", "HEAD"]),
        Route("/feed.json.sig", signature, methods=["GET", "HEAD"]),
        Route("/feed/feed.json.sig", signature, methods=["GET", "HEAD"]),
        Route("/assets/{name}", asset, methods=["GET", "HEAD"]),
        Route("/feed/assets/{name}", asset, methods=["GET", "HEAD"]),
        Route("/api/v1/push", push, methods=["GET"]),
        Route("/api/v1/feed", feed_status, methods=["GET"]),
        Route("/api/v1/pubkey", pubkey, methods=["GET"]),
        Route("/api/v1/republish", republish, methods=["POST"]),
        Route("/healthz", healthz, methods=["GET"]),
    ]
