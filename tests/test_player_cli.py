"""signage play as a process: headless run with --for, proof-of-play events, printed
snapshot paths, a clean exit; usage errors without tracebacks."""

from __future__ import annotations

import json
import os
import subprocess
import sys
from pathlib import Path

import pytest

from tests.helpers_player import solid_png

pytestmark = pytest.mark.qt


def play(*args: str, cwd: Path, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])}
    env.pop("QT_QPA_PLATFORM", None)  # the player must choose offscreen by itself
    env.pop("DISPLAY", None)
    env["XDG_CACHE_HOME"] = str(cwd / "cache")
    return subprocess.run(
        [sys.executable, "-m", "signage", "play", *args],
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=timeout,
        check=False,
        env=env,
    )


def test_headless_play_for_seconds_writes_events_and_snapshots(tmp_path):
    root = tmp_path / "root"
    solid_png(root / "assets" / "red.png", (230, 20, 20))
    solid_png(root / "assets" / "blue.png", (20, 40, 230))
    (root / "playlists").mkdir(parents=True)
    (root / "playlists" / "lobby.yaml").write_text(
        "name: Lobby\ndefaults: {duration: 0.5s, transition: cut}\nslides:\n"
        "  - id: rojo\n    image: assets/red.png\n  - id: azul\n    image: assets/blue.png\n",
        "utf-8",
    )
    events = tmp_path / "events.jsonl"
    snaps = tmp_path / "snaps"
    done = play(
        "--root",
        str(root),
        "--screen",
        "sala-1",
        "--tags",
        "lobby,piso-1",
        "--for",
        "3",
        "--events",
        str(events),
        "--snapshots",
        str(snaps),
        "--size",
        "640x360",
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    assert "Traceback" not in done.stderr
    records = [json.loads(line) for line in events.read_text("utf-8").splitlines()]
    assert records[0]["event"] == "started"
    assert records[0]["screen"] == "sala-1" and records[0]["tags"] == ["lobby", "piso-1"]
    assert records[0]["source"] == str(root.resolve())
    shown = [r["slide"] for r in records if r["event"] == "slide_shown"]
    assert shown[:3] == ["rojo", "azul", "rojo"]
    assert all(r["ts"].endswith("Z") for r in records)
    printed = [line for line in done.stdout.splitlines() if line.endswith(".png")]
    # each slide once, as it is first fully shown (not on every loop)
    assert printed == [str(snaps / "0001-lobby-rojo.png"), str(snaps / "0002-lobby-azul.png")]
    assert all(Path(p).is_file() for p in printed)


@pytest.mark.parametrize(
    ("args", "message"),
    [
        (["--window", "800x600", "--headless"], "exclude each other"),
        (["--headless", "--size", "huge"], "expected WIDTHxHEIGHT"),
        (["--root", "nowhere"], "no playlists/ folder"),
        ([], "nothing to play"),
    ],
)
def test_usage_errors_exit_2_with_a_message(tmp_path, args, message):
    done = play(*args, cwd=tmp_path, timeout=30)
    assert done.returncode == 2
    assert message in done.stderr and "Traceback" not in done.stderr


def test_play_from_a_signed_feed_with_the_key_on_the_command_line(tmp_path):
    import http.server
    import threading
    from functools import partial

    root = tmp_path / "root"
    solid_png(root / "assets" / "red.png", (230, 20, 20))
    (root / "playlists").mkdir(parents=True)
    (root / "playlists" / "lobby.yaml").write_text(
        "name: Lobby\nslides:\n  - id: rojo\n    image: assets/red.png\n    duration: 1s\n",
        "utf-8",
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])}
    key = tmp_path / "k.pem"
    out = subprocess.run(
        [sys.executable, "-m", "signage", "keygen", "--out", str(key)],
        capture_output=True,
        text=True,
        check=True,
        env=env,
        timeout=60,
    ).stdout
    pubkey = out.strip().splitlines()[0].strip()
    feed = tmp_path / "feed"
    subprocess.run(
        [
            sys.executable,
            "-m",
            "signage",
            "publish",
            "--root",
            str(root),
            "--out",
            str(feed),
            "--key",
            str(key),
        ],
        capture_output=True,
        text=True,
        check=True,
        env=env,
        timeout=60,
    )
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(feed))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        events = tmp_path / "events.jsonl"
        done = play(
            "--feed",
            f"http://127.0.0.1:{server.server_address[1]}/",
            "--pubkey",
            pubkey,
            "--headless",
            "--for",
            "3",
            "--events",
            str(events),
            "--size",
            "320x180",
            cwd=tmp_path,
        )
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
    assert done.returncode == 0, done.stderr[-2000:]
    records = [json.loads(line) for line in events.read_text("utf-8").splitlines()]
    names = [r["event"] for r in records]
    assert "feed_applied" in names
    assert any(r["event"] == "slide_shown" and r["slide"] == "rojo" for r in records)


@pytest.mark.parametrize(("mode", "size"), [(["--window", "400x240"], (400, 240)), ([], None)])
def test_window_and_fullscreen_modes_play(tmp_path, mode, size):
    # Runs on Qt's offscreen platform, chosen by hand, so the window and fullscreen code
    # paths (frameless, hidden cursor, primary screen geometry, blanking) run here.
    root = tmp_path / "root"
    solid_png(root / "assets" / "red.png", (230, 20, 20))
    (root / "playlists").mkdir(parents=True)
    (root / "playlists" / "lobby.yaml").write_text(
        "name: Lobby\nslides:\n  - id: rojo\n    image: assets/red.png\n", "utf-8"
    )
    env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])}
    env["QT_QPA_PLATFORM"] = "offscreen"
    env["XDG_CACHE_HOME"] = str(tmp_path / "cache")
    snaps = tmp_path / "snaps"
    done = subprocess.run(
        [
            sys.executable,
            "-m",
            "signage",
            "play",
            "--root",
            str(root),
            "--for",
            "2",
            "--snapshots",
            str(snaps),
            *mode,
        ],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
        env=env,
    )
    assert done.returncode == 0, done.stderr[-2000:]
    from PIL import Image

    with Image.open(snaps / "0001-lobby-rojo.png") as im:
        if size is not None:
            assert im.size == size
        else:  # fullscreen takes the whole primary screen
            assert im.size[0] >= 640 and im.size[1] >= 480
        assert im.convert("RGB").getpixel((im.size[0] // 2, im.size[1] // 2)) == (230, 20, 20)
