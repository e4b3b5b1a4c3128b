"""GUI stalls while 4K pictures, then data slides, play with fades: p99 and max lateness.

A headless player (1920x1080 by default) plays a root of 4K JPEG and PNG pictures with
fades; the player's own 10 ms probe records how late the GUI event loop runs. Baseline in
the same run: how long a naive synchronous ``QPixmap(path)`` load and scale of the same
files blocks the loop. Then the same player plays data slides (bar, line, table, rings and
figure charts from CSV files of 500 rows, the last rows drawn) and the probe measures
again: a data slide's first frame must stay within the picture's stall budget. Its baseline:
how long parsing, planning and painting one data slide takes when done synchronously (what
the GUI thread would block for without the worker). Targets: p99 <= 20 ms, max <= 50 ms.
"""

from __future__ import annotations

import argparse
import statistics
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


def play(app: object, root: Path, cache: Path, size: tuple[int, int], changes: int) -> list[float]:
    """Plays ``root`` headless; returns the probe's lateness samples (ms) from the first
    slide shown until ``changes`` more were shown."""
    from PySide6.QtCore import QTimer

    from signage.config import PlayerConfig
    from signage.events import EventLog
    from signage.player.player import Player
    from signage.sources.local import LocalSource

    events = EventLog(None)
    shown: list[float] = []
    player = Player(
        config=PlayerConfig(screen="bench"),
        source=LocalSource(root, cache=cache),
        events=events,
        size=size,
    )
    samples: list[float] = []

    def on_event(record: dict[str, object]) -> None:
        if record["event"] == "slide_skipped":
            raise SystemExit(f"a slide was skipped: {record}")
        if record["event"] != "slide_shown":
            return
        shown.append(time.monotonic())
        if len(shown) == 1:
            player.probe.all_late = samples  # measure from the first slide on
        if len(shown) > changes:
            QTimer.singleShot(0, app.quit)  # type: ignore[attr-defined]

    events.subscribe(on_event)
    guard = QTimer()
    guard.setSingleShot(True)
    guard.timeout.connect(app.quit)  # type: ignore[attr-defined]
    guard.start(int((changes * 4 + 30) * 1000))
    player.start()
    app.exec()  # type: ignore[attr-defined]
    player.dispose()
    if len(shown) <= changes:
        raise SystemExit(f"only {len(shown)} slides were shown")
    return samples


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


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--changes", type=int, default=12, help="slide changes to measure")
    parser.add_argument("--size", default="1920x1080")
    parser.add_argument("--pictures", type=int, default=6)
    args = parser.parse_args()
    w, h = (int(v) for v in args.size.split("x"))
    size = (w, h)
    from signage.player.qtenv import ensure_application, prepare_environment

    prepare_environment(headless=True)
    app = ensure_application("bench-stall")
    from signage.player.probe import percentile

    overlays = "overlays: {qr: false, ticker: false, clock: true, logo: false}\n"
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        root = tmp / "root"
        names = make_pictures(root / "assets", args.pictures)
        slides = "".join(f"  - id: s{i}\n    image: assets/{n}\n" for i, n in enumerate(names))
        (root / "playlists").mkdir(parents=True)
        (root / "playlists" / "fotos.yaml").write_text(
            f"name: Fotos 4K\n{overlays}"
            f"defaults: {{duration: 1.5s, transition: fade}}\nslides:\n{slides}",
            encoding="utf-8",
        )
        naive = naive_block_ms([root / "assets" / n for n in names], size)
        samples = play(app, root, tmp / "cache", size, args.changes)
        data_root = tmp / "datos"
        data_slides = make_data(data_root / "assets", args.pictures)
        (data_root / "playlists").mkdir(parents=True)
        (data_root / "playlists" / "datos.yaml").write_text(
            f"name: Datos\n{overlays}"
            f"defaults: {{duration: 1.5s, transition: fade}}\nslides:\n{data_slides}",
            encoding="utf-8",
        )
        naive_data = naive_data_ms(data_root, size)
        data_samples = play(app, data_root, tmp / "cache-datos", size, args.changes)
    p99, worst = percentile(samples, 0.99), max(samples)
    d99, dworst = percentile(data_samples, 0.99), max(data_samples)
    base, dbase = statistics.mean(naive), statistics.mean(naive_data)
    print(
        f"stall: {args.changes} fades of 4K pictures at {args.size}: p99 {p99:.1f} ms, "
        f"max {worst:.1f} ms ({len(samples)} probe ticks)"
    )
    print(
        f"baseline: naive synchronous QPixmap load+scale blocks {base:.0f} ms on average "
        f"(max {max(naive):.0f} ms) per picture"
    )
    print(f"ratio: naive block / player max stall = {base / max(worst, 0.1):.1f}x")
    print(
        f"target p99 <= {P99_TARGET_MS:g} ms {verdict(p99 <= P99_TARGET_MS)}, "
        f"max <= {MAX_TARGET_MS:g} ms {verdict(worst <= MAX_TARGET_MS)}"
    )
    print(
        f"data slides: {args.changes} fades of charts from 500-row CSVs: p99 {d99:.1f} ms, "
        f"max {dworst:.1f} ms ({len(data_samples)} probe ticks)"
    )
    print(
        f"baseline: parse+plan+paint of one data slide on the GUI thread would block "
        f"{dbase:.0f} ms on average (max {max(naive_data):.0f} ms)"
    )
    print(
        f"data vs picture (same run): p99 {d99 / max(p99, 0.1):.2f}x, "
        f"max {dworst / max(worst, 0.1):.2f}x"
    )
    print(
        f"data target p99 <= {P99_TARGET_MS:g} ms {verdict(d99 <= P99_TARGET_MS)}, "
        f"max <= {MAX_TARGET_MS:g} ms {verdict(dworst <= MAX_TARGET_MS)}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
