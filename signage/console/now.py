"""The console's "qué se ve ahora": what a screen with a tag shows at a moment, and why not.

Pure: the same ``schedule.plan`` the player runs decides what plays; for each slide left
out, ``explain`` says why in Spanish (the playlist is for other tags, the playlist's or
the slide's schedule is closed at that moment, and which part of it).
"""

from __future__ import annotations

from collections.abc import Sequence
from dataclasses import dataclass
from datetime import date, datetime
from zoneinfo import ZoneInfo

from signage.model import Playlist, Schedule, Screen, Weekday

DAY_NAMES = ("lunes", "martes", "miércoles", "jueves", "viernes", "sábado", "domingo")


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
            error = f"«{day}» no es una fecha; usa dd/mm/aaaa. "
    if hour:
        try:
            t = datetime.strptime(hour, "%H:%M").time()
            base = base.replace(hour=t.hour, minute=t.minute)
        except ValueError:
            error += f"«{hour}» no es una hora; usa HH:MM (24 h)."
    return base, error.strip()


def _d(value: date) -> str:
    return value.strftime("%d/%m/%Y")


def closed_because(schedule: Schedule, local: datetime) -> str:
    """Why ``schedule`` is closed at ``local`` (assumes it is)."""
    today = local.date()
    if schedule.start is not None and today < schedule.start:
        return f"empieza el {_d(schedule.start)}"
    if schedule.until is not None and today > schedule.until:
        return f"terminó el {_d(schedule.until)}"
    if schedule.days is not None and Weekday(today.weekday()) not in schedule.days:
        names = ", ".join(DAY_NAMES[int(d)] for d in sorted(schedule.days))
        return f"se muestra solo los días {names}"
    if schedule.hours:
        windows = ", ".join(str(w) for w in schedule.hours)
        return f"se muestra solo en el horario {windows}"
    return "su horario no incluye este momento"


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
                    why = f"la lista es para pantallas con la etiqueta {tags}"
                elif not open_playlist and playlist.schedule is not None:
                    why = "la lista " + closed_because(playlist.schedule, local)
                elif slide.schedule is not None and not is_active(slide.schedule, local):
                    why = "la diapositiva " + closed_because(slide.schedule, local)
                else:
                    why = "no se muestra en este momento"
            lines.append(
                Line(playlist.name, playlist.id, slide.id, str(slide.kind), key in planned, why)
            )
    return NowReport(moment, tag, tuple(lines))
