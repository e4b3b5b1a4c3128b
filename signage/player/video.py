"""Video slide room: QtMultimedia playback painted by the slide itself, muted by default.

Frames arrive through a QVideoSink and are painted by the widget (no native video window),
so fades, snapshots and overlays work the same as for pictures and nothing goes black
between two videos: the view is ready only once its first frame has been decoded.
"""

from __future__ import annotations

from PySide6.QtCore import QPointF, Qt, QUrl
from PySide6.QtGui import QImage, QPainter, QPaintEvent
from PySide6.QtMultimedia import QAudioOutput, QMediaPlayer, QVideoFrame, QVideoSink
from PySide6.QtWidgets import QWidget

from signage.logs import area_logger
from signage.model import Fit, Slide, SlideKind
from signage.player.layout import fitted_size
from signage.player.views import SlideResources, SlideView, asset_file, url_of

log = area_logger("player")


class VideoView(SlideView):
    """A video file: first frame decoded before its turn, plays from the start when shown."""

    kind = SlideKind.VIDEO

    def __init__(self, parent: QWidget | None, slide: Slide, res: SlideResources) -> None:
        super().__init__(parent, slide, res)
        self._frame = QImage()
        self._scaled = QImage()  # the frame at its size on screen (_scaled_key)
        self._scaled_key: tuple[int, int, int] | None = None
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
        self._player.stop()
        self._player.setSource(QUrl())

    def natural_duration_s(self) -> float | None:
        ms = self._player.duration()
        return ms / 1000.0 if ms > 0 else None

    def _on_frame(self, frame: QVideoFrame) -> None:
        if self.state not in ("preparing", "ready", "started") or not frame.isValid():
            return
        image = frame.toImage()
        if image.isNull():
            return
        self._frame = image
        if self.state == "preparing":
            self._player.pause()
            self._succeed()
        self.update()

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
        elif status == QMediaPlayer.MediaStatus.EndOfMedia and self.state == "preparing":
            self._fail("video has no frames")

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        w, h = self._size()
        frame = self._frame
        if frame.isNull():
            self._background(painter)
        else:
            cover = self.slide is not None and self.slide.fit == Fit.COVER
            fw, fh = fitted_size(frame.width(), frame.height(), w, h, cover=cover)
            if fw < w or fh < h:
                self._background(painter)
            # One smooth scale per decoded frame, not per paint: a fade repaints the view
            # at the animation's rate (twice or more per video frame), and scaling a frame
            # to the screen was most of the GUI thread's time while a video faded in.
            key = (frame.cacheKey(), fw, fh)
            if key != self._scaled_key:
                self._scaled = frame.scaled(
                    fw,
                    fh,
                    Qt.AspectRatioMode.IgnoreAspectRatio,
                    Qt.TransformationMode.SmoothTransformation,
                )
                self._scaled_key = key
            painter.drawImage(QPointF((w - fw) / 2, (h - fh) / 2), self._scaled)
        painter.end()
