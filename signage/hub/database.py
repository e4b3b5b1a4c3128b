"""The hub's database: one SQLite file, a connection per thread, areas' schemas, closing.

``DATA/hub.sqlite3`` in WAL mode, so the push channel's readers and the thread pool's writers
do not block each other. Each thread gets its own connection (SQLite connections are not
shared across threads here); areas register their tables once with ``schema`` (idempotent
``CREATE TABLE IF NOT EXISTS`` scripts, remembered in ``schemas``). ``close`` at shutdown
closes every connection opened.

A damaged file never stops the hub (``signage.hub.dbguard``): it is checked at the first
connection and set aside when damaged; ``recover`` does the same when a query meets
damage while running, and starts a new file with every registered schema.
"""

from __future__ import annotations

import sqlite3
import threading
from collections.abc import Callable
from pathlib import Path
from typing import Any

from signage.hub.dbguard import DamageGuard
from signage.logs import area_logger

log = area_logger("hub")

DB_NAME = "hub.sqlite3"
BUSY_TIMEOUT_S = 5.0


class HubDatabase:
    """The hub's SQLite database.

    Args:
        path: the database file (its folder is created on first use).
    """

    def __init__(self, path: Path) -> None:
        self.path = path
        self._local = threading.local()
        self._connections: list[sqlite3.Connection] = []
        self._lock = threading.Lock()
        self._schemas: list[str] = []
        self.guard = DamageGuard(path)

    def connection(self) -> sqlite3.Connection:
        """This thread's connection (WAL mode, 5 s busy timeout, foreign keys on)."""
        conn: sqlite3.Connection | None = getattr(self._local, "conn", None)
        if conn is None:
            self.path.parent.mkdir(parents=True, exist_ok=True)
            self.guard.check_at_start()  # a damaged file is set aside, a new one started
            conn = sqlite3.connect(self.path, timeout=BUSY_TIMEOUT_S, check_same_thread=False)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            conn.execute("PRAGMA foreign_keys=ON")
            self._local.conn = conn
            with self._lock:
                self._connections.append(conn)
        return conn

    def schema(self, sql: str) -> None:
        """Registers an area's ``CREATE TABLE IF NOT EXISTS ...`` script and runs it
        (idempotent; registering the same script again only runs it again)."""
        with self._lock:
            if sql not in self._schemas:
                self._schemas.append(sql)
        conn = self.connection()
        conn.executescript(sql)
        conn.commit()

    @property
    def schemas(self) -> tuple[str, ...]:
        """Every script registered so far, in order: what a new, empty database file
        needs to serve every area (e.g. after a damaged one was set aside)."""
        with self._lock:
            return tuple(self._schemas)

    def close(self) -> None:
        """Closes every connection opened so far; the next ``connection()`` opens a new one."""
        with self._lock:
            conns, self._connections = self._connections, []
        for conn in conns:
            try:
                conn.close()
            except sqlite3.Error:  # a connection still busy on another thread
                log.debug("database connection could not be closed", exc_info=True)
        self._local = threading.local()

    def recover(self, exc: BaseException) -> None:
        """After a query met a damaged file (``dbguard.is_damage``): sets it aside and
        starts a new one with every registered schema (blocking: call it off the loop)."""
        self.guard.recover(exc, self.close, self.connection, lambda: self.schemas)

    def on_reset(self, listener: Callable[[], None]) -> None:
        """Calls ``listener()`` after a new file was started (see ``DamageGuard.on_reset``)."""
        self.guard.on_reset(listener)

    def damage_report(self) -> dict[str, Any]:
        """The damaged files set aside, for ``GET /api/v1/feed`` (``"database"``)."""
        return self.guard.report()
