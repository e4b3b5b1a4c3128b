"""The proof-of-play log: JSON Lines appended to ``--events FILE``, one event a line.

Every line has ``ts`` (RFC 3339, UTC, milliseconds) and ``event``; the fields of each event
are listed in CONTRACT.md. Writers in several threads share one ``EventLog``.
"""

from __future__ import annotations

import json
import threading
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

Listener = Callable[[dict[str, Any]], None]


def rfc3339_ms(moment: datetime) -> str:
    """``2026-11-28T14:41:21.123Z`` for an aware datetime."""
    return moment.astimezone(UTC).isoformat(timespec="milliseconds").replace("+00:00", "Z")


class EventLog:
    """Appends events to a file (if given) and hands each to listeners (batch uploader...).

    Args:
        path: the JSON Lines file, created with its folder; ``None`` keeps events in memory
            for listeners only.
        clock: returns the aware current time (injected by tests).
    """

    __slots__ = ("_clock", "_listeners", "_lock", "_path")

    def __init__(
        self, path: Path | None = None, clock: Callable[[], datetime] | None = None
    ) -> None:
        self._path = path
        self._clock = clock or (lambda: datetime.now(UTC))
        self._lock = threading.Lock()
        self._listeners: list[Listener] = []
        if path is not None:
            path.parent.mkdir(parents=True, exist_ok=True)

    @property
    def path(self) -> Path | None:
        return self._path

    def subscribe(self, listener: Listener) -> None:
        self._listeners.append(listener)

    def emit(self, event: str, **fields: Any) -> dict[str, Any]:
        record: dict[str, Any] = {"ts": rfc3339_ms(self._clock()), "event": event, **fields}
        line = json.dumps(record, ensure_ascii=False, separators=(",", ":"), default=str)
        with self._lock:
            if self._path is not None:
                with self._path.open("a", encoding="utf-8") as fh:
                    fh.write(line + "\n")
            listeners = list(self._listeners)
        for listener in listeners:
            listener(record)
        return record


def read_events(path: Path) -> list[dict[str, Any]]:
    """Every complete event in a log (a torn last line is ignored)."""
    out: list[dict[str, Any]] = []
    if not path.exists():
        return out
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return out
