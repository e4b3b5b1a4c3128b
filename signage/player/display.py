"""Display room: which Qt platform the player opens and whether that display answers.

Runs before Qt is imported. Qt left to itself aborts with a wall of text when its platform
plugin cannot load or its display does not answer (or, with no display at all, may wait);
a screen's unit should instead see one line and a non-zero exit, and restart the player.

* ``choose_platform`` (pure): ``offscreen`` when headless; a ``QT_QPA_PLATFORM`` set by hand
  is kept; otherwise ``wayland`` when ``WAYLAND_DISPLAY`` is set (cage, a Wayland desktop),
  else ``xcb`` when ``DISPLAY`` is set, else ``None`` (no display: the caller runs headless).
* ``open_display`` (shell): probes the chosen display (the socket answers; X11 also accepts
  our credentials) and that Qt's plugin loads, falls back from Wayland to X11 when only X11
  answers, and raises ``DisplayError`` with one line naming what failed.
"""

from __future__ import annotations

import ctypes
import logging
import os
import re
import socket
import threading
from collections.abc import Mapping
from pathlib import Path

from signage.errors import DisplayError

log = logging.getLogger("signage.player")

PROBE_TIMEOUT_S = 3.0
_X11_DISPLAY = re.compile(r"^(?P<host>[^:]*):(?P<num>\d+)(?:\.(?P<screen>\d+))?$")
_DISPLAY_PLATFORMS = ("xcb", "wayland")


def choose_platform(env: Mapping[str, str], *, headless: bool) -> str | None:
    """The Qt platform to use, or ``None`` when no display is named at all."""
    if headless:
        return "offscreen"
    given = env.get("QT_QPA_PLATFORM", "").strip()
    if given:
        return given
    if env.get("WAYLAND_DISPLAY"):
        return "wayland"
    if env.get("DISPLAY"):
        return "xcb"
    return None


def wayland_socket(env: Mapping[str, str]) -> Path | None:
    """Where the Wayland compositor listens (``WAYLAND_DISPLAY`` under ``XDG_RUNTIME_DIR``)."""
    name = env.get("WAYLAND_DISPLAY") or "wayland-0"
    if name.startswith("/"):
        return Path(name)
    runtime = env.get("XDG_RUNTIME_DIR")
    return Path(runtime) / name if runtime else None


def x11_address(display: str) -> tuple[str, str | tuple[str, int]] | None:
    """``:0`` → ``("unix", "/tmp/.X11-unix/X0")``; ``host:1`` → ``("tcp", (host, 6001))``."""
    match = _X11_DISPLAY.match(display.strip())
    if match is None:
        return None
    host, num = match.group("host"), int(match.group("num"))
    if host in ("", "unix") or host.startswith("unix/"):
        return "unix", f"/tmp/.X11-unix/X{num}"  # noqa: S108 - the X server's fixed socket
    return "tcp", (host, 6000 + num)


def _connects(family: str, address: str | tuple[str, int], timeout: float) -> str | None:
    """``None`` when something accepts a connection there, else why not."""
    if family == "tcp":
        targets: list[tuple[socket.AddressFamily, str | tuple[str, int]]] = [
            (socket.AF_INET, address)
        ]
    else:  # Linux X servers also listen on the abstract socket of the same name
        targets = [(socket.AF_UNIX, address), (socket.AF_UNIX, "\0" + str(address))]
    why = ""
    for kind, target in targets:
        try:
            if kind == socket.AF_INET:
                socket.create_connection(target, timeout=timeout).close()  # type: ignore[arg-type]
            else:
                with socket.socket(kind, socket.SOCK_STREAM) as conn:
                    conn.settimeout(timeout)
                    conn.connect(target)
        except OSError as exc:
            why = why or (exc.strerror or str(exc))
            continue
        return None
    return f"nothing answers at {address} ({why})"


def _x11_accepts(display: str, timeout: float) -> str | None:
    """``None`` when Xlib can open the display (credentials included), else why not."""
    try:
        xlib = ctypes.CDLL("libX11.so.6")
    except OSError as exc:
        return f"libX11 cannot load ({exc})"
    xlib.XOpenDisplay.restype = ctypes.c_void_p
    xlib.XOpenDisplay.argtypes = [ctypes.c_char_p]
    xlib.XCloseDisplay.argtypes = [ctypes.c_void_p]
    opened: list[int | None] = []

    def attempt() -> None:
        opened.append(xlib.XOpenDisplay(display.encode()))

    worker = threading.Thread(target=attempt, name="x11-probe", daemon=True)
    worker.start()
    worker.join(timeout)
    if not opened:
        return "the X server does not answer"
    handle = opened[0]
    if not handle:
        return "the X server refused the connection (no access: XAUTHORITY?)"
    xlib.XCloseDisplay(handle)
    return None


def _plugin_loads(platform: str) -> str | None:
    """``None`` when Qt's platform plugin and the libraries it links load, else the loader's
    message (``libxcb-cursor.so.0: cannot open shared object file``)."""
    import PySide6  # the package only: Qt's libraries load with the plugin below

    folder = Path(PySide6.__file__).resolve().parent / "Qt" / "plugins" / "platforms"
    plugin = folder / ("libqxcb.so" if platform == "xcb" else "libqwayland.so")
    if platform != "xcb" and not plugin.exists():  # Qt < 6.7 named it libqwayland-generic.so
        plugin = folder / "libqwayland-generic.so"
    try:
        ctypes.CDLL(str(plugin), mode=os.RTLD_LAZY | os.RTLD_LOCAL)
    except OSError as exc:
        return str(exc)
    return None


def probe(platform: str, env: Mapping[str, str], timeout: float = PROBE_TIMEOUT_S) -> str | None:
    """``None`` when the display of ``platform`` answers, else one sentence saying why not."""
    if platform == "xcb":
        display = env.get("DISPLAY", "")
        if not display:
            return "DISPLAY is not set"
        address = x11_address(display)
        if address is None:
            return f"DISPLAY={display!r} is not a display name like :0 or host:0"
        why = _connects(*address, timeout) or _x11_accepts(display, timeout)
        return f"DISPLAY={display}: {why}" if why else None
    if platform.startswith("wayland"):
        path = wayland_socket(env)
        if path is None:
            return "WAYLAND_DISPLAY is relative and XDG_RUNTIME_DIR is not set"
        why = _connects("unix", str(path), timeout)
        return f"WAYLAND_DISPLAY={env.get('WAYLAND_DISPLAY', '')}: {why}" if why else None
    return None


def open_display(*, headless: bool, environ: dict[str, str] | None = None) -> str | None:
    """Chooses and checks the display and sets ``QT_QPA_PLATFORM``; returns the platform.

    ``None`` when no display is named (the caller runs headless and says so). A platform
    other than xcb/wayland chosen by hand (offscreen, eglfs, vnc) is returned unchecked.

    Raises:
        DisplayError: a display was named (or a platform chosen) that cannot be opened.
    """
    env = os.environ if environ is None else environ
    platform = choose_platform(env, headless=headless)
    if platform is None:
        return None
    base = platform.split(":", 1)[0]
    if base not in _DISPLAY_PLATFORMS and not base.startswith("wayland"):
        return platform  # offscreen, eglfs, vnc...: chosen by hand, Qt reports its own
    why = probe(base, env)
    chosen = platform
    stale_wayland = why is not None and base.startswith("wayland") and env.get("DISPLAY")
    if stale_wayland and "QT_QPA_PLATFORM" not in env and probe("xcb", env) is None:
        # A stale WAYLAND_DISPLAY in an X session: X11, since that one answers.
        log.warning("cannot open the Wayland display (%s): using X11", why)
        base, chosen, why = "xcb", "xcb", None
    if why is None:
        why = _plugin_loads("xcb" if base == "xcb" else "wayland")
        if why is not None:
            why = f"Qt's {base} platform plugin cannot load: {why} (run scripts/setup.sh)"
    if why is not None:
        raise DisplayError(f"cannot open the display: {why}")
    env["QT_QPA_PLATFORM"] = chosen
    return chosen
