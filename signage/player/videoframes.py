"""Video frame room: decoded frames converted and scaled to the screen off the GUI thread.

A video's frames come out of QtMultimedia at the file's size (320×240, 1280×720…). Each
one has to become a picture of the screen's size before it is painted: a YUV→RGB
conversion and a smooth scale, 11–38 ms a frame at 1080p on the player's 2-core machines
(bench/stall.py, mixed case). Done on the GUI thread, that was the screen's worst stall
while a video faded in or played. Here it is done on one worker thread shared by all
videos; the GUI thread gets the finished picture (a queued signal) and only copies it
to the screen.

Each video view opens a ``FrameChannel``. The newest frame wins: while the worker is
busy with a frame, or while a finished picture waits for the GUI thread to take it, a
newer frame replaces the waiting one (counted as dropped) instead of queueing, so at most
three pictures of a video exist at once (on screen, handed over, being made) whatever
the load, and a busy GUI thread never receives a backlog.
"""

from __future__ import annotations

import itertools
import threading
from collections import deque
from dataclasses import dataclass
from typing import TYPE_CHECKING

from PySide6.QtCore import QCoreApplication, QObject, QRunnable, Qt, QThreadPool, Signal
from PySide6.QtGui import QImage

from signage.logs import area_logger
from signage.player.layout import fitted_size

if TYPE_CHECKING:
    from PySide6.QtMultimedia import QVideoFrame

__all__ = ["FrameChannel", "FrameCounts", "FrameScaler", "frame_picture", "picture_geometry"]

log = area_logger("player")

MADE_KEPT = 8  # (picture, thread) records a channel keeps, for checks and tests


def picture_geometry(
    src_w: int, src_h: int, box_w: int, box_h: int, *, cover: bool
) -> tuple[tuple[int, int], tuple[int, int, int, int] | None]:
    """(scaled size, crop rect or None) that fits a ``src`` frame to the box, aspect kept.

    Contained: the scaled size fits inside the box (bands left for the background).
    Cover: the scaled size covers the box and the crop (x, y, w, h) keeps its centre.
    """
    sw, sh = fitted_size(src_w, src_h, box_w, box_h, cover=cover)
    if cover and (sw > box_w or sh > box_h):
        w, h = min(sw, box_w), min(sh, box_h)
        return (sw, sh), ((sw - w) // 2, (sh - h) // 2, w, h)
    return (sw, sh), None


def frame_picture(frame: QVideoFrame, width: int, height: int, *, cover: bool) -> QImage:
    """A frame converted and smooth-scaled for a ``width`` × ``height`` view (any thread).

    A null image when the frame cannot be converted.
    """
    image = frame.toImage()
    if image.isNull():
        return image
    (sw, sh), crop = picture_geometry(image.width(), image.height(), width, height, cover=cover)
    if (sw, sh) != (image.width(), image.height()):
        image = image.scaled(
            sw, sh, Qt.AspectRatioMode.IgnoreAspectRatio, Qt.TransformationMode.SmoothTransformation
        )
    if crop is not None:
        image = image.copy(*crop)
    fmt = (
        QImage.Format.Format_ARGB32_Premultiplied
        if image.hasAlphaChannel()
        else QImage.Format.Format_RGB32
    )
    return image.convertToFormat(fmt)  # the screen's format: painting it is a plain copy


@dataclass(frozen=True, slots=True)
class FrameCounts:
    """Frames of one channel (or of all, ``FrameScaler.totals``) so far.

    ``offered``: frames the decoder delivered; ``made``: pictures the worker finished;
    ``dropped``: frames replaced by a newer one before the worker took them.
    """

    offered: int = 0
    made: int = 0
    dropped: int = 0


class FrameChannel:
    """One video's way to the worker: offer frames (GUI thread), take pictures back.

    ``made`` records (``QImage.cacheKey()``, thread ident) of the last pictures the worker
    finished, so a check can tell a picture on screen was made off the GUI thread.
    """

    def __init__(self, scaler: FrameScaler, ident: int, size: tuple[int, int], cover: bool):
        self.ident = ident
        self._scaler = scaler
        self._lock = threading.Lock()
        self._target = (max(1, size[0]), max(1, size[1]), cover)
        self._pending: QVideoFrame | None = None
        self._busy = False  # a job queued or running, or a picture not taken yet
        self._closed = False
        self._offered = 0
        self._made = 0
        self._dropped = 0
        self.made: deque[tuple[int, int]] = deque(maxlen=MADE_KEPT)

    @property
    def counts(self) -> FrameCounts:
        with self._lock:
            return FrameCounts(self._offered, self._made, self._dropped)

    def retarget(self, size: tuple[int, int], cover: bool) -> bool:
        """The view's size changed; True when it differs from the last one."""
        target = (max(1, size[0]), max(1, size[1]), cover)
        with self._lock:
            changed, self._target = target != self._target, target
        return changed

    def offer(self, frame: QVideoFrame) -> None:
        """A decoded frame to show: scaled on the worker unless a newer one comes first."""
        with self._lock:
            if self._closed:
                return
            self._offered += 1
            dropped = self._pending is not None
            self._dropped += dropped
            self._pending = frame
            busy, self._busy = self._busy, True
        self._scaler.tally(offered=1, dropped=int(dropped))
        if not busy:
            self._scaler.schedule(self)

    def taken(self) -> None:
        """The GUI thread took the last picture: the next frame may be made."""
        with self._lock:
            if self._closed or self._pending is None:
                self._busy = False
                return
        self._scaler.schedule(self)

    def close(self) -> None:
        """The view is done: the waiting frame is dropped, later offers are ignored."""
        with self._lock:
            self._closed = True
            self._pending = None
            self._busy = False

    def work(self) -> None:
        """Worker thread: makes the picture of the newest frame and hands it over."""
        with self._lock:
            frame, self._pending = self._pending, None
            width, height, cover = self._target
            if self._closed or frame is None:
                self._busy = False
                return
        try:
            picture = frame_picture(frame, width, height, cover=cover)
        except Exception:  # a conversion bug must not kill the worker thread silently
            log.exception("video frame could not be converted")
            picture = QImage()
        del frame  # the decoder's buffer goes back as soon as it is converted
        with self._lock:
            if self._closed:
                self._busy = False
                return
            self._made += 1
            self.made.append((picture.cacheKey(), threading.get_ident()))
        self._scaler.tally(made=1)
        self._scaler.made.emit(self.ident, picture)


class _Job(QRunnable):
    def __init__(self, channel: FrameChannel) -> None:
        super().__init__()
        self._channel = channel

    def run(self) -> None:
        self._channel.work()


class FrameScaler(QObject):
    """The worker that makes video pictures; one per application (``shared``).

    ``made(channel, picture)`` is emitted on the worker thread and queued to the views;
    a view takes the pictures of its own channel and calls ``FrameChannel.taken``.
    """

    made = Signal(int, QImage)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)  # one video plays at a time; the next one waits paused
        self._idents = itertools.count(1)
        self._lock = threading.Lock()
        self._totals = FrameCounts()

    @classmethod
    def shared(cls) -> FrameScaler:
        """The application's scaler (made on first use, a child of the application)."""
        app = QCoreApplication.instance()
        found = app.findChild(FrameScaler, "signage-frame-scaler") if app is not None else None
        if isinstance(found, FrameScaler):
            return found
        scaler = cls(app)
        scaler.setObjectName("signage-frame-scaler")
        return scaler

    def open(self, size: tuple[int, int], *, cover: bool) -> FrameChannel:
        """A channel for one video view of ``size``."""
        return FrameChannel(self, next(self._idents), size, cover)

    def schedule(self, channel: FrameChannel) -> None:
        self._pool.start(_Job(channel))

    def tally(self, *, offered: int = 0, made: int = 0, dropped: int = 0) -> None:
        with self._lock:
            t = self._totals
            self._totals = FrameCounts(t.offered + offered, t.made + made, t.dropped + dropped)

    @property
    def totals(self) -> FrameCounts:
        """Frames of every channel since the application started (benches, stats)."""
        with self._lock:
            return self._totals

    def wait(self, timeout_ms: int = 5000) -> bool:
        """Waits for the worker to be idle (tests, shutdown)."""
        return self._pool.waitForDone(timeout_ms)
