"""GUI stalls while slides of every kind play with fades, first uses included.

A headless player (1920x1080 by default) plays a root with fades between all slides; the
player's own 10 ms probe records how late the GUI event loop runs, from the first slide
on (``bench/stall.py`` measures pictures and data slides in one process). Three cases,
each in its own process (a fresh Qt, so each engine's first use counts):

- ``pictures``: 4K JPEG and PNG pictures. Baseline in the same run: how long a naive
  synchronous ``QPixmap(path)`` load and scale of the same files blocks the loop.
- ``mixed``: a 4K JPEG, a broken picture, a long text, a video, a web page that fails
  (nothing listens on its port), a 4K PNG: every kind, and the first use of QtMultimedia
  and QtWebEngine included. Baseline in the same run: the same playlist with the engine
  warm-up turned off (``signage.player.warmup``; the engines then start on the GUI thread
  when the first video / web slide is prepared). Also printed: what the warm-up cost
  before the first slide.

Targets: p99 <= 20 ms, max <= 50 ms.

    .venv/bin/python bench/stall_mixed.py [--case both|pictures|mixed|mixed-cold] [--changes 12]
"""

from __future__ import annotations

import argparse
import json
import socket
import statistics
import subprocess
import sys
import tempfile
import time
from pathlib import Path

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repo, for signage

from _player_bench import verdict
from PIL import Image

P99_TARGET_MS = 20.0
MAX_TARGET_MS = 50.0


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


def naive_block_ms(paths: list[Path], size: tuple[int, int]) -> list[float]:
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
        "name: Mixta\noverlays: {qr: false, ticker: false, clock: true, logo: false}\n"
        "defaults: {duration: 1.5s, transition: fade}\nslides:\n"
        f"  - id: jpeg\n    image: assets/{names[0]}\n"
        "  - id: rota\n    image: assets/rota.png\n"
        f'  - id: texto\n    text:\n      title: Aviso\n      body: "{body}"\n'
        "  - id: video\n    video: assets/clip.mp4\n"
        f"  - id: web\n    web: https://127.0.0.1:{dead}/\n"
        f"  - id: png\n    image: assets/{names[1]}\n",
        encoding="utf-8",
    )


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
        if case == "pictures":
            names = make_pictures(root / "assets", 6)
            slides = "".join(f"  - id: s{i}\n    image: assets/{n}\n" for i, n in enumerate(names))
            (root / "playlists").mkdir(parents=True)
            (root / "playlists" / "fotos.yaml").write_text(
                "name: Fotos 4K\noverlays: {qr: false, ticker: false, clock: true, logo: false}\n"
                f"defaults: {{duration: 1.5s, transition: fade}}\nslides:\n{slides}",
                encoding="utf-8",
            )
            out["naive_ms"] = naive_block_ms([root / "assets" / n for n in names], size)
        else:
            make_mixed(root)
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

        def on_event(record: dict[str, object]) -> None:
            if record["event"] == "slide_skipped":
                skipped.append(str(record["slide"]))
            if record["event"] != "slide_shown":
                return
            shown.append(str(record["slide"]))
            if len(shown) == 1:
                player.probe.all_late = samples  # measure from the first slide on
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
        out["run_s"] = time.perf_counter() - started
        out["warmup_ms"] = dict(player.warmer.timings_ms)
        player.dispose()
    if len(shown) <= changes:
        raise SystemExit(f"{case}: only {len(shown)} slides were shown")
    out.update(
        p99=percentile(samples, 0.99),
        max=max(samples),
        ticks=len(samples),
        worst=sorted(samples)[-3:],
        kinds=sorted(set(shown)),
        skipped=sorted(set(skipped)),
    )
    return out


def in_process(case: str, args: argparse.Namespace) -> dict[str, object]:
    """Runs one case in a fresh interpreter (a fresh Qt: first uses count)."""
    cmd = [sys.executable, __file__, "--case", case, "--changes", str(args.changes)]
    done = subprocess.run(
        [*cmd, "--size", args.size, "--json"], capture_output=True, text=True, check=False
    )
    lines = [ln for ln in done.stdout.splitlines() if ln.startswith("{")]
    if done.returncode or not lines:
        raise SystemExit(f"case {case} failed: {done.stderr[-2000:]}")
    figures: dict[str, object] = json.loads(lines[-1])
    return figures


def report(fig: dict[str, object]) -> None:
    p99, worst = float(fig["p99"]), float(fig["max"])  # type: ignore[arg-type]
    print(
        f"{fig['case']}: p99 {p99:.1f} ms, max {worst:.1f} ms ({fig['ticks']} probe ticks, "
        f"worst {[round(v) for v in fig['worst']]} ms; slides {fig['kinds']}, "  # type: ignore[attr-defined]
        f"skipped {fig['skipped']}); warm-up before the first slide "
        f"{ {k: round(v) for k, v in fig['warmup_ms'].items()} } ms"  # type: ignore[attr-defined]
        f"  target p99 <= {P99_TARGET_MS:g} ms {verdict(p99 <= P99_TARGET_MS)}, "
        f"max <= {MAX_TARGET_MS:g} ms {verdict(worst <= MAX_TARGET_MS)}"
    )


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--changes", type=int, default=12, help="slide changes to measure")
    parser.add_argument("--size", default="1920x1080")
    parser.add_argument(
        "--case", default="both", choices=["both", "pictures", "mixed", "mixed-cold"]
    )
    parser.add_argument("--json", action="store_true", help="print the figures as JSON")
    args = parser.parse_args()
    size = (int(args.size.split("x")[0]), int(args.size.split("x")[1]))
    if args.case != "both":
        fig = run_case(args.case, args.changes, size)
        print(json.dumps(fig) if args.json else fig)
        return 0
    figures = {c: in_process(c, args) for c in ("pictures", "mixed-cold", "mixed")}
    print(f"stall at {args.size}, {args.changes} slide changes with fades, from the first slide:")
    for fig in figures.values():
        report(fig)
    naive = figures["pictures"]["naive_ms"]
    assert isinstance(naive, list)
    base = statistics.mean(naive)
    print(
        f"baseline (pictures): naive synchronous QPixmap load+scale blocks {base:.0f} ms on "
        f"average (max {max(naive):.0f} ms) per picture; naive / player max = "
        f"{base / max(float(figures['pictures']['max']), 0.1):.1f}x"  # type: ignore[arg-type]
    )
    cold, warm = float(figures["mixed-cold"]["max"]), float(figures["mixed"]["max"])  # type: ignore[arg-type]
    print(
        f"baseline (mixed): warm-up off max {cold:.0f} ms / warm-up on max {warm:.0f} ms = "
        f"{cold / max(warm, 0.1):.1f}x"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
