"""The hub's telemetry room: screens' heartbeats in, the fleet's state out.

``POST /api/v1/heartbeat`` keeps the last heartbeat of each screen in SQLite (table
``screen_heartbeats``) and its latest screenshot in ``DATA/screenshots/<screen>.png``
(temp file + fsync + rename). ``GET /api/v1/screens`` lists every screen known to the hub:
online (a heartbeat within the online window, 90 s by default), stale content, last error,
screenshot path and URL. ``GET /api/v1/screens/<screen>/screenshot`` serves the PNG.

Heartbeats need a screen's own token (``signage screen add``: it reports for that id
only), the shared screen token (``--screen-token-file``, legacy: not-enrolled ids only, at
most ``policy.max_unenrolled``) or the admin token; a hub with no token at all and no
enrolled screen accepts them. Each report is bounded (``screens.bound_report``: id, tags,
texts cut, a real PNG screenshot of bounded pixels). ``/api/v1/screens`` answers a page
(``?limit=N&after=ID``, ``X-Total-Count``, ``Link rel="next"``).

What is stored and what it means (``TelemetryStore``, the pure ``assess``) lives in
``signage.hub.telemetry_store``; this module is the HTTP side.
"""

from __future__ import annotations

import os
import sqlite3
import time
from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING
from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import FileResponse, JSONResponse, Response
from starlette.routing import BaseRoute, Route

from signage.events import rfc3339_ms
from signage.hub.beatworker import MAX_BODY, BeatProcess, FrameError, WorkerDown
from signage.hub.errors import json_error
from signage.hub.limits import query_seconds
from signage.hub.telemetry_store import (
    DEFAULT_ONLINE_WINDOW_S,
    DEFAULT_PAGE,
    DEFAULT_STALE_GRACE_S,
    MAX_PAGE,
    SCHEMA,
    ScreenState,
    TelemetryStore,
)
from signage.i18n import _, current_language
from signage.logs import area_logger, verbosity_of
from signage.telemetry.wire import HEARTBEAT_PATH

if TYPE_CHECKING:
    from signage.hub.state import Hub

log = area_logger("hub")


def _env_seconds(name: str, default: float) -> float:
    raw = os.environ.get(name)
    if not raw:
        return default
    try:
        value = float(raw)
    except ValueError:
        log.warning("%s=%r is not a number of seconds; using %s", name, raw, default)
        return default
    return value if value > 0 else default


def _env_count(name: str, default: int) -> int:
    raw = os.environ.get(name)
    if not raw:
        return default
    if not raw.isdigit() or int(raw[:9]) < 1:
        log.warning("%s=%r is not a whole number above 0; using %s", name, raw, default)
        return default
    return int(raw[:9])


# Heartbeats being checked or stored at once, past which the hub answers 503 with
# Retry-After at once instead of queueing more (``SIGNAGE_HUB_MAX_WAITING_BEATS``). A player
# gives up on a beat after 5 s (its read timeout) and sends the next one at its interval,
# so a beat queued longer is work for nobody: at 10,000 screens a burst queued them 8-9 s
# and held their connections and bodies (bench/fleet.py). ~2 s of the hub's pace here.
MAX_WAITING_BEATS = 1000
BUSY_RETRY_S = 30
# Retry-After while the heartbeat worker process restarts (``beatworker.WorkerDown``).
WORKER_DOWN_RETRY_S = 5


def _query_limit(request: Request) -> int:
    raw = request.query_params.get("limit")
    if raw is None:
        return DEFAULT_PAGE
    if not raw.isdigit() or not 1 <= int(raw[:8]) <= MAX_PAGE:
        raise HTTPException(
            400, _("'limit' must be a whole number from 1 to {most}").format(most=MAX_PAGE)
        )
    return int(raw)


def _query_seconds(request: Request, name: str, default: float) -> float:
    return query_seconds(request.query_params.get(name), name, default)


def routes(hub: Hub) -> Sequence[BaseRoute]:
    """The telemetry endpoints of ``hub`` (composed by ``signage.hub.app.create_app``).

    The online window and the stale grace default to 90 s and 75 s, or to
    ``SIGNAGE_ONLINE_WINDOW_S`` / ``SIGNAGE_STALE_GRACE_S`` in the hub's environment, and
    each request to ``/api/v1/screens`` may pass ``?online_window=S&stale_grace=S``.
    """
    hub.schema(SCHEMA)  # kept by the hub, so a new database after damage has the table
    store = TelemetryStore(hub.db, hub.config.data_dir / "screenshots")
    online_window = _env_seconds("SIGNAGE_ONLINE_WINDOW_S", DEFAULT_ONLINE_WINDOW_S)
    stale_grace = _env_seconds("SIGNAGE_STALE_GRACE_S", DEFAULT_STALE_GRACE_S)

    def hub_version() -> int | None:
        version = hub.current_version()
        return version if version > 0 else None  # 0: nothing published yet

    # Checked and stored in a process of their own (signage.hub.beatworker): on this
    # process's threads the ~1 ms of Python per beat took the interpreter lock from the
    # event loop, and every poll waited behind it.
    worker = BeatProcess(
        {
            "data_dir": str(hub.config.data_dir),
            "database": str(hub.database.path),
            "max_unenrolled": hub.config.policy.max_unenrolled,
            "verbosity": verbosity_of(log),  # it logs as the hub does
        }
    )
    hub.on_close(worker.close)
    most_waiting = _env_count("SIGNAGE_HUB_MAX_WAITING_BEATS", MAX_WAITING_BEATS)
    waiting = [0]  # heartbeats between their head and their answer (event loop only)

    async def heartbeat(request: Request) -> Response:
        caller = hub.require_screen_token(request)
        if waiting[0] >= most_waiting:
            return json_error(
                503,
                _("the hub is taking too many heartbeats now; the next one is welcome"),
                headers={"Retry-After": str(BUSY_RETRY_S), "Connection": "close"},
            )
        waiting[0] += 1
        try:
            body = await request.body()  # capped while it streams (limits.BodyLimit)
            now = time.time()
            head = {
                "kind": caller.kind,
                "screen": caller.screen,
                "lang": current_language(),
                "received": now,
            }
            answer = await worker.submit(head, body)
        except FrameError:  # never past BodyLimit's cap; kept as a clear answer anyway
            too_large = _("request body over the {limit} byte limit of this endpoint")
            return json_error(413, too_large.format(limit=MAX_BODY))
        except WorkerDown as exc:
            log.warning("telemetry: heartbeat refused: %s", exc)
            return json_error(
                503,
                _("the hub is restarting its heartbeat worker; the next one is welcome"),
                headers={"Retry-After": str(WORKER_DOWN_RETRY_S)},
            )
        finally:
            waiting[0] -= 1
        status = answer.get("status")
        if status != 200:
            error = str(answer.get("error", ""))
            if answer.get("database"):
                raise sqlite3.DatabaseError(error)  # 503, and a damaged file set aside
            if status in (400, 403):
                return json_error(status, error)
            raise HTTPException(500, _("the heartbeat could not be stored: {reason}").format(
                reason=error))  # fmt: skip
        store.note_hub_version(hub_version(), now)
        # "time": the hub's clock, which screens take as the organisation's (signage.timebase)
        told = rfc3339_ms(datetime.now(UTC))
        return JSONResponse({"ok": True, "screen": answer.get("screen"), "time": told})

    async def screens(request: Request) -> Response:
        hub.require_reader(request)
        window = _query_seconds(request, "online_window", online_window)
        grace = _query_seconds(request, "stale_grace", stale_grace)
        after = request.query_params.get("after", "")
        limit = _query_limit(request)

        def page() -> tuple[list[ScreenState], int]:
            states = store.screens(
                time.time(), hub_version(), window, grace, after=after, limit=limit
            )
            return states, store.count()

        states, total = await run_in_threadpool(page)
        headers = {"X-Total-Count": str(total)}
        if len(states) == limit:
            query = urlencode({**request.query_params, "after": states[-1].screen})
            headers["Link"] = f'</api/v1/screens?{query}>; rel="next"'
        return JSONResponse([s.to_json() for s in states], headers=headers)

    async def screenshot(request: Request) -> Response:
        hub.require_reader(request)
        screen = request.path_params["screen"]
        if "/" in screen or screen.startswith("."):
            raise HTTPException(404, _("no such screen"))
        path = store.screenshots / f"{screen}.png"
        if not path.is_file():
            raise HTTPException(
                404, _("no screenshot from screen {screen} yet").format(screen=repr(screen))
            )
        return FileResponse(path, media_type="image/png", headers={"Cache-Control": "no-cache"})

    return [
        Route(HEARTBEAT_PATH, heartbeat, methods=["POST"]),
        Route("/api/v1/screens", screens, methods=["GET"]),
        Route("/api/v1/screens/{screen}/screenshot", screenshot, methods=["GET"]),
    ]
