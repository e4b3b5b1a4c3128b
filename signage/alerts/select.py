"""Which alerts a screen shows: pure decisions on (alerts, screen, now), no I/O, no Qt.

Rules: an alert is visible on a screen when its tags match (``None`` = every screen; else
any tag in common), its onset has come and it has not expired at ``now``, its status is
Actual, or Exercise on a screen configured for exercises, and it is public or the screen's
audience is ``internal`` (CAP Restricted: staff only). Test alerts are never shown. The
order is most severe first, then most recently sent, then id (so the order is total and
stable).
"""

from __future__ import annotations

from collections.abc import Iterable
from datetime import datetime

from signage.model import Alert, AlertStatus, Screen


def matches_screen(alert: Alert, screen: Screen) -> bool:
    """Whether the alert targets this screen by its tags."""
    return alert.tags is None or bool(alert.tags & screen.tags)


def shown_status(alert: Alert, exercise: bool) -> bool:
    """Actual always; Exercise only on exercise screens; Test never."""
    if alert.status is AlertStatus.ACTUAL:
        return True
    return alert.status is AlertStatus.EXERCISE and exercise


def matches_audience(alert: Alert, screen: Screen) -> bool:
    """A public alert shows anywhere; a Restricted one (``restriction``) on internal screens."""
    return alert.restriction is None or screen.audience == "internal"


def started(alert: Alert, now: datetime) -> bool:
    """Its onset (CAP ``effective``/``onset``) has come, or it has none."""
    return alert.onset is None or now >= alert.onset


def order_key(alert: Alert) -> tuple[int, float, str]:
    """Sort key: most severe first, then most recent, then id."""
    return (alert.severity.rank, -alert.sent.timestamp(), alert.id)


def visible(
    alerts: Iterable[Alert], screen: Screen, now: datetime, exercise: bool
) -> tuple[Alert, ...]:
    """The alerts this screen shows at ``now``, most severe first, then most recent."""
    chosen = [
        a
        for a in alerts
        if a.active_at(now)
        and started(a, now)
        and matches_screen(a, screen)
        and matches_audience(a, screen)
        and shown_status(a, exercise)
    ]
    return tuple(sorted(chosen, key=order_key))


def next_expiry(alerts: Iterable[Alert], now: datetime) -> datetime | None:
    """The earliest expiry after ``now`` among the alerts, or None when none expires later."""
    later = [a.expires for a in alerts if a.expires > now]
    return min(later) if later else None


def next_change(alerts: Iterable[Alert], now: datetime) -> datetime | None:
    """The earliest onset or expiry after ``now``: when the visible set may change next."""
    later = [a.expires for a in alerts if a.expires > now]
    later += [a.onset for a in alerts if a.onset is not None and a.onset > now]
    return min(later) if later else None


def top_group(alerts: tuple[Alert, ...]) -> tuple[Alert, ...]:
    """The leading alerts that share the top severity (these take turns on screen)."""
    if not alerts:
        return ()
    first = alerts[0].severity
    return tuple(a for a in alerts if a.severity is first)
