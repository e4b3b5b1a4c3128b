"""Start-up: process start to first slide painted, against a bare PySide6 window.

Both run offscreen in the same run. The player run is `signage play --headless --root` on a
one-picture content root with clock and QR overlays (validation, the local publish/apply
path, decoding and overlays included); its time is the first `slide_shown` event (written
after the slide's first full frame). First one cold start (empty cache: the root is
validated and copied, the QR encoded), then RUNS restarts of the unchanged root interleaved
with RUNS bare windows (so load from other jobs hits both alike); medians compared.
Target: <= 1.5x the bare window, for a restart and for the cold start.

``--against DIR`` adds another checkout of the project (e.g. ``git archive`` of an older
commit unpacked in /tmp) as a third process in every round, each tree with its own cache:
an A/B of two versions of the code under the same load. ``--mixed`` uses a root whose
playlist also holds a video and a web slide (the first slide still a picture), so the
engine warm-up (``signage/player/warmup.py``) is part of the start.

    .venv/bin/python bench/startup.py [--runs 5] [--against /tmp/base] [--mixed]
"""

from __future__ import annotations

import argparse
import json
import os
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repo, for signage

from _player_bench import BARE_WINDOW, REPO, env, image_root, play_cmd, ts, verdict

TARGET = 1.5
RUNS = 5


def load() -> str:
    return f"{os.getloadavg()[0]:.1f}"


def bare_once(tmp: Path) -> float:
    start = time.time()
    out = subprocess.run(
        [sys.executable, "-c", BARE_WINDOW],
        env=env(tmp),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    painted = float(
        next(line for line in out.splitlines() if line.startswith("painted")).split()[1]
    )
    return painted - start


def player_once(tmp: Path, root: Path, n: int, tree: Path, cache: str) -> float:
    events = tmp / f"events-{cache}-{n}.jsonl"
    run_env = env(tmp)
    run_env["PYTHONPATH"] = str(tree)
    run_env["XDG_CACHE_HOME"] = str(tmp / cache)
    start = time.time()
    subprocess.run(
        play_cmd(root, events, 4.0), env=run_env, capture_output=True, timeout=60, check=True
    )
    for line in events.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        if record["event"] == "slide_shown":
            return ts(record) - start
    raise SystemExit("the player showed no slide within 4 s")


def mixed_root(tmp: Path) -> Path:
    """The one-picture root, its playlist followed by a short video and a web slide."""
    from tests.helpers_player import make_video

    root = image_root(tmp)
    make_video(root / "assets" / "clip.mp4", seconds=2.0)
    playlist = root / "playlists" / "lobby.yaml"
    playlist.write_text(
        playlist.read_text(encoding="utf-8")
        + "  - id: clip\n    video: assets/clip.mp4\n"
        + "  - id: web\n    web: https://127.0.0.1:9/\n",
        encoding="utf-8",
    )
    return root


def spread(values: list[float]) -> str:
    ms = ", ".join(f"{x * 1000:.0f}" for x in values)
    return f"median {statistics.median(values) * 1000:.0f} ms (runs: {ms})"


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=RUNS)
    parser.add_argument("--against", type=Path, help="another checkout to compare (A/B)")
    parser.add_argument("--mixed", action="store_true", help="a root with video and web too")
    args = parser.parse_args()
    trees = {"this": REPO}
    if args.against is not None:
        trees["other"] = args.against.resolve()
    loads = [load()]
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        root = mixed_root(tmp) if args.mixed else image_root(tmp)
        bare_once(tmp)  # warms the OS file cache for Qt's libraries (not counted)
        cold = {k: player_once(tmp, root, 0, tree, f"cache-{k}") for k, tree in trees.items()}
        bare: list[float] = []
        player: dict[str, list[float]] = {k: [] for k in trees}
        for n in range(args.runs):
            bare.append(bare_once(tmp))
            for k, tree in trees.items():
                player[k].append(player_once(tmp, root, n + 1, tree, f"cache-{k}"))
            loads.append(load())
    b = statistics.median(bare)
    print(f"load average (1 min) during the run: {', '.join(loads)}")
    print(f"baseline: bare PySide6 window first paint {spread(bare)}")
    for k, tree in trees.items():
        p = statistics.median(player[k])
        ratios = ", ".join(f"{x / y:.2f}" for x, y in zip(player[k], bare, strict=True))
        print(f"[{k}: {tree}]")
        print(f"  restart (root unchanged): first slide painted {spread(player[k])}")
        print(f"  cold (empty cache): {cold[k] * 1000:.0f} ms")
        print(
            f"  restart ratio {p / b:.2f}x (per round: {ratios})  target <= {TARGET}x  "
            f"{verdict(p / b <= TARGET)}"
        )
        cold_ok = verdict(cold[k] / b <= TARGET)
        print(f"  cold ratio {cold[k] / b:.2f}x  target <= {TARGET}x  {cold_ok}")
    if "other" in trees:
        a, o = statistics.median(player["this"]), statistics.median(player["other"])
        print(f"this / other (restart medians): {a / o:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
