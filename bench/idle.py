"""Idle CPU: a static picture slide on screen (clock and QR overlays on), CPU % of one core.

The player runs headless as its own process; after its first `slide_shown` and a short
warm-up, its CPU time is sampled over a window. Baseline in the same run: a bare PySide6
window doing nothing. Target: <= 2 % of one core.
"""

from __future__ import annotations

import argparse
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repo, for signage

from _player_bench import (
    BARE_WINDOW,
    cpu_seconds,
    env,
    image_root,
    kill,
    play_cmd,
    verdict,
    wait_for_event,
)

TARGET_PCT = 2.0


def sample(proc: subprocess.Popen[bytes], seconds: float) -> float:
    c0, t0 = cpu_seconds(proc.pid), time.monotonic()
    time.sleep(seconds)
    c1, t1 = cpu_seconds(proc.pid), time.monotonic()
    return 100.0 * (c1 - c0) / (t1 - t0)


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--seconds", type=float, default=10.0, help="sampling window")
    args = parser.parse_args()
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        root = image_root(tmp)
        bare = subprocess.Popen(
            [sys.executable, "-c", BARE_WINDOW, "--stay"],
            env=env(tmp),
            stdout=subprocess.PIPE,
            stderr=subprocess.DEVNULL,
        )
        try:
            assert bare.stdout is not None
            bare.stdout.readline()
            time.sleep(1.0)
            base = sample(bare, args.seconds)
        finally:
            kill(bare)
        events = tmp / "events.jsonl"
        player = subprocess.Popen(
            play_cmd(root, events, args.seconds + 30),
            env=env(tmp),
            stdout=subprocess.DEVNULL,
            stderr=subprocess.DEVNULL,
        )
        try:
            if wait_for_event(events, "slide_shown", 30) is None:
                raise SystemExit("the player showed no slide within 30 s")
            time.sleep(2.0)
            pct = sample(player, args.seconds)
        finally:
            kill(player)
    ratio = pct / base if base > 0.05 else float("nan")
    print(f"idle: player with a static picture {pct:.2f} % of one core over {args.seconds:g} s")
    print(f"baseline: bare PySide6 window {base:.2f} %")
    print(
        f"ratio {ratio:.1f}x (baseline near zero: the target is absolute)  "
        f"target <= {TARGET_PCT} %  {verdict(pct <= TARGET_PCT)}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
