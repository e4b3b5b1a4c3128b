"""signage preview: each slide active at --at rendered through the player's widgets, a
contact sheet beside them, posters for what cannot be shown, clear refusals otherwise."""

from __future__ import annotations

import subprocess
import sys
from pathlib import Path

import pytest
from PIL import Image

from tests.helpers_player import have_ffmpeg, make_video, solid_png

pytestmark = pytest.mark.qt

PLAYLIST = """\
name: Vista previa
tags: [lobby]
defaults:
  duration: 5s
  qr:
    url: https://encuestas.example.gov.co/satisfaccion
    caption: Opina
overlays: {{clock: true, ticker: false, logo: false, qr: true}}
slides:
  - id: rojo
    image: assets/red.png
  - id: enero
    image: assets/blue.png
    schedule: {{from: 2027-01-04}}
  - id: aviso
    text: {{title: "Mantenimiento programado", body: "El sábado no habrá servicio de 8 a 12."}}
{video}"""


def make_root(tmp_path: Path, *, video: bool) -> Path:
    root = tmp_path / "root"
    solid_png(root / "assets" / "red.png", (230, 20, 20), (1280, 720))
    solid_png(root / "assets" / "blue.png", (20, 40, 230), (1280, 720))
    extra = ""
    if video:
        make_video(root / "assets" / "clip.mp4", seconds=1.0, colour="green")
        extra = "  - id: clip\n    video: assets/clip.mp4\n"
    (root / "playlists").mkdir(parents=True, exist_ok=True)
    (root / "playlists" / "vista.yaml").write_text(PLAYLIST.format(video=extra), "utf-8")
    return root


def preview(*args: str, cwd: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "signage", "preview", *args],
        check=False,
        cwd=cwd,
        capture_output=True,
        text=True,
        timeout=120,
        env={**__import__("os").environ, "PYTHONPATH": str(Path(__file__).parents[1])},
    )


@pytest.mark.skipif(not have_ffmpeg(), reason="needs Debian's ffmpeg")
def test_preview_renders_the_slides_active_at_a_moment(tmp_path):
    root = make_root(tmp_path, video=True)
    out = tmp_path / "out"
    done = preview(
        "--root",
        str(root),
        "vista",
        "--at",
        "2026-12-01T09:00",
        "--out",
        str(out),
        "--size",
        "640x360",
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    names = sorted(p.name for p in out.glob("*.png"))
    assert names == [
        "01-vista-rojo.png",
        "02-vista-aviso.png",
        "03-vista-clip.png",
        "contact-sheet.png",
    ]
    assert str(out / "contact-sheet.png") in done.stdout
    with Image.open(out / "01-vista-rojo.png") as im:
        rgb = im.convert("RGB")
        assert rgb.size == (640, 360)
        assert rgb.getpixel((150, 180)) == (230, 20, 20)
    with Image.open(out / "03-vista-clip.png") as im:
        pixel = im.convert("RGB").getpixel((320, 180))  # a frame of the green video
        assert isinstance(pixel, tuple)
        r, g, b = pixel[:3]
        assert g > 100 and r < 80 and b < 80
    with Image.open(out / "contact-sheet.png") as im:
        assert im.width > 1000 and im.height > 300
    # in January the scheduled slide joins
    out2 = tmp_path / "out2"
    done = preview(
        "--root",
        str(root),
        "playlists/vista.yaml",
        "--at",
        "2027-01-05T09:00",
        "--out",
        str(out2),
        "--size",
        "640x360",
        cwd=tmp_path,
    )
    assert done.returncode == 0, done.stderr
    assert (out2 / "02-vista-enero.png").exists()


def test_preview_refuses_clearly(tmp_path):
    root = make_root(tmp_path, video=False)
    out = tmp_path / "out"
    done = preview("--root", str(root), "vistas", "--out", str(out), cwd=tmp_path)
    assert done.returncode == 2
    assert "did you mean 'vista'" in done.stderr and "Traceback" not in done.stderr
    done = preview("--root", str(root), "vista", "--at", "mañana", "--out", str(out), cwd=tmp_path)
    assert done.returncode == 2 and "ISO 8601" in done.stderr
    (root / "playlists" / "vista.yaml").write_text("name: x\nslides: 3\n", "utf-8")
    done = preview("--root", str(root), "vista", "--out", str(out), cwd=tmp_path)
    assert done.returncode == 1 and "vista.yaml:" in done.stderr
