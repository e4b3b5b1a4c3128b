"""The clock offset in heartbeats, the hub's answer and ``signage status`` (no Qt).

A real hub subprocess answers a heartbeat with its time; the report field is optional both
ways (an older player sends none, the hub then measures arrival minus ``sent``).
"""

from __future__ import annotations

from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest
import requests

from signage.commands.status import clock_cell, format_table
from signage.telemetry.heartbeat import hub_time_from
from signage.telemetry.wire import HeartbeatReport, ReportError
from signage.timebase import TimeKeeper
from tests.helpers_hub import RunningHub, make_content_root, run_hub


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[RunningHub]:
    with run_hub(data=tmp_path / "hub", root=make_content_root(tmp_path / "root")) as running:
        yield running


def test_report_field_round_trips_and_is_optional() -> None:
    now = datetime(2026, 11, 29, 3, 0, tzinfo=UTC)
    report = HeartbeatReport(screen="s1", sent=now, clock_offset_s=-7200.4567)
    data = report.to_json()
    assert data["clock_offset_s"] == -7200.457
    assert HeartbeatReport.from_json(data).clock_offset_s == pytest.approx(-7200.457)
    del data["clock_offset_s"]  # an older player
    assert HeartbeatReport.from_json(data).clock_offset_s is None
    for bad in ("2h", True, float("nan")):
        with pytest.raises(ReportError, match="clock_offset_s"):
            HeartbeatReport.from_json({**data, "clock_offset_s": bad})


def test_hub_answers_with_its_time_and_measures_an_old_screen(hub: RunningHub) -> None:
    keeper = TimeKeeper()
    sent = datetime.now(UTC) - timedelta(hours=3)  # a screen 3 h slow, sending no offset
    asked = keeper.mono()
    answer = requests.post(
        hub.url + "/api/v1/heartbeat",
        json=HeartbeatReport(screen="viejo", sent=sent).to_json(),
        headers=hub.auth,
        timeout=5,
    )
    assert answer.status_code == 200
    told = datetime.fromisoformat(answer.json()["time"].replace("Z", "+00:00"))
    assert abs((told - datetime.now(UTC)).total_seconds()) < 5
    hub_time_from(answer, asked, keeper.mono(), keeper)
    offset = keeper.offset_s()
    assert offset is not None and abs(offset) < 2  # this machine's clock is the hub's
    rows = requests.get(hub.url + "/api/v1/screens", headers=hub.auth, timeout=5).json()
    row = next(r for r in rows if r["screen"] == "viejo")
    assert abs(row["clock_offset_s"] - 3 * 3600) < 5
    assert row["clock_offset_measured_s"] == row["clock_offset_s"]
    assert row["clock_off"] is True


def test_a_refused_heartbeat_still_tells_the_time_by_its_date(tmp_path: Path) -> None:
    root = make_content_root(tmp_path / "root")
    with run_hub(data=tmp_path / "hub", root=root, screen_token="screen-token-0123456789") as hub:
        keeper = TimeKeeper()
        asked = keeper.mono()
        answer = requests.post(hub.url + "/api/v1/heartbeat", json={"screen": "x"}, timeout=5)
        assert answer.status_code == 401
        hub_time_from(answer, asked, keeper.mono(), keeper)
        offset = keeper.offset_s()
        assert offset is not None and abs(offset) < 3


def test_status_cells_and_summary() -> None:
    assert clock_cell({"clock_offset_s": 0.2}) == "ok"
    assert clock_cell({"clock_offset_s": 12.0}) == "ok (12s slow)"
    assert clock_cell({"clock_offset_s": -7200.0}) == "OFF 2h00m fast"
    assert clock_cell({"clock_offset_s": 3 * 86400.0}) == "OFF 3d00h slow"
    assert clock_cell({}) == "-"
    assert clock_cell({"clock_offset_s": "x"}) == "-"
    table = format_table(
        [
            {"screen": "a", "online": True, "clock_offset_s": -7200.0},
            {"screen": "b", "online": True, "clock_offset_s": 3.0},
        ]
    )
    assert table.splitlines()[0].split()[6] == "CLOCK"
    assert table.splitlines()[-1] == (
        "2 screens: 2 online, 0 offline, 0 stale, 1 with the clock off by more than a minute"
    )
