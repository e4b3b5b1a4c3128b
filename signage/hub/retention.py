"""The hub's retention: old scans, play counts and silent screens leave the database.

Run by the app every ``HubPolicy.prune_every_s`` (and once at start) on a worker thread.
Each table belongs to its area (``qr_scans`` and ``pop_counts`` to the scan room,
``screen_heartbeats`` to telemetry); a table an area has not created yet is skipped.
Freed pages are reused by SQLite, so with the caps on what screens may send the
database stops growing once the retention periods are full.
"""

from __future__ import annotations

import asyncio
import contextlib
import sqlite3
from dataclasses import dataclass
from datetime import datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING

from signage.events import rfc3339_ms
from signage.hub.dbguard import is_damage
from signage.hub.policy import HubPolicy
from signage.logs import area_logger

if TYPE_CHECKING:
    from signage.hub.state import Hub

log = area_logger("hub")


@dataclass(frozen=True, slots=True)
class Cutoffs:
    """What is old enough to go, for one run; pure values from ``cutoffs``."""

    scans_before: str
    plays_before_hour: str
    screens_before_epoch: float


def cutoffs(now: datetime, policy: HubPolicy) -> Cutoffs:
    """The retention cut-offs at ``now``; pure."""
    return Cutoffs(
        scans_before=rfc3339_ms(now - timedelta(days=policy.keep_scans_days)),
        plays_before_hour=rfc3339_ms(now - timedelta(days=policy.keep_plays_days))[:13],
        screens_before_epoch=now.timestamp() - policy.keep_screens_days * 86400.0,
    )


def _delete(conn: sqlite3.Connection, sql: str, value: object) -> int:
    try:
        with conn:
            return conn.execute(sql, (value,)).rowcount
    except sqlite3.OperationalError as exc:
        if "no such table" in str(exc):
            return 0
        raise


def prune(
    conn: sqlite3.Connection, now: datetime, policy: HubPolicy, screenshots: Path
) -> dict[str, int]:
    """Deletes what the policy no longer keeps; returns how many rows of each kind."""
    cut = cutoffs(now, policy)
    scans = _delete(conn, "DELETE FROM qr_scans WHERE ts < ?", cut.scans_before)
    plays = _delete(conn, "DELETE FROM pop_counts WHERE hour < ?", cut.plays_before_hour)
    try:
        gone = [
            row[0]
            for row in conn.execute(
                "SELECT screen FROM screen_heartbeats WHERE received < ?",
                (cut.screens_before_epoch,),
            )
        ]
    except sqlite3.OperationalError as exc:
        if "no such table" not in str(exc):
            raise
        gone = []
    if gone:
        _delete(conn, "DELETE FROM screen_heartbeats WHERE received < ?", cut.screens_before_epoch)
        for screen in gone:
            with contextlib.suppress(OSError):
                (screenshots / f"{screen}.png").unlink()
    done = {"scans": scans, "plays": plays, "screens": len(gone)}
    if any(done.values()):
        log.info(
            "retention: removed %d scan(s), %d hourly play count(s), %d silent screen(s)",
            scans,
            plays,
            len(gone),
        )
    return done


def prune_hub(hub: Hub) -> dict[str, int]:
    """One retention run over ``hub``'s database (blocking: run it on a worker thread)."""
    return prune(hub.db(), hub.now(), hub.config.policy, hub.config.data_dir / "screenshots")


async def keep_tidy(hub: Hub) -> None:
    """Runs the retention at once, then every ``policy.prune_every_s``, until cancelled."""
    while True:
        try:
            await asyncio.to_thread(prune_hub, hub)
        except sqlite3.DatabaseError as exc:
            if is_damage(exc):
                await asyncio.to_thread(hub.recover_database, exc)
            else:
                log.warning("retention run failed (%s); trying again later", exc)
        except Exception:  # a bug here must not end the runs for good
            log.exception("retention run failed; trying again later")
        await asyncio.sleep(hub.config.policy.prune_every_s)
