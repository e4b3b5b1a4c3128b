"""The hub's door limits: request bodies capped while they stream, JSON depth, query ranges.

Every request body the hub reads goes through ``BodyLimit``, an ASGI middleware that knows
each route's cap (``body_limit``): a ``Content-Length`` above it is answered 413 before a
byte is read, and a body without one (chunked) is counted as it arrives and refused with
413 the moment it passes the cap, so no route ever holds more than its cap in memory
whatever the client sends. Routes then decode JSON with ``parse_json``, which refuses
nesting deeper than ``MAX_JSON_DEPTH`` and more than ``MAX_JSON_VALUES`` values (a 400
with a reason, never a ``RecursionError`` nor a body that grows tenfold in memory),
and read numeric query values with ``query_seconds`` / ``check_moment`` (a 400 for values
out of a sane range instead of an ``OverflowError``).

Caps (bytes), by path:

=============================  ==========  ============================================
path                           cap         why
=============================  ==========  ============================================
``/api/v1/heartbeat``          1 MiB       a 512 KiB screenshot in base64 plus the report
``/api/v1/events``             4 MiB       1,000 proof-of-play events
``/api/v1/alerts...``          1 MiB       an alert, a CAP message, a webhook
``/api/v1/republish``          16 KiB      no body is expected
``/console/...``               208 MiB     console forms and uploads (capped again inside)
``/api/v1/assets``             201 MiB     the console's upload API (capped again inside)
``/api/v1/playlists...``       1 MiB       playlist YAML
anything else                  1 MiB       ``DEFAULT_BODY_LIMIT``
=============================  ==========  ============================================

An area with a route that needs another cap (an upload) registers it with
``set_body_limit(prefix, size)`` when it builds its routes.
"""

from __future__ import annotations

import json
import math
import re
from collections.abc import Awaitable, Callable, MutableMapping
from datetime import datetime, timedelta
from typing import Any

from starlette.exceptions import HTTPException

from signage.hub.errors import json_error
from signage.i18n import _

Scope = MutableMapping[str, Any]
Message = MutableMapping[str, Any]
Receive = Callable[[], Awaitable[Message]]
Send = Callable[[Message], Awaitable[None]]
ASGIApp = Callable[[Scope, Receive, Send], Awaitable[None]]

KIB = 1024
MIB = 1024 * KIB
DEFAULT_BODY_LIMIT = 1 * MIB
MAX_JSON_DEPTH = 32
MAX_JSON_VALUES = 50_000  # 1,000 events of a dozen fields fit eight times over
# The longest a query value measured in seconds may be (a year): beyond it a window or
# grace means nothing, and float('inf') or 1e308 would only feed overflow into arithmetic.
MAX_QUERY_SECONDS = 366 * 24 * 3600.0
# How far back a report may reach, and how far past now its end may be.
MAX_REPORT_PAST = timedelta(days=3660)
MAX_REPORT_FUTURE = timedelta(days=1)

_LIMITS: dict[str, int] = {
    "/api/v1/heartbeat": 1 * MIB,
    "/api/v1/events": 4 * MIB,
    "/api/v1/alerts": 1 * MIB,
    "/api/v1/republish": 16 * KIB,
    # The console (issue 11) reads its bodies with caps of its own (a 64 KiB sign-in form,
    # 1 MB of playlist YAML, uploads up to 200 MiB plus the form around them); the door
    # lets that much through and the console refuses sooner where it must.
    "/console/": 208 * MIB,
    "/api/v1/assets": 201 * MIB,
    "/api/v1/playlists": 1 * MIB,
}


def set_body_limit(prefix: str, size: int) -> None:
    """Sets the body cap of every path starting with ``prefix`` (the longest prefix wins)."""
    if size < 0:
        raise ValueError("a body limit is a non-negative number of bytes")
    _LIMITS[prefix] = size


def body_limit(path: str) -> int:
    """The most bytes a request body to ``path`` may have; pure."""
    best = ""
    for prefix in _LIMITS:
        if path.startswith(prefix) and len(prefix) > len(best):
            best = prefix
    return _LIMITS[best] if best else DEFAULT_BODY_LIMIT


def _too_large(limit: int) -> str:
    return _("request body over the {limit} byte limit of this endpoint").format(limit=limit)


class BodyLimit:
    """ASGI middleware: caps every HTTP request body at its route's ``body_limit``.

    A declared ``Content-Length`` over the cap is answered 413 at once (the body is never
    read); otherwise the body is counted as the route reads it, and the read that passes
    the cap raises ``HTTPException(413)``, which the app answers as JSON like any refusal.
    Either way the connection is closed afterwards (the rest of the body is not read).

    Args:
        app: the application to guard.
    """

    __slots__ = ("app",)

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        limit = body_limit(str(scope.get("path", "")))
        declared = _content_length(scope)
        if declared is not None and declared > limit:
            await _refuse(send, 413, _too_large(limit))
            return
        if declared is not None and declared < 0:
            await _refuse(send, 400, _("Content-Length is not a number"))
            return
        seen = 0

        async def counted() -> Message:
            nonlocal seen
            message = await receive()
            if message["type"] == "http.request":
                seen += len(message.get("body", b""))
                if seen > limit:
                    raise HTTPException(413, _too_large(limit), {"Connection": "close"})
            return message

        await self.app(scope, counted, send)


def _content_length(scope: Scope) -> int | None:
    for name, value in scope.get("headers", ()):
        if name == b"content-length":
            text = value.decode("latin-1").strip()
            return int(text) if text.isdigit() and len(text) < 20 else -1
    return None


async def _refuse(send: Send, status: int, reason: str) -> None:
    async def nothing() -> Message:  # the refusal reads no body
        return {"type": "http.disconnect"}

    answer = json_error(status, reason, headers={"Connection": "close"})
    await answer({"type": "http"}, nothing, send)


# A JSON string with its escapes, matched in one pass of C-speed character classes.
_JSON_STRING = re.compile(rb'"[^"\\]*(?:\\.[^"\\]*)*"', re.DOTALL)
_JSON_BRACKETS = re.compile(rb"[\[\]{}]")


def json_shape(data: bytes) -> tuple[int, int]:
    """(how many values, how deeply arrays and objects nest) in a JSON text; pure.

    Strings are blanked first, so nothing inside one counts. The value count is an upper
    bound (commas plus containers), found at C speed; the depth is scanned (up to one
    level past ``MAX_JSON_DEPTH``) only when there are at most ``MAX_JSON_VALUES``
    containers, else it is reported as 0 and the value count refuses the text. On text
    that is not JSON it still returns numbers, and the parser then says what is wrong.
    """
    bare = _JSON_STRING.sub(b'""', data)
    containers = bare.count(b"[") + bare.count(b"{")
    values = bare.count(b",") + containers + 1
    depth = deepest = 0
    if containers <= MAX_JSON_VALUES:
        for match in _JSON_BRACKETS.finditer(bare):
            if match.group() in (b"[", b"{"):
                depth += 1
                deepest = max(deepest, depth)
                if deepest > MAX_JSON_DEPTH:
                    break
            else:
                depth -= 1
    return values, deepest


def json_depth(data: bytes) -> int:
    """How deeply the arrays and objects of a JSON text nest (0 for a scalar), counted up
    to one level past ``MAX_JSON_DEPTH``; pure."""
    return json_shape(data)[1]


def parse_json(
    data: bytes, max_depth: int = MAX_JSON_DEPTH, max_values: int = MAX_JSON_VALUES
) -> Any:
    """Decodes a request body as JSON (call it off the event loop for large bodies).

    Raises:
        ValueError: with a reason fit for a 400: not UTF-8, not JSON, nested deeper than
            ``max_depth``, or more than ``max_values`` values (a 4 MiB body of ``[]`` or
            ``"a",`` would otherwise become tens of MB of Python objects).
    """
    values, depth = json_shape(data)
    if values > max_values:
        raise ValueError(_("JSON with more than {most} values").format(most=max_values))
    if depth > max_depth:
        raise ValueError(_("JSON nested deeper than {most} levels").format(most=max_depth))
    try:
        return json.loads(data)
    except UnicodeDecodeError:
        raise ValueError(_("the body is not UTF-8 text")) from None
    except RecursionError:  # defensive: the depth check keeps parsing far from this
        too_deep = _("JSON nested deeper than {most} levels").format(most=max_depth)
        raise ValueError(too_deep) from None
    except ValueError as exc:
        raise ValueError(_("not JSON ({reason})").format(reason=exc)) from None


def query_seconds(raw: str | None, name: str, default: float) -> float:
    """A positive, finite number of seconds up to ``MAX_QUERY_SECONDS`` from a query value.

    Raises:
        HTTPException: 400 naming the parameter and what it must be.
    """
    if raw is None:
        return default
    try:
        value = float(raw) if len(raw) <= 32 else math.nan
    except ValueError:
        got = raw[:40]
        raise HTTPException(
            400,
            _("'{name}' must be a number of seconds, got {value}").format(
                name=name, value=repr(got)
            ),
        ) from None
    if not (0 < value <= MAX_QUERY_SECONDS):
        raise HTTPException(
            400,
            _("'{name}' must be a number of seconds above 0 and at most {most}").format(
                name=name, most=f"{MAX_QUERY_SECONDS:.0f}"
            ),
        )
    return value


def check_moment(
    moment: datetime,
    now: datetime,
    name: str,
    *,
    past: timedelta = MAX_REPORT_PAST,
    future: timedelta = MAX_REPORT_FUTURE,
) -> datetime:
    """``moment`` when it lies within ``past`` before and ``future`` after ``now``.

    Raises:
        HTTPException: 400 naming the parameter and the range allowed.
    """
    try:
        lowest, highest = now - past, now + future
    except OverflowError:  # pragma: no cover - only near year 1 or 9999
        lowest, highest = datetime.min.replace(tzinfo=now.tzinfo), now
    if not lowest <= moment <= highest:
        raise HTTPException(
            400,
            _("'{name}' must lie between {lowest} and {highest}").format(
                name=name, lowest=lowest.date().isoformat(), highest=highest.date().isoformat()
            ),
        )
    return moment
