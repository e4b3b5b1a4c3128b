"""The hub's database guard: a damaged ``hub.sqlite3`` is set aside, never fatal.

The signed feed and the alerts do not depend on the database (it holds telemetry: the
fleet's last heartbeats, proof-of-play counts, QR codes and scans). So a damaged file must
not stop the hub, nor make the screens' endpoints answer 500:

- at start, ``quick_check`` runs ``PRAGMA quick_check`` on the file; a file that fails
  (or is not a database at all) is renamed ``hub.sqlite3.damaged-YYYYMMDDTHHMMSSZ`` (with
  its ``-wal`` and ``-shm``) by ``set_aside``, logged, and a new database is started;
- while running, an ``sqlite3.DatabaseError`` that ``is_damage`` recognises
  (``SQLITE_CORRUPT``, ``SQLITE_NOTADB``: "database disk image is malformed", "file is
  not a database") makes the database object set the file aside the same way and start
  anew; the request that met it answers 503 with ``Retry-After`` (its telemetry is lost);
- the files set aside are listed by ``damaged_files`` (newest first, at most
  ``KEEP_DAMAGED``; older ones are deleted so a file damaged again and again cannot fill
  the disk) and reported at ``GET /api/v1/feed`` under ``"database"``, where the console
  reads them.
"""

from __future__ import annotations

import contextlib
import sqlite3
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

from signage.logs import area_logger

log = area_logger("hub")

DAMAGED_TAG = ".damaged-"
KEEP_DAMAGED = 3
SIDE_FILES = ("-wal", "-shm", "-journal")
# sqlite3.Error.sqlite_errorcode (primary code in the low byte): SQLITE_CORRUPT, SQLITE_NOTADB.
DAMAGE_CODES = frozenset({11, 26})
DAMAGE_WORDS = (
    "file is not a database",
    "database disk image is malformed",
    "malformed database schema",
    "database corrupt",
)


def is_damage(exc: BaseException) -> bool:
    """Whether ``exc`` says the database file itself is damaged (not busy, not a bug); pure."""
    if not isinstance(exc, sqlite3.DatabaseError):
        return False
    code = getattr(exc, "sqlite_errorcode", None)
    if isinstance(code, int) and code & 0xFF in DAMAGE_CODES:
        return True
    text = str(exc).lower()
    return any(word in text for word in DAMAGE_WORDS)


def quick_check(path: Path, pragma: str = "quick_check") -> str | None:
    """Why the database at ``path`` is damaged, or ``None`` when it is sound or absent.

    Opens its own read-only connection, runs ``PRAGMA quick_check`` (a few ms for a hub's
    database: it checks every page's structure, not the index contents; ``pragma=
    "integrity_check"`` checks the indexes too, slower) and closes.
    """
    if not path.exists():
        return None
    try:
        conn = sqlite3.connect(f"{path.as_uri()}?mode=ro", uri=True, timeout=5.0)
    except sqlite3.Error as exc:
        return str(exc)
    try:
        rows = conn.execute(f"PRAGMA {pragma}(5)").fetchall()
    except sqlite3.DatabaseError as exc:
        if isinstance(exc, sqlite3.OperationalError) and not is_damage(exc):
            log.warning("cannot check %s now (%s); using it as it is", path, exc)
            return None
        return str(exc)
    finally:
        conn.close()
    found = [str(r[0]) for r in rows]
    if found == ["ok"]:
        return None
    return "; ".join(found)[:500] or "quick_check answered nothing"


def stamp(now: datetime) -> str:
    """``20261129T031500Z``: the suffix a damaged file is renamed with; pure."""
    return now.astimezone(UTC).strftime("%Y%m%dT%H%M%SZ")


def set_aside(path: Path, reason: str, now: datetime | None = None) -> Path | None:
    """Renames a damaged database (and its side files) out of the way; returns the new
    name (``None`` when there was no file). Logs what was done and why, and keeps only
    the newest ``KEEP_DAMAGED`` damaged files."""
    moment = now or datetime.now(UTC)
    target = path.with_name(f"{path.name}{DAMAGED_TAG}{stamp(moment)}")
    n = 1
    while target.exists():
        n += 1
        target = path.with_name(f"{path.name}{DAMAGED_TAG}{stamp(moment)}-{n}")
    try:
        path.rename(target)
    except FileNotFoundError:
        target_or_none: Path | None = None
    else:
        target_or_none = target
    for side in SIDE_FILES:
        with contextlib.suppress(OSError):
            path.with_name(path.name + side).rename(target.with_name(target.name + side))
    log.error(
        "the hub database %s is damaged (%s): set aside as %s and a new one started; the "
        "feed and alerts are not affected, telemetry before now is in the file set aside",
        path,
        reason,
        target_or_none.name if target_or_none is not None else "(gone)",
    )
    _keep_newest(path)
    return target_or_none


def _damaged(path: Path) -> list[Path]:
    prefix = path.name + DAMAGED_TAG
    try:
        found = [
            p
            for p in path.parent.iterdir()
            if p.name.startswith(prefix) and not p.name.endswith(SIDE_FILES)
        ]
    except OSError:
        return []
    return sorted(found, key=lambda p: p.name, reverse=True)


def _keep_newest(path: Path) -> None:
    for old in _damaged(path)[KEEP_DAMAGED:]:
        for victim in (old, *(old.with_name(old.name + s) for s in SIDE_FILES)):
            with contextlib.suppress(OSError):
                victim.unlink()
        log.warning("removed the oldest damaged database %s (keeping %d)", old, KEEP_DAMAGED)


@dataclass(frozen=True, slots=True)
class DamagedFile:
    """A database set aside: its file name, size, and when (from the name)."""

    name: str
    size: int
    at: str

    def to_json(self) -> dict[str, Any]:
        return {"file": self.name, "size": self.size, "at": self.at}


def damaged_files(path: Path) -> list[DamagedFile]:
    """The damaged databases set aside beside ``path``, newest first."""
    out: list[DamagedFile] = []
    for p in _damaged(path):
        try:
            size = p.stat().st_size
        except OSError:
            continue
        raw = p.name[len(path.name) + len(DAMAGED_TAG) :][:16]
        try:
            at = datetime.strptime(raw, "%Y%m%dT%H%M%SZ").replace(tzinfo=UTC).isoformat()
        except ValueError:
            at = ""
        out.append(DamagedFile(p.name, size, at))
    return out


class DamageGuard:
    """The damage handling of one database file, for the object that owns its connections.

    The owner (``HubDatabase``) calls ``check_at_start`` before its first connection and
    ``recover`` when a query met an error ``is_damage`` recognises; ``recover`` closes
    every connection (each thread opens a new one on its next query).

    Args:
        path: the database file.
    """

    #: A second damage error within this many seconds of a recovery is the same damage
    #: seen by another thread's old connection, not a new one.
    SETTLE_S = 2.0
    #: A damage error on a file that passes ``quick_check`` within this many seconds of an
    #: earlier one (after reconnecting) is worth the full ``integrity_check``.
    SUSPECT_S = 60.0

    def __init__(self, path: Path) -> None:
        self.path = path
        self.generation = 0
        self.recoveries = 0
        self._checked = False
        self._listeners: list[Callable[[], None]] = []
        self._lock = threading.RLock()  # recover() opens a connection, which checks
        self._last = -1e9
        self._suspect_at = -1e9

    def check_at_start(self) -> None:
        """Sets the file aside if ``PRAGMA quick_check`` fails (once per process)."""
        if self._checked:
            return
        with self._lock:
            if self._checked:
                return
            self._checked = True
            reason = quick_check(self.path)
            if reason is not None:
                set_aside(self.path, reason)
                self.recoveries += 1

    def on_reset(self, listener: Callable[[], None]) -> None:
        """Calls ``listener()`` after each reset, once the schemas exist again (an area
        registers again what it derives from the feed, e.g. the QR codes)."""
        self._listeners.append(listener)

    def recover(
        self,
        exc: BaseException,
        close_all: Callable[[], None],
        connect: Callable[[], sqlite3.Connection],
        schemas: Callable[[], Sequence[str]],
    ) -> None:
        """Handles a damage error: sets the file aside and starts a new database.

        Args:
            exc: the error a query met.
            close_all: closes every connection the owner opened.
            connect: opens this thread's connection to the (new) file.
            schemas: every area's schema script, to run on the new file.

        A file that passes ``quick_check`` is only reconnected (the error may have come
        from a connection to a file already set aside, or from another database); a
        second damage error within ``SUSPECT_S`` runs the full ``integrity_check`` (the
        indexes too), and only a file that fails it is set aside.
        """
        with self._lock:
            if time.monotonic() - self._last < self.SETTLE_S:
                return
            reason = quick_check(self.path)
            now = time.monotonic()
            if reason is None and now - self._suspect_at <= self.SUSPECT_S:
                reason = quick_check(self.path, "integrity_check")  # the indexes too
            close_all()
            self.generation += 1
            self._last = now
            if reason is None:
                # Sound file: the error came from a connection to a file already set
                # aside, or from another database (the console's): reconnect, keep it.
                self._suspect_at = now
                log.warning(
                    "database error (%s), but %s checks sound; reconnecting", exc, self.path.name
                )
                return
            self._suspect_at = -1e9
            set_aside(self.path, reason)
            self.recoveries += 1
            conn = connect()
            for sql in schemas():
                conn.executescript(sql)
                conn.commit()
        for listener in tuple(self._listeners):
            try:
                listener()
            except sqlite3.Error as err:
                log.error("after starting a new hub database: %s", err)

    def report(self) -> dict[str, Any]:
        """What ``/api/v1/feed`` says under ``"database"``: the damaged files set aside
        (newest first) and how many times this process set one aside."""
        return {
            "file": self.path.name,
            "set_aside": [d.to_json() for d in damaged_files(self.path)],
            "set_aside_since_start": self.recoveries,
        }
