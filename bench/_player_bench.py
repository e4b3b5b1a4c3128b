"""Shared set-up for the player benchmarks: content roots, a bare PySide6 window baseline,
process CPU and first-event timing. Not a benchmark itself."""

from __future__ import annotations

import json
import os
import subprocess
import sys
import time
from datetime import datetime
from pathlib import Path

from PIL import Image

REPO = Path(__file__).resolve().parents[1]

BARE_WINDOW = r"""
import sys, time
from PySide6.QtWidgets import QApplication, QWidget
from PySide6.QtGui import QPainter, QColor
app = QApplication([])
class Window(QWidget):
    def paintEvent(self, event):
        p = QPainter(self); p.fillRect(self.rect(), QColor("#0b2545")); p.end()
        if not getattr(self, "told", False):
            self.told = True
            print("painted", time.time(), time.process_time(), flush=True)
            if "--stay" not in sys.argv:
                app.quit()
w = Window(); w.resize(1920, 1080); w.show(); app.exec()
"""


def env(tmp: Path) -> dict[str, str]:
    out = {**os.environ, "PYTHONPATH": str(REPO), "QT_QPA_PLATFORM": "offscreen"}
    out["XDG_CACHE_HOME"] = str(tmp / "cache")
    out.pop("DISPLAY", None)
    return out


def image_root(tmp: Path, *, duration: str = "1h", ticker: bool = False) -> Path:
    """A content root with one full-HD picture slide (clock and QR overlays on)."""
    root = tmp / "root"
    (root / "assets").mkdir(parents=True, exist_ok=True)
    (root / "playlists").mkdir(parents=True, exist_ok=True)
    img = Image.linear_gradient("L").resize((1920, 1080)).convert("RGB")
    img.save(root / "assets" / "foto.png")
    headlines = "ticker: [Titular uno, Titular dos]\n" if ticker else ""
    (root / "playlists" / "lobby.yaml").write_text(
        f"name: Lobby\n{headlines}defaults:\n  duration: {duration}\n  qr:\n"
        "    url: https://encuestas.example.gov.co/satisfaccion\n    caption: Opina\n"
        "slides:\n  - id: foto\n    image: assets/foto.png\n",
        encoding="utf-8",
    )
    return root


def ts(event: dict[str, object]) -> float:
    return datetime.fromisoformat(str(event["ts"]).replace("Z", "+00:00")).timestamp()


def wait_for_event(path: Path, name: str, timeout: float) -> dict[str, object] | None:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if path.exists():
            for line in path.read_text(encoding="utf-8").splitlines():
                try:
                    record = json.loads(line)
                except json.JSONDecodeError:
                    continue
                if record.get("event") == name:
                    return dict(record)
        time.sleep(0.02)
    return None


def cpu_seconds(pid: int) -> float:
    """User + system CPU of a process and its reaped children, in seconds."""
    fields = Path(f"/proc/{pid}/stat").read_text().rsplit(")", 1)[1].split()
    ticks = sum(int(fields[i]) for i in (11, 12, 13, 14))
    return ticks / os.sysconf("SC_CLK_TCK")


def play_cmd(root: Path, events: Path, seconds: float, *extra: str) -> list[str]:
    return [
        sys.executable,
        "-m",
        "signage",
        "play",
        "--headless",
        "--root",
        str(root),
        "--for",
        str(seconds),
        "--events",
        str(events),
        *extra,
    ]


def verdict(ok: bool) -> str:
    return "PASS" if ok else "FAIL"


def kill(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        proc.terminate()
        try:
            proc.wait(timeout=5)
        except subprocess.TimeoutExpired:
            proc.kill()
            proc.wait(timeout=5)
