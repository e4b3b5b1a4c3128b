"""The console's "qué se ve ahora": what a screen with a tag shows at a moment, and why not.

Pure: the same ``schedule.plan`` the player runs decides what plays; for each slide left
out, ``explain`` says why in the current language (the playlist is for other tags, the playlist's or
the slide's schedule is closed at that moment, and which part of it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from signage.i18n import N_, _
from signage.model import Playlist, Schedule, Screen, Weekday

DAY_NAMES = (  # translated where shown
    N_("Monday"),
    N_("Tuesday"),
    N_("Wednesday"),
    N_("Thursday"),
    N_("Friday"),
    N_("Saturday"),
    N_("Sunday"),
)


@dataclass(frozen=True, slots=True)
class Line:
    playlist: str
    playlist_id: str
    slide: str
    kind: str
    plays: bool
    why: str = ""


@dataclass(frozen=True, slots=True)
class NowReport:
    moment: datetime
    tag: str
    lines: tuple[Line, ...]

    @property
    def playing(self) -> tuple[Line, ...]:
        return tuple(line for line in self.lines if line.plays)

    @property
    def left_out(self) -> tuple[Line, ...]:
        return tuple(line for line in self.lines if not line.plays)


def parse_moment(
    day: str, hour: str, zone: str, now: datetime | None = None
) -> tuple[datetime, str]:
    """``dd/mm/aaaa`` and ``HH:MM`` in ``zone``; empty parts are now. Also an error message."""
    tz = ZoneInfo(zone)
    base = (now or datetime.now(tz)).astimezone(tz).replace(second=0, microsecond=0)
    error = ""
    if day:
        try:
            d = datetime.strptime(day, "%d/%m/%Y").date()
            base = base.replace(year=d.year, month=d.month, day=d.day)
        except ValueError:
            error = _("«{day}» is not a date; use dd/mm/yyyy.").format(day=day) + " "
    if hour:
        try:
            t = datetime.strptime(hour, "%H:%M").time()
            base = base.replace(hour=t.hour, minute=t.minute)
        except ValueError:
            error += _("«{hour}» is not a time; use HH:MM (24 h).").format(hour=hour)
    return base, error.strip()


def _d(value: date) -> str:
    return value.strftime("%d/%m/%Y")


def closed_because(schedule: Schedule, local: datetime, what: str = "slide") -> str:
    """Why ``schedule`` is closed at ``local`` (assumes it is); ``what`` is ``playlist``
    or ``slide`` (whole sentences: languages put the subject in different places)."""
    today = local.date()
    playlist = what == "playlist"
    if schedule.start is not None and today < schedule.start:
        text = _("the playlist starts on {day}") if playlist else _("the slide starts on {day}")
        return text.format(day=_d(schedule.start))
    if schedule.until is not None and today > schedule.until:
        text = _("the playlist ended on {day}") if playlist else _("the slide ended on {day}")
        return text.format(day=_d(schedule.until))
    if schedule.days is not None and Weekday(today.weekday()) not in schedule.days:
        names = ", ".join(_(DAY_NAMES[int(d)]) for d in sorted(schedule.days))
        text = (
            _("the playlist is shown only on {days}")
            if playlist
            else _("the slide is shown only on {days}")
        )
        return text.format(days=names)
    if schedule.hours:
        windows = ", ".join(str(w) for w in schedule.hours)
        text = (
            _("the playlist is shown only during {hours}")
            if playlist
            else _("the slide is shown only during {hours}")
        )
        return text.format(hours=windows)
    if playlist:
        return _("the playlist's schedule does not include this moment")
    return _("the slide's schedule does not include this moment")


def explain(playlists: Sequence[Playlist], tag: str, moment: datetime) -> NowReport:
    """Every slide of every playlist, whether a screen tagged ``tag`` shows it at
    ``moment``, and why not when it does not."""
    from signage.schedule import is_active, plan, playlist_matches

    screen = Screen(id="consola", tags=frozenset({tag}) if tag else frozenset())
    local = moment
    planned = {(s.playlist.id, s.slide.id) for s in plan(playlists, screen, moment).slides}
    lines: list[Line] = []
    for playlist in playlists:
        matches = playlist_matches(playlist, screen)
        open_playlist = is_active(playlist.schedule, local)
        for slide in playlist.slides:
            key = (playlist.id, slide.id)
            why = ""
            if key not in planned:
                if not matches:
                    tags = ", ".join(sorted(playlist.tags or ()))
                    why = _("the playlist is for screens tagged {tags}").format(tags=tags)
                elif not open_playlist and playlist.schedule is not None:
                    why = closed_because(playlist.schedule, local, "playlist")
                elif slide.schedule is not None and not is_active(slide.schedule, local):
                    why = closed_because(slide.schedule, local, "slide")
                else:
                    why = _("not shown at this moment")
            lines.append(
                Line(playlist.name, playlist.id, slide.id, str(slide.kind), key in planned, why)
            )
    return NowReport(moment, tag, tuple(lines))
