"""Video frames are converted and scaled off the GUI thread and reach the screen whole.

Each decoded frame of a video slide is made into a picture of the view's size on the
frame worker (``signage.player.videoframes``); the GUI thread only copies the finished
picture. These tests play real H.264 files made by ffmpeg in a real (offscreen) player
and check what reaches the screen: scaled to the screen with the video's aspect ratio
(bands of the theme's background, or covering and cropped), made on the worker thread,
and the last frame still there for the fade to the next slide.
"""

from __future__ import annotations

import threading
from typing import Any

import pytest

from signage.model import Fit, SlideKind
from tests.helpers_player import (
    colour_at,
    content,
    have_ffmpeg,
    make_video,
    near,
    running_player,
    slide,
    solid_png,
    wait_until,
)

pytestmark = [
    pytest.mark.qt,
    pytest.mark.skipif(not have_ffmpeg(), reason="needs Debian's ffmpeg"),
]

SIZE = (960, 540)  # 16:9; the test videos are 320x240 (4:3)
GREEN = (0, 128, 0)  # ffmpeg's "green"
NAVY = (0x0B, 0x25, 0x45)  # the test theme's background
RED = (220, 30, 30)


def test_picture_geometry_keeps_the_aspect_ratio():
    from signage.player.videoframes import picture_geometry

    assert picture_geometry(320, 240, 960, 540, cover=False) == ((720, 540), None)
    assert picture_geometry(320, 240, 960, 540, cover=True) == ((960, 720), (0, 90, 960, 540))
    assert picture_geometry(1920, 1080, 1920, 1080, cover=False) == ((1920, 1080), None)
    assert picture_geometry(1920, 1080, 1080, 1920, cover=True) == (
        (3413, 1920),
        (1166, 0, 1080, 1920),
    )
    # a tall video on a wide screen: bands left and right
    assert picture_geometry(720, 1280, 1920, 1080, cover=False) == ((608, 1080), None)


def _video_view(player: Any) -> Any:
    from signage.player.video import VideoView

    view = player.stage.current
    return view if isinstance(view, VideoView) else None


def _on_screen(qapp: Any, player: Any, trap: Any) -> Any:
    assert wait_until(qapp, lambda: "video" in trap.shown() and _video_view(player), 20), (
        trap.skipped()
    )
    view = _video_view(player)
    # a few frames of the playing video, not only the first one made while preparing
    assert wait_until(qapp, lambda: view.frames.counts.made >= 4, 10), view.frames.counts
    return view


def _made_off_the_gui_thread(view: Any) -> None:
    made = list(view.frames.made)
    assert made, "the worker made no picture"
    gui = threading.main_thread().ident
    assert all(thread != gui for _, thread in made), made
    # the picture on screen is one the worker made (not scaled again on the GUI thread)
    assert view._frame.cacheKey() in {key for key, _ in made}


def test_frames_reach_the_screen_scaled_with_bands_and_the_video_aspect(qapp, tmp_path):
    files = {"assets/clip.mp4": make_video(tmp_path / "clip.mp4", seconds=3.0, colour="green")}
    slides = [slide("video", SlideKind.VIDEO, "assets/clip.mp4", duration_s=None)]
    with running_player(qapp, content(slides, files), size=SIZE) as (player, _, trap):
        view = _on_screen(qapp, player, trap)
        assert (view._frame.width(), view._frame.height()) == (720, 540)  # 4:3, full height
        _made_off_the_gui_thread(view)
        shot = player.grab_image()
    assert near(colour_at(shot, 480, 270), GREEN, 30)
    assert near(colour_at(shot, 200, 270), GREEN, 30)  # inside the 720 px picture
    assert near(colour_at(shot, 60, 270), NAVY, 12)  # the bands: the theme's background
    assert near(colour_at(shot, 900, 270), NAVY, 12)


def test_a_covering_video_fills_the_screen_cropped_not_stretched(qapp, tmp_path):
    files = {"assets/clip.mp4": make_video(tmp_path / "clip.mp4", seconds=3.0, colour="green")}
    slides = [slide("video", SlideKind.VIDEO, "assets/clip.mp4", duration_s=None, fit=Fit.COVER)]
    with running_player(qapp, content(slides, files), size=SIZE) as (player, _, trap):
        view = _on_screen(qapp, player, trap)
        # scaled to 960x720 (aspect kept) and cropped to the screen on the worker
        assert (view._frame.width(), view._frame.height()) == SIZE
        _made_off_the_gui_thread(view)
        shot = player.grab_image()
    for x, y in ((5, 5), (954, 5), (5, 534), (954, 534), (480, 270)):
        assert near(colour_at(shot, x, y), GREEN, 30), (x, y)


def test_a_resized_window_gets_the_frame_made_again_at_its_size(qapp, tmp_path):
    files = {"assets/clip.mp4": make_video(tmp_path / "clip.mp4", seconds=3.0, colour="green")}
    slides = [slide("video", SlideKind.VIDEO, "assets/clip.mp4", duration_s=None)]
    with running_player(qapp, content(slides, files), size=SIZE) as (player, _, trap):
        view = _on_screen(qapp, player, trap)
        player.window.resize(640, 640)
        assert wait_until(qapp, lambda: (view._frame.width(), view._frame.height()) == (640, 480))
        _made_off_the_gui_thread(view)


def test_the_last_frame_stays_for_the_fade_to_the_next_slide(qapp, tmp_path):
    files = {
        "assets/clip.mp4": make_video(tmp_path / "clip.mp4", seconds=0.8, colour="green"),
        "assets/red.png": solid_png(tmp_path / "red.png", RED, SIZE),
    }
    slides = [
        slide("video", SlideKind.VIDEO, "assets/clip.mp4", duration_s=None),
        slide("rojo", SlideKind.IMAGE, "assets/red.png", duration_s=5.0),
    ]
    outgoing: list[Any] = []
    with running_player(qapp, content(slides, files), size=SIZE, fade_ms=1500) as (
        player,
        _,
        trap,
    ):
        _on_screen(qapp, player, trap)
        cover = player.stage._cover

        def fading_to_the_picture() -> bool:
            if player.stage.transitioning and _video_view(player) is None:
                if not cover._pixmap.isNull():
                    outgoing.append(cover._pixmap.toImage())
                return True
            return False

        assert wait_until(qapp, fading_to_the_picture, 15), trap.shown()
        assert wait_until(qapp, lambda: "rojo" in trap.shown(), 10)
        end = player.grab_image()
    assert outgoing, "no fade: the video was cut"
    # the fade starts from the video's last frame, not from an empty view (the background)
    assert near(colour_at(outgoing[0], 480, 270), GREEN, 30)
    assert near(colour_at(outgoing[0], 60, 270), NAVY, 12)
    assert near(colour_at(end, 480, 270), RED, 30)


def test_a_busy_gui_thread_gets_the_newest_frame_not_a_backlog(qapp, tmp_path):
    """While the GUI thread is blocked, frames keep coming: they replace each other on
    the way, and at most one finished picture waits for the GUI thread."""
    import time

    files = {"assets/clip.mp4": make_video(tmp_path / "clip.mp4", seconds=4.0)}
    slides = [slide("video", SlideKind.VIDEO, "assets/clip.mp4", duration_s=None)]
    with running_player(qapp, content(slides, files), size=SIZE) as (player, _, trap):
        view = _on_screen(qapp, player, trap)
        before = view.frames.counts
        time.sleep(0.6)  # the GUI thread does nothing: ~15 frames are decoded meanwhile
        assert wait_until(qapp, lambda: view.frames.counts.offered >= before.offered + 10, 5)
        after = view.frames.counts
        assert after.made - before.made <= 3, (before, after)  # not one picture a frame
        assert after.dropped > before.dropped
        # the view keeps playing afterwards: new pictures keep arriving
        assert wait_until(qapp, lambda: view.frames.counts.made >= after.made + 3, 5)


def _alive(player: Any) -> tuple[int, int]:
    """(video views alive, receivers of the frame worker's signal), deferred deletes run."""
    import gc

    import shiboken6
    from PySide6.QtCore import SIGNAL, QCoreApplication, QEvent

    from signage.player.video import VideoView
    from signage.player.videoframes import FrameScaler

    for _ in range(3):
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    gc.collect()
    views = sum(1 for o in gc.get_objects() if isinstance(o, VideoView) and shiboken6.isValid(o))
    return views, FrameScaler.shared().receivers(SIGNAL("made(int,QImage)"))


def test_video_turns_leave_no_view_or_connection_behind(qapp, tmp_path):
    files = {
        "assets/clip.mp4": make_video(tmp_path / "clip.mp4", seconds=0.5, colour="green"),
        "assets/red.png": solid_png(tmp_path / "red.png", RED, SIZE),
    }
    slides = [
        slide("video", SlideKind.VIDEO, "assets/clip.mp4", duration_s=None),
        slide("rojo", SlideKind.IMAGE, "assets/red.png", duration_s=0.4),
    ]
    with running_player(qapp, content(slides, files), size=SIZE, fade_ms=60) as (
        player,
        _,
        trap,
    ):

        def settled_on_picture(turns: int) -> bool:
            # the picture on screen, the next video prepared beneath it (same point each time)
            ahead = player._next
            return (
                trap.shown().count("rojo") >= turns
                and _video_view(player) is None
                and ahead is not None
                and ahead.view.state == "ready"
            )

        assert wait_until(qapp, lambda: settled_on_picture(2), 30), trap.records[-3:]
        before = _alive(player)
        assert wait_until(qapp, lambda: settled_on_picture(5), 30), trap.records[-3:]
        after = _alive(player)
    assert trap.shown().count("video") >= 5
    # the next video, prepared beneath the picture: one view, never one more per turn
    assert after == before == (1, 1), (before, after)
