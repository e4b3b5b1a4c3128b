"""The hub's refusals: one JSON shape, ``{"error": "..."}``, for every route that says no.

``json_error`` is the one way a route (the hub's, the alert room's, the console's API)
answers a refusal itself; ``HTTPException`` and ``SignageError`` raised by a route reach the
app's handlers, which answer through it too. Extra keys ride beside ``error`` (``problems``
for a refused playlist, ``etag`` for a stale one); ``error`` is always a sentence for
people, in the answer's language (``signage.hub.language``), and no key changes with it.
"""

from __future__ import annotations

from collections.abc import Mapping
from typing import Any

from starlette.responses import JSONResponse

__all__ = ["json_error"]


def json_error(
    status: int, message: str, *, headers: Mapping[str, str] | None = None, **extra: Any
) -> JSONResponse:
    """The refusal ``status`` saying ``message``: ``{"error": message, **extra}``.

    Args:
        status: the HTTP status (4xx, 5xx).
        message: what is wrong, for people (already in the answer's language).
        headers: extra response headers (``Retry-After``, ``WWW-Authenticate``, ``ETag``).
        extra: machine-read keys beside ``error`` (``problems``, ``etag``).
    """
    return JSONResponse({"error": message, **extra}, status_code=status, headers=headers)
