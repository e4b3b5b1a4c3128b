"""End to end: `signage play` draws QR codes that decode from a distance, tracked scans reach
the hub, and its proof-of-play reaches the hub through the uplink."""

from __future__ import annotations

import subprocess
import sys
import time
from pathlib import Path
from urllib.parse import urlsplit

import pytest
import requests
import zxingcpp
from PIL import Image, ImageDraw

from signage.model import Attribution, QRCode
from signage.qr import attributed_url, track_code
from tests.helpers_hub import hub_env, make_content_root, run_hub

SURVEY = "https://encuestas.example.gov.co/satisfaccion?form=intranet&lang=es"
BUZON = "https://buzon.example.gov.co/sugerencias"
LINK_BASE = "https://pantallas.example.gov.co"
SCREEN = "lobby-piso-1"

PLAYLIST = f"""\
name: Lobby principal
defaults:
  duration: 2s
  transition: cut
slides:
  - id: encuesta
    image: assets/franjas.png
    fit: cover
    qr: {{url: "{SURVEY}", caption: "¿Cómo te fue? Escanea y opina"}}
  - id: buzon
    text:
      title: "Buzón de sugerencias"
      body: "Tu idea mejora la intranet"
    qr: {{url: "{BUZON}", caption: Escanea, track: true}}
"""


def _busy_slide(path: Path) -> None:
    """Yellow stripes on the theme's blue: the worst case behind a QR plate."""
    img = Image.new("RGB", (1920, 1080), (11, 37, 69))
    draw = ImageDraw.Draw(img)
    for x in range(-1080, 1920, 36):
        draw.line([(x, 0), (x + 1080, 1080)], fill=(244, 180, 0), width=10)
    img.save(path)


def _decode(img: Image.Image) -> list[str]:
    found = zxingcpp.read_barcodes(img)
    return [r.text for r in found if r.format == zxingcpp.BarcodeFormat.QRCode]


@pytest.mark.qt
@pytest.mark.slow
def test_player_snapshots_decode_and_feed_the_hub(tmp_path):
    root = make_content_root(tmp_path / "root", PLAYLIST)
    _busy_slide(root / "assets" / "franjas.png")
    with run_hub(data=tmp_path / "hubdata", root=root) as hub:
        assert hub.token_file is not None
        config = tmp_path / "player.yaml"
        config.write_text(
            f"screen: {SCREEN}\n"
            f"hub: {hub.url}\n"
            f"hub_token_file: {hub.token_file}\n"
            f"cache: {tmp_path / 'cache'}\n"
            "qr:\n"
            "  allowed_hosts: [encuestas.example.gov.co, buzon.example.gov.co]\n"
            f"  link_base: {LINK_BASE}\n",
            encoding="utf-8",
        )
        shots = tmp_path / "shots"
        play = subprocess.run(
            [sys.executable, "-m", "signage", "play", "--root", str(root), "--config",
             str(config), "--headless", "--size", "1920x1080", "--snapshots", str(shots),
             "--for", "5"],
            capture_output=True, text=True, env=hub_env(), timeout=120, check=False,
        )  # fmt: skip
        assert play.returncode == 0, play.stderr

        expected = {
            "encuesta": attributed_url(QRCode(SURVEY), Attribution(), SCREEN, "lobby", "encuesta"),
            "buzon": f"{LINK_BASE}/q/{track_code('lobby', 'buzon', BUZON)}?s={SCREEN}",
        }
        assert expected["encuesta"].startswith(SURVEY + "&utm_source=lobby-piso-1&")
        seen: dict[str, Path] = {}
        for png in sorted(shots.glob("*.png")):
            for slide in expected:
                if slide in png.name:
                    seen.setdefault(slide, png)
        assert set(seen) == set(expected), sorted(p.name for p in shots.glob("*.png"))
        for slide, png in seen.items():
            with Image.open(png) as shot:
                screenshot = shot.convert("RGB")
            assert screenshot.size == (1920, 1080)
            for factor in (3, 4):
                small = screenshot.resize((1920 // factor, 1080 // factor), Image.Resampling.BOX)
                assert _decode(small) == [expected[slide]], f"{png.name} at 1/{factor}"

        # A phone follows the tracked link (to this hub, the public name being fictional).
        link = urlsplit(expected["buzon"])
        r = requests.get(f"{hub.url}{link.path}?{link.query}", allow_redirects=False, timeout=5)
        assert r.status_code == 302
        assert r.headers["location"] == attributed_url(
            QRCode(BUZON), Attribution(), SCREEN, "lobby", "buzon"
        )

        # The player's proof-of-play went up through the uplink before it exited or is
        # spooled; both slides were shown at least once.
        deadline = time.monotonic() + 20
        while True:
            report = requests.get(
                hub.url + "/api/v1/report", params={"since": "1d"}, headers=hub.auth, timeout=5
            )
            plays = {(p["screen"], p["slide"]) for p in report.json()["plays"]}
            if {(SCREEN, "encuesta"), (SCREEN, "buzon")} <= plays:
                break
            assert time.monotonic() < deadline, (plays, play.stderr)
            time.sleep(0.2)
        scans = report.json()["scans"]
        assert [(s["screen"], s["slide"], s["count"]) for s in scans] == [(SCREEN, "buzon", 1)]
