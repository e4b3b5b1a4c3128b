"""The first frame of a start: the first picture kept decoded for the next start, the window
shown with the first slide as its first paint, and nothing loaded before it that the first
slide does not need (checked in a real ``signage play`` process)."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from pathlib import Path

from signage.model import SlideKind
from tests.helpers_player import (
    EventTrap,
    GivenSource,
    colour_at,
    content,
    near,
    pump,
    slide,
    solid_png,
    wait_until,
)

REPO = Path(__file__).resolve().parents[1]
BLUE, RED = (20, 40, 200), (210, 30, 30)


def decode_first(qapp, keep_dir: Path, path: Path, size=(320, 180), cover=False):
    """What a fresh decoder with ``keep_dir`` answers for its first request."""
    from signage.player.decode import ImageDecoder
    from signage.player.firstframe import FrameKeep

    decoder = ImageDecoder(None, keep=FrameKeep(keep_dir))
    got: list[tuple[object, str]] = []
    decoder.decoded.connect(lambda token, image, error: got.append((image, error)))
    decoder.request(path, *size, cover=cover)
    assert wait_until(qapp, lambda: bool(got), 10)
    decoder.shutdown()
    image, error = got[0]
    assert not error
    return image


def test_the_first_picture_is_kept_and_read_back_instead_of_decoded(qapp, tmp_path):
    from signage.player.decode import decode_scaled
    from signage.player.firstframe import FRAME_FILE, FrameKeep

    picture = solid_png(tmp_path / "a.png", BLUE)
    keep_dir = tmp_path / "frame"
    first = decode_first(qapp, keep_dir, picture)
    assert (keep_dir / FRAME_FILE).is_file()
    again = decode_first(qapp, keep_dir, picture)
    assert again == first == decode_scaled(picture, 320, 180, cover=False)

    # The kept pixels are what a restart shows: keep red ones for the blue file and the
    # decoder answers red (it read the keep and did not decode).
    red = decode_scaled(solid_png(tmp_path / "red.png", RED), 320, 180, cover=False)
    FrameKeep(keep_dir).save(picture, red, 320, 180, cover=False)
    assert near(colour_at(decode_first(qapp, keep_dir, picture), 10, 10), RED)
    # Another size, another fit or a touched file: decoded again (blue), and kept anew.
    assert near(colour_at(decode_first(qapp, keep_dir, picture, size=(160, 90)), 5, 5), BLUE)
    FrameKeep(keep_dir).save(picture, red, 320, 180, cover=False)
    assert near(colour_at(decode_first(qapp, keep_dir, picture, cover=True), 5, 5), BLUE)
    FrameKeep(keep_dir).save(picture, red, 320, 180, cover=False)
    os.utime(picture, ns=(time.time_ns(), time.time_ns() + 10**9))
    assert near(colour_at(decode_first(qapp, keep_dir, picture), 10, 10), BLUE)


def test_a_damaged_kept_frame_is_never_shown(qapp, tmp_path):
    from signage.player.decode import decode_scaled
    from signage.player.firstframe import FRAME_FILE, FrameKeep

    picture = solid_png(tmp_path / "a.png", BLUE)
    red = decode_scaled(solid_png(tmp_path / "red.png", RED), 320, 180, cover=False)
    keep = FrameKeep(tmp_path / "frame")
    keep.save(picture, red, 320, 180, cover=False)
    whole = (tmp_path / "frame" / FRAME_FILE).read_bytes()
    head_end = whole.index(b"\n", 20) + 1
    header = json.loads(whole[whole.index(b"\n") + 1 : head_end])
    damaged = {
        "truncated": whole[:-1],
        "one byte more": whole + b"\0",
        "no header": whole[head_end:],
        "bad json": whole[: head_end - 3] + b"!!\n" + whole[head_end:],
        "bigger than the screen": whole.replace(
            json.dumps(header["image"]).encode(), b"[640, 360]", 1
        ),
        "empty": b"",
    }
    for what, data in damaged.items():
        (tmp_path / "frame" / FRAME_FILE).write_bytes(data)
        assert keep.load(picture, 320, 180, cover=False) is None, what
        assert near(colour_at(decode_first(qapp, tmp_path / "frame", picture), 10, 10), BLUE), what


def test_the_first_paint_is_the_first_slide_and_its_picture_is_kept(qapp, tmp_path):
    from PySide6.QtCore import QEvent, QObject
    from PySide6.QtWidgets import QWidget

    from signage.config import PlayerConfig
    from signage.events import EventLog
    from signage.player.firstframe import FRAME_FILE
    from signage.player.player import Player
    from signage.player.views import ImageView

    files = {"a.png": solid_png(tmp_path / "a.png", BLUE, size=(640, 360))}
    given = content([slide("a", SlideKind.IMAGE, "a.png", duration_s=30)], files)
    keep_dir = tmp_path / "frame"

    class FirstPaint(QObject):
        def __init__(self, player: Player, trap: EventTrap) -> None:
            super().__init__()
            self.player = player
            self.trap = trap
            self.seen: list[tuple[str, str]] = []
            self.picture_paints = 0  # the slide's paints before it counted as shown

        def eventFilter(self, watched: QObject, event: QEvent) -> bool:
            window = self.player.window
            mine = watched is window or (
                isinstance(watched, QWidget) and window.isAncestorOf(watched)
            )
            if event.type() == QEvent.Type.Paint and mine and not self.seen:
                view = self.player.stage.current
                kind = type(view).__name__ if view is not None else "nothing"
                self.seen.append((kind, view.state if view is not None else ""))
            if (
                event.type() == QEvent.Type.Paint
                and isinstance(watched, ImageView)
                and not self.trap.shown()
            ):
                self.picture_paints += 1
            return False

    def one_start() -> tuple[list[str], list[tuple[str, str]], list[tuple[int, int, int]], int]:
        events = EventLog(None)
        trap = EventTrap(events)
        player = Player(
            config=PlayerConfig(screen="s1"),
            source=GivenSource(given),
            events=events,
            size=(480, 270),
            frame_keep=keep_dir,
        )
        watch = FirstPaint(player, trap)
        qapp.installEventFilter(watch)  # every widget's paint
        try:
            player.start()
            assert not player.window.isVisible()  # not before the first slide is ready
            assert wait_until(qapp, lambda: bool(trap.shown()), 20)
            image = player.grab_image()
            # the middle, and a corner: the picture fills the window
            colours = [colour_at(image, 240, 135), colour_at(image, 3, 3)]
            return trap.shown(), watch.seen, colours, watch.picture_paints
        finally:
            qapp.removeEventFilter(watch)
            player.dispose()
            pump(qapp, 0.05)

    for run in (1, 2):  # the second start reads the kept picture
        shown, first_paint, colours, paints = one_start()
        assert shown == ["a"], run
        assert first_paint == [(ImageView.__name__, "started")], run
        # One paint pass makes the first frame: the window's show() no longer leaves the
        # updates it posts to repaint it all once more after the expose (issue 17.2).
        assert paints == 1, run
        assert all(near(c, BLUE) for c in colours), (run, colours)
        kept = (keep_dir / FRAME_FILE).read_bytes()
        header = json.loads(kept.split(b"\n", 2)[1])
        assert header["image"] == [480, 270], run  # decoded at the window's size, not shown


def test_a_player_without_content_shows_the_waiting_screen_at_once(qapp):
    from signage.player.views import IdleView
    from tests.helpers_player import running_player

    with running_player(qapp, None) as (player, _, _trap):
        assert player.window.isVisible()
        assert isinstance(player.stage.current, IdleView)


DRIVER = r"""
import dataclasses, json, sys
import signage.events

emit = signage.events.EventLog.emit
def first_frame(self, name, **fields):
    if name == "slide_shown" and not getattr(first_frame, "done", False):
        first_frame.done = True
        with open(sys.argv[1], "w", encoding="utf-8") as fh:
            qt = [  # the Qt types PySide6 has built so far (it builds each on first import)
                f"{m.rsplit('.', 1)[1]}.{name}"
                for m in ("PySide6.QtCore", "PySide6.QtGui", "PySide6.QtWidgets")
                for name in vars(sys.modules[m])
            ]
            made = sorted({  # the dataclasses our modules have made so far
                f"{v.__module__}.{v.__qualname__}"
                for m in list(sys.modules) if m.startswith("signage")
                for v in list(vars(sys.modules[m]).values())
                if isinstance(v, type) and dataclasses.is_dataclass(v)
            })
            json.dump(
                {"slide": fields["slide"], "modules": sorted(sys.modules),
                 "order": list(sys.modules), "qt": qt, "dataclasses": made},
                fh,
            )
    return emit(self, name, **fields)
signage.events.EventLog.emit = first_frame

import signage.cli
raise SystemExit(signage.cli.main(sys.argv[2:]))
"""

# What a pictures-only screen does not need before its first slide is on screen.
NOT_BEFORE_FIRST_FRAME = (
    "PySide6.QtWebEngineCore",
    "PySide6.QtWebEngineWidgets",
    "PySide6.QtMultimedia",
    "PySide6.QtNetwork",
    "yaml",
    "watchdog",
    "PIL",
    "qrcode",
    "requests",
    "cryptography",
    "ssl",
    "email.utils",
    "signage.validation",
    "signage.playlist",
    "signage.telemetry.heartbeat",
    "signage.player.web",
    "signage.player.video",
    "concurrent.futures",  # the snapshot writer's pool
    "signage.player.alert_layer",  # made on the first alert (issue 17.2)
    "signage.alerts.select",
    "socket",  # sd_notify's, only under systemd; the host name comes from os.uname()
    "signage.leftovers",  # a cache collection's (issue 17.2, fifth session)
    "signage.printable",  # with the first line logged or a refusal's message
    "unicodedata",
    "signage.kiosk.disk",  # the low-disk guard: only with a hub's heartbeats
)


# Qt types a picture's first frame does not use; each costs its creation (issue 17.2).
NOT_BUILT_BEFORE_FIRST_FRAME = (
    "QtWidgets.QGraphicsView",  # a turned panel's (signage.player.rotation)
    "QtWidgets.QGraphicsScene",
    "QtCore.QUrl",  # video and web slides
    "QtGui.QLinearGradient",  # text slides over a picture
    "QtGui.QPen",
    "QtCore.QBuffer",  # PNG encoding: heartbeats' screenshots, a new QR kept
    "QtCore.QIODevice",
    "QtCore.QVariantAnimation",  # the first fade's (a start's first slide is a cut)
    "QtCore.QEasingCurve",
)


# Types a start once made as dataclasses before its first frame (issue 17.2, fifth session):
# each costs ~0.5 ms to create on Python 3.11, which compiles its generated methods. The
# alerts', data slides' and news feeds' values (``signage.model_extra``) load on first use;
# the tiny internal ones are plain classes (``signage.values``).
NOT_A_DATACLASS_BEFORE_FIRST_FRAME = (
    "Alert",
    "AlertText",
    "DataContent",
    "TickerFeed",
    "Settings",  # a root's settings.yaml: read when the root is validated
    "Contacts",
    "Origin",
    "Problem",  # signage.problem, through signage.errors: a valid root has none
    "Entry",  # signage.player.playback
    "Decision",
    "Rect",  # signage.player.layout
    "ScreenLayout",
    "QROverlay",  # signage.player.overlays
    "QRKey",
    "ScheduledSlide",  # signage.schedule
    "Plan",
    "Anchor",  # signage.timebase
    "Receipt",
    "Timebase",
    "AssetEntry",  # signage.feed.manifest
    "SlideResources",  # signage.player.views
    "NotifySettings",  # signage.kiosk.notify
    "StoreState",  # signage.feed.store
    "_Turn",  # signage.player.player
    "_Frame",
    "StallFigures",  # signage.player.probe
    "FittedText",  # signage.player.textfit
    "LastError",  # signage.logs
    "LogSetup",
)


def test_a_pictures_only_restart_loads_no_engine_before_its_first_frame(tmp_path):
    root = tmp_path / "root"
    solid_png(root / "assets" / "uno.png", BLUE, size=(1920, 1080))
    solid_png(root / "assets" / "dos.png", RED, size=(1920, 1080))
    (root / "playlists").mkdir(parents=True)
    (root / "playlists" / "lobby.yaml").write_text(
        "name: Lobby\ndefaults:\n  duration: 1h\n  qr:\n"
        "    url: https://encuestas.example.gov.co/satisfaccion\n    caption: Opina\n"
        "slides:\n  - id: uno\n    image: assets/uno.png\n"
        "  - id: dos\n    image: assets/dos.png\n",
        encoding="utf-8",
    )
    env = {**os.environ, "PYTHONPATH": str(REPO), "QT_QPA_PLATFORM": "offscreen"}
    env["XDG_CACHE_HOME"] = str(tmp_path / "cache")
    env.pop("DISPLAY", None)
    seen = []
    for run in ("cold", "restart"):
        report = tmp_path / f"first-{run}.json"
        done = subprocess.run(
            [
                *(sys.executable, "-c", DRIVER, str(report)),
                *("play", "--headless", "--root", str(root), "--for", "1.5"),
            ],
            env=env,
            capture_output=True,
            text=True,
            timeout=120,
            check=False,
        )
        assert done.returncode == 0, done.stderr[-2000:]
        seen.append(json.loads(report.read_text(encoding="utf-8")))
    kept = list((tmp_path / "cache" / "signage" / "frame").glob("*/first-frame.raw"))
    assert len(kept) == 1  # the cold start kept its first picture for the restart
    for run in seen:
        assert run["slide"] == "uno"  # the first slide is the first frame
    loaded = set(seen[1]["modules"])
    assert "signage.player.player" in loaded  # the report is from inside the player
    assert not [m for m in NOT_BEFORE_FIRST_FRAME if m in loaded]
    built = set(seen[1]["qt"])
    assert "QtGui.QImage" in built  # the report sees the types that were built
    assert not [t for t in NOT_BUILT_BEFORE_FIRST_FRAME if t in built]
    # What the first frame needs without Qt comes in before PySide6, whose import hook reads
    # the source of every module imported after it.
    made = {name.rsplit(".", 1)[1] for name in seen[1]["dataclasses"]}
    assert {"Content", "Slide", "PlayerConfig"} <= made  # the report sees the dataclasses made
    assert not [c for c in NOT_A_DATACLASS_BEFORE_FIRST_FRAME if c in made]
    assert "signage.model_extra" not in loaded
    order = seen[1]["order"]
    for name in ("signage.feed.store", "signage.schedule", "zoneinfo"):
        assert order.index(name) < order.index("PySide6.QtCore"), name
