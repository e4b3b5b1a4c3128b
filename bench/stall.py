"""GUI stalls while slides play with fades, first uses included: p99 and max lateness.

A headless player (1920x1080 by default) plays a content root with fades between all
slides; the player's own 10 ms probe records how late the GUI event loop runs, from the
first slide on. Each case runs in its own process (a fresh Qt, so every engine's first use
counts), and with ``--rounds N`` the cases are interleaved round by round (the order
turned each round), so a loaded machine weighs on all of them alike:

- ``pictures``: 6 noisy 4K JPEG and PNG pictures. Baseline in the same process: how long
  a naive synchronous ``QPixmap(path)`` load and scale of the same files blocks the loop.
- ``data``: 6 data slides (bar, line, table, rings and figure charts from CSV files of 500
  rows, the last rows drawn). Baseline: parsing, planning and painting one data slide
  synchronously (what the GUI thread would block for without the data painter's thread).
- ``mixed``: a 4K JPEG, a broken picture, a long text, a 3 s 320x240 video played at the
  screen's size, a web page that fails (nothing listens on its port), a 4K PNG: every kind,
  the first use of QtMultimedia and QtWebEngine included, engine warm-up on
  (``signage.player.warmup``). Also printed: the warm-up's cost before the first slide and
  the video's frames (decoded, made into screen pictures on the frame worker, dropped).
- ``mixed-cold``: the same playlist with the warm-up off (the engines start on the GUI
  thread when the first video / web slide is prepared): the mixed case's baseline.

Targets for every case: p99 <= 20 ms, max <= 50 ms, over the whole run. The load average
(``os.getloadavg``) is printed with each figure: on a shared machine the figures are only
comparable within one run. Printed beside them, to read a loaded run: the GUI thread's CPU
seconds; p99 and max without each tick's wait on the run queue (``CpuWait``: the thread
was ready but other processes held the cores); and p99 and max of the ticks while
something moved on screen (a fade, a video or a web page: a pause of a still frame is
not seen, the engines' warm-up steps are made to fall there). ::

    .venv/bin/python bench/stall.py                      # the four cases, one round
    .venv/bin/python bench/stall.py --rounds 3           # interleaved, 3 rounds each
    .venv/bin/python bench/stall.py --case pictures --case mixed --case mixed-cold
    .venv/bin/python bench/stall.py --mixed              # the same three, shorter
"""

from __future__ import annotations

import argparse
import json
import os
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from collections.abc import Callable
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repo, for signage

from _player_bench import verdict
from PIL import Image

P99_TARGET_MS = 20.0
MAX_TARGET_MS = 50.0
CASES = ("pictures", "data", "mixed", "mixed-cold")
OVERLAYS = "overlays: {qr: false, ticker: false, clock: true, logo: false}\n"
FADES = "defaults: {duration: 1.5s, transition: fade}\n"


def make_pictures(folder: Path, count: int) -> list[str]:
    """4K pictures with photo-like noise (so decoding costs what a real photo costs)."""
    folder.mkdir(parents=True, exist_ok=True)
    names = []
    for i in range(count):
        noise = Image.effect_noise((3840, 2160), 40 + 10 * i)
        grad = Image.linear_gradient("L").resize((3840, 2160))
        img = Image.merge("RGB", (noise, grad, Image.blend(noise, grad, 0.5)))
        name = f"foto-{i}.{'jpg' if i % 2 == 0 else 'png'}"
        if name.endswith("jpg"):
            img.save(folder / name, quality=90)
        else:
            img.save(folder / name)
        names.append(name)
    return names


CHARTS = ("bar", "line", "table", "rings", "figure")


def make_data(folder: Path, count: int) -> str:
    """``count`` data slides over CSV files of 500 rows each; returns the slides' YAML."""
    folder.mkdir(parents=True, exist_ok=True)
    slides = []
    for i in range(count):
        rows = "".join(
            f"T{r % 4 + 1} {2000 + r // 4},{(r * 37 + i * 11) % 1000 + 100}.{r % 1000:03d},"
            f"{(r * 13 + i) % 100}\n"
            for r in range(500)
        )
        (folder / f"datos-{i}.csv").write_text("periodo,tickets,porcentaje\n" + rows)
        chart = CHARTS[i % len(CHARTS)]
        values = "porcentaje" if chart == "rings" else "tickets"
        shown = 3 if chart == "rings" else 6
        slides.append(
            f"  - id: d{i}\n    data:\n      file: assets/datos-{i}.csv\n"
            f"      chart: {chart}\n      title: Datos {i}\n      tag: MÉTRICAS\n"
            f"      label: periodo\n      values: {values}\n      rows: {shown}\n"
            f"      card: change\n      card_caption: en seis trimestres\n"
        )
    return "".join(slides)


def make_mixed(root: Path) -> None:
    """Every kind of slide, first uses included (see the module's docstring)."""
    from tests.helpers_player import make_video

    assets = root / "assets"
    names = make_pictures(assets, 2)  # foto-0.jpg, foto-1.png
    (assets / "rota.png").write_bytes(b"\x89PNG\r\n\x1a\n" + bytes(range(256)) * 64)
    make_video(assets / "clip.mp4", seconds=3.0)
    with socket.socket() as sock:  # a port nothing listens on: the page fails
        sock.bind(("127.0.0.1", 0))
        dead = sock.getsockname()[1]
    body = " ".join(["Texto largo de prueba para medir el ajuste del texto en pantalla."] * 12)
    (root / "playlists").mkdir(parents=True)
    (root / "playlists" / "mixta.yaml").write_text(
        f"name: Mixta\n{OVERLAYS}{FADES}slides:\n"
        f"  - id: jpeg\n    image: assets/{names[0]}\n"
        "  - id: rota\n    image: assets/rota.png\n"
        f'  - id: texto\n    text:\n      title: Aviso\n      body: "{body}"\n'
        "  - id: video\n    video: assets/clip.mp4\n"
        f"  - id: web\n    web: https://127.0.0.1:{dead}/\n"
        f"  - id: png\n    image: assets/{names[1]}\n",
        encoding="utf-8",
    )


def naive_pictures_ms(paths: list[Path], size: tuple[int, int]) -> list[float]:
    """A synchronous load + smooth scale of each picture (the GUI-thread alternative)."""
    from PySide6.QtCore import Qt
    from PySide6.QtGui import QPixmap

    out = []
    for path in paths:
        start = time.perf_counter()
        pix = QPixmap(str(path))
        pix.scaled(
            size[0],
            size[1],
            Qt.AspectRatioMode.KeepAspectRatio,
            Qt.TransformationMode.SmoothTransformation,
        )
        out.append((time.perf_counter() - start) * 1000)
    return out


def naive_data_ms(root: Path, size: tuple[int, int]) -> list[float]:
    """Parse, plan and paint each data slide synchronously (the GUI-thread alternative)."""
    from signage.player.dataview import render_data
    from signage.playlist import load_content_root

    load = load_content_root(root)
    out = []
    for playlist in load.playlists:
        for slide in playlist.slides:
            assert slide.data is not None
            start = time.perf_counter()
            render_data(root / slide.source, slide.source, slide.data, load.theme, *size)
            out.append((time.perf_counter() - start) * 1000)
    return out


def build_case(case: str, root: Path, size: tuple[int, int]) -> list[float]:
    """Writes the case's content root; returns its naive baseline (ms), if it has one."""
    if case in ("mixed", "mixed-cold"):
        make_mixed(root)
        return []
    (root / "playlists").mkdir(parents=True)
    if case == "pictures":
        names = make_pictures(root / "assets", 6)
        slides = "".join(f"  - id: s{i}\n    image: assets/{n}\n" for i, n in enumerate(names))
        (root / "playlists" / "fotos.yaml").write_text(
            f"name: Fotos 4K\n{OVERLAYS}{FADES}slides:\n{slides}", encoding="utf-8"
        )
        return naive_pictures_ms([root / "assets" / n for n in names], size)
    slides = make_data(root / "assets", 6)
    (root / "playlists" / "datos.yaml").write_text(
        f"name: Datos\n{OVERLAYS}{FADES}slides:\n{slides}", encoding="utf-8"
    )
    return naive_data_ms(root, size)


class CpuWait:
    """Splits each late probe tick into time on a CPU and time waiting for one.

    Reads the GUI thread's ``/proc/<pid>/task/<tid>/schedstat`` (ns on a CPU, ns runnable
    but waiting on a run queue) at every probe tick: a tick late by 80 ms of which 78 ms
    were spent on the run queue was the machine's load (other processes held both cores),
    not the player's work. ``own`` is each tick's lateness minus its run-queue wait.
    Empty where the kernel keeps no schedstat.
    """

    def __init__(self, still: Callable[[], bool]) -> None:
        import threading

        path = Path(f"/proc/self/task/{threading.get_native_id()}/schedstat")
        self._fh = path.open(encoding="ascii") if path.exists() else None
        self._last = time.perf_counter()
        self._wait = self._read()
        self.own: list[float] = []
        self.moving: list[float] = []  # lateness of ticks while something moved on screen
        self._still = still
        self.on = False  # set from the first slide on

    def _read(self) -> float:
        if self._fh is None:
            return 0.0
        self._fh.seek(0)
        return int(self._fh.read().split()[1]) / 1e6

    def tick(self) -> None:
        now, wait = time.perf_counter(), self._read()
        late = max(0.0, (now - self._last) * 1000 - 10)
        waited = wait - self._wait
        self._last, self._wait = now, wait
        if self.on and not self._still():
            self.moving.append(late)
        if self.on and self._fh is not None:
            self.own.append(max(0.0, late - waited))


def run_case(case: str, changes: int, size: tuple[int, int]) -> dict[str, object]:
    """Plays one case in this process; returns its figures."""
    from signage.player.qtenv import ensure_application, prepare_environment

    prepare_environment(headless=True)
    app = ensure_application("bench-stall")
    from PySide6.QtCore import QTimer

    from signage.config import PlayerConfig
    from signage.events import EventLog
    from signage.player.player import Player
    from signage.player.probe import percentile
    from signage.sources.local import LocalSource

    out: dict[str, object] = {"case": case}
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        root = tmp / "root"
        out["naive_ms"] = build_case(case, root, size)
        events = EventLog(None)
        shown: list[str] = []
        skipped: list[str] = []
        player = Player(
            config=PlayerConfig(screen="bench"),
            source=LocalSource(root, cache=tmp / "cache"),
            events=events,
            size=size,
        )
        if case == "mixed-cold":  # the baseline: engines start when a slide first needs them
            player.warmer.want = lambda slides: None  # type: ignore[method-assign]
        samples: list[float] = []
        cpu_from: list[float] = []  # the GUI thread's CPU time and the clock at the first slide
        waits = CpuWait(player._still)  # a fade, a video or a web page on screen, or not
        player.probe._timer.timeout.connect(waits.tick)  # beside the probe's own tick

        def on_event(record: dict[str, object]) -> None:
            if record["event"] == "slide_skipped":
                skipped.append(str(record["slide"]))
            if record["event"] != "slide_shown":
                return
            shown.append(str(record["slide"]))
            if len(shown) == 1:
                player.probe.all_late = samples  # measure from the first slide on
                waits.on = True
                cpu_from.extend((time.thread_time(), time.perf_counter()))
            if len(shown) > changes:
                QTimer.singleShot(0, app.quit)

        events.subscribe(on_event)
        guard = QTimer()
        guard.setSingleShot(True)
        guard.timeout.connect(app.quit)
        guard.start(int((changes * 5 + 40) * 1000))
        started = time.perf_counter()
        player.start()
        app.exec()
        if cpu_from:  # CPU seconds the GUI thread used: what load from others does not change
            out["gui_cpu_s"] = time.thread_time() - cpu_from[0]
            out["measured_s"] = time.perf_counter() - cpu_from[1]
        out["run_s"] = time.perf_counter() - started
        out["warmup_ms"] = dict(player.warmer.timings_ms)
        if case.startswith("mixed") and "signage.player.videoframes" in sys.modules:
            from signage.player.videoframes import FrameScaler

            totals = FrameScaler.shared().totals
            out["video_frames"] = [totals.offered, totals.made, totals.dropped]
        player.dispose()
    if len(shown) <= changes:
        raise SystemExit(f"{case}: only {len(shown)} slides were shown (skipped {skipped})")
    unexpected = sorted(set(skipped) - {"rota", "web"})  # the mixed case's two broken slides
    if unexpected:
        raise SystemExit(f"{case}: slides were skipped: {unexpected}")
    out.update(
        p99=percentile(samples, 0.99),
        max=max(samples),
        ticks=len(samples),
        worst=sorted(samples)[-3:],
        kinds=sorted(set(shown)),
        skipped=sorted(set(skipped)),
    )
    if waits.own:
        out.update(own_p99=percentile(waits.own, 0.99), own_max=max(waits.own))
    if waits.moving:
        out.update(moving_p99=percentile(waits.moving, 0.99), moving_max=max(waits.moving))
    return out


def in_process(case: str, args: argparse.Namespace) -> dict[str, object]:
    """Runs one case in a fresh interpreter (a fresh Qt: first uses count)."""
    load = os.getloadavg()[0]
    cmd = [sys.executable, __file__, "--one", case, "--changes", str(args.changes)]
    done = subprocess.run(
        [*cmd, "--size", args.size], capture_output=True, text=True, check=False, timeout=900
    )
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith("{")]
    if done.returncode or not lines:
        raise SystemExit(f"case {case} failed: {done.stdout[-1000:]}{done.stderr[-2000:]}")
    figures: dict[str, object] = json.loads(lines[-1])
    figures["load"] = load
    return figures


def _f(fig: dict[str, object], key: str) -> float:
    value = fig[key]
    assert isinstance(value, int | float)
    return float(value)


def report(fig: dict[str, object]) -> None:
    p99, worst = _f(fig, "p99"), _f(fig, "max")
    extra = ""
    warm = fig.get("warmup_ms")
    if isinstance(warm, dict) and warm:
        extra += f"; warm-up before the first slide { {k: round(v) for k, v in warm.items()} } ms"
    frames = fig.get("video_frames")
    if isinstance(frames, list):
        extra += f"; video frames {frames[0]} decoded, {frames[1]} made, {frames[2]} dropped"
    if "own_max" in fig:
        extra += (
            f"; without the ticks' wait for a CPU: p99 {_f(fig, 'own_p99'):.1f} ms, "
            f"max {_f(fig, 'own_max'):.1f} ms"
        )
    if "moving_max" in fig:
        extra += (
            f"; while something moved (fade, video): p99 {_f(fig, 'moving_p99'):.1f} ms, "
            f"max {_f(fig, 'moving_max'):.1f} ms"
        )
    if "gui_cpu_s" in fig:
        cpu, span = _f(fig, "gui_cpu_s"), _f(fig, "measured_s")
        share = 100 * cpu / max(span, 0.1)
        extra += f"; GUI thread CPU {cpu:.2f} s of {span:.1f} s ({share:.0f} %)"
    naive = fig.get("naive_ms")
    if isinstance(naive, list) and naive:
        extra += f"; naive on the GUI thread {statistics.mean(naive):.0f} ms avg"
    worst3 = fig["worst"]
    assert isinstance(worst3, list)
    print(
        f"  {fig['case']:<10} load {_f(fig, 'load'):4.1f}: p99 {p99:5.1f} ms, max {worst:6.1f} ms "
        f"({fig['ticks']} ticks, worst {[round(v) for v in worst3]}){extra}  "
        f"[p99 {verdict(p99 <= P99_TARGET_MS)}, max {verdict(worst <= MAX_TARGET_MS)}]"
    )


def summary(runs: dict[str, list[dict[str, object]]]) -> None:
    print(f"summary (target p99 <= {P99_TARGET_MS:g} ms, max <= {MAX_TARGET_MS:g} ms):")
    for case, figs in runs.items():
        p99s = [_f(f, "p99") for f in figs]
        maxes = [_f(f, "max") for f in figs]
        loads = [_f(f, "load") for f in figs]
        cpu = [_f(f, "gui_cpu_s") for f in figs if "gui_cpu_s" in f]
        own = [_f(f, "own_max") for f in figs if "own_max" in f]
        moving = [_f(f, "moving_max") for f in figs if "moving_max" in f]
        own_text = f"max without the wait for a CPU {min(own):.1f}-{max(own):.1f} ms, "
        own_text = own_text if own else ""
        if moving:
            own_text += f"max while something moved {min(moving):.1f}-{max(moving):.1f} ms, "
        print(
            f"  {case:<10} p99 median {statistics.median(p99s):5.1f} ms "
            f"(range {min(p99s):.1f}-{max(p99s):.1f}), max median "
            f"{statistics.median(maxes):6.1f} ms (range {min(maxes):.1f}-{max(maxes):.1f}), "
            f"GUI thread CPU median {statistics.median(cpu) if cpu else 0:.2f} s, {own_text}"
            f"load {min(loads):.1f}-{max(loads):.1f}  "
            f"[every round: p99 {verdict(max(p99s) <= P99_TARGET_MS)}, "
            f"max {verdict(max(maxes) <= MAX_TARGET_MS)}]"
        )
    rounds = min(len(f) for f in runs.values())
    for base, case, what in (
        ("pictures", "mixed", "mixed / pictures"),
        ("mixed", "mixed-cold", "warm-up off / on"),
        ("pictures", "data", "data / pictures"),
    ):
        if base in runs and case in runs:
            pairs = [(runs[case][i], runs[base][i]) for i in range(rounds)]
            p99 = [_f(a, "p99") / max(_f(b, "p99"), 0.1) for a, b in pairs]
            mx = [_f(a, "max") / max(_f(b, "max"), 0.1) for a, b in pairs]
            print(
                f"  {what} (same rounds): p99 {', '.join(f'{r:.2f}x' for r in p99)}; "
                f"max {', '.join(f'{r:.2f}x' for r in mx)}"
            )


def main() -> int:
    parser = argparse.ArgumentParser(
        description=__doc__, formatter_class=argparse.RawDescriptionHelpFormatter
    )
    parser.add_argument("--changes", type=int, default=12, help="slide changes to measure")
    parser.add_argument("--size", default="1920x1080")
    parser.add_argument(
        "--case", action="append", choices=CASES, help="a case to run (repeat; default: all)"
    )
    parser.add_argument(
        "--mixed",
        action="store_true",
        help="the mixed case beside its baselines: pictures, mixed, mixed-cold",
    )
    parser.add_argument("--rounds", type=int, default=1, help="interleaved rounds of the cases")
    parser.add_argument("--one", choices=CASES, help=argparse.SUPPRESS)  # a child process
    args = parser.parse_args()
    size = (int(args.size.split("x")[0]), int(args.size.split("x")[1]))
    if args.one:
        print(json.dumps(run_case(args.one, args.changes, size)))
        return 0
    cases = list(args.case or (("pictures", "mixed", "mixed-cold") if args.mixed else CASES))
    print(
        f"stall at {args.size}, {args.changes} slide changes with fades from the first slide, "
        f"each case in a fresh process, {args.rounds} round(s); uptime: "
        + subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()
    )
    runs: dict[str, list[dict[str, object]]] = {c: [] for c in cases}
    for n in range(args.rounds):
        order = cases[n % len(cases) :] + cases[: n % len(cases)]  # turned each round
        print(f"round {n + 1}:")
        for case in order:
            fig = in_process(case, args)
            runs[case].append(fig)
            report(fig)
    summary(runs)
    print(
        "uptime at the end: "
        + subprocess.run(["uptime"], capture_output=True, text=True, check=False).stdout.strip()
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
