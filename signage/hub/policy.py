"""The hub's limits on what screens may store: how many, how much, for how long.

One ``HubPolicy`` per hub (``HubConfig.policy``), built by ``signage serve`` from its
flags; the defaults are the documented ones (docs/hub.md, "Threat model").

Args:
    max_unenrolled: screens without a token of their own (reporting with the shared or
        the admin token) the hub keeps; a new one beyond is refused with 403
        (``--max-unenrolled``, default 200).
    keep_scans_days: QR scans older than this are deleted (``--keep-scans``, 400).
    keep_plays_days: hourly play counts older than this are deleted (``--keep-plays``, 400).
    keep_screens_days: a screen silent this long leaves the fleet view, with its
        screenshot (``--keep-screens``, 30; an enrolled screen keeps its token).
    max_events_per_screen_hour: proof-of-play events taken from one screen in one hour
        (7,200: two a second); more are refused with a reason.
    max_slides_per_screen_hour: distinct (playlist, slide) pairs counted for one screen in
        one hour (500); events naming more are refused.
    max_scans_per_hour: QR scans stored per hour (3,600); more still redirect the phone
        but are not stored (logged once an hour).
    prune_every_s: how often the retention runs (hourly).
"""

from __future__ import annotations

from dataclasses import dataclass


@dataclass(frozen=True, slots=True, kw_only=True)
class HubPolicy:
    """See the module docstring."""

    max_unenrolled: int = 200
    keep_scans_days: int = 400
    keep_plays_days: int = 400
    keep_screens_days: int = 30
    max_events_per_screen_hour: int = 7200
    max_slides_per_screen_hour: int = 500
    max_scans_per_hour: int = 3600
    prune_every_s: float = 3600.0
