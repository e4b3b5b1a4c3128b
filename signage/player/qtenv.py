"""Qt start-up room: the environment Qt and QtWebEngine need, set before Qt is imported.

Nothing here imports PySide6 at module level: ``prepare_environment`` must run first.
"""

from __future__ import annotations

import os
import sys
from typing import Any

from signage.logs import area_logger

log = area_logger("player")

_CHROMIUM_FLAGS = (
    "--no-sandbox --disable-gpu --disable-background-networking --disable-component-update"
)


def display_available(environ: dict[str, str] | None = None) -> bool:
    """Whether a windowing system is reachable (X11, Wayland, or a platform chosen by hand)."""
    env = os.environ if environ is None else environ
    return bool(env.get("DISPLAY") or env.get("WAYLAND_DISPLAY") or env.get("QT_QPA_PLATFORM"))


def prepare_environment(*, headless: bool) -> bool:
    """Sets what Qt reads at start-up; returns whether the player runs headless.

    Headless when asked, or when no display is reachable (logged): the offscreen platform.
    QtWebEngine runs without its sandbox when the process is root (it refuses otherwise) and
    without GPU when headless.
    """
    if not headless and not display_available():
        log.warning("no display found (DISPLAY/WAYLAND_DISPLAY unset): running headless")
        headless = True
    if headless:
        os.environ["QT_QPA_PLATFORM"] = "offscreen"
    if headless or os.geteuid() == 0:
        os.environ.setdefault("QTWEBENGINE_DISABLE_SANDBOX", "1")
        os.environ.setdefault("QTWEBENGINE_CHROMIUM_FLAGS", _CHROMIUM_FLAGS)
    os.environ.setdefault("QT_LOGGING_RULES", "qt.multimedia.*=false;qt.webenginecontext=false")
    return headless


def _pyside_drops_none_references() -> bool:
    """Whether the installed PySide6 is a release known to drop those references (6.12).

    Asks the imported package, not ``importlib.metadata`` (~18 ms of start-up).
    """
    import PySide6

    return str(getattr(PySide6, "__version__", "")).startswith("6.12.")


def protect_none() -> bool:
    """Works around PySide6 6.12 returning ``None``/``True``/``False`` without a reference.

    On CPython 3.11 these singletons are reference counted (3.12 made them immortal).
    PySide6 6.12 returns them from void methods (``update()``, ``QTimer.start()``,
    ``processEvents()``...) and from ``Signal.emit()`` without taking a reference, so each
    call lowers a count by one; after a few thousand calls the interpreter aborts with
    "none_dealloc"/"bool_dealloc" (at exit, or mid-show for a player that runs for
    months). Raising each count once by 2**60 keeps it far from zero for longer than any
    screen will run; an overstated count on these objects has no other effect (they are
    never freed). pyproject.toml excludes 6.12, so this only acts where someone installed it
    by hand. Returns whether any count was raised.
    """
    if sys.version_info >= (3, 12) or not _pyside_drops_none_references():
        return False
    import ctypes

    raised = False
    for singleton in (None, True, False):
        count = ctypes.c_ssize_t.from_address(id(singleton))
        if count.value < 1 << 60:
            count.value += 1 << 60
            raised = True
    return raised


def ensure_application(name: str = "signage") -> Any:
    """The process's QApplication, created with what QtWebEngine needs first."""
    from PySide6.QtCore import QCoreApplication, Qt
    from PySide6.QtWidgets import QApplication

    protect_none()
    app = QApplication.instance()
    if app is None:
        # What QtWebEngine needs from the application; its module itself is imported only
        # for the first web slide (it works imported later with this attribute set), which
        # keeps it off the start-up path of screens without web slides.
        QCoreApplication.setAttribute(Qt.ApplicationAttribute.AA_ShareOpenGLContexts)
        app = QApplication([name])
        app.setApplicationName(name)
        from signage.logs import install_qt_handler

        install_qt_handler()  # Qt's own messages into the signage.qt logger
    return app


def primary_size() -> tuple[int, int]:
    """The primary screen's size in pixels (1920×1080 when Qt knows no screen)."""
    from PySide6.QtGui import QGuiApplication

    screen = QGuiApplication.primaryScreen()
    if screen is None:
        return 1920, 1080
    size = screen.geometry().size()
    return size.width(), size.height()
