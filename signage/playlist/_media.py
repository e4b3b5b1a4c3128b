"""Media sniffing: what a file really is, from its first bytes, whatever its name says.

Recognised: PNG, JPEG, WebP, GIF (magic bytes), SVG (XML text whose root element is
``<svg``), MP4/MOV (an ``ftyp`` box at offset 4), WebM/Matroska (the EBML magic).
"""

from __future__ import annotations

import re
from pathlib import Path

from signage.safeopen import opened_inside

HEADER_BYTES = 4096

_SVG_ROOT = re.compile(
    rb"^\s*(<\?xml[^>]*\?>\s*)?(<!--.*?-->\s*|<!DOCTYPE[^>]*>\s*)*<svg[\s>/]", re.DOTALL
)


def sniff_bytes(head: bytes) -> str | None:
    """The media type of a file starting with ``head``: png, jpeg, webp, gif, svg, mp4, webm."""
    if head.startswith(b"\x89PNG\r\n\x1a\n"):
        return "png"
    if head.startswith(b"\xff\xd8\xff"):
        return "jpeg"
    if head[:4] == b"RIFF" and head[8:12] == b"WEBP":
        return "webp"
    if head[:6] in (b"GIF87a", b"GIF89a"):
        return "gif"
    if head[4:8] == b"ftyp":
        return "mp4"
    if head.startswith(b"\x1a\x45\xdf\xa3"):
        return "webm"
    if _SVG_ROOT.match(head.removeprefix(b"\xef\xbb\xbf")):
        return "svg"
    return None


def sniff_media(path: Path, root: Path | None = None) -> str | None:
    """The media type of the file at ``path`` (``None``: unreadable, not a known medium,
    or, with ``root``, not a regular file inside it: ``signage.safeopen``)."""
    try:
        with opened_inside(path, root if root is not None else path.parent) as (fh, _):
            return sniff_bytes(fh.read(HEADER_BYTES))
    except OSError:
        return None


def _boxes(data: bytes, start: int, end: int) -> list[tuple[bytes, int, int]]:
    """The ISO-BMFF boxes in ``data[start:end]``: (type, payload start, payload end)."""
    out: list[tuple[bytes, int, int]] = []
    pos = start
    while pos + 8 <= end and len(out) < 1000:
        size = int.from_bytes(data[pos : pos + 4], "big")
        kind = data[pos + 4 : pos + 8]
        header = 8
        if size == 1 and pos + 16 <= end:
            size = int.from_bytes(data[pos + 8 : pos + 16], "big")
            header = 16
        elif size == 0:
            size = end - pos
        if size < header:
            break
        out.append((kind, pos + header, min(pos + size, end)))
        pos += size
    return out


MAX_MOOV_BYTES = 32 * 1024 * 1024


def video_duration(path: Path, root: Path | None = None) -> float | None:
    """An MP4/MOV's length in seconds from its ``moov/mvhd`` box; ``None`` when unknown.

    Walks the top-level boxes by their headers (seeking past ``mdat``, so a ``moov`` at the
    end of a large file costs a few reads) and reads only ``moov``. WebM is not parsed.
    """
    try:
        with opened_inside(path, root if root is not None else path.parent) as (fh, st):
            size_total = st.st_size
            pos = 0
            for _ in range(1000):
                if pos + 8 > size_total:
                    return None
                fh.seek(pos)
                header = fh.read(16)
                size = int.from_bytes(header[:4], "big")
                kind = header[4:8]
                head_len = 8
                if size == 1:
                    size = int.from_bytes(header[8:16], "big")
                    head_len = 16
                elif size == 0:
                    size = size_total - pos
                if size < head_len:
                    return None
                if kind == b"moov":
                    if size > MAX_MOOV_BYTES:
                        return None
                    fh.seek(pos + head_len)
                    return _mvhd_duration(fh.read(size - head_len))
                pos += size
    except OSError:
        return None
    return None


def _mvhd_duration(moov: bytes) -> float | None:
    for inner, s, e in _boxes(moov, 0, len(moov)):
        if inner != b"mvhd" or e - s < 20:
            continue
        if moov[s] == 1 and e - s >= 32:
            timescale = int.from_bytes(moov[s + 20 : s + 24], "big")
            duration = int.from_bytes(moov[s + 24 : s + 32], "big")
        else:
            timescale = int.from_bytes(moov[s + 12 : s + 16], "big")
            duration = int.from_bytes(moov[s + 16 : s + 20], "big")
        if timescale <= 0 or duration in (0, 0xFFFFFFFF, 0xFFFFFFFFFFFFFFFF):
            return None
        return duration / timescale
    return None
