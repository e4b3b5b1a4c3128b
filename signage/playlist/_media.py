"""Media sniffing: what a file really is, from its first bytes, whatever its name says.

Recognised: PNG, JPEG, WebP, GIF (magic bytes), SVG (XML text whose root element is
``<svg``), MP4/MOV (an ``ftyp`` box at offset 4), WebM/Matroska (the EBML magic).
"""

from __future__ import annotations

import re
from pathlib import Path

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


def sniff_media(path: Path) -> str | None:
    """The media type of the file at ``path`` (``None``: unreadable or not a known medium)."""
    try:
        with path.open("rb") as fh:
            return sniff_bytes(fh.read(HEADER_BYTES))
    except OSError:
        return None
