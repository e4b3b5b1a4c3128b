"""Bundled content room: draws every picture, the logo and the tutorial video in assets/.

Run ``.venv/bin/python tools/make_content.py`` to rewrite ``assets/`` (or ``--out DIR`` to
write elsewhere, ``--only PATH`` to redraw some files). The output is deterministic: the
same fonts and the same Pillow/ffmpeg give byte-identical files, so a diff of ``assets/``
shows only what a change to this script meant to change.

Every slide is 1920×1080 (those under ``vertical/``: 1080×1920, for portrait screens; their
calm places are the ``P_*`` constants), drawn at twice that size and scaled down (Pillow
draws shapes without anti-aliasing; supersampling smooths them). Layout rules every slide
keeps, because the player draws over these places:

* the top bar (y < 130) stays calm: the theme's logo and the clock and date go there;
* the right column below y 400 (x ≥ 1360) stays calm: the QR code and its caption;
* the bottom band (y ≥ 955) stays calm: the headline ticker.

The player's geometry (signage/player/layout.py) decides these numbers; tests check them.

Colours follow ``playlists/theme.yaml`` (deep navy, white, a warm amber); keep both in step.
"""

from __future__ import annotations

import argparse
import functools
import math
import shutil
import subprocess
import sys
from collections.abc import Callable, Iterator, Sequence
from dataclasses import dataclass
from pathlib import Path

from PIL import Image, ImageDraw, ImageFilter, ImageFont

W, H = 1920, 1080
SUPERSAMPLE = 2

# The institutional palette (theme.yaml: background, foreground, accent, muted).
NAVY = "#0b2545"
NAVY_DEEP = "#06172e"
PANEL = "#13315c"
PANEL_LIGHT = "#1d4477"
WHITE = "#ffffff"
ACCENT = "#f6ae2d"
MUTED = "#a9c1da"
TEAL = "#2ec4b6"
CORAL = "#ef6f6c"

# Where the player draws over a slide (signage/player/layout.py at 1920×1080), in logical
# 1920×1080 coordinates; slides keep these calm (no text, no busy shapes).
TOP_BAR_BOTTOM = 130  # the theme's logo (left) and the clock and date (right)
QR_PLATE = (1360, 400, W, H)  # the QR code and its caption (it grows with long URLs)
TICKER_TOP = 955  # the headline ticker runs below this line

LEFT = 96  # the left margin of every slide
RIGHT_LIMIT = W - 96  # the right margin above the QR plate
CONTENT_RIGHT = QR_PLATE[0] - 60  # the right margin beside the QR plate
STAT_CARD_X = QR_PLATE[0]  # the highlighted-figure card sits above the QR plate
TITLE_BESIDE_CARD = STAT_CARD_X - LEFT - 48  # title width on slides with that card

FONT_DIRS = (
    Path("/usr/share/fonts/truetype/noto"),
    Path("/usr/share/fonts/truetype/dejavu"),
)
FONT_FILES = {
    "regular": ("NotoSans-Regular.ttf", "DejaVuSans.ttf"),
    "bold": ("NotoSans-Bold.ttf", "DejaVuSans-Bold.ttf"),
    "italic": ("NotoSans-Italic.ttf", "DejaVuSans-Oblique.ttf"),
    "display": ("NotoSansDisplay-Bold.ttf", "DejaVuSans-Bold.ttf"),
}

Box = tuple[float, float, float, float]
Point = tuple[float, float]


class ContentError(Exception):
    """Raised when something the script needs (a font, ffmpeg) is missing."""


@functools.cache
def font_path(weight: str) -> Path:
    """The font file for a weight: Noto first, DejaVu as the fallback."""
    for name in FONT_FILES[weight]:
        for folder in FONT_DIRS:
            candidate = folder / name
            if candidate.is_file():
                return candidate
    raise ContentError(
        f"no font for weight {weight!r}: install fonts-noto-core or fonts-dejavu-core"
    )


@functools.cache
def load_font(weight: str, size_px: int) -> ImageFont.FreeTypeFont:
    return ImageFont.truetype(str(font_path(weight)), size_px)


@functools.cache
def has_glyph(weight: str, char: str) -> bool:
    """Whether the font draws ``char`` as something other than its missing-glyph box."""
    font = load_font(weight, 64)
    return bool(font.getmask(char).getbbox() != font.getmask("\uffff").getbbox())


def rgb(colour: str, alpha: int = 255) -> tuple[int, int, int, int]:
    """``#rrggbb`` (and an alpha 0-255) as a tuple Pillow blends with."""
    value = colour.lstrip("#")
    return (int(value[0:2], 16), int(value[2:4], 16), int(value[4:6], 16), alpha)


def mix(a: str, b: str, t: float) -> str:
    """The colour ``t`` of the way from ``a`` to ``b``."""
    ca, cb = rgb(a), rgb(b)
    parts = (round(ca[i] + (cb[i] - ca[i]) * t) for i in range(3))
    return "#" + "".join(f"{p:02x}" for p in parts)


class Canvas:
    """A slide being drawn, in logical 1920×1080 coordinates, supersampled.

    Args:
        width, height: the logical size (what the coordinates refer to).
        scale: how many real pixels per logical pixel while drawing.
    """

    def __init__(self, width: int = W, height: int = H, scale: int = SUPERSAMPLE) -> None:
        self.width = width
        self.height = height
        self.s = scale
        self.img = Image.new("RGB", (width * scale, height * scale), NAVY)
        self.draw = ImageDraw.Draw(self.img, "RGBA")

    # -- coordinates -------------------------------------------------------------------
    def p(self, value: float) -> int:
        return round(value * self.s)

    def box(self, b: Box) -> tuple[int, int, int, int]:
        return (self.p(b[0]), self.p(b[1]), self.p(b[2]), self.p(b[3]))

    def pts(self, points: Sequence[Point]) -> list[tuple[int, int]]:
        return [(self.p(x), self.p(y)) for x, y in points]

    # -- fonts and text ----------------------------------------------------------------
    def font(self, weight: str, size: float) -> ImageFont.FreeTypeFont:
        return load_font(weight, self.p(size))

    def text_width(self, text: str, weight: str, size: float) -> float:
        return self.draw.textlength(text, font=self.font(weight, size)) / self.s

    def check_glyphs(self, text: str, weight: str) -> None:
        """Raises ContentError for a character the font lacks (it would print as a box)."""
        missing = [ch for ch in text if not ch.isspace() and not has_glyph(weight, ch)]
        if missing:
            raise ContentError(
                f"font {font_path(weight).name} has no glyph for {''.join(missing)!r} in "
                f"{text!r}: use another character (e.g. '–' for a minus sign)"
            )

    def text(
        self,
        xy: Point,
        text: str,
        weight: str,
        size: float,
        fill: str,
        *,
        anchor: str = "la",
        alpha: int = 255,
    ) -> None:
        self.check_glyphs(text, weight)
        self.draw.text(
            (self.p(xy[0]), self.p(xy[1])),
            text,
            font=self.font(weight, size),
            fill=rgb(fill, alpha),
            anchor=anchor,
        )

    def wrap(self, text: str, weight: str, size: float, max_width: float) -> list[str]:
        """Greedy word wrap; a word longer than the line stays whole on its own line."""
        lines: list[str] = []
        for paragraph in text.split("\n"):
            current = ""
            for word in paragraph.split():
                trial = f"{current} {word}".strip()
                if current and self.text_width(trial, weight, size) > max_width:
                    lines.append(current)
                    current = word
                else:
                    current = trial
            lines.append(current)
        return lines

    def paragraph(
        self,
        xy: Point,
        text: str,
        weight: str,
        size: float,
        fill: str,
        *,
        width: float,
        line_height: float = 1.25,
        max_lines: int = 0,
        anchor_x: str = "l",
    ) -> float:
        """Draws wrapped text from its top-left (or top-centre); returns the bottom y.

        Raises ContentError when the text needs more than ``max_lines`` lines, so a long
        Spanish phrase never gets silently clipped.
        """
        lines = self.wrap(text, weight, size, width)
        if max_lines and len(lines) > max_lines:
            raise ContentError(f"text does not fit in {max_lines} lines: {text!r}")
        y = xy[1]
        for line in lines:
            self.text((xy[0], y), line, weight, size, fill, anchor=anchor_x + "a")
            y += size * line_height
        return y

    # -- shapes ------------------------------------------------------------------------
    def rect(
        self,
        b: Box,
        fill: str | None = None,
        *,
        radius: float = 0,
        outline: str | None = None,
        width: float = 0,
        alpha: int = 255,
    ) -> None:
        self.draw.rounded_rectangle(
            self.box(b),
            radius=self.p(radius),
            fill=rgb(fill, alpha) if fill else None,
            outline=rgb(outline, alpha) if outline else None,
            width=self.p(width),
        )

    def ellipse(
        self,
        b: Box,
        fill: str | None = None,
        outline: str | None = None,
        width: float = 0,
        alpha: int = 255,
    ) -> None:
        self.draw.ellipse(
            self.box(b),
            fill=rgb(fill, alpha) if fill else None,
            outline=rgb(outline, alpha) if outline else None,
            width=self.p(width),
        )

    def circle(
        self,
        c: Point,
        r: float,
        fill: str | None = None,
        *,
        outline: str | None = None,
        width: float = 0,
        alpha: int = 255,
    ) -> None:
        self.ellipse((c[0] - r, c[1] - r, c[0] + r, c[1] + r), fill, outline, width, alpha)

    def polygon(self, points: Sequence[Point], fill: str, alpha: int = 255) -> None:
        self.draw.polygon(self.pts(points), fill=rgb(fill, alpha))

    def line(self, points: Sequence[Point], fill: str, width: float, alpha: int = 255) -> None:
        self.draw.line(self.pts(points), fill=rgb(fill, alpha), width=self.p(width), joint="curve")
        # Round caps: Pillow draws butt ends.
        for x, y in (points[0], points[-1]):
            self.circle((x, y), width / 2, fill, alpha=alpha)

    def arc(self, b: Box, start: float, end: float, fill: str, width: float) -> None:
        self.draw.arc(self.box(b), start, end, fill=rgb(fill), width=self.p(width))

    def shadow(self, b: Box, radius: float, blur: float = 18, alpha: int = 110) -> None:
        """A soft drop shadow under a card (drawn before the card)."""
        mask = Image.new("L", self.img.size, 0)
        ImageDraw.Draw(mask).rounded_rectangle(
            self.box((b[0], b[1] + 10, b[2], b[3] + 14)), radius=self.p(radius), fill=alpha
        )
        mask = mask.filter(ImageFilter.GaussianBlur(self.p(blur)))
        self.img.paste(Image.new("RGB", self.img.size, NAVY_DEEP), (0, 0), mask)
        self.draw = ImageDraw.Draw(self.img, "RGBA")

    def card(self, b: Box, fill: str = PANEL, radius: float = 28) -> None:
        self.shadow(b, radius)
        self.rect(b, fill, radius=radius)

    def paste(self, image: Image.Image, xy: Point, size: float) -> None:
        """Pastes an RGBA picture (the logo) with its top-left at ``xy``, ``size`` wide."""
        scaled = image.resize((self.p(size), self.p(size)), Image.Resampling.LANCZOS)
        self.img.paste(scaled, (self.p(xy[0]), self.p(xy[1])), scaled)
        self.draw = ImageDraw.Draw(self.img, "RGBA")

    def finish(self, size: tuple[int, int] | None = None) -> Image.Image:
        return self.img.resize(size or (self.width, self.height), Image.Resampling.LANCZOS)


# -- backgrounds ---------------------------------------------------------------------------


def vertical_gradient(size: tuple[int, int], top: str, bottom: str) -> Image.Image:
    mask = Image.linear_gradient("L").resize(size, Image.Resampling.BICUBIC)
    return Image.composite(
        Image.new("RGB", size, bottom[:7]), Image.new("RGB", size, top[:7]), mask
    )


def glow(c: Canvas, centre: Point, radius: float, colour: str, strength: int) -> None:
    """A soft round light, strongest at ``centre`` (``strength`` 0-255 alpha)."""
    r = c.p(radius)
    mask = Image.radial_gradient("L").resize((2 * r, 2 * r), Image.Resampling.BICUBIC)
    mask = mask.point(lambda v: max(0, 255 - v * 255 // 180) * strength // 255)
    x, y = c.p(centre[0]) - r, c.p(centre[1]) - r
    c.img.paste(Image.new("RGB", (2 * r, 2 * r), colour), (x, y), mask)
    c.draw = ImageDraw.Draw(c.img, "RGBA")


def background(c: Canvas) -> None:
    """Navy gradient with a soft light behind the content, calm where the player draws."""
    c.img.paste(vertical_gradient(c.img.size, "#0e2d55", NAVY_DEEP), (0, 0))
    c.draw = ImageDraw.Draw(c.img, "RGBA")
    glow(c, (380, 420), 900, "#1a4680", 110)
    # A thin accent rule down the left edge, stopping above the ticker band.
    c.rect((0, TOP_BAR_BOTTOM, 10, TICKER_TOP - 10), ACCENT)


@functools.cache
def logo_image() -> Image.Image:
    return draw_logo()


def kicker(c: Canvas, label: str, y: float = 150, colour: str = ACCENT) -> float:
    """The category pill above the title; returns its right edge."""
    w = c.text_width(label, "bold", 27) + 48
    c.rect((LEFT, y, LEFT + w, y + 48), colour, radius=24)
    c.text((LEFT + 24, y + 24), label, "bold", 27, NAVY, anchor="lm")
    return LEFT + w


def title(c: Canvas, text: str, y: float = 214, size: float = 72, width: float = 1728) -> float:
    """The slide's title: one line at ``size`` if it fits, else two smaller lines."""
    if len(c.wrap(text, "bold", size, width)) == 1:
        return c.paragraph((LEFT, y), text, "bold", size, WHITE, width=width, max_lines=1)
    return c.paragraph(
        (LEFT, y - 4), text, "bold", size * 0.78, WHITE, width=width, line_height=1.12, max_lines=2
    )


def footnote(c: Canvas, text: str, y: float = 900) -> None:
    c.text((LEFT, y), text, "regular", 26, MUTED)


def slide(kicker_label: str, heading: str, width: float = RIGHT_LIMIT - LEFT) -> Canvas:
    """A new slide with background, kicker and title drawn.

    No logo or header: the player draws the theme's logo and the clock in the top bar.
    """
    c = Canvas()
    background(c)
    kicker(c, kicker_label)
    title(c, heading, width=width)
    return c


STAT_CARD = (STAT_CARD_X, 146, RIGHT_LIMIT, QR_PLATE[1] - 24)


def stat_card(c: Canvas, figure: str, caption: str) -> None:
    """A highlighted figure in the top-right column, between the clock and the QR plate."""
    box = STAT_CARD
    c.card(box, PANEL_LIGHT)
    c.text((box[0] + 32, box[1] + 10), figure, "display", 92, ACCENT)
    c.paragraph(
        (box[0] + 36, box[1] + 138), caption, "bold", 29, WHITE, width=box[2] - box[0] - 64,
        line_height=1.2, max_lines=2,
    )  # fmt: skip


# -- icons (centre, half-size, colour) -----------------------------------------------------


def icon_check(c: Canvas, ctr: Point, r: float, colour: str, mark: str = NAVY) -> None:
    x, y = ctr
    c.circle(ctr, r, colour)
    c.line(
        [(x - r * 0.45, y + r * 0.02), (x - r * 0.12, y + r * 0.35), (x + r * 0.5, y - r * 0.35)],
        mark,
        r * 0.2,
    )


def icon_clock(c: Canvas, ctr: Point, r: float, colour: str) -> None:
    x, y = ctr
    c.circle(ctr, r, outline=colour, width=r * 0.14)
    c.line([(x, y - r * 0.6), (x, y), (x + r * 0.45, y + r * 0.25)], colour, r * 0.13)


def icon_lock(c: Canvas, ctr: Point, r: float, colour: str, hole: str = NAVY) -> None:
    x, y = ctr
    c.arc((x - r * 0.55, y - r * 1.0, x + r * 0.55, y + r * 0.1), 180, 360, colour, r * 0.2)
    c.line([(x - r * 0.45, y - r * 0.45), (x - r * 0.45, y - r * 0.05)], colour, r * 0.2)
    c.line([(x + r * 0.45, y - r * 0.45), (x + r * 0.45, y - r * 0.05)], colour, r * 0.2)
    c.rect((x - r * 0.8, y - r * 0.1, x + r * 0.8, y + r * 0.95), colour, radius=r * 0.14)
    c.circle((x, y + r * 0.3), r * 0.16, hole)
    c.rect((x - r * 0.07, y + r * 0.3, x + r * 0.07, y + r * 0.65), hole, radius=r * 0.05)


def icon_document(c: Canvas, ctr: Point, r: float, colour: str, ink: str = NAVY) -> None:
    """A signed page with a pen across its corner."""
    x, y = ctr
    fold = r * 0.35
    c.polygon(
        [
            (x - r * 0.7, y - r),
            (x + r * 0.7 - fold, y - r),
            (x + r * 0.7, y - r + fold),
            (x + r * 0.7, y + r),
            (x - r * 0.7, y + r),
        ],
        colour,
    )
    c.polygon(
        [
            (x + r * 0.7 - fold, y - r),
            (x + r * 0.7 - fold, y - r + fold),
            (x + r * 0.7, y - r + fold),
        ],
        mix(colour, NAVY, 0.3),
    )
    for i in range(4):
        ly = y - r * 0.55 + i * r * 0.28
        c.line(
            [(x - r * 0.48, ly), (x + r * (0.45 if i % 2 else 0.25), ly)],
            mix(colour, NAVY, 0.45),
            r * 0.07,
        )
    # The signature: a small wave.
    wave = [
        (x - r * 0.48 + i * r * 0.06, y + r * 0.62 - math.sin(i / 2.2) * r * 0.12)
        for i in range(14)
    ]
    c.line(wave, ink, r * 0.06)
    # The pen.
    px, py = x + r * 0.62, y + r * 0.3
    c.line([(px + r * 0.55, py - r * 0.9), (px, py)], ACCENT, r * 0.2)
    c.polygon(
        [
            (px - r * 0.1, py + r * 0.12),
            (px - r * 0.06, py - r * 0.1),
            (px + r * 0.12, py + r * 0.02),
        ],
        WHITE,
    )


def icon_calendar(c: Canvas, ctr: Point, r: float, colour: str, highlight: str = ACCENT) -> None:
    x, y = ctr
    c.rect((x - r, y - r * 0.8, x + r, y + r), colour, radius=r * 0.14)
    c.rect((x - r, y - r * 0.8, x + r, y - r * 0.35), highlight, radius=r * 0.14)
    c.rect((x - r, y - r * 0.5, x + r, y - r * 0.35), highlight)
    for dx in (-0.5, 0.5):
        c.line([(x + dx * r, y - r), (x + dx * r, y - r * 0.62)], NAVY, r * 0.12)
    for row in range(3):
        for col in range(4):
            cx = x - r * 0.66 + col * r * 0.44
            cy = y - r * 0.08 + row * r * 0.36
            fill = highlight if (row, col) == (1, 2) else mix(colour, NAVY, 0.35)
            c.rect(
                (cx - r * 0.14, cy - r * 0.12, cx + r * 0.14, cy + r * 0.12), fill, radius=r * 0.04
            )


def icon_chat(c: Canvas, ctr: Point, r: float, colour: str, other: str = TEAL) -> None:
    x, y = ctr
    c.rect((x - r, y - r * 0.85, x + r * 0.35, y + r * 0.1), colour, radius=r * 0.25)
    c.polygon(
        [(x - r * 0.7, y + r * 0.05), (x - r * 0.75, y + r * 0.45), (x - r * 0.35, y + r * 0.05)],
        colour,
    )
    c.rect((x - r * 0.25, y - r * 0.2, x + r, y + r * 0.65), other, radius=r * 0.25)
    c.polygon(
        [(x + r * 0.45, y + r * 0.6), (x + r * 0.75, y + r * 0.95), (x + r * 0.75, y + r * 0.6)],
        other,
    )
    for i in range(3):
        c.circle((x + r * 0.07 + i * r * 0.3, y + r * 0.22), r * 0.08, NAVY)


def icon_play(c: Canvas, ctr: Point, r: float, colour: str) -> None:
    x, y = ctr
    c.circle(ctr, r, colour)
    c.polygon([(x - r * 0.3, y - r * 0.45), (x - r * 0.3, y + r * 0.45), (x + r * 0.5, y)], NAVY)


def icon_book(c: Canvas, ctr: Point, r: float, colour: str) -> None:
    x, y = ctr
    c.polygon(
        [
            (x - r, y - r * 0.7),
            (x - r * 0.05, y - r * 0.5),
            (x - r * 0.05, y + r * 0.8),
            (x - r, y + r * 0.6),
        ],
        colour,
    )
    c.polygon(
        [
            (x + r, y - r * 0.7),
            (x + r * 0.05, y - r * 0.5),
            (x + r * 0.05, y + r * 0.8),
            (x + r, y + r * 0.6),
        ],
        mix(colour, WHITE, 0.35),
    )
    for i in range(3):
        ly = y - r * 0.3 + i * r * 0.28
        c.line([(x - r * 0.8, ly - r * 0.15), (x - r * 0.25, ly)], NAVY, r * 0.06)
        c.line([(x + r * 0.25, ly), (x + r * 0.8, ly - r * 0.15)], NAVY, r * 0.06)


def icon_magnifier(c: Canvas, ctr: Point, r: float, colour: str) -> None:
    x, y = ctr
    c.circle((x - r * 0.2, y - r * 0.2), r * 0.58, outline=colour, width=r * 0.18)
    c.line([(x + r * 0.25, y + r * 0.25), (x + r * 0.8, y + r * 0.8)], colour, r * 0.26)


def icon_stop(c: Canvas, ctr: Point, r: float, colour: str) -> None:
    x, y = ctr
    octagon = [
        (
            x + r * math.cos(math.radians(22.5 + 45 * i)),
            y + r * math.sin(math.radians(22.5 + 45 * i)),
        )
        for i in range(8)
    ]
    c.polygon(octagon, colour)
    c.rect((x - r * 0.1, y - r * 0.55, x + r * 0.1, y + r * 0.18), WHITE, radius=r * 0.08)
    c.circle((x, y + r * 0.45), r * 0.12, WHITE)


def icon_flag(c: Canvas, ctr: Point, r: float, colour: str) -> None:
    x, y = ctr
    c.line([(x - r * 0.6, y - r * 0.95), (x - r * 0.6, y + r * 0.95)], WHITE, r * 0.14)
    c.polygon(
        [(x - r * 0.55, y - r * 0.9), (x + r * 0.8, y - r * 0.55), (x - r * 0.55, y - r * 0.1)],
        colour,
    )


def icon_people(c: Canvas, ctr: Point, r: float, colour: str) -> None:
    x, y = ctr
    for dx, scale, col in (
        (-0.5, 0.8, mix(colour, NAVY, 0.3)),
        (0.5, 0.8, mix(colour, NAVY, 0.3)),
        (0, 1.0, colour),
    ):
        hx = x + dx * r
        c.circle((hx, y - r * 0.35 * scale), r * 0.3 * scale, col)
        c.draw.pieslice(
            c.box(
                (
                    hx - r * 0.55 * scale,
                    y + r * 0.1,
                    hx + r * 0.55 * scale,
                    y + r * 1.1 * scale + r * 0.1,
                )
            ),
            180,
            360,
            fill=rgb(col),
        )


def icon_phone(c: Canvas, ctr: Point, r: float, colour: str) -> None:
    x, y = ctr
    c.rect((x - r * 0.55, y - r, x + r * 0.55, y + r), colour, radius=r * 0.15)
    c.rect((x - r * 0.42, y - r * 0.78, x + r * 0.42, y + r * 0.7), NAVY, radius=r * 0.05)
    c.circle((x, y + r * 0.85), r * 0.08, NAVY)
    # A booking form on the screen.
    for i in range(3):
        ly = y - r * 0.5 + i * r * 0.32
        c.rect((x - r * 0.3, ly, x + r * 0.3, ly + r * 0.16), PANEL_LIGHT, radius=r * 0.04)
    c.rect((x - r * 0.3, y + r * 0.45, x + r * 0.3, y + r * 0.6), ACCENT, radius=r * 0.05)


def icon_car(c: Canvas, ctr: Point, r: float, colour: str) -> None:
    x, y = ctr
    c.polygon(
        [
            (x - r * 0.55, y - r * 0.1),
            (x - r * 0.35, y - r * 0.55),
            (x + r * 0.35, y - r * 0.55),
            (x + r * 0.6, y - r * 0.1),
        ],
        colour,
    )
    c.polygon(
        [
            (x - r * 0.42, y - r * 0.13),
            (x - r * 0.28, y - r * 0.45),
            (x - r * 0.03, y - r * 0.45),
            (x - r * 0.03, y - r * 0.13),
        ],
        NAVY,
    )
    c.polygon(
        [
            (x + r * 0.05, y - r * 0.13),
            (x + r * 0.05, y - r * 0.45),
            (x + r * 0.3, y - r * 0.45),
            (x + r * 0.48, y - r * 0.13),
        ],
        NAVY,
    )
    c.rect((x - r, y - r * 0.15, x + r, y + r * 0.35), colour, radius=r * 0.15)
    for dx in (-0.55, 0.55):
        c.circle((x + dx * r, y + r * 0.38), r * 0.24, NAVY_DEEP)
        c.circle((x + dx * r, y + r * 0.38), r * 0.11, MUTED)
    c.rect((x - r * 0.95, y, x - r * 0.75, y + r * 0.1), ACCENT, radius=r * 0.03)


def icon_envelope(c: Canvas, ctr: Point, r: float, colour: str) -> None:
    x, y = ctr
    c.rect((x - r, y - r * 0.65, x + r, y + r * 0.65), colour, radius=r * 0.1)
    c.line(
        [(x - r * 0.88, y - r * 0.52), (x, y + r * 0.1), (x + r * 0.88, y - r * 0.52)],
        NAVY,
        r * 0.1,
    )


def icon_bulb(c: Canvas, ctr: Point, r: float, colour: str) -> None:
    x, y = ctr
    c.circle((x, y - r * 0.2), r * 0.6, colour)
    c.polygon(
        [
            (x - r * 0.35, y + r * 0.2),
            (x + r * 0.35, y + r * 0.2),
            (x + r * 0.25, y + r * 0.55),
            (x - r * 0.25, y + r * 0.55),
        ],
        colour,
    )
    c.rect((x - r * 0.27, y + r * 0.6, x + r * 0.27, y + r * 0.72), MUTED, radius=r * 0.04)
    c.rect((x - r * 0.22, y + r * 0.78, x + r * 0.22, y + r * 0.9), MUTED, radius=r * 0.04)
    for angle in (-150, -110, -70, -30, 10, 170, 210):
        a = math.radians(angle)
        c.line(
            [
                (x + math.cos(a) * r * 0.78, y - r * 0.2 + math.sin(a) * r * 0.78),
                (x + math.cos(a) * r * 0.98, y - r * 0.2 + math.sin(a) * r * 0.98),
            ],
            colour,
            r * 0.07,
        )


def icon_face(c: Canvas, ctr: Point, r: float, colour: str, mood: float) -> None:
    """A survey face; ``mood`` from -1 (sad) to 1 (happy)."""
    x, y = ctr
    c.circle(ctr, r, colour)
    c.circle((x - r * 0.33, y - r * 0.22), r * 0.11, NAVY)
    c.circle((x + r * 0.33, y - r * 0.22), r * 0.11, NAVY)
    points = []
    for i in range(21):
        t = -1 + i / 10
        points.append(
            (x + t * r * 0.45, y + r * 0.35 + mood * (1 - t * t) * r * 0.22 - mood * r * 0.05)
        )
    c.line(points, NAVY, r * 0.1)


def arrow(c: Canvas, start: Point, end: Point, colour: str, width: float) -> None:
    """A thick arrow with a triangular head, e.g. towards where the QR code appears."""
    angle = math.atan2(end[1] - start[1], end[0] - start[0])
    head = width * 2.6
    base = (end[0] - math.cos(angle) * head, end[1] - math.sin(angle) * head)
    c.line([start, base], colour, width)
    left = (
        base[0] + math.cos(angle + math.pi / 2) * head * 0.6,
        base[1] + math.sin(angle + math.pi / 2) * head * 0.6,
    )
    right = (
        base[0] + math.cos(angle - math.pi / 2) * head * 0.6,
        base[1] + math.sin(angle - math.pi / 2) * head * 0.6,
    )
    c.polygon([end, left, right], colour)


def scan_hint(c: Canvas, label: str, y: float = 862) -> None:
    """ "Escanea…" with an arrow pointing at the plate where the player draws the QR code."""
    right = CONTENT_RIGHT + 30
    w = c.text_width(label, "bold", 40)
    c.text((right - 150 - w, y), label, "bold", 40, ACCENT, anchor="lm")
    arrow(c, (right - 130, y), (right, y), ACCENT, 14)


# -- the logo ------------------------------------------------------------------------------


def draw_logo(size: int = 400) -> Image.Image:
    """The OAI emblem: a ring, the walls of Cartagena, the letters OAI, a circuit line."""
    c = Canvas(size, size, scale=4)
    c.img = Image.new("RGBA", c.img.size, (0, 0, 0, 0))
    c.draw = ImageDraw.Draw(c.img, "RGBA")
    mid = size / 2
    c.circle((mid, mid), mid - 4, NAVY)
    c.circle((mid, mid), mid - 16, outline=ACCENT, width=18)
    c.circle((mid, mid), mid - 46, outline=MUTED, width=4)
    # The walled city: a battlement and a watchtower.
    wall_y = mid - 58
    c.rect((mid - 110, wall_y, mid + 110, wall_y + 34), ACCENT)
    for i in range(6):
        bx = mid - 110 + i * 40
        c.rect((bx, wall_y - 22, bx + 22, wall_y + 2), ACCENT)
    c.rect((mid - 26, wall_y - 70, mid + 26, wall_y + 2), ACCENT)
    c.polygon([(mid - 34, wall_y - 70), (mid, wall_y - 100), (mid + 34, wall_y - 70)], ACCENT)
    c.circle((mid, wall_y - 40), 11, NAVY)
    c.text((mid, mid + 48), "OAI", "display", 112, WHITE, anchor="mm")
    # A circuit trace under the letters.
    c.line(
        [
            (mid - 96, mid + 118),
            (mid - 30, mid + 118),
            (mid - 12, mid + 100),
            (mid + 96, mid + 100),
        ],
        MUTED,
        6,
    )
    c.circle((mid - 100, mid + 118), 10, ACCENT)
    c.circle((mid + 100, mid + 100), 10, ACCENT)
    return c.img.resize((size, size), Image.Resampling.LANCZOS)


# -- the slides ----------------------------------------------------------------------------


def bar_row(
    c: Canvas,
    y: float,
    label: str,
    value: float,
    *,
    vmax: float,
    colour: str,
    value_text: str,
    x0: float,
    x1: float,
) -> None:
    c.text((x0, y), label, "bold", 32, WHITE, anchor="lm")
    bar_x = x0 + 104
    track = x1 - bar_x - 96
    length = track * value / vmax
    c.rect((bar_x, y - 30, bar_x + track, y + 30), PANEL_LIGHT, radius=30)
    c.rect((bar_x, y - 30, bar_x + length, y + 30), colour, radius=30)
    c.text((bar_x + length + 18, y), value_text, "bold", 40, colour, anchor="lm")


def mini_stats(c: Canvas, stats: Sequence[tuple[Callable[..., None], str, str]], y: float) -> None:
    for i, (icon, figure, label) in enumerate(stats):
        x = LEFT + i * 440
        icon(c, (x + 38, y + 28), 36, TEAL)
        c.text((x + 96, y - 2), figure, "bold", 42, WHITE)
        c.text((x + 96, y + 50), label, "regular", 28, MUTED)


def slide_eficiencia() -> Image.Image:
    c = slide("EFICIENCIA", "Radicación electrónica: trámites más rápidos", width=TITLE_BESIDE_CARD)
    c.text((LEFT - 10, 318), "–38 %", "display", 220, ACCENT)
    c.text((LEFT, 602), "menos tiempo por trámite", "bold", 48, WHITE)
    c.text((LEFT, 664), "de 8,2 a 5,1 días hábiles en promedio", "regular", 34, MUTED)

    panel = (820, 390, CONTENT_RIGHT, 690)
    x0, x1 = panel[0] + 40, panel[2]
    c.card(panel)
    c.text((x0, panel[1] + 36), "Días hábiles por trámite", "bold", 30, MUTED)
    bar_row(c, 530, "2025", 8.2, vmax=8.2, colour=CORAL, value_text="8,2", x0=x0, x1=x1)
    bar_row(c, 622, "2026", 5.1, vmax=8.2, colour=TEAL, value_text="5,1", x0=x0, x1=x1)
    stat_card(c, "12.400", "trámites radicados en línea en 2026")
    mini_stats(
        c,
        (
            (icon_clock, "3,1 días", "ahorrados por trámite"),
            (icon_check, "96 %", "respondidos a tiempo"),
            (icon_document, "0 copias", "impresas para radicar"),
        ),
        758,
    )
    footnote(c, "Fuente: OAI, enero a octubre de 2026 frente al mismo periodo de 2025.", 880)
    return c.finish()


def slide_tickets() -> Image.Image:
    c = slide(
        "MÉTRICAS", "Menos tickets de soporte: las herramientas se adoptan",
        width=TITLE_BESIDE_CARD,
    )  # fmt: skip
    quarters = (
        ("T3 2025", 1240),
        ("T4 2025", 1105),
        ("T1 2026", 930),
        ("T2 2026", 812),
        ("T3 2026", 705),
    )
    base, top = 850, 430
    c.line([(LEFT, base), (CONTENT_RIGHT, base)], MUTED, 3)
    for i, (label, value) in enumerate(quarters):
        x = LEFT + 36 + i * 250
        h = (base - top) * value / 1240
        last = i == len(quarters) - 1
        colour = ACCENT if last else mix(MUTED, NAVY, 0.25)
        c.rect((x, base - h, x + 170, base), colour, radius=14)
        c.rect((x, base - 20, x + 170, base), colour)
        figure = f"{value:,}".replace(",", ".")
        c.text((x + 85, base - h - 12), figure, "bold", 38, ACCENT if last else WHITE, anchor="mb")
        weight, tint = ("bold", WHITE) if last else ("regular", MUTED)
        c.text((x + 85, base + 14), label, weight, 29, tint, anchor="ma")
    stat_card(c, "–43 %", "tickets por trimestre en solo un año")
    return c.finish()


def slide_adopcion() -> Image.Image:
    c = slide("ADOPCIÓN", "Así usamos las nuevas herramientas", width=TITLE_BESIDE_CARD)
    gauges = (
        ("Intranet", 87, "de los funcionarios entra cada semana", TEAL),
        ("Firma digital", 64, "de las dependencias ya firma en línea", ACCENT),
        ("Mesa de ayuda web", 78, "de los casos se abren en línea", CORAL),
    )
    for i, (name, pct, note, colour) in enumerate(gauges):
        cx, cy, r = 260 + i * 440, 520, 140
        c.circle((cx, cy), r, outline=PANEL_LIGHT, width=32)
        c.arc((cx - r, cy - r, cx + r, cy + r), -90, -90 + 360 * pct / 100, colour, 32)
        c.text((cx, cy), f"{pct} %", "display", 76, WHITE, anchor="mm")
        c.text((cx, 696), name, "bold", 38, WHITE, anchor="ma")
        c.paragraph(
            (cx, 750), note, "regular", 29, MUTED, width=380, line_height=1.2, max_lines=2,
            anchor_x="m",
        )  # fmt: skip
    stat_card(c, "90 %", "la meta de 2026 en las tres")
    footnote(c, "Medición de la OAI, octubre de 2026.", 880)
    return c.finish()


def checklist(
    c: Canvas,
    items: Sequence[tuple[str, str]],
    *,
    x: float,
    y: float,
    step: float,
    width: float,
    colour: str = TEAL,
) -> None:
    for i, (head, sub) in enumerate(items):
        top = y + i * step
        icon_check(c, (x + 30, top + 28), 30, colour)
        c.text((x + 84, top), head, "bold", 40, WHITE)
        c.paragraph((x + 84, top + 54), sub, "regular", 28, MUTED, width=width - 84, max_lines=1)


def slide_firma_digital() -> Image.Image:
    c = slide("INNOVACIÓN", "La firma digital llega a todas las dependencias")
    checklist(
        c,
        (
            ("Firma desde tu equipo", "Sin imprimir, escanear ni ir a otra oficina."),
            ("Con plena validez jurídica", "Ley 527 de 1999 y Decreto 2364 de 2012."),
            ("Cada firma queda registrada", "Sabes quién firmó, cuándo y qué versión."),
        ),
        x=LEFT,
        y=360,
        step=150,
        width=860,
    )
    c.circle((1130, 560), 190, PANEL_LIGHT)
    icon_document(c, (1112, 566), 132, WHITE)
    c.text((LEFT, 840), "Pide tu certificado de firma en la Mesa de ayuda OAI", "bold", 34, ACCENT)
    return c.finish()


def feature_cards(
    c: Canvas,
    cards: Sequence[tuple[Callable[..., None], str, str]],
    top: float = 340,
    bottom: float = 830,
) -> None:
    for i, (icon, head, body) in enumerate(cards):
        x0 = LEFT + i * 420
        box = (x0, top, x0 + 380, bottom)
        c.card(box)
        icon(c, (x0 + 190, top + 96), 60, ACCENT)
        c.text((x0 + 190, top + 186), head, "bold", 40, WHITE, anchor="ma")
        c.paragraph(
            (x0 + 190, top + 250), body, "regular", 30, MUTED, width=330, max_lines=5,
            anchor_x="m",
        )  # fmt: skip


def slide_intranet() -> Image.Image:
    c = slide("NOVEDAD", "Nuevo espacio de la OAI en la intranet")
    feature_cards(
        c,
        (
            (
                icon_play,
                "Tutoriales en video",
                "Aprende a usar la intranet, el correo y la firma digital a tu ritmo.",
            ),
            (icon_chat, "Foros", "Pregunta, comparte soluciones y propone mejoras."),
            (icon_book, "Guías paso a paso", "Una guía digital para cada plataforma."),
        ),
    )
    c.text((LEFT, 866), "intranet.cartagena.gov.co/oai", "bold", 38, ACCENT)
    return c.finish()


def slide_historia() -> Image.Image:
    c = slide("HISTORIA DE ÉXITO", "Hacienda: paz y salvo el mismo día", width=TITLE_BESIDE_CARD)
    before = (LEFT, 340, 520, 560)
    after = (700, 340, 1190, 560)
    for box, label, figure, colour in (
        (before, "Antes", "5 días", CORAL),
        (after, "Ahora", "4 horas", TEAL),
    ):
        c.card(box)
        c.text((box[0] + 38, box[1] + 30), label, "bold", 32, MUTED)
        c.text((box[0] + 38, box[1] + 78), figure, "display", 104, colour)
    arrow(c, (548, 450), (672, 450), ACCENT, 18)
    stat_card(c, "3.200", "certificados al mes, en línea")
    c.text((LEFT - 8, 582), "“", "display", 150, ACCENT)
    end = c.paragraph(
        (LEFT + 84, 618),
        "Ahora el ciudadano pide su paz y salvo en línea y lo recibe en su correo "
        "antes de terminar la jornada.",
        "italic",
        40,
        WHITE,
        width=1200,
        line_height=1.22,
        max_lines=2,
    )
    c.text(
        (LEFT + 84, end + 12),
        "— Equipo de Impuestos, Secretaría de Hacienda Distrital",
        "regular",
        28,
        MUTED,
    )
    c.text((LEFT, 862), "Cómo lo lograron:", "bold", 30, WHITE, anchor="lm")
    x = LEFT + c.text_width("Cómo lo lograron:", "bold", 30) + 22
    for step in ("formulario en línea", "validación automática", "firma digital"):
        w = c.text_width(step, "regular", 28) + 44
        c.rect((x, 838, x + w, 886), PANEL_LIGHT, radius=24)
        c.text((x + 22, 862), step, "regular", 28, WHITE, anchor="lm")
        x += w + 16
    return c.finish()


def slide_webinar() -> Image.Image:
    c = slide("CAPACITACIÓN", "Webinar trimestral de la OAI", width=TITLE_BESIDE_CARD)
    c.paragraph(
        (LEFT, 304),
        "Ciberseguridad y firma digital: lo nuevo del trimestre",
        "bold",
        42,
        ACCENT,
        width=TITLE_BESIDE_CARD,
        max_lines=1,
    )
    page = (LEFT, 390, LEFT + 300, 720)
    mid = (page[0] + page[2]) / 2
    c.card(page, WHITE, radius=30)
    c.rect((page[0], page[1], page[2], page[1] + 90), CORAL, radius=30)
    c.rect((page[0], page[1] + 56, page[2], page[1] + 90), CORAL)
    c.text((mid, page[1] + 46), "ENERO 2027", "bold", 36, WHITE, anchor="mm")
    c.text((mid, page[1] + 184), "21", "display", 156, NAVY, anchor="mm")
    c.text((mid, page[1] + 290), "jueves", "bold", 36, PANEL, anchor="mm")
    rows = (
        (icon_clock, "10:00 a. m. a 11:30 a. m.", "Hora de Colombia"),
        (icon_play, "En línea, desde tu puesto", "El enlace llega a tu correo al inscribirte"),
        (icon_people, "Servidores públicos y contratistas", "Cupos limitados: 300 personas"),
    )
    for i, (icon, head, sub) in enumerate(rows):
        y = 404 + i * 112
        icon(c, (LEFT + 380, y + 32), 38, TEAL)
        c.text((LEFT + 440, y), head, "bold", 38, WHITE)
        c.text((LEFT + 440, y + 50), sub, "regular", 28, MUTED)
    topics = STAT_CARD
    c.card(topics, PANEL_LIGHT)
    c.text((topics[0] + 34, topics[1] + 22), "Temas", "bold", 32, ACCENT)
    for i, topic in enumerate(("Phishing: casos reales", "Firma digital", "Preguntas en vivo")):
        y = topics[1] + 76 + i * 46
        c.circle((topics[0] + 44, y + 18), 8, TEAL)
        c.text((topics[0] + 66, y), topic, "regular", 29, WHITE)
    scan_hint(c, "Inscríbete: escanea el código")
    return c.finish()


def step_cards(
    c: Canvas,
    steps: Sequence[tuple[Callable[..., None], str, str, str]],
    top: float = 340,
    bottom: float = 790,
) -> None:
    for i, (icon, colour, head, body) in enumerate(steps):
        x0 = LEFT + i * 420
        box = (x0, top, x0 + 380, bottom)
        c.card(box)
        c.circle((x0 + 52, top + 52), 32, colour)
        c.text((x0 + 52, top + 53), str(i + 1), "bold", 38, NAVY, anchor="mm")
        icon(c, (x0 + 190, top + 118), 64, colour)
        c.text((x0 + 190, top + 206), head, "bold", 42, WHITE, anchor="ma")
        c.paragraph(
            (x0 + 190, top + 270), body, "regular", 29, MUTED, width=330, max_lines=4,
            anchor_x="m",
        )  # fmt: skip


def slide_phishing() -> Image.Image:
    c = slide("CIBERSEGURIDAD", "¿Correo sospechoso? Detente, verifica, reporta")
    step_cards(
        c,
        (
            (
                icon_stop,
                CORAL,
                "Detente",
                "No abras enlaces ni adjuntos inesperados, aunque parezcan urgentes.",
            ),
            (
                icon_magnifier,
                ACCENT,
                "Verifica",
                "¿El remitente termina en @cartagena.gov.co? ¿Te pide claves o pagos?",
            ),
            (
                icon_flag,
                TEAL,
                "Reporta",
                "Reenvíalo a la Mesa de ayuda OAI (extensión 4444) y bórralo.",
            ),
        ),
    )
    c.text((LEFT, 836), "La OAI nunca te pedirá tu contraseña por correo.", "bold", 38, ACCENT)
    return c.finish()


def slide_contrasenas() -> Image.Image:
    c = slide("CIBERSEGURIDAD", "Tu contraseña es la llave de la Alcaldía")
    c.circle((290, 590), 180, PANEL_LIGHT)
    icon_lock(c, (290, 600), 128, ACCENT, hole=PANEL_LIGHT)
    checklist(
        c,
        (
            ("Usa una frase larga", "12 caracteres o más: fácil de recordar, difícil de adivinar."),
            (
                "Activa la verificación en dos pasos",
                "Un código en tu celular frena casi todo ataque.",
            ),
            ("No la compartas con nadie", "Ni con soporte técnico: nunca te la pediremos."),
            ("Bloquea tu equipo al levantarte", "Windows + L: un segundo que protege tus datos."),
        ),
        x=530,
        y=350,
        step=132,
        width=880,
    )
    return c.finish()


def slide_citas_runt() -> Image.Image:
    c = slide(
        "SERVICIO A LA CIUDADANÍA", "Agenda tu cita RUNT en línea, sin filas",
        width=TITLE_BESIDE_CARD,
    )  # fmt: skip
    step_cards(
        c,
        (
            (icon_phone, TEAL, "Entra", "Desde tu celular o computador, a cualquier hora."),
            (icon_calendar, ACCENT, "Elige", "El trámite, el día y la hora que prefieras."),
            (icon_check, CORAL, "Llega", "10 minutos antes, con tu documento de identidad."),
        ),
    )
    card = STAT_CARD
    c.card(card, PANEL_LIGHT)
    icon_car(c, ((card[0] + card[2]) / 2, card[1] + 96), 96, ACCENT)
    c.text(
        ((card[0] + card[2]) / 2, card[1] + 168),
        "Servicio gratuito",
        "bold",
        32,
        WHITE,
        anchor="ma",
    )
    scan_hint(c, "Agenda aquí: escanea el código")
    return c.finish()


def slide_buzon() -> Image.Image:
    c = slide("PARTICIPACIÓN", "Buzón de sugerencias")
    c.paragraph(
        (LEFT, 340),
        "¿Tienes una idea para mejorar nuestros sistemas? ¿Algo no funciona como esperabas?",
        "bold",
        52,
        ACCENT,
        width=900,
        line_height=1.2,
        max_lines=4,
    )
    c.paragraph(
        (LEFT, 620),
        "Cuéntanos desde tu celular. Leemos cada mensaje y te respondemos en 5 días hábiles.",
        "regular",
        36,
        WHITE,
        width=900,
        line_height=1.3,
        max_lines=3,
    )
    c.circle((1150, 540), 170, PANEL_LIGHT)
    icon_envelope(c, (1130, 576), 108, WHITE)
    icon_bulb(c, (1230, 450), 72, ACCENT)
    scan_hint(c, "Escanea y escríbenos")
    return c.finish()


def faces_row(c: Canvas, y: float, x0: float = 180, step: float = 220, r: float = 80) -> None:
    colours = (CORAL, mix(CORAL, ACCENT, 0.5), ACCENT, mix(ACCENT, TEAL, 0.5), TEAL)
    for i, colour in enumerate(colours):
        icon_face(c, (x0 + i * step, y), r, colour, -1 + i / 2)


def survey(kicker_label: str, question: str, lead: str, body: str, hint: str) -> Image.Image:
    c = slide(kicker_label, question)
    faces_row(c, 450)
    c.text((LEFT, 580), lead, "bold", 44, WHITE)
    c.paragraph((LEFT, 650), body, "regular", 34, MUTED, width=1250, max_lines=2)
    scan_hint(c, hint)
    return c.finish()


def slide_encuesta_herramientas() -> Image.Image:
    return survey(
        "TU OPINIÓN CUENTA",
        "¿Cómo te va con las herramientas de la OAI?",
        "Encuesta de satisfacción: 1 minuto, anónima.",
        "Intranet, correo, firma digital, Mesa de ayuda: con tus respuestas decidimos "
        "qué mejorar primero.",
        "Escanea y opina",
    )


def slide_encuesta_atencion() -> Image.Image:
    return survey(
        "TU OPINIÓN CUENTA",
        "¿Cómo te atendimos hoy?",
        "Califícanos en 1 minuto. Es anónimo.",
        "Tus respuestas nos ayudan a mejorar la atención y los servicios en línea de la Alcaldía.",
        "Escanea y califícanos",
    )


def slide_fondo_texto() -> Image.Image:
    """The emblem large on navy: a picture that still reads when a text slide shows it small."""
    c = Canvas()
    c.img.paste(vertical_gradient(c.img.size, "#0e2d55", NAVY_DEEP), (0, 0))
    c.draw = ImageDraw.Draw(c.img, "RGBA")
    glow(c, (W / 2, 380), 640, "#1f5596", 150)
    for radius, alpha in ((330, 60), (380, 30)):
        c.circle((W / 2, 380), radius, outline=ACCENT, width=6, alpha=alpha)
    c.paste(logo_image(), (W / 2 - 270, 110), 540)
    c.text((W / 2, 700), "Alcaldía de Cartagena", "bold", 96, WHITE, anchor="ma")
    c.text((W / 2, 824), "Oficina Asesora de Informática", "regular", 60, MUTED, anchor="ma")
    return c.finish()


# -- portrait slides (1080×1920) -----------------------------------------------------------

PW, PH = 1080, 1920  # a panel mounted on its side, as the portrait playlist is drawn for

# Where the player draws over a portrait slide (signage/player/layout.py at 1080×1920): the
# top bar, the QR plate (bottom right, half the width and more, above the ticker) and the
# ticker band. Content goes above the plate and, beside it, in the left column.
P_TOP_BAR_BOTTOM = 160
P_QR_PLATE = (430, 1030, PW, PH)
P_TICKER_TOP = 1765
P_LEFT = 80
P_RIGHT = PW - 80
P_CONTENT_BOTTOM = P_QR_PLATE[1] - 30  # full-width content ends here
P_COLUMN_RIGHT = P_QR_PLATE[0] - 40  # the left column beside the QR plate


def portrait_slide(kicker_label: str, heading: str) -> Canvas:
    """A new 1080×1920 slide with background, kicker and title (two lines at most)."""
    c = Canvas(PW, PH)
    c.img.paste(vertical_gradient(c.img.size, "#0e2d55", NAVY_DEEP), (0, 0))
    c.draw = ImageDraw.Draw(c.img, "RGBA")
    glow(c, (300, 560), 820, "#1a4680", 110)
    c.rect((0, P_TOP_BAR_BOTTOM + 10, 10, P_TICKER_TOP - 20), ACCENT)
    kicker(c, kicker_label, y=196)
    c.paragraph(
        (LEFT, 268), heading, "bold", 64, WHITE, width=P_RIGHT - LEFT, line_height=1.12,
        max_lines=2,
    )  # fmt: skip
    return c


def step_rows(
    c: Canvas,
    steps: Sequence[tuple[Callable[..., None], str, str, str]],
    top: float = 440,
    row_h: float = 170,
    gap: float = 26,
) -> float:
    """Numbered steps as full-width rows (a tall screen reads top to bottom); returns bottom."""
    y = top
    for i, (icon, colour, head, body) in enumerate(steps):
        box = (P_LEFT, y, P_RIGHT, y + row_h)
        c.card(box)
        c.circle((P_LEFT + 48, y + 48), 30, colour)
        c.text((P_LEFT + 48, y + 49), str(i + 1), "bold", 34, NAVY, anchor="mm")
        icon(c, (P_LEFT + 170, y + row_h / 2), 54, colour)
        c.text((P_LEFT + 260, y + 30), head, "bold", 44, WHITE)
        c.paragraph(
            (P_LEFT + 260, y + 90), body, "regular", 30, MUTED, width=P_RIGHT - P_LEFT - 300,
            max_lines=2, line_height=1.2,
        )  # fmt: skip
        y += row_h + gap
    return y - gap


def column_hint(c: Canvas, label: str, y: float) -> None:
    """Words in the left column with an arrow towards the QR plate at their right."""
    c.paragraph(
        (P_LEFT, y), label, "bold", 40, ACCENT, width=P_COLUMN_RIGHT - P_LEFT - 10,
        max_lines=3, line_height=1.15,
    )  # fmt: skip
    arrow(c, (P_LEFT + 10, y + 190), (P_COLUMN_RIGHT, y + 190), ACCENT, 14)


def slide_v_bienvenida() -> Image.Image:
    c = portrait_slide("SALA DE ATENCIÓN AL CIUDADANO", "Bienvenido: así te atendemos")
    step_rows(
        c,
        (
            (
                icon_document,
                ACCENT,
                "Toma tu turno",
                "En el módulo de la entrada, con tu documento.",
            ),
            (icon_clock, TEAL, "Espera tu llamado", "Tu número aparece en el tablero de turnos."),
            (icon_people, CORAL, "Pasa al módulo", "Un servidor te atiende y resuelve tu trámite."),
        ),
    )
    c.card((P_LEFT, P_QR_PLATE[1] + 10, P_COLUMN_RIGHT, P_QR_PLATE[1] + 270), PANEL_LIGHT)
    icon_check(c, (P_LEFT + 70, P_QR_PLATE[1] + 80), 40, TEAL)
    c.text((P_LEFT + 122, P_QR_PLATE[1] + 58), "Gratuito", "bold", 36, WHITE)
    c.paragraph(
        (P_LEFT + 32, P_QR_PLATE[1] + 140), "Ningún trámite necesita intermediarios.", "regular",
        28, MUTED, width=P_COLUMN_RIGHT - P_LEFT - 56, max_lines=3, line_height=1.2,
    )  # fmt: skip
    column_hint(c, "¿Cómo te atendimos? Escanea", 1350)
    return c.finish()


def slide_v_citas_runt() -> Image.Image:
    c = portrait_slide("SERVICIO A LA CIUDADANÍA", "Agenda tu cita RUNT en línea, sin filas")
    step_rows(
        c,
        (
            (icon_phone, TEAL, "Entra", "Desde tu celular o computador, a cualquier hora."),
            (icon_calendar, ACCENT, "Elige", "El trámite, el día y la hora que prefieras."),
            (icon_check, CORAL, "Llega", "10 minutos antes, con tu documento de identidad."),
        ),
    )
    card = (P_LEFT, P_QR_PLATE[1] + 10, P_COLUMN_RIGHT, P_QR_PLATE[1] + 250)
    c.card(card, PANEL_LIGHT)
    icon_car(c, ((card[0] + card[2]) / 2, card[1] + 90), 80, ACCENT)
    c.text(((card[0] + card[2]) / 2, card[1] + 170), "Servicio gratuito", "bold", 32, WHITE,
           anchor="ma")  # fmt: skip
    column_hint(c, "Agenda aquí: escanea el código", 1350)
    return c.finish()


def slide_v_tramites() -> Image.Image:
    c = portrait_slide("EFICIENCIA", "Trámites en línea: más rápidos para ti")
    c.text((LEFT - 10, 420), "–38 %", "display", 200, ACCENT)
    c.text((LEFT, 680), "menos tiempo por trámite", "bold", 46, WHITE)
    c.text((LEFT, 742), "de 8,2 a 5,1 días hábiles en promedio", "regular", 32, MUTED)
    panel = (P_LEFT, 810, P_RIGHT, P_CONTENT_BOTTOM)
    x0, x1 = panel[0] + 40, panel[2]
    c.card(panel)
    bar_row(c, 880, "2025", 8.2, vmax=8.2, colour=CORAL, value_text="8,2", x0=x0, x1=x1)
    bar_row(c, 955, "2026", 5.1, vmax=8.2, colour=TEAL, value_text="5,1", x0=x0, x1=x1)
    y = P_QR_PLATE[1] + 30
    for icon, figure, label in (
        (icon_clock, "3,1 días", "ahorrados"),
        (icon_check, "96 %", "a tiempo"),
        (icon_document, "12.400", "en línea"),
    ):
        icon(c, (P_LEFT + 38, y + 34), 34, TEAL)
        c.text((P_LEFT + 92, y), figure, "bold", 42, WHITE)
        c.text((P_LEFT + 92, y + 52), label, "regular", 28, MUTED)
        y += 150
    c.paragraph(
        (P_LEFT, 1500), "Fuente: OAI, enero a octubre de 2026 frente al mismo periodo de 2025.",
        "regular", 24, MUTED, width=P_COLUMN_RIGHT - P_LEFT, max_lines=3,
    )  # fmt: skip
    return c.finish()


def slide_v_encuesta() -> Image.Image:
    c = portrait_slide("TU OPINIÓN CUENTA", "¿Cómo te atendimos hoy?")
    faces_row(c, 520, x0=170, step=185, r=72)
    c.text((LEFT, 660), "Califícanos en 1 minuto.", "bold", 48, WHITE)
    c.text((LEFT, 724), "Es anónimo.", "bold", 48, WHITE)
    c.paragraph(
        (LEFT, 810), "Tus respuestas nos ayudan a mejorar la atención en esta sala y los "
        "servicios en línea de la Alcaldía.", "regular", 34, MUTED, width=P_RIGHT - LEFT,
        max_lines=3,
    )  # fmt: skip
    column_hint(c, "Escanea y califícanos", 1250)
    return c.finish()


# -- the tutorial video --------------------------------------------------------------------

VIDEO_SIZE = (1280, 720)
VIDEO_FPS = 25
VIDEO_SCENES_S = 1.8  # seconds each of the five scenes stays
VIDEO_FADE_S = 0.4


def video_scene(step: int) -> Image.Image:
    """One scene of "Cómo agendar tu cita RUNT en 3 pasos" (0 = title, 4 = closing)."""
    c = Canvas()
    background(c)
    middle = (LEFT + CONTENT_RIGHT) / 2
    if step == 0:
        c.circle((1600, 270), 120, PANEL_LIGHT)
        icon_car(c, (1600, 280), 88, ACCENT)
        kicker(c, "MINI TUTORIAL", y=300)
        c.paragraph(
            (LEFT, 380),
            "Cómo agendar tu cita RUNT en 3 pasos",
            "bold",
            100,
            WHITE,
            width=1220,
            line_height=1.1,
            max_lines=2,
        )
        c.text((LEFT, 640), "Sin filas, desde tu celular", "regular", 52, MUTED)
    elif step in (1, 2, 3):
        icon, colour, head, body = (
            (
                icon_phone,
                TEAL,
                "Entra a citas.cartagena.gov.co",
                "Desde tu celular o computador, a cualquier hora del día.",
            ),
            (
                icon_calendar,
                ACCENT,
                "Elige trámite, día y hora",
                "Matrícula, traspaso, licencia de conducción y más.",
            ),
            (
                icon_check,
                CORAL,
                "Confirma y llega a tiempo",
                "Te llega un correo con la cita. Trae tu documento de identidad.",
            ),
        )[step - 1]
        c.circle((300, 560), 200, PANEL_LIGHT)
        icon(c, (300, 560), 132, colour)
        c.circle((614, 300), 50, colour)
        c.text((614, 302), str(step), "display", 64, NAVY, anchor="mm")
        c.text((684, 302), f"Paso {step} de 3", "bold", 42, MUTED, anchor="lm")
        end = c.paragraph(
            (566, 390), head, "bold", 66, WHITE, width=CONTENT_RIGHT - 566, line_height=1.12,
            max_lines=2,
        )  # fmt: skip
        c.paragraph(
            (566, end + 24), body, "regular", 42, MUTED, width=CONTENT_RIGHT - 566, max_lines=3
        )
    else:
        c.text((middle, 400), "¡Listo!", "display", 160, ACCENT, anchor="mm")
        c.text((middle, 570), "Tu cita RUNT, sin filas", "bold", 72, WHITE, anchor="mm")
        c.text((middle, 680), "citas.cartagena.gov.co", "bold", 56, TEAL, anchor="mm")
    return c.finish(VIDEO_SIZE)


def video_frames() -> Iterator[bytes]:
    """Every frame: scenes held, cross-faded, with a progress bar along the bottom."""
    scenes = [video_scene(i) for i in range(5)]
    per_scene = round(VIDEO_SCENES_S * VIDEO_FPS)
    fade = round(VIDEO_FADE_S * VIDEO_FPS)
    total = per_scene * len(scenes)
    bar_h = 10
    for n in range(total):
        index, within = divmod(n, per_scene)
        frame = scenes[index]
        if index + 1 < len(scenes) and within >= per_scene - fade:
            t = (within - (per_scene - fade) + 1) / (fade + 1)
            frame = Image.blend(scenes[index], scenes[index + 1], t)
        else:
            frame = frame.copy()
        draw = ImageDraw.Draw(frame)
        draw.rectangle((0, VIDEO_SIZE[1] - bar_h, VIDEO_SIZE[0], VIDEO_SIZE[1]), fill=PANEL)
        done = round(VIDEO_SIZE[0] * (n + 1) / total)
        draw.rectangle((0, VIDEO_SIZE[1] - bar_h, done, VIDEO_SIZE[1]), fill=ACCENT)
        yield frame.tobytes()


def write_video(path: Path) -> None:
    """Encodes the frames with Debian's ffmpeg: H.264, yuv420p, no audio, fast start."""
    ffmpeg = shutil.which("ffmpeg")
    if ffmpeg is None:
        raise ContentError("ffmpeg not found: install it with `apt-get install ffmpeg`")
    tmp = path.with_name(path.stem + ".tmp.mp4")
    command = [
        ffmpeg, "-y", "-loglevel", "error",
        "-f", "rawvideo", "-pix_fmt", "rgb24",
        "-s", f"{VIDEO_SIZE[0]}x{VIDEO_SIZE[1]}", "-r", str(VIDEO_FPS), "-i", "-",
        "-an", "-c:v", "libx264", "-preset", "slow", "-crf", "24", "-tune", "stillimage",
        "-pix_fmt", "yuv420p", "-threads", "1", "-movflags", "+faststart",
        "-map_metadata", "-1", "-fflags", "+bitexact", "-flags:v", "+bitexact",
        str(tmp),
    ]  # fmt: skip
    with subprocess.Popen(command, stdin=subprocess.PIPE) as proc:
        stdin = proc.stdin
        if stdin is None:  # cannot happen with stdin=PIPE; keeps the type checker honest
            raise ContentError("could not open a pipe to ffmpeg")
        with stdin:
            for frame in video_frames():
                stdin.write(frame)
        code = proc.wait(timeout=300)
    if code != 0:
        tmp.unlink(missing_ok=True)
        raise ContentError(f"ffmpeg failed with exit code {code} while writing {path}")
    tmp.replace(path)


# -- the catalogue -------------------------------------------------------------------------


@dataclass(frozen=True)
class Asset:
    """One generated file: where it goes (relative to the output dir) and how to draw it."""

    path: str
    draw: Callable[[], Image.Image] | None = None
    video: bool = False


ASSETS: tuple[Asset, ...] = (
    Asset("marca/logo-oai.png", draw_logo),
    Asset("marca/fondo-institucional.png", slide_fondo_texto),
    Asset("infografias/eficiencia-tramites.png", slide_eficiencia),
    Asset("infografias/tickets-soporte.png", slide_tickets),
    Asset("infografias/adopcion-herramientas.png", slide_adopcion),
    Asset("innovacion/firma-digital.png", slide_firma_digital),
    Asset("innovacion/espacio-intranet.png", slide_intranet),
    Asset("historias/hacienda-paz-y-salvo.png", slide_historia),
    Asset("capacitacion/webinar-trimestral.png", slide_webinar),
    Asset("ciberseguridad/correo-sospechoso.png", slide_phishing),
    Asset("ciberseguridad/contrasenas.png", slide_contrasenas),
    Asset("ciudadania/citas-runt.png", slide_citas_runt),
    Asset("participacion/buzon-sugerencias.png", slide_buzon),
    Asset("participacion/encuesta-herramientas.png", slide_encuesta_herramientas),
    Asset("participacion/encuesta-atencion.png", slide_encuesta_atencion),
    Asset("videos/tutorial-citas-runt.mp4", video=True),
    Asset("vertical/bienvenida-sala.png", slide_v_bienvenida),
    Asset("vertical/citas-runt.png", slide_v_citas_runt),
    Asset("vertical/tramites-en-linea.png", slide_v_tramites),
    Asset("vertical/encuesta-atencion.png", slide_v_encuesta),
)


def save_png(image: Image.Image, path: Path) -> None:
    """Writes an optimised PNG through a temporary file and an atomic rename."""
    tmp = path.with_name(path.stem + ".tmp.png")
    image.save(tmp, "PNG", optimize=True)
    tmp.replace(path)


def generate(out: Path, only: Sequence[str] = ()) -> list[Path]:
    """Writes the assets (all, or those whose paths are in ``only``) under ``out``."""
    unknown = sorted(set(only) - {a.path for a in ASSETS})
    if unknown:
        known = ", ".join(a.path for a in ASSETS)
        raise ContentError(f"unknown asset {', '.join(unknown)}; known: {known}")
    written: list[Path] = []
    for asset in ASSETS:
        if only and asset.path not in only:
            continue
        target = out / asset.path
        target.parent.mkdir(parents=True, exist_ok=True)
        if asset.video:
            write_video(target)
        elif asset.draw is not None:
            save_png(asset.draw(), target)
        written.append(target)
    return written


def main(argv: Sequence[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else None)
    default_out = Path(__file__).resolve().parent.parent / "assets"
    parser.add_argument(
        "--out",
        type=Path,
        default=default_out,
        help="folder to write into (default: the repository's assets/)",
    )
    parser.add_argument(
        "--only",
        action="append",
        default=[],
        metavar="PATH",
        help="redraw only this asset (e.g. infografias/eficiencia-tramites.png); repeatable",
    )
    args = parser.parse_args(argv)
    try:
        for path in generate(args.out, args.only):
            print(f"{path}  {path.stat().st_size / 1024:.0f} KiB")
    except ContentError as exc:
        print(f"make_content: {exc}", file=sys.stderr)
        return 1
    return 0


if __name__ == "__main__":
    sys.exit(main())
