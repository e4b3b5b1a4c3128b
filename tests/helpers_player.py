"""Test helpers for the player: real media made with Pillow and ffmpeg, Content built by hand,
a ContentSource that hands over given Content, and bounded waits on the Qt event loop."""

from __future__ import annotations

import http.server
import shutil
import subprocess
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from pathlib import Path
from types import MappingProxyType
from typing import Any, ClassVar

from PIL import Image

from signage.events import EventLog
from signage.model import Content, Overlays, Playlist, Slide, SlideKind, Theme

NO_OVERLAYS = Overlays(qr=False, clock=False, ticker=False, logo=False)
THEME = Theme(background="#0b2545")


def solid_png(path: Path, rgb: tuple[int, int, int], size: tuple[int, int] = (640, 360)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, rgb).save(path)
    return path


def solid_jpeg(path: Path, rgb: tuple[int, int, int], size: tuple[int, int] = (640, 360)) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    Image.new("RGB", size, rgb).save(path, quality=92)
    return path


def make_video(path: Path, *, seconds: float = 1.0, colour: str | None = None) -> Path:
    """A real H.264 MP4 made by ffmpeg (test pattern, or a solid colour)."""
    path.parent.mkdir(parents=True, exist_ok=True)
    source = f"color=c={colour}:size=320x240:rate=25" if colour else "testsrc=size=320x240:rate=25"
    subprocess.run(
        [
            "ffmpeg",
            "-loglevel",
            "error",
            "-y",
            "-f",
            "lavfi",
            "-i",
            source,
            "-t",
            str(seconds),
            "-pix_fmt",
            "yuv420p",
            "-c:v",
            "libx264",
            str(path),
        ],
        check=True,
        timeout=60,
    )
    return path


def have_ffmpeg() -> bool:
    return shutil.which("ffmpeg") is not None


def slide(sid: str, kind: SlideKind, source: str = "", **kw: Any) -> Slide:
    kw.setdefault("duration_s", 0.3)
    return Slide(id=sid, kind=kind, source=source, **kw)


def content(
    slides: list[Slide],
    files: dict[str, Path],
    *,
    version: int = 1,
    playlist_id: str = "lobby",
    overlays: Overlays = NO_OVERLAYS,
    ticker: tuple[str, ...] = (),
    theme: Theme = THEME,
) -> Content:
    """Content built straight from model objects (bypasses the validator on purpose)."""
    return Content(
        version=version,
        playlists=(
            Playlist(
                id=playlist_id,
                name=playlist_id,
                slides=tuple(slides),
                overlays=overlays,
                ticker=ticker,
            ),
        ),
        theme=theme,
        assets=MappingProxyType(dict(files)),
        source="test",
    )


class GivenSource:
    """A ContentSource that delivers the Content it is given (``push`` sends another)."""

    def __init__(self, first: Content | None) -> None:
        self.first = first
        self._on: Callable[[Content], None] | None = None
        self.stopped = False

    def start(self, on_content: Callable[[Content], None], events: EventLog) -> None:
        self._on = on_content
        if self.first is not None:
            on_content(self.first)

    def push(self, new: Content) -> None:
        assert self._on is not None
        self._on(new)

    def stop(self) -> None:
        self.stopped = True

    def describe(self) -> str:
        return "pruebas://contenido"


_LOOP: list[Any] = []


def spin() -> None:
    """Processes pending Qt events once.

    Through a QEventLoop instance on purpose: in PySide6 6.12 on Python 3.11 the static
    ``QCoreApplication.processEvents()`` drops one reference to ``None`` per call, and a
    few thousand calls end the interpreter with "none_dealloc" at exit.
    """
    if not _LOOP:
        from PySide6.QtCore import QEventLoop

        from signage.player.qtenv import protect_none

        protect_none()  # the player's own Qt calls have the same PySide6 bug
        _LOOP.append(QEventLoop())
    _LOOP[0].processEvents()


def pump(app: Any, seconds: float) -> None:
    end = time.monotonic() + seconds
    while time.monotonic() < end:
        spin()
        time.sleep(0.003)


def wait_until(app: Any, predicate: Callable[[], bool], timeout: float = 10.0) -> bool:
    """Runs the Qt event loop until ``predicate()`` holds; False when the time runs out."""
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        spin()
        if predicate():
            return True
        time.sleep(0.003)
    spin()
    return predicate()


class EventTrap:
    """Collects every event of a log (in memory) for assertions."""

    def __init__(self, log: EventLog) -> None:
        self.records: list[dict[str, Any]] = []
        log.subscribe(self.records.append)

    def of(self, name: str) -> list[dict[str, Any]]:
        return [r for r in self.records if r["event"] == name]

    def shown(self) -> list[str]:
        return [r["slide"] for r in self.of("slide_shown")]

    def skipped(self) -> dict[str, str]:
        return {r["slide"]: r["reason"] for r in self.of("slide_skipped")}


def colour_at(image: Any, x: int, y: int) -> tuple[int, int, int]:
    c = image.pixelColor(x, y)
    return c.red(), c.green(), c.blue()


def near(a: tuple[int, int, int], b: tuple[int, int, int], tol: int = 24) -> bool:
    return all(abs(p - q) <= tol for p, q in zip(a, b, strict=True))


def black_share(image: Any, step: int = 16) -> float:
    """Share of sampled pixels that are (nearly) black."""
    total = dark = 0
    for y in range(0, image.height(), step):
        for x in range(0, image.width(), step):
            c = image.pixelColor(x, y)
            total += 1
            if c.red() < 16 and c.green() < 16 and c.blue() < 16:
                dark += 1
    return dark / max(1, total)


class _Handler(http.server.BaseHTTPRequestHandler):
    pages: ClassVar[dict[str, tuple[int, str]]] = {}

    def do_GET(self) -> None:
        status, body = self.pages.get(self.path, (404, "<h1>no</h1>"))
        data = body.encode()
        self.send_response(status)
        self.send_header("Content-Type", "text/html; charset=utf-8")
        self.send_header("Content-Length", str(len(data)))
        self.end_headers()
        self.wfile.write(data)

    def log_message(self, format: str, *args: Any) -> None:
        pass


@contextmanager
def web_server(pages: dict[str, tuple[int, str]]) -> Iterator[str]:
    """A real HTTP server on a loopback port chosen at run time; yields its base URL."""
    handler = type("Pages", (_Handler,), {"pages": pages})
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def closed_port_url() -> str:
    import socket

    s = socket.socket()
    s.bind(("127.0.0.1", 0))
    port = s.getsockname()[1]
    s.close()
    return f"http://127.0.0.1:{port}/"


@contextmanager
def running_player(
    app: Any,
    first: Content | None,
    *,
    size: tuple[int, int] = (480, 270),
    fade_ms: int = 120,
    snapshots: Path | None = None,
    clock: Any = None,
    screen: str = "pantalla-1",
    allowed_hosts: frozenset[str] = frozenset(),
    source: Any = None,
    ca_file: Path | None = None,
) -> Iterator[tuple[Any, Any, EventTrap]]:
    """A started Player fed by ``source`` (default: a GivenSource of ``first``)."""
    from signage.config import PlayerConfig
    from signage.player.player import Player

    events = EventLog(None)
    trap = EventTrap(events)
    source = source if source is not None else GivenSource(first)
    player = Player(
        config=PlayerConfig(screen=screen, allowed_hosts=allowed_hosts, ca_file=ca_file),
        source=source,
        events=events,
        size=size,
        fade_ms=fade_ms,
        snapshots=snapshots,
        clock=clock,
    )
    try:
        player.start()
        yield player, source, trap
    finally:
        player.dispose()
        pump(app, 0.05)
