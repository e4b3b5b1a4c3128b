"""Shared pytest set-up: Qt renders offscreen, one QApplication per session.

The environment is set before anything imports Qt: offscreen platform, QtWebEngine without
its sandbox (tests run as root here) and without GPU.
"""

from __future__ import annotations

import contextlib
import logging
import os
from collections.abc import Iterator
from typing import Any

import pytest

os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")
os.environ.setdefault("QTWEBENGINE_DISABLE_SANDBOX", "1")
os.environ.setdefault(
    "QTWEBENGINE_CHROMIUM_FLAGS",
    "--no-sandbox --disable-gpu --disable-background-networking --disable-component-update",
)
os.environ.setdefault("QT_LOGGING_RULES", "qt.multimedia.*=false;qt.webenginecontext=false")
# Messages in English unless a test asks for another language (the `language` fixture, or
# SIGNAGE_LANGUAGE in a subprocess's environment): the override beats the bundled
# settings' `language: es` and the machine's LANG, so assertions do not depend on either.
os.environ["SIGNAGE_LANGUAGE"] = "en"


@pytest.fixture
def language() -> Iterator[Any]:
    """``language("es")`` speaks Spanish in this process until the test ends."""
    from signage import i18n

    def speak(code: str) -> None:
        i18n.set_language(code)

    yield speak
    i18n.set_language("en")


@pytest.fixture(scope="session")
def qapp() -> Iterator[Any]:
    """The process's QApplication (created once, with what QtWebEngine needs first)."""
    from PySide6.QtCore import QCoreApplication, Qt
    from PySide6.QtWidgets import QApplication

    from signage.player.qtenv import protect_none

    protect_none()  # a no-op unless the PySide6 6.12 reference bug is installed
    app = QApplication.instance()
    if app is None:
        QCoreApplication.setAttribute(Qt.ApplicationAttribute.AA_ShareOpenGLContexts)
        with contextlib.suppress(ImportError):  # must load before the app exists
            import PySide6.QtWebEngineWidgets  # noqa: F401
        app = QApplication(["signage-tests"])
    yield app


@pytest.fixture(autouse=True)
def _root_logging_restored() -> Iterator[None]:
    """Whatever a test hardens on the root logger (``harden_root_handlers`` adds filters and
    a journald formatter to the handlers it finds, pytest's own included) is undone after
    it, so the next test sees the root logger as pytest set it up."""
    root = logging.getLogger()
    saved = {h: (list(h.filters), h.formatter) for h in root.handlers}
    yield
    for handler, (filters, formatter) in saved.items():
        handler.filters[:] = filters
        handler.setFormatter(formatter)


@pytest.fixture
def browser() -> Iterator[Any]:
    """Debian's Chromium driven by Playwright (never a downloaded browser), closed after the
    test; the console's browser tests use it."""
    from playwright.sync_api import sync_playwright

    from tests.helpers_console import CHROMIUM, CHROMIUM_ARGS

    with sync_playwright() as p:
        b = p.chromium.launch(executable_path=CHROMIUM, args=CHROMIUM_ARGS)
        try:
            yield b
        finally:
            b.close()
