"""Portrait screens: the layout of a tall screen, playlist orientation, rotation, previews.

* The pure layout keeps the QR plate, ticker, top bar and a text slide's box apart on tall
  screens, and is unchanged on wide ones.
* ``orientation:`` in a playlist (validator, JSON Schema, feed) decides which screens play
  it; ``validate`` warns about pictures of the other shape.
* ``rotation:`` in the player configuration: a headless player turned 90° lays out for the
  tall size and plays only what fits it.
* ``signage preview`` renders the bundled portrait playlist at 1080×1920 and every QR code
  decodes from a one-third-size copy of the PNG (a phone a few metres away).
"""

from __future__ import annotations

import json
import subprocess
import sys
from pathlib import Path

import jsonschema
import pytest
import zxingcpp
from PIL import Image, ImageChops

from signage.config import parse_config
from signage.errors import ConfigError
from signage.feed.codec import playlist_from_json, playlist_to_json
from signage.model import Orientation
from signage.player.layout import Rect, qr_scale, screen_layout
from signage.playlist import load_content_root
from signage.qr import qr_layout

REPO = Path(__file__).resolve().parent.parent
LONG_URL = (
    "https://encuestas.cartagena.gov.co/atencion?utm_source=pantalla-atencion-piso-1"
    "&utm_campaign=atencion-ciudadana-vertical&utm_content=encuesta-atencion&utm_medium=pantalla"
)


def _run(*args: str, cwd: Path = REPO) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "signage", *args],
        cwd=cwd, capture_output=True, text=True, timeout=180, check=False,
        env={"PYTHONPATH": str(REPO), "QT_QPA_PLATFORM": "offscreen", "PATH": "/usr/bin:/bin",
             "HOME": str(REPO), "XDG_CACHE_HOME": "/tmp/signage-portrait-test-cache",
             "SIGNAGE_LANGUAGE": "en"},
    )  # fmt: skip


# -- layout ------------------------------------------------------------------------------------


@pytest.mark.parametrize("size", [(1080, 1920), (720, 1280), (2160, 3840), (768, 1366)])
def test_a_tall_screen_keeps_overlays_and_text_apart(size: tuple[int, int]) -> None:
    w, h = size
    side = qr_layout(LONG_URL, qr_scale(w, h)).side_px
    lay = screen_layout(w, h, qr_side=side)
    for name in ("top_bar", "logo", "clock", "ticker", "qr", "text"):
        assert lay.safe.contains(getattr(lay, name)), (name, size)
    assert not lay.text.intersects(lay.qr)
    assert not lay.text.intersects(lay.ticker)
    assert not lay.text.intersects(lay.top_bar)
    assert not lay.qr.intersects(lay.ticker)
    assert lay.qr.bottom <= lay.ticker.y
    # text runs across the whole width above the plate, which holds the code and sits right
    assert lay.text.w == lay.safe.w
    assert lay.text.bottom < lay.qr.y
    assert lay.text.h > 0.35 * h
    assert lay.qr.w >= side
    assert lay.qr.right == lay.safe.right
    # the QR on a tall screen is larger than on a wide screen of the same panel
    assert side >= qr_layout(LONG_URL, w).side_px
    # bars keep the size they have with the panel wide (scaled by the short side)
    wide = screen_layout(h, w)
    assert lay.top_bar.h == wide.top_bar.h
    assert lay.ticker.h == wide.ticker.h
    assert not lay.clock.intersects(lay.logo)


def test_a_wide_screen_layout_is_what_it_was() -> None:
    lay = screen_layout(1920, 1080)
    assert lay.qr == Rect(1475, 496, 378, 454)
    assert lay.text == Rect(67, 141, 1386, 809)
    assert lay.clock == Rect(1183, 38, 670, 81)
    assert lay.ticker == Rect(67, 972, 1786, 70)
    assert qr_scale(1920, 1080) == 1080
    assert qr_scale(1080, 1920) == 1350


def test_orientation_of_a_screen_and_what_fits_it() -> None:
    assert Orientation.of(1080, 1920) is Orientation.PORTRAIT
    assert Orientation.of(1920, 1080) is Orientation.LANDSCAPE
    assert Orientation.of(1000, 1000) is Orientation.LANDSCAPE
    assert Orientation.BOTH.fits(Orientation.PORTRAIT)
    assert Orientation.PORTRAIT.fits(Orientation.PORTRAIT)
    assert not Orientation.PORTRAIT.fits(Orientation.LANDSCAPE)
    assert not Orientation.LANDSCAPE.fits(Orientation.PORTRAIT)
    assert Orientation.LANDSCAPE.fits(None)  # not known yet: everything plays


# -- the playlist format -----------------------------------------------------------------------


def _root(tmp_path: Path, playlists: dict[str, str], pictures: dict[str, tuple[int, int]]) -> Path:
    root = tmp_path / "root"
    (root / "playlists").mkdir(parents=True)
    (root / "assets").mkdir()
    for name, text in playlists.items():
        (root / "playlists" / f"{name}.yaml").write_text(text, encoding="utf-8")
    for name, size in pictures.items():
        img = Image.new("RGB", size, (20, 40, 90))
        img.paste((240, 180, 40), (0, 0, size[0] // 2, size[1] // 3))
        img.save(root / "assets" / name)
    return root


def _playlist(orientation: str | None, picture: str) -> str:
    line = f"orientation: {orientation}\n" if orientation else ""
    return f"name: Prueba\n{line}slides:\n  - id: foto\n    image: assets/{picture}\n"


def test_validate_warns_about_pictures_of_the_other_shape(tmp_path: Path) -> None:
    root = _root(
        tmp_path,
        {
            "vertical": _playlist("portrait", "ancha.png"),
            "horizontal": _playlist("landscape", "alta.png"),
            "ambas": _playlist("both", "ancha.png"),
            "bien": _playlist("portrait", "alta.png"),
        },
        {"ancha.png": (1920, 1080), "alta.png": (1080, 1920)},
    )
    done = _run("validate", "--root", str(root))
    assert done.returncode == 0, done.stdout + done.stderr  # warnings pass
    warnings = [line for line in done.stdout.splitlines() if ": warning: " in line]
    assert len(warnings) == 2, done.stdout
    portrait = next(w for w in warnings if "/playlists/vertical.yaml:" in w)
    assert portrait.startswith(f"{root}/playlists/vertical.yaml:4:5: warning: slide 'foto': ")
    assert "1920×1080 (landscape)" in portrait
    assert "for portrait screens" in portrait
    landscape = next(w for w in warnings if "/playlists/horizontal.yaml:" in w)
    assert "1080×1920 (portrait)" in landscape
    assert "tags: every screen, portrait screens" in done.stdout
    assert "0 errors, 2 warnings" in done.stdout


def test_a_wrong_orientation_is_refused_with_the_choices(tmp_path: Path) -> None:
    root = _root(tmp_path, {"mala": _playlist("vertical", "alta.png")}, {"alta.png": (108, 192)})
    done = _run("validate", "--root", str(root))
    assert done.returncode == 1
    assert "/playlists/mala.yaml:2:14: 'vertical' is not one of landscape, portrait, both" in (
        done.stdout
    )


def test_schema_and_feed_carry_the_orientation() -> None:
    schema = json.loads((REPO / "signage/schema/playlist.schema.json").read_text())
    validator = jsonschema.Draft202012Validator(schema)
    doc = {"name": "x", "orientation": "portrait", "slides": [{"id": "a", "text": {"title": "t"}}]}
    assert not list(validator.iter_errors(doc))
    assert list(validator.iter_errors({**doc, "orientation": "vertical"}))
    assert schema["properties"]["orientation"]["enum"] == ["landscape", "portrait", "both"]
    # the committed schema is the one the field table generates
    done = _run("schema")
    assert json.loads(done.stdout) == schema
    loaded = {p.id: p for p in load_content_root(REPO).playlists}
    vertical = playlist_to_json(loaded["atencion-ciudadana-vertical"])
    assert vertical["orientation"] == "portrait"
    assert playlist_from_json(vertical).orientation is Orientation.PORTRAIT
    lobby = playlist_to_json(loaded["lobby"])
    assert "orientation" not in lobby  # manifests of content without it stay as they were
    assert playlist_from_json(lobby).orientation is Orientation.BOTH


def test_rotation_in_the_player_configuration() -> None:
    assert parse_config({"rotation": 90}, "p.yaml").rotation == 90
    assert parse_config({}, "p.yaml").rotation == 0
    for bad in (45, "90", True, -90, 360):
        with pytest.raises(ConfigError, match=r"p\.yaml: 'rotation' must be 0, 90, 180 or 270"):
            parse_config({"rotation": bad}, "p.yaml")


# -- a turned player plays only what fits ------------------------------------------------------

TALL = "name: Vertical\norientation: portrait\ndefaults:\n  duration: 3s\nslides:\n" + "".join(
    f"  - id: alta-{i}\n    image: assets/alta.png\n    qr: false\n" for i in range(2)
)
WIDE = (
    "name: Horizontal\norientation: landscape\nslides:\n  - id: ancha\n"
    "    image: assets/ancha.png\n"
)


@pytest.mark.qt
def test_a_player_turned_90_degrees_lays_out_tall_and_plays_only_portrait(tmp_path: Path) -> None:
    root = _root(
        tmp_path, {"a-vertical": TALL, "b-horizontal": WIDE},
        {"alta.png": (720, 1280), "ancha.png": (1280, 720)},
    )  # fmt: skip
    (tmp_path / "player.yaml").write_text(
        f"rotation: 90\ncache: {tmp_path / 'cache'}\n", encoding="utf-8"
    )
    events, snaps = tmp_path / "events.jsonl", tmp_path / "snaps"
    done = _run(
        "play", "--root", str(root), "--config", str(tmp_path / "player.yaml"), "--headless",
        "--size", "1280x720", "--for", "8", "--events", str(events), "--snapshots", str(snaps),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    shown = [json.loads(line) for line in events.read_text().splitlines()]
    playlists = {e["playlist"] for e in shown if e.get("event") == "slide_shown"}
    assert playlists == {"a-vertical"}, shown
    pictures = sorted(snaps.glob("*.png"))
    assert pictures
    for png in pictures:
        with Image.open(png) as image:
            assert image.size == (720, 1280), png.name  # upright, as a passer-by reads it


# -- preview at the real size ------------------------------------------------------------------


@pytest.mark.qt
def test_preview_of_the_portrait_hall_at_1080x1920_with_qr_codes_that_scan(tmp_path: Path) -> None:
    out = tmp_path / "preview"
    done = _run(
        "preview", "atencion-ciudadana-vertical", "--root", str(REPO), "--at",
        "2026-12-01T10:00", "--screen", "pantalla-atencion-piso-1", "--out", str(out),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "note:" not in done.stderr
    playlist = next(
        p for p in load_content_root(REPO).playlists if p.id == "atencion-ciudadana-vertical"
    )
    slides = {s.id: s for s in playlist.slides}
    pngs = sorted(out.glob("0*.png"))
    assert len(pngs) >= 6
    decoded = 0
    for png in pngs:
        slide_id = png.stem.split("-", 1)[1].removeprefix("atencion-ciudadana-vertical-")
        with Image.open(png) as image:
            assert image.size == (1080, 1920)
            third = image.convert("RGB").resize((360, 640), Image.Resampling.BOX)
        found = zxingcpp.read_barcodes(third)
        qr = slides[slide_id].qr
        if qr is None:
            assert found == [], slide_id
            continue
        assert len(found) == 1, slide_id
        # a tracked survey goes through the hub's short link (playlists/settings.yaml's
        # links_base); the others carry their own address with the screen and slide
        wanted = "https://pantallas.cartagena.gov.co/q/" if qr.track else qr.url + "?"
        assert found[0].text.startswith(wanted), found[0].text
        screen = "s=pantalla-atencion-piso-1" if qr.track else "utm_source=pantalla-atencion-piso-1"
        assert screen in found[0].text
        decoded += 1
    assert decoded >= 5
    # a landscape-only playlist previewed tall: rendered, with a note that it would not play
    done = _run(
        "preview", "atencion-ciudadana", "--root", str(REPO), "--size", "1080x1920",
        "--at", "2026-12-01T10:00", "--out", str(tmp_path / "wide"),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert "note: 'atencion-ciudadana' is drawn for landscape screens; a 1080x1920" in done.stderr


@pytest.mark.qt
def test_a_wide_picture_on_a_tall_screen_sits_above_the_qr_plate(tmp_path: Path) -> None:
    """A playlist for both shapes on a tall screen: its wide picture is contained in the
    band between the top bar and the QR plate, not centred across the plate."""
    root = tmp_path / "root"
    (root / "playlists").mkdir(parents=True)
    (root / "assets").mkdir()
    Image.new("RGB", (1920, 1080), (230, 0, 230)).save(root / "assets" / "ancha.png")
    (root / "playlists" / "ambas.yaml").write_text(
        "name: Ambas\nslides:\n  - id: ancha\n    image: assets/ancha.png\n    qr:\n"
        "      url: https://encuestas.cartagena.gov.co/x\n      caption: Opina\n",
        encoding="utf-8",
    )
    out = tmp_path / "out"
    done = _run("preview", "ambas", "--root", str(root), "--size", "1080x1920", "--out", str(out))
    assert done.returncode == 0, done.stderr
    with Image.open(next(out.glob("01-*.png"))) as image:
        shot = image.convert("RGB")
    red = shot.getchannel("R").point(lambda v: 255 if v > 200 else 0)
    blue = shot.getchannel("B").point(lambda v: 255 if v > 200 else 0)
    low_green = shot.getchannel("G").point(lambda v: 255 if v < 60 else 0)
    picture = ImageChops.multiply(ImageChops.multiply(red, blue), low_green).getbbox()
    # the QR plate: white between the top bar's clock and the ticker's words
    middle = shot.crop((0, 200, 1080, 1760)).convert("L")
    plate = middle.point(lambda v: 255 if v > 245 else 0).getbbox()
    white = None if plate is None else (plate[0], plate[1] + 200, plate[2], plate[3] + 200)
    assert picture is not None
    assert white is not None  # the QR plate
    assert picture[2] - picture[0] == 1080  # full width, aspect kept
    assert picture[3] < white[1], (picture, white)  # wholly above the plate
    assert picture[1] > 150  # and below the top bar
    third = shot.resize((360, 640), Image.Resampling.BOX)
    assert [r.text.split("?")[0] for r in zxingcpp.read_barcodes(third)] == [
        "https://encuestas.cartagena.gov.co/x"
    ]


@pytest.mark.qt
def test_a_tall_hall_screen_plays_the_portrait_playlist_and_its_qr_scans(tmp_path: Path) -> None:
    """The bundled content on a headless 1080x1920 hall screen: the player's own snapshot of
    its first slide is the portrait playlist's, and its QR decodes at one third."""
    events, snaps = tmp_path / "events.jsonl", tmp_path / "snaps"
    (tmp_path / "player.yaml").write_text(f"cache: {tmp_path / 'cache'}\n", encoding="utf-8")
    done = _run(
        "play", "--root", str(REPO), "--config", str(tmp_path / "player.yaml"),
        "--screen", "sala-vertical", "--tags", "atencion-ciudadana", "--headless",
        "--size", "1080x1920", "--for", "5", "--events", str(events), "--snapshots", str(snaps),
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    shown = [json.loads(line) for line in events.read_text().splitlines()]
    played = {(e["playlist"], e["slide"]) for e in shown if e.get("event") == "slide_shown"}
    assert played == {("atencion-ciudadana-vertical", "bienvenida-sala")}, played
    (png,) = sorted(snaps.glob("*.png"))
    with Image.open(png) as image:
        assert image.size == (1080, 1920)
        third = image.convert("RGB").resize((360, 640), Image.Resampling.BOX)
    (code,) = zxingcpp.read_barcodes(third)
    assert code.text.startswith("https://encuestas.cartagena.gov.co/atencion?")
    assert "utm_source=sala-vertical" in code.text
