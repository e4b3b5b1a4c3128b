"""The hub's database object: a file made on first use, schemas registered once and kept."""

from __future__ import annotations

from pathlib import Path

from signage.hub.database import HubDatabase


def test_the_database_remembers_each_registered_schema_once(tmp_path: Path) -> None:
    db = HubDatabase(tmp_path / "nested" / "hub.sqlite3")
    pings = "CREATE TABLE IF NOT EXISTS pings (screen TEXT PRIMARY KEY);"
    scans = "CREATE TABLE IF NOT EXISTS scans (code TEXT);"
    db.schema(pings)
    db.schema(scans)
    db.schema(pings)
    assert db.schemas == (pings, scans)
    names = {r[0] for r in db.connection().execute("SELECT name FROM sqlite_master")}
    assert {"pings", "scans"} <= names
    db.close()
    assert (tmp_path / "nested" / "hub.sqlite3").is_file()
