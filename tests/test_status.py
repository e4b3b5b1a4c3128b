"""`signage status`: the pure table and staleness rules, and the command against a real hub."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest

from signage.commands.status import format_table, human_age
from signage.hub.telemetry_store import assess
from signage.logs import ErrorTally
from signage.telemetry.heartbeat import Heartbeat
from signage.telemetry.wire import HeartbeatReport
from tests.helpers_hub import REPO, RunningHub, hub_env, make_content_root, run_hub


def _report(**kw: Any) -> HeartbeatReport:
    return HeartbeatReport(screen="s", sent=datetime(2026, 11, 28, tzinfo=UTC), **kw)


@pytest.mark.parametrize(
    ("seconds", "text"),
    [(None, "-"), (0, "0s"), (59.9, "59s"), (61, "1m"), (3600 + 300, "1h05m"), (90000, "1d01h")],
)
def test_human_age(seconds: float | None, text: str) -> None:
    assert human_age(seconds) == text


def test_assess_online_window_is_inclusive_and_configurable() -> None:
    r = _report(version=3)
    assert assess(r, 100.0, 190.0, hub_version=3, hub_version_since=0.0)[0] is True
    assert assess(r, 100.0, 190.1, hub_version=3, hub_version_since=0.0)[0] is False
    assert (
        assess(r, 100.0, 105.0, hub_version=3, hub_version_since=0, online_window_s=4)[0] is False
    )


def test_table_lists_each_screen_and_a_summary() -> None:
    table = format_table(
        [
            {"screen": "lobby-1", "online": True, "age_s": 12, "version": 4, "hub_version": 4,
             "playing": "lobby/eficiencia", "last_sync_age_s": 30, "stale": False,
             "last_error": None, "screenshot": {"path": "/d/screenshots/lobby-1.png"}},
            {"screen": "sala-2", "online": False, "age_s": 7300, "version": 3, "hub_version": 4,
             "playing": "alert:corte", "last_sync_age_s": None, "stale": True,
             "stale_reason": "plays version 3, the hub has 4", "last_error": "feed: timeout",
             "screenshot": None},
        ]
    )  # fmt: skip
    lines = table.splitlines()
    assert lines[0].split()[:3] == ["SCREEN", "STATE", "VERSION"]
    assert "online (12s)" in lines[1] and "/d/screenshots/lobby-1.png" in lines[1]
    assert "OFFLINE (2h01m)" in lines[2] and "3/4" in lines[2] and "STALE" in lines[2]
    assert "feed: timeout" in lines[2]
    assert lines[-1] == "2 screens: 1 online, 1 offline, 1 stale"


def _status(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "signage", "status", *args],
        capture_output=True, text=True, timeout=60, check=False, cwd=REPO, env=hub_env(),
    )  # fmt: skip


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[RunningHub]:
    root = make_content_root(tmp_path / "root")
    with run_hub(data=tmp_path / "hubdata", root=root) as running:
        yield running


def test_status_command_against_a_real_hub(hub: RunningHub) -> None:
    empty = _status("--hub", hub.url, "--token-file", str(hub.token_file))
    assert empty.returncode == 0
    assert "no screens" in empty.stdout
    for name in ("lobby-1", "sala-2"):
        beat = Heartbeat(
            hub.url, name, token=hub.token, tally=ErrorTally(),
            status=lambda: {"version": hub.version(), "playlist": "lobby", "slide": "bienvenida"},
        )  # fmt: skip
        assert beat.beat()
        beat.stop()
    table = _status("--hub", hub.url, "--token-file", str(hub.token_file))
    assert table.returncode == 0, table.stderr
    assert "lobby-1" in table.stdout and "sala-2" in table.stdout
    assert "2 screens: 2 online, 0 offline, 0 stale" in table.stdout
    as_json = _status("--hub", hub.url, "--token-file", str(hub.token_file), "--json")
    screens = json.loads(as_json.stdout)
    assert [s["screen"] for s in screens] == ["lobby-1", "sala-2"]
    assert all(s["playing"] == "lobby/bienvenida" for s in screens)


def test_unreachable_hub_is_a_message_not_a_traceback() -> None:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        port = s.getsockname()[1]
    done = _status("--hub", f"http://127.0.0.1:{port}")
    assert done.returncode == 1
    assert "cannot reach the hub" in done.stderr
    assert "Traceback" not in done.stderr
    bad = _status("--hub", "hub.local")
    assert bad.returncode == 2
    assert "give the hub's URL" in bad.stderr
