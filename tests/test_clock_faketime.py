"""Screens whose clock is wrong, for real: headless players started under libfaketime.

Debian's libfaketime is preloaded into the player process only (``FAKETIME="+2h"`` etc.,
read at process start); the hub and the ``signage alert`` commands keep the true time, as
the organisation's machines would. ``FAKETIME_DONT_FAKE_MONOTONIC=1`` is required: with a
faked monotonic clock Python's timed waits never end (Python 3.11 waits with
``sem_clockwait(CLOCK_MONOTONIC, deadline)``, which libfaketime 0.9.10 does not intercept,
so the kernel waits for a deadline computed on the faked clock). The first test checks that
the preload shifts what it must and nothing else.

Asserted: alerts raised through a hub and from a local root are shown and cleared on screens
hours and days ahead or behind, and end after their lifetime (not before, not hours later);
schedules (dayparts and dates) follow the organisation's time; the offset reaches the hub in
heartbeats and ``signage status`` flags it; a feed past its expiry by the screen's own clock
is still refused (an unsigned time never makes an expired feed acceptable).
"""

from __future__ import annotations

import json
import re
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from datetime import datetime, timedelta
from pathlib import Path
from typing import Any
from zoneinfo import ZoneInfo

import pytest
import requests

from tests.helpers_alerts import read_log, run_player, signage_cli, signage_env, wait_event
from tests.helpers_hub import RunningHub, make_content_root, run_hub

pytestmark = [pytest.mark.slow, pytest.mark.qt]

LIBFAKETIME = Path("/usr/lib/x86_64-linux-gnu/faketime/libfaketime.so.1")
ZONE = ZoneInfo("America/Bogota")
SCREEN_TOKEN = "screen-token-0123456789"
SHIFTS = {"+2h": 7200.0, "-2h": -7200.0, "+3d": 3 * 86400.0, "-3d": -3 * 86400.0}


def faked_env(shift: str) -> dict[str, str]:
    """The player's environment with its clock shifted by ``shift`` from process start."""
    assert LIBFAKETIME.exists(), "libfaketime is missing: scripts/setup.sh installs faketime"
    env = signage_env()
    env["LD_PRELOAD"] = str(LIBFAKETIME)
    env["FAKETIME"] = shift
    env["FAKETIME_DONT_FAKE_MONOTONIC"] = "1"
    env["SIGNAGE_HEARTBEAT_S"] = "2"
    return env


@contextmanager
def faked_player(
    args: list[str], events: Path, shift: str, *, for_s: float = 180.0
) -> Iterator[subprocess.Popen[str]]:
    """``signage play --headless`` with its clock shifted; waits for ``started``."""
    with run_player(args, events=events, size="640x360", for_s=for_s, env=faked_env(shift)) as proc:
        yield proc


def named(event: str, **fields: Any) -> Callable[[dict[str, Any]], bool]:
    return lambda e: e["event"] == event and all(e.get(k) == v for k, v in fields.items())


def player_config(tmp_path: Path, hub: RunningHub) -> Path:
    config = tmp_path / "player.yaml"
    config.write_text(
        f"screen: lobby-1\ntags: [lobby]\nfeed: {hub.url}/feed.json\npubkey: {hub.pubkey}\n"
        f"cache: {tmp_path / 'cache'}\npoll: 30\nhub_token_file: {hub.screen_token_file}\n",
        encoding="utf-8",
    )
    return config


def screen_row(hub: RunningHub, screen: str) -> dict[str, Any] | None:
    rows = requests.get(hub.url + "/api/v1/screens", headers=hub.auth, timeout=5).json()
    return next((r for r in rows if r["screen"] == screen), None)


def wait_offset(
    hub: RunningHub, screen: str, expected: float, timeout: float = 30
) -> dict[str, Any]:
    """The screen's row once its heartbeat reports an offset within 5 s of ``expected``."""
    deadline = time.monotonic() + timeout
    row = None
    while time.monotonic() < deadline:
        row = screen_row(hub, screen)
        offset = None if row is None else row.get("clock_offset_s")
        if row is not None and isinstance(offset, float | int) and abs(offset - expected) < 5:
            return row
        time.sleep(0.2)
    raise AssertionError(f"no heartbeat with offset ~{expected}; last row: {row}")


# ---------------------------------------------------------------------------- the tool


def test_libfaketime_shifts_python_and_qt_wall_clocks_but_not_monotonic_timers() -> None:
    probe = (
        "import json, threading, time, datetime\n"
        "from PySide6.QtCore import QCoreApplication, QDateTime, QElapsedTimer, QTimer\n"
        "app = QCoreApplication([])\n"
        "wall = time.time(); now = datetime.datetime.now(datetime.UTC).timestamp()\n"
        "qt = QDateTime.currentMSecsSinceEpoch() / 1000\n"
        "t = QElapsedTimer(); t.start(); m0 = time.monotonic()\n"
        "QTimer.singleShot(300, app.quit); app.exec()\n"
        "e = threading.Event(); w0 = time.monotonic(); e.wait(0.2)\n"
        "print(json.dumps({'time': wall, 'now': now, 'qt': qt, 'mono': m0,\n"
        "  'timer_ms': t.elapsed(), 'wait_s': time.monotonic() - w0}))\n"
    )
    for shift, seconds in SHIFTS.items():
        before = time.time()
        done = subprocess.run(
            [sys.executable, "-c", probe], capture_output=True, text=True, timeout=60,
            env=faked_env(shift), check=False,
        )  # fmt: skip
        assert done.returncode == 0, done.stderr
        seen = json.loads(done.stdout)
        for key in ("time", "now", "qt"):
            assert abs(seen[key] - before - seconds) < 30, (shift, key, seen)
        assert abs(seen["mono"] - time.monotonic()) < 30  # the monotonic clock is the real one
        assert 250 <= seen["timer_ms"] < 5000  # a 300 ms QTimer takes ~300 ms
        assert 0.19 <= seen["wait_s"] < 5  # timed waits end


def test_faking_the_monotonic_clock_hangs_python_timed_waits() -> None:
    """Why FAKETIME_DONT_FAKE_MONOTONIC=1: a 0.2 s Event.wait does not end in 5 s without it."""
    env = faked_env("-2d")
    del env["FAKETIME_DONT_FAKE_MONOTONIC"]
    with pytest.raises(subprocess.TimeoutExpired):
        subprocess.run(
            [sys.executable, "-c", "import threading; threading.Event().wait(0.2)"],
            env=env, timeout=5, check=False, capture_output=True,
        )  # fmt: skip


# ---------------------------------------------------------------------------- through a hub


@pytest.mark.parametrize("shift", list(SHIFTS))
def test_hub_alert_shown_and_cleared_and_offset_reported(tmp_path: Path, shift: str) -> None:
    root = make_content_root(tmp_path / "root")
    with run_hub(data=tmp_path / "hub", root=root, screen_token=SCREEN_TOKEN) as hub:
        events = tmp_path / "events.jsonl"
        with faked_player(["--config", str(player_config(tmp_path, hub))], events, shift) as p:
            wait_event(events, named("slide_shown"), 60, p)
            done = signage_cli(
                "alert", "raise", "--hub", hub.url, "--token-file", str(hub.token_file),
                "--template", "interrupcion-servicio", "--set", "sistema=Correo institucional",
                "--set", "hora_retorno=16:00", "--expires", "1h",
            )  # fmt: skip
            assert done.returncode == 0, done.stderr
            alert_id = done.stdout.strip()
            wait_event(events, named("alert_shown", alert=alert_id), 30, p)
            row = wait_offset(hub, "lobby-1", -SHIFTS[shift])
            assert row["clock_off"] is True
            # what the hub measures itself (arrival minus sent) agrees with the screen
            assert abs(row["clock_offset_measured_s"] + SHIFTS[shift]) < 5
            table = signage_cli("status", "--hub", hub.url, "--token-file", str(hub.token_file))
            assert table.returncode == 0, table.stderr
            way = "fast" if SHIFTS[shift] > 0 else "slow"
            line = next(ln for ln in table.stdout.splitlines() if ln.startswith("lobby-1"))
            shown = "(2h00m|1h59m)" if "h" in shift else "(3d00h|2d23h)"  # the estimate's error
            assert re.search(f"OFF {shown} {way}", line), table.stdout
            assert "with the clock off by more than a minute" in table.stdout
            time.sleep(3)  # a few seconds on screen: not hidden by a clock running ahead
            assert not [e for e in read_log(events) if e["event"] == "alert_cleared"]
            cleared = signage_cli(
                "alert", "clear", "--hub", hub.url, "--token-file", str(hub.token_file), alert_id
            )
            assert cleared.returncode == 0, cleared.stderr
            wait_event(events, named("alert_cleared", alert=alert_id), 30, p)


def test_a_screen_on_time_is_not_flagged(tmp_path: Path) -> None:
    root = make_content_root(tmp_path / "root")
    with run_hub(data=tmp_path / "hub", root=root, screen_token=SCREEN_TOKEN) as hub:
        events = tmp_path / "events.jsonl"
        with faked_player(["--config", str(player_config(tmp_path, hub))], events, "+0") as p:
            wait_event(events, named("slide_shown"), 60, p)
            row = wait_offset(hub, "lobby-1", 0.0)
            assert row["clock_off"] is False
            table = signage_cli("status", "--hub", hub.url, "--token-file", str(hub.token_file))
            line = next(ln for ln in table.stdout.splitlines() if ln.startswith("lobby-1"))
            assert "OFF" not in line and " ok" in line, table.stdout


@pytest.mark.parametrize("shift", ["+2h", "-2h"])
def test_hub_alert_ends_after_its_lifetime_in_the_hubs_time(tmp_path: Path, shift: str) -> None:
    root = make_content_root(tmp_path / "root")
    with run_hub(data=tmp_path / "hub", root=root, screen_token=SCREEN_TOKEN) as hub:
        events = tmp_path / "events.jsonl"
        with faked_player(["--config", str(player_config(tmp_path, hub))], events, shift) as p:
            wait_event(events, named("slide_shown"), 60, p)
            done = signage_cli(
                "alert", "raise", "--hub", hub.url, "--token-file", str(hub.token_file),
                "--template", "interrupcion-servicio", "--set", "sistema=Correo",
                "--set", "hora_retorno=16:00", "--expires", "12s",
            )  # fmt: skip
            raised = time.monotonic()
            assert done.returncode == 0, done.stderr
            alert_id = done.stdout.strip()
            wait_event(events, named("alert_shown", alert=alert_id), 10, p)
            wait_event(events, named("alert_cleared", alert=alert_id), 40, p)
            lasted = time.monotonic() - raised
            assert 9 < lasted < 30, f"a 12 s alert lasted {lasted:.1f} s on a {shift} screen"


# ---------------------------------------------------------------------------- from a local root


@pytest.mark.parametrize("shift", ["+2h", "-2h", "+3d", "-3d"])
def test_local_root_alert_shown_for_its_lifetime_and_cleared(tmp_path: Path, shift: str) -> None:
    root = make_content_root(tmp_path / "root")
    events = tmp_path / "events.jsonl"
    args = ["--root", str(root), "--cache", str(tmp_path / "cache")]
    with faked_player(args, events, shift) as p:
        wait_event(events, named("slide_shown"), 60, p)
        raise_args = ("alert", "raise", "--root", str(root), "--template",
                      "falla-sistema-critico", "--set", "sistema=Radicación",
                      "--set", "impacto=no se radican documentos")  # fmt: skip
        done = signage_cli(*raise_args, "--expires", "1h")
        assert done.returncode == 0, done.stderr
        long_id = done.stdout.strip()
        wait_event(events, named("alert_shown", alert=long_id), 30, p)
        assert signage_cli("alert", "clear", "--root", str(root), long_id).returncode == 0
        wait_event(events, named("alert_cleared", alert=long_id), 30, p)
        # a short one ends by itself after its lifetime counted from receipt
        done = signage_cli(*raise_args, "--expires", "12s")
        raised = time.monotonic()
        assert done.returncode == 0, done.stderr
        short_id = done.stdout.strip()
        wait_event(events, named("alert_shown", alert=short_id), 10, p)
        wait_event(events, named("alert_cleared", alert=short_id), 40, p)
        lasted = time.monotonic() - raised
        assert 9 < lasted < 30, f"a 12 s alert lasted {lasted:.1f} s on a {shift} screen"


# ---------------------------------------------------------------------------- schedules


def scheduled_root(root: Path, shift_s: float) -> Path:
    """Two playlists: ``verdad`` active now in true time, ``reloj`` only on the shifted clock."""
    make_content_root(root)
    (root / "playlists" / "lobby.yaml").unlink()
    now = datetime.now(ZONE)
    wrong = now + timedelta(seconds=shift_s)

    def schedule(at: datetime) -> str:
        if abs(shift_s) >= 86400:  # dates: a day either side (a test running over midnight)
            first, last = (at - timedelta(days=1)).date(), (at + timedelta(days=1)).date()
            return f"from: {first}\n  until: {last}"
        start, end = at - timedelta(minutes=40), at + timedelta(minutes=40)
        return f"hours: ['{start:%H:%M}-{end:%H:%M}']"

    for name, at in (("verdad", now), ("reloj", wrong)):
        (root / "playlists" / f"{name}.yaml").write_text(
            f"name: {name}\nschedule:\n  {schedule(at)}\ndefaults:\n  duration: 2s\n"
            f"slides:\n  - id: {name}-1\n    text:\n      title: '{name}'\n",
            encoding="utf-8",
        )
    return root


@pytest.mark.parametrize("shift", list(SHIFTS))
def test_schedules_follow_the_organisations_time(tmp_path: Path, shift: str) -> None:
    root = scheduled_root(tmp_path / "root", SHIFTS[shift])
    with run_hub(data=tmp_path / "hub", root=root, screen_token=SCREEN_TOKEN) as hub:
        events = tmp_path / "events.jsonl"
        with faked_player(["--config", str(player_config(tmp_path, hub))], events, shift) as p:
            wait_event(events, named("slide_shown", playlist="verdad"), 60, p)
            time.sleep(5)  # two more slide turns
            shown = {e["playlist"] for e in read_log(events) if e["event"] == "slide_shown"}
            assert shown == {"verdad"}, f"{shift}: played {shown}"


@pytest.mark.parametrize("shift", ["+2h", "-3d"])
def test_a_local_root_reporting_to_a_hub_follows_its_time(tmp_path: Path, shift: str) -> None:
    """Content from a local root, heartbeats to a hub: the hub's answers tell the time."""
    root = scheduled_root(tmp_path / "root", SHIFTS[shift])
    with run_hub(data=tmp_path / "hub", root=make_content_root(tmp_path / "hubroot"),
                 screen_token=SCREEN_TOKEN) as hub:  # fmt: skip
        config = tmp_path / "player.yaml"
        config.write_text(
            f"screen: sala-1\nhub: {hub.url}\nhub_token_file: {hub.screen_token_file}\n"
            f"cache: {tmp_path / 'cache'}\n",
            encoding="utf-8",
        )
        events = tmp_path / "events.jsonl"
        with faked_player(["--root", str(root), "--config", str(config)], events, shift) as p:
            first = wait_event(events, named("slide_shown", playlist="verdad"), 60, p)
            row = wait_offset(hub, "sala-1", -SHIFTS[shift])
            assert row["clock_off"] is True
            seen = read_log(events)
            time.sleep(4)  # once on the hub's time, the wrong clock's playlist never returns
            after = read_log(events)[seen.index(first) + 1 :]
            assert not [e for e in after if e.get("playlist") == "reloj"], after


def test_a_local_root_without_a_hub_keeps_its_own_clock_for_schedules(tmp_path: Path) -> None:
    """Nothing tells a screen without a hub that its clock is wrong: it plays by it."""
    root = scheduled_root(tmp_path / "root", SHIFTS["+2h"])
    events = tmp_path / "events.jsonl"
    args = ["--root", str(root), "--cache", str(tmp_path / "cache")]
    with faked_player(args, events, "+2h") as p:
        wait_event(events, named("slide_shown", playlist="reloj"), 60, p)


# ---------------------------------------------------------------------------- freeze protection


def test_an_unsigned_time_never_accepts_a_feed_expired_by_the_screens_clock(
    tmp_path: Path,
) -> None:
    root = make_content_root(tmp_path / "root")
    with run_hub(data=tmp_path / "hub", root=root, screen_token=SCREEN_TOKEN) as hub:
        events = tmp_path / "events.jsonl"
        # the hub's feed lives 7 days: 8 days ahead, the screen refuses it as expired, even
        # though the hub's Date says the true time
        with faked_player(["--config", str(player_config(tmp_path, hub))], events, "+8d") as p:
            rejected = wait_event(events, named("feed_rejected"), 60, p)
            assert "expired" in rejected["reason"]
            time.sleep(2)
            assert not [e for e in read_log(events) if e["event"] == "slide_shown"]
            row = wait_offset(hub, "lobby-1", -8 * 86400.0)
            assert row["clock_off"] is True
