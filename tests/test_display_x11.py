"""The player on a real X server (Xvfb started by each test), seen through the X server.

* ``scripts/demo.sh`` with ``DISPLAY`` set opens its 1280×720 window and plays (the real
  script, the real play command, on a copy of the repository's content).
* Fullscreen: the slide covers the whole root window (``xwd -root``), the cursor over it is
  hidden (XFixes), the screen saver is off while the player runs and as before after it;
  DPMS the same where the server has it (Xvfb has not: the parsing is checked on text).
* A named display that does not answer: one line, exit 1, no hang.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest
from PIL import Image, ImageStat

from signage.player.blanking import (
    XBlanking,
    off_commands,
    parse_xset_q,
    restore_commands,
)
from tests.helpers_display import (
    cursor_visible_pixels,
    screenshot,
    signage_wrapper,
    xset_query,
    xvfb,
)

REPO = Path(__file__).resolve().parent.parent
NAVY = (0x0B, 0x25, 0x45)  # playlists/theme.yaml's background

pytestmark = [pytest.mark.qt]


def _stop(proc: subprocess.Popen[bytes]) -> None:
    if proc.poll() is None:
        os.killpg(proc.pid, signal.SIGTERM)
        try:
            proc.wait(20)
        except subprocess.TimeoutExpired:
            os.killpg(proc.pid, signal.SIGKILL)
            proc.wait(5)


def _wait_for(predicate, timeout: float, what: str, proc: subprocess.Popen[bytes] | None = None):
    deadline = time.monotonic() + timeout
    last = None
    while time.monotonic() < deadline:
        last = predicate()
        if last:
            return last
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"{what}: the player exited with {proc.returncode}")
        time.sleep(0.3)
    raise AssertionError(f"{what}: not within {timeout}s (last: {last})")


def _bbox_not_black(image: Image.Image) -> tuple[int, int, int, int] | None:
    return image.convert("L").point(lambda v: 255 if v > 8 else 0).getbbox()


@pytest.mark.slow
def test_demo_sh_opens_a_1280x720_window_and_plays(tmp_path: Path) -> None:
    """demo.sh as a new user runs it on a desktop: setup done, DISPLAY set, no flag."""
    tree = tmp_path / "clone"
    (tree / "scripts").mkdir(parents=True)
    shutil.copy2(REPO / "scripts" / "demo.sh", tree / "scripts" / "demo.sh")
    # setup.sh has run (its packages and .venv are this machine's): a no-op here.
    (tree / "scripts" / "setup.sh").write_text("#!/usr/bin/env bash\n", encoding="utf-8")
    signage_wrapper(tree / ".venv" / "bin", sys.executable, REPO)
    shutil.copytree(REPO / "playlists", tree / "playlists")
    shutil.copytree(REPO / "assets", tree / "assets")
    with xvfb(1600, 900) as x:
        env = x.env(XDG_CACHE_HOME=str(tmp_path / "cache"), HOME=str(tmp_path))
        log = (tmp_path / "demo.log").open("wb")
        proc = subprocess.Popen(
            ["bash", str(tree / "scripts" / "demo.sh")], cwd=tree, env=env,
            stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        try:

            def window_up() -> Image.Image | None:
                shot = screenshot(x.display)
                box = _bbox_not_black(shot)
                if box is None or (box[2] - box[0], box[3] - box[1]) != (1280, 720):
                    return None
                # past the waiting screen: a bundled slide with its overlays, many colours
                slide = shot.crop(box)
                return slide if len(slide.getcolors(1 << 20) or []) > 2000 else None

            slide = _wait_for(window_up, 60, "a 1280x720 window with a slide", proc)
            time.sleep(3)
            assert proc.poll() is None, (tmp_path / "demo.log").read_text(errors="replace")
        finally:
            _stop(proc)
            log.close()
    text = (tmp_path / "demo.log").read_text(errors="replace")
    assert "Could not load the Qt platform plugin" not in text
    assert "--headless" not in text
    slide.save(tmp_path / "window.png")
    # the theme's navy is the commonest colour: the bundled content, not a default window
    _count, commonest = max(slide.getcolors(1 << 20) or [(0, (0, 0, 0))])
    assert _close(commonest, NAVY), commonest
    assert ImageStat.Stat(slide).stddev[0] > 10


def test_demo_sh_plays_in_a_window_when_display_is_set() -> None:
    """The branch demo.sh takes: with DISPLAY (or WAYLAND_DISPLAY) and no flag, --window."""
    text = (REPO / "scripts" / "demo.sh").read_text(encoding="utf-8")
    window_line = next(line for line in text.splitlines() if "--window 1280x720" in line)
    assert "play --root . --screen demo --tags lobby" in window_line
    condition = next(line for line in text.splitlines() if "DISPLAY" in line and "if" in line)
    assert '"${DISPLAY:-}${WAYLAND_DISPLAY:-}"' in condition


def _picture(path: Path, size: tuple[int, int]) -> None:
    """Four quadrants of distinct colours: coverage of the whole screen shows in corners."""
    w, h = size
    img = Image.new("RGB", size)
    for (x0, y0), colour in {
        (0, 0): (220, 30, 30),
        (w // 2, 0): (30, 200, 30),
        (0, h // 2): (30, 30, 220),
        (w // 2, h // 2): (230, 200, 20),
    }.items():
        img.paste(colour, (x0, y0, x0 + w // 2, y0 + h // 2))
    img.save(path)


PICTURE_YAML = """\
name: Prueba de pantalla completa
defaults:
  duration: 60s
slides:
  - id: cuadrantes
    image: assets/cuadrantes.png
"""


@pytest.fixture
def quadrant_root(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    (root / "playlists").mkdir(parents=True)
    (root / "assets").mkdir()
    (root / "playlists" / "prueba.yaml").write_text(PICTURE_YAML, encoding="utf-8")
    (root / "playlists" / "theme.yaml").write_text(
        'background: "#000000"\nforeground: "#ffffff"\n', encoding="utf-8"
    )
    _picture(root / "assets" / "cuadrantes.png", (1024, 576))
    return root


def _corner_colours(shot: Image.Image) -> list[tuple[int, ...]]:
    w, h = shot.size
    points = ((3, h // 2 - 3), (w - 4, h // 2 - 3), (3, h - 4), (w - 4, h - 4))
    return [tuple(shot.getpixel(p)) for p in points]  # type: ignore[arg-type]


def _close(a: tuple[int, ...], b: tuple[int, ...]) -> bool:
    return all(abs(x - y) <= 12 for x, y in zip(a, b, strict=False))


@pytest.mark.slow
def test_fullscreen_covers_the_root_window_hides_the_cursor_and_keeps_the_screen_on(
    tmp_path: Path, quadrant_root: Path
) -> None:
    with xvfb(1024, 576) as x:
        subprocess.run(["xset", "-display", x.display, "s", "600", "600"], check=True)
        before = parse_xset_q(xset_query(x.display))
        assert before is not None
        assert before.timeout == 600
        assert cursor_visible_pixels(x.display, (512, 288)) > 0  # X's own cursor on the root
        env = x.env(XDG_CACHE_HOME=str(tmp_path / "cache"), PYTHONPATH=str(REPO))
        log = (tmp_path / "player.log").open("wb")
        proc = subprocess.Popen(
            [sys.executable, "-m", "signage", "-v", "play", "--root", str(quadrant_root),
             "--screen", "x11", "--for", "40", "--events", str(tmp_path / "events.jsonl")],
            env=env, stdout=log, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
        try:

            def covered() -> Image.Image | None:
                shot = screenshot(x.display)
                colours = _corner_colours(shot)
                want = [(220, 30, 30), (30, 200, 30), (30, 30, 220), (230, 200, 20)]
                ok = all(_close(c, w) for c, w in zip(colours, want, strict=True))
                return shot if ok else None

            shot = _wait_for(covered, 60, "the slide covering the root window", proc)
            assert shot.size == (1024, 576)
            hidden = cursor_visible_pixels(x.display, (700, 400))
            during = parse_xset_q(xset_query(x.display))
        finally:
            _stop(proc)
            log.close()
        after = parse_xset_q(xset_query(x.display))
    out = (tmp_path / "player.log").read_text(errors="replace")
    shot.save(tmp_path / "fullscreen.png")
    # every pixel is the slide: only the four quadrant colours (and their anti-aliased seams)
    grey = shot.convert("L")
    assert _bbox_not_black(shot) == (0, 0, 1024, 576)
    assert ImageStat.Stat(grey).extrema[0][0] > 8, "black pixels: something is not covered"
    assert hidden == 0, "the cursor shows over the player"
    assert during is not None
    assert during.timeout == 0, out
    assert during.prefer_blanking is False
    assert after == before, out
    assert proc.returncode == 0, out


def test_a_display_that_does_not_answer_is_one_line_and_exit_1(tmp_path: Path) -> None:
    with xvfb(320, 240) as x:
        dead = f":{int(x.display[1:]) + 50}"  # Xvfb picks free numbers upwards: this one is free
    env = {k: v for k, v in os.environ.items() if k not in ("QT_QPA_PLATFORM", "WAYLAND_DISPLAY")}
    cases = [
        ({"DISPLAY": dead}, f"DISPLAY={dead}: nothing answers"),
        ({"DISPLAY": "not-a-display"}, "is not a display name"),
        (
            {"WAYLAND_DISPLAY": "wayland-77", "XDG_RUNTIME_DIR": str(tmp_path)},
            "WAYLAND_DISPLAY=wayland-77: nothing answers",
        ),
        ({"QT_QPA_PLATFORM": "xcb"}, "DISPLAY is not set"),
    ]
    for extra, expected in cases:
        started = time.monotonic()
        done = subprocess.run(
            [sys.executable, "-m", "signage", "play", "--root", str(REPO), "--for", "5"],
            env={**{k: v for k, v in env.items() if k != "DISPLAY"}, **extra,
                 "PYTHONPATH": str(REPO)},
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
        assert done.returncode == 1, (extra, done.stderr)
        lines = done.stderr.strip().splitlines()
        assert len(lines) == 1, (extra, done.stderr)
        assert lines[0].startswith("signage play: cannot open the display: ")
        assert expected in lines[0]
        assert time.monotonic() - started < 30


def _xauthority(path: Path, cookie: bytes) -> Path:
    """An Xauthority file with one wildcard-display MIT cookie for this host."""
    import socket
    import struct

    def field(data: bytes) -> bytes:
        return struct.pack(">H", len(data)) + data

    path.write_bytes(
        struct.pack(">H", 256) + field(socket.gethostname().encode()) + field(b"")
        + field(b"MIT-MAGIC-COOKIE-1") + field(cookie)
    )  # fmt: skip
    return path


def test_an_x_server_that_refuses_our_credentials_is_one_line_and_exit_1(tmp_path: Path) -> None:
    cookie = bytes(range(16))
    server_auth = _xauthority(tmp_path / "server.auth", cookie)
    wrong = _xauthority(tmp_path / "wrong.auth", bytes(16))
    with xvfb(320, 240, auth=server_auth) as x:
        cases = (
            (wrong, "Invalid MIT-MAGIC-COOKIE-1 key"),
            (tmp_path / "none", "Authorization required, but no authorization protocol specified"),
            (server_auth, None),
        )
        for xauthority, reason in cases:
            done = subprocess.run(
                [sys.executable, "-m", "signage", "play", "--root", str(REPO), "--for", "1"],
                env=x.env(PYTHONPATH=str(REPO), XAUTHORITY=str(xauthority)),
                capture_output=True, text=True, timeout=60, check=False,
            )  # fmt: skip
            if reason is not None:  # the server's own words, in our one line
                assert done.returncode == 1, done.stderr
                assert done.stderr.strip().splitlines() == [
                    f"signage play: cannot open the display: DISPLAY={x.display}: the X server "
                    f"refused the connection: {reason}"
                ]
            else:  # the right cookie: the check lets it through and Qt connects
                assert done.returncode == 0, done.stderr


def test_x11_credentials_and_set_up_replies_are_read_right() -> None:
    from signage.player.display import (
        parse_xauthority,
        setup_request,
        setup_verdict,
        x11_address,
        x11_cookie,
    )

    def entry(family: int, addr: bytes, num: bytes, name: bytes, data: bytes) -> bytes:
        out = family.to_bytes(2, "big")
        for part in (addr, num, name, data):
            out += len(part).to_bytes(2, "big") + part
        return out

    blob = entry(256, b"otra", b"0", b"MIT-MAGIC-COOKIE-1", b"A" * 16)
    blob += entry(256, b"pantalla", b"1", b"MIT-MAGIC-COOKIE-1", b"B" * 16)
    blob += entry(256, b"pantalla", b"0", b"XDM-AUTHORIZATION-1", b"C" * 8)
    blob += entry(256, b"pantalla", b"0", b"MIT-MAGIC-COOKIE-1", b"D" * 16)
    entries = parse_xauthority(blob + b"\x01\x00\x00\x05ab")  # a truncated tail is ignored
    assert len(entries) == 4
    assert x11_cookie(entries, "0", "pantalla") == (b"MIT-MAGIC-COOKIE-1", b"D" * 16)
    assert x11_cookie(entries, "1", "pantalla") == (b"MIT-MAGIC-COOKIE-1", b"B" * 16)
    assert x11_cookie(entries, "2", "pantalla") == (b"", b"")
    request = setup_request(b"MIT-MAGIC-COOKIE-1", b"D" * 16)
    assert request[:2] == b"l\0"
    assert int.from_bytes(request[2:4], "little") == 11
    assert len(request) == 12 + 20 + 16  # the 18-byte name padded to 20
    assert setup_verdict(b"\x01" + b"\0" * 7) is None
    refused = b"\x00\x05\x0b\x00\x00\x00\x02\x00" + b"nope!\0\0\0"
    assert setup_verdict(refused) == "the X server refused the connection: nope!"
    assert setup_verdict(b"") == "the X server does not answer the connection set-up"
    assert "credentials" in (setup_verdict(b"\x02" + b"\0" * 7) or "")
    assert x11_address(":3.0") == ("unix", "/tmp/.X11-unix/X3")
    assert x11_address("pantalla:1") == ("tcp", ("pantalla", 6001))
    assert x11_address("nada") is None


def test_a_library_qt_needs_that_does_not_load_is_one_line_and_exit_1(tmp_path: Path) -> None:
    """A fresh Debian without libxcb-cursor0, as the loader sees it: the library found first
    is not a library at all. Qt would print a wall of text and abort; the player says one
    line and exits 1 (the unit restarts it)."""
    broken = tmp_path / "lib"
    broken.mkdir()
    (broken / "libxcb-cursor.so.0").write_bytes(b"")
    with xvfb(320, 240) as x:
        done = subprocess.run(
            [sys.executable, "-m", "signage", "play", "--root", str(REPO), "--for", "5"],
            env=x.env(PYTHONPATH=str(REPO), LD_LIBRARY_PATH=str(broken)),
            capture_output=True, text=True, timeout=60, check=False,
        )  # fmt: skip
    assert done.returncode == 1, done.stderr
    lines = done.stderr.strip().splitlines()
    assert len(lines) == 1, done.stderr
    assert lines[0].startswith("signage play: cannot open the display: Qt's platform plugin")
    assert "libxcb-cursor0 is needed" in lines[0]
    assert lines[0].endswith("(run scripts/setup.sh)")


def test_a_wayland_socket_that_went_away_falls_back_to_an_x_server_that_answers(
    tmp_path: Path,
) -> None:
    from signage.player.display import open_display

    with xvfb(320, 240) as x:
        env = {"DISPLAY": x.display, "WAYLAND_DISPLAY": "wayland-9",
               "XDG_RUNTIME_DIR": str(tmp_path)}  # fmt: skip
        assert open_display(headless=False, environ=env) == "xcb"
        assert env["QT_QPA_PLATFORM"] == "xcb"
    env = {"DISPLAY": ":0", "QT_QPA_PLATFORM": "offscreen"}
    assert open_display(headless=False, environ=env) == "offscreen"
    assert open_display(headless=False, environ={}) is None


XSET_Q_DPMS = """\
Screen Saver:
  prefer blanking:  no    allow exposures:  yes
  timeout:  300    cycle:  600
DPMS (Energy Star):
  Standby: 600    Suspend: 600    Off: 600
  DPMS is Enabled
  Monitor is On
"""


def test_blanking_settings_are_read_turned_off_and_put_back() -> None:
    before = parse_xset_q(XSET_Q_DPMS)
    assert before == XBlanking(timeout=300, cycle=600, prefer_blanking=False, dpms=True)
    assert off_commands(before) == [["s", "off"], ["s", "noblank"], ["-dpms"]]
    assert restore_commands(before) == [["s", "300", "600"], ["s", "noblank"], ["+dpms"]]
    no_dpms = XSET_Q_DPMS.replace("DPMS is Enabled", "").replace("Standby", "Server does not")
    xvfb_like = parse_xset_q(no_dpms.replace("prefer blanking:  no", "prefer blanking:  yes"))
    assert xvfb_like == XBlanking(300, 600, True, None)
    assert ["-dpms"] not in off_commands(xvfb_like)
    assert restore_commands(xvfb_like) == [["s", "300", "600"], ["s", "blank"]]
    assert parse_xset_q("garbage") is None


TALL_YAML = """\
name: Prueba vertical
orientation: portrait
defaults:
  duration: 60s
slides:
  - id: cuadrantes
    image: assets/cuadrantes-alta.png
"""


@pytest.mark.slow
def test_rotation_90_turns_a_portrait_slide_onto_a_wide_x_screen(
    tmp_path: Path, quadrant_root: Path
) -> None:
    """A 1280x720 output, a panel mounted on its side, the X server not rotating: the player
    lays out for 720x1280 and turns its picture 90 degrees clockwise itself."""
    (quadrant_root / "playlists" / "prueba.yaml").write_text(TALL_YAML, encoding="utf-8")
    _picture(quadrant_root / "assets" / "cuadrantes-alta.png", (720, 1280))
    config = tmp_path / "player.yaml"
    config.write_text(f"rotation: 90\ncache: {tmp_path / 'cache'}\n", encoding="utf-8")
    # content (x, y) on the 720x1280 slide shows at screen (1279 - y, x) once turned clockwise
    want = {(959, 180): (220, 30, 30), (959, 540): (30, 200, 30),
            (319, 180): (30, 30, 220), (319, 540): (230, 200, 20)}  # fmt: skip
    with xvfb(1280, 720) as x:
        log = (tmp_path / "player.log").open("wb")
        proc = subprocess.Popen(
            [sys.executable, "-m", "signage", "play", "--root", str(quadrant_root),
             "--config", str(config), "--for", "40"],
            env=x.env(PYTHONPATH=str(REPO)), stdout=log, stderr=subprocess.STDOUT,
            start_new_session=True,
        )  # fmt: skip
        try:

            def turned() -> Image.Image | None:
                shot = screenshot(x.display)
                ok = all(_close(tuple(shot.getpixel(p)), c) for p, c in want.items())  # type: ignore[arg-type]
                return shot if ok else None

            shot = _wait_for(turned, 60, "the portrait slide turned onto the screen", proc)
        finally:
            _stop(proc)
            log.close()
    shot.save(tmp_path / "turned.png")
    assert shot.size == (1280, 720)
    assert _bbox_not_black(shot) == (0, 0, 1280, 720)  # the turned slide fills the output
    assert proc.returncode == 0, (tmp_path / "player.log").read_text(errors="replace")


def test_qt_fatal_platform_messages_become_one_line() -> None:
    from signage.player.display import fatal_line

    notes = [
        "From 6.5.0, xcb-cursor0 or libxcb-cursor0 is needed to load the Qt xcb platform plugin.",
        'Could not load the Qt platform plugin "xcb" in "" even though it was found.',
    ]
    fatal = (
        "This application failed to start because no Qt platform plugin could be\n"
        "initialized. Reinstalling the application may fix this problem."
    )
    assert fatal_line(notes, fatal) == (
        "cannot open the display: Qt's platform plugin failed: From 6.5.0, xcb-cursor0 or "
        "libxcb-cursor0 is needed to load the Qt xcb platform plugin. (run scripts/setup.sh)"
    )
    refused = fatal_line(["could not connect to display :0"], fatal)
    assert refused.endswith("failed: could not connect to display :0")  # no setup.sh advice
    bare = fatal_line([], fatal)
    assert "\n" not in bare
    assert bare.endswith("Reinstalling the application may fix this problem.")
