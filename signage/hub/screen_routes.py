"""The hub's enrolment room: the admin's API over the screen register (``screens.py``).

    GET    /api/v1/screen-tokens            enrolled screens (no tokens): [{"screen", ...}]
    POST   /api/v1/screen-tokens            {"screen": ID, "rotate": false} -> {"screen", "token"}
    DELETE /api/v1/screen-tokens/{screen}   revokes that screen's token

All three need the admin token. The token is shown once, in the answer to the POST; the
hub keeps only its SHA-256. ``signage screen add|rotate|list|revoke --hub URL`` calls these.
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import JSONResponse, Response
from starlette.routing import BaseRoute, Route

from signage.errors import SignageError, UsageError
from signage.hub.limits import parse_json
from signage.i18n import _

if TYPE_CHECKING:
    from signage.hub.state import Hub


def routes(hub: Hub) -> list[BaseRoute]:
    """The enrolment endpoints of ``hub``."""

    async def list_tokens(request: Request) -> Response:
        hub.require_token(request)
        screens = await run_in_threadpool(hub.screens.screens)
        return JSONResponse(
            [
                {"screen": e.screen, "added": e.added, "rotated": e.rotated}
                for e in sorted(screens.values(), key=lambda e: e.screen)
            ]
        )

    async def add_token(request: Request) -> Response:
        hub.require_token(request)
        try:
            doc: Any = parse_json(await request.body())
        except ValueError as exc:
            raise HTTPException(
                400, _('the body must be JSON {{"screen": ID}}: {reason}').format(reason=exc)
            ) from None
        screen = doc.get("screen") if isinstance(doc, dict) else None
        rotate = doc.get("rotate", False) if isinstance(doc, dict) else False
        if not isinstance(screen, str) or not isinstance(rotate, bool):
            shape = _('the body must be JSON {{"screen": ID, "rotate": false}}').format()
            raise HTTPException(400, shape)
        try:
            token = await run_in_threadpool(hub.screens.add, screen, rotate=rotate)
        except UsageError as exc:
            # 409 when the id is taken (decided by the register, not by the message's words)
            taken = not rotate and await run_in_threadpool(hub.screens.is_enrolled, screen)
            raise HTTPException(409 if taken else 400, str(exc)) from None
        except SignageError as exc:
            raise HTTPException(500, str(exc)) from None
        return JSONResponse({"screen": screen, "token": token}, status_code=201)

    async def revoke_token(request: Request) -> Response:
        hub.require_token(request)
        screen = request.path_params["screen"]
        if not await run_in_threadpool(hub.screens.revoke, screen):
            raise HTTPException(
                404, _("screen {screen} is not enrolled").format(screen=repr(screen[:80]))
            )
        return JSONResponse({"revoked": screen})

    return [
        Route("/api/v1/screen-tokens", list_tokens, methods=["GET"]),
        Route("/api/v1/screen-tokens", add_token, methods=["POST"]),
        Route("/api/v1/screen-tokens/{screen}", revoke_token, methods=["DELETE"]),
    ]
