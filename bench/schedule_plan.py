"""Benchmark: ``signage.schedule.plan`` (active slides + exact next change) on a large fleet plan.

The player calls ``plan`` on its GUI thread each time content or the schedule changes, so it
must stay within a few frames even for a big content root. The scenario: 20 playlists of 30
slides, every slide with its own dates, weekdays and hour window (600 schedules), asked at
moments before, during and after the campaigns.

Baseline in the same run: the straightforward search over the same candidate moments that
re-evaluates every schedule at each one (what ``plan`` did first). Both must give the same
answer. Figures: median milliseconds per ``plan`` call, the ratio baseline / plan summed over the
three moments; targets: ratio at least 5 and under 50 ms per call (three frames at 60 Hz).

    .venv/bin/python bench/schedule_plan.py [--repeat 5]
"""

from __future__ import annotations

import argparse
import functools
import random
import statistics
import sys
import time
from collections.abc import Callable
from datetime import UTC, date, datetime, timedelta
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

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
from signage.schedule import (
    _active,
    _candidates,
    _schedules,
    plan,
    playlist_matches,
    screen_zone,
)

TARGET_RATIO = 5.0
TARGET_MS = 50.0
SCREEN = Screen(id="pantalla-bench", tags=frozenset({"lobby"}))
MOMENTS = [
    datetime(2026, 11, 28, 15, 0, tzinfo=UTC),  # before every campaign
    datetime(2027, 5, 1, 12, 0, tzinfo=UTC),  # in the middle of many
    datetime(2028, 5, 1, 12, 0, tzinfo=UTC),  # after all of them: never changes again
]


def fleet_playlists(seed: int = 1) -> list[Playlist]:
    rnd = random.Random(seed)
    playlists = []
    for p in range(20):
        slides = []
        for s in range(30):
            start = date(2027, 1, 1) + timedelta(days=rnd.randint(0, 300))
            window = HourWindow(rnd.randint(0, 80) * 15, rnd.randint(1, 96) * 15)
            schedule = Schedule(
                start=start,
                until=start + timedelta(days=rnd.randint(0, 60)),
                days=frozenset(Weekday(d) for d in range(5)),
                hours=(window,) if window.start_min != window.end_min else (),
            )
            slides.append(
                Slide(id=f"s{s}", kind=SlideKind.TEXT, text=TextContent("x"), schedule=schedule)
            )
        playlists.append(Playlist(id=f"p{p}", name=f"P{p}", slides=tuple(slides)))
    return playlists


def naive_next_change(playlists: list[Playlist], screen: Screen, now: datetime) -> object:
    zone = screen_zone(screen)
    matched = [p for p in playlists if playlist_matches(p, screen)]
    local = now.astimezone(zone)

    def signature(moment: datetime) -> list[tuple[str, str]]:
        return [(s.playlist.id, s.slide.id) for s in _active(matched, moment.astimezone(zone))]

    start = signature(local)
    for moment, _ in _candidates(_schedules(matched), now.astimezone(UTC), zone, local.date()):
        if signature(moment) != start:
            return moment.astimezone(zone)
    return None


def median_ms(fn: Callable[[], object], repeat: int) -> float:
    runs = []
    for _ in range(repeat):
        began = time.perf_counter()
        fn()
        runs.append((time.perf_counter() - began) * 1000)
    return statistics.median(runs)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--repeat", type=int, default=5)
    args = parser.parse_args()
    playlists = fleet_playlists()
    total_ms = 0.0
    total_base = 0.0
    worst_ms = 0.0
    print(f"{'moment':<22} {'plan ms':>9} {'baseline ms':>12} {'ratio':>7}  next change")
    for now in MOMENTS:
        fast = plan(playlists, SCREEN, now).next_change
        slow = naive_next_change(playlists, SCREEN, now)
        if fast != slow:
            print(f"DISAGREE at {now}: plan {fast} vs baseline {slow}")
            return 1
        ms = median_ms(functools.partial(plan, playlists, SCREEN, now), args.repeat)
        base = median_ms(functools.partial(naive_next_change, playlists, SCREEN, now), args.repeat)
        total_ms += ms
        total_base += base
        worst_ms = max(worst_ms, ms)
        print(f"{now:%Y-%m-%d %H:%M} UTC   {ms:9.1f} {base:12.1f} {base / ms:7.1f}  {fast}")
    ratio = total_base / total_ms
    ok = ratio >= TARGET_RATIO and worst_ms <= TARGET_MS
    print(
        f"600 scheduled slides: worst plan {worst_ms:.1f} ms (target <= {TARGET_MS:.0f}), "
        f"baseline/plan over the three moments {ratio:.1f}x (target >= {TARGET_RATIO:.0f}x): "
        f"{'OK' if ok else 'MISSED'}"
    )
    return 0 if ok else 1


if __name__ == "__main__":
    sys.exit(main())
