"""The alert store: one JSON file per raised alert (``ROOT/alerts/`` or ``DATA/alerts/``).

Each write is a temp file, fsync, then an atomic rename (and an fsync of the folder), so a
power cut leaves either the old alert or the new one, never half a file. Expired alerts are
left out of ``active`` and removed by ``prune``. A file that cannot be read is skipped with a
log line; it never hides the other alerts.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
import tempfile
from datetime import datetime
from pathlib import Path

from signage.alerts.codec import alert_from_json, dumps
from signage.errors import AlertError
from signage.logs import area_logger
from signage.model import Alert
from signage.safeopen import opened_inside

log = area_logger("alerts")

_MAX_ALERT_BYTES = 1 << 20  # an alert file is a few KB; anything larger is not one
ALERT_ID = re.compile(r"^[A-Za-z0-9][A-Za-z0-9._-]{0,99}$")


def check_alert_id(alert_id: str) -> str:
    """The id itself when it is usable as a file name; AlertError otherwise."""
    if not ALERT_ID.match(alert_id):
        raise AlertError(
            f"alert id {alert_id!r} is not valid: use 1-100 letters, digits, '.', '_' or '-'"
        )
    return alert_id


def _fsync_dir(folder: Path) -> None:
    with contextlib.suppress(OSError):
        fd = os.open(folder, os.O_RDONLY)
        try:
            os.fsync(fd)
        finally:
            os.close(fd)


class AlertStore:
    """Raised alerts kept as ``<id>.json`` files in ``folder`` (created on first write).

    Args:
        folder: where the files live; a content root's is ``ROOT/alerts``.
    """

    __slots__ = ("folder",)

    def __init__(self, folder: Path) -> None:
        self.folder = folder

    def _path(self, alert_id: str) -> Path:
        return self.folder / f"{check_alert_id(alert_id)}.json"

    def raise_alert(self, alert: Alert) -> Path:
        """Writes (or replaces) the alert's file atomically; returns its path."""
        target = self._path(alert.id)
        self.folder.mkdir(parents=True, exist_ok=True)
        fd, tmp = tempfile.mkstemp(prefix=f".{alert.id}.", suffix=".tmp", dir=self.folder)
        try:
            with os.fdopen(fd, "w", encoding="utf-8") as fh:
                fh.write(dumps(alert))
                fh.flush()
                os.fsync(fh.fileno())
            Path(tmp).replace(target)
        except BaseException:
            Path(tmp).unlink(missing_ok=True)
            raise
        _fsync_dir(self.folder)
        return target

    def clear(self, alert_id: str) -> bool:
        """Removes one alert; False when there was no such alert."""
        path = self._path(alert_id)
        try:
            path.unlink()
        except FileNotFoundError:
            return False
        _fsync_dir(self.folder)
        return True

    def clear_all(self) -> int:
        """Removes every alert (expired ones too); returns how many active files went."""
        count = 0
        for path in self._files():
            with contextlib.suppress(FileNotFoundError):
                path.unlink()
                count += 1
        if count:
            _fsync_dir(self.folder)
        return count

    def get(self, alert_id: str) -> Alert | None:
        """The stored alert with this id (expired or not), or None."""
        path = self._path(alert_id)
        return self._read(path) if path.exists() else None

    def all(self) -> tuple[Alert, ...]:
        """Every readable stored alert, expired ones included, ordered by id."""
        out = []
        for path in self._files():
            alert = self._read(path)
            if alert is not None:
                out.append(alert)
        return tuple(out)

    def active(self, now: datetime) -> tuple[Alert, ...]:
        """The stored alerts not yet expired at ``now``, ordered by id."""
        return tuple(a for a in self.all() if a.active_at(now))

    def prune(self, now: datetime) -> int:
        """Deletes the files of alerts expired at ``now``; returns how many."""
        count = 0
        for alert in self.all():
            if not alert.active_at(now) and self.clear(alert.id):
                count += 1
        return count

    def _files(self) -> list[Path]:
        if not self.folder.is_dir():
            return []
        return sorted(p for p in self.folder.glob("*.json") if not p.name.startswith("."))

    def _read(self, path: Path) -> Alert | None:
        try:
            # one open, checked: a link in the alerts folder cannot pull in another file
            with opened_inside(path, self.folder) as (fh, _):
                raw = fh.read(_MAX_ALERT_BYTES + 1)
            if len(raw) > _MAX_ALERT_BYTES:
                raise AlertError(f"larger than {_MAX_ALERT_BYTES} bytes")
            data = json.loads(raw.decode("utf-8"))
            return alert_from_json(data, where=str(path))
        except FileNotFoundError:
            return None
        except (OSError, UnicodeDecodeError, json.JSONDecodeError, AlertError) as exc:
            log.warning("%s: skipped an unreadable alert file: %s", path, exc)
            return None
