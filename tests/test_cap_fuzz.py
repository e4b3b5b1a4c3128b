"""Hostile and random input: CAP parsing only ever answers a CapMessage or an AlertError."""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

from hypothesis import given, settings
from hypothesis import strategies as st

from signage.alerts.cap import parse_cap
from signage.alerts.select import visible
from signage.errors import AlertError
from signage.model import Alert, AlertStatus, Screen, Severity
from tests.helpers_alerts import NOW, make_alert

SAMPLE = (Path(__file__).parent / "data" / "cap" / "alerta-es-en.xml").read_bytes()
WHEN = datetime(2026, 11, 28, 14, 45, tzinfo=ZoneInfo("America/Bogota"))


def outcome(xml: bytes) -> str:
    try:
        message = parse_cap(xml, now=WHEN)
    except AlertError as exc:
        assert str(exc)  # a reason, never empty
        return "refused"
    return "alert" if message.alert is not None else "ignored"


@settings(max_examples=150, deadline=None)
@given(st.binary(max_size=600))
def test_random_bytes_are_refused_with_a_reason(data: bytes) -> None:
    assert outcome(data) in {"refused", "ignored", "alert"}


@settings(max_examples=150, deadline=None)
@given(st.integers(0, len(SAMPLE) - 1), st.integers(1, 40), st.binary(max_size=8))
def test_damaged_messages_never_raise_anything_else(start: int, length: int, junk: bytes) -> None:
    damaged = SAMPLE[:start] + junk + SAMPLE[start + length :]
    assert outcome(damaged) in {"refused", "ignored", "alert"}


alerts = st.builds(
    make_alert,
    alert_id=st.text("abcdef", min_size=1, max_size=6),
    severity=st.sampled_from(list(Severity)),
    sent=st.integers(-600, 0).map(lambda m: NOW + timedelta(minutes=m)),
    lifetime=st.integers(1, 600).map(lambda m: timedelta(minutes=m)),
    status=st.sampled_from(list(AlertStatus)),
    tags=st.one_of(
        st.none(), st.frozensets(st.sampled_from(["lobby", "sala", "piso-1"]), min_size=1)
    ),
)


@settings(max_examples=200, deadline=None)
@given(st.lists(alerts, max_size=8), st.booleans())
def test_visible_is_ordered_and_only_shows_what_it_may(items: list[Alert], exercise: bool) -> None:
    screen = Screen("s", frozenset({"lobby"}))
    shown = visible(items, screen, NOW, exercise)
    for alert in shown:
        assert alert.expires > NOW
        assert alert.tags is None or "lobby" in alert.tags
        assert alert.status is AlertStatus.ACTUAL or (
            alert.status is AlertStatus.EXERCISE and exercise
        )
    keys = [(a.severity.rank, -a.sent.timestamp()) for a in shown]
    assert keys == sorted(keys)
    assert len(shown) == sum(
        1 for a in items
        if a.expires > NOW and (a.tags is None or "lobby" in a.tags)
        and (a.status is AlertStatus.ACTUAL or (a.status is AlertStatus.EXERCISE and exercise))
    )  # fmt: skip
