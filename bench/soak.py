"""Soak: thousands of slide changes mixing picture, video, web and text; RSS must stay flat.

A headless player (960x540) loops a playlist of pictures (contain and cover), texts, a
short video and a loopback web page with short durations, cuts and quick fades. RSS of
the player process is read at the 100th change and at the last. Baseline: the RSS at the
100th change (the ratio is last/100th). Target: growth <= 25 MB. QtWebEngine's renderer
runs in its own process and is not counted.
"""

from __future__ import annotations

import argparse
import http.server
import subprocess
import sys
import tempfile
import threading
import time
from pathlib import Path
from types import MappingProxyType

sys.path.insert(0, str(Path(__file__).resolve().parents[1]))  # the repo, for signage

from _player_bench import verdict
from PIL import Image

GROWTH_TARGET_MB = 25.0


class _Page(http.server.BaseHTTPRequestHandler):
    def do_GET(self) -> None:
        body = (
            b"<html><body style='margin:0;background:#1d6fb8;color:white'><h1>Indicadores"
            b"</h1></body></html>"
        )
        self.send_response(200)
        self.send_header("Content-Type", "text/html")
        self.send_header("Content-Length", str(len(body)))
        self.end_headers()
        self.wfile.write(body)

    def log_message(self, format: str, *args: object) -> None:
        pass


def main() -> int:
    parser = argparse.ArgumentParser(description=__doc__)
    parser.add_argument("--changes", type=int, default=3000)
    args = parser.parse_args()
    from signage.player.qtenv import ensure_application, prepare_environment

    prepare_environment(headless=True)
    app = ensure_application("bench-soak")
    from PySide6.QtCore import QTimer

    from signage.config import PlayerConfig
    from signage.events import EventLog
    from signage.model import (
        Content,
        Fit,
        Overlays,
        Playlist,
        QRCode,
        Slide,
        SlideKind,
        TextContent,
        Transition,
    )
    from signage.player.player import Player
    from signage.player.probe import rss_mb
    from signage.sources.local import StaticSource

    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), _Page)
    threading.Thread(target=server.serve_forever, daemon=True).start()
    web_url = f"http://127.0.0.1:{server.server_address[1]}/indicadores"
    with tempfile.TemporaryDirectory() as name:
        tmp = Path(name)
        files: dict[str, Path] = {}
        for i, colour in enumerate([(200, 40, 40), (40, 160, 60), (40, 60, 200)]):
            path = tmp / f"p{i}.{'jpg' if i % 2 else 'png'}"
            Image.new("RGB", (1920, 1080), colour).save(path)
            files[f"assets/p{i}"] = path
        video = tmp / "clip.mp4"
        subprocess.run(
            [
                "ffmpeg",
                "-loglevel",
                "error",
                "-y",
                "-f",
                "lavfi",
                "-i",
                "testsrc=size=320x240:rate=25",
                "-t",
                "0.5",
                "-pix_fmt",
                "yuv420p",
                str(video),
            ],
            check=True,
            timeout=60,
        )
        files["assets/clip.mp4"] = video
        qr = QRCode(url="https://encuestas.example.gov.co/satisfaccion", caption="Opina")
        short = 0.05
        slides: tuple[Slide, ...] = (
            Slide("p0", SlideKind.IMAGE, "assets/p0", duration_s=short, qr=qr),
            Slide(
                "t0",
                SlideKind.TEXT,
                text=TextContent("Aviso", "Texto " * 30),
                duration_s=short,
                transition=Transition.CUT,
            ),
            Slide("v", SlideKind.VIDEO, "assets/clip.mp4", duration_s=None),
            Slide(
                "p1",
                SlideKind.IMAGE,
                "assets/p1",
                duration_s=short,
                fit=Fit.COVER,
                transition=Transition.CUT,
            ),
            Slide(
                "t1",
                SlideKind.TEXT,
                text=TextContent("Webinar", "Jueves 10:00"),
                duration_s=short,
                qr=qr,
            ),
            Slide("w", SlideKind.WEB, web_url, duration_s=short, transition=Transition.CUT),
            Slide("p2", SlideKind.IMAGE, "assets/p2", duration_s=short),
            Slide(
                "t2",
                SlideKind.TEXT,
                text=TextContent("Ciberseguridad", "No comparta"),
                duration_s=short,
                transition=Transition.CUT,
            ),
        )
        # pictures and texts again, so one change in ten is a video or a web page
        slides += tuple(
            Slide(
                f"{s.id}b",
                s.kind,
                s.source,
                text=s.text,
                duration_s=s.duration_s,
                fit=s.fit,
                transition=s.transition,
                qr=s.qr,
            )
            for s in slides
            if s.kind in (SlideKind.IMAGE, SlideKind.TEXT)
        )[:4]
        content = Content(
            version=1,
            playlists=(
                Playlist(
                    "soak",
                    "Soak",
                    slides,
                    overlays=Overlays(),
                    ticker=("Titular uno", "Titular dos"),
                ),
            ),
            assets=MappingProxyType(files),
            source="bench",
        )
        events = EventLog(None)
        count = [0]
        rss: dict[int, float] = {}
        kinds: dict[str, int] = {}
        skipped: list[str] = []
        started = time.monotonic()

        def on_event(record: dict[str, object]) -> None:
            if record["event"] == "slide_skipped":
                skipped.append(str(record["reason"]))
            if record["event"] != "slide_shown":
                return
            count[0] += 1
            kinds[str(record["kind"])] = kinds.get(str(record["kind"]), 0) + 1
            if count[0] == 100 or count[0] % 500 == 0 or count[0] >= args.changes:
                rss[count[0]] = rss_mb()
            if count[0] >= args.changes:
                QTimer.singleShot(0, app.quit)

        events.subscribe(on_event)
        player = Player(
            config=PlayerConfig(screen="soak"),
            source=StaticSource(content),
            events=events,
            size=(960, 540),
            fade_ms=100,
        )
        player.start()
        app.exec()
        player.dispose()
    server.shutdown()
    elapsed = time.monotonic() - started
    last = max(rss)
    if 100 not in rss:
        raise SystemExit(f"only {count[0]} changes")
    growth = rss[last] - rss[100]
    print(
        f"soak: {count[0]} slide changes in {elapsed:.0f} s "
        f"({', '.join(f'{k} {v}' for k, v in sorted(kinds.items()))}; {len(skipped)} skipped)"
    )
    print("rss_mb by change: " + ", ".join(f"{k}: {v:.1f}" for k, v in sorted(rss.items())))
    print(
        f"baseline: RSS at change 100 {rss[100]:.1f} MB; at change {last} {rss[last]:.1f} MB "
        f"(ratio {rss[last] / rss[100]:.3f})"
    )
    print(
        f"growth {growth:+.1f} MB  target <= {GROWTH_TARGET_MB:g} MB  "
        f"{verdict(growth <= GROWTH_TARGET_MB)}"
    )
    return 0


if __name__ == "__main__":
    raise SystemExit(main())
