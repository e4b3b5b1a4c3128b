"""Bundled content: the Spanish playlists and pictures a fresh clone plays are sound.

They load without a single problem, cover what the OAI communications plan asks for
(infographics, news, a success story, the webinar, cybersecurity, RUNT appointments,
suggestion box and survey with QR codes, a video, text slides), keep something on screen at
every hour of the week, and every picture is a real 1920×1080 drawing (1080×1920 for the
portrait hall playlist) that leaves the player's QR corner and ticker band calm.
tools/make_content.py redraws them byte for byte.
"""

from __future__ import annotations

import json
import re
import shutil
import subprocess
import sys
from datetime import datetime, timedelta
from pathlib import Path
from zoneinfo import ZoneInfo

import pytest
from PIL import Image, ImageChops, ImageStat

from signage.model import Orientation, Playlist, SlideKind
from signage.model import Screen as ScreenModel
from signage.playlist import load_content_root
from signage.schedule import plan

ROOT = Path(__file__).resolve().parent.parent
ASSETS = ROOT / "assets"
PLAYLISTS = ROOT / "playlists"
BOGOTA = ZoneInfo("America/Bogota")

EXPECTED = {
    "lobby": "lobby",
    "sala-capacitacion": "capacitacion",
    "atencion-ciudadana": "atencion-ciudadana",
    "atencion-ciudadana-vertical": "atencion-ciudadana",
}
# The shape each playlist is drawn for (a hall screen plays the one of its own shape).
SHAPES = {
    "lobby": Orientation.BOTH,
    "sala-capacitacion": Orientation.BOTH,
    "atencion-ciudadana": Orientation.LANDSCAPE,
    "atencion-ciudadana-vertical": Orientation.PORTRAIT,
}
# Where the player draws over a slide at 1920×1080 (signage/player/layout.py, with the plate
# grown for a QR code of a URL with attribution parameters): slides must leave these calm.
CALM_ZONES = {
    "top bar (logo, clock)": (0, 0, 1920, 125),
    "QR plate": (1360, 400, 1920, 1080),
    "ticker band": (0, 955, 1920, 1080),
}
# The same at 1080×1920 for portrait pictures (assets/vertical/): the plate sits at the
# bottom right, above the ticker, and is wider than half the screen.
PORTRAIT_CALM_ZONES = {
    "top bar (logo, clock)": (0, 0, 1080, 160),
    "QR plate": (430, 1030, 1080, 1920),
    "ticker band": (0, 1765, 1080, 1920),
}
LOGO = "marca/logo-oai.png"
PORTRAIT_FOLDER = "vertical/"


def picture_size(path: Path) -> tuple[int, int]:
    """What a bundled picture must measure: portrait under assets/vertical/."""
    portrait = path.relative_to(ASSETS).as_posix().startswith(PORTRAIT_FOLDER)
    return (1080, 1920) if portrait else (1920, 1080)


@pytest.fixture(scope="module")
def loaded():
    return load_content_root(ROOT)


@pytest.fixture(scope="module")
def playlists(loaded) -> dict[str, Playlist]:
    return {p.id: p for p in loaded.playlists}


def slide_pictures() -> list[Path]:
    return sorted(p for p in ASSETS.rglob("*.png") if p.relative_to(ASSETS).as_posix() != LOGO)


def test_every_bundled_file_loads_without_any_problem(loaded):
    assert [str(p) for p in loaded.problems] == []
    assert loaded.ok
    names = {f.name for f in loaded.files}
    assert {"lobby.yaml", "sala-capacitacion.yaml", "atencion-ciudadana.yaml"} <= names
    assert "theme.yaml" in names


def test_bundled_qr_hosts_pass_the_allow_list_documented_for_screens():
    hosts = frozenset(
        {"encuestas.cartagena.gov.co", "intranet.cartagena.gov.co", "citas.cartagena.gov.co"}
    )
    assert [str(p) for p in load_content_root(ROOT, allowed_hosts=hosts).problems] == []
    refused = load_content_root(ROOT, allowed_hosts=hosts - {"citas.cartagena.gov.co"})
    assert not refused.ok
    assert all("citas.cartagena.gov.co" in p.message for p in refused.problems)


def test_three_playlists_for_lobby_training_room_and_citizen_hall(playlists):
    assert len(playlists) >= 3
    for playlist_id, tag in EXPECTED.items():
        assert playlists[playlist_id].tags == frozenset({tag}), playlist_id
        assert playlists[playlist_id].orientation is SHAPES[playlist_id], playlist_id


def test_a_hall_screen_plays_the_hall_playlist_of_its_own_shape(playlists):
    every = list(playlists.values())
    noon = datetime(2026, 11, 25, 12, 0, tzinfo=BOGOTA)
    tags = frozenset({"atencion-ciudadana"})

    def played(orientation: Orientation | None) -> set[str]:
        screen = ScreenModel(id="sala-1", tags=tags, orientation=orientation)
        return {s.playlist.id for s in plan(every, screen, noon).slides}

    assert played(Orientation.PORTRAIT) == {"atencion-ciudadana-vertical"}
    assert played(Orientation.LANDSCAPE) == {"atencion-ciudadana"}
    assert played(None) == {"atencion-ciudadana", "atencion-ciudadana-vertical"}
    # the lobby's playlist is drawn for both: a portrait lobby screen still has content
    lobby = ScreenModel(id="lobby-v", tags=frozenset({"lobby"}), orientation=Orientation.PORTRAIT)
    assert {s.playlist.id for s in plan(every, lobby, noon).slides} == {"lobby"}


def test_portrait_pictures_are_only_in_the_portrait_playlist(playlists):
    for playlist in playlists.values():
        for slide in playlist.slides:
            if slide.kind is not SlideKind.IMAGE:
                continue
            portrait = slide.source.startswith(f"assets/{PORTRAIT_FOLDER}")
            assert portrait == (playlist.orientation is Orientation.PORTRAIT), slide.source


def test_at_least_twelve_slides_of_every_kind_the_plan_asks_for(playlists):
    slides = [s for p in playlists.values() for s in p.slides]
    assert len(slides) >= 12
    kinds = {s.kind for s in slides}
    assert {SlideKind.IMAGE, SlideKind.VIDEO, SlideKind.TEXT, SlideKind.DATA} <= kinds
    # Web slides cannot load here; the lobby in particular must stay clean for the demo.
    assert all(s.kind is not SlideKind.WEB for s in playlists["lobby"].slides)
    pictures = {s.source for s in slides if s.kind is SlideKind.IMAGE}
    for topic in (
        "infografias/eficiencia",
        "innovacion/",
        "historias/",
        "capacitacion/webinar",
        "ciberseguridad/",
        "ciudadania/citas-runt",
        "participacion/buzon",
        "participacion/encuesta",
    ):
        assert any(topic in source for source in pictures), topic
    assert len(pictures) >= 12
    # The figures that change (support tickets, tool adoption) are drawn from data files.
    data = {s.id: s for s in slides if s.kind is SlideKind.DATA}
    assert data["tickets-soporte"].source == "assets/datos/tickets-soporte.csv"
    assert data["adopcion-herramientas"].source == "assets/datos/adopcion-herramientas.csv"


def test_suggestion_box_and_surveys_carry_https_qr_codes_with_spanish_captions(playlists):
    qrs = {(p.id, s.id): s.qr for p in playlists.values() for s in p.slides if s.qr is not None}
    assert len(qrs) >= 12
    urls = {qr.url for qr in qrs.values()}
    for qr in qrs.values():
        assert qr.url.startswith("https://")
        assert qr.url.split("/")[2].endswith(".cartagena.gov.co")
        assert qr.caption
    assert "https://intranet.cartagena.gov.co/buzon" in urls
    assert any(url.startswith("https://encuestas.cartagena.gov.co/") for url in urls)
    assert qrs[("lobby", "buzon-sugerencias")].caption == "Escanea y deja tu sugerencia"
    # The plan measures satisfaction: survey and suggestion-box scans are counted by the hub.
    assert qrs[("lobby", "buzon-sugerencias")].track
    assert qrs[("lobby", "encuesta-herramientas")].track
    assert qrs[("atencion-ciudadana", "encuesta-atencion")].track
    assert not qrs[("atencion-ciudadana", "citas-runt")].track
    assert qrs[("atencion-ciudadana-vertical", "encuesta-atencion")].track
    # Only those: elsewhere a screen without a hub link base would warn on every slide.
    assert sum(qr.track for qr in qrs.values()) == 5
    # A slide that says "no QR" really has none.
    lobby = {s.id: s for s in playlists["lobby"].slides}
    assert lobby["correo-sospechoso"].qr is None


def test_user_visible_text_is_spanish_with_its_accents():
    unaccented = re.compile(
        r"\b(Alcaldia|Informatica|tramites?|Atencion|atencion|Capacitacion|capacitacion|"
        r"sesion|linea|dias|informacion|contrasena|Inscribete|Tambien|tambien)\b"
    )
    for path in sorted(PLAYLISTS.glob("*.yaml")):
        for number, line in enumerate(path.read_text(encoding="utf-8").splitlines(), 1):
            if line.lstrip().startswith(("#", "- id:", "id:")) or "assets/" in line:
                continue
            if "https://" in line or "tags:" in line:
                continue
            assert not unaccented.search(line), f"{path.name}:{number}: {line.strip()}"


def test_playlists_reference_the_schema_for_editors():
    for name in (
        "lobby.yaml",
        "sala-capacitacion.yaml",
        "atencion-ciudadana.yaml",
        "atencion-ciudadana-vertical.yaml",
    ):
        first = (PLAYLISTS / name).read_text(encoding="utf-8").splitlines()[0]
        assert first == "# yaml-language-server: $schema=../signage/schema/playlist.schema.json"


def test_theme_is_the_institutional_palette_with_a_transparent_logo(loaded):
    theme = loaded.theme
    assert theme.background == "#0b2545"
    assert theme.foreground == "#ffffff"
    assert theme.font_family in {"DejaVu Sans", "Noto Sans"}
    assert theme.logo == f"assets/{LOGO}"
    with Image.open(ROOT / theme.logo) as logo:
        assert logo.format == "PNG"
        assert logo.mode == "RGBA"
        assert logo.size == (400, 400)
        alpha = logo.getchannel("A")
        assert alpha.getpixel((0, 0)) == 0  # the corners are see-through
        assert alpha.getpixel((200, 200)) == 255  # the emblem is opaque
        assert len(logo.convert("RGB").getcolors(1 << 20) or ()) > 100


def test_every_picture_is_a_real_1920x1080_drawing():
    pictures = slide_pictures()
    assert len(pictures) >= 12
    assert sum(picture_size(p) == (1080, 1920) for p in pictures) >= 4  # the portrait hall
    for path in pictures:
        with Image.open(path) as image:
            assert image.size == picture_size(path), path.name
            rgb = image.convert("RGB")
        stddev = ImageStat.Stat(rgb).stddev
        assert min(stddev) > 15, f"{path.name} is nearly one colour: stddev {stddev}"
        colours = rgb.getcolors(1 << 22)
        assert colours is not None
        assert len(colours) > 2000, f"{path.name} has only {len(colours)} colours"


def test_pictures_leave_calm_the_places_the_player_draws_over(playlists):
    """Logo and clock at the top, the QR plate at the right, the ticker at the bottom.

    Only full-screen image slides; a text slide's picture is shown small beside its words.
    """
    full_screen = sorted(
        {s.source for p in playlists.values() for s in p.slides if s.kind is SlideKind.IMAGE}
    )
    assert len(full_screen) >= 12
    for source in full_screen:
        path = ROOT / source
        with Image.open(path) as image:
            rgb = image.convert("RGB")
        zones = PORTRAIT_CALM_ZONES if picture_size(path) == (1080, 1920) else CALM_ZONES
        for name, box in zones.items():
            region = rgb.crop(box)
            stddev = max(ImageStat.Stat(region).stddev)
            brightest = max(ImageStat.Stat(region).extrema[channel][1] for channel in range(3))
            assert stddev < 8, f"{path.name}: the {name} is busy (stddev {stddev:.1f})"
            assert brightest < 120, f"{path.name}: something bright in the {name}"


def test_the_players_own_overlays_never_cover_content_of_a_bundled_picture(playlists):
    """Where the player really draws over each image slide, as it would on a 1080p screen.

    The QR plate grows with the encoded URL (the author's URL plus attribution parameters,
    with a long screen id), so it is computed per slide from signage.qr and the player's
    pure layout, not assumed.
    """
    from signage.player.layout import qr_scale, screen_layout  # pure geometry, no Qt
    from signage.qr import attributed_url, qr_layout

    checked = 0
    for playlist in playlists.values():
        tall = playlist.orientation is Orientation.PORTRAIT
        width, height = (1080, 1920) if tall else (1920, 1080)
        plate_at = PORTRAIT_CALM_ZONES["QR plate"] if tall else CALM_ZONES["QR plate"]
        for slide in playlist.slides:
            if slide.kind is not SlideKind.IMAGE:
                continue
            side = 0
            if slide.qr is not None:
                url = attributed_url(
                    slide.qr, playlist.attribution, "pantalla-atencion-piso-1", playlist.id,
                    slide.id,
                )  # fmt: skip
                side = qr_layout(url, qr_scale(width, height)).side_px
            layout = screen_layout(
                width, height, qr=slide.qr is not None, ticker=playlist.overlays.ticker,
                qr_side=side,
            )  # fmt: skip
            zones = {"top bar": layout.top_bar}
            if playlist.overlays.ticker and playlist.ticker:
                zones["ticker"] = layout.ticker
            if slide.qr is not None:
                zones["QR plate"] = layout.qr
                assert layout.qr.x >= plate_at[0]
                assert layout.qr.y >= plate_at[1]
            with Image.open(ROOT / slide.source) as image:
                rgb = image.convert("RGB")
            for name, rect in zones.items():
                region = rgb.crop((rect.x, rect.y, rect.right, rect.bottom))
                brightest = max(ImageStat.Stat(region).extrema[c][1] for c in range(3))
                assert brightest < 120, f"{playlist.id}/{slide.id}: content under the {name}"
            checked += 1
    assert checked >= 20


def test_video_is_a_short_h264_tutorial_that_players_can_decode(playlists):
    videos = {s.source for p in playlists.values() for s in p.slides if s.kind is SlideKind.VIDEO}
    assert videos == {"assets/videos/tutorial-citas-runt.mp4"}
    path = ROOT / "assets/videos/tutorial-citas-runt.mp4"
    assert path.stat().st_size < 2 * 1024 * 1024
    ffprobe = shutil.which("ffprobe")
    assert ffprobe, "ffprobe (Debian's ffmpeg) is needed to check the bundled video"
    out = subprocess.run(
        [ffprobe, "-v", "error", "-show_streams", "-show_format", "-of", "json", str(path)],
        capture_output=True,
        text=True,
        check=True,
        timeout=30,
    )
    info = json.loads(out.stdout)
    streams = info["streams"]
    video = [s for s in streams if s["codec_type"] == "video"]
    assert len(video) == 1
    assert video[0]["codec_name"] == "h264"
    assert video[0]["pix_fmt"] == "yuv420p"
    assert (video[0]["width"], video[0]["height"]) in {(1280, 720), (1920, 1080)}
    assert all(s["codec_type"] != "audio" or s["codec_name"] == "aac" for s in streams)
    assert 6.0 <= float(info["format"]["duration"]) <= 10.0


def test_assets_folder_stays_small():
    total = sum(p.stat().st_size for p in ASSETS.rglob("*") if p.is_file())
    assert total < 8 * 1024 * 1024, f"assets/ is {total / 1e6:.1f} MB"
    assert not list(ASSETS.rglob("*.tmp.*")), "a temporary file was left behind"


def test_every_screen_has_plenty_to_show_at_any_hour_of_the_week(playlists):
    start = datetime(2026, 11, 23, 0, 30, tzinfo=BOGOTA)  # a Monday
    for playlist_id, tag in EXPECTED.items():
        shape = SHAPES[playlist_id]
        screen = ScreenModel(
            id=f"pantalla-{playlist_id}",
            tags=frozenset({tag}),
            orientation=None if shape is Orientation.BOTH else shape,
        )
        fewest = min(
            len(plan(list(playlists.values()), screen, start + timedelta(hours=h)).slides)
            for h in range(0, 7 * 24, 1)
        )
        assert fewest >= 6, f"{playlist_id}: only {fewest} slides at some hour"


def test_schedules_matter_webinar_window_and_office_hours(playlists):
    lobby_screen = ScreenModel(id="lobby-1", tags=frozenset({"lobby"}))
    hall_screen = ScreenModel(id="hall-1", tags=frozenset({"atencion-ciudadana"}))
    every = list(playlists.values())

    def ids(screen: ScreenModel, when: datetime) -> set[str]:
        return {s.slide.id for s in plan(every, screen, when).slides}

    thursday_morning = datetime(2027, 1, 21, 9, 0, tzinfo=BOGOTA)  # the webinar's day
    assert "webinar-trimestral" in ids(lobby_screen, thursday_morning)
    assert "webinar-trimestral" not in ids(lobby_screen, thursday_morning + timedelta(days=1))
    assert "webinar-trimestral" not in ids(lobby_screen, datetime(2026, 12, 5, 9, 0, tzinfo=BOGOTA))

    weekday_noon = datetime(2026, 11, 25, 12, 0, tzinfo=BOGOTA)
    night = datetime(2026, 11, 25, 23, 0, tzinfo=BOGOTA)
    assert "horario-atencion" in ids(hall_screen, weekday_noon)
    assert "servicios-en-linea" not in ids(hall_screen, weekday_noon)
    assert "horario-atencion" not in ids(hall_screen, night)
    assert "servicios-en-linea" in ids(hall_screen, night)
    assert "servicios-en-linea" in ids(hall_screen, night + timedelta(hours=7))  # 06:00


def make_content(out: Path, *only: str) -> subprocess.CompletedProcess[str]:
    command = [sys.executable, str(ROOT / "tools/make_content.py"), "--out", str(out)]
    for path in only:
        command += ["--only", path]
    return subprocess.run(command, capture_output=True, text=True, timeout=120, check=False)


@pytest.mark.parametrize(
    "picture", ["infografias/eficiencia-tramites.png", "vertical/citas-runt.png"]
)
def test_make_content_is_deterministic_and_matches_the_committed_picture(tmp_path, picture):
    first, second = tmp_path / "first", tmp_path / "second"
    for out in (first, second):
        result = make_content(out, picture)
        assert result.returncode == 0, result.stderr
        written = [p.relative_to(out).as_posix() for p in out.rglob("*") if p.is_file()]
        assert written == [picture]  # only what was asked, no temporary file left
    # Two runs give the same bytes: a diff of assets/ shows only intended changes.
    assert (first / picture).read_bytes() == (second / picture).read_bytes()
    # The committed picture is what the script draws now (compared as pixels, so another
    # zlib or Pillow build on a fresh machine does not matter; a stale asset does).
    with Image.open(first / picture) as fresh, Image.open(ASSETS / picture) as committed:
        difference = ImageChops.difference(fresh.convert("RGB"), committed.convert("RGB"))
    mean = sum(ImageStat.Stat(difference).mean) / 3
    assert mean < 1.0, f"assets/{picture} is stale: rerun tools/make_content.py ({mean:.2f})"


def test_make_content_refuses_an_unknown_asset_with_a_message(tmp_path):
    result = make_content(tmp_path, "infografias/no-existe.png")
    assert result.returncode == 1
    assert "unknown asset infografias/no-existe.png" in result.stderr
    assert "Traceback" not in result.stderr
    assert not any(tmp_path.iterdir())


def test_the_bundled_data_slides_draw_the_numbers_of_their_csv_files(playlists):
    """The tickets and adoption infographics are drawn from assets/datos/*.csv now, with
    the figures the old pictures showed (those pictures stay in assets/ for comparison)."""
    from signage.data.drawing import plan as draw
    from signage.data.files import load_series
    from signage.model import Theme

    slides = {s.id: s for p in playlists.values() for s in p.slides if s.kind is SlideKind.DATA}
    expected = {
        "tickets-soporte": (["1.240", "1.105", "930", "812", "705"], ["\u221243\u00a0%"]),
        "adopcion-herramientas": (["87\u00a0%", "64\u00a0%", "78\u00a0%"], ["90 %"]),
    }
    for slide_id, (values, card) in expected.items():
        slide = slides[slide_id]
        assert slide.data is not None
        series = load_series(ROOT / slide.source, ROOT, slide.source, slide.data)
        drawing = draw(slide.data, series, Theme(), 1920, 1080, lambda t, px, w: len(t) * px * 0.5)
        assert drawing.texts("value") == values, slide_id
        assert drawing.texts("card") == card, slide_id
