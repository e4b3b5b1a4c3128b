"""Data drawing room: what a data slide draws, as positioned shapes and texts (no Qt).

``plan`` turns a data slide, its numbers and a screen size into a ``Plan``: a background
gradient and a list of boxes, rings, lines and texts in screen pixels, laid out like the
bundled infographics (``tools/make_content.py``): category pill, title, a highlighted
figure in a card at the top right, the chart on the left clear of the QR plate, a source
line at the bottom. The player paints a plan with QPainter off the GUI thread
(``signage.player.dataview``); tests read the texts and rectangles directly.

Geometry is written in a 1920 × 1080 canvas (1080 × 1920 on a tall screen) and scaled.
Text widths come from an injected ``measure(text, px, weight)`` so this room needs no fonts.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import date

from signage.data.table import Series, format_number
from signage.i18n import N_, gettext_for
from signage.model import DEFAULT_LOCALE, Chart, DataContent, Theme

Measure = Callable[[str, float, str], float]
"""Width in pixels of ``text`` at pixel size ``px`` in weight ``regular``/``bold``/``display``."""

SERIES_COLOURS = ("#2ec4b6", "", "#ef6f6c", "#7fb7ff", "#c39bd3")  # "" = the theme accent
MONTHS = (
    "enero",
    "febrero",
    "marzo",
    "abril",
    "mayo",
    "junio",
    "julio",
    "agosto",
    "septiembre",
    "octubre",
    "noviembre",
    "diciembre",
)


@dataclass(frozen=True, slots=True)
class TextItem:
    """A text in a box; ``role`` says what it is (title, tag, value, label, card, ...)."""

    x: float
    y: float
    w: float
    h: float
    text: str
    px: float
    weight: str
    colour: str
    role: str
    align: str = "left"  # left | center | right
    valign: str = "top"  # top | middle | bottom
    wrap: bool = False


@dataclass(frozen=True, slots=True)
class BoxItem:
    """A filled rectangle with rounded corners (``radius`` in pixels)."""

    x: float
    y: float
    w: float
    h: float
    colour: str
    role: str
    radius: float = 0.0
    square_bottom: bool = False


@dataclass(frozen=True, slots=True)
class RingItem:
    """A ring gauge: a full ``track`` circle with ``fraction`` of it drawn in ``colour``."""

    cx: float
    cy: float
    r: float
    width: float
    fraction: float
    colour: str
    track: str
    role: str = "ring"


@dataclass(frozen=True, slots=True)
class LineItem:
    """A polyline (axis or line chart), with round dots at its points when ``dots`` > 0."""

    points: tuple[tuple[float, float], ...]
    colour: str
    width: float
    role: str
    dots: float = 0.0


Item = TextItem | BoxItem | RingItem | LineItem


@dataclass(frozen=True, slots=True)
class Plan:
    """Everything a data slide draws at one size."""

    width: int
    height: int
    top: str  # background gradient, top colour
    bottom: str  # and bottom colour
    items: tuple[Item, ...]
    glow: tuple[float, float, float, str] | None = None  # soft light: centre, radius, colour

    def texts(self, role: str | None = None) -> list[str]:
        """The texts drawn (with ``role`` only, when given), in drawing order."""
        return [i.text for i in self.items if isinstance(i, TextItem) and role in (None, i.role)]

    def boxes(self, role: str) -> list[BoxItem]:
        return [i for i in self.items if isinstance(i, BoxItem) and i.role == role]


def mix(a: str, b: str, t: float) -> str:
    """The colour ``t`` of the way from ``a`` to ``b`` (``#rrggbb``)."""
    ca = [int(a[i : i + 2], 16) for i in (1, 3, 5)]
    cb = [int(b[i : i + 2], 16) for i in (1, 3, 5)]
    return "#" + "".join(f"{round(x + (y - x) * t):02x}" for x, y in zip(ca, cb, strict=True))


AS_OF = N_("Data as of {date}")
MONTHS_EN = (
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December",
)  # fmt: skip


def as_of_text(day: date, locale: str = DEFAULT_LOCALE) -> str:
    """``Datos al 28 de noviembre de 2026`` in the screen's ``locale`` (``Data as of
    November 28, 2026`` in English); the year always, since the screen's today is unknown here."""
    if locale.replace("_", "-").split("-")[0].lower() == "en":
        spelled = f"{MONTHS_EN[day.month - 1]} {day.day}, {day.year}"
    else:  # Spanish, as every other on-screen word of a screen not in English
        spelled = f"{day.day} de {MONTHS[day.month - 1]} de {day.year}"
    return gettext_for(locale)(AS_OF).format(date=spelled)


def card_figure(data: DataContent, series: Series) -> str | None:
    """The highlighted figure: ``change`` (first to last, %), ``last``, ``total``, or text."""
    card = data.card
    if card is None:
        return None
    column = series.values[0] if series.values else ()
    if card == "change":
        if len(column) < 2 or column[0] == 0:
            return None
        change = (column[-1] - column[0]) / abs(column[0]) * 100
        return format_number(change, decimals=0, unit="%", sign=True)
    if card == "last" and column:
        return format_number(column[-1], decimals=data.decimals, unit=data.unit)
    if card == "total" and column:
        return format_number(sum(column), decimals=data.decimals, unit=data.unit)
    return card


@dataclass(frozen=True, slots=True)
class _Frame:
    """Where things go on the logical canvas."""

    cw: float
    ch: float
    left: float
    right: float  # right margin of the chart (clear of the QR plate)
    title_w: float
    card: tuple[float, float, float, float] | None
    chart_top: float
    chart_base: float
    footer_y: float


class _Canvas:
    """Collects items in logical coordinates and scales them to the screen."""

    def __init__(self, width: int, height: int, cw: float, ch: float) -> None:
        self.s = min(width / cw, height / ch)
        self.ox = (width - cw * self.s) / 2
        self.oy = (height - ch * self.s) / 2
        self.items: list[Item] = []

    def text(  # noqa: PLR0917 (a text has this many parts)
        self,
        box: tuple[float, float, float, float],
        text: str,
        px: float,
        weight: str,
        colour: str,
        role: str,
        *,
        align: str = "left",
        valign: str = "top",
        wrap: bool = False,
    ) -> None:
        x, y, w, h = box
        s = self.s
        self.items.append(
            TextItem(
                self.ox + x * s,
                self.oy + y * s,
                w * s,
                h * s,
                text,
                px * s,
                weight,
                colour,
                role,
                align,
                valign,
                wrap,
            )
        )

    def box(
        self,
        box: tuple[float, float, float, float],
        colour: str,
        role: str,
        radius: float = 0.0,
        *,
        square_bottom: bool = False,
    ) -> None:
        x, y, w, h = box
        s = self.s
        self.items.append(
            BoxItem(
                self.ox + x * s,
                self.oy + y * s,
                w * s,
                h * s,
                colour,
                role,
                radius * s,
                square_bottom,
            )
        )

    def ring(  # noqa: PLR0917 (a ring has this many parts)
        self, cx: float, cy: float, r: float, width: float, frac: float, colour: str, track: str
    ) -> None:
        s = self.s
        self.items.append(
            RingItem(self.ox + cx * s, self.oy + cy * s, r * s, width * s, frac, colour, track)
        )

    def line(self, points: Sequence[tuple[float, float]], colour: str, width: float, role: str,
             dots: float = 0.0) -> None:  # fmt: skip
        s = self.s
        pts = tuple((self.ox + x * s, self.oy + y * s) for x, y in points)
        self.items.append(LineItem(pts, colour, width * s, role, dots * s))


def _frame(width: int, height: int, has_card: bool) -> _Frame:
    if height > width:  # portrait: the QR plate takes the bottom right half from y ~1110
        card = (96.0, 430.0, 984.0, 630.0) if has_card else None
        top = 730.0 if has_card else 500.0
        return _Frame(1080, 1920, 96, 984, 888, card, top, 1010, 1040)
    card = (1360.0, 146.0, 1824.0, 376.0) if has_card else None
    return _Frame(1920, 1080, 96, 1300, 1216 if has_card else 1728, card, 430, 850, 890)


def plan(  # noqa: PLR0917 (the slide, its numbers, its look, its size, its fonts)
    data: DataContent,
    series: Series,
    theme: Theme,
    width: int,
    height: int,
    measure: Measure,
    *,
    locale: str = DEFAULT_LOCALE,
) -> Plan:
    """What a data slide draws on a ``width`` × ``height`` screen (pure); its own words
    (the date of the data) in the screen's ``locale``."""
    figure = card_figure(data, series)
    has_card = figure is not None and data.chart is not Chart.FIGURE
    f = _frame(width, height, has_card)
    c = _Canvas(width, height, f.cw, f.ch)

    def measured(text: str, px: float, weight: str) -> float:
        # at the size it will be drawn: a font's widths do not scale with its size (whole
        # pixels, hinting), and "MÉTRICAS" measured at 27 px overflowed its tag at 13.5 or 54
        return measure(text, px * c.s, weight) / c.s

    bg = theme.background
    top, bottom = mix(bg, theme.muted, 0.07), mix(bg, "#000000", 0.35)
    c.box((0, 130, 10, 815 if f.ch == 1080 else 1600), theme.accent, "rule")
    y = 150.0
    if data.tag:
        w = measured(data.tag, 27, "bold") + 48
        c.box((f.left, y, w, 48), theme.accent, "tag", 24)
        c.text((f.left + 24, y, w - 48, 48), data.tag, 27, "bold", bg, "tag", valign="middle")
    title_w = f.title_w
    one_line = measured(data.title, 72, "bold") <= title_w
    px = 72 if one_line else 56
    c.text((f.left, 210, title_w, 190), data.title, px, "bold", theme.foreground, "title",
           wrap=True)  # fmt: skip
    if has_card and f.card is not None and figure is not None:
        x0, y0, x1, y1 = f.card
        c.box((x0, y0, x1 - x0, y1 - y0), mix(bg, "#4a8fe0", 0.22), "card", 28)
        c.text((x0 + 32, y0 + 8, x1 - x0 - 48, 120), figure, 92, "display", theme.accent, "card")
        if data.card_caption:
            c.text((x0 + 36, y0 + 134, x1 - x0 - 64, y1 - y0 - 140), data.card_caption, 29,
                   "bold", theme.foreground, "caption", wrap=True)  # fmt: skip
    draw = {
        Chart.BAR: _bars,
        Chart.LINE: _line,
        Chart.TABLE: _table,
        Chart.RINGS: _rings,
        Chart.FIGURE: _figure,
    }[data.chart]
    first = len(c.items)
    draw(c, f, data, series, theme, figure)
    footer = [t for t in (data.credit, as_of_text(data.as_of, locale) if data.as_of else None) if t]
    if footer:
        # Below what the chart drew (axis labels, ring notes), above the ticker band; on a
        # tall screen in the left half, beside the QR plate.
        drawn = max(((i.y + i.h - c.oy) / c.s for i in c.items[first:]
                     if isinstance(i, TextItem)), default=0.0)  # fmt: skip
        y = max(f.footer_y, drawn + 8)
        tall = f.ch > f.cw
        c.text((f.left, y, 440 if tall else f.cw - 2 * f.left, 70 if tall else 40),
               " · ".join(footer), 26, "regular", theme.muted, "source", wrap=tall)  # fmt: skip
    glow = (c.ox + 380 * c.s, c.oy + 420 * c.s, 900 * c.s, mix(bg, "#2a62b0", 0.5))
    return Plan(width, height, top, bottom, tuple(c.items), glow)


def _colour(i: int, theme: Theme) -> str:
    return SERIES_COLOURS[i % len(SERIES_COLOURS)] or theme.accent


def _fmt(value: float, data: DataContent) -> str:
    return format_number(value, decimals=data.decimals, unit=data.unit)


def _bars(c: _Canvas, f: _Frame, data: DataContent, s: Series, theme: Theme, _: object) -> None:
    n, cols = len(s.labels), len(s.values)
    base, top = f.chart_base, f.chart_top
    c.line([(f.left, base), (f.right, base)], theme.muted, 3, "axis")
    peak = max((v for col in s.values for v in col), default=0.0)
    if n == 0 or peak <= 0:
        return
    slot = (f.right - f.left) / n
    bar_w = slot * 0.68 / cols
    value_px = min(38.0, slot * 0.16 + 14) if cols == 1 else min(34.0, bar_w * 0.27)
    label_px = min(29.0, slot * 0.12 + 10)
    plain = mix(theme.muted, theme.background, 0.25)
    for i, label in enumerate(s.labels):
        last = i == n - 1
        x0 = f.left + i * slot + (slot - bar_w * cols) / 2
        for k in range(cols):
            value = s.values[k][i]
            h = (base - top) * max(0.0, value) / peak
            colour = (theme.accent if last else plain) if cols == 1 else _colour(k, theme)
            x = x0 + k * bar_w
            c.box((x + 2, base - h, bar_w - 4, h), colour, "bar", min(14, bar_w / 6),
                  square_bottom=True)  # fmt: skip
            tint = theme.accent if (last and cols == 1) else theme.foreground
            pad = 20 if cols == 1 else 0  # side by side, each figure keeps to its own bar
            c.text((x - pad, base - h - 12 - value_px * 1.3, bar_w + 2 * pad, value_px * 1.3),
                   _fmt(value, data), value_px, "bold", tint, "value", align="center",
                   valign="bottom")  # fmt: skip
        weight, tint = ("bold", theme.foreground) if last else ("regular", theme.muted)
        c.text((f.left + i * slot, base + 14, slot, label_px * 1.4), label, label_px, weight,
               tint, "label", align="center")  # fmt: skip
    if cols > 1:
        _legend(c, f, s, theme)


def _legend(c: _Canvas, f: _Frame, s: Series, theme: Theme) -> None:
    x = f.left
    for k, name in enumerate(s.names):
        c.box((x, f.chart_top - 62, 26, 26), _colour(k, theme), "legend", 6)
        c.text((x + 36, f.chart_top - 70, 300, 40), name, 26, "regular", theme.muted, "legend")
        x += 320


def _line(c: _Canvas, f: _Frame, data: DataContent, s: Series, theme: Theme, _: object) -> None:
    n = len(s.labels)
    base, top = f.chart_base, f.chart_top
    c.line([(f.left, base), (f.right, base)], theme.muted, 3, "axis")
    every = [v for col in s.values for v in col]
    if n == 0 or not every:
        return
    low, high = min(0.0, *every), max(every)
    span = (high - low) or 1.0
    slot = (f.right - f.left) / n
    label_px = min(29.0, slot * 0.12 + 10)
    for k, col in enumerate(s.values):
        colour = theme.accent if k == 0 else _colour(k, theme)
        pts = [
            (f.left + (i + 0.5) * slot, base - 20 - (base - top - 40) * (v - low) / span)
            for i, v in enumerate(col)
        ]
        c.line(pts, colour, 8, "line", dots=14)
        for (x, y), v in zip(pts, col, strict=True):
            c.text((x - slot / 2, y - 66, slot, 46), _fmt(v, data), min(34.0, label_px + 4),
                   "bold", theme.foreground, "value", align="center", valign="bottom")  # fmt: skip
    for i, label in enumerate(s.labels):
        last = i == n - 1
        weight, tint = ("bold", theme.foreground) if last else ("regular", theme.muted)
        c.text((f.left + i * slot, base + 14, slot, label_px * 1.4), label, label_px, weight,
               tint, "label", align="center")  # fmt: skip
    if len(s.values) > 1:
        _legend(c, f, s, theme)


def _table(c: _Canvas, f: _Frame, data: DataContent, s: Series, theme: Theme, _: object) -> None:
    top = f.chart_top - 40
    rows = len(s.labels)
    avail = f.chart_base - top
    row_h = min(64.0, avail / max(1, rows + 1))
    px = row_h * 0.52
    width = f.right - f.left
    label_w = width * (0.46 if len(s.names) > 1 else 0.6)
    col_w = (width - label_w) / max(1, len(s.names))
    c.text((f.left + 20, top, label_w - 20, row_h), data.label, px, "bold", theme.muted, "head",
           valign="middle")  # fmt: skip
    for k, name in enumerate(s.names):
        c.text((f.left + label_w + k * col_w, top, col_w - 20, row_h), name, px, "bold",
               theme.muted, "head", align="right", valign="middle")  # fmt: skip
    panel = mix(theme.background, "#4a8fe0", 0.14)
    for r, label in enumerate(s.labels):
        y = top + (r + 1) * row_h
        if r % 2 == 0:
            c.box((f.left, y, width, row_h), panel, "stripe", 10)
        c.text((f.left + 20, y, label_w - 20, row_h), label, px, "regular", theme.foreground,
               "label", valign="middle")  # fmt: skip
        for k in range(len(s.names)):
            cell = _fmt(s.values[k][r], data)
            c.text((f.left + label_w + k * col_w, y, col_w - 20, row_h), cell, px, "bold",
                   theme.foreground, "value", align="right", valign="middle")  # fmt: skip


def _rings(c: _Canvas, f: _Frame, data: DataContent, s: Series, theme: Theme, _: object) -> None:
    n = len(s.labels)
    if n == 0 or not s.values:
        return
    slot = (f.right - f.left) / n
    r = min(140.0, slot * 0.34)
    cy = f.chart_top + 90
    track = mix(theme.background, "#4a8fe0", 0.22)
    for i, label in enumerate(s.labels):
        cx = f.left + (i + 0.5) * slot
        value = s.values[0][i]
        c.ring(cx, cy, r, r * 0.23, max(0.0, min(1.0, value / 100)), _colour(i, theme), track)
        px = r * 0.54
        c.text((cx - r, cy - r, 2 * r, 2 * r), _fmt(value, data), px, "display",
               theme.foreground, "value", align="center", valign="middle")  # fmt: skip
        c.text((cx - slot / 2, cy + r + 36, slot, 52), label, 38, "bold", theme.foreground,
               "label", align="center")  # fmt: skip
        if s.notes and s.notes[i]:
            c.text((cx - min(190, slot / 2), cy + r + 92, min(380, slot), 80), s.notes[i], 29,
                   "regular", theme.muted, "note", align="center", wrap=True)  # fmt: skip


def _figure(  # noqa: PLR0917 (every chart drawer takes the same arguments)
    c: _Canvas, f: _Frame, data: DataContent, s: Series, theme: Theme, figure: str | None
) -> None:
    column = s.values[0] if s.values else ()
    text = figure if figure is not None else (_fmt(column[-1], data) if column else "—")
    caption = data.card_caption or (s.labels[-1] if s.labels else "")
    width = f.right - f.left
    px = 230.0
    while px > 60 and measure_guess(text, px) > width:
        px -= 10
    c.text((f.left, f.chart_top - 60, width, px * 1.25), text, px, "display", theme.accent,
           "figure", valign="bottom")  # fmt: skip
    c.text((f.left, f.chart_top - 50 + px * 1.25, width, 150), caption, 48, "bold",
           theme.foreground, "caption", wrap=True)  # fmt: skip


def measure_guess(text: str, px: float) -> float:
    """A safe over-estimate of a figure's width (display digits are ~0.62 em wide)."""
    return len(text) * px * 0.62
