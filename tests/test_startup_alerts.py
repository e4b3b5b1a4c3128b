"""Alerts at start-up: the player makes its alert layer on the first alert, not before its
first frame (issue 17.2); an alert must still cover the screen at once, whether it is in the
root when the player starts or raised just after the first slide is on screen.

Real ``signage play --headless --root`` processes, a restart from the cache (the short path
of an unchanged root), alerts written into the root's ``alerts/`` as ``signage alert raise
--root`` writes them; the snapshot of each alert is checked for its severity's colour.
"""

from __future__ import annotations

import time
from collections.abc import Callable
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from signage.alerts.store import AlertStore
from signage.model import Severity
from tests.helpers_alerts import make_alert, read_log, run_player, signage_env, wait_event
from tests.helpers_player import solid_png

pytestmark = [pytest.mark.slow, pytest.mark.qt]

BLUE = (20, 40, 200)
EXTREME_RED = (0x7F, 0x00, 0x00)


def picture_root(root: Path) -> Path:
    """One full-HD picture slide with the clock and a QR (what a lobby restarts into)."""
    solid_png(root / "assets" / "uno.png", BLUE, size=(1920, 1080))
    (root / "playlists").mkdir(parents=True)
    (root / "playlists" / "lobby.yaml").write_text(
        "name: Lobby\ndefaults:\n  duration: 1h\n  qr:\n"
        "    url: https://encuestas.example.gov.co/satisfaccion\n    caption: Opina\n"
        "slides:\n  - id: uno\n    image: assets/uno.png\n",
        encoding="utf-8",
    )
    return root


def alert_now(alert_id: str) -> Any:
    return make_alert(
        alert_id,
        severity=Severity.EXTREME,
        headline="Evacuación del edificio",
        sent=datetime.now(UTC) - timedelta(minutes=1),
    )


def is_event(name: str, **fields: str) -> Callable[[dict[str, Any]], bool]:
    return lambda e: e["event"] == name and all(e.get(k) == v for k, v in fields.items())


def env_with_cache(tmp_path: Path) -> dict[str, str]:
    env = signage_env()
    env["XDG_CACHE_HOME"] = str(tmp_path / "cache")  # one cache for both runs: a restart
    env.pop("DISPLAY", None)
    return env


def warm_the_cache(root: Path, tmp_path: Path, env: dict[str, str]) -> None:
    """A first run validates the root and keeps it: the next start is a restart."""
    events = tmp_path / "cold.jsonl"
    with run_player(["--root", str(root)], events=events, env=env) as proc:
        wait_event(events, is_event("slide_shown"), 60, proc)
        time.sleep(0.5)  # the first picture is kept once it is on screen


def snapshot_colour(snaps: Path, name: str) -> tuple[int, int, int]:
    path = next(snaps.glob(f"*-{name}.png"))
    with Image.open(path) as image:
        rgb = image.convert("RGB")
        pixel = rgb.getpixel((3, rgb.height // 2))
    assert isinstance(pixel, tuple)
    return (pixel[0], pixel[1], pixel[2])


def test_an_alert_in_the_root_covers_a_restart_from_its_first_frame(tmp_path: Path) -> None:
    root = picture_root(tmp_path / "root")
    AlertStore(root / "alerts").raise_alert(alert_now("evacuacion"))
    env = env_with_cache(tmp_path)
    warm_the_cache(root, tmp_path, env)
    events, snaps = tmp_path / "restart.jsonl", tmp_path / "snaps"
    with run_player(["--root", str(root)], events=events, snapshots=snaps, env=env) as proc:
        shown = wait_event(events, is_event("alert_shown", alert="evacuacion"), 30, proc)
        assert shown["severity"] == "Extreme"
        assert shown["headline"] == "Evacuación del edificio"
        log = read_log(events)
        # the restart took the cache's short path, and the alert came with it
        assert any(e["event"] == "started" for e in log)
        assert not any(e["event"] == "alert_cleared" for e in log)
        deadline = time.monotonic() + 10
        while not list(snaps.glob("*-alert-evacuacion.png")) and time.monotonic() < deadline:
            time.sleep(0.05)
    assert snapshot_colour(snaps, "alert-evacuacion") == EXTREME_RED


def test_an_alert_raised_just_after_the_first_frame_shows_at_once(tmp_path: Path) -> None:
    root = picture_root(tmp_path / "root")
    env = env_with_cache(tmp_path)
    warm_the_cache(root, tmp_path, env)
    events, snaps = tmp_path / "restart.jsonl", tmp_path / "snaps"
    with run_player(["--root", str(root)], events=events, snapshots=snaps, env=env) as proc:
        wait_event(events, is_event("slide_shown", slide="uno"), 30, proc, poll_s=0.005)
        time.sleep(0.1)
        AlertStore(root / "alerts").raise_alert(alert_now("corte"))
        shown = wait_event(events, is_event("alert_shown", alert="corte"), 30, proc)
        assert shown["severity"] == "Extreme"
        deadline = time.monotonic() + 10
        while not list(snaps.glob("*-alert-corte.png")) and time.monotonic() < deadline:
            time.sleep(0.05)
        # cleared again: the layer made on the first alert hides, the picture is back
        AlertStore(root / "alerts").clear("corte")
        wait_event(events, is_event("alert_cleared", alert="corte"), 30, proc)
    assert snapshot_colour(snaps, "alert-corte") == EXTREME_RED
    assert snapshot_colour(snaps, "uno") == BLUE
