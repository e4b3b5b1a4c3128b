"""``signage validate``: every problem in every playlist, located, then a summary per playlist.

Checks ``ROOT/playlists/*.yaml`` and ``theme.yaml`` (or only the files named), prints each
problem as ``path:line:col: message``, then one line per playlist (slides, loop duration,
tags) and a total. Exit 1 when any error was found, 0 otherwise (warnings pass).
"""

from __future__ import annotations

import argparse
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import date
from pathlib import Path
from typing import TYPE_CHECKING

from signage.i18n import N_, _, ngettext

if TYPE_CHECKING:
    from signage.errors import Problem
    from signage.model import Playlist

HELP = N_(
    "check playlists: every problem as path:line:col: message, then a summary; exit 1 on errors"
)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "files",
        nargs="*",
        metavar="FILE",
        type=Path,
        help=_("playlist files to check (default: every file under ROOT/playlists)"),
    )
    parser.add_argument(
        "--root",
        type=Path,
        metavar="DIR",
        help=_("the content root, the folder holding playlists/ and assets/ (default: .)"),
    )
    parser.add_argument(
        "--allowed-host",
        action="append",
        default=[],
        metavar="HOST",
        help=_(
            "narrow the allow-list of playlists/settings.yaml to this host "
            "(repeatable; without settings, the allow-list itself)"
        ),
    )
    parser.add_argument(
        "--config",
        type=Path,
        metavar="FILE",
        help=_("a player configuration whose qr.allowed_hosts narrow the settings' allow-list"),
    )
    parser.add_argument(
        "--data",
        type=Path,
        metavar="DIR",
        help=_(
            "the publisher's remote data folder, DATA/datos-remotos (DATA: the hub's data "
            "folder, or 'signage publish --data', both ROOT/.signage-hub by default): report "
            "what each data or news URL last answered"
        ),
    )
    parser.add_argument(
        "--no-assets",
        action="store_true",
        help=_("do not open asset files (check only the YAML)"),
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


def summary_line(path: str, playlist: Playlist, root: Path | None = None) -> str:
    """One playlist's summary: slides, loop duration (videos measured when possible), tags."""
    from signage.playlist import video_duration

    total = 0.0
    unknown = 0
    for slide in playlist.slides:
        if slide.duration_s is not None:
            total += slide.duration_s
            continue
        length = video_duration(root / slide.source, root) if root is not None else None
        if length is None:
            unknown += 1
        else:
            total += length
    loop = format_duration(total)
    if unknown:
        loop += ngettext(
            " + {count} video of unknown length", " + {count} videos of unknown length", unknown
        ).format(count=unknown)
    tags = ", ".join(sorted(playlist.tags)) if playlist.tags is not None else _("every screen")
    count = len(playlist.slides)
    shape = {
        "both": "",
        "portrait": _(", portrait screens"),
        "landscape": _(", landscape screens"),
    }[playlist.orientation.value]
    slides = ngettext("{count} slide", "{count} slides", count).format(count=count)
    return (
        _("{path}: {name}: {slides}, loop {loop}, tags: {tags}").format(
            path=path, name=repr(playlist.name), slides=slides, loop=loop, tags=tags
        )
        + shape
    )


def expired_warnings(playlist: Playlist, today: date) -> list[Problem]:
    """Warnings for schedules whose last day is before ``today``: they will not play again."""
    from signage.errors import Problem

    found: list[Problem] = []
    places = [(playlist.schedule, playlist.origin, _("this playlist"))]
    places += [(s.schedule, s.origin, _("slide '{id}'").format(id=s.id)) for s in playlist.slides]
    for schedule, origin, what in places:
        if schedule is None or schedule.until is None or schedule.until >= today:
            continue
        path, line, col = (origin.path, origin.line, origin.col) if origin else ("?", 0, 0)
        found.append(
            Problem(
                path,
                line,
                col,
                _(
                    "{what} ended on {date} and will not play again; remove it or change 'until'"
                ).format(what=what, date=schedule.until.isoformat()),
                severity="warning",
            )
        )
    return found


@dataclass
class Report:
    """What ``validate`` found: problems, one summary line per valid file, counts."""

    today: date
    data: Path | None = None
    problems: list[Problem] = field(default_factory=list)
    summaries: list[str] = field(default_factory=list)
    checked: int = 0
    playlists: int = 0
    templates: int = 0

    def template(self, path: Path) -> None:
        """Checks one alert template file (the alerts room's format and loader)."""
        from signage.alerts.templates import load_template_file
        from signage.playlist import display_path

        shown = display_path(path)
        self.checked += 1
        template, found = load_template_file(path, shown)
        self.problems.extend(found)
        if template is not None:
            self.templates += 1
            languages = "/".join(t.language for t in template.texts)
            self.summaries.append(
                _("{path}: alert template {name}: {severity}, {languages}, takes {needs}").format(
                    path=shown,
                    name=repr(template.name),
                    severity=template.severity.value,
                    languages=languages,
                    needs=template.needs(),
                )
            )

    def playlist(self, shown: str, playlist: Playlist, root: Path) -> None:
        from signage.playlist.aspect import orientation_warnings

        self.problems.extend(expired_warnings(playlist, self.today))
        self.problems.extend(orientation_warnings(playlist, root))
        if self.data is not None:
            self.problems.extend(remote_warnings(playlist, self.data))
        self.playlists += 1
        self.summaries.append(summary_line(shown, playlist, root))

    def print(self) -> int:
        for problem in self.problems:
            print(problem)
        if self.problems:
            print()
        for line in self.summaries:
            print(line)
        errors = sum(1 for p in self.problems if p.severity == "error")
        warnings = len(self.problems) - errors
        refused = len({p.path for p in self.problems if p.severity == "error"})
        verdict = (
            _("all valid")
            if not errors
            else ngettext("{count} file refused", "{count} files refused", refused)
        ).format(count=refused)
        kinds = ngettext("{count} playlist", "{count} playlists", self.playlists).format(
            count=self.playlists
        )
        if self.templates:
            kinds += ngettext(
                " and {count} alert template", " and {count} alert templates", self.templates
            ).format(count=self.templates)
        print(
            _("{checked}, valid: {kinds}; {verdict}; {errors}, {warnings}").format(
                checked=ngettext(
                    "{count} file checked", "{count} files checked", self.checked
                ).format(count=self.checked),
                kinds=kinds,
                verdict=verdict,
                errors=ngettext("{count} error", "{count} errors", errors).format(count=errors),
                warnings=ngettext("{count} warning", "{count} warnings", warnings).format(
                    count=warnings
                ),
            )
        )
        return 1 if errors else 0


def remote_warnings(playlist: Playlist, folder: Path) -> list[Problem]:
    """What each data slide's ``url`` and ticker news feed last answered the publisher."""
    from signage.data.remote import last_fetch
    from signage.errors import Problem

    where = playlist.origin.path if playlist.origin else playlist.id
    found: list[Problem] = []
    sources = [(s.data.url, s.origin) for s in playlist.slides if s.data and s.data.url]
    sources += [(f.url, playlist.origin) for f in playlist.ticker_feeds]
    for url, origin in sources:
        good, error = last_fetch(folder, url)
        line, col = (origin.line, origin.col) if origin else (0, 0)
        if error is not None:
            if good is not None:
                message = _("remote data: {error} (screens show the data of {day})").format(
                    error=error, day=good.date().isoformat()
                )
            else:
                message = _("remote data: {error}").format(error=error)
        elif good is None:
            message = _(
                "remote data: {url} was never fetched into {folder}; screens skip it"
            ).format(url=url, folder=folder)
        else:
            continue
        found.append(Problem(where, line, col, message, severity="warning"))
    return found


def _root_for(file: Path, explicit: Path | None) -> Path:
    if explicit is not None:
        return explicit
    parent = file.absolute().parent
    if parent.name == "alerts" and parent.parent.name == "playlists":
        return parent.parent.parent
    if parent.name == "playlists":
        return parent.parent
    return Path()


def _is_template(file: Path) -> bool:
    parent = file.absolute().parent
    return parent.name == "alerts" and parent.parent.name == "playlists"


def _check_files(
    report: Report,
    files: Sequence[Path],
    root: Path | None,
    hosts: frozenset[str],
    check_assets: bool,
) -> None:
    from signage.errors import Problem
    from signage.playlist import (
        display_path,
        effective_hosts,
        load_playlist_file,
        load_settings,
        load_theme_file,
    )

    for file in files:
        shown = display_path(file)
        if file.is_dir() and (file / "playlists").is_dir():
            _check_root(report, file, hosts, check_assets)  # a content root given as FILE
            continue
        if not file.is_file():
            report.problems.append(
                Problem(shown, 0, 0, _("no such file; give the path of a playlist .yaml file"))
            )
            continue
        file_root = _root_for(file, root)
        if file.name == "settings.yaml" and file.parent.name == "playlists":
            report.checked += 1
            report.problems.extend(load_settings(file_root)[1])
            continue
        if _is_template(file):
            report.template(file)
            continue
        report.checked += 1
        if file.name == "theme.yaml":
            _theme, found = load_theme_file(file, file_root, check_assets=check_assets)
            report.problems.extend(found)
            continue
        settings, _problems = load_settings(file_root)  # reported when the file itself is named
        playlist, found = load_playlist_file(
            file,
            file_root,
            allowed_hosts=effective_hosts(settings.allowed_hosts, hosts),
            check_assets=check_assets,
        )
        report.problems.extend(found)
        if playlist is not None:
            report.playlist(shown, playlist, file_root)


def _check_root(report: Report, root: Path, hosts: frozenset[str], check_assets: bool) -> None:
    from signage.alerts.templates import template_files
    from signage.playlist import load_content_root

    result = load_content_root(root, allowed_hosts=hosts, check_assets=check_assets)
    report.problems.extend(result.problems)
    report.checked += len(result.files)
    for playlist in result.playlists:
        report.playlist(playlist.origin.path if playlist.origin else playlist.id, playlist, root)
    for path in template_files(root / "playlists" / "alerts"):
        report.template(path)


def run(args: argparse.Namespace) -> int:
    from datetime import datetime
    from zoneinfo import ZoneInfo

    from signage.config import load_config
    from signage.model import DEFAULT_TIMEZONE

    hosts = {h.strip().lower() for h in args.allowed_host if h.strip()}
    zone = DEFAULT_TIMEZONE
    if args.config is not None:
        config = load_config(args.config)
        hosts |= set(config.allowed_hosts)
        zone = config.timezone
    allowed = frozenset(hosts)
    check_assets = not args.no_assets
    try:
        today = datetime.now(ZoneInfo(zone)).date()
    except (KeyError, ValueError):  # ZoneInfoNotFoundError is a KeyError
        today = datetime.now().astimezone().date()
    report = Report(today=today, data=args.data)
    if args.files:
        _check_files(report, args.files, args.root, allowed, check_assets)
    else:
        root = args.root if args.root is not None else Path()
        _check_root(report, root, allowed, check_assets)
    return report.print()
