"""Publish to screen: a headless player (subprocess) follows a hub (subprocess) by push."""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

import pytest

from tests.helpers_hub import REPO, hub_env, make_content_root, run_hub, stop_process

pytestmark = pytest.mark.qt


def _events(path: Path) -> list[dict[str, object]]:
    if not path.exists():
        return []
    return [json.loads(line) for line in path.read_text().splitlines() if line.strip()]


def _wait_for(path: Path, pred, timeout: float) -> list[dict[str, object]]:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        events = _events(path)
        if pred(events):
            return events
        time.sleep(0.05)
    raise AssertionError(f"timed out; events so far: {_events(path)}")


def _ts(event: dict[str, object]) -> float:
    return datetime.fromisoformat(str(event["ts"]).replace("Z", "+00:00")).timestamp()


def test_headless_player_shows_a_root_edit_pushed_by_the_hub(tmp_path: Path) -> None:
    root = make_content_root(tmp_path / "root")
    with run_hub(data=tmp_path / "hubdata", root=root) as hub:
        config = tmp_path / "player.yaml"
        config.write_text(
            f"screen: lobby-1\nfeed: {hub.url}\npubkey: {hub.pubkey}\n"
            f"cache: {tmp_path / 'cache'}\npoll: 120\n"  # polling too slow to matter here
        )
        events_file = tmp_path / "events.jsonl"
        env = hub_env()
        env["QT_QPA_PLATFORM"] = "offscreen"
        env.setdefault("QTWEBENGINE_DISABLE_SANDBOX", "1")
        with (tmp_path / "player.err").open("w") as err:
            player = subprocess.Popen(
                [
                    *(sys.executable, "-m", "signage", "play", "--config", str(config)),
                    *("--headless", "--size", "640x360", "--events", str(events_file)),
                    *("--for", "40"),
                ],
                stdout=subprocess.DEVNULL,
                stderr=err,
                env=env,
                cwd=str(REPO),
            )
        try:
            first = hub.version()
            _wait_for(
                events_file,
                lambda ev: any(e["event"] == "slide_shown" for e in ev),
                timeout=30,
            )
            assert any(
                e["event"] == "feed_applied" and e["version"] == first for e in _events(events_file)
            )
            lobby = root / "playlists" / "lobby.yaml"
            edited_at = time.time()
            lobby.write_text(lobby.read_text().replace("Bienvenidos", "Cambio en vivo"))
            events = _wait_for(
                events_file,
                lambda ev: any(
                    e["event"] == "feed_applied" and int(e["version"]) > first for e in ev
                ),
                timeout=15,
            )
            applied = next(
                e for e in events if e["event"] == "feed_applied" and e["version"] != first
            )
            assert applied["version"] == hub.version()
            latency = _ts(applied) - edited_at
            # Target: on screen within 1 s; bound generous for a shared 2-core machine.
            assert latency < 5.0, f"edit applied after {latency:.2f}s"
            shown = _wait_for(
                events_file,
                lambda ev: any(e["event"] == "slide_shown" and _ts(e) > _ts(applied) for e in ev),
                timeout=15,
            )
            assert shown
        finally:
            stop_process(player)
            if player.returncode not in (0, -15):
                print((tmp_path / "player.err").read_text(), file=sys.stderr)
