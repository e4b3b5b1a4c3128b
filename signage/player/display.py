"""Display room: which Qt platform the player opens and whether that display answers.

Runs before Qt is imported. Qt left to itself aborts with a wall of text when its platform
plugin cannot load or its display does not answer (or, with no display at all, may wait);
a screen's unit should instead see one line and a non-zero exit, and restart the player.

* ``choose_platform`` (pure): ``offscreen`` when headless; a ``QT_QPA_PLATFORM`` set by hand
  is kept; otherwise ``wayland`` when ``WAYLAND_DISPLAY`` is set (cage, a Wayland desktop),
  else ``xcb`` when ``DISPLAY`` is set, else ``None`` (no display: the caller runs headless).
* ``open_display`` (shell): probes the chosen display (the compositor's socket answers; a
  local X server completes the connection set-up with our Xauthority cookie, as Xlib would,
  within a timeout), falls back from Wayland to X11 when only X11 answers, and raises
  ``DisplayError`` with one line naming what failed.
* ``guard_platform_start`` (shell): until the QApplication exists, Qt's own fatal platform
  error (its plugin cannot load: a missing ``libxcb-cursor0``...; or the X server refuses
  our credentials) becomes one line and exit status 1 instead of Qt's wall of text and an
  abort. Loading the plugin ahead of Qt to find out would cost ~70 ms of every start
  (bench/display_check.py); listening to Qt costs nothing.
"""

from __future__ import annotations

import os
import re
from collections.abc import Mapping
from pathlib import Path

from signage.errors import DisplayError
from signage.i18n import _
from signage.logs import area_logger

log = area_logger("player")

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


def _pad4(data: bytes) -> bytes:
    return data + b"\0" * (-len(data) % 4)


def parse_xauthority(data: bytes) -> list[tuple[int, bytes, bytes, bytes, bytes]]:
    """An Xauthority file → (family, address, display number, auth name, auth data) entries;
    a truncated tail is ignored."""
    entries: list[tuple[int, bytes, bytes, bytes, bytes]] = []
    pos = 0
    while pos + 2 <= len(data) and len(entries) < 1000:
        family = int.from_bytes(data[pos : pos + 2], "big")
        pos += 2
        fields: list[bytes] = []
        for _field in range(4):
            if pos + 2 > len(data):
                return entries
            size = int.from_bytes(data[pos : pos + 2], "big")
            fields.append(data[pos + 2 : pos + 2 + size])
            pos += 2 + size
        if pos > len(data):
            return entries
        entries.append((family, fields[0], fields[1], fields[2], fields[3]))
    return entries


def x11_cookie(
    entries: list[tuple[int, bytes, bytes, bytes, bytes]], number: str, hostname: str
) -> tuple[bytes, bytes]:
    """The MIT-MAGIC-COOKIE-1 for local display ``number`` (``(b"", b"")``: none)."""
    for family, address, num, name, secret in entries:
        local = family == 256 and address == hostname.encode()  # FamilyLocal, this host
        wild = family == 65535  # FamilyWild
        if (local or wild) and num in (number.encode(), b"") and name == b"MIT-MAGIC-COOKIE-1":
            return name, secret
    return b"", b""


def setup_request(name: bytes, secret: bytes) -> bytes:
    """The X11 connection-setup request (little-endian, protocol 11.0) with these credentials."""
    head = b"l\0" + (11).to_bytes(2, "little") + (0).to_bytes(2, "little")
    head += len(name).to_bytes(2, "little") + len(secret).to_bytes(2, "little") + b"\0\0"
    return head + _pad4(name) + _pad4(secret)


def setup_verdict(reply: bytes) -> str | None:
    """``None`` when the X server accepted the connection, else its reason."""
    if len(reply) < 8:
        return _("the X server does not answer the connection set-up")
    if reply[0] == 1:
        return None
    if reply[0] == 0:
        reason = reply[8 : 8 + reply[1]].decode("latin-1", "replace").strip()
        if not reason:
            return _("the X server refused the connection without a reason")
        from signage.printable import printable  # a refusal's words: not loaded at start

        return _("the X server refused the connection: {reason}").format(
            reason=printable(reason, 200)
        )
    return _("the X server asks for credentials we do not have (XAUTHORITY?)")


def _x11_accepts(path: str, number: str, env: Mapping[str, str], timeout: float) -> str | None:
    """``None`` when the local X server at ``path`` accepts us with our Xauthority cookie
    (what Xlib would send), else why not; without Xlib (~20 ms) or a hang."""
    import socket

    home = Path(env.get("HOME", "~")).expanduser()
    auth_file = Path(env.get("XAUTHORITY") or home / ".Xauthority")
    try:
        with auth_file.open("rb") as fh:  # one bounded read of a small file
            entries = parse_xauthority(fh.read(64 * 1024))
    except OSError:
        entries = []
    name, secret = x11_cookie(entries, number, socket.gethostname())
    why = ""
    for target in (path, "\0" + path):
        try:
            with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
                conn.settimeout(timeout)
                conn.connect(target)
                conn.sendall(setup_request(name, secret))
                reply = conn.recv(8)
                # a refusal's reason follows its 8-byte header, maybe in another segment
                while 8 <= len(reply) < 8 + reply[1] and reply[0] == 0:
                    more = conn.recv(8 + reply[1] - len(reply))
                    if not more:
                        break
                    reply += more
        except TimeoutError:
            return _("the X server at {path} does not answer within {seconds} s").format(
                path=path, seconds=f"{timeout:.0f}"
            )
        except OSError as exc:
            why = _nothing_answers(path, exc)
            continue
        return setup_verdict(reply)
    return why


def _unix_connects(path: str, timeout: float) -> str | None:
    """``None`` when something accepts a connection at the unix socket ``path``."""
    import socket

    try:
        with socket.socket(socket.AF_UNIX, socket.SOCK_STREAM) as conn:
            conn.settimeout(timeout)
            conn.connect(path)
    except OSError as exc:
        return _nothing_answers(path, exc)
    return None


def _nothing_answers(where: object, exc: OSError) -> str:
    return _("nothing answers at {address} ({reason})").format(
        address=where, reason=exc.strerror or exc
    )


def _connects(family: str, address: str | tuple[str, int], timeout: float) -> str | None:
    """``None`` when something accepts a TCP connection there, else why not."""
    import socket

    try:
        socket.create_connection(address, timeout=timeout).close()  # type: ignore[arg-type]
    except OSError as exc:
        return _nothing_answers(address, exc)
    return None


def probe(platform: str, env: Mapping[str, str], timeout: float = PROBE_TIMEOUT_S) -> str | None:
    """``None`` when the display of ``platform`` answers, else one sentence saying why not."""
    if platform == "xcb":
        display = env.get("DISPLAY", "")
        if not display:
            return _("DISPLAY is not set")
        address = x11_address(display)
        if address is None:
            return _("DISPLAY={value} is not a display name like :0 or host:0").format(
                value=repr(display)
            )
        kind, target = address
        if kind == "unix":
            number = str(target).rsplit("X", 1)[-1]
            why = _x11_accepts(str(target), number, env, timeout)
        else:  # a remote server: that it listens; Qt reports its own refusal in one line
            why = _connects(kind, target, timeout)
        return f"DISPLAY={display}: {why}" if why else None
    if platform.startswith("wayland"):
        path = wayland_socket(env)
        if path is None:
            return _("WAYLAND_DISPLAY is relative and XDG_RUNTIME_DIR is not set")
        why = _unix_connects(str(path), timeout)
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
    if why is not None:
        raise DisplayError(_("cannot open the display: {reason}").format(reason=why))
    env["QT_QPA_PLATFORM"] = chosen
    return chosen


def fatal_line(notes: list[str], fatal: str) -> str:
    """The one line for a Qt platform failure: the reason when Qt gave one in a note before
    its fatal message (``... is needed to load the Qt xcb platform plugin``, ``Cannot load
    library``, ``could not connect to display``), else the fatal message itself."""
    libraries = ("needed", "Cannot load library")
    clues = (*libraries, "could not connect", "Failed to create")
    telling = [n for n in notes if any(clue in n for clue in clues)]
    detail = (telling or [fatal])[0]
    needs_setup = any(c in detail for c in libraries)
    detail = " ".join(detail.split())[:400]  # one line, whatever Qt's text
    if needs_setup:
        said = _("Qt's platform plugin failed: {detail} (run scripts/setup.sh)")
    else:
        said = _("Qt's platform plugin failed: {detail}")
    return _("cannot open the display: {reason}").format(reason=said.format(detail=detail))


def guard_platform_start(command: str = "signage play") -> None:
    """Until ``signage.logs`` installs its own handler, Qt's fatal message (a platform plugin
    that cannot load) prints one line and exits with status 1; platform notes before it
    are kept for that line, other messages go to the ``signage.qt`` logger."""
    import sys

    from PySide6.QtCore import QtMsgType, qInstallMessageHandler

    notes: list[str] = []
    qt_log = area_logger("qt")

    def on_message(mode: QtMsgType, context: object, message: str) -> None:
        category = str(getattr(context, "category", "") or "")
        if mode == QtMsgType.QtFatalMsg:
            sys.stderr.write(f"{command}: {fatal_line(notes, str(message))}\n")
            sys.stderr.flush()
            os._exit(1)
        if category.startswith("qt.qpa"):
            notes.append(str(message))
            qt_log.debug("%s: %s", category, message)
        else:
            qt_log.warning("%s", message)

    qInstallMessageHandler(on_message)
