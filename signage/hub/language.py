"""The hub's answers in the asker's language: ``Accept-Language`` picks Spanish or English.

``RequestLanguage`` wraps the whole app: a request whose ``Accept-Language`` prefers ``es``
or ``en`` (``es-CO``, ``en-GB``... count) is answered in it; any other request in the hub's
language (``SIGNAGE_LANGUAGE``, the root's ``playlists/settings.yaml`` ``language:``, the
environment, Spanish: ``signage.i18n``). Only people's texts change (``error`` and the QR
scan page); keys, codes and event names never do. The console's pages (``/console/...``)
keep the hub's language, like the rest of the console.
"""

from __future__ import annotations

from starlette.types import ASGIApp, Receive, Scope, Send

from signage.i18n import language_from_accept, speaking

__all__ = ["RequestLanguage", "request_language"]


def request_language(path: str, accept_language: str | None) -> str | None:
    """The language to answer ``path`` in (``None``: the hub's); a pure choice."""
    if path == "/console" or path.startswith("/console/"):
        return None
    return language_from_accept(accept_language)


class RequestLanguage:
    """ASGI middleware: each HTTP request is answered in the language it asks for.

    Args:
        app: the application to wrap (outermost, so body-limit refusals speak it too).
    """

    __slots__ = ("app",)

    def __init__(self, app: ASGIApp) -> None:
        self.app = app

    async def __call__(self, scope: Scope, receive: Receive, send: Send) -> None:
        if scope["type"] != "http":
            await self.app(scope, receive, send)
            return
        header = None
        for name, value in scope.get("headers", ()):
            if name == b"accept-language":
                header = value[:512].decode("latin-1")
                break
        with speaking(request_language(str(scope.get("path", "")), header)):
            await self.app(scope, receive, send)
