"""Preview room: single slides rendered offscreen through the player's own widgets.

``render_slides`` builds the same window (stage, overlays) the player uses, prepares each
slide with the same views, and saves what a screen would show at a given moment: one PNG
per slide and a labelled contact sheet, so comms staff can check a week's content without
a screen. A slide that cannot be prepared still gets a picture: a labelled poster saying
why (a video frame that cannot be grabbed, a web page that does not load, a broken file).
"""

from __future__ import annotations

import time
from collections.abc import Sequence
from dataclasses import dataclass
from datetime import datetime
from pathlib import Path

from PySide6.QtCore import QCoreApplication, QEvent, QEventLoop, QRectF, Qt
from PySide6.QtGui import QColor, QImage, QPainter
from PySide6.QtWidgets import QWidget

from signage.config import PlayerConfig
from signage.i18n import _
from signage.logs import area_logger
from signage.model import Content, Screen, SlideKind, narrowed_hosts
from signage.player.clock import FixedClock
from signage.player.decode import ImageDecoder, decode_scaled
from signage.player.layout import fitted_size, qr_scale
from signage.player.overlays import OverlayLayer, qr_overlay
from signage.player.slides import make_view
from signage.player.textfit import body_font, title_font
from signage.player.views import SlideResources, SlideView
from signage.schedule import ScheduledSlide

log = area_logger("player")

WAIT_S = {SlideKind.WEB: 12.0, SlideKind.VIDEO: 10.0}
SETTLE_S = 0.15


@dataclass(frozen=True, slots=True)
class RenderedSlide:
    """One preview picture: where it went, what it shows, and why it is a poster (if so)."""

    path: Path
    playlist: str
    slide: str
    kind: str
    duration_s: float | None
    problem: str | None = None


class _Spinner:
    """Runs the event loop in short steps (a QEventLoop instance: see tests' ``spin``)."""

    def __init__(self) -> None:
        self._loop = QEventLoop()

    def until(self, done: object, timeout_s: float) -> None:
        end = time.monotonic() + timeout_s
        while time.monotonic() < end and not _truthy(done):
            self._loop.processEvents(QEventLoop.ProcessEventsFlag.AllEvents, 20)
            time.sleep(0.002)

    def run(self, seconds: float) -> None:
        self.until(lambda: False, seconds)


class _Settled:
    """True once a view is ready or failed."""

    def __init__(self, view: SlideView) -> None:
        self.view = view

    def __call__(self) -> bool:
        return self.view.state in ("ready", "failed")


def _truthy(done: object) -> bool:
    return bool(done()) if callable(done) else bool(done)


def render_slides(
    content: Content,
    items: Sequence[ScheduledSlide],
    *,
    out: Path,
    size: tuple[int, int],
    at: datetime,
    screen: Screen,
    config: PlayerConfig | None = None,
    link_base: str | None = None,
) -> list[RenderedSlide]:
    """Writes ``NN-<playlist>-<slide>.png`` for each item into ``out``; returns them in order."""
    from signage.player.player import LazyWeb, PlayerWindow, _safe_name

    cfg = config or PlayerConfig(screen=screen.id)
    out.mkdir(parents=True, exist_ok=True)
    spinner = _Spinner()
    window = PlayerWindow(content.theme)
    decoder = ImageDecoder(window)
    web = LazyWeb(window)
    logo = None
    if content.theme.logo and (path := content.asset_path(content.theme.logo)) is not None:
        try:
            logo = decode_scaled(path, 800, 400, cover=False)
        except ValueError:
            logo = None
    res = SlideResources(
        decoder=decoder,
        theme=content.theme,
        screen=screen,
        content=content,
        web=web,
        describe=content.source,
        logo=logo,
    )
    clock = FixedClock(at, window)
    overlay = OverlayLayer(
        None, clock, timezone=screen.timezone, locale=screen.locale, theme=content.theme
    )
    overlay.set_theme(content.theme, logo)
    window.add_layer(overlay)
    window.resize(*size)
    window.show()
    results: list[RenderedSlide] = []
    try:
        for n, item in enumerate(items, start=1):
            qr = qr_overlay(
                item.playlist,
                item.slide,
                screen=screen.id,
                allowed_hosts=narrowed_hosts(content.theme.allowed_hosts, cfg.allowed_hosts),
                link_base=link_base or content.theme.links_base,
                screen_height=qr_scale(*size),
            )
            view = make_view(
                window.stage, item.slide, res, qr_side=qr.image.width() if qr else None
            )
            window.stage.adopt(view)
            view.prepare()
            spinner.until(
                _Settled(view),
                WAIT_S.get(item.slide.kind, 15.0),
            )
            problem = None
            if view.state != "ready":
                problem = _failure(view)
                window.stage.discard(view)
                view = _PosterView(window.stage, item, res, problem)
                window.stage.adopt(view)
                view.prepare()
            window.stage.present(view, fade_ms=0)
            overlay.set_slide(item.playlist.overlays, item.playlist.ticker, qr)
            spinner.run(SETTLE_S if item.slide.kind is not SlideKind.WEB else 0.5)
            name = f"{n:02d}-{_safe_name(item.playlist.id)}-{_safe_name(item.slide.id)}.png"
            path = out / name
            window.grab().toImage().save(str(path))
            results.append(
                RenderedSlide(
                    path,
                    item.playlist.id,
                    item.slide.id,
                    str(item.slide.kind),
                    item.slide.duration_s or view.natural_duration_s(),
                    problem,
                )
            )
    finally:
        import shiboken6

        overlay.stop()
        decoder.shutdown()
        for child in window.stage.findChildren(SlideView):
            child.halt()
            shiboken6.delete(child)  # web pages go before their profile
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
        web.dispose()
        window.close()
        shiboken6.delete(window)
        spinner.run(0.05)
    return results


def _failure(view: SlideView) -> str:
    return view.last_failure or f"not ready within the preview's wait ({view.state})"


class _PosterView(SlideView):
    """A labelled stand-in for a slide that could not be prepared offscreen."""

    def __init__(
        self, parent: QWidget, item: ScheduledSlide, res: SlideResources, reason: str
    ) -> None:
        super().__init__(parent, item.slide, res)
        self.item = item
        self.reason = reason

    def paintEvent(self, event: object) -> None:
        painter = QPainter(self)
        w, h = self._size()
        theme = self.res.theme
        painter.fillRect(self.rect(), QColor(theme.background))
        painter.setPen(QColor(theme.accent))
        pen = painter.pen()
        pen.setWidth(max(2, h // 200))
        painter.setPen(pen)
        painter.drawRect(QRectF(w * 0.1, h * 0.2, w * 0.8, h * 0.6))
        flags = int(Qt.AlignmentFlag.AlignCenter) | int(Qt.TextFlag.TextWordWrap)
        painter.setPen(QColor(theme.foreground))
        painter.setFont(title_font(theme.title_font_family, max(10, round(h * 0.05))))
        kind = {
            "video": _("Video: {slide}"),
            "web": _("Web page: {slide}"),
            "image": _("Picture: {slide}"),
            "text": _("Text: {slide}"),
            "data": _("Data: {slide}"),
        }
        label = kind.get(str(self.item.slide.kind), _("Slide: {slide}")).format(
            slide=self.item.slide.id
        )
        painter.drawText(QRectF(w * 0.12, h * 0.25, w * 0.76, h * 0.22), flags, label)
        painter.setFont(body_font(theme.font_family, max(8, round(h * 0.028))))
        painter.setPen(QColor(theme.muted))
        detail = self.item.slide.source or ""
        painter.drawText(
            QRectF(w * 0.12, h * 0.47, w * 0.76, h * 0.3),
            flags,
            detail + "\n" + _("(no preview: {reason})").format(reason=self.reason),
        )
        painter.end()


def contact_sheet(
    slides: Sequence[RenderedSlide],
    out: Path,
    *,
    title: str,
    columns: int = 3,
    thumb_width: int = 480,
) -> Path:
    """A grid of the rendered slides with labels (slide id, kind, duration), as one PNG."""
    images = [QImage(str(s.path)) for s in slides]
    first = next((i for i in images if not i.isNull()), None)
    ratio = (first.height() / first.width()) if first is not None else 9 / 16
    thumb_h = round(thumb_width * ratio)
    label_h = 56
    gap = 24
    header = 80
    cols = max(1, min(columns, len(slides) or 1))
    rows = max(1, -(-len(slides) // cols))
    sheet = QImage(
        gap + cols * (thumb_width + gap),
        header + rows * (thumb_h + label_h + gap),
        QImage.Format.Format_RGB32,
    )
    sheet.fill(QColor("#f2f4f7"))
    painter = QPainter(sheet)
    painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
    painter.setRenderHint(QPainter.RenderHint.TextAntialiasing, True)
    painter.setPen(QColor("#111111"))
    painter.setFont(title_font("DejaVu Sans", 26))
    painter.drawText(
        QRectF(gap, 0, sheet.width() - 2 * gap, header), int(Qt.AlignmentFlag.AlignVCenter), title
    )
    for i, (info, image) in enumerate(zip(slides, images, strict=True)):
        r, c = divmod(i, cols)
        x = gap + c * (thumb_width + gap)
        y = header + r * (thumb_h + label_h + gap)
        if not image.isNull():
            tw, th = fitted_size(image.width(), image.height(), thumb_width, thumb_h, cover=False)
            painter.drawImage(QRectF(x, y, tw, th), image)
        painter.setPen(QColor("#c0c6cf"))
        painter.drawRect(QRectF(x, y, thumb_width, thumb_h))
        painter.setPen(QColor("#b00020") if info.problem else QColor("#111111"))
        painter.setFont(body_font("DejaVu Sans", 17))
        dur = f"{info.duration_s:g} s" if info.duration_s else _("its own length")
        text = f"{i + 1}. {info.slide} · {info.kind} · {dur}"
        if info.problem:
            text += " · " + _("cannot be shown!")
        painter.drawText(
            QRectF(x, y + thumb_h + 4, thumb_width, label_h - 4),
            int(Qt.AlignmentFlag.AlignLeft) | int(Qt.TextFlag.TextWordWrap),
            text,
        )
    painter.end()
    path = out / "contact-sheet.png"
    sheet.save(str(path))
    return path


__all__ = ["RenderedSlide", "contact_sheet", "render_slides"]
