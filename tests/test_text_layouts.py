"""Text slides worth the infographics beside them, measured on snapshots at 1920x1080: a
background picture fills the frame under a legible scrim, a slide without a QR uses the
width, the accent bar and category tag are drawn, QR captions are at least 26 px tall."""

from __future__ import annotations

import pytest
import zxingcpp
from PIL import Image, ImageDraw

from tests.test_preview import preview

pytestmark = pytest.mark.qt

PLAYLIST = """\
name: Prueba
defaults:
  duration: 10s
  qr:
    url: https://encuestas.cartagena.gov.co/oai
    caption: "Escanea y opina"
slides:
  - id: fondo
    qr: false
    text:
      tag: Ciberseguridad
      title: "Detente, verifica, reporta"
      body: "Si un correo te pide tu contraseña, no respondas: repórtalo a la mesa de ayuda."
      background: assets/foto.jpg
  - id: ancho
    qr: false
    text:
      title: "La firma digital llega a todas las dependencias de la Alcaldía de Cartagena"
      body: >-
        Desde este mes, cada dependencia firma sus documentos en línea, sin imprimir
        ni escanear, con plena validez jurídica. Pide tu certificado en la mesa de ayuda.
  - id: con-qr
    text:
      title: "¿Cómo te atendimos?"
      body: "Cuéntanos en un minuto."
"""
BACKGROUND = (11, 37, 69)  # the default theme's background
ACCENT = (244, 180, 0)


@pytest.fixture(scope="module")
def shots(tmp_path_factory: pytest.TempPathFactory) -> dict[str, Image.Image]:
    base = tmp_path_factory.mktemp("layouts")
    (base / "assets").mkdir()
    (base / "playlists").mkdir()
    photo = Image.new("RGB", (1600, 900), (30, 160, 60))
    draw = ImageDraw.Draw(photo)
    for x in range(0, 1600, 80):
        draw.rectangle([x, 0, x + 40, 900], fill=(240, 200, 40))
    photo.save(base / "assets" / "foto.jpg", quality=92)
    (base / "playlists" / "t.yaml").write_text(PLAYLIST, encoding="utf-8")
    out = base / "out"
    done = preview("--root", str(base), "t", "--out", str(out), "--size", "1920x1080", cwd=base)
    assert done.returncode == 0, done.stderr
    images = {}
    for name in ("fondo", "ancho", "con-qr"):
        (png,) = out.glob(f"*-t-{name}.png")
        with Image.open(png) as image:
            images[name] = image.convert("RGB")
    return images


def _diff(a: tuple[int, ...], b: tuple[int, ...]) -> int:
    return max(abs(x - y) for x, y in zip(a, b, strict=False))


def test_a_background_picture_fills_the_frame_under_a_scrim(shots: dict[str, Image.Image]) -> None:
    image = shots["fondo"]
    plain = shots["ancho"]
    # every point of the frame (overlays' bands left out) shows the picture through the scrim
    for y in range(160, 960, 80):
        for x in range(20, 1920, 95):
            assert _diff(image.getpixel((x, y)), BACKGROUND) >= 6, (x, y)  # type: ignore[arg-type]
    # its stripes read through towards the right, where the scrim is lighter ...
    row = [image.getpixel((x, 700)) for x in range(1500, 1900)]
    reds = [p[0] for p in row]  # type: ignore[index]
    assert max(reds) - min(reds) > 60
    # ... while the text side stays dark enough for white text (contrast kept)
    left = image.getpixel((60, 700))
    assert sum(left) / 3 < 70, left  # type: ignore[arg-type]
    assert plain.getpixel((1700, 700)) == BACKGROUND  # no picture: the plain background


def test_the_tag_and_the_accent_bar_are_drawn(shots: dict[str, Image.Image]) -> None:
    image = shots["fondo"]
    accent = [
        (x, y)
        for y in range(150, 900, 4)
        for x in range(0, 400, 2)
        if _diff(image.getpixel((x, y)), ACCENT) < 40  # type: ignore[arg-type]
    ]
    columns = {x for x, _ in accent}
    assert len(accent) > 150, "the category tag is an accent-coloured pill"
    bar = [x for x in columns if sum(1 for p in accent if p[0] == x) > 60]
    assert bar, "a tall accent bar left of the text"


def test_a_slide_without_a_qr_uses_the_width(shots: dict[str, Image.Image]) -> None:
    image = shots["ancho"]
    right_third = 0
    for y in range(150, 950, 3):
        for x in range(1280, 1880, 3):
            pixel = image.getpixel((x, y))
            assert isinstance(pixel, tuple)
            right_third += min(pixel) > 200
    assert right_third > 500, "text reaches into the right third: no empty third"


def test_qr_captions_are_at_least_26_px_at_1080p(shots: dict[str, Image.Image]) -> None:
    image = shots["con-qr"]
    (code,) = zxingcpp.read_barcodes(image)
    corners = (code.position.top_left, code.position.bottom_left, code.position.bottom_right)
    left = min(p.x for p in corners)
    right = max(p.x for p in corners)
    bottom = max(p.y for p in corners)
    rows = []
    for y in range(bottom + 4, 1080):
        if min(image.getpixel((left - 4, y))) < 200:  # type: ignore[arg-type]
            break  # the white plate ends
        if any(sum(image.getpixel((x, y))) < 250 for x in range(left, right)):  # type: ignore[arg-type]
            rows.append(y)
    assert rows, "no caption under the QR"
    ink = rows[-1] - rows[0] + 1  # "Escanea y opina": capitals to descenders, one line
    assert 26 <= ink <= 60, f"caption ink {ink} px tall"
