"""The hub's remote data room: what the data slides' https sources last answered, and
"refresh now".

- ``GET /api/v1/data``: per URL, when its data was last good and last checked, and the
  problem of the last check (admin token).
- ``POST /api/v1/data/refresh``: fetches every data slide's URL now (not waiting for its
  ``refresh``) and republishes when the data changed; answers the version served and the
  problems (admin token). Root mode only (a ``--feed`` hub publishes nothing itself).

The fetching itself, on a worker thread, is ``signage.data.remote``; the hub's background
task (``signage.hub.app.keep_data_fresh``) does the same on each slide's schedule.
"""

from __future__ import annotations

from datetime import datetime
from typing import TYPE_CHECKING

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from signage.errors import SignageError
from signage.events import rfc3339_ms
from signage.i18n import _

if TYPE_CHECKING:
    from signage.hub.state import Hub


class ScanCount:
    """The hub's own QR scans since a moment (``qr_scans``), for ``scans:`` data slides."""

    def __init__(self, hub: Hub) -> None:
        self.hub = hub

    def __call__(self, playlist: str | None, slide: str | None, since: datetime) -> int:
        sql = "SELECT COUNT(*) FROM qr_scans WHERE ts >= ?"
        args: list[str] = [rfc3339_ms(since)]
        if playlist is not None:
            sql += " AND playlist = ?"
            args.append(playlist)
        if slide is not None:
            sql += " AND slide = ?"
            args.append(slide)
        row = self.hub.db().execute(sql, args).fetchone()
        return int(row[0]) if row else 0


def routes(hub: Hub) -> list[BaseRoute]:
    """The remote data endpoints; gives the publisher the hub's scan count."""
    remote = hub.remote_data()
    if remote is not None:
        remote.scan_counter = ScanCount(hub)

    async def status(request: Request) -> Response:
        hub.require_token(request)
        remote = hub.remote_data()
        return JSONResponse({"sources": remote.status() if remote is not None else []})

    def _refresh() -> dict[str, object]:
        remote = hub.remote_data()
        if remote is None:
            raise HTTPException(409, _("a --feed hub publishes nothing itself; refresh upstream"))
        remote.prefetch(hub.now(), force=True)  # outside the publishing lock
        try:
            version = hub.publish_root("remote data refresh", skip_unchanged=True)
        except SignageError as exc:
            raise HTTPException(409, _("not published: {reason}").format(reason=exc)) from None
        return {"version": version, "problems": sorted(remote.problems.values())}

    async def refresh(request: Request) -> Response:
        hub.require_token(request)
        return JSONResponse(await run_in_threadpool(_refresh))

    return [
        Route("/api/v1/data", status, methods=["GET"]),
        Route("/api/v1/data/refresh", refresh, methods=["POST"]),
    ]
