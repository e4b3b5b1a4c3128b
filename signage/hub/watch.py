"""The hub's eye on disk: calls back once a folder has been quiet for a moment after a change.

Wraps watchdog (inotify on Linux). Only events that change something count (created,
modified, deleted, moved, closed after writing); the hub reading the root while publishing
opens files and must not trigger another publish. Paths under ``ignore`` (the hub's own
data folder when it sits inside the root) are skipped, and so are scratch files that are
never content (``is_scratch``): dot-files and dot-folders (``.git``, ``.signage-hub``,
editors' ``.name.swp`` and ``.#name``), backups ending in ``~``, vim's swap and ``4913``
probe files, emacs' ``#name#``. A save through a temporary file still counts: the rename's
destination is an ordinary name.
"""

from __future__ import annotations

import threading
import time
from collections.abc import Callable, Sequence
from pathlib import Path
from typing import Any

from watchdog.events import FileSystemEvent, FileSystemEventHandler
from watchdog.observers import Observer

from signage.logs import area_logger, quiet_watchdog_stop

log = area_logger("hub")

CHANGE_EVENTS = frozenset({"created", "modified", "deleted", "moved", "closed"})
_SWAP_SUFFIXES = (".swp", ".swx", ".swo", "~")


def is_scratch(relative: Path) -> bool:
    """Whether a path (relative to the watched folder) is a scratch file, never content."""
    for part in relative.parts:
        if part.startswith("."):
            return True
    name = relative.name
    return (
        name.endswith(_SWAP_SUFFIXES)
        or name == "4913"
        or (len(name) > 1 and name.startswith("#") and name.endswith("#"))
    )


class _Handler(FileSystemEventHandler):
    def __init__(self, watcher: ChangeWatcher) -> None:
        self._watcher = watcher

    def on_any_event(self, event: FileSystemEvent) -> None:
        if event.event_type not in CHANGE_EVENTS:
            return
        paths = [event.src_path, getattr(event, "dest_path", "") or ""]
        for raw in paths:
            if not raw:
                continue
            path = Path(raw if isinstance(raw, str) else raw.decode())
            if not self._watcher.ignores(path):
                self._watcher.poke()
                return


class ChangeWatcher:
    """Calls ``on_change()`` on its own thread when ``folder`` has changed and then been
    quiet for ``debounce_s`` (a save that writes several files publishes once).

    Args:
        folder: watched recursively.
        on_change: the work to do (exceptions are logged, the watcher keeps going).
        debounce_s: quiet time to wait for after the last change.
        max_wait_s: a stream of changes that never goes quiet (a long copy) is still
            handled this long after its first change, then again after it settles.
        ignore: folders whose changes do not count.
    """

    def __init__(
        self,
        folder: Path,
        on_change: Callable[[], None],
        *,
        debounce_s: float = 0.05,
        max_wait_s: float = 10.0,
        ignore: Sequence[Path] = (),
        name: str = "signage-hub-watch",
    ) -> None:
        self.folder = folder
        self._on_change = on_change
        self._debounce_s = debounce_s
        self._max_wait_s = max_wait_s
        self._first_change: float | None = None
        self._ignore = tuple(p.resolve() for p in ignore)
        self._folder_resolved = folder.resolve()
        self._name = name
        self._wake = threading.Condition()
        self._last_change: float | None = None
        self._stopping = False
        self._observer: Any = None  # watchdog Observer (an alias, not a type)
        self._thread: threading.Thread | None = None

    def ignores(self, path: Path) -> bool:
        """Whether a change at ``path`` is one the watcher skips (an ignored folder, or a
        scratch file: see ``is_scratch``)."""
        if any(path == p or p in path.parents for p in self._ignore):
            return True
        try:
            relative = path.relative_to(self._folder_resolved)
        except ValueError:
            try:
                relative = path.relative_to(self.folder)
            except ValueError:
                relative = Path(path.name)
        return is_scratch(relative)

    def poke(self) -> None:
        """Records a change now (called by the watchdog thread, or by tests)."""
        with self._wake:
            self._last_change = time.monotonic()
            if self._first_change is None:
                self._first_change = self._last_change
            self._wake.notify()

    def start(self) -> None:
        """Starts watching (one watchdog observer thread and one worker thread)."""
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name=self._name, daemon=True)
        self._thread.start()
        quiet_watchdog_stop()
        observer = Observer()
        observer.schedule(_Handler(self), str(self.folder), recursive=True)
        observer.daemon = True
        observer.start()
        self._observer = observer

    def stop(self) -> None:
        """Stops both threads; returns within about a second."""
        observer, self._observer = self._observer, None
        if observer is not None:
            observer.stop()
            observer.join(timeout=1.0)
        with self._wake:
            self._stopping = True
            self._wake.notify()
        if self._thread is not None:
            self._thread.join(timeout=1.0)
            self._thread = None

    def _run(self) -> None:
        while True:
            with self._wake:
                while self._last_change is None and not self._stopping:
                    self._wake.wait()
                if self._stopping:
                    return
                # Wait until nothing has changed for debounce_s (or max_wait_s has passed).
                while self._last_change is not None and not self._stopping:
                    now = time.monotonic()
                    quiet = now - self._last_change
                    waited = now - (self._first_change or now)
                    if quiet >= self._debounce_s or waited >= self._max_wait_s:
                        break
                    self._wake.wait(min(self._debounce_s - quiet, self._max_wait_s - waited))
                if self._stopping:
                    return
                self._last_change = None
                self._first_change = None
            try:
                self._on_change()
            except Exception:
                log.exception("handling a change under %s failed", self.folder)
