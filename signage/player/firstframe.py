"""First-frame room: the first picture of a run kept decoded, so the next start skips decoding.

A restart shows the same first slide as the run before it (same content, same screen). Its
picture is decoded and scaled to the screen on the decoder's pool: ~20-30 ms of a 1080p
PNG or JPEG during which the pool thread holds Python's GIL (``QImageReader.read`` does
not release it), so nothing else of the start-up runs meanwhile. ``FrameKeep`` keeps that
one decoded picture as raw pixels in the cache (8.3 MB at 1920×1080, 33 MB at 4K; one
file, replaced when the first picture changes); the next start reads it back in ~2-5 ms
(the read releases the GIL) instead of decoding.

The file names what it was made from: the source file's path, size, modification time and
inode, the size it was scaled to and how (contain or cover), its pixel format and the
code's version. Anything that differs, a wrong length or a damaged header, and it is not
used: the picture is decoded as usual. It is written like every cache file (temp file,
fsync, rename), on the decoder's thread after the picture went to the screen.
"""

from __future__ import annotations

import json
import os
from pathlib import Path

from PySide6.QtGui import QImage

from signage.logs import area_logger

__all__ = ["FRAME_FILE", "FrameKeep"]

log = area_logger("player")

FRAME_FILE = "first-frame.raw"
_MAGIC = b"SIGNAGE-FRAME-1\n"
_MAX_HEADER = 4096
_FORMATS = (QImage.Format.Format_RGB32, QImage.Format.Format_ARGB32_Premultiplied)
MAX_PIXELS = 8192 * 8192  # larger than any screen the player is made for: not kept


class FrameKeep:
    """Reads and writes the one kept first picture in ``folder``."""

    def __init__(self, folder: Path) -> None:
        self.folder = folder
        self.path = folder / FRAME_FILE

    @staticmethod
    def key(source: Path, width: int, height: int, *, cover: bool) -> dict[str, object] | None:
        """What the kept pixels depend on (``None`` when the source cannot be stat'ed)."""
        from signage import __version__

        try:
            st = source.stat()
        except OSError:
            return None
        return {
            "source": str(source),
            "stat": [st.st_size, st.st_mtime_ns, st.st_ino],
            "size": [width, height],
            "cover": cover,
            "code": __version__,
        }

    def load(self, source: Path, width: int, height: int, *, cover: bool) -> QImage | None:
        """The kept picture of ``source`` at this size, or ``None`` (decode it instead)."""
        key = self.key(source, width, height, cover=cover)
        if key is None:
            return None
        try:
            with self.path.open("rb") as fh:
                head = fh.read(len(_MAGIC) + _MAX_HEADER)
                if not head.startswith(_MAGIC) or b"\n" not in head[len(_MAGIC) :]:
                    return None
                line = head[len(_MAGIC) : head.index(b"\n", len(_MAGIC))]
                header = json.loads(line)
                if not isinstance(header, dict) or header.get("key") != key:
                    return None
                fmt, stride, dims = header.get("format"), header.get("stride"), header.get("image")
                if fmt not in [f.value for f in _FORMATS] or not isinstance(stride, int):
                    return None
                if not (isinstance(dims, list) and len(dims) == 2):
                    return None
                w, h = dims
                if not (isinstance(w, int) and isinstance(h, int)):
                    return None
                if not (0 < w <= width and 0 < h <= height and w * h <= MAX_PIXELS):
                    return None
                if not w * 4 <= stride <= w * 4 + 64:
                    return None
                offset = len(_MAGIC) + len(line) + 1
                if os.fstat(fh.fileno()).st_size != offset + stride * h:
                    return None
                image = QImage(w, h, QImage.Format(fmt))
                if image.isNull() or image.bytesPerLine() != stride:
                    return None
                fh.seek(offset)
                # straight into the image's own memory (the read releases the GIL)
                if fh.readinto(image.bits()) != stride * h:
                    return None
        except (OSError, ValueError):
            return None
        return image

    def save(self, source: Path, image: QImage, width: int, height: int, *, cover: bool) -> None:
        """Keeps ``image`` (decoded from ``source`` for this size) for the next start."""
        from signage.durable import write_atomic

        key = self.key(source, width, height, cover=cover)
        if key is None or image.isNull() or image.format() not in _FORMATS:
            return
        w, h = image.width(), image.height()
        if w > width or h > height or w * h > MAX_PIXELS:
            return
        header = json.dumps(
            {
                "key": key,
                "image": [w, h],
                "format": image.format().value,
                "stride": image.bytesPerLine(),
            }
        ).encode()
        try:
            write_atomic(self.path, b"".join((_MAGIC, header, b"\n", image.constBits())))
        except OSError as exc:  # only the next start's shortcut is lost
            log.warning("first picture not kept: %s", exc)
