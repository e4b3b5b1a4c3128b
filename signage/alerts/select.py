"""Which alerts a screen shows: pure decisions on (alerts, screen, now), no I/O, no Qt.

Rules: an alert is visible on a screen when its tags match (``None`` = every screen; else
any tag in common), its onset has come and it has not expired at ``now``, its status is
Actual, or Exercise on a screen configured for exercises, and it is public or the screen's
audience is ``internal`` (CAP Restricted: staff only). ``now`` is one moment, or a function
giving the moment each alert is judged at (``signage.timebase.alert_now``: the hub's time,
not a wrong local clock). Test alerts are never shown. The order is most severe first, then
most recently sent, then id (so the order is total and stable).
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from datetime import datetime

from signage.model import Alert, AlertStatus, Screen

AlertClock = Callable[[Alert], datetime]
"""The moment an alert's expiry is judged at (per alert: its receipt may matter)."""


def _judge(now: datetime | AlertClock) -> AlertClock:
    if isinstance(now, datetime):
        moment = now
        return lambda _alert: moment
    return now


def matches_screen(alert: Alert, screen: Screen) -> bool:
    """Whether the alert targets this screen by its tags."""
    return alert.tags is None or bool(alert.tags & screen.tags)


def matches_audience(alert: Alert, screen: Screen) -> bool:
    """A public alert shows anywhere; a Restricted one (``restriction``) on internal screens."""
    return alert.restriction is None or screen.audience == "internal"


def started(alert: Alert, now: datetime) -> bool:
    """Its onset (CAP ``effective``/``onset``) has come, or it has none."""
    return alert.onset is None or now >= alert.onset


def shown_status(alert: Alert, exercise: bool) -> bool:
    """Actual always; Exercise only on exercise screens; Test never."""
    if alert.status is AlertStatus.ACTUAL:
        return True
    return alert.status is AlertStatus.EXERCISE and exercise


def order_key(alert: Alert) -> tuple[int, float, str]:
    """Sort key: most severe first, then most recent, then id."""
    return (alert.severity.rank, -alert.sent.timestamp(), alert.id)


def visible(
    alerts: Iterable[Alert], screen: Screen, now: datetime | AlertClock, exercise: bool
) -> tuple[Alert, ...]:
    """The alerts this screen shows at ``now``, most severe first, then most recent."""
    judge = _judge(now)
    chosen = [
        a
        for a in alerts
        if a.active_at(judge(a))
        and started(a, judge(a))
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


def seconds_to_expiry(alerts: Iterable[Alert], now: datetime | AlertClock) -> float | None:
    """Seconds until the first of the alerts not yet expired expires, judged by ``now``."""
    judge = _judge(now)
    left = [(a.expires - judge(a)).total_seconds() for a in alerts]
    later = [s for s in left if s > 0]
    return min(later) if later else None


def seconds_to_change(alerts: Iterable[Alert], now: datetime | AlertClock) -> float | None:
    """Seconds until the first onset or expiry still ahead, judged by ``now``: when the
    visible set may change next (an onset shows an alert, an expiry ends it)."""
    judge = _judge(now)
    left = [(a.expires - judge(a)).total_seconds() for a in alerts]
    left += [(a.onset - judge(a)).total_seconds() for a in alerts if a.onset is not None]
    later = [s for s in left if s > 0]
    return min(later) if later else None


def top_group(alerts: tuple[Alert, ...]) -> tuple[Alert, ...]:
    """The leading alerts that share the top severity (these take turns on screen)."""
    if not alerts:
        return ()
    first = alerts[0].severity
    return tuple(a for a in alerts if a.severity is first)
