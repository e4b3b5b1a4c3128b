"""The heartbeat report: JSON round trip, refusals, event tracking, thumbnails."""

from __future__ import annotations

import io
from datetime import UTC, datetime, timedelta

import pytest
from hypothesis import given
from hypothesis import strategies as st
from PIL import Image

from signage.events import EventLog
from signage.logs import ErrorTally
from signage.telemetry.heartbeat import EventTracker, Heartbeat, SyncState, thumbnail_png
from signage.telemetry.wire import HeartbeatReport, ReportError

NOW = datetime(2026, 11, 28, 14, 0, tzinfo=UTC)


@given(
    # control and formatting characters are refused in ids (test_printable.py)
    screen=st.text(st.characters(blacklist_characters="/\\",
                                 blacklist_categories=["Cs", "Cc", "Cf", "Zl", "Zp"]),
                   min_size=1, max_size=40).filter(lambda s: s.strip() and not s.startswith(".")),
    version=st.none() | st.integers(0, 10**9),
    errors=st.dictionaries(st.text(max_size=10), st.integers(0, 10**6), max_size=5),
    stale=st.booleans(),
)  # fmt: skip
def test_round_trip(screen: str, version: int | None, errors: dict[str, int], stale: bool) -> None:
    report = HeartbeatReport(
        screen=screen, sent=NOW, version=version, errors=errors, stale=stale,
        last_sync=NOW - timedelta(seconds=90), playlist="lobby", slide="x", rss_mb=12.5,
    )  # fmt: skip
    back = HeartbeatReport.from_json(report.to_json())
    assert back == report
    assert back.last_sync_age_s == 90.0


@pytest.mark.parametrize(
    ("data", "field"),
    [
        ([], "JSON object"),
        ({"screen": ""}, "'screen'"),
        ({"screen": ".hidden"}, "'screen'"),
        ({"screen": "a", "tags": "lobby"}, "'tags'"),
        ({"screen": "a", "errors": {"x": True}}, "'errors'"),
        ({"screen": "a", "sent": "yesterday"}, "'sent'"),
        ({"screen": "a", "rss_mb": float("nan")}, "'rss_mb'"),
        ({"screen": "a", "screenshot_png": "%%%"}, "base64"),
    ],
)
def test_refusals_name_the_field(data: object, field: str) -> None:
    with pytest.raises(ReportError, match=field):
        HeartbeatReport.from_json(data)


def test_playing_line() -> None:
    base = HeartbeatReport(screen="s", sent=NOW)
    assert base.playing == "idle"
    assert HeartbeatReport(screen="s", sent=NOW, playlist="p", slide="a").playing == "p/a"
    assert HeartbeatReport(screen="s", sent=NOW, playlist="p", alert="corte").playing == (
        "alert:corte"
    )


def test_tracker_counts_error_events_and_remembers_the_last_sync() -> None:
    times = iter([NOW, NOW + timedelta(seconds=5), NOW + timedelta(seconds=9)])
    log = EventLog(None, clock=lambda: next(times))
    tracker = EventTracker(log)
    log.emit("feed_applied", version=3)
    log.emit("slide_skipped", playlist="p", slide="v", reason="codec error")
    log.emit("slide_shown", screen="s", playlist="p", slide="a", kind="image")
    assert tracker.counts() == {"slide_skipped": 1}
    assert tracker.last_sync() == NOW
    assert tracker.last_error() == "slide_skipped: codec error"


def test_report_merges_player_status_log_tally_and_events() -> None:
    tracker = EventTracker()
    tracker.on_event({"event": "feed_rejected", "reason": "bad signature"})
    tally = ErrorTally()
    beat = Heartbeat(
        "http://127.0.0.1:9", "lobby-1", frozenset({"b", "a"}),
        status=lambda: {"version": 4, "playlist": "lobby", "slide": "x", "alert": True},
        sync=lambda: SyncState(last_success=NOW, stale=True),
        tracker=tracker, tally=tally, clock=lambda: NOW + timedelta(seconds=30),
    )  # fmt: skip
    report = beat.build_report()
    beat.stop()
    assert report.tags == ("a", "b")
    assert report.version == 4
    assert report.alert == "on-screen"
    assert report.stale is True
    assert report.last_sync_age_s == 30.0
    assert report.errors == {"feed_rejected": 1}
    assert report.last_error == "feed_rejected: bad signature"
    assert report.rss_mb > 10  # this very process, read from /proc


def test_thumbnail_is_320_wide_png() -> None:
    src = io.BytesIO()
    Image.new("RGB", (1920, 1080), (10, 200, 30)).save(src, format="JPEG")
    png = thumbnail_png(src.getvalue())
    with Image.open(io.BytesIO(png)) as img:
        assert img.format == "PNG"
        assert img.size == (320, 180)
