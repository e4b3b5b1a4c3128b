"""A damaged hub database is set aside, never fatal: the feed and alerts go on.

Unit parts on real SQLite files (garbage, pages overwritten); then a real hub started on
a garbage ``hub.sqlite3`` and a real hub whose database is overwritten while it runs.
"""

from __future__ import annotations

import os
import sqlite3
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests

from signage.alerts.codec import alert_to_json
from signage.hub.dbguard import (
    KEEP_DAMAGED,
    DamageGuard,
    damaged_files,
    is_damage,
    quick_check,
    set_aside,
)
from signage.qr import track_code
from tests.helpers_alerts import make_alert
from tests.helpers_hub import RunningHub, make_content_root, run_hub


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


def test_recover_sets_aside_only_a_damaged_file(tmp_path: Path) -> None:
    path = _database(tmp_path / "hub.sqlite3")
    guard = DamageGuard(path)
    conns: list[sqlite3.Connection] = []
    reset: list[str] = []
    guard.on_reset(lambda: reset.append("again"))

    def connect() -> sqlite3.Connection:
        conns.append(sqlite3.connect(path))
        return conns[-1]

    def close_all() -> None:
        for conn in conns:
            conn.close()
        conns.clear()

    schemas = ["CREATE TABLE IF NOT EXISTS fresh (a TEXT)"]
    # A damage error from elsewhere (another database, a file already set aside): the
    # sound file is kept, twice in a row (the second time after a full integrity_check).
    for _ in range(2):
        guard._last = -1e9  # as if the settle time had passed
        guard.recover(sqlite3.DatabaseError("database disk image is malformed"), close_all,
                      connect, lambda: schemas)  # fmt: skip
        assert path.exists() and not damaged_files(path) and reset == []
    _damage_pages(path)
    guard._last = -1e9
    guard.recover(sqlite3.DatabaseError("database disk image is malformed"), close_all,
                  connect, lambda: schemas)  # fmt: skip
    assert len(damaged_files(path)) == 1 and reset == ["again"]
    check = sqlite3.connect(path)
    assert check.execute("SELECT name FROM sqlite_master").fetchall() == [("fresh",)]
    check.close()
    close_all()


# ------------------------------------------------------------------- against a hub

ADMIN = "admin-token-damage-01234"
SCREEN = "screen-token-damage-5678"
TRACKED = """\
name: Lobby
slides:
  - id: encuesta
    text: {title: "Encuesta"}
    qr: {url: "https://encuestas.example.gov.co/s", track: true}
"""


def _alert(hub: RunningHub) -> None:
    alert = make_alert("corte-agua", sent=datetime.now(UTC) - timedelta(minutes=1))
    r = requests.post(
        hub.url + "/api/v1/alerts",
        json={"alert": alert_to_json(alert)},
        headers=hub.auth,
        timeout=20,
    )
    assert r.status_code == 201, r.text


def _served_alerts(hub: RunningHub) -> list[str]:
    feed = requests.get(hub.url + "/feed.json", timeout=10)
    assert feed.status_code == 200
    return [a["id"] for a in feed.json().get("alerts", [])]


def _beat(hub: RunningHub) -> requests.Response:
    return requests.post(
        hub.url + "/api/v1/heartbeat",
        json={"screen": "vestibulo", "version": 1},
        headers={"Authorization": f"Bearer {SCREEN}"},
        timeout=10,
    )


def test_a_hub_starts_on_a_garbage_database(tmp_path: Path) -> None:
    data = tmp_path / "hubdata"
    data.mkdir()
    (data / "hub.sqlite3").write_bytes(os.urandom(64 * 1024))
    root = make_content_root(tmp_path / "root", TRACKED)
    with run_hub(data=data, root=root, token=ADMIN, screen_token=SCREEN) as hub:
        status = requests.get(hub.url + "/api/v1/feed", timeout=10).json()
        aside = status["database"]["set_aside"]
        assert len(aside) == 1 and aside[0]["size"] == 64 * 1024
        assert (data / aside[0]["file"]).is_file()
        _alert(hub)
        assert _served_alerts(hub) == ["corte-agua"]
        assert _beat(hub).status_code == 200
        code = track_code("lobby", "encuesta", "https://encuestas.example.gov.co/s")
        scan = requests.get(f"{hub.url}/q/{code}?s=vestibulo", allow_redirects=False, timeout=5)
        assert scan.status_code == 302
        err = hub.stderr()
    assert "is damaged (file is not a database)" in err
    assert "Traceback" not in err


def test_a_database_damaged_while_running_is_set_aside(tmp_path: Path) -> None:
    root = make_content_root(tmp_path / "root", TRACKED)
    data = tmp_path / "hubdata"
    with run_hub(data=data, root=root, token=ADMIN, screen_token=SCREEN) as hub:
        assert _beat(hub).status_code == 200
        _alert(hub)
        db = data / "hub.sqlite3"
        size = db.stat().st_size
        with db.open("r+b") as fh:  # the whole file overwritten under the running hub
            fh.write(os.urandom(max(size, 64 * 1024)))
        for side in ("hub.sqlite3-wal", "hub.sqlite3-shm"):
            with (data / side).open("r+b") as fh:
                fh.write(os.urandom(32 * 1024))
        codes = []
        for _ in range(10):
            r = _beat(hub)
            codes.append(r.status_code)
            assert r.status_code in (200, 503), r.text
            if r.status_code == 200 and 503 in codes:
                break
            time.sleep(0.5)
        assert codes[-1] == 200, codes
        status = requests.get(hub.url + "/api/v1/feed", timeout=10).json()["database"]
        assert status["set_aside_since_start"] >= 1 and status["set_aside"]
        # The feed and alerts never stopped; scans of the served QR still redirect.
        assert _served_alerts(hub) == ["corte-agua"]
        code = track_code("lobby", "encuesta", "https://encuestas.example.gov.co/s")
        scan = requests.get(f"{hub.url}/q/{code}?s=vestibulo", allow_redirects=False, timeout=5)
        assert scan.status_code == 302
        report = requests.get(hub.url + "/api/v1/report?since=1d", headers=hub.auth, timeout=10)
        assert report.status_code == 200
        err = hub.stderr()
    assert "Traceback" not in err
