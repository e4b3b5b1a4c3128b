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

from signage.i18n import N_, _
from signage.printable import json_printable, printable
from signage.telemetry.explain import stale_text

HELP = N_("the fleet: each screen, online or not, what it plays, last sync")
DEFAULT_LIMIT = 500
PAGE = 500  # the hub answers at most 1,000 screens a request
# A healthy player's RSS moves by a few full-screen frames (8 MB each at 1080p, 33 MB at
# 4K) around what it settles at after start; a leak keeps going. See docs/kiosk.md.
DEFAULT_MEMORY_GROWTH_MB = 100.0


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--hub", required=True, metavar="URL", help=_("the hub's base URL"))
    parser.add_argument(
        "--json", action="store_true", help=_("print the hub's list as JSON, for scripts")
    )
    parser.add_argument(
        "--token-file",
        type=Path,
        metavar="FILE",
        help=_("a file holding the hub's admin token (the hub's read endpoints need a sign-in)"),
    )
    parser.add_argument(
        "--online-window",
        type=float,
        metavar="SECONDS",
        help=_("a screen is online when its last heartbeat is this recent (hub default: 90)"),
    )
    parser.add_argument(
        "--stale-grace",
        type=float,
        metavar="SECONDS",
        help=_("how long a screen may play an older version than the hub's (hub default: 75)"),
    )
    parser.add_argument(
        "--limit",
        type=int,
        default=DEFAULT_LIMIT,
        metavar="N",
        help=_("show at most N screens, by id (default %(default)s); the total is always told"),
    )
    parser.add_argument("--after", default="", metavar="ID", help=_("start after this screen id"))
    parser.add_argument(
        "--memory-growth",
        type=float,
        default=DEFAULT_MEMORY_GROWTH_MB,
        metavar="MB",
        help=_(
            "flag a screen whose memory grew by more than this many MB since it started "
            "(default %(default)g)"
        ),
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
    N_("SCREEN"),
    N_("STATE"),
    N_("VERSION"),
    N_("PLAYING"),
    N_("SYNCED"),
    N_("STALE"),
    N_("CLOCK"),
    N_("MEMORY"),
    N_("LAST ERROR"),
    N_("SCREENSHOT"),
)
FLAG_OFFSET_S = 60.0  # as signage.timebase.FLAG_OFFSET_S (not imported: status stays light)


def clock_cell(screen: Mapping[str, Any]) -> str:
    """``ok``, or how far the screen's clock is off: ``OFF 2h00m fast`` past a minute.

    ``clock_offset_s`` is hub time minus screen time: negative means the screen runs ahead.
    """
    offset = _number(screen.get("clock_offset_s"))
    if offset is None:
        return "-"
    if abs(offset) < 1:
        return _("ok")
    if abs(offset) <= FLAG_OFFSET_S:
        near = _("ok ({age} fast)") if offset < 0 else _("ok ({age} slow)")
        return near.format(age=f"{abs(offset):.0f}s")
    off = _("OFF {age} fast") if offset < 0 else _("OFF {age} slow")
    return off.format(age=human_age(round(abs(offset))))


def clock_off(screen: Mapping[str, Any]) -> bool:
    """Whether the screen's clock is off by more than ``FLAG_OFFSET_S``."""
    offset = _number(screen.get("clock_offset_s"))
    return offset is not None and abs(offset) > FLAG_OFFSET_S


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
        text += " " + _("GROWING")
    return text


def rows(
    screens: Sequence[Mapping[str, Any]], memory_growth_mb: float = DEFAULT_MEMORY_GROWTH_MB
) -> list[tuple[str, ...]]:
    """The table's cells for each screen (pure, so tests check it without a hub)."""
    out: list[tuple[str, ...]] = []
    for s in screens:
        state = (_("online ({age})") if s.get("online") else _("OFFLINE ({age})")).format(
            age=human_age(s.get("age_s"))
        )
        version = "-" if s.get("version") is None else str(s["version"])
        if s.get("hub_version") not in (None, s.get("version")):
            version += f"/{s['hub_version']}"
        stale = _("STALE") if s.get("stale") else _("no")
        why = stale_text(
            s.get("stale_code"), s.get("version"), s.get("hub_version"), s.get("stale_reason")
        )
        if s.get("stale") and why:
            stale += f": {why}"
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
                synced_cell(s),
                printable(stale, 80),
                clock_cell(s),
                memory_cell(s, memory_growth_mb),
                printable(s.get("last_error") or "-", 60),
                printable(shot.get("path") or "-", 200),
            )
        )
    return out


def synced_cell(screen: Mapping[str, Any]) -> str:
    """``4s ago via espejo:8080``: how long ago the screen last synced, and from where."""
    age = screen.get("last_sync_age_s")
    text = _("{age} ago").format(age=human_age(age)) if age else human_age(age)
    if screen.get("feed_source"):
        text = _("{synced} via {host}").format(synced=text, host=_host(screen["feed_source"]))
    return text


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
    columns = [_(c) for c in COLUMNS]
    widths = [max(len(c), *(len(r[i]) for r in body)) for i, c in enumerate(columns)]
    lines = ["  ".join(c.ljust(w) for c, w in zip(columns, widths, strict=True)).rstrip()]
    lines += ["  ".join(c.ljust(w) for c, w in zip(r, widths, strict=True)).rstrip() for r in body]
    online = sum(1 for s in screens if s.get("online"))
    stale = sum(1 for s in screens if s.get("stale"))
    off = sum(1 for s in screens if clock_off(s))
    # Counts as "label: number" in Spanish, so one text serves 1 and 5 screens alike.
    summary = _("{total} screens: {online} online, {offline} offline, {stale} stale").format(
        total=len(screens), online=online, offline=len(screens) - online, stale=stale
    )
    if off:
        summary += _(", {count} with the clock off by more than a minute").format(count=off)
    growing = sum(1 for s in screens if memory_growing(s, memory_growth_mb))
    if growing:
        summary += _(", {count} with memory grown by more than {limit} MB").format(
            count=growing, limit=f"{memory_growth_mb:g}"
        )
    lines.append(summary)
    return "\n".join(lines)


def run(args: argparse.Namespace) -> int:
    import json

    from signage.errors import UsageError

    base = str(args.hub).rstrip("/")
    if not base.startswith(("http://", "https://")):
        raise UsageError(
            _("--hub {url}: give the hub's URL, e.g. http://hub.local:8750").format(url=args.hub)
        )
    params = {}
    for flag, key in (("online_window", "online_window"), ("stale_grace", "stale_grace")):
        value = getattr(args, flag)
        if value is not None:
            if value <= 0:
                raise UsageError(
                    _("{flag} must be a positive number of seconds").format(
                        flag="--" + flag.replace("_", "-")
                    )
                )
            params[key] = str(value)
    if not args.memory_growth > 0:
        raise UsageError(_("--memory-growth must be a positive number of MB"))
    if not 1 <= args.limit <= 100_000:
        raise UsageError(
            _("--limit {value}: a number of screens from 1 to 100000").format(value=args.limit)
        )
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
        print(_("no screens have sent a heartbeat to this hub yet"))
    else:
        print(format_table(screens, args.memory_growth))
        if total is not None and total > len(screens):
            print(
                _(
                    "showing {shown} of {total} screens; see the rest with --after LAST-ID "
                    "or a larger --limit"
                ).format(shown=len(screens), total=total)
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
            _(
                "cannot reach the hub at {url}: {error}; check the URL and that "
                "'signage serve' runs there"
            ).format(url=url, error=type(exc).__name__)
        ) from None
    if response.status_code != 200:
        raise SignageError(
            _("the hub at {url} answered HTTP {status}: {text}").format(
                url=url, status=response.status_code, text=printable(response.text, 200)
            )
            + (token_hint() if response.status_code == 401 else "")
        )
    try:
        screens = response.json()
    except ValueError:
        raise SignageError(
            _("the hub at {url} did not answer JSON; is it a signage hub?").format(url=url)
        ) from None
    if not isinstance(screens, list) or not all(isinstance(s, dict) for s in screens):
        raise SignageError(
            _("the hub at {url} answered an unexpected shape (not a list)").format(url=url)
        )
    told = response.headers.get("x-total-count", "")
    return screens, int(told) if told.isdigit() and len(told) < 12 else None


def token_hint() -> str:
    """Said after a 401: which flag the hub wants."""
    return _(" (give --token-file FILE, the hub's admin token)")


def _auth(token_file: Path | None) -> dict[str, str]:
    """The ``Authorization`` header for ``--token-file`` (none without it)."""
    if token_file is None:
        return {}
    from signage.hub.auth import read_token_file

    return {"Authorization": f"Bearer {read_token_file(token_file)}"}
