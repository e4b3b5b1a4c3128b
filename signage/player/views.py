"""Slide widgets room: one QWidget per slide kind, prepared off screen before its turn.

Life of a view: ``prepare()`` loads (image decoded on the pool, video's first frame, web
page loaded, text laid out) and ends in exactly one of ``ready`` or ``failed(reason)``;
the stage shows it only after ``ready``. ``start()`` is called once it is on screen,
``finished`` says a video reached its end, ``halt()`` releases decoders and pages before
the view is deleted. Nothing half-loaded is ever visible: until ready, a view paints the
theme background, and it sits beneath the slide on screen anyway.
"""

from __future__ import annotations

from pathlib import Path
from typing import TYPE_CHECKING, Final, Protocol

from PySide6.QtCore import QPointF, QRect, QRectF, Qt, QTimer, Signal
from PySide6.QtGui import QColor, QImage, QPainter, QPaintEvent, QResizeEvent
from PySide6.QtWidgets import QWidget

from signage.i18n import N_, gettext_for
from signage.logs import area_logger
from signage.model import Content, Fit, Screen, Slide, SlideKind, Theme
from signage.player.decode import ImageDecoder
from signage.player.layout import Rect, ScreenLayout, fitted_size, screen_layout, size_unit
from signage.player.textfit import body_font, fit_text, title_font
from signage.values import Value

if TYPE_CHECKING:
    # Qt types a picture's first frame does not use are imported where they are used: PySide6
    # builds each type (and its enums) on its first import, ~0.8 ms for QUrl, ~1.6 ms for
    # QLinearGradient with QPen (issue 17.2; tests/test_player_firstframe.py lists them).
    from PySide6.QtCore import QUrl


class WebViews(Protocol):
    """Makes web slide views (``signage.player.web.WebContext``, or a lazy stand-in)."""

    def make_view(self, parent: QWidget | None, slide: Slide, res: SlideResources) -> SlideView: ...


log = area_logger("player")

PREPARE_TIMEOUT_S = {
    SlideKind.IMAGE: 15.0,
    SlideKind.TEXT: 15.0,
    SlideKind.VIDEO: 8.0,
    SlideKind.WEB: 10.0,
}


class SlideResources(Value):
    """What every view may use: shared decoder and web profile, theme, content, screen.

    A small value (``signage.values``), not a dataclass: made before the first frame, where
    a dataclass costs ~0.5 ms to create; ``with_content`` and ``without_web`` make the
    changed copies the player needs.

    Args:
        describe: where content is expected from (shown by the idle screen).
        logo: the theme logo, decoded once, or a null image.
        web: the shared web profile, or ``None`` when QtWebEngine is unavailable.
    """

    __slots__ = ("content", "decoder", "describe", "logo", "screen", "theme", "web")
    _fields = ("decoder", "theme", "screen", "content", "web", "describe", "logo")

    def __init__(
        self,
        *,
        decoder: ImageDecoder,
        theme: Theme,
        screen: Screen,
        content: Content | None = None,
        web: WebViews | None = None,
        describe: str = "",
        logo: QImage | None = None,
    ) -> None:
        self.decoder: Final = decoder
        self.theme: Final = theme
        self.screen: Final = screen
        self.content: Final = content
        self.web: Final = web
        self.describe: Final = describe
        self.logo: Final = logo

    def with_content(self, content: Content, theme: Theme, logo: QImage | None) -> SlideResources:
        """The same resources for another content version (its theme and logo)."""
        return SlideResources(
            decoder=self.decoder,
            theme=theme,
            screen=self.screen,
            content=content,
            web=self.web,
            describe=self.describe,
            logo=logo,
        )

    def without_web(self) -> SlideResources:
        """The same resources without a web profile (QtWebEngine unavailable)."""
        return SlideResources(
            decoder=self.decoder,
            theme=self.theme,
            screen=self.screen,
            content=self.content,
            web=None,
            describe=self.describe,
            logo=self.logo,
        )


def asset_file(content: Content | None, path: str) -> Path:
    """The local file for an asset path; raises ValueError saying what is missing."""
    local = content.asset_path(path) if content is not None else None
    if local is None:
        raise ValueError(f"asset {path} is not in this content version")
    if not local.is_file():
        raise ValueError(f"asset file missing: {path}")
    return local


def jpeg_is_complete(path: Path) -> bool:
    """Whether a JPEG ends with its end-of-image marker (Qt paints truncated ones grey)."""
    try:
        with path.open("rb") as fh:
            head = fh.read(3)
            if head != b"\xff\xd8\xff":
                return True  # not a JPEG: the decoder judges it
            fh.seek(0, 2)
            size = fh.tell()
            fh.seek(max(0, size - 4096))
            tail = fh.read().rstrip(b"\x00\r\n ")
    except OSError:
        return False
    return tail.endswith(b"\xff\xd9")


class SlideView(QWidget):
    """Base of every slide widget: the ready/failed/finished protocol and the background."""

    ready = Signal()
    failed = Signal(str)
    finished = Signal()

    kind: SlideKind | None = None

    def __init__(self, parent: QWidget | None, slide: Slide | None, res: SlideResources) -> None:
        super().__init__(parent)
        self.slide = slide
        self.res = res
        self.state = "new"  # new → preparing → ready | failed; ready → started → halted
        self.last_failure = ""
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent, True)
        self._timeout = QTimer(self)
        self._timeout.setSingleShot(True)
        self._timeout.timeout.connect(self._on_timeout)
        # Outcomes reached inside prepare() are announced from the event loop, so the player
        # never re-enters itself (a run of broken slides would otherwise recurse).
        self._in_prepare = False
        self._pending: str | None = None
        self._announce = QTimer(self)
        self._announce.setSingleShot(True)
        self._announce.timeout.connect(self._emit_pending)

    # -- protocol -------------------------------------------------------------------------
    def prepare(self) -> None:
        """Starts loading; ends in ``ready`` or ``failed``. Called once."""
        if self.state != "new":
            return
        self.state = "preparing"
        timeout = PREPARE_TIMEOUT_S.get(self.kind or SlideKind.IMAGE, 10.0)
        self._timeout.start(int(timeout * 1000))
        self._in_prepare = True
        try:
            self._load()
        except ValueError as exc:
            self._fail(str(exc))
        finally:
            self._in_prepare = False

    def start(self) -> None:
        """The view is on screen now (after its transition)."""
        if self.state == "ready":
            self.state = "started"

    def halt(self) -> None:
        """The view left the screen (or was never needed): release what it holds."""
        self._timeout.stop()
        self._announce.stop()
        self.state = "halted"

    def natural_duration_s(self) -> float | None:
        """The media's own length when it has one (videos)."""
        return None

    # -- helpers for subclasses -----------------------------------------------------------
    def _load(self) -> None:
        self._succeed()

    def _succeed(self) -> None:
        if self.state != "preparing":
            return
        self._timeout.stop()
        self.state = "ready"
        self._announce_outcome("")

    def _fail(self, reason: str) -> None:
        if self.state not in ("preparing", "started", "ready"):
            return
        self._timeout.stop()
        self.state = "failed"
        self.last_failure = reason
        self._announce_outcome(reason)

    def _announce_outcome(self, reason: str) -> None:
        if self._in_prepare:
            self._pending = reason
            self._announce.start(0)
        elif reason:
            self.failed.emit(reason)
        else:
            self.ready.emit()

    def _emit_pending(self) -> None:
        reason, self._pending = self._pending, None
        if reason is None or self.state == "halted":
            return
        if reason:
            self.failed.emit(reason)
        else:
            self.ready.emit()

    def _on_timeout(self) -> None:
        timeout = PREPARE_TIMEOUT_S.get(self.kind or SlideKind.IMAGE, 10.0)
        self._fail(f"not ready within {timeout:g} s")

    def _need_slide(self) -> Slide:
        if self.slide is None:
            raise ValueError("no slide to show")
        return self.slide

    def _need_text(self) -> tuple[Slide, str, str, str | None]:
        slide = self._need_slide()
        if slide.text is None:
            raise ValueError("text slide without text")
        return slide, slide.text.title, slide.text.body or "", slide.text.image

    def _size(self) -> tuple[int, int]:
        size = self.size()
        return max(1, size.width()), max(1, size.height())

    def _background(self, painter: QPainter) -> None:
        painter.fillRect(self.rect(), QColor(self.res.theme.background))

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        self._background(painter)
        painter.end()


class ImageView(SlideView):
    """A picture, decoded and scaled on the pool to the screen size (contain or cover)."""

    kind = SlideKind.IMAGE

    def __init__(self, parent: QWidget | None, slide: Slide, res: SlideResources) -> None:
        super().__init__(parent, slide, res)
        self._image = QImage()
        self._token = 0
        self._path = Path()
        self._decoded_for = (0, 0)
        res.decoder.decoded.connect(self._on_decoded)

    def _load(self) -> None:
        slide = self._need_slide()
        path = asset_file(self.res.content, slide.source)
        if not jpeg_is_complete(path):
            raise ValueError(f"truncated JPEG: {slide.source}")
        self._path = path
        self._request()

    def _request(self) -> None:
        slide = self._need_slide()
        self._decoded_for = self._size()
        w, h = self._decoded_for
        self._token = self.res.decoder.request(self._path, w, h, cover=slide.fit == Fit.COVER)

    def _on_decoded(self, token: int, image: QImage, error: str) -> None:
        if token != self._token:
            return
        if self.state in ("ready", "started"):  # re-decoded for a new window size
            if not image.isNull():
                self._image = image
                self.update()
            return
        if self.state != "preparing":
            return
        if image.isNull():
            self._fail(error or "image could not be decoded")
            return
        self._image = image
        self.update()
        self._succeed()

    def resizeEvent(self, event: QResizeEvent) -> None:
        # A window that changes size (going fullscreen after start) gets a sharp picture
        # again; until it is decoded the old one is drawn scaled.
        if self.state in ("ready", "started") and self._decoded_for != self._size():
            self._request()

    def halt(self) -> None:
        super().halt()
        self._image = QImage()

    def picture_rect(self) -> QRect:
        """Where the picture is drawn: contained (centred) or covering the widget.

        A contained picture wider than a tall screen is centred in the band between the top
        bar and the QR plate (or ticker), not across them: the player draws there.
        """
        w, h = self._size()
        image = self._image
        cover = self.slide is not None and self.slide.fit == Fit.COVER
        iw, ih = fitted_size(image.width(), image.height(), w, h, cover=cover)
        top = (h - ih) // 2
        if not cover and h > w and ih < h:
            qr = self.slide is not None and self.slide.qr is not None
            band = screen_layout(w, h, qr=qr).text
            if ih <= band.h:
                top = band.y + (band.h - ih) // 2
        return QRect((w - iw) // 2, top, iw, ih)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        w, h = self._size()
        if self._image.isNull():
            self._background(painter)
        else:
            target = self.picture_rect()
            if target.width() < w or target.height() < h or target.x() > 0 or target.y() > 0:
                self._background(painter)
            if target.size() == self._image.size():
                painter.drawImage(target.topLeft(), self._image)
            else:
                painter.drawImage(target, self._image)
        painter.end()


class TextView(SlideView):
    """Title, body and an optional picture, in the theme's colours and fonts, type fitted."""

    kind = SlideKind.TEXT

    def __init__(
        self, parent: QWidget | None, slide: Slide, res: SlideResources, *, qr_side: int | None
    ) -> None:
        super().__init__(parent, slide, res)
        self._qr_side = qr_side
        self._fit_cache: tuple[tuple[int, int], tuple[Rect, int, int, float]] | None = None
        self._image = QImage()
        self._backdrop = QImage()
        self._token = 0
        self._backdrop_token = 0
        self._waiting = 0
        res.decoder.decoded.connect(self._on_decoded)

    def text_box(self) -> Rect:
        """Where the title and body go (clear of overlays and of the picture).

        With a picture: text on the left 58 % of a wide screen, the top 55 % of a tall one.
        """
        box = self._layout().text
        if self._has_image():
            if self._tall():
                return Rect(box.x, box.y, box.w, round(box.h * 0.55))
            text_w = round(box.w * 0.58)
            return Rect(box.x, box.y, text_w, box.h)
        return box

    def image_box(self) -> Rect:
        box = self._layout().text
        if self._tall():
            gap = round(box.h * 0.03)
            top = box.y + round(box.h * 0.55) + gap
            return Rect(box.x, top, box.w, box.bottom - top)
        gap = round(box.w * 0.04)
        left = box.x + round(box.w * 0.58) + gap
        return Rect(left, box.y, box.right - left, box.h)

    def _tall(self) -> bool:
        w, h = self._size()
        return h > w

    def set_qr_side(self, side: int | None) -> None:
        """The QR drawn over this slide changed size (it was still being made)."""
        if side != self._qr_side:
            self._qr_side = side
            self._fit_cache = None
            self.update()

    def _layout(self) -> ScreenLayout:
        w, h = self._size()
        side = self._qr_side
        return screen_layout(w, h, qr=side is not None, qr_side=side or 0)

    def _has_image(self) -> bool:
        return bool(self.slide is not None and self.slide.text and self.slide.text.image)

    def _backdrop_path(self) -> str | None:
        return self.slide.text.background if self.slide and self.slide.text else None

    def _load(self) -> None:
        _, _, _, image = self._need_text()
        backdrop = self._backdrop_path()
        if not image and not backdrop:
            self._succeed()
            return
        for asset in (image, backdrop):
            if asset and not jpeg_is_complete(asset_file(self.res.content, asset)):
                raise ValueError(f"truncated JPEG: {asset}")
        if image:
            box = self.image_box()
            path = asset_file(self.res.content, image)
            self._waiting += 1
            self._token = self.res.decoder.request(path, box.w, box.h, cover=False)
        if backdrop:
            w, h = self._size()
            path = asset_file(self.res.content, backdrop)
            self._waiting += 1
            self._backdrop_token = self.res.decoder.request(path, w, h, cover=True)

    def _on_decoded(self, token: int, image: QImage, error: str) -> None:
        if token not in (self._token, self._backdrop_token) or self.state != "preparing":
            return
        if image.isNull():
            self._fail(error or "image could not be decoded")
            return
        if token == self._backdrop_token:
            self._backdrop = image
        else:
            self._image = image
        self._waiting -= 1
        if self._waiting <= 0:
            self._succeed()

    def _tag_px(self) -> int:
        return max(12, round(size_unit(*self._size()) * 0.024))

    def _tag(self) -> str:
        slide = self.slide
        return (slide.text.tag or "").upper() if slide is not None and slide.text else ""

    def _bar_w(self) -> int:
        return max(3, round(size_unit(*self._size()) * 0.006))

    def fitted(self) -> tuple[Rect, int, int, float]:
        """(box the text is laid in, title px, body px, laid-out height) for this size.

        The box is ``text_box()`` inset a little on each side, so glyphs that overhang their
        origin (a bold "J") stay inside ``text_box()``. Cached per size: fitting lays the
        text out a dozen times and paints happen every frame of a fade.
        """
        size = self._size()
        if self._fit_cache is not None and self._fit_cache[0] == size:
            return self._fit_cache[1]
        _, title, body, _ = self._need_text()
        outer = self.text_box()
        unit = size_unit(*size)
        pad = max(4, round(unit * 0.01)) + 3 * self._bar_w()  # clear of the accent bar
        tag_h = round(self._tag_px() * 2.2) if self._tag() else 0
        box = Rect(outer.x + pad, outer.y + tag_h, max(1, outer.w - 2 * pad), outer.h - tag_h)
        theme = self.res.theme
        fit = fit_text(
            title,
            body,
            box.w,
            box.h,
            title_family=theme.title_font_family,
            body_family=theme.font_family,
            max_body_px=max(12, round(unit * 0.06)),
        )
        result = (box, fit.title_px, fit.body_px, fit.height)
        self._fit_cache = (size, result)
        return result

    def _paint_backdrop(self, painter: QPainter) -> None:
        """The background picture full-bleed (cropped to cover), under a scrim of the theme's
        background colour: denser where the text is, so any photo keeps the text legible."""
        w, h = self._size()
        bw, bh = fitted_size(self._backdrop.width(), self._backdrop.height(), w, h, cover=True)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
        painter.drawImage(QRect((w - bw) // 2, (h - bh) // 2, bw, bh), self._backdrop)
        dense, light = QColor(self.res.theme.background), QColor(self.res.theme.background)
        dense.setAlpha(232)
        light.setAlpha(150)
        tall = h > w
        from PySide6.QtGui import QLinearGradient

        gradient = QLinearGradient(0, 0, 0 if tall else w, h if tall else 0)
        gradient.setColorAt(0.0, dense)
        gradient.setColorAt(0.55, dense)
        gradient.setColorAt(1.0, light)
        painter.fillRect(self.rect(), gradient)

    def accent_bar(self) -> Rect:
        """The theme's accent bar at the left of the text (as the infographics have it)."""
        box, _, _, height = self.fitted()
        tag_h = round(self._tag_px() * 2.2) if self._tag() else 0
        top = box.y + max(0.0, (box.h - height) / 2) - tag_h
        outer = self.text_box()
        return Rect(outer.x, round(top), self._bar_w(), max(1, round(height + tag_h)))

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        self._background(painter)
        if self.slide is None or self.slide.text is None:
            painter.end()
            return
        if not self._backdrop.isNull():
            self._paint_backdrop(painter)
        theme = self.res.theme
        box, title_px, body_px, height = self.fitted()
        y = box.y + max(0.0, (box.h - height) / 2)
        flags = int(Qt.TextFlag.TextWordWrap) | int(Qt.AlignmentFlag.AlignLeft)
        painter.setRenderHint(QPainter.RenderHint.TextAntialiasing, True)
        bar = self.accent_bar()
        painter.fillRect(QRect(bar.x, bar.y, bar.w, bar.h), QColor(theme.accent))
        if self._tag():
            px = self._tag_px()
            font = body_font(theme.font_family, px)
            font.setBold(True)
            painter.setFont(font)
            label = painter.boundingRect(QRectF(0, 0, box.w, px * 2), 0, self._tag())
            pill = QRectF(box.x, y - px * 2.2, label.width() + px * 1.2, px * 1.6)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(QColor(theme.accent))
            painter.drawRoundedRect(pill, px * 0.3, px * 0.3)
            painter.setPen(QColor(theme.background))
            painter.drawText(pill, int(Qt.AlignmentFlag.AlignCenter), self._tag())
        painter.setFont(title_font(theme.title_font_family, title_px))
        painter.setPen(QColor(theme.foreground))
        title_rect = painter.boundingRect(
            QRectF(box.x, y, box.w, 1e6), flags, self.slide.text.title
        )
        painter.drawText(QRectF(box.x, y, box.w, title_rect.height()), flags, self.slide.text.title)
        y += title_rect.height()
        if self.slide.text.body:
            bar_y = y + body_px * 0.45
            from PySide6.QtGui import QPen

            painter.setPen(QPen(QColor(theme.accent), max(2, body_px // 6)))
            painter.drawLine(QPointF(box.x, bar_y), QPointF(box.x + box.w * 0.18, bar_y))
            y += body_px * 0.9
            painter.setPen(QColor(theme.foreground))
            painter.setFont(body_font(theme.font_family, body_px))
            painter.drawText(QRectF(box.x, y, box.w, box.bottom - y), flags, self.slide.text.body)
        if not self._image.isNull():
            ib = self.image_box()
            iw, ih = fitted_size(
                self._image.width(), self._image.height(), ib.w, ib.h, cover=False
            )  # decoded for this box; scaled if it changed
            target = QRect(ib.x + (ib.w - iw) // 2, ib.y + (ib.h - ih) // 2, iw, ih)
            painter.drawImage(target, self._image)
        painter.end()


# What the idle screen says (English msgids, shown in the screen's language).
WAITING = N_("Waiting for content")
NOTHING_SCHEDULED = N_("No content scheduled for this screen")
NOTHING_PLAYABLE = N_("No content can be shown right now")
N_("Screen: {screen}")
N_("Content from: {source}")


class IdleView(SlideView):
    """The branded screen shown with nothing to play: never black, says what it waits for."""

    def __init__(self, parent: QWidget | None, res: SlideResources, message: str = "") -> None:
        super().__init__(parent, None, res)
        self.message = message or WAITING

    def lines(self) -> list[str]:
        """The words under the logo, in the screen's language (its ``locale``)."""
        say = gettext_for(self.res.screen.locale)
        out = [say(self.message), say("Screen: {screen}").format(screen=self.res.screen.id)]
        if self.res.describe:
            out.append(say("Content from: {source}").format(source=self.res.describe))
        return out

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        self._background(painter)
        theme = self.res.theme
        w, h = self._size()
        u = size_unit(w, h)  # font sizes: the short side (a tall screen keeps them)
        lay = screen_layout(w, h, qr=False, ticker=False)
        painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
        y = lay.safe.y + round(h * 0.22)
        logo = self.res.logo
        if logo is not None and not logo.isNull():
            lw, lh = fitted_size(
                logo.width(), logo.height(), round(w * 0.3), round(u * 0.18), cover=False
            )
            painter.drawImage(QRectF((w - lw) / 2, y - lh - u * 0.04, lw, lh), logo)
        painter.setPen(QColor(theme.foreground))
        painter.setFont(title_font(theme.title_font_family, round(u * 0.055)))
        center = int(Qt.AlignmentFlag.AlignHCenter) | int(Qt.TextFlag.TextWordWrap)
        painter.drawText(QRectF(lay.safe.x, y, lay.safe.w, u * 0.2), center, theme.organisation)
        y += round(u * 0.12 if w >= h else u * 0.2)
        painter.setPen(QColor(theme.accent))
        painter.drawLine(QPointF(w * 0.4, y), QPointF(w * 0.6, y))
        y += round(u * 0.05)
        painter.setFont(body_font(theme.font_family, round(u * 0.032)))
        for i, line in enumerate(self.lines()):
            painter.setPen(QColor(theme.foreground if i == 0 else theme.muted))
            painter.drawText(QRectF(lay.safe.x, y, lay.safe.w, u * 0.07), center, line)
            y += round(u * 0.06)
        painter.end()


def url_of(path: Path) -> QUrl:
    from PySide6.QtCore import QUrl

    return QUrl.fromLocalFile(str(path))
