"""A token per screen, and floods of forged ids, screenshots and events against a real hub.

``signage screen add`` enrols a screen and prints its token; the running hub takes it (and
a rotation or a revocation) without a restart; a screen's token reports for that screen
only. The shared (legacy) token cannot speak for enrolled screens and keeps at most
``--max-unenrolled`` ids. Floods of heartbeats with big screenshots and error texts and of
proof-of-play events leave the disk and the hub's memory bounded, and ``signage status``
still answers, paged.
"""

from __future__ import annotations

import base64
import io
import json
import os
import sqlite3
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
from PIL import Image

from signage.events import rfc3339_ms
from signage.hub.policy import HubPolicy
from signage.hub.retention import prune
from signage.hub.scan_routes import HourlyQuota
from signage.hub.screens import (
    MAX_ERROR_CHARS,
    RegisterError,
    ScreenRegister,
    bound_report,
    check_screenshot,
    parse_register,
)
from signage.telemetry.wire import HeartbeatReport, ReportError
from tests.helpers_hub import (
    REPO,
    RunningHub,
    hub_env,
    make_content_root,
    run_hub,
    stop_process,
)

ADMIN = "admin-token-screens-01234"
SHARED = "shared-screen-token-56789"


def _png(width: int, height: int, noise: bool = False) -> bytes:
    img = Image.new("RGB", (width, height), (20, 90, 160))
    if noise:
        img = Image.frombytes("RGB", (width, height), os.urandom(width * height * 3))
    out = io.BytesIO()
    img.save(out, format="PNG")
    return out.getvalue()


def _signage(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "signage", *args],
        capture_output=True,
        text=True,
        env=hub_env(),
        cwd=str(REPO),
        timeout=60,
        check=False,
    )


def _enrol(data: Path, screen: str, action: str = "add") -> str:
    done = _signage("screen", action, screen, "--data", str(data))
    assert done.returncode == 0, done.stderr
    token = done.stdout.strip().splitlines()[-1]
    assert len(token) >= 40 and " " not in token
    return token


def _beat(hub: RunningHub, token: str, screen: str, **fields: Any) -> requests.Response:
    return requests.post(
        hub.url + "/api/v1/heartbeat",
        json={"screen": screen, "version": 1, **fields},
        headers={"Authorization": f"Bearer {token}"},
        timeout=10,
    )


def _events(hub: RunningHub, token: str, events: list[dict[str, Any]]) -> dict[str, Any]:
    r = requests.post(
        hub.url + "/api/v1/events",
        json={"events": events},
        headers={"Authorization": f"Bearer {token}"},
        timeout=30,
    )
    assert r.status_code == 200, r.text
    result: dict[str, Any] = r.json()
    return result


def _play(screen: str, slide: str = "bienvenida") -> dict[str, Any]:
    return {
        "eid": uuid.uuid4().hex,
        "ts": rfc3339_ms(datetime.now(UTC)),
        "event": "slide_shown",
        "screen": screen,
        "playlist": "lobby",
        "slide": slide,
    }


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[RunningHub]:
    root = make_content_root(tmp_path / "root")
    data = tmp_path / "hubdata"
    with run_hub(
        data=data,
        root=root,
        token=ADMIN,
        screen_token=SHARED,
        extra_args=["--max-unenrolled", "20"],
    ) as h:
        yield h


# ------------------------------------------------------------------------ pure parts


def test_register_add_rotate_revoke(tmp_path: Path) -> None:
    reg = ScreenRegister(tmp_path)
    token = reg.add("vestibulo")
    assert reg.owner(token) == "vestibulo"
    assert oct(reg.path.stat().st_mode & 0o777) == "0o600"
    assert token not in reg.path.read_text()  # only its hash is kept
    newer = reg.add("vestibulo", rotate=True)
    assert reg.owner(token) is None and reg.owner(newer) == "vestibulo"
    assert reg.revoke("vestibulo") and not reg.revoke("vestibulo")
    assert reg.owner(newer) is None
    with pytest.raises(Exception, match="letters, digits"):
        reg.add("../etc")
    with pytest.raises(RegisterError, match="not a screen register"):
        parse_register(b'{"screens": {}}', tmp_path / "x.json")


def test_bound_report_cuts_texts_and_checks_the_screenshot() -> None:
    shot = base64.b64encode(_png(320, 180)).decode()
    report = HeartbeatReport.from_json(
        {"screen": "sala-1", "last_error": "x" * 50_000, "screenshot_png": shot}
    )
    bounded = bound_report(report)
    assert bounded.last_error is not None and len(bounded.last_error) == MAX_ERROR_CHARS
    for bad in (
        {"screen": "sala 1"},
        {"screen": "sala-1", "tags": [f"t{i}" for i in range(100)]},
        {"screen": "sala-1", "errors": {f"e{i}": 1 for i in range(100)}},
    ):
        with pytest.raises(ReportError):
            bound_report(HeartbeatReport.from_json(bad))
    check_screenshot(_png(320, 180))
    with pytest.raises(ReportError, match="pixels"):
        check_screenshot(_png(4000, 1500))  # a small file, 6 megapixels
    whole = _png(64, 64, noise=True)
    with pytest.raises(ReportError, match="not a readable PNG"):
        check_screenshot(whole[: len(whole) // 2])
    with pytest.raises(ReportError, match="not a readable PNG"):
        check_screenshot(b"\x89PNG\r\n\x1a\n" + b"\0" * 100)


def test_retention_prunes_old_rows_and_silent_screens(tmp_path: Path) -> None:
    conn = sqlite3.connect(tmp_path / "hub.sqlite3")
    conn.executescript(
        "CREATE TABLE qr_scans (ts TEXT); CREATE TABLE pop_counts (hour TEXT);"
        "CREATE TABLE screen_heartbeats (screen TEXT, received REAL);"
    )
    now = datetime(2027, 6, 1, tzinfo=UTC)
    old, new = now - timedelta(days=500), now - timedelta(days=2)
    conn.executemany("INSERT INTO qr_scans VALUES (?)", [(rfc3339_ms(old),), (rfc3339_ms(new),)])
    conn.executemany(
        "INSERT INTO pop_counts VALUES (?)", [(rfc3339_ms(old)[:13],), (rfc3339_ms(new)[:13],)]
    )
    conn.executemany(
        "INSERT INTO screen_heartbeats VALUES (?, ?)",
        [("muda", (now - timedelta(days=40)).timestamp()), ("viva", new.timestamp())],
    )
    conn.commit()
    shots = tmp_path / "screenshots"
    shots.mkdir()
    (shots / "muda.png").write_bytes(b"x")
    (shots / "viva.png").write_bytes(b"x")
    done = prune(conn, now, HubPolicy(), shots)
    assert done == {"scans": 1, "plays": 1, "screens": 1}
    assert [p.name for p in shots.iterdir()] == ["viva.png"]
    assert conn.execute("SELECT COUNT(*) FROM qr_scans").fetchone() == (1,)


def test_hourly_quota_counts_per_key_and_forgets_old_hours() -> None:
    quota = HourlyQuota("things")
    h0 = datetime(2027, 1, 1, 10, tzinfo=UTC)
    assert all(quota.take("a", h0, 3) for _ in range(3))
    assert not quota.take("a", h0, 3)
    assert quota.take("b", h0, 3)  # another key has its own count
    assert quota.take("a", h0, 3, count=False) is False
    h1 = h0 + timedelta(hours=1)
    assert quota.take("a", h1, 3)  # a new hour
    quota.take("c", h1 + timedelta(hours=1), 3)
    assert all(k[1] >= h1 for k in quota._counts)  # two hours back is forgotten
    quota.MAX_KEYS = 5
    new_keys = [quota.take(f"k{i}", h1 + timedelta(hours=1), 3) for i in range(10)]
    assert new_keys.count(False) >= 5  # memory stays bounded whatever the keys


# ------------------------------------------------------------------- against a hub


def test_a_screen_token_reports_for_its_screen_only(hub: RunningHub) -> None:
    data = hub.data_dir
    token = _enrol(data, "vestibulo")
    other = _enrol(data, "cafeteria")
    assert _beat(hub, token, "vestibulo").status_code == 200  # no restart needed
    forged = _beat(hub, token, "cafeteria")
    assert forged.status_code == 403
    assert "belongs to screen 'vestibulo'" in forged.json()["error"]
    # The shared (legacy) token cannot speak for an enrolled screen either.
    assert _beat(hub, SHARED, "cafeteria").status_code == 403
    assert _beat(hub, other, "cafeteria").status_code == 200
    # Plays: counted for the token's screen; another screen's name is refused.
    result = _events(hub, token, [_play("vestibulo"), _play("cafeteria"), _play("")])
    assert result["accepted"] == 2
    assert [r["index"] for r in result["rejected"]] == [1]
    report = requests.get(hub.url + "/api/v1/report?since=1d", headers=hub.auth, timeout=10)
    plays = {(p["screen"], p["count"]) for p in report.json()["plays"]}
    assert plays == {("vestibulo", 2)}
    # Rotation and revocation take effect at once.
    newer = _enrol(data, "vestibulo", "rotate")
    assert _beat(hub, token, "vestibulo").status_code == 401
    assert _beat(hub, newer, "vestibulo").status_code == 200
    revoked = _signage("screen", "revoke", "vestibulo", "--hub", hub.url, "--token-file",
                       str(hub.token_file))  # fmt: skip
    assert revoked.returncode == 0, revoked.stderr
    assert _beat(hub, newer, "vestibulo").status_code == 401
    listed = _signage("screen", "list", "--json", "--data", str(data))
    assert [s["screen"] for s in json.loads(listed.stdout)] == ["cafeteria"]
    # Through the hub's API too; the admin token is needed.
    over_api = _signage("screen", "add", "recepcion", "--hub", hub.url, "--token-file",
                        str(hub.token_file))  # fmt: skip
    assert over_api.returncode == 0, over_api.stderr
    assert _beat(hub, over_api.stdout.strip().splitlines()[-1], "recepcion").status_code == 200
    refused = requests.post(
        hub.url + "/api/v1/screen-tokens",
        json={"screen": "x"},
        headers={"Authorization": f"Bearer {other}"},
        timeout=5,
    )
    assert refused.status_code == 401


def test_forged_ids_on_the_shared_token_are_bounded(hub: RunningHub) -> None:
    codes = [_beat(hub, SHARED, f"inventada-{i}").status_code for i in range(60)]
    assert codes[:20] == [200] * 20
    assert set(codes[20:]) == {403}
    assert _beat(hub, SHARED, "inventada-3").status_code == 200  # known ones go on
    r = requests.get(hub.url + "/api/v1/screens", headers=hub.auth, timeout=10)
    assert r.headers["X-Total-Count"] == "20"


def _dir_bytes(folder: Path) -> int:
    return sum(p.stat().st_size for p in folder.rglob("*") if p.is_file())


def _rss_kb(pid: int) -> dict[str, int]:
    out: dict[str, int] = {}
    for line in Path(f"/proc/{pid}/status").read_text().splitlines():
        name, _, value = line.partition(":")
        if name in ("VmRSS", "VmHWM"):
            out[name] = int(value.split()[0])
    return out


def test_floods_with_screen_tokens_stay_bounded(hub: RunningHub) -> None:
    tokens = {f"pantalla-{i}": _enrol(hub.data_dir, f"pantalla-{i}") for i in range(3)}
    before = _rss_kb(hub.process.pid)
    shot = base64.b64encode(_png(480, 270, noise=True)).decode()  # ~380 KB, a real image
    big = base64.b64encode(_png(4000, 1500)).decode()  # small file, too many pixels
    session = requests.Session()
    for n in range(60):
        for screen, token in tokens.items():
            r = session.post(
                hub.url + "/api/v1/heartbeat",
                json={
                    "screen": screen,
                    "version": 1,
                    "last_error": "\u00e9\x1b[2J" * 20_000,  # 300 KB of JSON
                    "tags": ["lobby"],
                    "screenshot_png": shot,
                },
                headers={"Authorization": f"Bearer {token}"},
                timeout=10,
            )
            assert r.status_code == 200, r.text
            forged = session.post(
                hub.url + "/api/v1/heartbeat",
                json={"screen": f"falsa-{n}", "screenshot_png": shot},
                headers={"Authorization": f"Bearer {token}"},
                timeout=10,
            )
            assert forged.status_code == 403
    bomb = _beat(hub, tokens["pantalla-0"], "pantalla-0", screenshot_png=big)
    assert bomb.status_code == 400 and "pixels" in bomb.json()["error"]
    # 20,000 plays of invented slides from one screen in one hour.
    token = tokens["pantalla-1"]
    accepted = 0
    for batch in range(20):
        plays = [_play("pantalla-1", f"s-{batch}-{i}") for i in range(1000)]
        accepted += _events(hub, token, plays)["accepted"]
    assert accepted <= 500  # distinct slides a screen may have counted in one hour
    shots = hub.data_dir / "screenshots"
    assert sorted(p.name for p in shots.iterdir()) == [f"pantalla-{i}.png" for i in range(3)]
    assert _dir_bytes(shots) < 3 * 400_000
    assert _dir_bytes(hub.data_dir) < 8 * 1024 * 1024
    after = _rss_kb(hub.process.pid)
    assert (after["VmHWM"] - before["VmRSS"]) / 1024 < 150
    listed = requests.get(hub.url + "/api/v1/screens", headers=hub.auth, timeout=10).json()
    assert {s["screen"] for s in listed} == set(tokens)
    assert all(len(s["last_error"]) <= MAX_ERROR_CHARS for s in listed)
    status = _signage("status", "--hub", hub.url, "--token-file", str(hub.token_file))
    assert status.returncode == 0, status.stderr
    assert "3 screens: 3 online" in status.stdout


def test_the_fleet_view_is_paged(hub: RunningHub) -> None:
    for i in range(15):
        assert _beat(hub, ADMIN, f"sala-{i:02d}").status_code == 200
    r = requests.get(hub.url + "/api/v1/screens?limit=10", headers=hub.auth, timeout=10)
    assert r.headers["X-Total-Count"] == "15"
    first = [s["screen"] for s in r.json()]
    assert first == [f"sala-{i:02d}" for i in range(10)]
    assert 'rel="next"' in r.headers["Link"] and "after=sala-09" in r.headers["Link"]
    rest = requests.get(
        hub.url + "/api/v1/screens",
        params={"limit": "10", "after": "sala-09"},
        headers=hub.auth,
        timeout=10,
    )
    assert [s["screen"] for s in rest.json()] == [f"sala-{i:02d}" for i in range(10, 15)]
    assert "Link" not in rest.headers
    bad = requests.get(hub.url + "/api/v1/screens?limit=100000", headers=hub.auth, timeout=10)
    assert bad.status_code == 400
    status = _signage(
        "status", "--hub", hub.url, "--token-file", str(hub.token_file), "--limit", "4"
    )
    assert status.returncode == 0, status.stderr
    assert "showing 4 of 15 screens" in status.stdout
    assert "sala-04" not in status.stdout


def test_a_real_player_reports_with_its_own_token(tmp_path: Path) -> None:
    root = make_content_root(tmp_path / "root")
    data = tmp_path / "hubdata"
    with run_hub(data=data, root=root, token=ADMIN) as hub:  # no shared screen token at all
        token_file = tmp_path / "vestibulo.token"
        token_file.write_text(_enrol(data, "vestibulo") + "\n", encoding="utf-8")
        token_file.chmod(0o600)
        config = tmp_path / "screen.yaml"
        config.write_text(
            json.dumps(
                {
                    "screen": "vestibulo",
                    "feed": hub.url + "/feed.json",
                    "pubkey": hub.pubkey,
                    "cache": str(tmp_path / "cache"),
                    "hub": hub.url,
                    "hub_token_file": str(token_file),
                }
            ),
            encoding="utf-8",
        )
        env = hub_env() | {"QT_QPA_PLATFORM": "offscreen", "SIGNAGE_HEARTBEAT_S": "0.5"}
        for key in ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"):
            env.pop(key, None)
        log_path = tmp_path / "player.log"
        with log_path.open("w") as log_file:
            player = subprocess.Popen(
                [sys.executable, "-m", "signage", "play", "--headless", "--size", "480x270",
                 "--config", str(config), "--for", "60"],
                env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=log_file, text=True,
            )  # fmt: skip
        try:
            deadline = time.monotonic() + 45
            while True:
                screens = requests.get(
                    hub.url + "/api/v1/screens", headers=hub.auth, timeout=10
                ).json()
                report = requests.get(
                    hub.url + "/api/v1/report?since=1d", headers=hub.auth, timeout=10
                ).json()
                online = any(s["screen"] == "vestibulo" and s["online"] for s in screens)
                if online and any(p["screen"] == "vestibulo" for p in report["plays"]):
                    break
                assert time.monotonic() < deadline, log_path.read_text(errors="replace")[-3000:]
                time.sleep(0.3)
        finally:
            stop_process(player)
    assert "refused" not in log_path.read_text(errors="replace")
