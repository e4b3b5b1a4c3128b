"""The player under cage (Wayland), as the kiosk unit runs it, seen through the compositor.

cage runs on wlroots' headless backend (a 1280×720 output, pixman renderer) as the
unprivileged user 'nobody'; the player's environment names no Qt platform, so it must pick
wayland from ``WAYLAND_DISPLAY`` by itself (its memory map shows Qt's wayland plugin, not
xcb). ``grim`` takes the screenshot through the compositor (wlr-screencopy).

One quirk of the test rig, not of screens: Debian's cage 0.1.4 with wlroots 0.15 tries to
scan out a fullscreen client's buffer directly when the output is not rotated; the headless
backend refuses that ("Basic output test failed") and the output stops updating. An output
turned by cage (``-r``) is composited instead, so the landscape test turns it twice (180°,
still 1280×720 for the client and for grim) and the portrait test once (90°: a panel mounted
on its side, the compositor rotating, the player laying out for 720×1280). Each playlist
is drawn for one shape, so a player that misjudged its screen's shape would show nothing.
"""

from __future__ import annotations

import shutil
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
from PIL import Image

from tests.helpers_display import cage, cage_missing

pytestmark = [
    pytest.mark.slow,
    pytest.mark.qt,
    pytest.mark.skipif(cage_missing() is not None, reason=cage_missing() or ""),
]

RED, GREEN, BLUE, YELLOW = (220, 30, 30), (30, 200, 30), (30, 30, 220), (230, 200, 20)

PLAYLIST = """\
name: Prueba Wayland
defaults:
  duration: 60s
slides:
  - id: cuadrantes
    image: assets/cuadrantes.png
"""


def _quadrants(path: Path, size: tuple[int, int]) -> None:
    w, h = size
    img = Image.new("RGB", size)
    for (x0, y0), colour in {(0, 0): RED, (w // 2, 0): GREEN, (0, h // 2): BLUE,
                             (w // 2, h // 2): YELLOW}.items():  # fmt: skip
        img.paste(colour, (x0, y0, x0 + w // 2, y0 + h // 2))
    img.save(path)


@pytest.fixture
def world() -> Iterator[Path]:
    base = Path(tempfile.mkdtemp(prefix="signage-wayland-"))
    try:
        root = base / "root"
        (root / "playlists").mkdir(parents=True)
        (root / "assets").mkdir()
        (root / "playlists" / "prueba.yaml").write_text(PLAYLIST, encoding="utf-8")
        (root / "playlists" / "theme.yaml").write_text(
            'background: "#000000"\nforeground: "#ffffff"\n', encoding="utf-8"
        )
        for p in (root, root / "playlists", root / "assets"):
            p.chmod(0o755)
        yield base
    finally:
        shutil.rmtree(base, ignore_errors=True)


def _close(a: tuple[int, ...], b: tuple[int, ...]) -> bool:
    return all(abs(x - y) <= 12 for x, y in zip(a, b, strict=False))


def _quadrants_cover(shot: Image.Image) -> bool:
    w, h = shot.size
    # sample each quadrant away from the top bar's clock (top right) and the edges
    points = {RED: (w // 8, h // 2 - 8), GREEN: (w - w // 8, h // 2 - 8),
              BLUE: (4, h - 4), YELLOW: (w - 4, h - 4)}  # fmt: skip
    return all(_close(shot.getpixel(p), colour) for colour, p in points.items())  # type: ignore[arg-type]


def _play_and_shoot(world: Path, cage_args: tuple[str, ...], size: tuple[int, int]) -> Image.Image:
    root = world / "root"
    shape = "portrait" if size[1] > size[0] else "landscape"
    # drawn for one shape only: a player that misjudged its screen's shape would play nothing
    (root / "playlists" / "prueba.yaml").write_text(
        PLAYLIST.replace("defaults:", f"orientation: {shape}\ndefaults:"), encoding="utf-8"
    )
    _quadrants(root / "assets" / "cuadrantes.png", size)
    (root / "assets" / "cuadrantes.png").chmod(0o644)
    (root / "playlists" / "prueba.yaml").chmod(0o644)
    (root / "playlists" / "theme.yaml").chmod(0o644)
    args = ["play", "--root", str(root), "--screen", "cage", "--for", "40"]
    with cage(world, args, cage_args=cage_args) as c:
        deadline = time.monotonic() + 60
        shot = None
        maps = ""
        while time.monotonic() < deadline:
            assert c.process.poll() is None, c.log.read_text(errors="replace")
            pid = c.player_pid()
            if pid is not None and (world / "run" / "wayland-0").exists():
                try:
                    maps = Path(f"/proc/{pid}/maps").read_text()
                except OSError:
                    maps = ""
                shot = c.grim()
                if _quadrants_cover(shot):
                    break
            time.sleep(0.5)
        log = c.log.read_text(errors="replace")
    assert shot is not None, log
    shot.save(world / "seen.png")
    assert _quadrants_cover(shot), (shot.size, [shot.getpixel((x, 100)) for x in (4, 300)], log)
    # the player chose Qt's wayland plugin itself (nothing in its environment named it)
    assert "libqwayland" in maps, log
    assert "libqxcb" not in maps
    return shot


def test_the_player_picks_wayland_under_cage_and_the_slide_fills_the_output(world: Path) -> None:
    shot = _play_and_shoot(world, ("-r", "-r"), (1280, 720))
    assert shot.size == (1280, 720)


def test_a_portrait_panel_turned_by_cage_shows_a_portrait_slide_upright(world: Path) -> None:
    shot = _play_and_shoot(world, ("-r",), (720, 1280))
    assert shot.size == (720, 1280)
