"""A real headless player whose hub is down says so once, not on every heartbeat."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers_hub import REPO, hub_env, make_content_root


@pytest.mark.slow
@pytest.mark.qt
def test_player_logs_an_unreachable_hub_once(tmp_path: Path) -> None:
    root = make_content_root(tmp_path / "root")
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        dead = s.getsockname()[1]  # closed again: connections are refused
    cfg = tmp_path / "player.yaml"
    cfg.write_text(
        json.dumps({"screen": "sala-sin-red", "hub": f"http://127.0.0.1:{dead}",
                    "cache": str(tmp_path / "cache")})
    )  # fmt: skip
    env = hub_env() | {"QT_QPA_PLATFORM": "offscreen", "SIGNAGE_HEARTBEAT_S": "0.1"}
    env.pop("NOTIFY_SOCKET", None)
    events = tmp_path / "events.jsonl"
    done = subprocess.run(
        [sys.executable, "-m", "signage", "play", "--headless", "--size", "320x180",
         "--root", str(root), "--config", str(cfg), "--events", str(events), "--for", "4"],
        capture_output=True, text=True, timeout=90, check=False, cwd=REPO, env=env,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr[-3000:]
    # ~30 heartbeats failed in 3+ s after the first frame; stderr says so once
    assert done.stderr.count("cannot reach the hub") == 1, done.stderr[-3000:]
    assert "slide_shown" in events.read_text()  # and the screen played all along
