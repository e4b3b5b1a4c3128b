"""Test helpers for the playlist room: content roots with real media files.

``ContentRoot`` writes playlists and assets into a temporary folder: PNG/JPEG/WebP/GIF made
with Pillow, SVG as XML text, MP4/WebM made with Debian's ffmpeg (once per session, copied).
"""

from __future__ import annotations

import shutil
import subprocess
import textwrap
from pathlib import Path

import pytest
from PIL import Image

_VIDEO_CACHE: dict[str, bytes] = {}


def make_image(path: Path, fmt: str = "PNG", size: tuple[int, int] = (64, 36)) -> Path:
    """A real picture in ``fmt`` (PNG, JPEG, WEBP, GIF) with some structure in it."""
    path.parent.mkdir(parents=True, exist_ok=True)
    image = Image.new("RGB", size, (11, 37, 69))
    for x in range(size[0]):
        image.putpixel((x, x * size[1] // size[0]), (244, 180, 0))
    image.save(path, fmt)
    return path


def make_svg(path: Path) -> Path:
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_text(
        '<?xml version="1.0" encoding="UTF-8"?>\n'
        '<svg xmlns="http://www.w3.org/2000/svg" width="10" height="10">'
        '<rect width="10" height="10" fill="#0b2545"/></svg>\n',
        encoding="utf-8",
    )
    return path


def make_video(path: Path, container: str = "mp4") -> Path:
    """A real 1 s video made by ffmpeg (cached per session by container)."""
    if container not in _VIDEO_CACHE:
        if shutil.which("ffmpeg") is None:
            pytest.skip("ffmpeg is not installed")
        path.parent.mkdir(parents=True, exist_ok=True)
        out = path.with_name(f".tmp-video.{container}")
        codec = ["-c:v", "libx264", "-pix_fmt", "yuv420p"] if container == "mp4" else []
        if container == "webm":
            codec = ["-c:v", "libvpx-vp9", "-b:v", "50k"]
        subprocess.run(
            [
                "ffmpeg", "-loglevel", "error", "-y", "-f", "lavfi",
                "-i", "testsrc=size=64x36:rate=10:duration=1", *codec, str(out),
            ],
            check=True,
            timeout=60,
        )  # fmt: skip
        _VIDEO_CACHE[container] = out.read_bytes()
        out.unlink()
    path.parent.mkdir(parents=True, exist_ok=True)
    path.write_bytes(_VIDEO_CACHE[container])
    return path


class ContentRoot:
    """A content root under a temporary folder: ``playlists/`` and ``assets/``."""

    def __init__(self, root: Path) -> None:
        self.root = root
        (root / "playlists").mkdir(parents=True, exist_ok=True)
        (root / "assets").mkdir(parents=True, exist_ok=True)

    def playlist(self, name: str, text: str) -> Path:
        """Writes ``playlists/<name>`` from dedented text."""
        path = self.root / "playlists" / name
        path.write_text(textwrap.dedent(text).lstrip("\n"), encoding="utf-8")
        return path

    def image(self, rel: str, fmt: str = "PNG") -> Path:
        return make_image(self.root / rel, fmt)

    def video(self, rel: str, container: str = "mp4") -> Path:
        return make_video(self.root / rel, container)

    def raw(self, rel: str, data: bytes) -> Path:
        path = self.root / rel
        path.parent.mkdir(parents=True, exist_ok=True)
        path.write_bytes(data)
        return path


VALID_PLAYLIST = """
# yaml-language-server: $schema=../signage/schema/playlist.schema.json
name: Lobby principal
tags: [lobby]
defaults:
  duration: 10s
  transition: fade
  qr:
    url: https://encuestas.example.gov.co/satisfaccion
    caption: "¿Cómo te fue? Escanea y opina"
slides:
  - id: eficiencia
    image: assets/infografias/eficiencia.png
    duration: 15s
    fit: contain
  - id: webinar-ciberseguridad
    text:
      title: "Webinar trimestral: ciberseguridad"
      body: "Jueves 14 de enero, 10:00. Inscríbete en la intranet."
    schedule:
      from: 2027-01-04
      until: 2027-01-14
      days: [mon, tue, wed, thu, fri]
      hours: "07:00-18:00"
    qr: {url: https://intranet.example.gov.co/webinars, caption: Inscríbete}
  - video: assets/videos/tutorial-citas.mp4
  - web: https://intranet.example.gov.co/indicadores
    duration: 30s
  - id: sin-qr
    image: assets/innovacion/firma-digital.png
    qr: false
"""


def valid_root(base: Path) -> ContentRoot:
    """A content root holding ``VALID_PLAYLIST`` as ``playlists/lobby.yaml`` and its assets."""
    root = ContentRoot(base)
    root.image("assets/infografias/eficiencia.png")
    root.image("assets/innovacion/firma-digital.png")
    root.video("assets/videos/tutorial-citas.mp4")
    root.playlist("lobby.yaml", VALID_PLAYLIST)
    return root
