"""``signage status``: the fleet at a glance, from the hub's ``GET /api/v1/screens``.

One row per screen: online or offline (with the age of its last heartbeat), the version
and slide it plays, how long ago it last synced, stale content, how far its clock is from
the hub's (flagged past a minute), its memory (RSS, and how much it grew since the screen
started: ``GROWING`` past ``--memory-growth``, so a leak is seen before the unit's memory
cap restarts the player), its last error and the path of its latest screenshot.
``--json`` prints the hub's list unchanged, for scripts.
"""

from __future__ import annotations

import argparse
from collections.abc import Mapping, Sequence
from pathlib import Path
from typing import Any

from signage.i18n import N_  # the one-line help, translated where shown
from signage.printable import json_printable, printable

HELP = N_("the fleet: each screen, online or not, what it plays, last sync")
DEFAULT_LIMIT = 500
PAGE = 500  # the hub answers at most 1,000 screens a request
# A healthy player's RSS moves by a few full-screen frames (8 MB each at 1080p, 33 MB at
# 4K) around what it settles at after start; a leak keeps going. See docs/kiosk.md.
DEFAULT_MEMORY_GROWTH_MB = 100.0


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--hub", required=True, metavar="URL", help="the hub's base URL")
    parser.add_argument("--json", action="store_true", help="print the hub's JSON list")
    parser.add_argument(
        "--token-file",
        type=Path,
        metavar="FILE",
        help="file holding the hub's admin token (the hub's read endpoints need a sign-in)",
    )
    parser.add_argument(
        "--online-window",
        type=float,
        metavar="SECONDS",
        help="a screen is online when its last heartbeat is this recent (hub default: 90)",
    )
    parser.add_argument(
        "--stale-grace",
        type=float,
        metavar="SECONDS",
        help="how long a screen may play an older version than the hub's (hub default: 75)",
    )
    parser.add_argument(
        "--limit",
        type=int,
        default=DEFAULT_LIMIT,
        metavar="N",
        help="show at most N screens, by id (default %(default)s); the total is always told",
    )
    parser.add_argument("--after", default="", metavar="ID", help="start after this screen id")
    parser.add_argument(
        "--memory-growth",
        type=float,
        default=DEFAULT_MEMORY_GROWTH_MB,
        metavar="MB",
        help="flag a screen whose memory grew by more than this since it started "
        f"(default {DEFAULT_MEMORY_GROWTH_MB:g})",
    )
    parser.add_argument("--timeout", type=float, default=10.0, help=argparse.SUPPRESS)


def human_age(seconds: float | None) -> str:
    """``45s``, ``3m``, ``2h05m``, ``4d03h``; ``-`` when unknown."""
    if seconds is None:
        return "-"
    s = int(max(0.0, seconds))
    if s < 60:
        return f"{s}s"
    if s < 3600:
        return f"{s // 60}m"
    if s < 86400:
        return f"{s // 3600}h{(s % 3600) // 60:02d}m"
    return f"{s // 86400}d{(s % 86400) // 3600:02d}h"


COLUMNS = (
    "SCREEN",
    "STATE",
    "VERSION",
    "PLAYING",
    "SYNCED",
    "STALE",
    "CLOCK",
    "MEMORY",
    "LAST ERROR",
    "SCREENSHOT",
)
FLAG_OFFSET_S = 60.0  # as signage.timebase.FLAG_OFFSET_S (not imported: status stays light)


def clock_cell(screen: Mapping[str, Any]) -> str:
    """``ok``, or how far the screen's clock is off: ``OFF 2h00m fast`` past a minute.

    ``clock_offset_s`` is hub time minus screen time: negative means the screen runs ahead.
    """
    offset = screen.get("clock_offset_s")
    if not isinstance(offset, int | float) or isinstance(offset, bool):
        return "-"
    way = "fast" if offset < 0 else "slow"
    if abs(offset) <= FLAG_OFFSET_S:
        return "ok" if abs(offset) < 1 else f"ok ({abs(offset):.0f}s {way})"
    return f"OFF {human_age(round(abs(offset)))} {way}"


def _number(value: Any) -> float | None:
    if isinstance(value, bool) or not isinstance(value, int | float):
        return None
    return float(value)


def memory_growing(screen: Mapping[str, Any], limit_mb: float) -> bool:
    """Whether the screen's RSS grew by more than ``limit_mb`` since it started."""
    grown = _number(screen.get("rss_growth_mb"))
    return grown is not None and grown > limit_mb


def memory_cell(screen: Mapping[str, Any], limit_mb: float) -> str:
    """``118 MB +12`` (RSS now, growth since start), ``GROWING`` past the limit; ``-``."""
    rss = _number(screen.get("rss_mb"))
    if rss is None or rss <= 0:
        return "-"
    text = f"{rss:.0f} MB"
    grown = _number(screen.get("rss_growth_mb"))
    if grown is not None:  # screens older than this report no start figure
        text += f" {grown:+.0f}"
    if memory_growing(screen, limit_mb):
        text += " GROWING"
    return text


def rows(
    screens: Sequence[Mapping[str, Any]], memory_growth_mb: float = DEFAULT_MEMORY_GROWTH_MB
) -> list[tuple[str, ...]]:
    """The table's cells for each screen (pure, so tests check it without a hub)."""
    out: list[tuple[str, ...]] = []
    for s in screens:
        state = "online" if s.get("online") else "OFFLINE"
        state += f" ({human_age(s.get('age_s'))})"
        version = "-" if s.get("version") is None else str(s["version"])
        if s.get("hub_version") not in (None, s.get("version")):
            version += f"/{s['hub_version']}"
        stale = "STALE" if s.get("stale") else "no"
        if s.get("stale") and s.get("stale_reason"):
            stale += f": {s['stale_reason']}"
        shot = s.get("screenshot") or {}
        if not isinstance(shot, Mapping):
            shot = {}
        # Every cell comes from screens (ids, errors, slides): made printable, so escape
        # sequences, CR/LF or bidi overrides can neither drive the terminal nor forge rows.
        out.append(
            (
                printable(s.get("screen", "?"), 120),
                state,
                printable(version, 40),
                printable(s.get("playing") or "-", 80),
                human_age(s.get("last_sync_age_s"))
                + (" ago" if s.get("last_sync_age_s") else "")
                + (f" via {_host(s['feed_source'])}" if s.get("feed_source") else ""),
                printable(stale, 80),
                clock_cell(s),
                memory_cell(s, memory_growth_mb),
                printable(s.get("last_error") or "-", 60),
                printable(shot.get("path") or "-", 200),
            )
        )
    return out


def _host(url: object) -> str:
    """The host:port of a feed URL, printable (the source a screen last used)."""
    from urllib.parse import urlsplit

    try:
        host = urlsplit(str(url)).netloc or str(url)
    except ValueError:  # a malformed URL from a screen: show it as text
        host = str(url)
    return printable(host, 60)


def format_table(
    screens: Sequence[Mapping[str, Any]], memory_growth_mb: float = DEFAULT_MEMORY_GROWTH_MB
) -> str:
    body = rows(screens, memory_growth_mb)
    widths = [max(len(c), *(len(r[i]) for r in body)) for i, c in enumerate(COLUMNS)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(COLUMNS, widths, strict=True)).rstrip()]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in body]
    online = sum(1 for s in screens if s.get("online"))
    stale = sum(1 for s in screens if s.get("stale"))
    off = sum(1 for s in screens if clock_cell(s).startswith("OFF"))
    summary = f"{len(screens)} screens: {online} online, {len(screens) - online} offline, "
    summary += f"{stale} stale"
    if off:
        summary += f", {off} with the clock off by more than a minute"
    growing = sum(1 for s in screens if memory_growing(s, memory_growth_mb))
    if growing:
        summary += f", {growing} with memory grown by more than {memory_growth_mb:g} MB"
    lines.append(summary)
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    import json

    from signage.errors import UsageError

    base = str(args.hub).rstrip("/")
    if not base.startswith(("http://", "https://")):
        raise UsageError(f"--hub {args.hub}: give the hub's URL, e.g. http://hub.local:8750")
    params = {}
    for flag, key in (("online_window", "online_window"), ("stale_grace", "stale_grace")):
        value = getattr(args, flag)
        if value is not None:
            if value <= 0:
                raise UsageError(f"--{flag.replace('_', '-')} must be a positive number")
            params[key] = str(value)
    if not args.memory_growth > 0:
        raise UsageError("--memory-growth must be a positive number of MB")
    if not 1 <= args.limit <= 100_000:
        raise UsageError(f"--limit {args.limit}: a number of screens from 1 to 100000")
    url = f"{base}/api/v1/screens"
    auth = _auth(args.token_file)
    screens: list[dict[str, Any]] = []
    total: int | None = None
    after = args.after
    while len(screens) < args.limit:
        want = min(PAGE, args.limit - len(screens))
        page, total = _page(url, params, after, want, args.timeout, headers=auth)
        screens += page[:want]  # a hub without paging answers every screen at once
        if len(page) != want:
            break  # the last page (or an unpaged answer)
        after = str(page[-1].get("screen", ""))
    if args.json:
        print(json_printable(json.dumps(screens, ensure_ascii=False, indent=2)))
    elif not screens:
        print("no screens have sent a heartbeat to this hub yet")
    else:
        print(format_table(screens, args.memory_growth))
        if total is not None and total > len(screens):
            print(
                f"showing {len(screens)} of {total} screens; see the rest with --after "
                "LAST-ID or a larger --limit"
            )
    return 0


def _page(
    url: str,
    params: dict[str, str],
    after: str,
    limit: int,
    timeout: float,
    *,
    headers: dict[str, str],
) -> tuple[list[dict[str, Any]], int | None]:
    """One page of the hub's fleet list and the total it reports (``None``: not told)."""
    import requests

    from signage.errors import SignageError

    query = {**params, "limit": str(limit)}
    if after:
        query["after"] = after
    try:
        response = requests.get(url, params=query, headers=headers, timeout=timeout)
    except requests.RequestException as exc:
        raise SignageError(
            f"cannot reach the hub at {url}: {type(exc).__name__}; "
            "check the URL and that `signage serve` runs there"
        ) from None
    if response.status_code != 200:
        raise SignageError(
            f"the hub at {url} answered HTTP {response.status_code}: "
            f"{printable(response.text, 200)}"
            + (
                " (give --token-file F, the hub's admin token)"
                if response.status_code == 401
                else ""
            )
        )
    try:
        screens = response.json()
    except ValueError:
        raise SignageError(f"the hub at {url} did not answer JSON; is it a signage hub?") from None
    if not isinstance(screens, list) or not all(isinstance(s, dict) for s in screens):
        raise SignageError(f"the hub at {url} answered an unexpected shape (not a list)")
    told = response.headers.get("x-total-count", "")
    return screens, int(told) if told.isdigit() and len(told) < 12 else None


def _auth(token_file: Path | None) -> dict[str, str]:
    """The ``Authorization`` header for ``--token-file`` (none without it)."""
    if token_file is None:
        return {}
    from signage.hub.auth import read_token_file

    return {"Authorization": f"Bearer {read_token_file(token_file)}"}
