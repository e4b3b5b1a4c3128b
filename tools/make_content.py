"""Bundled content room: draws every picture, the logo and the tutorial video in assets/.

Run ``.venv/bin/python tools/make_content.py`` to rewrite ``assets/`` (or ``--out DIR`` to
write elsewhere, ``--only PATH`` to redraw some files). The output is deterministic: the
same fonts and the same Pillow/ffmpeg give byte-identical files, so a diff of ``assets/``
shows only what a change to this script meant to change.

Every slide is 1920×1080, drawn at twice that size and scaled down (Pillow draws shapes
without anti-aliasing; supersampling smooths them). Layout rules every slide keeps, because
the player draws over these places:

* the bottom-right 380×380 px stay calm (the QR code and its caption go there);
* the bottom 70 px stay calm (the ticker runs there);
* the top-right corner stays calm (the clock).

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

# The calm zones the player draws into (logical 1920×1080 coordinates).
QR_ZONE = (W - 380, H - 380, W, H)
TICKER_BAND = (0, H - 70, W, H)
CLOCK_ZONE = (W - 480, 0, W, 150)

LEFT = 96  # the left margin of every slide
RIGHT_LIMIT = W - 96

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
    """Navy gradient, a warm glow at the top left and a faint ring, all outside calm zones."""
    c.img.paste(vertical_gradient(c.img.size, "#0e2d55", NAVY_DEEP), (0, 0))
    c.draw = ImageDraw.Draw(c.img, "RGBA")
    glow(c, (-120, -160), 760, "#1f4f8a", 150)
    glow(c, (1760, 520), 420, "#15396a", 90)
    # A thin accent rule down the left edge, stopping above the ticker band.
    c.rect((0, 0, 10, H - 74), ACCENT)


@functools.cache
def logo_image() -> Image.Image:
    return draw_logo()


def header(c: Canvas) -> None:
    """The institutional header: logo, city hall, office."""
    c.paste(logo_image(), (LEFT - 6, 36), 96)
    c.text((LEFT + 108, 52), "Alcaldía de Cartagena de Indias", "bold", 30, WHITE)
    c.text((LEFT + 108, 92), "Oficina Asesora de Informática", "regular", 27, MUTED)


def kicker(c: Canvas, label: str, y: float = 176, colour: str = ACCENT) -> float:
    """The category pill above the title; returns its right edge."""
    w = c.text_width(label, "bold", 27) + 48
    c.rect((LEFT, y, LEFT + w, y + 48), colour, radius=24)
    c.text((LEFT + 24, y + 24), label, "bold", 27, NAVY, anchor="lm")
    return LEFT + w


def title(c: Canvas, text: str, y: float = 246, size: float = 72, width: float = 1720) -> float:
    """The slide's title: one line at ``size`` if it fits, else two smaller lines."""
    if len(c.wrap(text, "bold", size, width)) == 1:
        return c.paragraph((LEFT, y), text, "bold", size, WHITE, width=width, max_lines=1)
    return c.paragraph(
        (LEFT, y - 8), text, "bold", size * 0.8, WHITE, width=width, line_height=1.12, max_lines=2
    )


def footnote(c: Canvas, text: str, y: float = 966) -> None:
    c.text((LEFT, y), text, "regular", 26, MUTED)


def slide(kicker_label: str, heading: str, heading_size: float = 72) -> Canvas:
    """A new slide with background, header, kicker and title drawn."""
    c = Canvas()
    background(c)
    header(c)
    kicker(c, kicker_label)
    title(c, heading, size=heading_size)
    return c


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


def icon_shield(c: Canvas, ctr: Point, r: float, colour: str, mark: str = NAVY) -> None:
    x, y = ctr
    c.polygon(
        [
            (x - r * 0.8, y - r * 0.7),
            (x, y - r),
            (x + r * 0.8, y - r * 0.7),
            (x + r * 0.74, y + r * 0.1),
            (x + r * 0.4, y + r * 0.65),
            (x, y + r),
            (x - r * 0.4, y + r * 0.65),
            (x - r * 0.74, y + r * 0.1),
        ],
        colour,
    )
    c.line(
        [(x - r * 0.38, y), (x - r * 0.08, y + r * 0.3), (x + r * 0.4, y - r * 0.3)], mark, r * 0.16
    )


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


def scan_hint(c: Canvas, label: str, y: float = 905) -> None:
    """ "Escanea…" with an arrow pointing at the corner where the player draws the QR code."""
    right = QR_ZONE[0] - 40
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
    c.text((x0, y), label, "bold", 34, WHITE, anchor="lm")
    bar_x = x0 + 130
    length = (x1 - bar_x - 140) * value / vmax
    c.rect((bar_x, y - 34, bar_x + (x1 - bar_x - 140), y + 34), PANEL_LIGHT, radius=34)
    c.rect((bar_x, y - 34, bar_x + length, y + 34), colour, radius=34)
    c.text((bar_x + length + 22, y), value_text, "bold", 42, colour, anchor="lm")


def slide_eficiencia() -> Image.Image:
    c = slide("EFICIENCIA", "Radicación electrónica: trámites más rápidos")
    c.text((LEFT - 12, 388), "–38 %", "display", 250, ACCENT)
    c.text((LEFT, 688), "menos tiempo por trámite", "bold", 52, WHITE)
    c.text((LEFT, 756), "de 8,2 a 5,1 días hábiles en promedio", "regular", 38, MUTED)

    panel = (990, 400, 1824, 690)
    x0, x1 = panel[0] + 44, panel[2] - 20
    c.card(panel)
    c.text((panel[0] + 44, panel[1] + 40), "Días hábiles por trámite", "bold", 32, MUTED)
    bar_row(c, 540, "2025", 8.2, vmax=8.2, colour=CORAL, value_text="8,2", x0=x0, x1=x1)
    bar_row(c, 630, "2026", 5.1, vmax=8.2, colour=TEAL, value_text="5,1", x0=x0, x1=x1)

    stats = (
        (icon_document, "12.400", "radicados en línea"),
        (icon_clock, "3,1 días", "ahorrados por trámite"),
        (icon_check, "96 %", "respondidos a tiempo"),
    )
    for i, (icon, figure, label) in enumerate(stats):
        x = LEFT + i * 470
        icon(c, (x + 40, 868), 38, TEAL)
        c.text((x + 100, 840), figure, "bold", 44, WHITE)
        c.text((x + 100, 894), label, "regular", 28, MUTED)
    footnote(c, "Fuente: OAI, enero a octubre de 2026 frente al mismo periodo de 2025.", 972)
    return c.finish()


def slide_tickets() -> Image.Image:
    c = slide("MÉTRICAS", "Menos tickets de soporte: las herramientas se adoptan")
    quarters = (
        ("T3 2025", 1240),
        ("T4 2025", 1105),
        ("T1 2026", 930),
        ("T2 2026", 812),
        ("T3 2026", 705),
    )
    base, top = 900, 540
    c.line([(LEFT, base), (1420, base)], MUTED, 3)
    for i, (label, value) in enumerate(quarters):
        x = LEFT + 40 + i * 266
        h = (base - top) * value / 1240
        last = i == len(quarters) - 1
        colour = ACCENT if last else mix(MUTED, NAVY, 0.25)
        c.rect((x, base - h, x + 170, base), colour, radius=14)
        c.rect((x, base - 20, x + 170, base), colour)
        c.text(
            (x + 85, base - h - 14),
            f"{value:,}".replace(",", "."),
            "bold",
            40,
            ACCENT if last else WHITE,
            anchor="mb",
        )
        c.text(
            (x + 85, base + 18),
            label,
            "bold" if last else "regular",
            30,
            WHITE if last else MUTED,
            anchor="ma",
        )
    c.text((1480, 400), "–43 %", "display", 130, ACCENT)
    c.paragraph(
        (1488, 560),
        "tickets por trimestre en solo un año",
        "bold",
        34,
        WHITE,
        width=340,
        line_height=1.2,
        max_lines=3,
    )
    footnote(c, "Solicitudes a la Mesa de ayuda OAI por trimestre.", 968)
    return c.finish()


def slide_adopcion() -> Image.Image:
    c = slide("ADOPCIÓN", "Así usamos las nuevas herramientas")
    gauges = (
        ("Intranet", 87, "de los funcionarios entra cada semana", TEAL),
        ("Firma digital", 64, "de las dependencias ya firma en línea", ACCENT),
        ("Mesa de ayuda en línea", 78, "de los casos se abren desde la web", CORAL),
    )
    for i, (name, pct, note, colour) in enumerate(gauges):
        cx, cy, r = 300 + i * 450, 560, 150
        c.circle((cx, cy), r, outline=PANEL_LIGHT, width=34)
        c.arc((cx - r, cy - r, cx + r, cy + r), -90, -90 + 360 * pct / 100, colour, 34)
        c.text((cx, cy), f"{pct} %", "display", 80, WHITE, anchor="mm")
        c.text((cx, 760), name, "bold", 38, WHITE, anchor="ma")
        c.paragraph(
            (cx, 815),
            note,
            "regular",
            29,
            MUTED,
            width=380,
            line_height=1.2,
            max_lines=2,
            anchor_x="m",
        )
    goal = (1520, 420, 1824, 660)
    c.card(goal, PANEL_LIGHT)
    c.text((goal[0] + 36, goal[1] + 36), "Meta 2026", "bold", 32, MUTED)
    c.text((goal[0] + 36, goal[1] + 84), "90 %", "display", 96, ACCENT)
    c.text((goal[0] + 36, goal[1] + 192), "en las tres", "regular", 28, WHITE)
    footnote(c, "Medición de la OAI, octubre de 2026.", 968)
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
        c.paragraph((x + 84, top + 54), sub, "regular", 29, MUTED, width=width - 84, max_lines=1)


def slide_firma_digital() -> Image.Image:
    c = slide("INNOVACIÓN", "La firma digital llega a todas las dependencias")
    checklist(
        c,
        (
            ("Firma desde tu equipo", "Sin imprimir, escanear ni desplazarte a otra oficina."),
            ("Con plena validez jurídica", "Ley 527 de 1999 y Decreto 2364 de 2012."),
            ("Cada firma queda registrada", "Sabes quién firmó, cuándo y qué versión."),
        ),
        x=LEFT,
        y=430,
        step=150,
        width=1080,
    )
    c.circle((1360, 540), 200, PANEL_LIGHT)
    icon_document(c, (1340, 545), 140, WHITE)
    footnote(c, "Pide tu certificado de firma en la Mesa de ayuda OAI · extensión 4444", 900)
    return c.finish()


def feature_cards(
    c: Canvas,
    cards: Sequence[tuple[Callable[..., None], str, str]],
    top: float = 420,
    bottom: float = 900,
) -> None:
    for i, (icon, head, body) in enumerate(cards):
        x0 = LEFT + i * 470
        box = (x0, top, x0 + 430, bottom)
        c.card(box)
        icon(c, (x0 + 215, top + 100), 62, ACCENT)
        c.text((x0 + 215, top + 196), head, "bold", 42, WHITE, anchor="ma")
        c.paragraph(
            (x0 + 215, top + 262), body, "regular", 30, MUTED, width=370, max_lines=5, anchor_x="m"
        )


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
            (
                icon_chat,
                "Foros",
                "Pregunta, comparte soluciones y propone mejoras con tus colegas.",
            ),
            (
                icon_book,
                "Guías paso a paso",
                "Una guía digital para cada plataforma de la Alcaldía.",
            ),
        ),
    )
    c.text((LEFT, 940), "intranet.cartagena.gov.co/oai", "bold", 38, ACCENT)
    return c.finish()


def slide_historia() -> Image.Image:
    c = slide("HISTORIA DE ÉXITO", "Hacienda entrega el paz y salvo el mismo día")
    before = (LEFT, 420, 560, 650)
    after = (760, 420, 1250, 650)
    for box, label, figure, colour in (
        (before, "Antes", "5 días", CORAL),
        (after, "Ahora", "4 horas", TEAL),
    ):
        c.card(box)
        c.text((box[0] + 40, box[1] + 34), label, "bold", 34, MUTED)
        c.text((box[0] + 40, box[1] + 86), figure, "display", 110, colour)
    arrow(c, (588, 535), (732, 535), ACCENT, 18)
    side = (1290, 420, 1824, 650)
    c.card(side, PANEL_LIGHT)
    c.text((side[0] + 36, side[1] + 34), "3.200", "display", 96, ACCENT)
    c.paragraph(
        (side[0] + 36, side[1] + 150),
        "certificados al mes, sin filas",
        "bold",
        32,
        WHITE,
        width=460,
        max_lines=2,
    )
    c.text((LEFT - 6, 672), "“", "display", 170, ACCENT)
    end = c.paragraph(
        (LEFT + 90, 712),
        "Ahora el ciudadano pide su paz y salvo en línea y lo recibe en su correo "
        "antes de terminar la jornada.",
        "italic",
        42,
        WHITE,
        width=1330,
        line_height=1.22,
        max_lines=2,
    )
    c.text(
        (LEFT + 90, end + 16),
        "— Equipo de Impuestos, Secretaría de Hacienda Distrital",
        "regular",
        29,
        MUTED,
    )
    c.text((LEFT, 940), "Cómo lo lograron:", "bold", 32, WHITE, anchor="lm")
    x = LEFT + c.text_width("Cómo lo lograron:", "bold", 32) + 24
    for step in ("formulario en línea", "validación automática", "firma digital"):
        w = c.text_width(step, "regular", 30) + 48
        c.rect((x, 915, x + w, 965), PANEL_LIGHT, radius=25)
        c.text((x + 24, 940), step, "regular", 30, WHITE, anchor="lm")
        x += w + 18
    return c.finish()


def slide_webinar() -> Image.Image:
    c = slide("CAPACITACIÓN", "Webinar trimestral de la OAI")
    c.paragraph(
        (LEFT, 340),
        "Ciberseguridad y firma digital: lo nuevo del trimestre",
        "bold",
        46,
        ACCENT,
        width=1500,
        max_lines=1,
    )
    page = (LEFT, 440, LEFT + 330, 800)
    c.card(page, WHITE, radius=30)
    c.rect((page[0], page[1], page[2], page[1] + 96), CORAL, radius=30)
    c.rect((page[0], page[1] + 60, page[2], page[1] + 96), CORAL)
    c.text(((page[0] + page[2]) / 2, page[1] + 50), "ENERO 2027", "bold", 38, WHITE, anchor="mm")
    c.text(((page[0] + page[2]) / 2, page[1] + 200), "21", "display", 170, NAVY, anchor="mm")
    c.text(((page[0] + page[2]) / 2, page[1] + 318), "jueves", "bold", 38, PANEL, anchor="mm")
    rows = (
        (icon_clock, "10:00 a. m. a 11:30 a. m.", "Hora de Colombia"),
        (icon_play, "En línea, desde tu puesto", "El enlace llega a tu correo al inscribirte"),
        (icon_people, "Servidores públicos y contratistas", "Cupos limitados: 300 personas"),
    )
    for i, (icon, head, sub) in enumerate(rows):
        y = 470 + i * 118
        icon(c, (560, y + 32), 40, TEAL)
        c.text((630, y), head, "bold", 40, WHITE)
        c.text((630, y + 52), sub, "regular", 29, MUTED)
    topics = (1330, 440, 1824, 690)
    c.card(topics, PANEL_LIGHT)
    c.text((topics[0] + 40, topics[1] + 32), "Temas", "bold", 34, ACCENT)
    for i, topic in enumerate(
        ("Phishing: casos reales", "Firma digital paso a paso", "Preguntas en vivo")
    ):
        y = topics[1] + 96 + i * 50
        c.circle((topics[0] + 52, y + 18), 9, TEAL)
        c.text((topics[0] + 76, y), topic, "regular", 31, WHITE)
    scan_hint(c, "Inscríbete: escanea el código")
    return c.finish()


def step_cards(
    c: Canvas,
    steps: Sequence[tuple[Callable[..., None], str, str, str]],
    top: float = 420,
    bottom: float = 880,
) -> None:
    for i, (icon, colour, head, body) in enumerate(steps):
        x0 = LEFT + i * 470
        box = (x0, top, x0 + 430, bottom)
        c.card(box)
        c.circle((x0 + 56, top + 56), 34, colour)
        c.text((x0 + 56, top + 57), str(i + 1), "bold", 40, NAVY, anchor="mm")
        icon(c, (x0 + 215, top + 130), 70, colour)
        c.text((x0 + 215, top + 230), head, "bold", 44, WHITE, anchor="ma")
        c.paragraph(
            (x0 + 215, top + 298), body, "regular", 30, MUTED, width=370, max_lines=4, anchor_x="m"
        )


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
    c.text((LEFT, 930), "La OAI nunca te pedirá tu contraseña por correo.", "bold", 36, ACCENT)
    return c.finish()


def slide_contrasenas() -> Image.Image:
    c = slide("CIBERSEGURIDAD", "Tu contraseña es la llave de la Alcaldía")
    c.circle((330, 640), 210, PANEL_LIGHT)
    icon_lock(c, (330, 650), 150, ACCENT, hole=PANEL_LIGHT)
    checklist(
        c,
        (
            ("Usa una frase larga", "12 caracteres o más: fácil de recordar, difícil de adivinar."),
            (
                "Activa la verificación en dos pasos",
                "Un código en tu celular frena casi todos los ataques.",
            ),
            ("No la compartas con nadie", "Ni con soporte técnico: nunca te la pediremos."),
            (
                "Bloquea tu equipo al levantarte",
                "Windows + L: un segundo que protege tu información.",
            ),
        ),
        x=640,
        y=400,
        step=138,
        width=880,
    )
    return c.finish()


def slide_citas_runt() -> Image.Image:
    c = slide("SERVICIO A LA CIUDADANÍA", "Agenda tu cita RUNT en línea, sin filas")
    step_cards(
        c,
        (
            (icon_phone, TEAL, "Entra", "Desde tu celular o computador, a cualquier hora."),
            (icon_calendar, ACCENT, "Elige", "El trámite, el día y la hora que prefieras."),
            (icon_check, CORAL, "Llega", "10 minutos antes, con tu documento de identidad."),
        ),
    )
    c.circle((1660, 560), 130, PANEL_LIGHT)
    icon_car(c, (1660, 570), 100, ACCENT)
    scan_hint(c, "Agenda aquí: escanea el código", y=940)
    return c.finish()


def slide_buzon() -> Image.Image:
    c = slide("PARTICIPACIÓN", "Buzón de sugerencias")
    c.paragraph(
        (LEFT, 400),
        "¿Tienes una idea para mejorar nuestros sistemas? ¿Algo no funciona como esperabas?",
        "bold",
        56,
        ACCENT,
        width=1120,
        line_height=1.2,
        max_lines=3,
    )
    c.paragraph(
        (LEFT, 640),
        "Cuéntanos desde tu celular. Leemos cada mensaje y te respondemos en 5 días hábiles.",
        "regular",
        40,
        WHITE,
        width=1050,
        line_height=1.3,
        max_lines=2,
    )
    c.circle((1480, 520), 190, PANEL_LIGHT)
    icon_envelope(c, (1455, 560), 120, WHITE)
    icon_bulb(c, (1560, 420), 80, ACCENT)
    scan_hint(c, "Escanea y escríbenos", y=900)
    return c.finish()


def faces_row(c: Canvas, y: float, x0: float = 220, step: float = 230, r: float = 84) -> None:
    colours = (CORAL, mix(CORAL, ACCENT, 0.5), ACCENT, mix(ACCENT, TEAL, 0.5), TEAL)
    for i, colour in enumerate(colours):
        icon_face(c, (x0 + i * step, y), r, colour, -1 + i / 2)


def slide_encuesta_herramientas() -> Image.Image:
    c = slide("TU OPINIÓN CUENTA", "¿Cómo te va con las herramientas de la OAI?")
    faces_row(c, 520)
    c.text((LEFT, 660), "Encuesta de satisfacción: 1 minuto, anónima.", "bold", 46, WHITE)
    c.paragraph(
        (LEFT, 730),
        "Intranet, correo, firma digital, Mesa de ayuda: con tus respuestas decidimos "
        "qué mejorar primero.",
        "regular",
        36,
        MUTED,
        width=1200,
        max_lines=2,
    )
    scan_hint(c, "Escanea y opina")
    return c.finish()


def slide_encuesta_atencion() -> Image.Image:
    c = slide("TU OPINIÓN CUENTA", "¿Cómo te atendimos hoy?")
    faces_row(c, 520)
    c.text((LEFT, 660), "Califícanos en 1 minuto. Es anónimo.", "bold", 46, WHITE)
    c.paragraph(
        (LEFT, 730),
        "Tus respuestas nos ayudan a mejorar la atención y los servicios en línea de la Alcaldía.",
        "regular",
        36,
        MUTED,
        width=1200,
        max_lines=2,
    )
    scan_hint(c, "Escanea y califícanos")
    return c.finish()


def slide_fondo_texto() -> Image.Image:
    """A calm branded picture for text slides that want one beside their words."""
    c = Canvas()
    background(c)
    c.circle((W / 2, 470), 300, PANEL)
    c.paste(logo_image(), (W / 2 - 230, 240), 460)
    c.text((W / 2, 850), "Alcaldía de Cartagena de Indias", "bold", 56, WHITE, anchor="ma")
    c.text((W / 2, 930), "Oficina Asesora de Informática", "regular", 40, MUTED, anchor="ma")
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
    header(c)
    if step == 0:
        kicker(c, "MINI TUTORIAL", y=350)
        c.paragraph(
            (LEFT, 430),
            "Cómo agendar tu cita RUNT en 3 pasos",
            "bold",
            104,
            WHITE,
            width=1150,
            line_height=1.1,
            max_lines=2,
        )
        c.text((LEFT, 700), "Sin filas, desde tu celular", "regular", 52, MUTED)
        c.circle((1490, 600), 250, PANEL_LIGHT)
        icon_car(c, (1490, 615), 185, ACCENT)
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
        c.circle((370, 600), 250, PANEL_LIGHT)
        icon(c, (370, 600), 165, colour)
        c.circle((760, 380), 58, colour)
        c.text((760, 382), str(step), "display", 74, NAVY, anchor="mm")
        c.text((842, 382), f"Paso {step} de 3", "bold", 46, MUTED, anchor="lm")
        c.paragraph((702, 470), head, "bold", 80, WHITE, width=1130, line_height=1.12, max_lines=2)
        c.paragraph((702, 690), body, "regular", 48, MUTED, width=1100, max_lines=2)
    else:
        c.text((W / 2, 440), "¡Listo!", "display", 160, ACCENT, anchor="mm")
        c.text((W / 2, 610), "Tu cita RUNT, sin filas", "bold", 76, WHITE, anchor="mm")
        c.text((W / 2, 720), "citas.cartagena.gov.co", "bold", 56, TEAL, anchor="mm")
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
