"""Alert JSON codec: the one serialised form of an Alert, in the store and in the feed.

The feed manifest's ``alerts`` field holds a list of these objects. Times are RFC 3339 with
their offset; ``tags`` is ``null`` for every screen.
"""

from __future__ import annotations

import json
from collections.abc import Mapping
from datetime import datetime
from typing import Any

from signage.errors import AlertError
from signage.model import Alert, AlertStatus, AlertText, Severity


def _time(value: datetime) -> str:
    return value.isoformat(timespec="seconds")


def alert_to_json(alert: Alert) -> dict[str, Any]:
    """The JSON object for ``alert`` (plain types only, stable key order)."""
    return {
        "id": alert.id,
        "severity": alert.severity.value,
        "status": alert.status.value,
        "sender": alert.sender,
        "sent": _time(alert.sent),
        "expires": _time(alert.expires),
        "tags": sorted(alert.tags) if alert.tags is not None else None,
        "status_url": alert.status_url,
        "template": alert.template,
        "texts": [
            {
                "language": t.language,
                "headline": t.headline,
                "description": t.description,
                "instruction": t.instruction,
            }
            for t in alert.texts
        ],
    }


def _str(data: Mapping[str, Any], key: str, where: str, *, optional: bool = False) -> str:
    value = data.get(key)
    if value is None and optional:
        return ""
    if not isinstance(value, str) or (not optional and not value):
        raise AlertError(f"{where}: '{key}' must be a non-empty string")
    return value


def _aware(data: Mapping[str, Any], key: str, where: str) -> datetime:
    raw = _str(data, key, where)
    try:
        moment = datetime.fromisoformat(raw)
    except ValueError:
        raise AlertError(f"{where}: '{key}' is not an RFC 3339 time: {raw!r}") from None
    if moment.tzinfo is None:
        raise AlertError(f"{where}: '{key}' needs a UTC offset, e.g. {raw}-05:00")
    return moment


def alert_from_json(data: Any, where: str = "alert") -> Alert:
    """An Alert from its JSON object; raises AlertError naming the field that is wrong."""
    if not isinstance(data, Mapping):
        raise AlertError(f"{where}: an alert must be a JSON object")
    try:
        severity = Severity(str(data.get("severity")))
    except ValueError:
        choices = ", ".join(s.value for s in Severity)
        raise AlertError(f"{where}: 'severity' must be one of {choices}") from None
    try:
        status = AlertStatus(str(data.get("status", AlertStatus.ACTUAL.value)))
    except ValueError:
        choices = ", ".join(s.value for s in AlertStatus)
        raise AlertError(f"{where}: 'status' must be one of {choices}") from None
    raw_texts = data.get("texts")
    if not isinstance(raw_texts, list) or not raw_texts:
        raise AlertError(f"{where}: 'texts' must be a non-empty list")
    texts = []
    for i, raw in enumerate(raw_texts):
        here = f"{where}: texts[{i}]"
        if not isinstance(raw, Mapping):
            raise AlertError(f"{here}: must be an object with language and headline")
        texts.append(
            AlertText(
                language=_str(raw, "language", here),
                headline=_str(raw, "headline", here),
                description=_str(raw, "description", here, optional=True),
                instruction=_str(raw, "instruction", here, optional=True),
            )
        )
    tags = data.get("tags")
    if tags is not None and (
        not isinstance(tags, list) or not all(isinstance(t, str) and t for t in tags)
    ):
        raise AlertError(f"{where}: 'tags' must be null or a list of words")
    status_url = data.get("status_url")
    if status_url is not None and not isinstance(status_url, str):
        raise AlertError(f"{where}: 'status_url' must be a string or null")
    template = data.get("template")
    if template is not None and not isinstance(template, str):
        raise AlertError(f"{where}: 'template' must be a string or null")
    sent = _aware(data, "sent", where)
    expires = _aware(data, "expires", where)
    if expires <= sent:
        raise AlertError(f"{where}: 'expires' must be after 'sent'")
    return Alert(
        id=_str(data, "id", where),
        severity=severity,
        texts=tuple(texts),
        sender=_str(data, "sender", where),
        sent=sent,
        expires=expires,
        status=status,
        tags=frozenset(tags) if tags is not None else None,
        status_url=status_url or None,
        template=template or None,
    )


def dumps(alert: Alert) -> str:
    """Pretty JSON text of one alert (what the store writes)."""
    return json.dumps(alert_to_json(alert), ensure_ascii=False, indent=2) + "\n"
