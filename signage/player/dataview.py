"""Data slide room: a chart or figure read, laid out and painted off the GUI thread.

``DataView.prepare`` hands the data file to ``DataPainter``'s thread pool, which reads it
(bounded, through ``signage.safeopen``), checks it (``signage.data``), plans the drawing
(``signage.data.drawing.plan``) and paints the plan into a QImage of the screen's size.
The GUI thread only receives the finished picture (a queued signal) and draws it, so a
data slide's first frame costs what a picture's does. Bad data fails the view with the
reason (file, line, column); the player skips it like any slide that cannot be shown.
"""

from __future__ import annotations

import itertools
from dataclasses import dataclass
from pathlib import Path

from PySide6.QtCore import (
    QCoreApplication,
    QObject,
    QPointF,
    QRectF,
    QRunnable,
    Qt,
    QThreadPool,
    Signal,
)
from PySide6.QtGui import (
    QBrush,
    QColor,
    QFont,
    QFontMetricsF,
    QImage,
    QLinearGradient,
    QPainter,
    QPainterPath,
    QPaintEvent,
    QPen,
    QRadialGradient,
    QResizeEvent,
)
from PySide6.QtWidgets import QWidget

from signage.data.drawing import BoxItem, LineItem, Plan, RingItem, TextItem, plan
from signage.data.files import load_series
from signage.data.table import DataProblem
from signage.i18n import _
from signage.logs import area_logger
from signage.model import DEFAULT_LOCALE, DataContent, Slide, SlideKind, Theme
from signage.player.views import SlideResources, SlideView, asset_file

log = area_logger("player")

__all__ = ["DataPainter", "DataView", "paint_plan", "qt_measure", "single_line"]


def _font(theme: Theme, px: float, weight: str) -> QFont:
    font = QFont()
    if weight == "display":
        font.setFamilies(["Noto Sans Display", theme.title_font_family])
    else:
        font.setFamilies([theme.title_font_family if weight == "bold" else theme.font_family])
    font.setPixelSize(max(1, round(px)))
    if weight != "regular":
        font.setWeight(QFont.Weight.Bold)
    return font


@dataclass(frozen=True, slots=True)
class qt_measure:
    """``Measure`` for ``signage.data.drawing.plan`` with the theme's fonts (any thread)."""

    theme: Theme

    def __call__(self, text: str, px: float, weight: str) -> float:
        return QFontMetricsF(_font(self.theme, px, weight)).horizontalAdvance(text)


_ALIGN = {
    "left": Qt.AlignmentFlag.AlignLeft,
    "center": Qt.AlignmentFlag.AlignHCenter,
    "right": Qt.AlignmentFlag.AlignRight,
}
_VALIGN = {
    "top": Qt.AlignmentFlag.AlignTop,
    "middle": Qt.AlignmentFlag.AlignVCenter,
    "bottom": Qt.AlignmentFlag.AlignBottom,
}


def paint_plan(painter: QPainter, drawing: Plan, theme: Theme) -> None:
    """Draws a plan (any thread, onto a QImage)."""
    painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
    painter.setRenderHint(QPainter.RenderHint.TextAntialiasing, True)
    gradient = QLinearGradient(0, 0, 0, drawing.height)
    gradient.setColorAt(0.0, QColor(drawing.top))
    gradient.setColorAt(1.0, QColor(drawing.bottom))
    painter.fillRect(QRectF(0, 0, drawing.width, drawing.height), QBrush(gradient))
    if drawing.glow is not None:
        gx, gy, radius, colour = drawing.glow
        light = QRadialGradient(QPointF(gx, gy), radius)
        inner, outer = QColor(colour), QColor(colour)
        inner.setAlpha(110)
        outer.setAlpha(0)
        light.setColorAt(0.0, inner)
        light.setColorAt(1.0, outer)
        painter.fillRect(QRectF(0, 0, drawing.width, drawing.height), QBrush(light))
    for item in drawing.items:
        if isinstance(item, BoxItem):
            _box(painter, item)
        elif isinstance(item, RingItem):
            _ring(painter, item)
        elif isinstance(item, LineItem):
            _line(painter, item)
        else:
            _text(painter, item, theme)


def _box(painter: QPainter, b: BoxItem) -> None:
    painter.setPen(Qt.PenStyle.NoPen)
    painter.setBrush(QColor(b.colour))
    rect = QRectF(b.x, b.y, b.w, b.h)
    if b.radius <= 0:
        painter.drawRect(rect)
        return
    path = QPainterPath()
    path.addRoundedRect(rect, b.radius, b.radius)
    painter.drawPath(path)
    if b.square_bottom and b.h > b.radius:
        painter.drawRect(QRectF(b.x, b.y + b.h - b.radius, b.w, b.radius))


def _ring(painter: QPainter, r: RingItem) -> None:
    rect = QRectF(r.cx - r.r, r.cy - r.r, 2 * r.r, 2 * r.r)
    painter.setBrush(Qt.BrushStyle.NoBrush)
    pen = QPen(QColor(r.track), r.width)
    painter.setPen(pen)
    painter.drawEllipse(rect)
    pen = QPen(QColor(r.colour), r.width)
    pen.setCapStyle(Qt.PenCapStyle.FlatCap)
    painter.setPen(pen)
    painter.drawArc(rect, 90 * 16, -round(r.fraction * 360 * 16))


def _line(painter: QPainter, line: LineItem) -> None:
    pen = QPen(QColor(line.colour), line.width)
    pen.setCapStyle(Qt.PenCapStyle.RoundCap)
    pen.setJoinStyle(Qt.PenJoinStyle.RoundJoin)
    painter.setPen(pen)
    painter.setBrush(Qt.BrushStyle.NoBrush)
    points = [QPointF(x, y) for x, y in line.points]
    painter.drawPolyline(points)
    if line.dots > 0:
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(QColor(line.colour))
        for p in points:
            painter.drawEllipse(p, line.dots, line.dots)


def _text(painter: QPainter, t: TextItem, theme: Theme) -> None:
    font = _font(theme, t.px, t.weight)
    painter.setFont(font)
    painter.setPen(QColor(t.colour))
    flags = int(_ALIGN.get(t.align, Qt.AlignmentFlag.AlignLeft)) | int(
        _VALIGN.get(t.valign, Qt.AlignmentFlag.AlignTop)
    )
    metrics = QFontMetricsF(font)
    if t.wrap:  # lines set at 1.12 (titles) or 1.2 times the size, like the infographics
        step = t.px * (1.12 if t.role == "title" else 1.2)
        lines = _wrapped(t.text, metrics, t.w)[: max(1, int(t.h // step))]
        top = t.y
        if t.valign == "middle":
            top += (t.h - step * len(lines)) / 2
        elif t.valign == "bottom":
            top += t.h - step * len(lines)
        flags = int(_ALIGN.get(t.align, Qt.AlignmentFlag.AlignLeft)) | int(
            Qt.AlignmentFlag.AlignVCenter
        )
        for i, line in enumerate(lines):
            painter.drawText(QRectF(t.x, top + i * step, t.w, step), flags, line)
        return
    font, text = single_line(t, theme)
    painter.setFont(font)
    painter.drawText(QRectF(t.x, t.y, t.w, t.h), flags, text)


def single_line(t: TextItem, theme: Theme) -> tuple[QFont, str]:
    """The font and words of a one-line text, cut with "…" where its box is too narrow."""
    font = _font(theme, t.px, t.weight)
    return font, QFontMetricsF(font).elidedText(t.text, Qt.TextElideMode.ElideRight, t.w)


def _wrapped(text: str, metrics: QFontMetricsF, width: float) -> list[str]:
    """Greedy word wrap at ``width`` (a word wider than the box gets a line of its own)."""
    lines: list[str] = []
    line = ""
    for word in text.split():
        trial = f"{line} {word}" if line else word
        if line and metrics.horizontalAdvance(trial) > width:
            lines.append(line)
            line = word
        else:
            line = trial
    if line:
        lines.append(line)
    return lines


def render_data(  # noqa: PLR0917 (the file, the slide, its look and size)
    path: Path,
    name: str,
    data: DataContent,
    theme: Theme,
    width: int,
    height: int,
    *,
    locale: str = DEFAULT_LOCALE,
) -> tuple[QImage, Plan]:
    """Reads, checks, plans and paints a data slide; DataProblem when the data is bad."""
    series = load_series(path, path.parent, name, data)
    drawing = plan(data, series, theme, width, height, qt_measure(theme), locale=locale)
    image = QImage(width, height, QImage.Format.Format_RGB32)
    painter = QPainter(image)
    try:
        paint_plan(painter, drawing, theme)
    finally:
        painter.end()
    return image, drawing


class _PaintTask(QRunnable):
    def __init__(  # noqa: PLR0917 (one job's inputs)
        self,
        owner: DataPainter,
        token: int,
        path: Path,
        name: str,
        data: DataContent,
        theme: Theme,
        size: tuple[int, int],
        locale: str = DEFAULT_LOCALE,
    ) -> None:
        super().__init__()
        self._owner = owner
        self._job = (token, path, name, data, theme, size, locale)

    def run(self) -> None:
        token, path, name, data, theme, (w, h), locale = self._job
        try:
            image, drawing = render_data(path, name, data, theme, w, h, locale=locale)
            self._owner.painted.emit(token, image, drawing, "")
        except DataProblem as exc:
            self._owner.painted.emit(token, QImage(), None, str(exc))
        except Exception as exc:  # a bug must not kill the worker silently
            log.exception("data slide %s could not be drawn", name)
            self._owner.painted.emit(token, QImage(), None, f"data slide failed: {exc}")


class DataPainter(QObject):
    """Paints data slides on its own thread; results come back through ``painted``.

    ``painted(token, image, plan, error)``: ``image`` is null and ``error`` says why on
    failure. One per application (``shared``), like the image decoder.
    """

    painted = Signal(int, QImage, object, str)

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        self._tokens = itertools.count(1)

    @classmethod
    def shared(cls) -> DataPainter:
        """The application's painter (made on first use, a child of the application)."""
        app = QCoreApplication.instance()
        found = app.findChild(DataPainter, "signage-data-painter") if app is not None else None
        if isinstance(found, DataPainter):
            return found
        painter = cls(app)
        painter.setObjectName("signage-data-painter")
        return painter

    def request(  # noqa: PLR0917 (one job's inputs)
        self,
        path: Path,
        name: str,
        data: DataContent,
        theme: Theme,
        width: int,
        height: int,
        *,
        locale: str = DEFAULT_LOCALE,
    ) -> int:
        token = next(self._tokens)
        task = _PaintTask(self, token, path, name, data, theme, (width, height), locale)
        self._pool.start(task)
        return token

    def wait(self, timeout_ms: int = 5000) -> None:
        self._pool.waitForDone(timeout_ms)


class DataView(SlideView):
    """A data slide: painted off the GUI thread for the view's size, then drawn like a picture.

    ``plan`` is what was drawn (texts, bars, rings), for tests and previews.
    """

    kind = SlideKind.DATA

    def __init__(self, parent: QWidget | None, slide: Slide, res: SlideResources) -> None:
        super().__init__(parent, slide, res)
        self._image = QImage()
        self._token = 0
        self._painted_for = (0, 0)
        self._path = Path()
        self.plan: Plan | None = None
        self._painter = DataPainter.shared()
        self._painter.painted.connect(self._on_painted)

    def _load(self) -> None:
        slide = self._need_slide()
        if slide.data is None:
            raise ValueError("data slide without its data")
        if not slide.source:
            raise ValueError(
                _("the data of this slide was never fetched by the publisher (see the hub log)")
            )
        self._path = asset_file(self.res.content, slide.source)
        self._request()

    def _request(self) -> None:
        slide = self._need_slide()
        assert slide.data is not None  # noqa: S101 (checked in _load)
        self._painted_for = self._size()
        w, h = self._painted_for
        self._token = self._painter.request(
            self._path,
            slide.source,
            slide.data,
            self.res.theme,
            w,
            h,
            locale=self.res.screen.locale,
        )

    def _on_painted(self, token: int, image: QImage, drawing: object, error: str) -> None:
        if token != self._token:
            return
        if self.state in ("ready", "started"):  # repainted for a new size
            if not image.isNull() and isinstance(drawing, Plan):
                self._image, self.plan = image, drawing
                self.update()
            return
        if self.state != "preparing":
            return
        if image.isNull() or not isinstance(drawing, Plan):
            self._fail(error or "the data slide could not be drawn")
            return
        self._image, self.plan = image, drawing
        self.update()
        self._succeed()

    def resizeEvent(self, event: QResizeEvent) -> None:
        if self.state in ("ready", "started") and self._painted_for != self._size():
            self._request()

    def halt(self) -> None:
        super().halt()
        self._image = QImage()

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        if self._image.isNull():
            self._background(painter)
        elif self._image.size() == self.size():
            painter.drawImage(0, 0, self._image)
        else:
            painter.drawImage(self.rect(), self._image)
        painter.end()
