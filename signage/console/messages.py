"""The console's words: moments, durations, sizes and numbers as people in the hub's zone read them.

The validator's problems already speak the console's language (``signage.i18n``), so they
are shown as they come. Moments are written ``dd/mm/aaaa HH:MM`` on a 24-hour clock in the
hub's zone (``ZONE``, America/Bogota); numbers use the language's separators (``1.234``
and ``3,4`` in Spanish, ``1,234`` and ``3.4`` in English). Pure functions only.
"""

from __future__ import annotations

from datetime import datetime
from zoneinfo import ZoneInfo

from signage.i18n import current_language
from signage.model import DEFAULT_TIMEZONE

ZONE = DEFAULT_TIMEZONE  # the console's clock: the zone the screens' schedules are written in


def local(ts: float | datetime, zone: str = ZONE) -> datetime:
    """``ts`` (a Unix time, or an aware moment) in ``zone``; a naive moment is taken as is."""
    if isinstance(ts, datetime):
        return ts if ts.tzinfo is None else ts.astimezone(ZoneInfo(zone))
    return datetime.fromtimestamp(ts, ZoneInfo(zone))


def fecha(ts: float | datetime, zone: str = ZONE) -> str:
    """A moment as the screens write it: ``dd/mm/aaaa HH:MM`` (24 h, in the hub's zone)."""
    return local(ts, zone).strftime("%d/%m/%Y %H:%M")


def hora(ts: float | datetime, zone: str = ZONE) -> str:
    """A time of day on the 24-hour clock with seconds: ``16:55:14`` (in the hub's zone)."""
    return local(ts, zone).strftime("%H:%M:%S")


def duracion(seconds: float) -> str:
    """``1 min 30 s``, ``45 s``, ``1 h 2 min`` (the same symbols in both languages)."""
    total = round(seconds)
    hours, rest = divmod(total, 3600)
    minutes, secs = divmod(rest, 60)
    parts = []
    if hours:
        parts.append(f"{hours} h")
    if minutes:
        parts.append(f"{minutes} min")
    if secs or not parts:
        parts.append(f"{secs} s")
    return " ".join(parts)


def numero(value: float, decimals: int = 0, language: str | None = None) -> str:
    """``1.234`` / ``3,4`` in Spanish (es-CO), ``1,234`` / ``3.4`` in English."""
    text = f"{value:,.{decimals}f}"
    if (language or current_language()) == "es":
        text = text.replace(",", "\0").replace(".", ",").replace("\0", ".")
    return text


def tamano(size: int, language: str | None = None) -> str:
    """A file size as people read it: ``850 KB``, ``3,4 MB`` (``3.4 MB`` in English)."""
    if size < 1024 * 1024:
        return f"{max(1, round(size / 1024))} KB"
    return f"{numero(size / (1024 * 1024), 1, language)} MB"
