"""Start-up: process start to first slide painted, against a bare PySide6 window.

Both run offscreen in the same run. The player run is `signage play --headless --root` on a
one-picture content root with clock and QR overlays (validation, the local publish/apply
path, decoding and overlays included); its time is the first `slide_shown` event (written
after the slide's first full frame). First one cold start (empty cache: the root is
validated and copied, the QR encoded), then RUNS restarts of the unchanged root interleaved
with RUNS bare windows (so load from other jobs hits both alike); medians compared.
Target: <= 1.5x the bare window, for a restart and for the cold start.

Two figures per process: the wall time from spawning it to its first frame (what a viewer
waits), and the CPU time it used until then (user + system, all threads, read in the
process at that moment: `time.process_time()`). On a machine shared with other jobs the
wall times swing 2-5x between runs; the CPU times show the work, and move far less.

``--against DIR`` adds another checkout of the project (e.g. ``git archive`` of an older
commit unpacked in /tmp) as a third process in every round, each tree with its own cache:
an A/B of two versions of the code under the same load. ``--mixed`` uses a root whose
playlist also holds a video and a web slide (the first slide still a picture), so the
engine warm-up (``signage/player/warmup.py``) is part of the start.

Bytecode: an installed player has its ``.pyc`` files (pip writes them at install,
``signage install-kiosk`` compiles a checkout's), so every measured process runs with
bytecode kept in a folder of the run (``PYTHONPYCACHEPREFIX``), filled by one untimed start
of each before the rounds. ``--no-bytecode`` measures a tree that has none and may not write
any (``PYTHONDONTWRITEBYTECODE=1``, as a checkout run under kiosk.service's read-only file
system): each start then compiles the ~45 ``signage`` modules it loads (~400 kB of source,
~70 ms of CPU here) while PySide6's own Python files keep their installed bytecode.

    .venv/bin/python bench/startup.py [--runs 5] [--against /tmp/base] [--mixed] [--nice -15]
                                      [--no-bytecode]
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
NICE: list[str] = []  # --nice N: every measured process runs under `nice -n N`
BYTECODE: dict[str, str] = {}  # the measured processes' bytecode settings (see the docstring)

# `signage play`, with the CPU time used until the first slide_shown printed on stderr.
PLAYER = r"""
import sys, time
import signage.events

emit = signage.events.EventLog.emit
def timed(self, name, **fields):
    if name == "slide_shown" and not getattr(timed, "done", False):
        timed.done = True
        print("first-frame-cpu", time.process_time(), file=sys.stderr, flush=True)
    return emit(self, name, **fields)
signage.events.EventLog.emit = timed
import signage.cli
raise SystemExit(signage.cli.main(sys.argv[1:]))
"""


def load() -> str:
    return f"{os.getloadavg()[0]:.1f}"


def measured_env(tmp: Path) -> dict[str, str]:
    out = env(tmp)
    out.pop("PYTHONDONTWRITEBYTECODE", None)
    out.pop("PYTHONPYCACHEPREFIX", None)
    return out | BYTECODE


def bare_once(tmp: Path) -> tuple[float, float]:
    start = time.time()
    out = subprocess.run(
        [*NICE, sys.executable, "-c", BARE_WINDOW],
        env=measured_env(tmp),
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    ).stdout
    fields = next(line for line in out.splitlines() if line.startswith("painted")).split()
    return float(fields[1]) - start, float(fields[2])


def player_once(tmp: Path, root: Path, n: int, tree: Path, cache: str) -> tuple[float, float]:
    events = tmp / f"events-{cache}-{n}.jsonl"
    run_env = measured_env(tmp)
    run_env["PYTHONPATH"] = str(tree)
    run_env["XDG_CACHE_HOME"] = str(tmp / cache)
    cmd = play_cmd(root, events, 4.0)
    start = time.time()
    done = subprocess.run(
        [*NICE, cmd[0], "-c", PLAYER, *cmd[3:]],  # cmd[1:3] is "-m signage"
        cwd=tmp,  # not a checkout: the working folder comes first on sys.path
        env=run_env,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    cpu = next(
        float(line.split()[1])
        for line in done.stderr.splitlines()
        if line.startswith("first-frame-cpu")
    )
    for line in events.read_text(encoding="utf-8").splitlines():
        record = json.loads(line)
        if record["event"] == "slide_shown":
            return ts(record) - start, cpu
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


def ratios(values: list[float], base: list[float]) -> str:
    return ", ".join(f"{x / y:.2f}" for x, y in zip(values, base, strict=True))


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    parser.add_argument("--runs", type=int, default=RUNS)
    parser.add_argument("--against", type=Path, help="another checkout to compare (A/B)")
    parser.add_argument("--mixed", action="store_true", help="a root with video and web too")
    parser.add_argument(
        "--nice",
        type=int,
        help="run the measured processes under `nice -n N` (e.g. -15, as root)",
    )
    parser.add_argument(
        "--no-bytecode",
        action="store_true",
        help="no .pyc for the trees: every start compiles its modules (see the docstring)",
    )
    args = parser.parse_args()
    if args.nice is not None:
        NICE[:] = ["nice", "-n", str(args.nice)]
    trees = {"this": REPO}
    if args.against is not None:
        trees["other"] = args.against.resolve()
    loads = [load()]
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        root = mixed_root(tmp) if args.mixed else image_root(tmp)
        if args.no_bytecode:
            BYTECODE["PYTHONDONTWRITEBYTECODE"] = "1"
        else:
            BYTECODE["PYTHONPYCACHEPREFIX"] = str(tmp / "pycache")
            for k, tree in trees.items():  # writes each tree's bytecode (not counted)
                player_once(tmp, root, 0, tree, f"warm-{k}")
        bare_once(tmp)  # warms the OS file cache for Qt's libraries (not counted)
        cold = {k: player_once(tmp, root, 0, tree, f"cache-{k}") for k, tree in trees.items()}
        bare: list[tuple[float, float]] = []
        player: dict[str, list[tuple[float, float]]] = {k: [] for k in trees}
        for n in range(args.runs):
            bare.append(bare_once(tmp))
            for k, tree in trees.items():
                player[k].append(player_once(tmp, root, n + 1, tree, f"cache-{k}"))
            loads.append(load())
    print(f"load average (1 min) during the run: {', '.join(loads)}")
    print("bytecode: " + ("none, compiled at every start" if args.no_bytecode else "kept"))
    if NICE:
        print(f"measured processes run under: {' '.join(NICE)}")
    bare_wall, bare_cpu = [w for w, _ in bare], [c for _, c in bare]
    b, bc = statistics.median(bare_wall), statistics.median(bare_cpu)
    print(f"baseline: bare PySide6 window first paint: wall {spread(bare_wall)}")
    print(f"                                           CPU {spread(bare_cpu)}")
    medians: dict[str, tuple[float, float]] = {}
    for k, tree in trees.items():
        wall, cpu = [w for w, _ in player[k]], [c for _, c in player[k]]
        p, pc = statistics.median(wall), statistics.median(cpu)
        medians[k] = (p, pc)
        print(f"[{k}: {tree}]")
        print(f"  restart (root unchanged), first slide painted: wall {spread(wall)}")
        print(f"                                                 CPU {spread(cpu)}")
        print(
            f"  cold (empty cache): wall {cold[k][0] * 1000:.0f} ms, CPU {cold[k][1] * 1000:.0f} ms"
        )
        print(
            f"  restart ratio, wall: {p / b:.2f}x (per round: {ratios(wall, bare_wall)})  "
            f"target <= {TARGET}x  {verdict(p / b <= TARGET)}"
        )
        print(
            f"  restart ratio, CPU:  {pc / bc:.2f}x (per round: {ratios(cpu, bare_cpu)})  "
            f"target <= {TARGET}x  {verdict(pc / bc <= TARGET)}"
        )
        cold_ok = verdict(cold[k][0] / b <= TARGET)
        print(f"  cold ratio, wall: {cold[k][0] / b:.2f}x  target <= {TARGET}x  {cold_ok}")
    if "other" in trees:
        (a, ac), (o, oc) = medians["this"], medians["other"]
        print(f"this / other, restart medians: wall {a / o:.2f}x, CPU {ac / oc:.2f}x")
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
