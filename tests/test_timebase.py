"""The organisation's time on a screen whose clock is wrong: pure rules, injected clocks.

A ``ManualClock`` stands for the true time; the screen's wall clock is it plus a shift and
its monotonic clock is the seconds since the start. Alerts are judged by the alert layer
for real (offscreen Qt), with the keeper's judgement.
"""

from __future__ import annotations

from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from signage.alerts.select import seconds_to_expiry, visible
from signage.events import EventLog
from signage.model import Screen, Theme
from signage.player.clock import ManualClock
from signage.timebase import (
    Anchor,
    Receipt,
    Timebase,
    TimeKeeper,
    alert_now,
    hub_now,
    offset_s,
    org_now,
    parse_http_date,
    receipts_for,
    schedule_now,
    with_floor,
    with_hub_sample,
)
from tests.helpers_alerts import NOW, make_alert

HOUR = timedelta(hours=1)
SCREEN = Screen("pantalla-1", frozenset({"lobby"}))


def test_http_date_parses_and_refuses_junk() -> None:
    assert parse_http_date("Sat, 28 Nov 2026 19:41:00 GMT") == NOW
    for junk in (None, "", "yesterday", "Sat, 99 Nov 2026 19:41:00 GMT", "x" * 100):
        assert parse_http_date(junk) is None


def test_hub_sample_is_taken_at_the_middle_of_the_exchange() -> None:
    base = with_hub_sample(Timebase(), NOW, sent_mono=10.0, recv_mono=10.4)
    assert base.hub == Anchor(NOW, 10.2)
    assert base.error_s == pytest.approx(0.2)
    assert hub_now(base, 70.2) == NOW + timedelta(minutes=1)
    # a Date header is cut to whole seconds: half a second is added back
    dated = with_hub_sample(Timebase(), NOW, 10.0, 10.0, resolution_s=1.0)
    assert hub_now(dated, 10.0) == NOW + timedelta(seconds=0.5)


def test_a_less_precise_sample_does_not_replace_a_recent_precise_one() -> None:
    precise = with_hub_sample(Timebase(), NOW, 0.0, 0.002)
    coarse = with_hub_sample(precise, NOW + timedelta(seconds=5.4), 5.0, 5.0, resolution_s=1.0)
    assert coarse == precise
    # ...unless it disagrees by more than the errors allow: the hub's clock was set
    stepped = with_hub_sample(precise, NOW + HOUR, 5.0, 5.0, resolution_s=1.0)
    assert hub_now(stepped, 5.0) == NOW + HOUR + timedelta(seconds=0.5)
    # ...or the kept one has aged: its error grows with the monotonic time since
    aged = with_hub_sample(precise, NOW + timedelta(days=1), 86400.0, 86400.0, resolution_s=1.0)
    assert aged.hub == Anchor(NOW + timedelta(days=1, seconds=0.5), 86400.0)
    # a reply that came back before it was asked is nonsense and ignored
    assert with_hub_sample(precise, NOW + HOUR, 9.0, 8.0) == precise


@pytest.mark.parametrize("shift", [2 * HOUR, -2 * HOUR, timedelta(days=3), -timedelta(days=3)])
def test_offset_org_time_and_schedules_follow_the_hub(shift: timedelta) -> None:
    base = with_hub_sample(Timebase(), NOW, 100.0, 100.0)
    local = NOW + shift + timedelta(seconds=30)  # 30 s after the sample, on a shifted clock
    off = offset_s(base, local, 130.0)
    assert off == pytest.approx(-shift.total_seconds())
    assert org_now(base, local, 130.0) == NOW + timedelta(seconds=30)
    assert schedule_now(base, local, 130.0) == NOW + timedelta(seconds=30)


def test_schedules_keep_the_local_clock_within_the_threshold() -> None:
    base = with_hub_sample(Timebase(), NOW, 0.0, 0.0)
    local = NOW + timedelta(seconds=45)
    assert offset_s(base, local, 0.0) == pytest.approx(-45)
    assert schedule_now(base, local, 0.0) == local  # 45 s: under SCHEDULE_OFFSET_S
    assert schedule_now(base, local, 0.0, threshold_s=30) == NOW


def test_the_signed_floor_lifts_a_slow_clock_and_caps_a_hub_behind_it() -> None:
    floor = with_floor(Timebase(), NOW, 50.0)
    slow = NOW - timedelta(days=2)
    assert offset_s(floor, slow, 60.0) == pytest.approx(2 * 86400 + 10)
    assert org_now(floor, slow, 60.0) == NOW + timedelta(seconds=10)
    fast = NOW + HOUR
    assert offset_s(floor, fast, 60.0) is None  # nothing proves a fast clock wrong
    assert org_now(floor, fast, 60.0) == fast
    # an older published never lowers the floor
    assert with_floor(floor, NOW - HOUR, 60.0) == floor
    # an unsigned hub time behind the signed floor is lifted to it
    behind = with_hub_sample(floor, NOW - HOUR, 50.0, 50.0)
    assert hub_now(behind, 60.0) == NOW + timedelta(seconds=10)


def test_an_alert_without_hub_time_counts_its_lifetime_from_receipt() -> None:
    alert = make_alert(sent=NOW, lifetime=HOUR)
    receipt = Receipt(mono=1000.0, floor=None)
    assert alert_now(Timebase(), alert, receipt, 1000.0) == NOW
    assert alert.active_at(alert_now(Timebase(), alert, receipt, 1000.0 + 3599))
    assert not alert.active_at(alert_now(Timebase(), alert, receipt, 1000.0 + 3600))
    # a later signed floor at receipt counts (the alert arrived in a newer manifest)
    later = Receipt(mono=1000.0, floor=NOW + timedelta(minutes=20))
    assert not alert.active_at(alert_now(Timebase(), alert, later, 1000.0 + 2400))
    # with hub time the receipt no longer matters
    told = with_hub_sample(Timebase(), NOW + timedelta(minutes=59), 1000.0, 1000.0)
    assert alert.active_at(alert_now(told, alert, receipt, 1000.0))
    assert not alert.active_at(alert_now(told, alert, receipt, 1060.0))


def test_receipts_keep_the_first_sight_and_forget_cleared_alerts() -> None:
    a, b = make_alert("a"), make_alert("b")
    first = receipts_for({}, [a], Timebase(), 5.0)
    second = receipts_for(first, [a, b], with_floor(Timebase(), NOW, 9.0), 9.0)
    assert second[("a", NOW.isoformat())] == Receipt(5.0, None)
    assert second[("b", NOW.isoformat())] == Receipt(9.0, NOW)
    assert receipts_for(second, [b], Timebase(), 12.0).keys() == {("b", NOW.isoformat())}
    updated = make_alert("b", sent=NOW + HOUR)  # an update is a new receipt
    assert receipts_for(second, [updated], Timebase(), 20.0)[
        ("b", (NOW + HOUR).isoformat())
    ] == Receipt(20.0, None)


class Screenclock:
    """True time from a ManualClock; the screen's wall clock shifted; monotonic from start."""

    def __init__(self, manual: ManualClock, shift: timedelta) -> None:
        self.manual = manual
        self.start = manual.now()
        self.shift = shift

    def wall(self) -> datetime:
        return self.manual.now() + self.shift

    def mono(self) -> float:
        return 500.0 + (self.manual.now() - self.start).total_seconds()


def keeper_for(manual: ManualClock, shift: timedelta) -> tuple[TimeKeeper, Screenclock]:
    clocks = Screenclock(manual, shift)
    return TimeKeeper(wall=clocks.wall, mono=clocks.mono), clocks


def test_keeper_notifies_when_the_offset_moves_and_reports_it() -> None:
    manual = ManualClock(NOW)
    keeper, clocks = keeper_for(manual, 2 * HOUR)
    heard: list[float | None] = []
    keeper.subscribe(lambda: heard.append(keeper.offset_s()))
    assert keeper.offset_s() is None
    assert keeper.schedule_now() == NOW + 2 * HOUR  # nothing known: the local clock
    mono = clocks.mono()
    keeper.observe_http_date("Sat, 28 Nov 2026 19:41:00 GMT", mono, mono)
    assert keeper.offset_s() == pytest.approx(-7200 + 0.5)
    assert heard == [pytest.approx(-7199.5)]
    keeper.observe_hub(NOW + timedelta(seconds=0.6), mono, mono)  # within a second: quiet
    assert len(heard) == 1
    assert keeper.schedule_now() == NOW + timedelta(seconds=0.6)
    keeper.observe_http_date("not a date", mono, mono)
    assert len(heard) == 1


@pytest.fixture
def layer_for(qapp: Any) -> Iterator[Callable[[timedelta], Any]]:
    from PySide6.QtWidgets import QWidget

    from signage.player.alert_layer import AlertLayer

    made: list[QWidget] = []

    def make(shift: timedelta) -> Any:
        manual = ManualClock(NOW)
        keeper, clocks = keeper_for(manual, shift)
        window = QWidget()
        window.resize(640, 360)
        window.show()
        made.append(window)
        events: list[dict[str, Any]] = []
        log = EventLog(None, clock=clocks.wall)
        log.subscribe(events.append)
        # the player's clock is the screen's: its now() is shifted, its delays are true
        screen_clock = ManualClock(NOW + shift)
        layer = AlertLayer(
            window, Theme(), SCREEN, False, log, None, clock=screen_clock, judge=keeper.alert_now
        )
        layer.setGeometry(window.rect())

        def advance(seconds: float) -> None:
            for _ in range(6):  # paint (alert_shown comes after the first frame)
                qapp.processEvents()
            manual.advance(seconds)
            screen_clock.advance(seconds)
            qapp.processEvents()

        return layer, keeper, clocks, events, advance

    yield make
    for window in made:
        window.close()
        window.deleteLater()
    qapp.processEvents()


@pytest.mark.qt
@pytest.mark.parametrize("shift", [2 * HOUR, -2 * HOUR, timedelta(days=2), -timedelta(days=2)])
def test_layer_shows_a_fresh_alert_for_its_lifetime_whatever_the_clock(
    layer_for: Callable[[timedelta], Any], shift: timedelta
) -> None:
    layer, keeper, _, events, advance = layer_for(shift)
    alert = make_alert(sent=NOW, lifetime=HOUR)
    keeper.received([alert])
    layer.set_alerts([alert])
    assert layer.active, "a fresh alert must show whatever the screen's clock says"
    advance(3590)
    assert layer.active
    advance(11)
    assert not layer.active, "and end when its lifetime has passed"
    assert [e["event"] for e in events] == ["alert_shown", "alert_cleared"]


@pytest.mark.qt
def test_layer_follows_the_hub_time_learned_after_receipt(
    layer_for: Callable[[timedelta], Any],
) -> None:
    # a screen 2 h slow restarts 50 min into a 1 h alert: from its cache, before the network,
    # it shows it; the hub's time then says 10 minutes are left, not a whole hour
    layer, keeper, clocks, _, advance = layer_for(-2 * HOUR)
    alert = make_alert(sent=NOW - timedelta(minutes=50), lifetime=HOUR)
    keeper.received([alert])
    layer.set_alerts([alert])
    assert layer.active
    keeper.observe_hub(NOW, clocks.mono(), clocks.mono())
    layer.clock_changed()
    assert layer.active
    advance(601)
    assert not layer.active
    # and clearing stays immediate
    layer.set_alerts([alert])
    layer.set_alerts([])
    assert not layer.active


def test_visible_and_expiry_take_a_per_alert_judgement() -> None:
    a = make_alert("a", lifetime=HOUR)
    b = make_alert("b", lifetime=2 * HOUR)
    late = {"a": NOW + 2 * HOUR, "b": NOW}
    assert [x.id for x in visible([a, b], SCREEN, lambda x: late[x.id], False)] == ["b"]
    assert seconds_to_expiry([a, b], lambda x: late[x.id]) == 7200
    assert seconds_to_expiry([a, b], NOW + timedelta(minutes=30)) == 1800
    assert seconds_to_expiry([a, b], datetime(2030, 1, 1, tzinfo=UTC)) is None


def test_receipts_and_this_boots_hub_time_survive_a_restart(tmp_path: Path) -> None:
    state = tmp_path / "timebase.json"
    manual = ManualClock(NOW)
    clocks = Screenclock(manual, 2 * HOUR)
    first = TimeKeeper(wall=clocks.wall, mono=clocks.mono, state_file=state, boot="boot-1")
    alert = make_alert(sent=NOW, lifetime=HOUR)
    first.received([alert])
    manual.advance(1800)
    # a restart in the same boot: 30 min of the alert are gone, not a fresh hour
    again = TimeKeeper(wall=clocks.wall, mono=clocks.mono, state_file=state, boot="boot-1")
    assert again.alert_now(alert) == NOW + timedelta(minutes=30)
    assert again.offset_s() is None
    mono = clocks.mono()
    again.observe_hub(NOW + timedelta(minutes=30), mono, mono)
    manual.advance(60)
    third = TimeKeeper(wall=clocks.wall, mono=clocks.mono, state_file=state, boot="boot-1")
    assert third.offset_s() == pytest.approx(-7200)  # the hub's time of this boot is kept
    # after a reboot the monotonic clock restarted: the hub's time is forgotten, and the time
    # since receipt is the local clock's elapsed time
    manual.advance(1800)
    rebooted = Screenclock(manual, 2 * HOUR)
    fourth = TimeKeeper(wall=rebooted.wall, mono=lambda: 3.0, state_file=state, boot="boot-2")
    assert fourth.offset_s() is None
    assert not fourth.alert_active(alert)  # 61 minutes after receipt
    assert fourth.alert_now(alert) == NOW + timedelta(minutes=61)


def test_a_restart_in_the_same_boot_does_not_write_an_unchanged_state_again(
    tmp_path: Path,
) -> None:
    state = tmp_path / "timebase.json"
    manual = ManualClock(NOW)
    clocks = Screenclock(manual, 2 * HOUR)
    alert = make_alert(sent=NOW, lifetime=HOUR)
    TimeKeeper(wall=clocks.wall, mono=clocks.mono, state_file=state, boot="b1").received([alert])
    written = state.stat().st_ino  # each write is a new file renamed over the old one
    manual.advance(60)
    again = TimeKeeper(wall=clocks.wall, mono=clocks.mono, state_file=state, boot="b1")
    again.received([alert])  # what the player does with its first content
    assert state.stat().st_ino == written  # nothing changed: not written (no fsync at start)
    again.received([alert, make_alert("b", sent=NOW, lifetime=HOUR)])
    assert state.stat().st_ino != written  # a new receipt is written
    written = state.stat().st_ino
    rebooted = TimeKeeper(wall=clocks.wall, mono=lambda: 3.0, state_file=state, boot="b2")
    rebooted.received([alert])
    assert state.stat().st_ino != written  # another boot: rewritten in its own terms


def test_a_broken_state_file_is_ignored(tmp_path: Path) -> None:
    state = tmp_path / "timebase.json"
    alert = make_alert(sent=NOW, lifetime=HOUR)
    for junk in (b"{not json", b"[1, 2]", b'{"mono": "x"}', b"x" * (70 * 1024)):
        state.write_bytes(junk)
        keeper = TimeKeeper(mono=lambda: 10.0, state_file=state, boot="b")
        assert keeper.offset_s() is None
        assert keeper.alert_active(alert)  # judged as just received
