"""The screens a hub knows of, as the alert room needs them: what their heartbeats said.

Reads the telemetry room's table (``screen_heartbeats``) read-only; a hub without telemetry
(or before any heartbeat) knows no screen.
"""

from __future__ import annotations

import json
import sqlite3
from typing import TYPE_CHECKING

from signage.alerts.reach import ScreenFacts
from signage.logs import area_logger

if TYPE_CHECKING:
    from signage.hub.state import Hub

__all__ = ["known_screens"]

log = area_logger("hub")


def known_screens(hub: Hub) -> list[ScreenFacts]:
    """Every screen that sent a heartbeat: its tags, audience and exercise setting."""
    from signage.telemetry.wire import HeartbeatReport, ReportError

    try:
        rows = hub.db().execute("SELECT report FROM screen_heartbeats").fetchall()
    except sqlite3.Error:
        return []
    out: list[ScreenFacts] = []
    for (body,) in rows:
        try:
            report = HeartbeatReport.from_json(json.loads(body))
        except (ValueError, ReportError):
            continue
        out.append(ScreenFacts(report.screen, frozenset(report.tags), report.audience,
                               report.exercise))  # fmt: skip
    return out
