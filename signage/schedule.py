"""The schedule: which slides a screen plays at a moment, and when that answer next changes.

Pure functions of (playlists, screen, now); nothing here reads a clock or a file.

Rules, all in the screen's local wall-clock time (``Screen.timezone``, via ``zoneinfo``):

- A playlist plays on a screen when it has no tags, or shares a tag with the screen, and its
  ``orientation`` (landscape, portrait, both) fits the screen's.
- A slide plays when its playlist's schedule and its own schedule are both active
  (an absent schedule is always active).
- ``from`` / ``until`` are inclusive dates. ``days`` lists the weekdays. A day that is
  inside the dates and on a listed weekday is an *allowed day*.
- Without ``hours``, a schedule is active for the whole of every allowed day.
- With ``hours``, it is active inside any of its windows. A window ``HH:MM-HH:MM`` belongs
  to the day it starts on: it opens only on an allowed day, and a window that crosses
  midnight (``22:00-06:00``) then runs on past midnight into the next day, even when that
  next day is not itself allowed (a Friday-only ``22:00-06:00`` plays until Saturday
  06:00; a window started on the ``until`` date finishes the next morning). The early
  hours of a day (before 06:00 here) play only if the day before was allowed.
- Daylight-saving changes follow the local clock: a window starting at 02:30 on a night
  when clocks jump from 02:00 to 03:00 opens at 03:00; in a repeated hour (clocks going
  back) a local time counts each time it occurs.

``plan`` also answers *when the set of active slides next changes* (``Plan.next_change``),
so the player can sleep until then instead of polling. The answer is exact: every moment
where any schedule can flip (each window edge, each local midnight, each DST transition)
near now and near every date boundary is examined in order, and the first one whose set
of active slides differs from now's is returned.
"""

from __future__ import annotations

from collections.abc import Iterable, Iterator, Sequence
from datetime import UTC, date, datetime, time, timedelta
from typing import Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from signage.model import Playlist, Schedule, Screen, Slide
from signage.values import Value

__all__ = [
    "Plan",
    "ScheduledSlide",
    "ever_active",
    "is_active",
    "plan",
    "playlist_matches",
    "screen_zone",
]

WEEK_SPAN_DAYS = 9  # a weekly pattern repeats within 7 days; +1 for windows past midnight


class ScheduledSlide(Value):
    """A slide that is active now, with the playlist it comes from."""

    __slots__ = ("playlist", "slide")
    _fields = ("playlist", "slide")

    def __init__(self, playlist: Playlist, slide: Slide) -> None:
        self.playlist: Final = playlist
        self.slide: Final = slide


class Plan(Value):
    """What a screen plays at a moment.

    Args:
        slides: the active slides, playlists in the given order, slides in file order.
        next_change: the earliest moment after ``now`` when ``slides`` changes (in the
            screen's time zone); ``None`` when it never will.
    """

    __slots__ = ("next_change", "slides")
    _fields = ("slides", "next_change")

    def __init__(self, slides: tuple[ScheduledSlide, ...], next_change: datetime | None) -> None:
        self.slides: Final = slides
        self.next_change: Final = next_change


def screen_zone(screen: Screen) -> ZoneInfo:
    """The screen's time zone; raises ValueError naming it when it does not exist."""
    try:
        return ZoneInfo(screen.timezone)
    except (ZoneInfoNotFoundError, ValueError):
        raise ValueError(
            f"unknown time zone {screen.timezone!r} for screen {screen.id!r}; "
            "use a name like America/Bogota"
        ) from None


def _allowed_day(schedule: Schedule, day: date) -> bool:
    if schedule.start is not None and day < schedule.start:
        return False
    if schedule.until is not None and day > schedule.until:
        return False
    return schedule.days is None or day.weekday() in schedule.days


def is_active(schedule: Schedule | None, local_now: datetime) -> bool:
    """Whether ``schedule`` is active at ``local_now`` (the screen's local wall-clock time).

    ``None`` is always active. See the module docstring for the rules.
    """
    if schedule is None:
        return True
    today = local_now.date()
    if not schedule.hours:
        return _allowed_day(schedule, today)
    minute = local_now.hour * 60 + local_now.minute
    for window in schedule.hours:
        if window.crosses_midnight:
            if minute >= window.start_min and _allowed_day(schedule, today):
                return True
            if minute < window.end_min and _allowed_day(schedule, today - timedelta(days=1)):
                return True
        elif window.start_min <= minute < window.end_min and _allowed_day(schedule, today):
            return True
    return False


def ever_active(*schedules: Schedule | None) -> bool:
    """Whether there is any moment at which all ``schedules`` are active together.

    Used by the validator to refuse a slide that can never play inside its playlist's
    schedule. Exhaustive: between date boundaries the combined pattern repeats weekly, so
    every edge minute of the days around each boundary (or of one week, when there are
    none) is examined in wall-clock time.
    """
    present = [s for s in schedules if s is not None]
    if not present:
        return True
    boundaries = {s.start for s in present if s.start is not None}
    boundaries |= {s.until + timedelta(days=1) for s in present if s.until is not None}
    if not boundaries:
        boundaries = {date(2001, 1, 1)}  # any week will do: a Monday
    days: set[date] = set()
    for boundary in boundaries:
        days.update(boundary + timedelta(days=i) for i in range(-WEEK_SPAN_DAYS, WEEK_SPAN_DAYS))
    minutes = {0}
    for schedule in present:
        minutes.update(w.start_min for w in schedule.hours)
        minutes.update(w.end_min % 1440 for w in schedule.hours)
    for day in sorted(days):
        midnight = datetime.combine(day, time())
        for minute in minutes:
            moment = midnight + timedelta(minutes=minute)
            if all(is_active(s, moment) for s in present):
                return True
    return False


def playlist_matches(playlist: Playlist, screen: Screen) -> bool:
    """Whether ``screen`` plays ``playlist``: no tags means every screen, else a common tag;
    and the playlist is drawn for the screen's orientation (or both)."""
    if not playlist.orientation.fits(screen.orientation):
        return False
    return playlist.tags is None or bool(playlist.tags & screen.tags)


def _active(playlists: Sequence[Playlist], local: datetime) -> tuple[ScheduledSlide, ...]:
    out: list[ScheduledSlide] = []
    for playlist in playlists:
        if not is_active(playlist.schedule, local):
            continue
        out.extend(
            ScheduledSlide(playlist, slide)
            for slide in playlist.slides
            if is_active(slide.schedule, local)
        )
    return tuple(out)


def _schedules(playlists: Iterable[Playlist]) -> list[Schedule]:
    found: list[Schedule] = []
    for playlist in playlists:
        if playlist.schedule is not None:
            found.append(playlist.schedule)
        found.extend(s.schedule for s in playlist.slides if s.schedule is not None)
    return found


def _key_days(schedules: list[Schedule], today: date) -> list[date]:
    """Days on which some schedule may flip: near today and near every date boundary.

    Between date boundaries every schedule repeats weekly, so a change, if any, comes within
    ``WEEK_SPAN_DAYS`` of today or of a boundary (``from``, the day after ``until``).
    """
    floor = today.toordinal() - 1
    days = set(range(floor, floor + WEEK_SPAN_DAYS + 1))
    starts = {s.start.toordinal() for s in schedules if s.start is not None}
    untils = {s.until.toordinal() for s in schedules if s.until is not None}
    for day in starts:
        days.update(range(max(day - 1, floor), day + WEEK_SPAN_DAYS))
    for day in untils:
        days.update(range(max(day - 1, floor), day + WEEK_SPAN_DAYS + 1))
    return [date.fromordinal(day) for day in sorted(days)]


def _instants(day: date, minute: int, zone: ZoneInfo) -> set[datetime]:
    wall = datetime.combine(day, time()) + timedelta(minutes=minute)
    return {wall.replace(tzinfo=zone, fold=fold).astimezone(UTC) for fold in (0, 1)}


def _offset_change(day: date, zone: ZoneInfo) -> datetime | None:
    """The UTC instant the zone's offset changes during ``day``, if it does."""
    lo = datetime.combine(day, time(), tzinfo=zone).astimezone(UTC)
    hi = datetime.combine(day + timedelta(days=1), time(), tzinfo=zone).astimezone(UTC)
    first = lo.astimezone(zone).utcoffset()
    if hi.astimezone(zone).utcoffset() == first:
        return None
    low, high = int(lo.timestamp()), int(hi.timestamp())
    while high - low > 1:  # integer seconds: transitions happen on whole seconds
        mid = (low + high) // 2
        if datetime.fromtimestamp(mid, UTC).astimezone(zone).utcoffset() == first:
            low = mid
        else:
            high = mid
    return datetime.fromtimestamp(high, UTC)


def _candidates(
    schedules: list[Schedule], now_utc: datetime, zone: ZoneInfo, today: date
) -> Iterator[tuple[datetime, bool]]:
    """Every moment after ``now_utc`` at which some schedule may flip, in order.

    Each comes with ``True`` when it is a DST transition (any schedule may flip there, since
    the local clock jumps over or back across edges), ``False`` for a wall-clock edge.
    """
    minutes = {0}
    for schedule in schedules:
        for window in schedule.hours:
            minutes.add(window.start_min)
            minutes.add(window.end_min % 1440)
    ordered_minutes = sorted(minutes)
    for day in _key_days(schedules, today):
        moments: dict[datetime, bool] = {}
        for minute in ordered_minutes:
            for moment in _instants(day, minute, zone):
                moments.setdefault(moment, False)
        change = _offset_change(day, zone)
        if change is not None:
            moments[change] = True
        yield from sorted((m, jump) for m, jump in moments.items() if m > now_utc)


class _Watch:
    """The active state of every schedule, updated edge by edge to find the next change.

    Only schedules with an edge at a candidate's local minute are re-evaluated there, and
    only the playlists they belong to are recomputed: ``plan`` stays fast with hundreds of
    scheduled slides whose edges are mostly invisible (their playlist is off).
    """

    def __init__(self, playlists: Sequence[Playlist], local: datetime) -> None:
        self.playlists = playlists
        # (playlist index, slide index or -1 for the playlist itself, schedule)
        self.entries: list[tuple[int, int, Schedule]] = []
        for pi, playlist in enumerate(playlists):
            if playlist.schedule is not None:
                self.entries.append((pi, -1, playlist.schedule))
            for si, slide in enumerate(playlist.slides):
                if slide.schedule is not None:
                    self.entries.append((pi, si, slide.schedule))
        self.by_minute: dict[int, list[int]] = {}
        for index, (_, _, schedule) in enumerate(self.entries):
            edges = {0} | {w.start_min for w in schedule.hours}
            edges |= {w.end_min % 1440 for w in schedule.hours}
            for minute in edges:
                self.by_minute.setdefault(minute, []).append(index)
        self.state = [is_active(schedule, local) for _, _, schedule in self.entries]
        self.playlist_on = [True] * len(playlists)
        self.slide_on: list[list[bool]] = [[True] * len(p.slides) for p in playlists]
        for index in range(len(self.entries)):
            self._store(index)
        self.start = [self._visible(pi) for pi in range(len(playlists))]
        self.differing: set[int] = set()

    def _store(self, index: int) -> None:
        pi, si, _ = self.entries[index]
        if si < 0:
            self.playlist_on[pi] = self.state[index]
        else:
            self.slide_on[pi][si] = self.state[index]

    def _visible(self, pi: int) -> tuple[int, ...]:
        if not self.playlist_on[pi]:
            return ()
        return tuple(si for si, on in enumerate(self.slide_on[pi]) if on)

    def changed_at(self, local: datetime, everything: bool) -> bool:
        """Moves to ``local``; whether the visible slides now differ from the start."""
        minute = local.hour * 60 + local.minute
        indices = range(len(self.entries)) if everything else self.by_minute.get(minute, ())
        touched: set[int] = set()
        for index in indices:
            value = is_active(self.entries[index][2], local)
            if value != self.state[index]:
                self.state[index] = value
                self._store(index)
                touched.add(self.entries[index][0])
        for pi in touched:
            if self._visible(pi) != self.start[pi]:
                self.differing.add(pi)
            else:
                self.differing.discard(pi)
        return bool(self.differing)


def plan(playlists: Sequence[Playlist], screen: Screen, now: datetime) -> Plan:
    """The slides ``screen`` plays at ``now`` and when that next changes.

    Args:
        playlists: in the order they should play.
        screen: its tags select playlists; its time zone interprets schedules.
        now: an aware moment (a naive one is refused with ValueError).
    """
    if now.tzinfo is None or now.utcoffset() is None:
        raise ValueError("plan() needs an aware 'now' (with a time zone), got a naive datetime")
    zone = screen_zone(screen)
    matched = [p for p in playlists if playlist_matches(p, screen)]
    local = now.astimezone(zone)
    current = _active(matched, local)
    schedules = _schedules(matched)
    next_change: datetime | None = None
    if schedules:
        watch = _Watch(matched, local)
        now_utc = now.astimezone(UTC)
        for moment, everything in _candidates(schedules, now_utc, zone, local.date()):
            if watch.changed_at(moment.astimezone(zone), everything):
                next_change = moment.astimezone(zone)
                break
    return Plan(slides=current, next_change=next_change)
