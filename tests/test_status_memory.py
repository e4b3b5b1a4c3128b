"""`signage status` flags a screen whose memory grew by more than a stated amount since it
started: the heartbeat carries the first beat's RSS beside the current one (issue 19)."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests

from signage.commands.status import format_table, memory_cell, memory_growing
from signage.logs import ErrorTally
from signage.telemetry.heartbeat import Heartbeat
from signage.telemetry.wire import HeartbeatReport
from tests.helpers_hub import REPO, RunningHub, hub_env, make_content_root, run_hub


def test_report_carries_the_start_rss_and_reads_back_without_it() -> None:
    sent = datetime(2026, 11, 29, tzinfo=UTC)
    report = HeartbeatReport(screen="s", sent=sent, rss_mb=180.0, rss_start_mb=110.04)
    data = report.to_json()
    assert data["rss_start_mb"] == 110.0
    assert HeartbeatReport.from_json(data).rss_start_mb == 110.0
    del data["rss_start_mb"]  # a screen running older software
    assert HeartbeatReport.from_json(data).rss_start_mb is None


def test_the_first_beat_fixes_the_start_figure() -> None:
    readings = iter([105.0, 130.0, 260.0])
    beat = Heartbeat("http://127.0.0.1:9", "s", tally=ErrorTally(), memory=lambda: next(readings))
    reports = [beat.build_report() for _ in range(3)]
    assert [r.rss_mb for r in reports] == [105.0, 130.0, 260.0]
    assert {r.rss_start_mb for r in reports} == {105.0}


@pytest.mark.parametrize(
    ("screen", "limit", "cell", "growing"),
    [
        ({"rss_mb": 118.2, "rss_growth_mb": 12.0}, 100, "118 MB +12", False),
        ({"rss_mb": 250.0, "rss_growth_mb": 100.0}, 100, "250 MB +100", False),  # not more
        ({"rss_mb": 251.0, "rss_growth_mb": 100.1}, 100, "251 MB +100 GROWING", True),
        ({"rss_mb": 251.0, "rss_growth_mb": 100.1}, 150, "251 MB +100", False),
        ({"rss_mb": 140.0, "rss_growth_mb": None}, 100, "140 MB", False),  # older screen
        ({"rss_mb": 0.0}, 100, "-", False),
        ({"rss_mb": "lots", "rss_growth_mb": "x"}, 100, "-", False),
    ],
)
def test_memory_cell_and_flag(
    screen: dict[str, object], limit: float, cell: str, growing: bool
) -> None:
    assert memory_cell(screen, limit) == cell
    assert memory_growing(screen, limit) is growing


def test_summary_counts_growing_screens_only_when_there_are_some() -> None:
    calm = {"screen": "a", "online": True, "age_s": 1, "rss_mb": 120, "rss_growth_mb": 5}
    assert format_table([calm]).splitlines()[-1] == "1 screens: 1 online, 0 offline, 0 stale"
    leaking = calm | {"screen": "b", "rss_mb": 300, "rss_growth_mb": 180}
    last = format_table([calm, leaking], 100).splitlines()[-1]
    assert last == (
        "2 screens: 2 online, 0 offline, 0 stale, 1 with memory grown by more than 100 MB"
    )


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[RunningHub]:
    root = make_content_root(tmp_path / "root")
    with run_hub(data=tmp_path / "hubdata", root=root) as running:
        yield running


def _status(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "signage", "status", *args],
        capture_output=True, text=True, timeout=60, check=False, cwd=REPO, env=hub_env(),
    )  # fmt: skip


def _line(table: str, screen: str) -> str:
    return next(line for line in table.splitlines() if line.startswith(screen + " "))


def test_status_flags_the_screen_whose_memory_grew_through_a_real_hub(hub: RunningHub) -> None:
    def screen(name: str, readings: list[float]) -> None:
        it = iter(readings)
        beat = Heartbeat(
            hub.url, name, token=hub.token, tally=ErrorTally(), memory=lambda: next(it),
            status=lambda: {"version": hub.version(), "playlist": "lobby", "slide": "bienvenida"},
        )  # fmt: skip
        for _ in readings:
            assert beat.beat()
        beat.stop()

    screen("estable-1", [110.0, 126.0, 131.0])  # settles after start: not a leak
    screen("fuga-2", [112.0, 180.0, 246.5])  # +134.5 MB since it started
    # A screen with older software: no start figure, shown without a verdict.
    old = HeartbeatReport(screen="antigua-3", sent=datetime.now(UTC), rss_mb=400.0).to_json()
    del old["rss_start_mb"]
    r = requests.post(hub.url + "/api/v1/heartbeat", json=old, headers=hub.auth, timeout=10)
    assert r.status_code // 100 == 2, r.text

    absurd = HeartbeatReport(screen="rara-4", sent=datetime.now(UTC), rss_mb=90.0).to_json()
    absurd["rss_start_mb"] = -5
    r = requests.post(hub.url + "/api/v1/heartbeat", json=absurd, headers=hub.auth, timeout=10)
    assert r.status_code == 400 and "rss_start_mb" in r.text, r.text

    listed = {
        s["screen"]: s
        for s in json.loads(
            _status("--hub", hub.url, "--token-file", str(hub.token_file), "--json").stdout
        )
    }
    assert "rara-4" not in listed
    assert listed["fuga-2"]["rss_start_mb"] == 112.0
    assert listed["fuga-2"]["rss_growth_mb"] == 134.5
    assert listed["estable-1"]["rss_growth_mb"] == 21.0
    assert listed["antigua-3"]["rss_start_mb"] is None
    assert listed["antigua-3"]["rss_growth_mb"] is None

    table = _status("--hub", hub.url, "--token-file", str(hub.token_file))
    assert table.returncode == 0, table.stderr
    assert "MEMORY" in table.stdout.splitlines()[0]
    assert "246 MB +134 GROWING" in _line(table.stdout, "fuga-2")
    assert "131 MB +21" in _line(table.stdout, "estable-1")
    assert "GROWING" not in _line(table.stdout, "estable-1")
    assert "400 MB" in _line(table.stdout, "antigua-3")
    assert "GROWING" not in _line(table.stdout, "antigua-3")
    assert table.stdout.splitlines()[-1].endswith("1 with memory grown by more than 100 MB")

    looser = _status(
        "--hub", hub.url, "--token-file", str(hub.token_file), "--memory-growth", "150"
    )
    assert "GROWING" not in looser.stdout
    bad = _status("--hub", hub.url, "--token-file", str(hub.token_file), "--memory-growth", "0")
    assert bad.returncode == 2 and "--memory-growth" in bad.stderr
    assert "Traceback" not in bad.stderr
