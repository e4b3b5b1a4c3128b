"""The console's preview room: a slide drawn by the player's own widgets, in a worker process.

``signage preview``'s renderer (``signage.player.render.render_slides``) runs in one
long-lived worker process (spawned, so no Qt state leaks into the hub, and the hub's event
loop only awaits a future). Each PNG is cached under ``DATA/previews/<hash>.png``, the hash
covering the slide as the validator built it, the theme, the size, and each asset's path,
size and modification time: an unchanged slide is answered from the cache at once.
"""

from __future__ import annotations

import asyncio
import functools
import hashlib
import os
import threading
from concurrent.futures import ProcessPoolExecutor
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path
from typing import Any

from signage.i18n import current_language, set_language
from signage.logs import area_logger

log = area_logger("hub.console")

SIZE = (960, 540)
CACHE_KEEP = 2000  # cached PNGs kept (~100 KB each); the oldest go first
RENDER_TIMEOUT_S = 30.0  # a web slide whose page never loads must not block later previews


def _asset_stamp(root: Path, path: str) -> str:
    try:
        st = (root / path).stat()
    except OSError:
        return f"{path}:missing"
    return f"{path}:{st.st_size}:{st.st_mtime_ns}"


@dataclass(frozen=True, slots=True)
class _One:
    playlists: tuple[Any, ...]


def _kept_data(playlist: Any, slide: Any, store: Path | None) -> tuple[Any, Any, dict[str, Path]]:
    """A data slide of a URL (or of the hub's scans) with the last good data the hub kept in
    ``store``, as the screens get it; nothing is fetched or written."""
    if store is None or slide.data is None or (slide.data.url is None and not slide.data.scans):
        return playlist, slide, {}
    from signage.data.remote import RemoteData

    applied, files = RemoteData(store).apply(
        _One((playlist,)), datetime.now().astimezone(), fetch=False
    )
    playlist = applied.playlists[0]
    return playlist, next(s for s in playlist.slides if s.id == slide.id), files


def _load(
    root: Path,
    playlist_file: Path,
    slide_id: str,
    store: Path | None = None,
    as_id: str | None = None,
) -> tuple[Any, Any, Any, dict[str, Path]]:
    """``as_id``: the playlist's id when ``playlist_file`` is a draft's probe file (its name is
    not the playlist's, and a ``scans:`` slide's kept count is found by the playlist's id)."""
    from dataclasses import replace

    from signage.playlist import load_playlist_file, load_theme_file

    playlist, _ = load_playlist_file(playlist_file, root)
    if playlist is None:
        raise LookupError("the playlist has problems; fix them to see previews")
    if as_id is not None:
        playlist = replace(playlist, id=as_id)
    slide = next((s for s in playlist.slides if s.id == slide_id), None)
    if slide is None:
        raise LookupError(f"no slide {slide_id!r} in this playlist")
    playlist, slide, kept = _kept_data(playlist, slide, store)
    theme_file = root / "playlists" / "theme.yaml"
    theme = None
    if theme_file.is_file():
        theme, _ = load_theme_file(theme_file, root)
    if theme is None:
        from signage.model import Theme

        theme = Theme()
    return playlist, slide, theme, kept


def cache_key(
    root: Path,
    playlist_file: Path,
    slide_id: str,
    store: Path | None = None,
    as_id: str | None = None,
) -> str:
    """The content hash a slide's preview is cached under (raises ``LookupError``)."""
    playlist, slide, theme, kept = _load(root, playlist_file, slide_id, store, as_id)
    parts = [repr(slide), repr(theme), repr(playlist.overlays), repr(SIZE)]
    for path in (slide.source, slide.text.image if slide.text else None, theme.logo):
        if path in kept:
            parts.append(_asset_stamp(kept[path].parent, kept[path].name))
        elif path and slide.kind != "web":
            parts.append(_asset_stamp(root, path))
    return hashlib.sha256("\n".join(parts).encode()).hexdigest()


def render_in_worker(
    root: str,
    playlist_file: str,
    slide_id: str,
    out: str,
    store: str | None = None,
    *,
    language: str | None = None,
    as_id: str | None = None,
) -> str:
    """Runs in the worker process: draws one slide to ``out`` (a PNG path), its words in
    ``language`` (the reader's: a spawned worker would otherwise choose from its own
    environment, English under systemd's ``LANG=C``, whatever the console speaks)."""
    import shutil
    import tempfile
    from types import MappingProxyType

    from signage.player.qtenv import ensure_application, prepare_environment

    if language is not None:
        set_language(language)
    prepare_environment(headless=True)
    ensure_application("signage-console-preview")
    from signage.model import Content, Screen
    from signage.player.render import render_slides
    from signage.schedule import ScheduledSlide

    base = Path(root)
    playlist, slide, theme, kept = _load(
        base, Path(playlist_file), slide_id, Path(store) if store else None, as_id
    )
    assets = {}
    for path in (slide.source, slide.text.image if slide.text else None, theme.logo):
        if path in kept:
            assets[path] = kept[path].resolve()
        elif path and (base / path).is_file():
            assets[path] = (base / path).resolve()
    content = Content(
        version=0,
        playlists=(playlist,),
        theme=theme,
        assets=MappingProxyType(assets),
        source=str(base),
    )
    screen = Screen(id="vista-previa", tags=playlist.tags or frozenset())
    with tempfile.TemporaryDirectory(prefix="signage-preview-") as tmp:
        rendered = render_slides(
            content,
            [ScheduledSlide(playlist, slide)],
            out=Path(tmp),
            size=SIZE,
            at=datetime.now().astimezone(),
            screen=screen,
        )
        if not rendered:
            raise LookupError("nothing was drawn")
        partial = Path(out).with_name(f".{Path(out).name}.{os.getpid()}")
        shutil.copyfile(rendered[0].path, partial)
        partial.replace(out)
    return out


def _follow_parent(parent: int) -> None:
    """Worker initializer: end this process when the hub that started it is gone (a hub
    killed without a clean shutdown must not leave a Qt process behind)."""
    import time

    def watch() -> None:
        while True:
            if os.getppid() != parent:
                os._exit(0)
            time.sleep(1.0)

    threading.Thread(target=watch, name="signage-preview-parent", daemon=True).start()


class Previews:
    """Cached previews drawn by one worker process (started on first use).

    Args:
        cache: the folder of cached PNGs.
        store: the hub's remote data store: URL data slides are drawn with the last good
            data kept there (``None``: drawn as never fetched).
    """

    def __init__(self, cache: Path, store: Path | None = None) -> None:
        self.cache = cache
        self.store = store
        self._pool: ProcessPoolExecutor | None = None
        self._lock = threading.Lock()
        self._renders = 0

    def _executor(self) -> ProcessPoolExecutor:
        with self._lock:
            if self._pool is None:
                import multiprocessing

                self._pool = ProcessPoolExecutor(
                    max_workers=1,
                    mp_context=multiprocessing.get_context("spawn"),
                    initializer=_follow_parent,
                    initargs=(os.getpid(),),
                )
            return self._pool

    def close(self) -> None:
        """Stops the worker (its process is ended if it is stuck in a render)."""
        with self._lock:
            pool, self._pool = self._pool, None
        if pool is None:
            return
        # ProcessPoolExecutor has no public way to end a busy worker before Python 3.14.
        processes = list((getattr(pool, "_processes", None) or {}).values())
        pool.shutdown(wait=False, cancel_futures=True)
        for process in processes:
            process.terminate()

    async def render(
        self, root: Path, playlist_file: Path, slide_id: str, *, as_id: str | None = None
    ) -> bytes:
        """The PNG of one slide (``LookupError`` when there is no such valid slide); ``as_id``
        names the playlist when ``playlist_file`` is a draft's probe."""
        language = current_language()
        key = await asyncio.to_thread(cache_key, root, playlist_file, slide_id, self.store, as_id)
        cached = self.cache / f"{key}-{language}.png"
        try:
            return await asyncio.to_thread(cached.read_bytes)
        except FileNotFoundError:
            pass
        self.cache.mkdir(parents=True, exist_ok=True)
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(
            self._executor(),
            functools.partial(render_in_worker, language=language, as_id=as_id),
            str(root),
            str(playlist_file),
            slide_id,
            str(cached),
            str(self.store) if self.store is not None else None,
        )
        try:
            await asyncio.wait_for(future, RENDER_TIMEOUT_S)
        except LookupError:
            raise
        except Exception as exc:
            reason = "took too long" if isinstance(exc, TimeoutError) else str(exc)
            log.warning("console preview of %s/%s failed: %s", playlist_file.stem, slide_id, reason)
            self.close()  # a stuck or crashed worker is replaced on next use
            raise LookupError(f"the preview could not be drawn: {reason}") from None
        self._renders += 1
        if self._renders % 50 == 0:
            await asyncio.to_thread(self.prune)
        return await asyncio.to_thread(cached.read_bytes)

    async def render_alert(self, alert_json: str) -> bytes:
        """The PNG of an alert as the screens will show it (``LookupError`` if it fails)."""
        key = hashlib.sha256(f"alert\n{alert_json}\n{SIZE}".encode()).hexdigest()
        cached = self.cache / f"{key}.png"
        self.cache.mkdir(parents=True, exist_ok=True)
        loop = asyncio.get_running_loop()
        future = loop.run_in_executor(
            self._executor(), render_alert_in_worker, alert_json, str(cached)
        )
        try:
            await asyncio.wait_for(future, RENDER_TIMEOUT_S)
        except Exception as exc:
            reason = "took too long" if isinstance(exc, TimeoutError) else str(exc)
            log.warning("console alert preview failed: %s", reason)
            self.close()
            raise LookupError(f"the preview could not be drawn: {reason}") from None
        png = await asyncio.to_thread(cached.read_bytes)
        await asyncio.to_thread(cached.unlink, missing_ok=True)
        return png

    def prune(self, keep: int = CACHE_KEEP) -> int:
        """Deletes the least recently written cached PNGs beyond ``keep``; returns how many."""
        try:
            entries = [e for e in os.scandir(self.cache) if e.name.endswith(".png")]
        except OSError:
            return 0
        if len(entries) <= keep:
            return 0
        entries.sort(key=lambda e: e.stat().st_mtime)
        removed = 0
        for entry in entries[: len(entries) - keep]:
            try:
                Path(entry.path).unlink()
                removed += 1
            except OSError:
                continue
        return removed


def render_alert_in_worker(alert_json: str, out: str) -> str:
    """Runs in the worker process: draws one alert as a screen shows it (the player's own
    ``AlertLayer``, its colours, fitting and SIMULACRO band) to ``out`` (a PNG path)."""
    import json

    from signage.player.qtenv import ensure_application, prepare_environment

    prepare_environment(headless=True)
    app = ensure_application("signage-console-preview")
    from PySide6.QtWidgets import QWidget

    from signage.alerts.codec import alert_from_json
    from signage.events import EventLog
    from signage.model import AlertStatus, Screen, Theme
    from signage.player.alert_layer import AlertLayer

    alert = alert_from_json(json.loads(alert_json), "preview")
    window = QWidget()
    window.resize(*SIZE)
    screen = Screen("vista-previa", alert.tags or frozenset())
    exercise = alert.status == AlertStatus.EXERCISE
    layer = AlertLayer(window, Theme(), screen, exercise, EventLog(None), None)
    layer.setGeometry(window.rect())
    window.show()
    layer.set_alerts([alert])
    for _ in range(6):
        app.processEvents()
    image = window.grab().toImage()
    window.close()
    window.deleteLater()
    app.processEvents()
    partial = Path(out).with_name(f".{os.getpid()}.{Path(out).name}")
    if not image.save(str(partial)):
        raise LookupError("the alert preview could not be written")
    partial.replace(out)
    return out
