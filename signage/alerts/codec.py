"""Alert JSON codec for the alert room: the feed's one serialised form of an Alert.

The shape is defined once in ``signage.feed.codec`` (the manifest's ``alerts[]`` entries);
the store files and the hub's alert API use it too. This module turns the feed's
``FeedError`` into ``AlertError`` (so the CLI and hub report an alert problem) and adds the
one rule an alert needs beyond its shape: it must expire after it was sent.
"""

from __future__ import annotations

import json
from typing import Any

from signage.errors import AlertError, FeedError
from signage.feed import codec as feed_codec
from signage.model import Alert

__all__ = ["alert_from_json", "alert_to_json", "dumps"]


def alert_to_json(alert: Alert) -> dict[str, Any]:
    """The JSON object for ``alert`` (plain types only, stable key order)."""
    out: dict[str, Any] = feed_codec.alert_to_json(alert)
    return out


def alert_from_json(data: Any, where: str = "alert") -> Alert:
    """An Alert from its JSON object; raises AlertError naming the field that is wrong."""
    try:
        alert = feed_codec.alert_from_json(data, where)
    except FeedError as exc:
        raise AlertError(exc.reason) from None
    if alert.expires <= alert.sent:
        raise AlertError(f"{where}: 'expires' must be after 'sent'")
    return alert


def dumps(alert: Alert) -> str:
    """Pretty JSON text of one alert (what the store writes)."""
    return json.dumps(alert_to_json(alert), ensure_ascii=False, indent=2) + "\n"
