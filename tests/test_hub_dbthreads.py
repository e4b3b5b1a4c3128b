"""The hub's database closes the connection of a worker thread once that thread has ended.

anyio ends Starlette's idle worker threads after 10 s and starts new ones; each opened its
own SQLite connection and the hub kept every one of them open (issue 19).
"""

from __future__ import annotations

import sqlite3
import threading
from pathlib import Path

import pytest

from signage.hub.database import HubDatabase


def _open_files(name: str) -> int:
    """How many of this process's descriptors open a path containing ``name`` (give the
    test's own path: another test's leftovers must not count)."""
    count = 0
    for fd in Path("/proc/self/fd").iterdir():
        try:
            target = str(fd.readlink())
        except OSError:
            continue
        count += name in target
    return count


def test_connections_of_ended_threads_are_closed(tmp_path: Path) -> None:
    db = HubDatabase(tmp_path / "data" / "hub.sqlite3")
    db.schema("CREATE TABLE IF NOT EXISTS t (n INTEGER)")
    opened: list[sqlite3.Connection] = []

    def work(n: int) -> None:  # what a heartbeat does on a worker thread
        conn = db.connection()
        with conn:
            conn.execute("INSERT INTO t VALUES (?)", (n,))
        opened.append(conn)

    for n in range(20):  # twenty workers, one after the other, each ending
        thread = threading.Thread(target=work, args=(n,))
        thread.start()
        thread.join()
    try:
        # Each new connection closes those of ended threads: this (main) thread's and the
        # last worker's are left, never one per worker that ever ran.
        assert len(db._connections) == 2
        for conn in opened[:-1]:
            with pytest.raises(sqlite3.ProgrammingError):
                conn.execute("SELECT 1")  # closed
        # database, WAL, shared index: twice, not 21x
        assert _open_files(str(tmp_path / "data" / "hub.sqlite3")) <= 6
        assert db.connection().execute("SELECT COUNT(*) FROM t").fetchone() == (20,)
    finally:
        db.close()
