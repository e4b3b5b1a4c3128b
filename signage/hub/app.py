"""The hub's web application: composes the feed routes and every area's routes into Starlette.

Areas plug in by module name: ``signage.hub.alert_routes``, ``signage.hub.telemetry_routes``
and ``signage.hub.scan_routes`` each expose ``routes(hub) -> list[BaseRoute]``; a module
that does not exist (not built yet) is skipped. Errors answer JSON ``{"error": "..."}``
(``signage.hub.errors``), in the language the request asks for (``signage.hub.language``).

While it runs the app keeps two helpers: the watcher (a saved change republishes, but only
when the content really changed) and the refresher, an asyncio task that every
``config.refresh_check_s`` asks the hub to re-sign a feed half-way to its expiry.
"""

from __future__ import annotations

import asyncio
import contextlib
import importlib
import sqlite3
from collections.abc import AsyncIterator, Awaitable, Callable

from starlette.applications import Starlette
from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.middleware import Middleware
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute

from signage.errors import SignageError, ValidationError
from signage.hub import feed_routes
from signage.hub.dbguard import is_damage
from signage.hub.errors import json_error
from signage.hub.language import RequestLanguage
from signage.hub.limits import BodyLimit
from signage.hub.publishing import RepublishError
from signage.hub.retention import keep_tidy
from signage.hub.state import Hub
from signage.hub.watch import ChangeWatcher
from signage.i18n import _
from signage.logs import area_logger

log = area_logger("hub")

AREA_MODULES = (
    "alert_routes",
    "telemetry_routes",
    "scan_routes",
    "screen_routes",
    "data_routes",
    "signage.console.web",
)


def area_routes(hub: Hub) -> list[BaseRoute]:
    """The routes of every optional area module present in ``signage.hub``."""
    found: list[BaseRoute] = []
    for name in AREA_MODULES:
        qualified = name if "." in name else f"signage.hub.{name}"
        try:
            module = importlib.import_module(qualified)
        except ModuleNotFoundError as exc:
            if exc.name == qualified:
                log.debug("hub area %s not present", name)
                continue
            raise
        found.extend(module.routes(hub))
    return found


async def _http_error(request: Request, exc: Exception) -> Response:
    if not isinstance(exc, HTTPException):  # registered for HTTPException only
        raise exc
    if exc.status_code == 304 or exc.status_code < 400:
        return Response(status_code=exc.status_code, headers=exc.headers)
    return json_error(exc.status_code, str(exc.detail), headers=exc.headers)


async def _signage_error(request: Request, exc: Exception) -> Response:
    if isinstance(exc, ValidationError):
        return json_error(422, _("validation failed"), problems=[str(p) for p in exc.problems])
    return json_error(409 if isinstance(exc, RepublishError) else 400, str(exc))


def _database_error(hub: Hub) -> Callable[[Request, Exception], Awaitable[Response]]:
    """The answer to a request whose query met a database error: 503 and, when the file
    is damaged, the hub sets it aside and starts a new one (the feed and alerts never
    depend on it). Busy or locked: 503 too; the screen sends again."""

    async def answer(request: Request, exc: Exception) -> Response:
        if is_damage(exc):
            await run_in_threadpool(hub.recover_database, exc)
            reason = _(
                "the hub's database was damaged: it was set aside and a new one started; send again"
            )
        else:
            log.warning("database error on %s: %s", request.url.path, exc)
            reason = _("the hub's database is busy; send again")
        return json_error(503, reason, headers={"Retry-After": "2"})

    return answer


def _root_changed(hub: Hub) -> None:
    try:
        # A file saved under the root that no playlist names (a player's cache, an editor's
        # backup) leaves the content as it was: no new version, nothing announced.
        hub.publish_root("content root changed", skip_unchanged=True)
    except ValidationError as exc:
        log.warning(
            "content root edit refused, still serving version %d:\n%s",
            hub.current_version(),
            exc,
        )
    except SignageError as exc:
        log.error("republishing failed, still serving version %d: %s", hub.current_version(), exc)


def _watcher(hub: Hub) -> ChangeWatcher | None:
    cfg = hub.config
    if cfg.root is not None:
        if not hub.can_sign:
            return None
        return ChangeWatcher(
            cfg.root,
            lambda: _root_changed(hub),
            debounce_s=cfg.debounce_s,
            # Asset paths may name any file under the root, so everything counts but the
            # hub's own folders, version control and scratch files; what is left but changes
            # no content is caught by skip_unchanged.
            ignore=(cfg.data_dir, cfg.feed_dir, cfg.root / ".git"),
            name="signage-hub-root",
        )

    def upstream() -> None:
        try:
            hub.upstream_changed()
        except SignageError as exc:
            log.error(
                "reading the feed folder failed, still serving %d: %s", hub.current_version(), exc
            )

    return ChangeWatcher(
        cfg.feed_dir,
        upstream,
        debounce_s=cfg.debounce_s,
        ignore=(cfg.feed_dir / "assets",),
        name="signage-hub-feed",
    )


def _refresh_once(hub: Hub) -> None:
    try:
        hub.refresh_if_due()
    except ValidationError as exc:  # defensive: republish falls back to re-signing
        log.error("re-signing the feed before it expires failed: %s", exc)
    except SignageError as exc:
        log.error(
            "re-signing the feed before it expires failed, still serving %d: %s",
            hub.current_version(),
            exc,
        )


async def keep_fresh(hub: Hub) -> None:
    """Checks at once, then every ``refresh_check_s``, that the served feed is not close to
    expiring (the blocking re-sign runs on a worker thread). Runs until cancelled."""
    while True:
        try:
            await asyncio.to_thread(_refresh_once, hub)
        except Exception:  # a bug here must not end the hub's refreshing for good
            log.exception("checking the feed's expiry failed")
        await asyncio.sleep(hub.config.refresh_check_s)


def _data_once(hub: Hub) -> None:
    try:
        hub.refresh_data()
    except SignageError as exc:  # an invalid root right now: the last good feed stays
        log.error("republishing fresh remote data failed, still serving %d: %s",
                  hub.current_version(), exc)  # fmt: skip


async def keep_data_fresh(hub: Hub) -> None:
    """Root mode: every ``data_check_s``, fetches the data slides' remote data that is due
    (on a worker thread) and republishes when it changed. Runs until cancelled."""
    while True:
        await asyncio.sleep(hub.config.data_check_s)
        try:
            await asyncio.to_thread(_data_once, hub)
        except Exception:  # a bug here must not end the refreshing for good
            log.exception("refreshing remote data failed")


def create_app(hub: Hub, *, watch: bool = True) -> Starlette:
    """The hub's ASGI application.

    Args:
        hub: the hub state every route shares.
        watch: follow the content root (or feed folder) for changes while running.
    """

    @contextlib.asynccontextmanager
    async def lifespan(app: Starlette) -> AsyncIterator[None]:
        hub.push.bind(asyncio.get_running_loop())
        watcher = _watcher(hub) if watch else None
        if watcher is not None:
            watcher.start()
        if watcher is not None and hub.config.root is None:
            # Catch up with a folder published while the hub was down (or in between).
            watcher.poke()
        refresher = asyncio.create_task(keep_fresh(hub), name="signage-hub-refresh")
        tidier = asyncio.create_task(keep_tidy(hub), name="signage-hub-retention")
        data = None
        if hub.config.root is not None:
            data = asyncio.create_task(keep_data_fresh(hub), name="signage-hub-data")
        try:
            yield
        finally:
            for task in (data, refresher, tidier):
                if task is None:
                    continue
                task.cancel()
                with contextlib.suppress(asyncio.CancelledError):
                    await task
            hub.push.close()
            for closer in hub.closers:
                try:
                    await closer()
                except Exception:  # one area's stop must not keep the others running
                    log.exception("stopping a part of the hub failed")
            if watcher is not None:
                await asyncio.to_thread(watcher.stop)
            hub.close()

    routes = feed_routes.routes(hub) + area_routes(hub)
    app = Starlette(
        routes=routes,
        lifespan=lifespan,
        middleware=[
            Middleware(RequestLanguage),  # answers in the request's Accept-Language (es/en)
            Middleware(BodyLimit),  # every body capped while it streams
        ],
        exception_handlers={
            HTTPException: _http_error,
            SignageError: _signage_error,
            sqlite3.DatabaseError: _database_error(hub),
        },
    )
    app.state.hub = hub
    return app
