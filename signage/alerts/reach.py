"""How many screens an alert will reach, and when none will, why: pure, on what screens said.

``signage alert import-cap --hub`` answers with this (the hub knows its screens from their
heartbeats: tags, audience, exercise). The rules are those of ``alerts.select``; an alert
whose onset is still ahead counts as reaching a screen (it appears there when due).
"""

from __future__ import annotations

from collections import Counter
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime

from signage.alerts.select import matches_audience, matches_screen, shown_status
from signage.model import Alert, AlertStatus, Screen

__all__ = ["Reach", "ScreenFacts", "reach"]


@dataclass(frozen=True, slots=True)
class ScreenFacts:
    """What a screen reported about itself (``None``: an older screen that did not say)."""

    id: str
    tags: frozenset[str] = frozenset()
    audience: str | None = None
    exercise: bool | None = None


@dataclass(frozen=True, slots=True)
class Reach:
    """``count`` of ``total`` known screens will show it; ``why`` explains the others."""

    count: int
    total: int
    why: tuple[str, ...] = ()
    starts: datetime | None = None

    def sentence(self) -> str:
        when = f" from {self.starts.isoformat(timespec='minutes')}" if self.starts else ""
        if self.total == 0:
            return "no screen has reported to this hub yet, so none is known to show it"
        if self.count == 0:
            return f"no screen will show it ({self.total} known): " + "; ".join(self.why)
        head = f"{self.count} of {self.total} screen(s) will show it{when}"
        return head + (f" (not the others: {'; '.join(self.why)})" if self.why else "")


def _why_not(alert: Alert, facts: ScreenFacts) -> str | None:
    screen = Screen(id=facts.id, tags=facts.tags, audience=facts.audience or "public")
    if alert.status is AlertStatus.TEST:
        return "a Test alert is never shown"
    if not matches_screen(alert, screen):
        return f"no tag in common with {', '.join(sorted(alert.tags or ()))}"
    if not matches_audience(alert, screen):
        return "public screens (the alert is Restricted: for staff, on internal screens only)"
    if not shown_status(alert, bool(facts.exercise)):
        return "not exercise screens (the alert is an Exercise)"
    return None


def reach(alert: Alert, screens: Sequence[ScreenFacts], now: datetime) -> Reach:
    """How many of ``screens`` will show ``alert`` (now, or at its onset)."""
    reasons: Counter[str] = Counter()
    count = 0
    for facts in screens:
        reason = _why_not(alert, facts)
        if reason is None:
            count += 1
        else:
            reasons[reason] += 1
    if not alert.active_at(now):
        return Reach(0, len(screens), ("it has already expired",))
    others = tuple(f"{n} screen(s): {reason}" for reason, n in sorted(reasons.items()))
    starts = alert.onset if alert.onset is not None and alert.onset > now else None
    return Reach(count, len(screens), others, starts)
