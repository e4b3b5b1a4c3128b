"""Video slide room: QtMultimedia playback painted by the slide itself, muted by default.

Frames arrive through a QVideoSink and are painted by the widget (no native video window),
so fades, snapshots and overlays work the same as for pictures and nothing goes black
between two videos: the view is ready only once its first frame is ready to paint. Each
frame is converted and scaled to the view's size on ``videoframes``' worker thread; the
GUI thread only hands the frame over and copies the finished picture to the screen.
"""

from __future__ import annotations

from PySide6.QtCore import QPoint, QRect, QUrl
from PySide6.QtGui import QColor, QImage, QPainter, QPaintEvent, QResizeEvent
from PySide6.QtMultimedia import QAudioOutput, QMediaPlayer, QVideoFrame, QVideoSink
from PySide6.QtWidgets import QWidget

from signage.logs import area_logger
from signage.model import Fit, Slide, SlideKind
from signage.player.layout import fitted_size
from signage.player.videoframes import FrameChannel, FrameScaler
from signage.player.views import SlideResources, SlideView, asset_file, url_of

log = area_logger("player")


class VideoView(SlideView):
    """A video file: first frame decoded before its turn, plays from the start when shown."""

    kind = SlideKind.VIDEO

    def __init__(self, parent: QWidget | None, slide: Slide, res: SlideResources) -> None:
        super().__init__(parent, slide, res)
        self._frame = QImage()  # the last picture made for this view (kept for fades)
        self._scaler = FrameScaler.shared()
        self.frames: FrameChannel = self._scaler.open(self._size(), cover=self._cover())
        self._scaler.made.connect(self._on_picture)
        self._player = QMediaPlayer(self)
        self._sink = QVideoSink(self)
        self._player.setVideoSink(self._sink)
        self._audio: QAudioOutput | None = None
        if not slide.muted:
            self._audio = QAudioOutput(self)
            self._player.setAudioOutput(self._audio)
        self._sink.videoFrameChanged.connect(self._on_frame)
        self._player.errorOccurred.connect(self._on_error)
        self._player.mediaStatusChanged.connect(self._on_status)

    def _load(self) -> None:
        slide = self._need_slide()
        path = asset_file(self.res.content, slide.source)
        if slide.duration_s is not None:
            self._player.setLoops(QMediaPlayer.Loops.Infinite)
        self._player.setSource(url_of(path))
        self._player.play()  # decodes the first frame; paused again as soon as it arrives

    def start(self) -> None:
        super().start()
        if self.state == "started":
            self._player.setPosition(0)
            self._player.play()

    def halt(self) -> None:
        super().halt()
        self.frames.close()
        self._player.stop()
        self._player.setSource(QUrl())

    def natural_duration_s(self) -> float | None:
        ms = self._player.duration()
        return ms / 1000.0 if ms > 0 else None

    def _cover(self) -> bool:
        return self.slide is not None and self.slide.fit == Fit.COVER

    def _on_frame(self, frame: QVideoFrame) -> None:
        if self.state not in ("preparing", "ready", "started") or not frame.isValid():
            return
        if self.state == "preparing" and self._player.isPlaying():
            self._player.pause()  # the first frame is enough until the slide's turn
        self.frames.offer(frame)  # converted and scaled on the worker thread

    def _on_picture(self, channel: int, picture: QImage) -> None:
        if channel != self.frames.ident:
            return
        self.frames.taken()
        if self.state not in ("preparing", "ready", "started") or picture.isNull():
            return
        self._frame = picture
        self.update()
        if self.state == "preparing":
            self._succeed()

    def resizeEvent(self, event: QResizeEvent) -> None:
        # A window that changes size (going fullscreen after start) gets the frame made
        # again at the new size; until then the old picture is drawn stretched.
        if self.frames.retarget(self._size(), self._cover()):
            frame = self._sink.videoFrame()
            if frame.isValid() and self.state in ("preparing", "ready", "started"):
                self.frames.offer(frame)

    def _on_error(self, error: QMediaPlayer.Error, message: str) -> None:
        if error == QMediaPlayer.Error.NoError:
            return
        reason = f"video error: {message or error.name}"
        if self.state == "started":
            log.warning("%s (%s); ending the slide", reason, self.slide and self.slide.source)
            self.state = "failed"
            self.finished.emit()
            return
        self._fail(reason)

    def _on_status(self, status: QMediaPlayer.MediaStatus) -> None:
        if status == QMediaPlayer.MediaStatus.InvalidMedia:
            self._fail("video cannot be played (invalid media)")
        elif status == QMediaPlayer.MediaStatus.EndOfMedia and self.state == "started":
            self.finished.emit()
        elif (
            status == QMediaPlayer.MediaStatus.EndOfMedia
            and self.state == "preparing"
            and self.frames.counts.offered == 0  # else its first picture is on the way
        ):
            self._fail("video has no frames")

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        w, h = self._size()
        frame = self._frame
        if frame.isNull():
            self._background(painter)
        else:
            # The picture was made for this size on the worker (contained, or covering and
            # cropped): drawing it is a copy. Only just after a resize, until the worker's
            # new picture arrives, is the old one stretched here (no smoothing).
            fw, fh = fitted_size(frame.width(), frame.height(), w, h, cover=self._cover())
            x, y = (w - fw) // 2, (h - fh) // 2
            if fw < w or fh < h:  # the bands only: the picture covers the rest
                colour = QColor(self.res.theme.background)
                for band in _bands((w, h), QRect(x, y, fw, fh)):
                    painter.fillRect(band, colour)
            if (fw, fh) == (frame.width(), frame.height()):
                painter.drawImage(QPoint(x, y), frame)
            else:
                painter.drawImage(QRect(x, y, fw, fh), frame)
        painter.end()


def _bands(size: tuple[int, int], picture: QRect) -> list[QRect]:
    """The parts of a view of ``size`` left uncovered by a centred ``picture``."""
    w, h = size
    x, y, fw, fh = picture.x(), picture.y(), picture.width(), picture.height()
    out = []
    if y > 0:
        out.append(QRect(0, 0, w, y))
    if y + fh < h:
        out.append(QRect(0, y + fh, w, h - y - fh))
    if x > 0:
        out.append(QRect(0, y, x, fh))
    if x + fw < w:
        out.append(QRect(x + fw, y, w - x - fw, fh))
    return out
