"""The hub's server pieces: which HTTP parser and event loop uvicorn runs the hub on.

httptools (llhttp, in C) with uvloop (libuv) when both can be imported, the hub's default
since bench/fleet.py measured them at 20-30 % less CPU per request than the pure-Python
h11 parser with the standard asyncio loop (bench/README.md, "fleet"); h11 with asyncio
otherwise, or when ``SIGNAGE_HUB_PURE=1`` asks for them (an A/B, or to rule them out
while chasing a bug; it also turns off the manifest lane, ``SIGNAGE_HUB_LANE=0`` that
alone). Either way the connection guards of ``signage.hub.connections`` hold:
``guarded_protocol`` returns the guarded class of the chosen parser.
"""

from __future__ import annotations

import asyncio
import importlib.util
import os
from collections.abc import Mapping
from typing import Literal

from signage.hub.connections import GuardedH11Protocol

Http = Literal["h11", "httptools"]
Loop = Literal["asyncio", "uvloop"]


def server_pieces(environ: Mapping[str, str], installed: frozenset[str]) -> tuple[Http, Loop]:
    """(HTTP parser, event loop) the hub runs on; pure.

    httptools and uvloop when both are installed (the default), else h11 and asyncio;
    ``SIGNAGE_HUB_PURE=1`` asks for h11 and asyncio (an A/B, or to rule them out).
    """
    if environ.get("SIGNAGE_HUB_PURE", "") not in ("", "0"):
        return "h11", "asyncio"
    if {"httptools", "uvloop"} <= installed:
        return "httptools", "uvloop"
    return "h11", "asyncio"


def manifest_lane(environ: Mapping[str, str]) -> bool:
    """Whether manifest polls take ``signage.hub.fastpath``'s lane; pure. On unless
    ``SIGNAGE_HUB_LANE=0`` or ``SIGNAGE_HUB_PURE=1`` (the hub as it was before both)."""
    if environ.get("SIGNAGE_HUB_PURE", "") not in ("", "0"):
        return False
    return environ.get("SIGNAGE_HUB_LANE", "") != "0"


def installed_pieces() -> frozenset[str]:
    """Which of httptools and uvloop can be imported here (without importing them)."""
    return frozenset(n for n in ("httptools", "uvloop") if importlib.util.find_spec(n))


def chosen_pieces() -> tuple[Http, Loop]:
    """``server_pieces`` for this process's environment and installed packages."""
    return server_pieces(os.environ, installed_pieces())


def guarded_protocol(
    max_connections: int, header_timeout_s: float, http: Http = "h11"
) -> type[asyncio.Protocol]:
    """The guarded protocol class for ``http`` bound to these limits, for
    ``uvicorn.Config(http=...)``."""
    base: type[asyncio.Protocol] = GuardedH11Protocol
    if http == "httptools":
        from signage.hub.guarded_httptools import GuardedHttpToolsProtocol  # needs httptools

        base = GuardedHttpToolsProtocol
    return type(
        f"Hub{http.capitalize()}Protocol",
        (base,),
        {"max_connections": max_connections, "header_timeout_s": header_timeout_s},
    )
