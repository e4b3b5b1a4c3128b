"""Screen-blanking room: keeps the display awake where the platform lets a program ask.

Best effort, each step logged: the freedesktop ScreenSaver D-Bus inhibitor (desktop
sessions), and ``xset s off -dpms`` on X11. Under cage (Wayland kiosk) there is no idle
blanking to turn off; the kiosk unit's compositor settings decide.
"""

from __future__ import annotations

import os
import shutil
import subprocess

from signage.logs import area_logger

log = area_logger("player")


def inhibit_blanking() -> list[str]:
    """Asks every available mechanism to keep the screen on; returns the ones that agreed."""
    done: list[str] = []
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
                done.append("dbus-screensaver")
    except ImportError:
        pass
    xset = shutil.which("xset")
    if os.environ.get("DISPLAY") and xset:
        for argv in ([xset, "s", "off"], [xset, "-dpms"], [xset, "s", "noblank"]):
            try:
                subprocess.run(argv, check=False, timeout=3, capture_output=True)
            except (OSError, subprocess.SubprocessError) as exc:
                log.info("%s failed: %s", " ".join(argv), exc)
                break
        else:
            done.append("xset")
    log.info("screen blanking inhibited via: %s", ", ".join(done) or "nothing available")
    return done
