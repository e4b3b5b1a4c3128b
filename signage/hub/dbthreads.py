"""The hub's per-thread database connections: one per live thread, closed when it ends.

Starlette runs blocking work on anyio's worker threads, and anyio ends a worker that has
been idle for 10 s and starts a new one when work comes again. The hub opens one SQLite
connection per thread (``HubDatabase.connection``); kept in a list for ``close()`` at shutdown, the
connection of every ended worker stayed open for the life of the process: two file
descriptors (database and WAL) and a page cache of up to 2 MB each, one more every time
heartbeats or alerts came after a quiet spell (issue 19: the hub's 55 -> 59 MB). Used by
``signage.hub.database.HubDatabase``.
"""

from __future__ import annotations

import sqlite3
import threading

from signage.logs import area_logger

log = area_logger("hub")

ThreadConnection = tuple[threading.Thread, sqlite3.Connection]


def close_finished(connections: list[ThreadConnection]) -> list[ThreadConnection]:
    """Closes the connections whose thread has ended; returns those of live threads."""
    alive: list[ThreadConnection] = []
    for thread, conn in connections:
        if thread.is_alive():
            alive.append((thread, conn))
            continue
        try:
            conn.close()
        except sqlite3.Error:
            log.debug("database connection of an ended thread not closed", exc_info=True)
    return alive
