"""Screen-blanking room: keeps the display awake while the player runs, puts it back after.

Best effort, each step logged: the freedesktop ScreenSaver D-Bus inhibitor (desktop
sessions), and on X11 the server's screen saver and DPMS through ``xset``: read with
``xset q`` first, turned off while the player runs, restored as they were when it stops (a
player started by hand on someone's desktop must not leave their screen saver off). Under
cage (Wayland kiosk) there is no idle blanking to turn off; the compositor decides.

``parse_xset_q``, ``off_commands`` and ``restore_commands`` are pure; ``inhibit_blanking``
runs them.
"""

from __future__ import annotations

import os
import re
import shutil
import subprocess
from dataclasses import dataclass, field

from signage.logs import area_logger

log = area_logger("player")


@dataclass(frozen=True, slots=True)
class XBlanking:
    """The X server's screen saver and DPMS settings as ``xset q`` shows them.

    Args:
        timeout, cycle: screen-saver seconds (0: off).
        prefer_blanking: blank rather than draw a pattern.
        dpms: DPMS enabled; ``None`` when the server has no DPMS extension (Xvfb).
    """

    timeout: int
    cycle: int
    prefer_blanking: bool
    dpms: bool | None


def parse_xset_q(text: str) -> XBlanking | None:
    """``xset q`` output → the blanking settings; ``None`` if it does not show them."""
    saver = re.search(r"timeout:\s*(\d+)\s+cycle:\s*(\d+)", text)
    blanking = re.search(r"prefer blanking:\s*(yes|no)", text)
    if saver is None or blanking is None:
        return None
    dpms: bool | None = None
    state = re.search(r"DPMS is (Enabled|Disabled)", text)
    if state is not None:
        dpms = state.group(1) == "Enabled"
    return XBlanking(int(saver.group(1)), int(saver.group(2)), blanking.group(1) == "yes", dpms)


def off_commands(before: XBlanking | None) -> list[list[str]]:
    """``xset`` arguments that keep the screen on (DPMS only where the server has it)."""
    commands = [["s", "off"], ["s", "noblank"]]
    if before is None or before.dpms is not None:
        commands.append(["-dpms"])
    return commands


def restore_commands(before: XBlanking) -> list[list[str]]:
    """``xset`` arguments that put back what ``xset q`` showed before the player started."""
    commands = [
        ["s", str(before.timeout), str(before.cycle)],
        ["s", "blank" if before.prefer_blanking else "noblank"],
    ]
    if before.dpms is not None:
        commands.append(["+dpms" if before.dpms else "-dpms"])
    return commands


@dataclass(slots=True)
class BlankingInhibit:
    """What ``inhibit_blanking`` did; ``restore()`` undoes the X11 part (safe to call twice)."""

    mechanisms: list[str] = field(default_factory=list)
    xset: str | None = None
    before: XBlanking | None = None

    def restore(self) -> None:
        before, self.before = self.before, None
        if self.xset is None or before is None:
            return
        for args in restore_commands(before):
            _run([self.xset, *args])
        log.info("screen saver and DPMS restored (timeout %ss, DPMS %s)", before.timeout,
                 {True: "on", False: "off", None: "absent"}[before.dpms])  # fmt: skip


def _run(argv: list[str]) -> str | None:
    try:
        done = subprocess.run(argv, check=False, timeout=3, capture_output=True, text=True)
    except (OSError, subprocess.SubprocessError) as exc:
        log.info("%s failed: %s", " ".join(argv), exc)
        return None
    return done.stdout if done.returncode == 0 else None


def inhibit_blanking() -> BlankingInhibit:
    """Asks every available mechanism to keep the screen on; ``restore()`` it on the way out."""
    done = BlankingInhibit()
    try:
        from PySide6.QtDBus import QDBusConnection, QDBusInterface

        bus = QDBusConnection.sessionBus()
        if bus.isConnected():
            iface = QDBusInterface(
                "org.freedesktop.ScreenSaver",
                "/org/freedesktop/ScreenSaver",
                "org.freedesktop.ScreenSaver",
                bus,
            )
            if iface.isValid():
                iface.call("Inhibit", "signage", "digital signage is playing")
                done.mechanisms.append("dbus-screensaver")
    except ImportError:
        pass
    xset = shutil.which("xset")
    wayland = os.environ.get("QT_QPA_PLATFORM", "").startswith("wayland")
    if os.environ.get("DISPLAY") and xset and not wayland:
        query = _run([xset, "q"])
        before = parse_xset_q(query) if query is not None else None
        if all(_run([xset, *args]) is not None for args in off_commands(before)):
            done.mechanisms.append("xset")
        done.xset, done.before = xset, before
    log.info("screen blanking inhibited via: %s", ", ".join(done.mechanisms) or "nothing")
    return done
