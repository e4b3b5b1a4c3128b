"""GUI stalls while 4K pictures play with fades: p99 and max event-loop lateness.

A headless player (1920x1080 by default) plays a root of 4K JPEG and PNG pictures with
fades; the player's own 10 ms probe records how late the GUI event loop runs. Baseline in
the same run: how long a naive synchronous ``QPixmap(path)`` load and scale of the same
files blocks the loop. Targets: p99 <= 20 ms, max <= 50 ms.
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
    size = tuple(int(v) for v in args.size.split("x"))
    from signage.player.qtenv import ensure_application, prepare_environment

    prepare_environment(headless=True)
    app = ensure_application("bench-stall")
    from PySide6.QtCore import QTimer

    from signage.config import PlayerConfig
    from signage.events import EventLog
    from signage.player.player import Player
    from signage.player.probe import percentile
    from signage.sources.local import LocalSource

    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        root = tmp / "root"
        names = make_pictures(root / "assets", args.pictures)
        slides = "".join(f"  - id: s{i}\n    image: assets/{n}\n" for i, n in enumerate(names))
        (root / "playlists").mkdir(parents=True)
        (root / "playlists" / "fotos.yaml").write_text(
            "name: Fotos 4K\noverlays: {qr: false, ticker: false, clock: true, logo: false}\n"
            f"defaults: {{duration: 1.5s, transition: fade}}\nslides:\n{slides}",
            encoding="utf-8",
        )
        naive = naive_block_ms([root / "assets" / n for n in names], (size[0], size[1]))
        events = EventLog(None)
        shown: list[float] = []
        player = Player(
            config=PlayerConfig(screen="bench"),
            source=LocalSource(root, cache=tmp / "cache"),
            events=events,
            size=(size[0], size[1]),
        )
        samples: list[float] = []

        def on_event(record: dict[str, object]) -> None:
            if record["event"] != "slide_shown":
                return
            shown.append(time.monotonic())
            if len(shown) == 1:
                player.probe.all_late = samples  # measure from the first slide on
            if len(shown) > args.changes:
                QTimer.singleShot(0, app.quit)

        events.subscribe(on_event)
        guard = QTimer()
        guard.setSingleShot(True)
        guard.timeout.connect(app.quit)
        guard.start(int((args.changes * 4 + 30) * 1000))
        player.start()
        app.exec()
        player.dispose()
    if len(shown) <= args.changes:
        raise SystemExit(f"only {len(shown)} slides were shown")
    p99, worst = percentile(samples, 0.99), max(samples)
    base = statistics.mean(naive)
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
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
