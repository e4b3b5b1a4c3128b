"""What the player draws: a QR a real decoder reads back to the attributed URL, text that
stays inside its box however long, the es-CO clock, overlays inside the safe margin."""

from __future__ import annotations

import io
from datetime import UTC, datetime

import pytest
from PIL import Image

from signage.model import Overlays, QRCode, SlideKind, TextContent
from tests.helpers_player import (
    THEME,
    colour_at,
    content,
    running_player,
    slide,
    solid_png,
    wait_until,
)

pytestmark = pytest.mark.qt

LONG_ES = (
    "La Oficina Asesora de Informática invita a todos los servidores públicos a la jornada "
    "de actualización de contraseñas institucionales, que se realizará durante toda la "
    "semana en las salas de capacitación del segundo piso. Recuerde traer su carné, no "
    "compartir sus credenciales con nadie y reportar de inmediato cualquier correo "
    "sospechoso a la mesa de ayuda, extensión 4321. ¡Su seguridad digital es nuestra "
    "prioridad y la de toda la administración municipal!"
)


def to_pil(player) -> Image.Image:
    return Image.open(io.BytesIO(player.grab_png(max_width=10_000))).convert("RGB")


def test_qr_is_read_back_by_a_real_decoder_to_the_attributed_url(qapp, tmp_path):
    import zxingcpp

    from signage import qr as qrmod
    from signage.model import Attribution

    files = {"assets/photo.png": solid_png(tmp_path / "p.png", (200, 180, 40), (1280, 720))}
    qr = QRCode(url="https://encuestas.example.gov.co/satisfaccion?origen=sala", caption="Opina")
    slides = [slide("encuesta", SlideKind.IMAGE, "assets/photo.png", qr=qr, duration_s=30)]
    c = content(
        slides,
        files,
        overlays=Overlays(qr=True, clock=True, ticker=True, logo=False),
        ticker=("Titular de prueba",),
    )
    with running_player(qapp, c, size=(1280, 720)) as (player, _, trap):
        assert wait_until(qapp, lambda: trap.shown() == ["encuesta"], 10)
        image = to_pil(player)
        plate = player.overlay.qr_plate()
        layout = player.overlay.screen_layout()
    expected = qrmod.attributed_url(qr, Attribution(), "pantalla-1", "lobby", "encuesta")
    found = [b.text for b in zxingcpp.read_barcodes(image)]
    assert expected in found
    assert "utm_source=pantalla-1" in expected and "origen=sala" in expected
    assert plate is not None and layout.safe.contains(plate)
    assert not plate.intersects(layout.ticker) and not plate.intersects(layout.clock)


def test_qr_on_a_refused_host_is_not_drawn(qapp, tmp_path):
    files = {"assets/photo.png": solid_png(tmp_path / "p.png", (200, 180, 40))}
    qr = QRCode(url="https://malicioso.example.com/x", caption="No")
    slides = [slide("s", SlideKind.IMAGE, "assets/photo.png", qr=qr, duration_s=30)]
    c = content(slides, files, overlays=Overlays(qr=True, clock=False, ticker=False, logo=False))
    with running_player(qapp, c, allowed_hosts=frozenset({"encuestas.example.gov.co"})) as (
        player,
        _,
        trap,
    ):
        assert wait_until(qapp, lambda: trap.shown() == ["s"], 10)
        assert player.overlay.qr is None


@pytest.mark.parametrize("size", [(1920, 1080), (800, 450)])
def test_long_spanish_text_fits_inside_its_box(qapp, size):
    slides = [
        slide(
            "aviso",
            SlideKind.TEXT,
            text=TextContent(title="Jornada de actualización de contraseñas", body=LONG_ES),
            duration_s=30,
        )
    ]
    with running_player(qapp, content(slides, {}), size=size) as (player, _, trap):
        assert wait_until(qapp, lambda: trap.shown() == ["aviso"], 10)
        view = player.stage.current
        inner, title_px, body_px, height = view.fitted()
        box = view.text_box()
        image = player.grab_image()
    assert height <= inner.h and body_px >= 8 and title_px > body_px
    assert box.contains(inner)
    # white text pixels (the theme foreground) exist, and only inside the text box
    inside = outside = 0
    for y in range(0, image.height(), 3):
        for x in range(0, image.width(), 3):
            r, g, b = colour_at(image, x, y)
            if r > 200 and g > 200 and b > 200:
                if box.x <= x < box.right and box.y <= y < box.bottom:
                    inside += 1
                else:
                    outside += 1
    assert inside > 100
    assert outside == 0


def test_fit_shrinks_type_as_text_grows(qapp):
    from signage.player.textfit import fit_text

    short = fit_text(
        "Hola",
        "Corto",
        800,
        400,
        title_family="DejaVu Sans",
        body_family="DejaVu Sans",
        max_body_px=60,
    )
    long = fit_text(
        "Hola",
        LONG_ES,
        800,
        400,
        title_family="DejaVu Sans",
        body_family="DejaVu Sans",
        max_body_px=60,
    )
    assert short.body_px == 60
    assert long.body_px < short.body_px and long.height <= 400 and long.width_used <= 800.5


def test_clock_reads_in_the_screens_locale_and_zone(qapp):
    from signage.player.overlays import clock_text

    moment = datetime(2026, 11, 28, 19, 41, tzinfo=UTC)
    assert clock_text(moment, "America/Bogota", "es-CO") == "sábado, 28 de noviembre · 14:41"
    assert clock_text(moment, "UTC", "en-US") == "Saturday, November 28 · 19:41"


def test_overlays_switch_off_per_playlist(qapp, tmp_path):
    files = {"assets/red.png": solid_png(tmp_path / "r.png", (230, 20, 20))}
    qr = QRCode(url="https://encuestas.example.gov.co/x", caption="Opina")
    slides = [slide("s", SlideKind.IMAGE, "assets/red.png", qr=qr, duration_s=30)]
    off = Overlays(qr=False, clock=False, ticker=False, logo=False)
    with running_player(qapp, content(slides, files, overlays=off, ticker=("x",))) as (
        player,
        _,
        trap,
    ):
        assert wait_until(qapp, lambda: trap.shown() == ["s"], 10)
        image = player.grab_image()
        assert player.overlay.qr is None and player.overlay.current_headline() is None
    # every sampled pixel is the slide's red: nothing drawn over it
    for y in range(0, image.height(), 10):
        for x in range(0, image.width(), 10):
            r, g, b = colour_at(image, x, y)
            assert r > 200 and g < 40, (x, y, (r, g, b))


def test_idle_screen_names_the_screen_and_the_source(qapp):
    with running_player(qapp, None, screen="sala-7") as (player, _, _trap):
        assert wait_until(qapp, lambda: player.stage.current is not None, 5)
        lines = player.stage.current.lines()
        image = player.grab_image()
    assert "Pantalla: sala-7" in lines
    assert any("pruebas://contenido" in line for line in lines)
    bg = tuple(int(THEME.background[i : i + 2], 16) for i in (1, 3, 5))
    assert colour_at(image, 3, 3) == bg


def test_text_slide_with_picture_and_theme_logo(qapp, tmp_path):
    from signage.model import Theme

    files = {
        "assets/foto.png": solid_png(tmp_path / "foto.png", (20, 200, 40), (400, 300)),
        "assets/logo.png": solid_png(tmp_path / "logo.png", (250, 180, 0), (300, 100)),
    }
    theme = Theme(logo="assets/logo.png")
    slides = [
        slide(
            "con-foto",
            SlideKind.TEXT,
            text=TextContent(title="Firma digital", body="Ya disponible", image="assets/foto.png"),
            duration_s=30,
        )
    ]
    c = content(
        slides,
        files,
        theme=theme,
        overlays=Overlays(qr=False, clock=False, ticker=False, logo=True),
    )
    with running_player(qapp, c, size=(960, 540)) as (player, _, trap):
        assert wait_until(qapp, lambda: trap.shown() == ["con-foto"], 10)
        view = player.stage.current
        pic = view.image_box()
        text = view.text_box()
        logo = player.overlay.screen_layout().logo
        image = player.grab_image()
    assert not pic.intersects(text)
    cx, cy = pic.x + pic.w // 2, pic.y + pic.h // 2
    assert colour_at(image, cx, cy) == (20, 200, 40)
    assert colour_at(image, logo.x + 5, logo.y + logo.h // 2) == (250, 180, 0)


def test_preview_poster_for_a_web_page_that_cannot_load(qapp, tmp_path):
    from datetime import UTC, datetime

    from signage.model import Screen
    from signage.player.render import contact_sheet, render_slides
    from signage.schedule import plan
    from tests.helpers_player import closed_port_url

    slides = [slide("indicadores", SlideKind.WEB, closed_port_url(), duration_s=10)]
    c = content(slides, {})
    items = plan(c.playlists, Screen("vista"), datetime.now(UTC)).slides
    rendered = render_slides(
        c, items, out=tmp_path, size=(480, 270), at=datetime.now(UTC), screen=Screen("vista")
    )
    assert len(rendered) == 1 and rendered[0].problem
    assert "failed" in rendered[0].problem
    sheet = contact_sheet(rendered, tmp_path, title="prueba")
    with Image.open(rendered[0].path) as im:
        assert im.size == (480, 270)
        colours = im.convert("RGB").getcolors(maxcolors=100_000) or []
        assert len(colours) > 10  # a labelled poster (frame and words), not a flat screen
    assert sheet.exists()


def test_webp_and_svg_pictures_are_drawn(qapp, tmp_path):
    webp = tmp_path / "a.webp"
    Image.new("RGB", (640, 360), (30, 160, 220)).save(webp, "WEBP", lossless=True)
    svg = tmp_path / "b.svg"
    svg.write_text(
        '<svg xmlns="http://www.w3.org/2000/svg" width="160" height="90" viewBox="0 0 160 90">'
        '<rect width="160" height="90" fill="#e05020"/></svg>',
        "utf-8",
    )
    files = {"assets/a.webp": webp, "assets/b.svg": svg}
    slides = [
        slide("webp", SlideKind.IMAGE, "assets/a.webp", duration_s=0.4),
        slide("svg", SlideKind.IMAGE, "assets/b.svg", duration_s=0.4),
    ]
    seen: dict[str, tuple[int, int, int]] = {}
    with running_player(qapp, content(slides, files)) as (player, _, trap):

        def on_changed(playlist: str, slide_id: str) -> None:
            if slide_id:
                img = player.grab_image()
                seen.setdefault(slide_id, colour_at(img, 10, img.height() // 2))

        player.slide_changed.connect(on_changed)
        assert wait_until(qapp, lambda: {"webp", "svg"} <= set(trap.shown()), 10)
    assert not trap.skipped()
    assert seen["webp"] == (30, 160, 220)
    assert seen["svg"] == (0xE0, 0x50, 0x20)  # vector art scaled to the whole screen
