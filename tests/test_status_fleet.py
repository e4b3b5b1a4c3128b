"""A real hub and real headless players: screens go online, stale and offline in `status`.

Two `signage play --headless --feed ...` subprocesses send heartbeats (every 0.5 s here,
30 s in production) to a `signage serve` subprocess. "lobby-a" syncs from the hub itself;
"sala-b" syncs from a mirror of the hub's first version (a loopback static server, as a
CDN copy that stopped updating) but reports to the hub. After an edit of the content root
the hub publishes version 2: lobby-a follows, sala-b turns stale. Stopping lobby-a makes
it offline once the (shortened) online window passes.
"""

from __future__ import annotations

import functools
import json
import shutil
import subprocess
import sys
import threading
import time
from collections.abc import Callable, Iterator
from contextlib import contextmanager
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
from PIL import Image

from tests.helpers_hub import REPO, RunningHub, hub_env, make_content_root, run_hub, stop_process


class _QuietHandler(SimpleHTTPRequestHandler):
    def log_message(self, format: str, *args: Any) -> None:
        return


@contextmanager
def static_server(folder: Path) -> Iterator[str]:
    """A real loopback HTTP server serving ``folder`` (a feed mirror)."""
    handler = functools.partial(_QuietHandler, directory=str(folder))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{server.server_address[1]}"
    finally:
        server.shutdown()
        server.server_close()
        thread.join(5)


@contextmanager
def player(tmp: Path, name: str, feed: str, hub: RunningHub) -> Iterator[subprocess.Popen[str]]:
    assert hub.pubkey and hub.token_file
    cfg = tmp / f"{name}.yaml"
    cfg.write_text(
        json.dumps(
            {
                "screen": name,
                "tags": ["lobby"],
                "feed": feed,
                "pubkey": hub.pubkey,
                "cache": str(tmp / f"cache-{name}"),
                "hub": hub.url,
                "hub_token_file": str(hub.token_file),
            }
        )
    )
    env = hub_env() | {
        "QT_QPA_PLATFORM": "offscreen",
        "SIGNAGE_HEARTBEAT_S": "0.5",
        "SIGNAGE_SCREENSHOT_EVERY_S": "1",
    }
    for key in ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"):
        env.pop(key, None)
    log_path = tmp / f"{name}.log"
    with log_path.open("w") as log_file:
        proc = subprocess.Popen(
            [sys.executable, "-m", "signage", "play", "--headless", "--size", "480x270",
             "--config", str(cfg), "--for", "90"],
            env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=log_file, text=True,
        )  # fmt: skip
    try:
        yield proc
    finally:
        stop_process(proc)


def status(hub: RunningHub, *flags: str) -> list[dict[str, Any]]:
    done = subprocess.run(
        [sys.executable, "-m", "signage", "status", "--hub", hub.url,
            "--token-file", str(hub.token_file), "--json", *flags],
        capture_output=True, text=True, timeout=60, check=False, cwd=REPO, env=hub_env(),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    screens = json.loads(done.stdout)
    assert isinstance(screens, list)
    return screens


def wait_until(
    what: str, check: Callable[[], dict[str, dict[str, Any]]], ok: Callable[[Any], bool],
    timeout: float, logs: Path,
) -> dict[str, dict[str, Any]]:  # fmt: skip
    deadline = time.monotonic() + timeout
    seen: dict[str, dict[str, Any]] = {}
    while time.monotonic() < deadline:
        seen = check()
        if ok(seen):
            return seen
        time.sleep(0.3)
    player_logs = "\n".join(
        f"--- {p.name}\n{p.read_text(errors='replace')[-3000:]}" for p in logs.glob("*.log")
    )
    raise AssertionError(f"{what}: not within {timeout}s; last status {seen}\n{player_logs}")


@pytest.mark.slow
@pytest.mark.qt
def test_fleet_online_stale_offline(tmp_path: Path) -> None:
    root = make_content_root(tmp_path / "root")
    with run_hub(data=tmp_path / "hubdata", root=root) as hub:
        v1 = hub.version()
        mirror = tmp_path / "mirror"
        shutil.copytree(hub.feed_dir, mirror)
        with static_server(mirror) as mirror_url:
            flags = ("--online-window", "3", "--stale-grace", "1")

            def by_name() -> dict[str, dict[str, Any]]:
                return {s["screen"]: s for s in status(hub, *flags)}

            with (
                player(tmp_path, "lobby-a", hub.url + "/feed.json", hub) as a,
                player(tmp_path, "sala-b", mirror_url + "/feed.json", hub),
            ):
                first = wait_until(
                    "both screens online playing version 1",
                    by_name,
                    # playing too: a first beat built before the first slide says "idle"
                    lambda s: all(
                        s.get(n, {}).get("online") and s[n].get("version") == v1
                        and s[n].get("screenshot") and s[n].get("playing") != "idle"
                        for n in ("lobby-a", "sala-b")
                    ),
                    60, tmp_path,
                )  # fmt: skip
                assert first["lobby-a"]["stale"] is False
                assert first["lobby-a"]["playing"] == "lobby/bienvenida"
                assert first["lobby-a"]["last_sync_age_s"] is not None
                shot = Path(first["lobby-a"]["screenshot"]["path"])
                with Image.open(shot) as img:  # the player's own frame, scaled to 320 px
                    assert img.width == 320
                    colours = img.convert("RGB").getcolors(maxcolors=1 << 16)
                assert colours is not None and len(colours) > 2  # a slide, not a flat frame
                assert max(colours)[1] != (0, 0, 0)  # the most common colour is not black

                lobby = root / "playlists" / "lobby.yaml"
                lobby.write_text(lobby.read_text().replace("Bienvenidos", "Bienvenidas"))
                v2 = hub.wait_version(v1, timeout=15)
                after = wait_until(
                    "lobby-a on the new version, sala-b stale",
                    by_name,
                    lambda s: s["lobby-a"]["version"] == v2 and s["sala-b"]["stale"],
                    45, tmp_path,
                )  # fmt: skip
                assert after["lobby-a"]["stale"] is False
                assert after["sala-b"]["online"] is True
                assert after["sala-b"]["stale_reason"] == f"plays version {v1}, the hub has {v2}"

                stop_process(a)
                gone = wait_until(
                    "lobby-a offline",
                    by_name,
                    lambda s: not s["lobby-a"]["online"],
                    20, tmp_path,
                )  # fmt: skip
                assert gone["sala-b"]["online"] is True
                table = subprocess.run(
                    [sys.executable, "-m", "signage", "status", "--hub", hub.url,
                        "--token-file", str(hub.token_file), *flags],
                    capture_output=True, text=True, timeout=60, check=False, cwd=REPO,
                    env=hub_env(),
                )  # fmt: skip
    assert table.returncode == 0
    rows = {line.split()[0]: line for line in table.stdout.splitlines()[1:-1]}
    assert "OFFLINE" in rows["lobby-a"]
    assert "online" in rows["sala-b"] and "STALE" in rows["sala-b"]
    assert table.stdout.splitlines()[-1] == "2 screens: 1 online, 1 offline, 1 stale"
