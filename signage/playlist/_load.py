"""Loading a content root: every playlist file and the theme, checked, into model objects."""

from __future__ import annotations

from collections import defaultdict
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import TypeVar

from signage.errors import Problem
from signage.i18n import _
from signage.model import Playlist, Settings, Theme
from signage.playlist._fields import ContentContext, display_path
from signage.playlist._format import PLAYLIST, THEME
from signage.safeopen import UnsafeFile, open_inside
from signage.validation import MAX_BYTES, Invalid, Spec, load_yaml_located

T = TypeVar("T")

THEME_FILE = "theme.yaml"
SETTINGS_FILE = "settings.yaml"  # signage.playlist._settings reads it
PLAYLIST_SUFFIXES = (".yaml", ".yml")


@dataclass(frozen=True, slots=True)
class LoadResult:
    """What a content root holds: the valid playlists, the theme, and every problem.

    Args:
        playlists: the playlists that passed, ordered by file name.
        theme: from ``playlists/theme.yaml`` (defaults when absent or invalid).
        problems: every error and warning, in file then line order.
        files: every file read (playlists and theme).
        settings: from ``playlists/settings.yaml`` (defaults when absent or invalid).
    """

    playlists: tuple[Playlist, ...]
    theme: Theme
    problems: tuple[Problem, ...]
    files: tuple[Path, ...]
    settings: Settings = field(default_factory=Settings)

    @property
    def ok(self) -> bool:
        """No error-severity problem anywhere (warnings pass)."""
        return not any(p.severity == "error" for p in self.problems)

    def errors_by_file(self) -> dict[str, list[Problem]]:
        """Error-severity problems grouped by the file they are in."""
        out: dict[str, list[Problem]] = defaultdict(list)
        for problem in self.problems:
            if problem.severity == "error":
                out[problem.path].append(problem)
        return dict(out)


def _read_record(path: Path, root: Path, shown: str) -> bytes | Problem:
    """The bytes of a playlist or theme file, read from ONE open checked to be a regular
    file inside ``root`` (``signage.safeopen``), bounded by ``MAX_BYTES``."""
    try:
        fh, st = open_inside(path, root)
    except UnsafeFile as exc:
        return Problem(shown, 0, 0, exc.reason)
    except OSError as exc:
        return Problem(
            shown, 0, 0, _("cannot read the file: {reason}").format(reason=exc.strerror or exc)
        )
    with fh:
        if st.st_size > MAX_BYTES:
            return Problem(
                shown,
                0,
                0,
                _(
                    "file is {size:,} bytes; playlists are limited to {limit:,} bytes "
                    "(put pictures and videos in assets/, not in the YAML)"
                ).format(size=st.st_size, limit=MAX_BYTES),
            )
        try:
            return fh.read(MAX_BYTES)
        except OSError as exc:
            return Problem(
                shown, 0, 0, _("cannot read the file: {reason}").format(reason=exc.strerror or exc)
            )


def _load_record(
    spec: Spec[T],
    path: Path,
    root: Path,
    allowed_hosts: frozenset[str],
    check_assets: bool,
) -> tuple[T | None, list[Problem]]:
    shown = display_path(path)
    data = _read_record(path, root, shown)
    if isinstance(data, Problem):
        return None, [data]
    node, problems = load_yaml_located(data, shown)
    if node is None:
        return None, problems
    ctx = ContentContext(
        path=shown,
        root=root,
        allowed_hosts=allowed_hosts,
        check_assets=check_assets,
        problems=problems,
    )
    value = spec.convert(node, ctx)
    located = sorted(ctx.problems, key=lambda p: (p.line, p.col))
    if isinstance(value, Invalid) or any(p.severity == "error" for p in located):
        return None, located
    return value, located


def load_playlist_file(
    path: Path,
    root: Path,
    *,
    allowed_hosts: frozenset[str] = frozenset(),
    check_assets: bool = True,
) -> tuple[Playlist | None, list[Problem]]:
    """Reads and checks one playlist file.

    Args:
        path: the YAML file.
        root: the content root its asset paths are relative to.
        allowed_hosts: hosts accepted in web and QR URLs, narrowing the root's
            ``playlists/settings.yaml`` allow-list (never widening it); both empty accepts
            any https host.
        check_assets: open the asset files (exists, inside the root, right media type).

    Returns:
        The playlist (id = file stem) when it has no error, else ``None``; and every problem.
    """
    from signage.playlist._settings import effective_hosts, load_settings

    hosts = effective_hosts(load_settings(root)[0].allowed_hosts, allowed_hosts)
    loaded = _load_record(PLAYLIST, path, root, hosts, check_assets)
    playlist, problems = loaded
    if playlist is None:
        return None, problems
    return replace(playlist, id=path.stem), problems


def load_theme_file(
    path: Path, root: Path, *, check_assets: bool = True
) -> tuple[Theme | None, list[Problem]]:
    """Reads and checks ``playlists/theme.yaml``; ``None`` when it has an error."""
    return _load_record(THEME, path, root, frozenset(), check_assets)


def playlist_files(root: Path) -> list[Path]:
    """The playlist files of a content root, by name (theme and hidden files left out)."""
    folder = root / "playlists"
    if not folder.is_dir():
        return []
    return sorted(
        p
        for p in folder.iterdir()
        if p.suffix in PLAYLIST_SUFFIXES
        and p.name not in (THEME_FILE, SETTINGS_FILE)
        and not p.name.startswith((".", "~", "#"))
        and p.is_file()
    )


def load_content_root(
    root: Path,
    *,
    allowed_hosts: frozenset[str] = frozenset(),
    check_assets: bool = True,
) -> LoadResult:
    """Reads ``ROOT/playlists/*.yaml`` (and ``*.yml``) and ``ROOT/playlists/theme.yaml``.

    Alert templates under ``ROOT/playlists/alerts/`` are not read here. Invalid playlists
    are left out of ``playlists`` and their problems reported; the others still load.
    ``ROOT/playlists/settings.yaml`` applies: its allow-list (narrowed by ``allowed_hosts``
    when both are given, never widened) and its ``links_base`` (carried with the theme).
    """
    from signage.playlist._settings import effective_hosts, load_settings

    problems: list[Problem] = []
    files: list[Path] = []
    folder = root / "playlists"
    if not folder.is_dir():
        problems.append(
            Problem(
                display_path(folder),
                0,
                0,
                _(
                    "no playlists/ folder in {root}; is this the content root (the "
                    "folder that holds playlists/ and assets/)?"
                ).format(root=display_path(root)),
            )
        )
        return LoadResult((), Theme(), tuple(problems), ())
    settings, settings_problems = load_settings(root)
    problems.extend(settings_problems)
    if (folder / SETTINGS_FILE).is_file():
        files.append(folder / SETTINGS_FILE)
    allowed_hosts = effective_hosts(settings.allowed_hosts, allowed_hosts)
    theme = Theme()
    theme_path = folder / THEME_FILE
    if theme_path.is_file():
        files.append(theme_path)
        loaded_theme, theme_problems = load_theme_file(theme_path, root, check_assets=check_assets)
        problems.extend(theme_problems)
        if loaded_theme is not None:
            theme = loaded_theme
    playlists: list[Playlist] = []
    seen: dict[str, Path] = {}
    for path in playlist_files(root):
        files.append(path)
        if path.stem in seen:
            problems.append(
                Problem(
                    display_path(path),
                    0,
                    0,
                    _(
                        "another playlist file has the id '{stem}' ({name}); rename one of them"
                    ).format(stem=path.stem, name=seen[path.stem].name),
                )
            )
            continue
        seen[path.stem] = path
        playlist, file_problems = load_playlist_file(
            path, root, allowed_hosts=allowed_hosts, check_assets=check_assets
        )
        problems.extend(file_problems)
        if playlist is not None:
            playlists.append(playlist)
    if settings.links_base is not None or settings.allowed_hosts:
        theme = replace(theme, links_base=settings.links_base, allowed_hosts=settings.allowed_hosts)
    return LoadResult(tuple(playlists), theme, tuple(problems), tuple(files), settings)
