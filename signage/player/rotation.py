"""Rotation room: shows the player's window turned for a panel mounted on its side.

Where the compositor turns the output (cage ``-r``, ``xrandr --rotate``) the player needs
nothing: its screen is simply tall. Where it does not, ``rotation: 90|180|270`` in the
player configuration puts the player's window (laid out for the turned size, e.g.
1080×1920 on a 1920×1080 output) into a ``QGraphicsView`` that turns it clockwise by that
many degrees. Snapshots and heartbeat screenshots still grab the player's window: upright,
as a passer-by reads it.

Limitation: QtWebEngine does not paint inside a graphics view, so web slides are not shown
on a screen the player turns itself (the compositor's rotation has no such limit).
"""

from __future__ import annotations

from PySide6.QtCore import Qt
from PySide6.QtGui import QBrush, QColor, QResizeEvent
from PySide6.QtWidgets import QFrame, QGraphicsScene, QGraphicsView, QWidget

# The turned size is the layout room's, the screen's size the Qt environment's: a player whose
# panel is not turned never imports this module (QGraphicsView and its scene: ~1.3 ms).
from signage.player.layout import ROTATIONS, content_size
from signage.player.qtenv import primary_size

__all__ = ["ROTATIONS", "RotatedScreen", "content_size", "primary_size"]


class RotatedScreen(QGraphicsView):
    """A top-level window showing ``content`` turned clockwise by ``rotation`` degrees.

    ``content`` (a parentless widget, never shown on its own) is resized to the turned size
    of this window whenever this window's size changes.
    """

    def __init__(self, content: QWidget, rotation: int) -> None:
        if rotation not in ROTATIONS:
            raise ValueError(f"rotation must be one of {ROTATIONS}, not {rotation}")
        super().__init__()
        self.rotation = rotation
        self.content = content
        self.setWindowTitle(content.windowTitle())
        self.setFrameShape(QFrame.Shape.NoFrame)
        self.setHorizontalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setVerticalScrollBarPolicy(Qt.ScrollBarPolicy.ScrollBarAlwaysOff)
        self.setBackgroundBrush(QBrush(QColor("#000000")))
        self.setAlignment(Qt.AlignmentFlag.AlignCenter)
        # Slides change a few times a minute; repaint what changed, whole when turned.
        self.setViewportUpdateMode(QGraphicsView.ViewportUpdateMode.MinimalViewportUpdate)
        self._scene = QGraphicsScene(self)
        self.proxy = self._scene.addWidget(content)
        self.setScene(self._scene)
        self.rotate(rotation)

    def resizeEvent(self, event: QResizeEvent) -> None:
        size = event.size()
        w, h = content_size(self.rotation, size.width(), size.height())
        self.content.resize(w, h)
        self._scene.setSceneRect(0, 0, w, h)
        self.centerOn(w / 2, h / 2)
        super().resizeEvent(event)
