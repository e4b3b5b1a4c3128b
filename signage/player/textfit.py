"""Text sizing room: the largest type that lets a title and body fit their box, found by bisection.

Long Spanish titles and paragraphs never overflow or get cut: every candidate size is laid
out with word wrap at the box width and measured; a word wider than the box counts as not
fitting, so the size drops until it fits too.
"""

from __future__ import annotations

from typing import Final

from PySide6.QtCore import QRectF, Qt
from PySide6.QtGui import QFont, QFontMetricsF

from signage.values import Value

TITLE_RATIO = 1.6  # title pixel size relative to the body's
_WRAP = int(Qt.TextFlag.TextWordWrap) | int(Qt.AlignmentFlag.AlignLeft)


class FittedText(Value):
    """Pixel sizes and the measured heights of a title and body laid out in a box.

    A small value (``signage.values``), not a dataclass: defined before a start's first
    frame, where a dataclass costs ~0.5 ms to create (Python 3.11 compiles its methods).
    """

    __slots__ = ("body_height", "body_px", "gap", "title_height", "title_px", "width_used")
    _fields = ("title_px", "body_px", "title_height", "body_height", "gap", "width_used")

    def __init__(  # noqa: PLR0917 - the six measured figures, in the order they are made
        self,
        title_px: int,
        body_px: int,
        title_height: float,
        body_height: float,
        gap: float,
        width_used: float,
    ) -> None:
        self.title_px: Final = title_px
        self.body_px: Final = body_px
        self.title_height: Final = title_height
        self.body_height: Final = body_height
        self.gap: Final = gap
        self.width_used: Final = width_used

    @property
    def height(self) -> float:
        return self.title_height + (self.gap + self.body_height if self.body_height else 0.0)


def title_font(family: str, px: int) -> QFont:
    font = QFont(family)
    font.setPixelSize(max(1, px))
    font.setWeight(QFont.Weight.Bold)
    return font


def body_font(family: str, px: int) -> QFont:
    font = QFont(family)
    font.setPixelSize(max(1, px))
    return font


def measure(text: str, font: QFont, width: float) -> tuple[float, float]:
    """(width, height) of ``text`` wrapped at ``width`` in ``font``."""
    if not text:
        return 0.0, 0.0
    rect = QFontMetricsF(font).boundingRect(QRectF(0, 0, width, 1e7), _WRAP, text)
    return rect.width(), rect.height()


def layout_at(
    title: str, body: str, body_px: int, width: float, *, title_family: str, body_family: str
) -> FittedText:
    title_px = round(body_px * TITLE_RATIO)
    tw, th = measure(title, title_font(title_family, title_px), width)
    bw, bh = measure(body, body_font(body_family, body_px), width)
    return FittedText(title_px, body_px, th, bh, body_px * 0.9, max(tw, bw))


def fit_text(
    title: str,
    body: str,
    width: float,
    height: float,
    *,
    title_family: str,
    body_family: str,
    max_body_px: int,
    min_body_px: int = 6,
) -> FittedText:
    """The largest body size (title ``TITLE_RATIO`` times it) whose layout fits the box."""

    def fits(px: int) -> bool:
        lay = layout_at(title, body, px, width, title_family=title_family, body_family=body_family)
        return lay.width_used <= width + 0.5 and lay.height <= height

    lo, hi = min_body_px, max(min_body_px, max_body_px)
    if not fits(lo):
        return layout_at(title, body, lo, width, title_family=title_family, body_family=body_family)
    while lo < hi:
        mid = (lo + hi + 1) // 2
        if fits(mid):
            lo = mid
        else:
            hi = mid - 1
    return layout_at(title, body, lo, width, title_family=title_family, body_family=body_family)
