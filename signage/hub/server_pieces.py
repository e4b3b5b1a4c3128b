"""The hub's server pieces: which HTTP parser and event loop uvicorn runs the hub on.

``httptools`` (llhttp, in C) and ``uvloop`` (libuv) when installed, the pure-Python
``h11`` parser and the standard asyncio loop otherwise (both always work). Chosen by
bench/fleet.py's A/B with 10,000 simulated screens (bench/README.md, "fleet").
``SIGNAGE_HUB_PURE=1`` in the environment forces the pure-Python pieces (for that A/B,
or to rule them out when chasing a bug).
"""

from __future__ import annotations

import importlib.util
from collections.abc import Mapping
from typing import Literal

__all__ = ["choose", "installed"]

Http = Literal["h11", "httptools"]
Loop = Literal["asyncio", "uvloop"]


def choose(environ: Mapping[str, str], installed: frozenset[str]) -> tuple[Http, Loop]:
    """(HTTP implementation, event loop) for uvicorn, from what is installed."""
    if environ.get("SIGNAGE_HUB_PURE", "") not in ("", "0"):
        return "h11", "asyncio"
    http: Http = "httptools" if "httptools" in installed else "h11"
    loop: Loop = "uvloop" if "uvloop" in installed else "asyncio"
    return http, loop


def installed() -> frozenset[str]:
    """Which of the optional pieces can be imported here (without importing them)."""
    return frozenset(n for n in ("httptools", "uvloop") if importlib.util.find_spec(n))
