"""Local content room: a content root on disk as a ContentSource, reloaded on every saved edit.

``LocalSource`` loads the root at start through the feed's in-process path
(``signage.feed.local.content_from_root``: the same manifest, store and atomic switch as a
signed feed), then watches ``playlists/``, ``assets/`` and ``alerts/`` with watchdog. Bursts
of file events are debounced (150 ms) into one reload, so a saved edit reaches the screen
well within a second. Behind the watcher, the root's stamp is compared every ``RESCAN_S``
seconds: an event the watcher lost (inotify's per-user instance or queue limits, a network
folder) costs a few seconds, never an alert that is never cleared.

Start-up from an unchanged root: after each clean load the root's file list with sizes and
modification times (``RootStamp``) is kept beside the cache. If the root still has that
stamp at the next start, the cache's current version (validated when it was applied) is
delivered at once, without importing the validator or copying anything; the full load and
the watcher start once the screen has settled (``screen_settled``), and their content is
delivered only if it differs. A root that changed is validated before anything of it shows.

When some files fail validation, each is reported once as ``playlist_rejected`` with its
``path:line:col: message`` lines, and the content keeps every valid playlist plus the last
good version of each rejected one (assets from the root, else from the last good version).
That merge is the one place the local mode builds ``Content`` itself: the shared path
refuses a root with any error, which would hold back the valid edits of other files.
"""

from __future__ import annotations

import json
import os
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Any

from signage.errors import ValidationError
from signage.events import EventLog
from signage.logs import area_logger
from signage.model import Content, Playlist, Theme
from signage.sources import ContentCallback

if TYPE_CHECKING:  # alerts' types load with the first alert (signage.model_extra)
    from signage.errors import Problem  # and a problem with the first one found
    from signage.model import Alert

log = area_logger("player")

DEBOUNCE_S = 0.15
WATCHED = ("playlists", "assets", "alerts")
_IGNORED_SUFFIXES = (".swp", ".swx", ".tmp", "~", ".part")
STAMP_FILE = "local-root.json"  # beside the store's own files in the cache folder
RESCAN_S = 5.0  # how often the root's stamp is compared, behind the watcher
SETTLE_WAIT_S = 2.0  # longest wait for the screen before the deferred full load starts

# (path relative to the root, size, mtime_ns, inode) of every file that decides the content
FileStamp = tuple[str, int, int, int]


def root_stamp(root: Path) -> tuple[FileStamp, ...]:
    """The files of ``root`` that decide its content, with size, mtime and inode, sorted.

    Covers the root's top-level files (``theme.yaml``...) and everything under
    ``playlists/``, ``alerts/`` and ``assets/`` (hidden names skipped: editors' swap files;
    linked folders not walked, so content under them never takes the shortcut).
    Raises OSError if the root itself cannot be listed.
    """
    out: list[FileStamp] = []

    def add(entry: os.DirEntry[str]) -> None:
        try:
            st = entry.stat()
        except OSError:
            return
        rel = Path(entry.path).relative_to(root).as_posix()
        out.append((rel, st.st_size, st.st_mtime_ns, st.st_ino))

    with os.scandir(root) as top:
        for entry in top:
            if entry.is_file() and not entry.name.startswith("."):
                add(entry)
    stack = [root / folder for folder in WATCHED]
    while stack:
        try:
            with os.scandir(stack.pop()) as entries:
                listed = list(entries)
        except (FileNotFoundError, NotADirectoryError):
            continue
        for entry in listed:
            if entry.name.startswith("."):
                continue
            if entry.is_dir(follow_symlinks=False):
                stack.append(Path(entry.path))
            elif not entry.is_dir():  # a linked folder is not walked (a loop would not end)
                add(entry)  # a file, or a link to one: its target's size and times
    return tuple(sorted(out))


def same_content(a: Content, b: Content) -> bool:
    """Whether two versions would show the same (version numbers and times aside)."""
    return (
        a.playlists == b.playlists
        and a.theme == b.theme
        and a.alerts == b.alerts
        and dict(a.assets) == dict(b.assets)
    )


def _file_key(problem_path: str) -> str:
    """The file a problem belongs to, as reported (``playlists/lobby.yaml``)."""
    return problem_path


class LocalSource:
    """Content from a folder holding ``playlists/`` and ``assets/``.

    Args:
        root: the content root.
        cache: where the content-addressed copies of its assets are kept.
        allowed_hosts: QR and web hosts allowed (empty: any https host).
        clock: the aware current time (tests inject one).
        debounce_s: quiet time after the last file event before reloading.
        rescan_s: how often the root's stamp is compared behind the watcher (lost events).
        wait_for_screen: after the first delivery, hold the watcher and the deferred full
            load until ``screen_settled()`` is called (at most ``SETTLE_WAIT_S``), so they
            do not compete with the first slide's preparation. The player calls it.
        alert_active: which alerts of ``alerts/`` are carried (``TimeKeeper.alert_active``);
            default: not expired by ``clock``.
    """

    def __init__(
        self,
        root: Path,
        *,
        cache: Path,
        allowed_hosts: frozenset[str] = frozenset(),
        clock: Callable[[], datetime] | None = None,
        debounce_s: float = DEBOUNCE_S,
        rescan_s: float = RESCAN_S,
        wait_for_screen: bool = False,
        alert_active: Callable[[Alert], bool] | None = None,
    ) -> None:
        self.root = root
        self.alert_active = alert_active
        self.cache = cache
        self.allowed_hosts = allowed_hosts
        self._clock = clock or (lambda: datetime.now(UTC))
        self._debounce_s = debounce_s
        self._rescan_s = rescan_s
        self._lock = threading.Lock()
        self._timer: threading.Timer | None = None
        self._observer: Any = None
        self._on_content: ContentCallback | None = None
        self._events: EventLog | None = None
        self._version = 0
        self._last: Content | None = None
        self._good: dict[str, Playlist] = {}  # playlist id -> last good version
        self._reported: dict[str, tuple[str, ...]] = {}  # file -> errors last reported
        self._stopped = threading.Event()
        self._starter: threading.Thread | None = None
        self._wait_for_screen = wait_for_screen
        self._settled = threading.Event()
        self._stamp: tuple[FileStamp, ...] | None = None  # the root as the last load saw it
        self.started_from_cache = False  # the first delivery came from an unchanged root
        # Before ``start``: what a prefetched first load found, held for the player.
        self._handoff = threading.Lock()
        self._prefetched = False
        self._held_content: Content | None = None
        self._held_events: list[tuple[str, dict[str, Any]]] = []

    def describe(self) -> str:
        return str(self.root.resolve())

    @property
    def content(self) -> Content | None:
        """The last content delivered."""
        return self._last

    def prefetch(self) -> None:
        """Begins the first load now, on its thread, before the player exists.

        ``play`` calls it before importing Qt: reading the cache (or validating a changed
        root) overlaps Qt's start-up. Its content and events are held until ``start``.
        """
        if self._prefetched:
            return
        self._prefetched = True
        self._begin()

    def start(self, on_content: ContentCallback, events: EventLog) -> None:
        """Loads and starts watching on a background thread; returns at once."""
        with self._handoff:
            self._on_content = on_content
            self._events = events
            held_events, self._held_events = self._held_events, []
            held, self._held_content = self._held_content, None
        for name, fields in held_events:
            events.emit(name, **fields)
        if held is not None:
            on_content(held)
        if self._prefetched:
            self._prefetched = False  # a later start (after stop) loads afresh
        else:
            self._begin()

    def _begin(self) -> None:
        self._stopped.clear()
        self._settled.clear()
        self._starter = threading.Thread(target=self._first_load, name="local-source", daemon=True)
        self._starter.start()

    def _deliver(self, content: Content) -> None:
        with self._handoff:
            target = self._on_content
            if target is None:
                if self._prefetched:
                    self._held_content = content  # the player takes it in start()
                return
        if not self._stopped.is_set():
            target(content)

    def _emit(self, name: str, **fields: Any) -> None:
        with self._handoff:
            events = self._events
            if events is None:
                if self._prefetched:
                    self._held_events.append((name, fields))
                return
        events.emit(name, **fields)

    def screen_settled(self) -> None:
        """The screen shows what it was given: the deferred start-up work may run now."""
        self._settled.set()

    def _first_load(self) -> None:
        try:
            cached = self._from_cache()
        except Exception:  # the shortcut must never cost the content: validate instead
            log.exception("the cache of %s could not be read; validating the root", self.root)
            cached = None
        if cached is not None:
            self.started_from_cache = True
            with self._lock:
                self._last = cached
                self._version = cached.version
                self._good = {p.id: p for p in cached.playlists}
            self._deliver(cached)
        else:
            try:
                self.reload()  # validated before anything of it is delivered
            except Exception:  # keep watching: a fixed file will load on its next save
                log.exception("loading %s failed", self.root)
        if self._wait_for_screen:
            self._settled.wait(SETTLE_WAIT_S)
        if self._stopped.is_set():
            return
        seen = self._stamp
        self._watch()
        try:
            if cached is not None:
                # Same files, same result; re-checked anyway (and root alerts re-read at
                # this time), delivered only if something differs.
                self.reload(only_if_changed=True)
            elif seen is None or self._read_stamp() != seen:
                self._poke()  # saved while the first load ran, before the watcher started
        except Exception:
            log.exception("loading %s failed", self.root)
        self._rescan()

    def _rescan(self) -> None:
        """Compares the root's stamp every ``RESCAN_S`` until stopped (a lost event's net)."""
        while not self._stopped.wait(self._rescan_s):
            with self._lock:
                pending = self._timer is not None
            stamp = self._read_stamp()
            if pending or stamp is None or stamp == self._stamp:
                continue
            log.warning("a change under %s reached no watcher event; reloading", self.root)
            self._poke()

    def _read_stamp(self) -> tuple[FileStamp, ...] | None:
        try:
            return root_stamp(self.root)
        except OSError:
            return None

    def _from_cache(self) -> Content | None:
        """The cache's current version if the root is unchanged since it was applied."""
        try:
            record = json.loads((self.cache / STAMP_FILE).read_text(encoding="utf-8"))
        except (OSError, ValueError):
            return None
        stamp = self._read_stamp()
        if (
            stamp is None
            or not isinstance(record, dict)
            or record.get("key") != self._stamp_key()
            or record.get("files") != [list(f) for f in stamp]
        ):
            return None
        from signage.feed.store import Store

        store = Store(self.cache)
        state = store.state()
        if state is None or state.manifest != record.get("manifest"):
            return None
        manifest = store.current_manifest()
        if manifest is None or manifest.sha256 != state.manifest or store.missing_blobs(manifest):
            return None
        log.info(
            "content root %s unchanged since version %d: shown from the cache",
            self.root,
            manifest.version,
        )
        return store.content_of(manifest, source=str(self.root))

    def _stamp_key(self) -> list[str]:
        """What else decides the validated result: the root, the allow-list, the code."""
        from signage import __version__

        return [str(self.root.resolve()), ",".join(sorted(self.allowed_hosts)), __version__]

    def _remember_stamp(self, stamp: tuple[FileStamp, ...] | None, content: Content) -> None:
        """Records the root's stamp beside the cache after a clean load (else forgets it)."""
        from signage.feed.store import Store, write_atomic

        path = self.cache / STAMP_FILE
        stamped = {f[0] for f in stamp} if stamp is not None else set()
        state = Store(self.cache).state()
        if stamp is None or state is None or not set(content.assets) <= stamped:
            path.unlink(missing_ok=True)  # an asset outside the stamped folders: no shortcut
            return
        record = {
            "key": self._stamp_key(),
            "manifest": state.manifest,
            "files": [list(f) for f in stamp],
        }
        write_atomic(path, json.dumps(record).encode(), sync_dir=False)

    def _forget_stamp(self) -> None:
        try:
            (self.cache / STAMP_FILE).unlink(missing_ok=True)
        except OSError as exc:
            log.warning("%s could not be removed: %s", self.cache / STAMP_FILE, exc)

    def stop(self) -> None:
        self._stopped.set()
        self._settled.set()  # wakes a first load waiting for the screen
        starter = self._starter
        if starter is not None and starter is not threading.current_thread():
            starter.join(timeout=1.0)
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
                self._timer = None
        observer, self._observer = self._observer, None
        if observer is not None:
            observer.stop()
            observer.join(timeout=1.0)

    # -- loading --------------------------------------------------------------------------
    def reload(self, *, only_if_changed: bool = False) -> Content | None:
        """Loads the root now; delivers and returns new content, or ``None`` if nothing valid
        (or, with ``only_if_changed``, nothing different from the last delivery)."""
        with self._lock:
            last = self._last
            content = self._load()
            unchanged = content is not None and last is not None and same_content(content, last)
            if only_if_changed and unchanged:
                return None
            if content is not None:
                self._last = content
        if content is not None:
            self._deliver(content)
        return content

    def _load(self) -> Content | None:
        from signage.feed.local import content_from_root

        now = self._clock()
        version = self._version + 1
        stamp = self._stamp = self._read_stamp()  # before reading: a later edit mismatches
        try:
            content = content_from_root(
                self.root,
                self.cache,
                version,
                now,
                allowed_hosts=self.allowed_hosts,
                alert_active=self.alert_active,
            )
        except ValidationError as exc:
            self._forget_stamp()
            return self._load_partial(version, now, exc.problems)
        except OSError as exc:
            self._forget_stamp()
            log.warning("content root %s could not be read: %s", self.root, exc)
            return None
        try:
            self._remember_stamp(stamp, content)
        except OSError as exc:  # only the next start's shortcut is lost
            log.warning("%s not written: %s", self.cache / STAMP_FILE, exc)
        self._version = version
        self._good = {p.id: p for p in content.playlists}
        self._report({})
        return content

    def _load_partial(self, version: int, now: datetime, problems: list[Problem]) -> Content | None:
        from signage.playlist import load_content_root

        if not (self.root / "playlists").is_dir():
            self._report({str(self.root): [str(p) for p in problems]})
            return None
        load = load_content_root(self.root, allowed_hosts=self.allowed_hosts)
        by_file = {f: [str(p) for p in ps] for f, ps in load.errors_by_file().items()}
        if not by_file:  # rejected for its assets (unsafe path, outside the root...)
            by_file = {}
            for p in problems:
                by_file.setdefault(p.path, []).append(str(p))
        self._report(by_file)
        rejected_ids = {Path(f).stem for f in by_file}
        valid = {p.id: p for p in load.playlists if p.id not in rejected_ids}
        kept = {pid: p for pid, p in self._good.items() if pid in rejected_ids}
        playlists = tuple(sorted({**kept, **valid}.values(), key=lambda p: p.id))
        theme_rejected = any(Path(f).name in ("theme.yaml", "theme.yml") for f in by_file)
        last = self._last
        theme = last.theme if (theme_rejected and last is not None) else load.theme
        assets = self._assets_for(playlists, theme, last)
        self._good = {p.id: p for p in playlists}
        self._version = version
        return Content(
            version=version,
            playlists=playlists,
            theme=theme if isinstance(theme, Theme) else Theme(),
            alerts=last.alerts if last is not None else (),
            assets=MappingProxyType(assets),
            published=now,
            source=str(self.root),
        )

    def _assets_for(
        self, playlists: tuple[Playlist, ...], theme: Theme, last: Content | None
    ) -> dict[str, Path]:
        from signage.feed.manifest import referenced_assets

        root = self.root.resolve()
        out: dict[str, Path] = {}
        for path in referenced_assets(playlists, theme):
            local = (root / path).resolve()
            if local.is_relative_to(root) and local.is_file():
                out[path] = local
            elif last is not None and (old := last.asset_path(path)) is not None:
                out[path] = old
        return out

    def _report(self, by_file: dict[str, list[str]]) -> None:
        """Emits ``playlist_rejected`` for each file whose errors are new or changed."""
        for file, errors in by_file.items():
            key = _file_key(file)
            if self._reported.get(key) == tuple(errors):
                continue
            self._reported[key] = tuple(errors)
            log.warning("playlist rejected, last good version kept: %s", "; ".join(errors))
            self._emit("playlist_rejected", file=file, errors=errors)
        for key in [k for k in self._reported if k not in by_file]:
            del self._reported[key]

    # -- watching -------------------------------------------------------------------------
    def _watch(self) -> None:
        try:
            from watchdog.events import FileSystemEventHandler
            from watchdog.observers import Observer
        except ImportError:
            log.warning("watchdog is not installed: edits need a restart")
            return
        source = self

        class _Handler(FileSystemEventHandler):
            def on_any_event(self, event: Any) -> None:
                if event.event_type in ("opened", "closed_no_write"):
                    return
                for raw in (getattr(event, "src_path", ""), getattr(event, "dest_path", "")):
                    if raw and source._relevant(Path(str(raw))):
                        source._poke()
                        return

        from signage.logs import quiet_watchdog_stop

        quiet_watchdog_stop()
        observer = Observer()
        observer.daemon = True
        observer.schedule(_Handler(), str(self.root), recursive=True)
        observer.start()
        self._observer = observer

    def _relevant(self, path: Path) -> bool:
        try:
            rel = path.resolve().relative_to(self.root.resolve())
        except ValueError:
            return False
        if not rel.parts or rel.parts[0] not in WATCHED:
            return False
        name = rel.name
        return not (name.startswith((".#", ".")) or name.endswith(_IGNORED_SUFFIXES))

    def _poke(self) -> None:
        if self._stopped.is_set():
            return
        with self._lock:
            if self._timer is not None:
                self._timer.cancel()
            self._timer = threading.Timer(self._debounce_s, self._on_quiet)
            self._timer.daemon = True
            self._timer.start()

    def _on_quiet(self) -> None:
        with self._lock:
            self._timer = None
        if self._stopped.is_set():
            return
        try:
            self.reload()
        except Exception:  # a reload bug must not end the watcher: keep the last content
            log.exception("reloading %s failed; the last good content keeps playing", self.root)


class StaticSource:
    """A ContentSource holding Content built in-process (benchmarks, embedding, kiosks
    that generate their own slides). ``deliver`` hands a newer version to the player."""

    def __init__(self, content: Content | None, description: str = "contenido fijo") -> None:
        self._content = content
        self._description = description
        self._on_content: ContentCallback | None = None

    def start(self, on_content: ContentCallback, events: EventLog) -> None:
        self._on_content = on_content
        if self._content is not None:
            on_content(self._content)

    def deliver(self, content: Content) -> None:
        self._content = content
        if self._on_content is not None:
            self._on_content(content)

    def stop(self) -> None:
        self._on_content = None

    def describe(self) -> str:
        return self._description
