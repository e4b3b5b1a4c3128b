"""Engine warm-up: QtMultimedia and QtWebEngine are up before a slide needs them.

The first video or web slide of a run must not start its engine on the GUI thread while
something moves on screen (bench/stall.py, mixed case): the engines a content version needs are
started before the first slide only when that slide is a video or a web page, and
otherwise after the first frame, at moments when nothing moves on screen. Pictures-only
content starts neither. Real player, real Qt, real ffmpeg video, a real (failing) web page.
"""

from __future__ import annotations

from typing import Any

from signage.model import SlideKind
from signage.player.warmup import BEFORE_FIRST_SLIDE, ENGINE_STEPS, engines_needed, steps_for
from tests.helpers_player import (
    closed_port_url,
    content,
    make_video,
    running_player,
    slide,
    solid_png,
    wait_until,
)

RED = (220, 30, 30)
BLUE = (30, 30, 220)


def test_engines_needed_and_their_steps_are_decided_from_the_slides():
    pics = [slide("a", SlideKind.IMAGE, "a.png"), slide("t", SlideKind.TEXT)]
    assert engines_needed(pics) == frozenset()
    mixed = [*pics, slide("v", SlideKind.VIDEO, "v.mp4"), slide("w", SlideKind.WEB, "https://x/")]
    assert engines_needed(mixed) == {"video", "web"}
    all_steps = [*ENGINE_STEPS["video"], *ENGINE_STEPS["web"]]
    assert steps_for(frozenset({"web", "video"}), frozenset()) == all_steps
    assert steps_for(frozenset({"video"}), frozenset({"video-module"})) == ["media-player"]
    assert steps_for(frozenset({"video"}), frozenset(ENGINE_STEPS["video"])) == []


def _watch(player: Any, trap: Any) -> list[tuple[str, int, bool]]:
    """(step, slides shown when it ran, screen still at that moment) for every step."""
    steps: list[tuple[str, int, bool]] = []
    player.warmer.step_done.connect(
        lambda step: steps.append((step, len(trap.shown()), player._still()))
    )
    return steps


def test_a_still_first_slide_goes_on_screen_first_then_the_engines_warm_while_it_shows(
    qapp, tmp_path
):
    files = {
        "assets/red.png": solid_png(tmp_path / "red.png", RED),
        "assets/clip.mp4": make_video(tmp_path / "clip.mp4", seconds=0.6),
    }
    slides = [
        slide("rojo", SlideKind.IMAGE, "assets/red.png", duration_s=1.5),
        slide("video", SlideKind.VIDEO, "assets/clip.mp4", duration_s=None),
        slide("web", SlideKind.WEB, closed_port_url()),
    ]
    with running_player(qapp, content(slides, files)) as (player, _, trap):
        steps = _watch(player, trap)  # the first content is taken in a later event-loop turn
        assert wait_until(qapp, lambda: "video" in trap.shown() and "web" in trap.skipped(), 30)
        kept = list(player.warmer._kept)
    every = [*ENGINE_STEPS["video"], *ENGINE_STEPS["web"]]
    assert [s for s, _, _ in steps] == ["web-profile", *ENGINE_STEPS["video"], "web-page"]
    # the web profile (one call too long to hide in a still frame) before the first slide;
    # every other step after it (a picture: it needs no engine), while the screen was still
    assert [s for s, shown, _ in steps if shown == 0] == sorted(BEFORE_FIRST_SLIDE)
    assert all(shown >= 1 and still for s, shown, still in steps if s not in BEFORE_FIRST_SLIDE)
    assert set(player.warmer.timings_ms) == set(every)
    assert len(kept) == 2  # the warm media player and the blank page, kept for the show


def test_a_video_first_slide_warms_the_engines_before_it_goes_on_screen(qapp, tmp_path):
    files = {
        "assets/red.png": solid_png(tmp_path / "red.png", RED),
        "assets/clip.mp4": make_video(tmp_path / "clip.mp4", seconds=0.6),
    }
    slides = [
        slide("video", SlideKind.VIDEO, "assets/clip.mp4", duration_s=None),
        slide("rojo", SlideKind.IMAGE, "assets/red.png", duration_s=1.0),
        slide("web", SlideKind.WEB, closed_port_url()),
    ]
    with running_player(qapp, content(slides, files)) as (player, _, trap):
        steps = _watch(player, trap)
        assert wait_until(qapp, lambda: "rojo" in trap.shown(), 30)
    assert trap.shown()[0] == "video"
    every = [*ENGINE_STEPS["video"], *ENGINE_STEPS["web"]]
    assert [s for s, _, _ in steps] == every
    assert all(shown == 0 for _, shown, _ in steps)  # all of them before the first slide


def test_pictures_only_content_starts_no_engine(qapp, tmp_path):
    files = {"assets/red.png": solid_png(tmp_path / "red.png", RED)}
    slides = [slide("rojo", SlideKind.IMAGE, "assets/red.png"), slide("t", SlideKind.TEXT)]
    with running_player(qapp, content(slides, files)) as (player, _, trap):
        assert wait_until(qapp, lambda: len(trap.shown()) >= 2, 10)
        assert player.warmer.done == frozenset()


def test_a_later_version_with_a_video_warms_it_while_the_screen_is_still(qapp, tmp_path):
    files = {
        "assets/red.png": solid_png(tmp_path / "red.png", RED),
        "assets/blue.png": solid_png(tmp_path / "blue.png", BLUE),
        "assets/clip.mp4": make_video(tmp_path / "clip.mp4", seconds=0.6),
    }
    pics = [
        slide("rojo", SlideKind.IMAGE, "assets/red.png", duration_s=0.8),
        slide("azul", SlideKind.IMAGE, "assets/blue.png", duration_s=0.8),
    ]
    with running_player(qapp, content(pics, files), fade_ms=300) as (player, source, trap):
        steps = _watch(player, trap)
        assert wait_until(qapp, lambda: len(trap.shown()) >= 1, 10)
        assert player.warmer.done == frozenset()
        later = [*pics, slide("video", SlideKind.VIDEO, "assets/clip.mp4", duration_s=None)]
        source.push(content(later, files, version=2))
        assert wait_until(qapp, lambda: "video" in trap.shown(), 20)
    assert [s for s, _, _ in steps] == list(ENGINE_STEPS["video"])
    # each step ran with a slide on screen and nothing moving (no fade under way)
    assert all(shown >= 1 and still for _, shown, still in steps)
