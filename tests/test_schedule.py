"""The schedule with an injected clock: each rule, midnight, date edges, DST, next_change."""

from __future__ import annotations

from datetime import UTC, date, datetime, timedelta
from zoneinfo import ZoneInfo

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from signage.model import (
    HourWindow,
    Playlist,
    Schedule,
    Screen,
    Slide,
    SlideKind,
    TextContent,
    Weekday,
)
from signage.schedule import ever_active, is_active, plan, playlist_matches

BOGOTA = ZoneInfo("America/Bogota")
MADRID = ZoneInfo("Europe/Madrid")
NEW_YORK = ZoneInfo("America/New_York")


def slide(slide_id: str, schedule: Schedule | None = None) -> Slide:
    return Slide(
        id=slide_id, kind=SlideKind.TEXT, text=TextContent(title=slide_id), schedule=schedule
    )


def playlist(
    pid: str,
    *slides: Slide,
    tags: frozenset[str] | None = None,
    schedule: Schedule | None = None,
) -> Playlist:
    return Playlist(id=pid, name=pid, slides=slides, tags=tags, schedule=schedule)


def hours(text: str) -> tuple[HourWindow, ...]:
    from signage.playlist import parse_hours

    return tuple(parse_hours(part) for part in text.split(","))


def ids(playlists: list[Playlist], screen: Screen, now: datetime) -> list[str]:
    return [f"{s.playlist.id}/{s.slide.id}" for s in plan(playlists, screen, now).slides]


def local(  # noqa: PLR0917  (mirrors datetime()'s own positional signature)
    zone: ZoneInfo, year: int, month: int, day: int, hour: int = 0, minute: int = 0, sec: int = 0
) -> datetime:
    return datetime(year, month, day, hour, minute, sec, tzinfo=zone)


SCREEN = Screen(id="lobby-1", tags=frozenset({"lobby"}))


def test_unscheduled_playlists_play_always_and_never_change() -> None:
    p = playlist("p", slide("a"), slide("b"))
    result = plan([p], SCREEN, datetime(2027, 1, 1, tzinfo=UTC))
    assert [s.slide.id for s in result.slides] == ["a", "b"]
    assert result.next_change is None


def test_tags_select_playlists_in_the_given_order() -> None:
    everyone = playlist("todos", slide("x"))
    lobby = playlist("lobby", slide("y"), slide("z"), tags=frozenset({"lobby", "piso-1"}))
    hall = playlist("hall", slide("w"), tags=frozenset({"atencion"}))
    now = datetime(2027, 1, 1, tzinfo=UTC)
    assert ids([lobby, hall, everyone], SCREEN, now) == ["lobby/y", "lobby/z", "todos/x"]
    assert playlist_matches(everyone, Screen(id="bare"))
    assert not playlist_matches(lobby, Screen(id="bare"))
    assert not playlist_matches(hall, SCREEN)


def test_date_range_is_inclusive_at_both_ends_in_local_time() -> None:
    sched = Schedule(start=date(2027, 1, 4), until=date(2027, 1, 14))
    p = playlist("p", slide("webinar", sched))
    assert ids([p], SCREEN, local(BOGOTA, 2027, 1, 3, 23, 59, 59)) == []
    assert ids([p], SCREEN, local(BOGOTA, 2027, 1, 4, 0, 0)) == ["p/webinar"]
    assert ids([p], SCREEN, local(BOGOTA, 2027, 1, 14, 23, 59, 59)) == ["p/webinar"]
    assert ids([p], SCREEN, local(BOGOTA, 2027, 1, 15, 0, 0)) == []
    # 2027-01-04 03:00 UTC is still 2027-01-03 in Bogotá (UTC-5): not yet
    assert ids([p], SCREEN, datetime(2027, 1, 4, 3, 0, tzinfo=UTC)) == []
    before = plan([p], SCREEN, local(BOGOTA, 2027, 1, 2, 12, 0))
    assert before.next_change == local(BOGOTA, 2027, 1, 4, 0, 0)
    during = plan([p], SCREEN, local(BOGOTA, 2027, 1, 10, 12, 0))
    assert during.next_change == local(BOGOTA, 2027, 1, 15, 0, 0)
    after = plan([p], SCREEN, local(BOGOTA, 2027, 1, 15, 0, 0))
    assert after.next_change is None


def test_weekdays() -> None:
    workdays = Schedule(days=frozenset(Weekday(i) for i in range(5)))
    p = playlist("p", slide("a", workdays))
    friday = local(BOGOTA, 2027, 1, 8, 12, 0)
    assert friday.weekday() == Weekday.FRI
    assert ids([p], SCREEN, friday) == ["p/a"]
    assert ids([p], SCREEN, friday + timedelta(days=1)) == []
    assert plan([p], SCREEN, friday).next_change == local(BOGOTA, 2027, 1, 9, 0, 0)
    assert plan([p], SCREEN, friday + timedelta(days=1)).next_change == local(
        BOGOTA, 2027, 1, 11, 0, 0
    )


def test_hour_window_edges() -> None:
    p = playlist("p", slide("a", Schedule(hours=hours("07:00-18:00"))))
    assert ids([p], SCREEN, local(BOGOTA, 2027, 1, 5, 6, 59, 59)) == []
    assert ids([p], SCREEN, local(BOGOTA, 2027, 1, 5, 7, 0)) == ["p/a"]
    assert ids([p], SCREEN, local(BOGOTA, 2027, 1, 5, 17, 59, 59)) == ["p/a"]
    assert ids([p], SCREEN, local(BOGOTA, 2027, 1, 5, 18, 0)) == []
    assert plan([p], SCREEN, local(BOGOTA, 2027, 1, 5, 9, 30)).next_change == local(
        BOGOTA, 2027, 1, 5, 18, 0
    )
    assert plan([p], SCREEN, local(BOGOTA, 2027, 1, 5, 18, 0)).next_change == local(
        BOGOTA, 2027, 1, 6, 7, 0
    )


def test_several_windows_are_a_union_and_24_00_ends_the_day() -> None:
    p = playlist("p", slide("a", Schedule(hours=hours("07:00-09:00,12:00-24:00"))))
    assert ids([p], SCREEN, local(BOGOTA, 2027, 1, 5, 8, 0)) == ["p/a"]
    assert ids([p], SCREEN, local(BOGOTA, 2027, 1, 5, 10, 0)) == []
    assert ids([p], SCREEN, local(BOGOTA, 2027, 1, 5, 23, 59)) == ["p/a"]
    assert ids([p], SCREEN, local(BOGOTA, 2027, 1, 6, 0, 0)) == []
    assert plan([p], SCREEN, local(BOGOTA, 2027, 1, 5, 13, 0)).next_change == local(
        BOGOTA, 2027, 1, 6, 0, 0
    )


def test_midnight_crossing_window_belongs_to_the_day_it_starts() -> None:
    friday_nights = Schedule(days=frozenset({Weekday.FRI}), hours=hours("22:00-06:00"))
    p = playlist("p", slide("noche", friday_nights))
    thursday = date(2027, 1, 7)
    assert thursday.weekday() == Weekday.THU

    def at(day: int, hh: int, mm: int = 0) -> list[str]:
        return ids([p], SCREEN, local(BOGOTA, 2027, 1, day, hh, mm))

    assert at(7, 23) == [], "Thursday is not allowed"
    assert at(8, 2) == [], "Friday 02:00 belongs to Thursday's window"
    assert at(8, 21, 59) == []
    assert at(8, 22) == ["p/noche"]
    assert at(9, 5, 59) == ["p/noche"], "continues into Saturday, itself not allowed"
    assert at(9, 6) == []
    assert at(9, 22) == [], "Saturday evening does not open a window"
    result = plan([p], SCREEN, local(BOGOTA, 2027, 1, 8, 23, 0))
    assert result.next_change == local(BOGOTA, 2027, 1, 9, 6, 0)
    result = plan([p], SCREEN, local(BOGOTA, 2027, 1, 9, 6, 0))
    assert result.next_change == local(BOGOTA, 2027, 1, 15, 22, 0)


def test_midnight_crossing_window_runs_past_the_until_date() -> None:
    sched = Schedule(start=date(2027, 1, 4), until=date(2027, 1, 5), hours=hours("20:00-02:00"))
    p = playlist("p", slide("a", sched))
    assert ids([p], SCREEN, local(BOGOTA, 2027, 1, 4, 1, 0)) == [], "Jan 3 is before 'from'"
    assert ids([p], SCREEN, local(BOGOTA, 2027, 1, 5, 1, 0)) == ["p/a"]
    assert ids([p], SCREEN, local(BOGOTA, 2027, 1, 6, 1, 59)) == ["p/a"]
    assert ids([p], SCREEN, local(BOGOTA, 2027, 1, 6, 20, 0)) == []
    result = plan([p], SCREEN, local(BOGOTA, 2027, 1, 6, 1, 0))
    assert result.next_change == local(BOGOTA, 2027, 1, 6, 2, 0)
    assert plan([p], SCREEN, local(BOGOTA, 2027, 1, 6, 2, 0)).next_change is None


def test_slide_plays_only_inside_its_playlists_schedule() -> None:
    mornings = Schedule(hours=hours("06:00-12:00"))
    p = playlist(
        "p",
        slide("always"),
        slide("late", Schedule(hours=hours("10:00-20:00"))),
        schedule=mornings,
    )
    assert ids([p], SCREEN, local(BOGOTA, 2027, 1, 5, 7, 0)) == ["p/always"]
    assert ids([p], SCREEN, local(BOGOTA, 2027, 1, 5, 11, 0)) == ["p/always", "p/late"]
    assert ids([p], SCREEN, local(BOGOTA, 2027, 1, 5, 13, 0)) == []
    # the slide's own edge at 20:00 is invisible (playlist already off): the next visible
    # change is the playlist opening the next morning
    result = plan([p], SCREEN, local(BOGOTA, 2027, 1, 5, 13, 0))
    assert result.next_change == local(BOGOTA, 2027, 1, 6, 6, 0)


def test_visible_change_long_after_a_hidden_one() -> None:
    """A slide's daily window only matters once its playlist starts, weeks away."""
    p = playlist(
        "p",
        slide("a", Schedule(hours=hours("08:00-09:00"))),
        schedule=Schedule(start=date(2027, 3, 1)),
    )
    result = plan([p], SCREEN, local(BOGOTA, 2027, 1, 1, 12, 0))
    assert result.next_change == local(BOGOTA, 2027, 3, 1, 8, 0)


def test_spring_forward_gap_opens_the_window_when_clocks_jump() -> None:
    # Madrid, 2027-03-28: 02:00 CET becomes 03:00 CEST at 01:00 UTC
    screen = Screen(id="s", timezone="Europe/Madrid")
    p = playlist("p", slide("a", Schedule(hours=hours("02:30-04:00"))))
    before = datetime(2027, 3, 28, 0, 59, tzinfo=UTC)
    assert ids([p], screen, before) == []
    result = plan([p], screen, before)
    assert result.next_change == datetime(2027, 3, 28, 1, 0, tzinfo=UTC)
    assert ids([p], screen, datetime(2027, 3, 28, 1, 0, tzinfo=UTC)) == ["p/a"]
    after = plan([p], screen, datetime(2027, 3, 28, 1, 0, tzinfo=UTC))
    assert after.next_change == datetime(2027, 3, 28, 4, 0, tzinfo=MADRID)


def test_fall_back_repeats_a_window_inside_the_repeated_hour() -> None:
    # Madrid, 2027-10-31: 03:00 CEST becomes 02:00 CET at 01:00 UTC; 02:15 happens twice
    screen = Screen(id="s", timezone="Europe/Madrid")
    p = playlist("p", slide("a", Schedule(hours=hours("02:15-02:45"))))
    moment: datetime | None = datetime(2027, 10, 30, 23, 0, tzinfo=UTC)
    seen = []
    for _ in range(4):
        assert moment is not None
        moment = plan([p], screen, moment).next_change
        assert moment is not None
        seen.append(moment.astimezone(UTC).strftime("%H:%M"))
    assert seen == ["00:15", "00:45", "01:15", "01:45"]


def test_daily_window_follows_local_clock_across_dst() -> None:
    screen = Screen(id="s", timezone="America/New_York")
    p = playlist("p", slide("a", Schedule(hours=hours("08:00-09:00"))))
    # 2027-03-14 is the US spring-forward day: 08:00 EST on the 13th is 13:00 UTC,
    # 08:00 EDT on the 14th is 12:00 UTC
    sat = plan([p], screen, datetime(2027, 3, 13, 10, 0, tzinfo=UTC)).next_change
    assert sat == datetime(2027, 3, 13, 13, 0, tzinfo=UTC)
    sun = plan([p], screen, datetime(2027, 3, 13, 15, 0, tzinfo=UTC)).next_change
    assert sun == datetime(2027, 3, 14, 12, 0, tzinfo=UTC)
    assert sun is not None
    assert sun.utcoffset() == timedelta(hours=-4), "answered in the screen's zone"


def test_is_active_direct() -> None:
    assert is_active(None, datetime(2027, 1, 1, 3, 0))
    sched = Schedule(days=frozenset({Weekday.MON}), hours=hours("23:00-01:00"))
    monday = datetime(2027, 1, 4, 23, 30)
    assert is_active(sched, monday)
    assert is_active(sched, monday + timedelta(hours=1))
    assert not is_active(sched, monday + timedelta(hours=2))


def test_naive_now_and_unknown_zone_are_refused() -> None:
    p = playlist("p", slide("a"))
    with pytest.raises(ValueError, match="aware"):
        plan([p], SCREEN, datetime(2027, 1, 1))
    with pytest.raises(ValueError, match="unknown time zone 'Mars/Olympus'"):
        plan([p], Screen(id="x", timezone="Mars/Olympus"), datetime(2027, 1, 1, tzinfo=UTC))


# ------------------------------------------------------------------ next_change as a property

ZONES = ["America/Bogota", "America/New_York", "Europe/Madrid", "UTC", "Australia/Lord_Howe"]
BASE = date(2027, 3, 20)  # near the northern spring DST changes


@st.composite
def schedules(draw: st.DrawFn) -> Schedule | None:
    if draw(st.booleans()):
        return None
    start = draw(st.none() | st.integers(-10, 20).map(lambda d: BASE + timedelta(days=d)))
    until = draw(st.none() | st.integers(-5, 25).map(lambda d: BASE + timedelta(days=d)))
    if start is not None and until is not None and until < start:
        start, until = until, start
    days = draw(st.none() | st.frozensets(st.sampled_from(list(Weekday)), min_size=1))
    windows = draw(
        st.lists(
            st.tuples(st.integers(0, 95), st.integers(1, 96)).filter(lambda w: w[0] != w[1] % 96),
            max_size=2,
        )
    )
    return Schedule(
        start=start,
        until=until,
        days=days,
        hours=tuple(HourWindow(a * 15, b * 15) for a, b in windows),
    )


@st.composite
def scenarios(draw: st.DrawFn) -> tuple[list[Playlist], Screen, datetime]:
    playlists = []
    for p_index in range(draw(st.integers(1, 3))):
        slides = [slide(f"s{i}", draw(schedules())) for i in range(draw(st.integers(1, 3)))]
        playlists.append(playlist(f"p{p_index}", *slides, schedule=draw(schedules())))
    zone = draw(st.sampled_from(ZONES))
    offset_min = draw(st.integers(-15 * 24 * 60, 30 * 24 * 60))
    now = datetime(2027, 3, 20, tzinfo=UTC) + timedelta(minutes=offset_min, seconds=17)
    return playlists, Screen(id="s", timezone=zone), now


def _state(playlists: list[Playlist], screen: Screen, moment: datetime) -> list[str]:
    return ids(playlists, screen, moment)


@settings(max_examples=200, deadline=None)
@given(scenarios(), st.randoms(use_true_random=False))
def test_next_change_is_exact(
    scenario: tuple[list[Playlist], Screen, datetime], rnd: object
) -> None:
    import random

    assert isinstance(rnd, random.Random)
    playlists, screen, now = scenario
    result = plan(playlists, screen, now)
    current = _state(playlists, screen, now)
    if result.next_change is None:
        horizon = now + timedelta(days=60)
        probes = [now + (horizon - now) * rnd.random() for _ in range(60)]
    else:
        # In UTC: next_change carries the screen's zone, and arithmetic or comparison
        # between two times of one zone is wall-clock, so across a DST gap "one second
        # before" 03:00 would be the non-existent 02:59:59, an hour after it.
        change = result.next_change.astimezone(UTC)
        assert change > now
        assert _state(playlists, screen, change) != current, "nothing changes at next_change"
        span = change - now
        probes = [now + span * rnd.random() for _ in range(40)]
        probes.append(change - timedelta(seconds=1))
        probes = [p for p in probes if now < p < change]
    for probe in probes:
        assert _state(playlists, screen, probe) == current, (
            f"the slides changed at {probe.isoformat()} before next_change {result.next_change}"
        )


def test_ever_active_examples() -> None:
    mornings = Schedule(hours=hours("06:00-12:00"))
    assert ever_active()
    assert ever_active(None, mornings)
    assert not ever_active(mornings, Schedule(hours=hours("12:00-18:00")))
    assert ever_active(mornings, Schedule(hours=hours("22:00-06:01")))
    weekend = Schedule(days=frozenset({Weekday.SAT, Weekday.SUN}))
    friday_nights = Schedule(days=frozenset({Weekday.FRI}), hours=hours("22:00-02:00"))
    assert ever_active(weekend, friday_nights), "Friday's window runs into Saturday"
    january = Schedule(start=date(2027, 1, 1), until=date(2027, 1, 31))
    assert not ever_active(january, Schedule(start=date(2027, 2, 1)))
    assert ever_active(january, Schedule(until=date(2027, 1, 1)))


@settings(max_examples=300, deadline=None)
@given(schedules(), schedules())
def test_ever_active_matches_a_brute_force_scan(a: Schedule | None, b: Schedule | None) -> None:
    # every edge is a multiple of 15 minutes and every date lies within BASE-10..BASE+25, so
    # a 15-minute grid over BASE-30..BASE+45 sees every combination that can ever occur
    first = datetime.combine(BASE - timedelta(days=30), datetime.min.time())
    grid = (first + timedelta(minutes=15 * i) for i in range(75 * 96))
    brute = any(is_active(a, t) and is_active(b, t) for t in grid)
    assert ever_active(a, b) == brute
