"""The telemetry room's words for people: what a screen's state and error counts mean.

The hub's API keeps stable English facts (``stale_reason``, the ``errors`` keys, the
screen's ``last_error`` as its log wrote it) for scripts and IT. The console and
``signage status`` read the same facts to a communicator in their language: why a screen
is out of date (from ``stale_code``) and which kinds of trouble it counted. Pure functions;
the words go through ``signage.i18n`` and so follow the reader's language.
"""

from __future__ import annotations

from collections.abc import Callable, Mapping

from signage.i18n import _, ngettext

# Why a screen is out of date (``assess`` in ``signage.hub.telemetry_store``).
STALE_EXPIRED = "expired"  # the screen says its content expired
STALE_EMPTY = "empty"  # it has no content at all
STALE_BEHIND = "behind"  # it plays an older version than the hub's, past the grace
STALE_CODES = (STALE_EXPIRED, STALE_EMPTY, STALE_BEHIND)


def stale_reason_en(code: str, version: int | None, hub_version: int | None) -> str:
    """The API's ``stale_reason``: fixed English, the same whatever the reader's language."""
    if code == STALE_EXPIRED:
        return "content expired on the screen"
    if code == STALE_EMPTY:
        return "no content on the screen"
    return f"plays version {version}, the hub has {hub_version}"


def stale_text(
    code: object, version: object, hub_version: object, fallback: object = None
) -> str | None:
    """Why a screen is out of date, in the reader's language; None when it is not.

    ``fallback`` (the API's English ``stale_reason``) is shown for a code this version
    does not know, so a newer hub's reason is never hidden.
    """
    if code == STALE_EXPIRED:
        return _("its content expired: it has not been able to sync for too long")
    if code == STALE_EMPTY:
        return _("it has no content yet: it has never synced")
    if code == STALE_BEHIND:
        return _("it shows version %(version)s; the server has %(hub)s") % {
            "version": _number(version),
            "hub": _number(hub_version),
        }
    return None if fallback is None else str(fallback)


def _number(value: object) -> str:
    """A version as read from a report (the screen's input): an integer, else "?"."""
    return str(value) if isinstance(value, int) and not isinstance(value, bool) else "?"


# The kinds of trouble a heartbeat counts: events the player tracks, then logging areas
# (``signage.logs.AREAS``), each counted WARNING-or-worse record. Written as calls so the
# catalog tools find both forms of every phrase.
_EVENTS: dict[str, Callable[[int], str]] = {
    "slide_skipped": lambda n: ngettext("%(n)s slide skipped", "%(n)s slides skipped", n),
    "feed_rejected": lambda n: ngettext(
        "%(n)s content version refused", "%(n)s content versions refused", n
    ),
    "playlist_rejected": lambda n: ngettext("%(n)s playlist refused", "%(n)s playlists refused", n),
}
_AREAS: dict[str, Callable[[int], str]] = {
    "player": lambda n: ngettext(
        "%(n)s warning from the player", "%(n)s warnings from the player", n
    ),
    "feed": lambda n: ngettext("%(n)s warning from the sync", "%(n)s warnings from the sync", n),
    "hub": lambda n: ngettext(
        "%(n)s warning from the server link", "%(n)s warnings from the server link", n
    ),
    "kiosk": lambda n: ngettext("%(n)s warning from the kiosk", "%(n)s warnings from the kiosk", n),
    "alerts": lambda n: ngettext("%(n)s warning from alerts", "%(n)s warnings from alerts", n),
    "qr": lambda n: ngettext("%(n)s warning from QR codes", "%(n)s warnings from QR codes", n),
    "playlist": lambda n: ngettext(
        "%(n)s warning from playlists", "%(n)s warnings from playlists", n
    ),
    "uplink": lambda n: ngettext(
        "%(n)s warning from the data upload", "%(n)s warnings from the data upload", n
    ),
    "qt": lambda n: ngettext(
        "%(n)s warning from the display", "%(n)s warnings from the display", n
    ),
}


def error_parts(errors: Mapping[str, object], limit: int = 4) -> list[str]:
    """The counted troubles as short phrases, most frequent first (at most ``limit``).

    Tracked events ("3 slides skipped") come before logging areas ("2 warnings from the
    player"); a key this version does not know is counted under "other warnings". Counts
    that are not positive integers are ignored (the report is the screen's input).
    """
    known: list[tuple[int, int, str]] = []
    other = 0
    for key, value in errors.items():
        if not isinstance(value, int) or isinstance(value, bool) or value <= 0:
            continue
        if key in _EVENTS:
            known.append((0, -value, _EVENTS[key](value) % {"n": value}))
        elif key in _AREAS:
            known.append((1, -value, _AREAS[key](value) % {"n": value}))
        else:
            other += value
    parts = [text for _rank, _count, text in sorted(known)]
    if other:
        parts.append(ngettext("%(n)s other warning", "%(n)s other warnings", other) % {"n": other})
    if len(parts) > limit:
        rest = len(parts) - (limit - 1)
        more = ngettext("%(n)s more kind", "%(n)s more kinds", rest) % {"n": rest}
        parts = [*parts[: limit - 1], more]
    return parts
