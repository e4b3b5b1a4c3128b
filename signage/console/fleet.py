"""The console's fleet room: every screen's state, what it shows, its health and a fresh picture.

The page groups screens by tag and keeps itself current through server-sent events
(``/console/pantallas/eventos``): every ``TICK_S`` the hub recomputes the list the same way
``GET /api/v1/screens`` does (``TelemetryStore.screens``) and, when it changed, sends the
cards as HTML already escaped by the template (and every ``AGES_EVERY_S`` anyway, for
the ages they show); a comment goes out every
``KEEPALIVE_S`` so proxies keep the stream open (``X-Accel-Buffering: no`` for nginx).
"""

from __future__ import annotations

import asyncio
import json
import time
from collections.abc import AsyncIterator, Callable, Sequence
from typing import Any

from starlette.concurrency import run_in_threadpool
from starlette.requests import Request
from starlette.responses import Response, StreamingResponse
from starlette.routing import BaseRoute, Route

from signage.console import language
from signage.console.accounts import Role
from signage.console.messages import hora
from signage.hub.telemetry_store import (
    DEFAULT_ONLINE_WINDOW_S,
    DEFAULT_STALE_GRACE_S,
    TelemetryStore,
)
from signage.i18n import N_, _, speaking
from signage.telemetry.explain import error_parts, stale_text

TICK_S = 1.0
KEEPALIVE_S = 10.0  # a comment line at least this often (proxies close silent streams)
AGES_EVERY_S = 5.0  # the cards again, for their "hace N s", when nothing else changed
MAX_STREAM_S = 3600.0  # a page left open reconnects (EventSource does) once an hour

STATE_LABELS = {  # translated where shown
    "online": N_("online"),
    "stale": N_("out of date"),
    "offline": N_("no signal"),
    "stopped": N_("stopped"),
}
UNTAGGED = N_("untagged")


def group_by_tag(screens: Sequence[dict[str, Any]]) -> list[tuple[str, list[dict[str, Any]]]]:
    """Pure: (tag, screens) pairs, tags in order, a screen under each of its tags."""
    groups: dict[str, list[dict[str, Any]]] = {}
    for screen in screens:
        for tag in screen.get("tags") or [UNTAGGED]:
            groups.setdefault(str(tag), []).append(screen)
    return sorted(groups.items(), key=lambda kv: (kv[0] == UNTAGGED, kv[0]))


class Fleet:
    """The fleet page and its event stream for one console.

    Args:
        console: the ``signage.console.web.Console`` (typed loosely: web imports this).
    """

    def __init__(self, console: Any) -> None:
        self.console = console
        hub = console.hub
        self.store = TelemetryStore(hub.db, hub.config.data_dir / "screenshots")

    def screens(self) -> list[dict[str, Any]]:
        version = self.console.hub.current_version()
        states = self.store.screens(
            time.time(),
            version if version > 0 else None,
            DEFAULT_ONLINE_WINDOW_S,
            DEFAULT_STALE_GRACE_S,
        )
        now = time.time()
        out = []
        for state in states:
            row = state.to_json()
            row["state_label"] = _(STATE_LABELS[row["state"]])
            row["shot_age_s"] = (
                None if state.screenshot_taken is None else max(0.0, now - state.screenshot_taken)
            )
            row["shot_stamp"] = int((state.screenshot_taken or 0) * 1000)
            # in the reader's words; the API's English facts stay as technical detail
            row["stale_text"] = stale_text(
                row["stale_code"], row["version"], row["hub_version"], row["stale_reason"]
            )
            row["error_parts"] = error_parts(row["errors"])
            out.append(row)
        return out

    def cards(self, screens: list[dict[str, Any]]) -> str:
        groups = [(_(t) if t == UNTAGGED else t, s) for t, s in group_by_tag(screens)]
        html: str = self.console.env.get_template("fleet_cards.html").render(
            groups=groups, total=len(screens)
        )
        return html

    async def page(self, request: Request) -> Response:
        who = self.console.need(request, Role.VIEWER)
        screens = await run_in_threadpool(self.screens)
        page: Response = self.console.render(
            "fleet.html", who, cards=self.cards(screens), active="pantallas"
        )
        return page

    async def events(self, request: Request) -> Response:
        self.console.need(request, Role.VIEWER)
        compute: Callable[[], list[dict[str, Any]]] = self.screens
        words = language.answer_language(request.cookies.get(language.COOKIE))

        async def stream() -> AsyncIterator[bytes]:
            last = ""
            quiet_since = sent_at = time.monotonic()
            opened = time.monotonic()
            yield b"retry: 2000\n\n"
            while time.monotonic() - opened < MAX_STREAM_S:
                if await request.is_disconnected():
                    return
                with speaking(words):
                    screens = await run_in_threadpool(compute)
                # ages change every second; the cards are resent when anything else does
                key = json.dumps(
                    [{k: v for k, v in s.items() if not k.endswith("age_s")} for s in screens],
                    sort_keys=True,
                    default=str,
                )
                if key != last or time.monotonic() - sent_at >= AGES_EVERY_S:
                    last = key
                    with speaking(words):  # the time: 24 h in the hub's zone, not the browser's
                        data = json.dumps({"html": self.cards(screens), "time": hora(time.time())})
                    yield f"event: screens\ndata: {data}\n\n".encode()
                    sent_at = time.monotonic()
                if time.monotonic() - quiet_since >= KEEPALIVE_S:
                    yield b": keep-alive\n\n"
                    quiet_since = time.monotonic()
                await asyncio.sleep(TICK_S)

        return StreamingResponse(
            stream(),
            media_type="text/event-stream",
            headers={"Cache-Control": "no-cache", "X-Accel-Buffering": "no"},
        )

    def routes(self) -> list[BaseRoute]:
        p = self.console.page
        return [
            Route("/console/pantallas", p(self.page), methods=["GET"]),
            Route("/console/pantallas/eventos", self.events, methods=["GET"]),
        ]
