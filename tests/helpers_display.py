"""Test helpers for real display servers: an Xvfb started per test, ``xwd`` screenshots read
into Pillow, the X cursor's current image (XFixes) and ``xset q``.

Xvfb picks a free display number itself (``-displayfd``); screenshots come from the X server
(``xwd -root``), not from Qt, so they show what a passer-by would see.
"""

from __future__ import annotations

import ctypes
import os
import select
import shutil
import signal
import struct
import subprocess
import time
from collections.abc import Iterator
from contextlib import contextmanager
from dataclasses import dataclass
from pathlib import Path

from PIL import Image


@dataclass(frozen=True, slots=True)
class XServer:
    display: str  # ":N"
    width: int
    height: int
    process: subprocess.Popen[bytes]

    def env(self, **extra: str) -> dict[str, str]:
        env = {k: v for k, v in os.environ.items() if k not in ("WAYLAND_DISPLAY",)}
        env.pop("QT_QPA_PLATFORM", None)
        env.update(DISPLAY=self.display, **extra)
        return env


@contextmanager
def xvfb(width: int = 1280, height: int = 720, auth: Path | None = None) -> Iterator[XServer]:
    """A fresh Xvfb (black root window, no TCP) for the duration of the block; with
    ``auth``, it admits only clients presenting a cookie from that Xauthority file."""
    read_fd, write_fd = os.pipe()
    extra = ["-auth", str(auth)] if auth is not None else []
    proc = subprocess.Popen(
        ["Xvfb", "-displayfd", str(write_fd), "-screen", "0", f"{width}x{height}x24",
         "-br", "-nolisten", "tcp", "-noreset", *extra],
        pass_fds=(write_fd,), stdout=subprocess.DEVNULL, stderr=subprocess.PIPE,
        start_new_session=True,
    )  # fmt: skip
    os.close(write_fd)
    try:
        ready, _, _ = select.select([read_fd], [], [], 30)
        number = os.read(read_fd, 32).decode().strip() if ready else ""
        if not number:
            proc.kill()
            err = proc.stderr.read().decode(errors="replace") if proc.stderr else ""
            raise AssertionError(f"Xvfb did not start: {err}")
        yield XServer(f":{number}", width, height, proc)
    finally:
        os.close(read_fd)
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(10)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(5)
        if proc.stderr is not None:
            proc.stderr.close()


def read_xwd(data: bytes) -> Image.Image:
    """An ``xwd`` dump (ZPixmap, 24 or 32 bits per pixel, TrueColor) as an RGB image."""
    fields = struct.unpack(">25I", data[:100])
    header_size, _version, pixmap_format, depth, width, height = fields[:6]
    byte_order, bits_per_pixel, bytes_per_line = fields[7], fields[11], fields[12]
    ncolors = fields[19]
    if pixmap_format != 2 or bits_per_pixel not in (24, 32) or depth not in (24, 32):
        raise ValueError(f"xwd: format {pixmap_format}, {bits_per_pixel} bpp, depth {depth}")
    start = header_size + 12 * ncolors
    pixels = data[start : start + bytes_per_line * height]
    if bits_per_pixel == 32:
        raw_mode = "BGRX" if byte_order == 0 else "XRGB"
    else:
        raw_mode = "BGR" if byte_order == 0 else "RGB"
    return Image.frombytes("RGB", (width, height), pixels, "raw", raw_mode, bytes_per_line)


def screenshot(display: str) -> Image.Image:
    """The root window through the X server (``xwd -root``)."""
    done = subprocess.run(
        ["xwd", "-root", "-silent", "-display", display],
        capture_output=True, timeout=30, check=True,
    )  # fmt: skip
    return read_xwd(done.stdout)


def xset_query(display: str) -> str:
    done = subprocess.run(
        ["xset", "-display", display, "q"], capture_output=True, text=True, timeout=10, check=True
    )
    return done.stdout


class _CursorImage(ctypes.Structure):
    _fields_ = (
        ("x", ctypes.c_short),
        ("y", ctypes.c_short),
        ("width", ctypes.c_ushort),
        ("height", ctypes.c_ushort),
        ("xhot", ctypes.c_ushort),
        ("yhot", ctypes.c_ushort),
        ("cursor_serial", ctypes.c_ulong),
        ("pixels", ctypes.POINTER(ctypes.c_ulong)),
        ("atom", ctypes.c_ulong),
        ("name", ctypes.c_char_p),
    )


def cursor_visible_pixels(display: str, at: tuple[int, int]) -> int:
    """Moves the pointer to ``at`` and counts the current cursor image's non-transparent
    pixels (XFixesGetCursorImage): 0 means the cursor is hidden there."""
    xlib = ctypes.CDLL("libX11.so.6")
    xfixes = ctypes.CDLL("libXfixes.so.3")
    xlib.XOpenDisplay.restype = ctypes.c_void_p
    xlib.XOpenDisplay.argtypes = [ctypes.c_char_p]
    xlib.XDefaultRootWindow.restype = ctypes.c_ulong
    xlib.XDefaultRootWindow.argtypes = [ctypes.c_void_p]
    xlib.XWarpPointer.argtypes = [ctypes.c_void_p, ctypes.c_ulong, ctypes.c_ulong]
    xlib.XWarpPointer.argtypes += [ctypes.c_int] * 2 + [ctypes.c_uint] * 2 + [ctypes.c_int] * 2
    xlib.XSync.argtypes = [ctypes.c_void_p, ctypes.c_int]
    xlib.XCloseDisplay.argtypes = [ctypes.c_void_p]
    xlib.XFree.argtypes = [ctypes.c_void_p]
    xfixes.XFixesGetCursorImage.restype = ctypes.POINTER(_CursorImage)
    xfixes.XFixesGetCursorImage.argtypes = [ctypes.c_void_p]
    dpy = xlib.XOpenDisplay(display.encode())
    if not dpy:
        raise AssertionError(f"cannot open {display}")
    try:
        root = xlib.XDefaultRootWindow(dpy)
        xlib.XWarpPointer(dpy, 0, root, 0, 0, 0, 0, at[0], at[1])
        xlib.XSync(dpy, 0)
        time.sleep(0.2)
        image = xfixes.XFixesGetCursorImage(dpy)
        if not image:
            raise AssertionError("XFixesGetCursorImage failed")
        try:
            cur = image.contents
            count = cur.width * cur.height
            return sum(1 for i in range(count) if (cur.pixels[i] >> 24) & 0xFF)
        finally:
            xlib.XFree(image)
    finally:
        xlib.XCloseDisplay(dpy)


def signage_wrapper(folder: Path, python: str, repo: Path) -> Path:
    """An executable ``signage`` that runs this tree's CLI with the test's interpreter (what
    ``.venv/bin/signage`` is after ``scripts/setup.sh``)."""
    folder.mkdir(parents=True, exist_ok=True)
    script = folder / "signage"
    script.write_text(
        f'#!/bin/sh\nPYTHONPATH={repo} exec {python} -m signage "$@"\n', encoding="utf-8"
    )
    script.chmod(0o755)
    return script


def have(*tools: str) -> bool:
    return all(shutil.which(t) for t in tools)


# --- cage (Wayland) ---------------------------------------------------------------------------

# The venv's interpreter is a link into root's home, which 'nobody' cannot enter; the system
# interpreter of the same version runs the same code with the venv's packages.
PLAYER_PYTHON = Path("/usr/bin/python3")


def cage_missing() -> str | None:
    """Why cage cannot run a player here as 'nobody', or ``None``."""
    import sys

    for tool in ("cage", "setpriv", "grim"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed"
    if not Path("/usr/bin/Xwayland").exists():
        return "cage 0.1.4 refuses to start without Xwayland (Debian package xwayland)"
    if not PLAYER_PYTHON.exists():
        return f"{PLAYER_PYTHON} is missing"
    done = subprocess.run(
        [str(PLAYER_PYTHON), "-c", "import sys; print(sys.version_info[:2])"],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    if done.stdout.strip() != str(sys.version_info[:2]):
        return f"{PLAYER_PYTHON} is not Python {sys.version_info[0]}.{sys.version_info[1]}"
    if os.geteuid() != 0:
        return "needs root to drop to the unprivileged user 'nobody' (cage refuses root)"
    return None


@dataclass(frozen=True, slots=True)
class Cage:
    process: subprocess.Popen[bytes]
    runtime: Path  # XDG_RUNTIME_DIR, where cage puts wayland-0
    log: Path

    def player_pid(self) -> int | None:
        """cage's child: the player (cage forks it; Xwayland starts only on demand)."""
        try:
            children = Path(f"/proc/{self.process.pid}/task/{self.process.pid}/children")
            pids = [int(p) for p in children.read_text().split()]
        except (OSError, ValueError):
            return None
        for pid in pids:
            try:
                cmdline = Path(f"/proc/{pid}/cmdline").read_bytes()
            except OSError:
                continue
            if b"signage" in cmdline:
                return pid
        return None

    def grim(self) -> Image.Image:
        """A screenshot through the compositor (wlr-screencopy), as 'nobody' like the player."""
        out = self.runtime / "grim.png"  # a folder 'nobody' may write
        env = {"PATH": "/usr/bin:/bin", "XDG_RUNTIME_DIR": str(self.runtime),
               "WAYLAND_DISPLAY": "wayland-0"}  # fmt: skip
        subprocess.run(
            ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "grim", str(out)],
            env=env, check=True, timeout=30, capture_output=True,
        )  # fmt: skip
        with Image.open(out) as img:
            return img.convert("RGB")


@contextmanager
def cage(base: Path, player_args: list[str], *, cage_args: tuple[str, ...] = ()) -> Iterator[Cage]:
    """cage on wlroots' headless backend (1280×720 output) as 'nobody', running the player.

    ``base`` must be readable by 'nobody'. The player's environment names no Qt platform:
    it has to pick wayland from ``WAYLAND_DISPLAY`` itself.
    """
    import sysconfig

    repo = Path(__file__).resolve().parent.parent
    runtime, cache = base / "run", base / "cache"
    for sub in (runtime, cache):
        sub.mkdir()
        shutil.chown(sub, "nobody", "nogroup")
    runtime.chmod(0o700)  # XDG_RUNTIME_DIR must be private to its owner
    base.chmod(0o755)
    env = {
        "PATH": "/usr/bin:/bin",
        "HOME": str(cache),
        "XDG_RUNTIME_DIR": str(runtime),
        "XDG_CACHE_HOME": str(cache),
        "WLR_BACKENDS": "headless",
        "WLR_LIBINPUT_NO_DEVICES": "1",
        "WLR_RENDERER": "pixman",
        "PYTHONPATH": f"{repo}:{sysconfig.get_paths()['purelib']}",
        "PYTHONDONTWRITEBYTECODE": "1",
    }
    log = base / "cage.log"
    with log.open("wb") as out:
        proc = subprocess.Popen(
            ["setpriv", "--reuid=nobody", "--regid=nogroup", "--clear-groups", "cage",
             *cage_args, "-d", "--", str(PLAYER_PYTHON), "-m", "signage", "-v", *player_args],
            env=env, cwd=repo, stdout=out, stderr=subprocess.STDOUT, start_new_session=True,
        )  # fmt: skip
    try:
        yield Cage(proc, runtime, log)
    finally:
        if proc.poll() is None:
            os.killpg(proc.pid, signal.SIGTERM)
            try:
                proc.wait(15)
            except subprocess.TimeoutExpired:
                os.killpg(proc.pid, signal.SIGKILL)
                proc.wait(5)
