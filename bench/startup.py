"""Start-up: process start to first slide painted, against a bare PySide6 window.

Both run offscreen in the same run, three times each; medians compared. The player run is
`signage play --headless --root` on a one-picture content root (validation, the local
publish/apply path, decoding and overlays included); its time is the first `slide_shown`
event (written after the slide's first full frame). Target: <= 1.5x the bare window.
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
RUNS = 3


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
        bare = [bare_once(tmp) for _ in range(RUNS)]
        player = [player_once(tmp, root, n) for n in range(RUNS)]
    b, p = statistics.median(bare), statistics.median(player)
    ratio = p / b
    print(
        f"startup: first slide painted {p * 1000:.0f} ms (runs: "
        f"{', '.join(f'{x * 1000:.0f}' for x in player)})"
    )
    print(
        f"baseline: bare PySide6 window first paint {b * 1000:.0f} ms (runs: "
        f"{', '.join(f'{x * 1000:.0f}' for x in bare)})"
    )
    print(f"ratio {ratio:.2f}x  target <= {TARGET}x  {verdict(ratio <= TARGET)}")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
