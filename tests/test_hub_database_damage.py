"""A damaged hub database is set aside, never fatal: the feed and alerts go on.

Unit parts on real SQLite files (garbage, pages overwritten); then a real hub started on
a garbage ``hub.sqlite3`` and a real hub whose database is overwritten while it runs.
"""

from __future__ import annotations

import os
import sqlite3
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from signage.hub.dbguard import (
    KEEP_DAMAGED,
    damaged_files,
    is_damage,
    quick_check,
    set_aside,
)


def _database(path: Path, rows: int = 2000) -> Path:
    conn = sqlite3.connect(path)
    conn.execute("CREATE TABLE t (a TEXT)")
    conn.executemany("INSERT INTO t VALUES (?)", [("x" * 500,) for _ in range(rows)])
    conn.commit()
    conn.close()
    return path


def _damage_pages(path: Path) -> None:
    data = bytearray(path.read_bytes())
    for offset in range(4096 * 3, len(data) - 4096, 4096 * 7):
        data[offset : offset + 200] = os.urandom(200)
    path.write_bytes(bytes(data))


def test_quick_check_tells_sound_damaged_and_garbage_files(tmp_path: Path) -> None:
    sound = _database(tmp_path / "sound.sqlite3")
    assert quick_check(sound) is None
    assert quick_check(tmp_path / "absent.sqlite3") is None
    garbage = tmp_path / "garbage.sqlite3"
    garbage.write_bytes(os.urandom(50_000))
    assert quick_check(garbage) == "file is not a database"
    damaged = _database(tmp_path / "damaged.sqlite3")
    _damage_pages(damaged)
    reason = quick_check(damaged)
    assert reason is not None and "Page" in reason


def test_is_damage_recognises_corruption_not_other_errors(tmp_path: Path) -> None:
    damaged = _database(tmp_path / "d.sqlite3")
    _damage_pages(damaged)
    conn = sqlite3.connect(damaged)
    with pytest.raises(sqlite3.DatabaseError) as caught:
        conn.execute("SELECT COUNT(*), SUM(LENGTH(a)) FROM t").fetchall()
    assert is_damage(caught.value)
    conn.close()
    assert not is_damage(sqlite3.OperationalError("database is locked"))
    assert not is_damage(sqlite3.IntegrityError("UNIQUE constraint failed"))
    assert not is_damage(ValueError("file is not a database"))


def test_set_aside_renames_logs_and_keeps_the_newest(tmp_path: Path) -> None:
    path = tmp_path / "hub.sqlite3"
    start = datetime(2026, 11, 29, 3, 0, tzinfo=UTC)
    for i in range(KEEP_DAMAGED + 2):
        path.write_bytes(b"garbage %d" % i)
        path.with_name("hub.sqlite3-wal").write_bytes(b"wal")
        moved = set_aside(path, "file is not a database", start + timedelta(minutes=i))
        assert moved is not None and moved.read_bytes() == b"garbage %d" % i
        assert not path.exists() and not path.with_name("hub.sqlite3-wal").exists()
    found = damaged_files(path)
    assert len(found) == KEEP_DAMAGED
    assert found[0].name == "hub.sqlite3.damaged-20261129T030400Z"
    assert found[0].at == "2026-11-29T03:04:00+00:00"
    assert found[0].size == len(b"garbage 4")
    assert set_aside(path, "gone already") is None
