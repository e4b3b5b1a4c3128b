"""Start-up: process start to first slide painted, against a bare PySide6 window.

Both run offscreen in the same run. The player run is `signage play --headless --root` on a
one-picture content root with clock and QR overlays (validation, the local publish/apply
path, decoding and overlays included); its time is the first `slide_shown` event (written
after the slide's first full frame). First one cold start (empty cache: the root is
validated and copied, the QR encoded), then RUNS restarts of the unchanged root interleaved
with RUNS bare windows (so load from other jobs hits both alike); medians compared.
Target: <= 1.5x the bare window, for a restart and for the cold start.
"""

from __future__ import annotations

import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repo, for signage

from _player_bench import BARE_WINDOW, env, image_root, play_cmd, ts, verdict

TARGET = 1.5
RUNS = 5


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


def player_once(tmp: Path, root: Path, n: int) -> float:
    events = tmp / f"events-{n}.jsonl"
    start = time.time()
    subprocess.run(
        play_cmd(root, events, 4.0), env=env(tmp), capture_output=True, timeout=60, check=True
    )
    import json

    for line in events.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        if record["event"] == "slide_shown":
            return ts(record) - start
    raise SystemExit("the player showed no slide within 4 s")


def main() -> int:
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        root = image_root(tmp)
        bare_once(tmp)  # warms the OS file cache for Qt's libraries (not counted)
        cold = player_once(tmp, root, 0)
        bare: list[float] = []
        player: list[float] = []
        for n in range(RUNS):
            bare.append(bare_once(tmp))
            player.append(player_once(tmp, root, n + 1))
    b, p = statistics.median(bare), statistics.median(player)
    ratio, cold_ratio = p / b, cold / b
    ms = ", ".join
    print(
        f"startup (restart, root unchanged): first slide painted {p * 1000:.0f} ms "
        f"(runs: {ms(f'{x * 1000:.0f}' for x in player)})"
    )
    print(f"startup (cold, empty cache): {cold * 1000:.0f} ms")
    print(
        f"baseline: bare PySide6 window first paint {b * 1000:.0f} ms (runs: "
        f"{ms(f'{x * 1000:.0f}' for x in bare)})"
    )
    print(f"restart ratio {ratio:.2f}x  target <= {TARGET}x  {verdict(ratio <= TARGET)}")
    print(f"cold ratio {cold_ratio:.2f}x  target <= {TARGET}x  {verdict(cold_ratio <= TARGET)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
