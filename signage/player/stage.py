"""Transition room: slides stacked so the screen always shows a whole slide, never black.

The next slide is prepared as a live widget *beneath* the one on screen. To present it, the
stage grabs the outgoing frame, raises the incoming slide, and a cover on top paints the
grabbed frame fading out (or nothing, for a cut). Any kind can follow any kind — video to
video, web to image — because both sides are always fully painted widgets. ``settled``
fires once the cover has painted its final frame: the slide is fully on screen.
"""

from __future__ import annotations

from typing import TYPE_CHECKING

from PySide6.QtCore import Qt, QTimer, Signal
from PySide6.QtGui import QPainter, QPaintEvent, QPixmap, QResizeEvent
from PySide6.QtWidgets import QWidget

from signage.player.views import SlideView

if TYPE_CHECKING:
    from PySide6.QtCore import QVariantAnimation

FADE_MS = 700
SETTLE_GRACE_MS = 1500  # a window that is not exposed never paints: settle anyway


class TransitionCover(QWidget):
    """Paints the outgoing frame over the incoming slide, fading it out."""

    settled = Signal()

    def __init__(self, parent: QWidget) -> None:
        super().__init__(parent)
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents, True)
        self._pixmap = QPixmap()
        self._opacity = 0.0
        self._armed = False
        self._anim: QVariantAnimation | None = None  # made at the first fade (see _fader)
        self._announce = QTimer(self)
        self._announce.setSingleShot(True)
        self._announce.timeout.connect(self._emit_settled)
        self._grace = QTimer(self)
        self._grace.setSingleShot(True)
        self._grace.timeout.connect(self._emit_settled)

    @property
    def busy(self) -> bool:
        return self._armed

    def _fader(self) -> QVariantAnimation:
        """The fade's animation, made on the first fade: a start's first slide is a cut, and
        PySide6 builds QVariantAnimation, QAbstractAnimation and QEasingCurve (with their
        enums, ~0.8 ms) on their first import (issue 17.2)."""
        if self._anim is None:
            from PySide6.QtCore import QEasingCurve, QVariantAnimation

            self._anim = QVariantAnimation(self)
            self._anim.setStartValue(1.0)
            self._anim.setEndValue(0.0)
            self._anim.setEasingCurve(QEasingCurve.Type.InOutQuad)
            self._anim.valueChanged.connect(self._on_value)
            self._anim.finished.connect(self._on_done)
        return self._anim

    def begin(self, outgoing: QPixmap | None, fade_ms: int) -> None:
        """Starts a transition; ``outgoing`` is ``None`` for a cut (or nothing was shown)."""
        if self._anim is not None:
            self._anim.stop()
        self._announce.stop()  # a settle owed to an interrupted transition is void
        self._armed = True
        self.raise_()
        if outgoing is None or outgoing.isNull() or fade_ms <= 0:
            self._pixmap = QPixmap()
            self._opacity = 0.0
        else:
            self._pixmap = outgoing
            self._opacity = 1.0
            fader = self._fader()
            fader.setDuration(fade_ms)
            fader.start()
        self._grace.start(max(0, fade_ms) + SETTLE_GRACE_MS)
        self.update()

    def _on_value(self, value: object) -> None:
        self._opacity = float(value) if isinstance(value, int | float) else 0.0
        self.update()

    def _on_done(self) -> None:
        self._opacity = 0.0
        self._pixmap = QPixmap()
        self.update()

    def paintEvent(self, event: QPaintEvent) -> None:
        if self._opacity > 0.0 and not self._pixmap.isNull():
            painter = QPainter(self)
            painter.setOpacity(self._opacity)
            painter.drawPixmap(0, 0, self._pixmap)
            painter.end()
        elif self._armed and not self._fading():
            # This paint pass composed the incoming slide alone: its first full frame.
            self._announce.start(0)

    def _fading(self) -> bool:
        return self._anim is not None and self._anim.state() == self._anim.State.Running

    def _emit_settled(self) -> None:
        if not self._armed:
            return
        self._armed = False
        self._grace.stop()
        self.settled.emit()


class Stage(QWidget):
    """Holds the slide on screen and the one being prepared beneath it."""

    settled = Signal()

    def __init__(self, parent: QWidget | None = None) -> None:
        super().__init__(parent)
        self._current: SlideView | None = None
        self._cover = TransitionCover(self)
        self._cover.settled.connect(self.settled)

    @property
    def current(self) -> SlideView | None:
        return self._current

    @property
    def transitioning(self) -> bool:
        return self._cover.busy

    def adopt(self, view: SlideView) -> None:
        """Places a view, full size, beneath the slide on screen (invisible until presented)."""
        view.setParent(self)
        view.setGeometry(self.rect())
        view.lower()
        view.show()

    def present(self, view: SlideView, *, fade_ms: int) -> None:
        """Makes ``view`` the slide on screen; the outgoing one fades out and is deleted."""
        outgoing = self._current
        frame = self.grab() if (outgoing is not None and fade_ms > 0) else None
        if view.parent() is not self:
            self.adopt(view)
        view.raise_()
        self._current = view
        self._cover.begin(frame, fade_ms if frame is not None else 0)
        if outgoing is not None and outgoing is not view:
            self.discard(outgoing)

    def discard(self, view: SlideView) -> None:
        """Stops and deletes a view (prepared but not needed, or finished)."""
        if view is self._current:
            self._current = None
        view.halt()
        view.hide()
        view.deleteLater()

    def resizeEvent(self, event: QResizeEvent) -> None:
        for child in self.findChildren(QWidget, options=Qt.FindChildOption.FindDirectChildrenOnly):
            child.setGeometry(self.rect())
