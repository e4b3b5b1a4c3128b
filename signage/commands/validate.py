"""``signage validate``: every problem in every playlist, located, then a summary per playlist.

Checks ``ROOT/playlists/*.yaml`` and ``theme.yaml`` (or only the files named), prints each
problem as ``path:line:col: message``, then one line per playlist (slides, loop duration,
tags) and a total. Exit 1 when any error was found, 0 otherwise (warnings pass).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from pathlib import Path
from typing import TYPE_CHECKING

if TYPE_CHECKING:
    from signage.errors import Problem
    from signage.model import Playlist

HELP = "check playlists: every problem as path:line:col: message, then a summary; exit 1 on errors"


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "files",
        nargs="*",
        metavar="FILE",
        type=Path,
        help="playlist files to check (default: every file under ROOT/playlists)",
    )
    parser.add_argument(
        "--root",
        type=Path,
        metavar="DIR",
        help="the content root, the folder holding playlists/ and assets/ (default: .)",
    )
    parser.add_argument(
        "--allowed-host",
        action="append",
        default=[],
        metavar="HOST",
        help="a host web slides and QR codes may use (repeatable; default: any https host)",
    )
    parser.add_argument(
        "--config",
        type=Path,
        metavar="FILE",
        help="a player configuration whose qr.allowed_hosts are added to the allow-list",
    )
    parser.add_argument(
        "--no-assets",
        action="store_true",
        help="do not open asset files (check only the YAML)",
    )


def format_duration(seconds: float) -> str:
    """``3m 25s``, ``45s``, ``1h 2m 5s``, ``12.5s``; ``0s`` for nothing."""
    whole = int(seconds)
    frac = seconds - whole
    hours, rest = divmod(whole, 3600)
    minutes, secs = divmod(rest, 60)
    parts = []
    if hours:
        parts.append(f"{hours}h")
    if minutes:
        parts.append(f"{minutes}m")
    if frac >= 0.05:
        parts.append(f"{secs + frac:.1f}s")
    elif secs or not parts:
        parts.append(f"{secs}s")
    return " ".join(parts)


def summary_line(path: str, playlist: Playlist) -> str:
    """One playlist's summary: slides, loop duration, tags."""
    timed = [s.duration_s for s in playlist.slides if s.duration_s is not None]
    own = len(playlist.slides) - len(timed)
    loop = format_duration(sum(timed))
    if own:
        loop += (
            f" + {own} video{'s' if own > 1 else ''} at {'their' if own > 1 else 'its'} own length"
        )
    tags = ", ".join(sorted(playlist.tags)) if playlist.tags is not None else "every screen"
    count = len(playlist.slides)
    return (
        f"{path}: {playlist.name!r}: {count} slide{'s' if count != 1 else ''}, "
        f"loop {loop}, tags: {tags}"
    )


def _root_for(file: Path, explicit: Path | None) -> Path:
    if explicit is not None:
        return explicit
    parent = file.absolute().parent
    if parent.name == "playlists":
        return parent.parent
    return Path()


def _check_files(
    files: Sequence[Path], root: Path | None, hosts: frozenset[str], check_assets: bool
) -> tuple[list[Problem], list[tuple[str, Playlist]], int]:
    from signage.errors import Problem
    from signage.playlist import display_path, load_playlist_file, load_theme_file

    problems: list[Problem] = []
    loaded: list[tuple[str, Playlist]] = []
    for file in files:
        shown = display_path(file)
        if not file.is_file():
            problems.append(Problem(shown, 0, 0, "no such file"))
            continue
        file_root = _root_for(file, root)
        if file.name == "theme.yaml":
            _, found = load_theme_file(file, file_root, check_assets=check_assets)
            problems.extend(found)
            continue
        playlist, found = load_playlist_file(
            file, file_root, allowed_hosts=hosts, check_assets=check_assets
        )
        problems.extend(found)
        if playlist is not None:
            loaded.append((shown, playlist))
    return problems, loaded, len(files)


def run(args: argparse.Namespace) -> int:
    from signage.config import load_config
    from signage.playlist import load_content_root

    hosts = {h.strip().lower() for h in args.allowed_host if h.strip()}
    if args.config is not None:
        hosts |= set(load_config(args.config).allowed_hosts)
    allowed = frozenset(hosts)
    check_assets = not args.no_assets
    if args.files:
        problems, loaded, checked = _check_files(args.files, args.root, allowed, check_assets)
    else:
        root = args.root if args.root is not None else Path()
        result = load_content_root(root, allowed_hosts=allowed, check_assets=check_assets)
        problems = list(result.problems)
        loaded = [(p.origin.path if p.origin else p.id, p) for p in result.playlists]
        checked = len(result.files)
    for problem in problems:
        print(problem)
    if problems:
        print()
    for shown, playlist in loaded:
        print(summary_line(shown, playlist))
    errors = sum(1 for p in problems if p.severity == "error")
    warnings = len(problems) - errors
    refused = len({p.path for p in problems if p.severity == "error"})
    verdict = "all valid" if not errors else f"{refused} file(s) refused"
    print(
        f"{checked} file(s) checked, {len(loaded)} playlist(s) valid, {verdict}; "
        f"{errors} error(s), {warnings} warning(s)"
    )
    return 1 if errors else 0
