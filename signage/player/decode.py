"""Image decoding room: files decoded and scaled to screen size on a thread pool.

The GUI thread never decodes a picture: it asks ``ImageDecoder.request`` and gets the
``decoded`` signal back (queued to the GUI thread) with a ready-to-paint QImage, so a 4K
JPEG or PNG does not stall transitions, the clock or video.
"""

from __future__ import annotations

import itertools
from pathlib import Path

from PySide6.QtCore import QObject, QRect, QRunnable, QSize, Qt, QThreadPool, Signal
from PySide6.QtGui import QImage, QImageIOHandler, QImageReader

from signage.logs import area_logger
from signage.player.firstframe import FrameKeep
from signage.player.layout import fitted_size

log = area_logger("player")

# Decoded pictures larger than this many pixels are refused (a hostile or broken file that
# claims 100 000 × 100 000 would otherwise take gigabytes).
MAX_SOURCE_PIXELS = 16384 * 16384


def decode_scaled(path: Path, width: int, height: int, *, cover: bool) -> QImage:
    """Reads ``path`` scaled to contain in (or cover and crop to) ``width`` × ``height``.

    Raises ValueError with a short reason when the file cannot be read or decoded. Safe to
    call on any thread (QImage and QImageReader are reentrant).
    """
    reader = QImageReader(str(path))
    reader.setAutoTransform(True)
    if not reader.canRead():
        raise ValueError(f"cannot decode image {path.name}: {reader.errorString()}")
    src = reader.size()
    if src.isValid() and src.width() * src.height() > MAX_SOURCE_PIXELS:
        raise ValueError(f"image {path.name} is too large ({src.width()}x{src.height()})")
    rotated = bool(reader.transformation() & QImageIOHandler.Transformation.TransformationRotate90)
    if src.isValid() and src.width() > 0 and src.height() > 0 and not rotated:
        sw, sh = fitted_size(src.width(), src.height(), width, height, cover=cover)
        reader.setScaledSize(QSize(sw, sh))
        if cover and (sw > width or sh > height):
            reader.setScaledClipRect(QRect((sw - width) // 2, (sh - height) // 2, width, height))
        image = reader.read()
        if image.isNull():
            raise ValueError(f"cannot decode image {path.name}: {reader.errorString()}")
    else:  # formats that do not announce a size, EXIF-rotated photos: decode, then scale
        image = reader.read()
        if image.isNull():
            raise ValueError(f"cannot decode image {path.name}: {reader.errorString()}")
        sw, sh = fitted_size(image.width(), image.height(), width, height, cover=cover)
        image = image.scaled(
            sw, sh, Qt.AspectRatioMode.IgnoreAspectRatio, Qt.TransformationMode.SmoothTransformation
        )
        if cover:
            image = image.copy((sw - width) // 2, (sh - height) // 2, width, height)
    fmt = (
        QImage.Format.Format_ARGB32_Premultiplied
        if image.hasAlphaChannel()
        else QImage.Format.Format_RGB32
    )
    return image.convertToFormat(fmt)


class _DecodeTask(QRunnable):
    def __init__(
        self,
        decoder: ImageDecoder,
        token: int,
        path: Path,
        size: tuple[int, int],
        cover: bool,
        *,
        keep: FrameKeep | None = None,
    ) -> None:
        super().__init__()
        self._keep = keep  # the run's first picture: read from / kept in the cache
        self._decoder = decoder
        self._token = token
        self._path = path
        # Plain numbers, not a QSize: now and then PySide keeps a finished task's Python
        # object after Qt deleted the task, and it should not keep Qt objects alive with it.
        self._size = size
        self._cover = cover

    def run(self) -> None:
        try:
            width, height = self._size
            keep = self._keep
            if keep is not None:
                kept = keep.load(self._path, width, height, cover=self._cover)
                if kept is not None:
                    self._decoder.decoded.emit(self._token, kept, "")
                    return
            image = decode_scaled(self._path, width, height, cover=self._cover)
            self._decoder.decoded.emit(self._token, image, "")
            if keep is not None:  # after the picture went to the screen
                self._keep_for_next_start(keep, image)
        except ValueError as exc:
            self._decoder.decoded.emit(self._token, QImage(), str(exc))
        except Exception as exc:  # a decoder bug must not kill the worker thread silently
            log.exception("image decoding failed: %s", self._path)
            self._decoder.decoded.emit(self._token, QImage(), f"image decoding failed: {exc}")

    def _keep_for_next_start(self, keep: FrameKeep, image: QImage) -> None:
        width, height = self._size
        try:
            keep.save(self._path, image, width, height, cover=self._cover)
        except Exception:  # the picture is on screen already: only the shortcut is lost
            log.exception("first picture not kept: %s", self._path)


class ImageDecoder(QObject):
    """Decodes images on its own thread pool; results come back through ``decoded``.

    ``decoded(token, image, error)``: ``image`` is null and ``error`` says why on failure.
    Keep one decoder for the player's life; ``shutdown`` waits for running work. With
    ``keep``, the first picture asked for is read from it when it holds that picture at
    that size, else decoded and then kept there for the next start.
    """

    decoded = Signal(int, QImage, str)

    def __init__(
        self, parent: QObject | None = None, threads: int = 2, keep: FrameKeep | None = None
    ) -> None:
        super().__init__(parent)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(threads)
        self._tokens = itertools.count(1)
        self._keep = keep  # for the first request only (``signage.player.firstframe``)

    def request(self, path: Path, width: int, height: int, *, cover: bool) -> int:
        """Queues a decode; returns the token its ``decoded`` signal will carry."""
        token = next(self._tokens)
        keep, self._keep = self._keep, None
        self._pool.start(_DecodeTask(self, token, path, (width, height), cover, keep=keep))
        return token

    def shutdown(self, timeout_ms: int = 5000) -> None:
        self._pool.clear()
        self._pool.waitForDone(timeout_ms)
