"""Screen layout room: pure geometry for overlays and text inside the overscan-safe margin.

No Qt here, so the rules (where the clock, QR, ticker and logo sit, what is left for a text
slide) are testable on their own and shared by the player and ``signage preview``.
"""

from __future__ import annotations

from typing import Final

from signage.values import Value

SAFE_MARGIN = 0.035  # share of each side kept clear for overscan


class Rect(Value):
    """A rectangle in screen pixels."""

    __slots__ = ("h", "w", "x", "y")
    _fields = ("x", "y", "w", "h")

    def __init__(self, x: int, y: int, w: int, h: int) -> None:
        self.x: Final = x
        self.y: Final = y
        self.w: Final = w
        self.h: Final = h

    @property
    def right(self) -> int:
        return self.x + self.w

    @property
    def bottom(self) -> int:
        return self.y + self.h

    def contains(self, other: Rect) -> bool:
        return (
            other.x >= self.x
            and other.y >= self.y
            and other.right <= self.right
            and other.bottom <= self.bottom
        )

    def intersects(self, other: Rect) -> bool:
        return not (
            other.x >= self.right
            or other.right <= self.x
            or other.y >= self.bottom
            or other.bottom <= self.y
        )


class ScreenLayout(Value):
    """Where each overlay goes on a screen of ``width`` × ``height``.

    Args:
        safe: the area inside the overscan margin; nothing the player draws leaves it.
        top_bar: logo on its left, clock and date on its right.
        ticker: the headline band at the bottom.
        qr: the QR plate (code plus caption) at the bottom right, above the ticker.
        text: what a text slide may fill (clear of every overlay that is on).
    """

    __slots__ = ("clock", "height", "logo", "qr", "safe", "text", "ticker", "top_bar", "width")
    _fields = ("width", "height", "safe", "top_bar", "logo", "clock", "ticker", "qr", "text")

    def __init__(
        self,
        width: int,
        height: int,
        *,
        safe: Rect,
        top_bar: Rect,
        logo: Rect,
        clock: Rect,
        ticker: Rect,
        qr: Rect,
        text: Rect,
    ) -> None:
        self.width: Final = width
        self.height: Final = height
        self.safe: Final = safe
        self.top_bar: Final = top_bar
        self.logo: Final = logo
        self.clock: Final = clock
        self.ticker: Final = ticker
        self.qr: Final = qr
        self.text: Final = text


def size_unit(width: int, height: int) -> int:
    """What bars, fonts and paddings scale with: the screen's short side (its height on a
    wide screen, its width on a tall one), so a panel turned on its side keeps their size."""
    return max(1, min(width, height))


def qr_scale(width: int, height: int) -> int:
    """The screen height QR codes are sized for (``signage.qr.qr_image``): the height on a
    wide screen; on a tall one 1.25 times its width, so the code (at most 40 % of that,
    half the width) is larger than on a wide screen of the same panel and still fits."""
    return height if width >= height else max(1, min(height, round(width * 1.25)))


def qr_padding(height: int) -> int:
    """White border around the QR code inside its plate (``height``: the size unit)."""
    return max(8, round(height * 0.012))


def screen_layout(
    width: int,
    height: int,
    *,
    qr: bool = True,
    ticker: bool = True,
    top_bar: bool = True,
    qr_side: int = 0,
) -> ScreenLayout:
    """The layout for a screen; ``qr``/``ticker``/``top_bar`` say which overlays are on.

    ``qr_side`` is the QR image's side in pixels: the plate grows to hold it (QR modules are
    never scaled down), and a text slide's box shrinks to stay clear of it.

    A wide screen puts the QR plate at the right, above the ticker, and text to its left; a
    tall one (portrait) puts the plate at the bottom right, half the width, above the ticker,
    and text across the whole width above it.
    """
    unit = size_unit(width, height)
    portrait = height > width
    mx = round(width * SAFE_MARGIN)
    my = round(height * SAFE_MARGIN)
    safe = Rect(mx, my, width - 2 * mx, height - 2 * my)
    gap = round(unit * 0.02)
    bar_h = round(unit * 0.075)
    bar = Rect(safe.x, safe.y, safe.w, bar_h)
    logo = Rect(bar.x, bar.y, min(round(bar.w * 0.3), round(bar_h * 4)), bar_h)
    clock_w = min(round(bar.w * (0.66 if portrait else 0.45)), round(unit * 0.62))
    clock = Rect(bar.right - clock_w, bar.y, clock_w, bar_h)
    ticker_h = round(unit * 0.065)
    tick = Rect(safe.x, safe.bottom - ticker_h, safe.w, ticker_h)
    held = qr_side + 2 * qr_padding(unit)
    if portrait:
        plate_w = min(safe.w, max(round(width * 0.5), held))
        plate_h = round(plate_w * 1.2)
    else:
        plate_w = max(round(height * 0.35), held)
        plate_h = round(height * 0.42)
    plate_bottom = (tick.y - gap) if ticker else safe.bottom
    qr_rect = Rect(safe.right - plate_w, plate_bottom - plate_h, plate_w, plate_h)
    text_top = (bar.bottom + gap) if top_bar else safe.y
    text_bottom = (tick.y - gap) if ticker else safe.bottom
    text_right = safe.right
    if qr and portrait:
        text_bottom = qr_rect.y - gap
    elif qr:
        text_right = qr_rect.x - gap
    text = Rect(safe.x, text_top, max(1, text_right - safe.x), max(1, text_bottom - text_top))
    return ScreenLayout(
        width,
        height,
        safe=safe,
        top_bar=bar,
        logo=logo,
        clock=clock,
        ticker=tick,
        qr=qr_rect,
        text=text,
    )


def fitted_size(src_w: int, src_h: int, box_w: int, box_h: int, *, cover: bool) -> tuple[int, int]:
    """The size an image of ``src`` takes to be contained in (or to cover) the box, aspect kept."""
    if src_w <= 0 or src_h <= 0:
        return box_w, box_h
    scale = (max if cover else min)(box_w / src_w, box_h / src_h)
    return max(1, round(src_w * scale)), max(1, round(src_h * scale))


ROTATIONS = (0, 90, 180, 270)  # what ``rotation:`` may say (signage.player.rotation turns)


def content_size(rotation: int, width: int, height: int) -> tuple[int, int]:
    """The size slides are laid out for on an output of ``width`` × ``height``."""
    return (height, width) if rotation in (90, 270) else (width, height)
