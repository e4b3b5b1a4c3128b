"""Benchmark: cost of drawing one QR for a screen (``signage.qr.qr_image``), per new URL.

The player draws each slide's QR once per content version (cached by URL), on the GUI
thread, so a new QR must fit in a few frames. ``qr_image`` weighs four error-correction
levels; it fits the version of each (cheap) and builds the matrix only for the winner.

Baseline in the same run: one plain ``qrcode`` build of the same URL at level M, image
included (what any QR costs). Figures: median milliseconds per URL over distinct URLs
(no cache can help), and the ratio to the baseline. Targets: ratio at most 1.5, and under
50 ms at 1080p (three frames at 60 Hz).

    .venv/bin/python bench/qr_image.py [--urls 40]
"""

from __future__ import annotations

import argparse
import statistics
import sys
import time
from collections.abc import Callable
from pathlib import Path

import qrcode
import qrcode.constants

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))

from signage.model import Attribution, QRCode
from signage.qr import attributed_url, qr_image

TARGET_RATIO = 1.5
TARGET_MS = 50.0


def urls(n: int) -> list[str]:
    """Realistic attributed survey URLs, all distinct."""
    qr = QRCode("https://encuestas.example.gov.co/satisfaccion?form=intranet&lang=es")
    return [
        attributed_url(qr, Attribution(), f"pantalla-{i:03d}", "lobby-principal", f"slide-{i}")
        for i in range(n)
    ]


def baseline(url: str) -> None:
    code = qrcode.QRCode(error_correction=qrcode.constants.ERROR_CORRECT_M, box_size=8)
    code.add_data(url)
    code.make(fit=True)
    code.make_image()


def timed(fn: Callable[[str], object], items: list[str]) -> list[float]:
    out = []
    for item in items:
        start = time.perf_counter()
        fn(item)
        out.append((time.perf_counter() - start) * 1000)
    return out


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0])
    parser.add_argument("--urls", type=int, default=40)
    args = parser.parse_args()
    items = urls(args.urls)
    timed(baseline, items[:3])  # warm imports and tables
    base = statistics.median(timed(baseline, items))
    for height in (1080, 2160):

        def draw(url: str, h: int = height) -> object:
            return qr_image(url, h)

        ours = statistics.median(timed(draw, items))
        ratio = ours / base
        ok = ratio <= TARGET_RATIO and (height != 1080 or ours <= TARGET_MS)
        print(
            f"qr_image at {height}p: {ours:.1f} ms per new URL; baseline (one qrcode build, "
            f"level M) {base:.1f} ms; ratio {ratio:.2f} (target <= {TARGET_RATIO}"
            f"{f', and <= {TARGET_MS:.0f} ms' if height == 1080 else ''}) "
            f"{'OK' if ok else 'MISSED'}"
        )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
