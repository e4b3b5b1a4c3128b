"""The player's pure parts: what a plan change does, the safe-area layout, the manual
clock tests drive, stall percentiles and the play command's argument checks."""

from __future__ import annotations

from datetime import UTC, datetime

import pytest

from signage.errors import UsageError
from signage.player.layout import Rect, fitted_size, screen_layout
from signage.player.playback import Action, Decision, Entry, decide, following

A, B, C = ("lobby", "a"), ("lobby", "b"), ("lobby", "c")


def plan(*pairs):
    return [Entry(k, f) for k, f in pairs]


def test_empty_plan_goes_idle():
    assert decide(plan((A, 1)), A, [], show_changes=True) == Decision(Action.IDLE)


def test_first_content_starts_at_the_first_slide():
    assert decide([], None, plan((A, 1), (B, 1)), show_changes=True) == Decision(Action.JUMP, 0)


def test_an_edited_slide_is_shown_at_once():
    old = plan((A, 1), (B, 1), (C, 1))
    new = plan((A, 1), (B, 2), (C, 1))
    assert decide(old, A, new, show_changes=True) == Decision(Action.JUMP, 1)


def test_an_added_slide_is_shown_at_once_and_unchanged_content_keeps_playing():
    old = plan((A, 1), (B, 1))
    assert decide(old, B, plan((A, 1), (B, 1), (C, 1)), show_changes=True) == Decision(
        Action.JUMP, 2
    )
    assert decide(old, B, old, show_changes=True) == Decision(Action.KEEP, 1)


def test_schedule_changes_keep_the_current_slide_or_restart():
    old = plan((A, 1), (B, 1))
    new = plan((C, 1), (B, 1))
    assert decide(old, B, new, show_changes=False) == Decision(Action.KEEP, 1)
    assert decide(old, A, new, show_changes=False) == Decision(Action.JUMP, 0)


def test_following_loops():
    assert [following(i, 3) for i in (-1, 0, 1, 2)] == [0, 1, 2, 0]
    assert following(5, 0) == 0


@pytest.mark.parametrize("size", [(1920, 1080), (3840, 2160), (1280, 720), (1080, 1920)])
def test_overlays_stay_inside_the_safe_margin_and_apart(size):
    lay = screen_layout(*size, qr_side=round(size[1] * 0.32))
    full = Rect(0, 0, *size)
    assert full.contains(lay.safe)
    assert lay.safe.x >= round(size[0] * 0.03) and lay.safe.y >= round(size[1] * 0.03)
    for part in (lay.top_bar, lay.logo, lay.clock, lay.ticker, lay.qr, lay.text):
        assert lay.safe.contains(part), part
    assert not lay.qr.intersects(lay.ticker) and not lay.qr.intersects(lay.text)
    assert not lay.text.intersects(lay.ticker) and not lay.text.intersects(lay.top_bar)


def test_text_takes_the_room_of_overlays_that_are_off():
    on = screen_layout(1920, 1080)
    off = screen_layout(1920, 1080, qr=False, ticker=False, top_bar=False)
    assert off.text.w > on.text.w and off.text.h > on.text.h
    assert off.text == off.safe


def test_fitted_size_contains_or_covers():
    assert fitted_size(4000, 2000, 1920, 1080, cover=False) == (1920, 960)
    assert fitted_size(4000, 2000, 1920, 1080, cover=True) == (2160, 1080)
    assert fitted_size(0, 0, 10, 10, cover=False) == (10, 10)


def test_manual_clock_fires_due_calls_in_order_and_honours_cancel():
    pytest.importorskip("PySide6")
    from signage.player.clock import ManualClock

    clock = ManualClock(datetime(2026, 11, 28, 12, 0, tzinfo=UTC))
    fired: list[tuple[str, datetime]] = []
    clock.call_later(5, lambda: fired.append(("b", clock.now())))
    clock.call_later(1, lambda: fired.append(("a", clock.now())))
    gone = clock.call_later(3, lambda: fired.append(("x", clock.now())))
    gone.cancel()
    clock.advance(2)
    assert [n for n, _ in fired] == ["a"] and fired[0][1].second == 1
    assert clock.pending() == 1
    clock.advance(10)
    assert [n for n, _ in fired] == ["a", "b"]
    assert clock.now() == datetime(2026, 11, 28, 12, 0, 12, tzinfo=UTC)
    assert not gone.active


def test_percentile_is_nearest_rank():
    pytest.importorskip("PySide6")
    from signage.player.probe import percentile, rss_mb

    values = [float(i) for i in range(1, 101)]
    assert percentile(values, 0.99) == 99.0
    assert percentile(values, 1.0) == 100.0
    assert percentile([], 0.99) == 0.0
    assert rss_mb() > 1.0


def test_play_arguments_are_checked_with_clear_messages():
    from signage.commands.play import parse_size, parse_tags

    assert parse_size("1920x1080", "--size") == (1920, 1080)
    with pytest.raises(UsageError, match="--window 'big': expected WIDTHxHEIGHT"):
        parse_size("big", "--window")
    with pytest.raises(UsageError, match=r"16\.\.16384"):
        parse_size("1x1", "--size")
    assert parse_tags("lobby, piso-1,") == frozenset({"lobby", "piso-1"})
