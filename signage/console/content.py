"""The console's content room: reading and saving playlist files of the content root.

A save is: check the caller's ``If-Match`` against the file on disk (a stale editor gets
``StaleError``, nothing is written); write the new text to a dot-file beside the target
(which the hub's watcher and the loader skip); check that very file with the validator
``signage validate`` uses (``signage.playlist.load_playlist_file``); refuse it with its
located problems, or rename it over the target (atomic). Then the content root is
committed to the history and the hub's own publisher (``hub.publish_root``) signs the new
version; the watcher, which sees the rename too, then finds nothing new to publish.
"""

from __future__ import annotations

import hashlib
import threading
from collections.abc import Callable
from dataclasses import dataclass, replace
from pathlib import Path

from signage.console.files import PLAYLIST_NAME, atomic_write, playlist_path
from signage.console.history import HAND_EDITS, History, HistoryError
from signage.errors import Problem, ValidationError
from signage.i18n import _
from signage.logs import area_logger
from signage.model import Playlist

log = area_logger("hub.console")

MAX_PLAYLIST_BYTES = 1_000_000  # the validator's own limit (signage.playlist.MAX_BYTES)


class ContentError(Exception):
    """Raised when a playlist cannot be read or saved; ``status`` is the HTTP answer."""

    def __init__(self, status: int, message: str) -> None:
        self.status = status
        super().__init__(message)


class StaleError(ContentError):
    """Raised when the file changed since the caller read it (If-Match no longer matches)."""

    def __init__(self, current: bytes, etag: str) -> None:
        self.current = current
        self.etag = etag
        super().__init__(412, _("someone changed this playlist since you opened it"))


class InvalidError(ContentError):
    """Raised when the text to save fails validation; ``problems`` are located in it."""

    def __init__(self, problems: list[Problem], text: str) -> None:
        self.problems = problems
        self.text = text
        super().__init__(422, _("the playlist has problems; nothing was saved"))


@dataclass(frozen=True, slots=True)
class Saved:
    version: int  # the feed version serving the save
    etag: str  # the file's new ETag
    before: str | None  # history commit before
    after: str | None  # history commit after
    published: bool
    note: str = ""


def etag_of(data: bytes) -> str:
    return '"' + hashlib.sha256(data).hexdigest()[:40] + '"'


def etag_matches(header: str, etag: str) -> bool:
    """Whether an ``If-Match`` header names ``etag`` (``*`` matches any existing file)."""
    offered = [t.strip().removeprefix("W/") for t in header.split(",")]
    return "*" in offered or etag in offered


class ContentRoom:
    """Reads and saves the playlists of one content root.

    Args:
        root: the content root.
        history: its history (committed before and after each save).
        publish: the hub's publisher: signs the root as a new version, returns it.
        current_version: the version the hub serves now.
    """

    def __init__(
        self,
        root: Path,
        history: History,
        publish: Callable[[str], int],
        current_version: Callable[[], int],
    ) -> None:
        self.root = root
        self.history = history
        self._publish = publish
        self._current_version = current_version
        self.lock = threading.Lock()

    def names(self) -> list[str]:
        from signage.playlist import playlist_files

        return [p.stem for p in playlist_files(self.root) if PLAYLIST_NAME.match(p.stem)]

    def path(self, name: str) -> Path:
        path = playlist_path(self.root, name)
        if path is None:
            raise ContentError(404, _("no playlist {name}").format(name=repr(name)))
        return path

    def read(self, name: str) -> tuple[bytes, str]:
        """The file's bytes and ETag (``ContentError`` 404 when it does not exist)."""
        path = self.path(name)
        try:
            with path.open("rb") as fh:
                data = fh.read(MAX_PLAYLIST_BYTES + 1)
        except FileNotFoundError:
            raise ContentError(404, _("no playlist {name}").format(name=repr(name))) from None
        except OSError as exc:
            raise ContentError(
                500,
                _("cannot read playlists/{file}: {reason}").format(
                    file=path.name, reason=exc.strerror
                ),
            ) from None
        if len(data) > MAX_PLAYLIST_BYTES:
            raise ContentError(413, _("playlists/{file} is over 1 MB").format(file=path.name))
        return data, etag_of(data)

    def validate(self, name: str, data: bytes) -> list[Problem]:
        """Every problem the validator finds in ``data`` as ``playlists/NAME.yaml``."""
        return self.check(name, data)[1]

    def check(self, name: str, data: bytes) -> tuple[Playlist | None, list[Problem]]:
        """The playlist the validator builds from ``data`` (``None`` when it has an error)
        and every problem, located in ``playlists/NAME.yaml``."""
        from signage.playlist import load_playlist_file

        path = self.path(name)
        probe = path.with_name(f".{path.name}.check-{threading.get_ident()}")
        try:
            # Only read back by the validator, then deleted: no fsync needed (the save
            # itself is written with atomic_write).
            probe.write_bytes(data)
            playlist, problems = load_playlist_file(probe, self.root)
        finally:
            probe.unlink(missing_ok=True)
        shown = f"playlists/{path.name}"
        return playlist, [replace(p, path=shown) for p in problems]

    def check_file(self, path: Path) -> tuple[Playlist | None, list[Problem]]:
        """A playlist file under ``playlists/`` (a draft's dot-file) through the validator."""
        from signage.playlist import load_playlist_file

        return load_playlist_file(path, self.root)

    def check_saved(self, name: str) -> tuple[Playlist | None, list[Problem]]:
        """The playlist file as it is on disk, through the validator (no copy made)."""
        from signage.playlist import load_playlist_file

        path = self.path(name)
        playlist, problems = load_playlist_file(path, self.root)
        shown = f"playlists/{path.name}"
        return playlist, [replace(p, path=shown) for p in problems]

    def save(self, name: str, data: bytes, if_match: str | None, user: str) -> Saved:
        """Validates and writes ``data`` as the playlist ``name``, then publishes it.

        ``if_match``: the ETag the editor opened (``None``: refused, 428), or ``*`` for
        a playlist that must not exist yet is ``create=True``'s business.
        """
        if len(data) > MAX_PLAYLIST_BYTES:
            raise ContentError(413, _("a playlist is at most 1 MB"))
        try:
            text = data.decode("utf-8")
        except UnicodeDecodeError:
            raise ContentError(400, _("the playlist is not UTF-8 text")) from None
        path = self.path(name)
        with self.lock:
            try:
                current, etag = self.read(name)
            except ContentError as exc:
                if exc.status != 404:
                    raise
                current, etag = b"", ""
            if if_match is None:
                raise ContentError(428, _("If-Match is required (the ETag you read)"))
            if current and not etag_matches(if_match, etag):
                raise StaleError(current, etag)
            if not current and if_match.strip() not in ("*", '""'):
                raise ContentError(412, _("no playlist {name} to change").format(name=repr(name)))
            problems = self.validate(name, data)
            if any(p.severity == "error" for p in problems):
                raise InvalidError(problems, text)
            before = self._record(_(HAND_EDITS), _("server"))
            atomic_write(path, data)
            after = self._record(f"{name}: guardada por {user}", user)
            version, published, note = self.publish(f"console: playlists/{path.name} by {user}")
        return Saved(version, etag_of(data), before, after, published, note)

    def _record(self, message: str, author: str) -> str | None:
        """Commits the root to the history; a history that fails (no git, a full disk) is
        logged and the save goes on: the file is the source of truth, not its history."""
        try:
            return self.history.commit(message, author)
        except HistoryError as exc:
            log.error("console history not recorded (%s): %s", message, exc)
            return None

    def publish(self, reason: str) -> tuple[int, bool, str]:
        """Asks the hub to publish the root now; (version, published, note)."""
        try:
            return self._publish(reason), True, ""
        except ValidationError as exc:
            first = str(exc.problems[0]) if exc.problems else ""
            log.warning("console save kept but not published: %s", first)
            return (
                self._current_version(),
                False,
                _(
                    "saved, but another file of the folder has problems, so it was not "
                    "published: {problem}"
                ).format(problem=first),
            )
