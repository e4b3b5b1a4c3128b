"""Overlay room: QR with caption, clock and date, headline ticker and logo over every slide.

Each overlay sits inside the overscan-safe margin (``layout.screen_layout``) and can be
switched off per playlist (``Playlist.overlays``). Nothing animates continuously: the clock
repaints once a minute, the ticker turns to the next headline every few seconds, so a
static slide costs almost no CPU.
"""

from __future__ import annotations

import hashlib
import os
import tempfile
from collections.abc import Callable, Hashable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Final
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from PySide6.QtCore import (
    QDate,
    QLocale,
    QObject,
    QRect,
    QRectF,
    QRunnable,
    Qt,
    QThreadPool,
    Signal,
)
from PySide6.QtGui import QColor, QFontMetrics, QImage, QPainter, QPaintEvent
from PySide6.QtWidgets import QWidget

from signage.logs import area_logger
from signage.model import Overlays, Playlist, Slide, Theme
from signage.player.clock import Clock, Timer
from signage.player.layout import (
    Rect,
    ScreenLayout,
    fitted_size,
    qr_padding,
    screen_layout,
    size_unit,
)
from signage.player.textfit import body_font, title_font
from signage.values import Value

if TYPE_CHECKING:  # Pillow comes with the QR maker, on its worker thread
    from PIL import Image

TICKER_TURN_S = 8.0

log = area_logger("player")


def qlocale(locale: str) -> QLocale:
    """``es-CO`` → ``QLocale("es_CO")``."""
    return QLocale(locale.replace("-", "_"))


def zone(timezone: str) -> ZoneInfo:
    try:
        return ZoneInfo(timezone)
    except (ZoneInfoNotFoundError, ValueError):
        return ZoneInfo("UTC")


TICKER_LABELS = {"es": "NOTICIAS", "en": "NEWS", "pt": "NOTÍCIAS", "fr": "INFOS"}


def ticker_label(locale: str) -> str:
    """The word on the ticker's marker in the screen's language (Spanish otherwise)."""
    return TICKER_LABELS.get(locale.replace("_", "-").split("-")[0].lower(), "NOTICIAS")


def readable_on(background: QColor) -> QColor:
    """Black or white, whichever reads better on ``background`` (relative luminance)."""

    def channel(c: float) -> float:
        return c / 12.92 if c <= 0.04045 else ((c + 0.055) / 1.055) ** 2.4

    lum = (
        0.2126 * channel(background.redF())
        + 0.7152 * channel(background.greenF())
        + 0.0722 * channel(background.blueF())
    )
    return QColor("#111111") if lum > 0.179 else QColor("#ffffff")


def clock_text(now: datetime, timezone: str, locale: str) -> str:
    """The clock overlay's words: ``sábado, 28 de noviembre · 14:41`` for es-CO."""
    local = now.astimezone(zone(timezone))
    loc = qlocale(locale)
    day = QDate(local.year, local.month, local.day)
    if loc.language() == QLocale.Language.Spanish:
        date_text = loc.toString(day, "dddd, d 'de' MMMM")
    else:
        date_text = loc.toString(day, "dddd, MMMM d")
    return f"{date_text} · {local.hour:02d}:{local.minute:02d}"


def pil_to_qimage(image: Image.Image) -> QImage:
    """A deep copy of a Pillow image as a QImage (RGB888)."""
    rgb = image.convert("RGB")
    data = rgb.tobytes()
    return QImage(data, rgb.width, rgb.height, rgb.width * 3, QImage.Format.Format_RGB888).copy()


def caption_px(unit: int) -> int:
    """A QR caption's pixel size: 2.7 % of the screen's short side (29 px at 1080p; the
    guide asks for captions of at least 26 px there, read from a couple of metres)."""
    return max(12, round(unit * 0.027))


class QROverlay(Value):
    """A QR ready to draw: the encoded URL, its pixel-exact image and caption."""

    __slots__ = ("caption", "image", "url")
    _fields = ("url", "image", "caption")

    def __init__(self, url: str, image: QImage, caption: str | None) -> None:
        self.url: Final = url
        self.image: Final = image
        self.caption: Final = caption


def qr_overlay(
    playlist: Playlist,
    slide: Slide,
    *,
    screen: str,
    allowed_hosts: frozenset[str],
    link_base: str | None,
    screen_height: int,
    cache: dict[str, QROverlay] | None = None,
) -> QROverlay | None:
    """The QR to draw over a slide, or ``None`` (no QR, QR overlay off, refused host).

    Encodes what ``signage.qr.encoded_url`` says (attributed URL, or the hub's tracked
    link), only when the author's URL passes ``signage.qr.drawable`` (https, allow-list).
    """
    qr = slide.qr
    if qr is None or not playlist.overlays.qr:
        return None
    from signage import qr as qrmod

    if not qrmod.drawable(qr.url, allowed_hosts):
        return None
    url = qrmod.encoded_url(
        qr, playlist.attribution, screen, playlist.id, slide.id, link_base=link_base
    )
    if cache is not None and url in cache:
        return cache[url]
    try:
        image = pil_to_qimage(qrmod.qr_image(url, screen_height))
    except ValueError as exc:
        log.warning("QR of %s/%s not drawn: %s", playlist.id, slide.id, exc)
        return None
    overlay = QROverlay(url, image, qr.caption)
    if cache is not None:
        cache[url] = overlay
    return overlay


class QRKey(Value):
    """What decides a slide's QR image (the cache key of ``QRMaker``)."""

    __slots__ = (
        "allowed_hosts",
        "attribution",
        "link_base",
        "playlist",
        "qr",
        "screen",
        "screen_height",
        "slide",
    )
    _fields = (
        "qr",
        "attribution",
        "screen",
        "playlist",
        "slide",
        "link_base",
        "allowed_hosts",
        "screen_height",
    )

    def __init__(
        self,
        *,
        qr: Hashable,
        attribution: Hashable,
        screen: str,
        playlist: str,
        slide: str,
        link_base: str | None,
        allowed_hosts: frozenset[str],
        screen_height: int,
    ) -> None:
        self.qr: Final = qr  # the slide's QRCode
        self.attribution: Final = attribution
        self.screen: Final = screen
        self.playlist: Final = playlist
        self.slide: Final = slide
        self.link_base: Final = link_base
        self.allowed_hosts: Final = allowed_hosts
        self.screen_height: Final = screen_height

    def file_name(self) -> str:
        """A stable name for the image this key gives (same inputs and code: same name)."""
        from signage import __version__

        parts = (
            repr(self.qr),
            repr(self.attribution),
            self.screen,
            self.playlist,
            self.slide,
            repr(self.link_base),
            ",".join(sorted(self.allowed_hosts)),
            str(self.screen_height),
            __version__,
        )
        return hashlib.sha256("\x1f".join(parts).encode()).hexdigest()[:32] + ".png"


def load_qr(path: Path, caption: str | None) -> QROverlay | None:
    """A QR image kept by ``save_qr`` (``None`` if absent or unreadable: make it again)."""
    if not path.is_file():
        return None
    image = QImage(str(path))
    url = image.text("url")
    if image.isNull() or not url or image.width() != image.height():
        return None
    return QROverlay(url, image.convertToFormat(QImage.Format.Format_RGB888), caption)


def save_qr(path: Path, overlay: QROverlay) -> None:
    """Keeps a made QR as a PNG (its URL in a text chunk): temp file, fsync, rename.

    A QR whose pixels are all grey (black on white, the usual) is kept as an 8-bit grey PNG:
    the same pixels when read back, and a restart decodes a third of the bytes (~0.3 ms
    instead of ~1.5 ms for a 424 px code).
    """
    image = QImage(overlay.image)
    if image.allGray():
        image = image.convertToFormat(QImage.Format.Format_Grayscale8)
    image.setText("url", overlay.url)
    from PySide6.QtCore import QBuffer, QByteArray, QIODevice  # a restart reads, never saves

    data = QByteArray()
    buf = QBuffer(data)
    buf.open(QIODevice.OpenModeFlag.WriteOnly)
    ok = image.save(buf, "PNG")  # type: ignore[call-overload]  # stub says bytes; runtime takes str
    buf.close()
    if not ok:
        raise OSError(f"{path.name}: the QR image could not be encoded")
    path.parent.mkdir(parents=True, exist_ok=True)
    fd, tmp = tempfile.mkstemp(prefix=".qr-", suffix=".png", dir=path.parent)
    try:
        with os.fdopen(fd, "wb") as out:
            out.write(bytes(data.data()))
            out.flush()
            os.fsync(out.fileno())
        Path(tmp).replace(path)
    except BaseException:
        Path(tmp).unlink(missing_ok=True)
        raise


KEPT_QRS = 256  # QR images kept on disk at most (the oldest go first)


def prune_kept(folder: Path, keep: int = KEPT_QRS) -> int:
    """Removes the oldest kept QR images beyond ``keep``; returns how many went."""
    try:
        files = [
            (f.stat().st_mtime_ns, f) for f in folder.glob("*.png") if not f.name.startswith(".")
        ]
    except OSError:
        return 0
    files.sort()
    removed = 0
    for _, path in files[: max(0, len(files) - keep)]:
        try:
            path.unlink()
            removed += 1
        except OSError:
            continue
    return removed


class _QRTask(QRunnable):
    def __init__(
        self,
        maker: QRMaker,
        key: QRKey,
        playlist: Playlist,
        slide: Slide,
        kept: Path | None,
    ) -> None:
        super().__init__()
        self._maker = maker
        self._key = key
        self._playlist = playlist
        self._slide = slide
        self._kept = kept

    def run(self) -> None:
        key = self._key
        kept = self._kept
        caption = self._slide.qr.caption if self._slide.qr is not None else None
        if kept is not None and (overlay := load_qr(kept, caption)) is not None:
            self._maker.made.emit(key, overlay)
            return
        try:
            overlay = qr_overlay(
                self._playlist,
                self._slide,
                screen=key.screen,
                allowed_hosts=key.allowed_hosts,
                link_base=key.link_base,
                screen_height=key.screen_height,
            )
        except Exception:  # a QR bug must not leave the slide waiting forever
            log.exception("QR of %s/%s not drawn", self._playlist.id, self._slide.id)
            overlay = None
        if kept is not None and overlay is not None:
            try:
                save_qr(kept, overlay)
                prune_kept(kept.parent)
            except OSError as exc:  # only the next start's shortcut is lost
                log.warning("QR image not kept: %s", exc)
        self._maker.made.emit(self._key, overlay)


class QRMaker(QObject):
    """Makes QR images on a worker thread (a QR takes ~30 ms of pure Python to encode).

    ``want(...)`` answers at once from the cache, else queues the work and answers
    ``PENDING``; ``made(key, overlay)`` follows when it is ready. The player presents a
    slide only once its QR is ready, so the GUI thread never encodes one, nor imports the
    encoder (``signage.qr``, qrcode, Pillow: ~40 ms before the first slide otherwise).

    With ``keep_dir``, each QR made is also kept there as a PNG named after everything
    that decides it (``QRKey.file_name``), so the next start reads it (~1 ms) instead of
    importing the encoder and encoding (~75 ms).
    """

    made = Signal(object, object)  # QRKey, QROverlay | None
    PENDING = QROverlay("", QImage(), None)
    CACHE = 64

    def __init__(self, parent: QObject | None = None, keep_dir: Path | None = None) -> None:
        super().__init__(parent)
        self.keep_dir = keep_dir
        self._pool = QThreadPool(self)
        self._pool.setMaxThreadCount(1)
        self._cache: dict[QRKey, QROverlay | None] = {}
        self._pending: set[QRKey] = set()
        self.made.connect(self._on_made)

    def want(
        self,
        playlist: Playlist,
        slide: Slide,
        *,
        screen: str,
        allowed_hosts: frozenset[str],
        link_base: str | None,
        screen_height: int,
    ) -> QROverlay | None:
        """The slide's QR (``None``: it has none or it is not drawable), or ``PENDING``."""
        qr = slide.qr
        if qr is None or not playlist.overlays.qr:
            return None
        key = QRKey(
            qr=qr,
            attribution=playlist.attribution,
            screen=screen,
            playlist=playlist.id,
            slide=slide.id,
            link_base=link_base,
            allowed_hosts=allowed_hosts,
            screen_height=screen_height,
        )
        if key in self._cache:
            return self._cache[key]
        if key not in self._pending:
            self._pending.add(key)
            kept = self.keep_dir / key.file_name() if self.keep_dir is not None else None
            self._pool.start(_QRTask(self, key, playlist, slide, kept))
        return self.PENDING

    def _on_made(self, key: object, overlay: object) -> None:
        if not isinstance(key, QRKey):
            return
        self._pending.discard(key)
        if len(self._cache) >= self.CACHE:
            self._cache.clear()
        self._cache[key] = overlay if isinstance(overlay, QROverlay) else None

    def retain(self, wanted: Callable[[QRKey], bool]) -> None:
        """Forgets made QR images ``wanted`` says no planned slide needs (edited, gone)."""
        self._cache = {k: v for k, v in self._cache.items() if wanted(k)}

    def shutdown(self, timeout_ms: int = 3000) -> None:
        self._pool.clear()
        self._pool.waitForDone(timeout_ms)


class OverlayLayer(QWidget):
    """Transparent layer above the slides, below alerts."""

    def __init__(
        self,
        parent: QWidget | None,
        clock: Clock,
        *,
        timezone: str,
        locale: str,
        theme: Theme,
    ) -> None:
        super().__init__(parent)
        self.setAttribute(Qt.WidgetAttribute.WA_TransparentForMouseEvents, True)
        self._clock = clock
        self._timezone = timezone
        self._locale = locale
        self.theme = theme
        self.logo: QImage | None = None
        self.overlays = Overlays(qr=False, clock=True, ticker=False, logo=True)
        self.headlines: tuple[str, ...] = ()
        self.qr: QROverlay | None = None
        self._headline = 0
        self._clock_timer: Timer | None = None
        self._ticker_timer: Timer | None = None

    # -- what to show ---------------------------------------------------------------------
    def set_theme(self, theme: Theme, logo: QImage | None) -> None:
        self.theme = theme
        self.logo = logo
        self.update()

    def set_slide(
        self, overlays: Overlays, headlines: tuple[str, ...], qr: QROverlay | None
    ) -> None:
        """What the slide now on screen asks for (its playlist's switches, ticker, its QR)."""
        if headlines != self.headlines:
            self._headline = 0
        self.overlays = overlays
        self.headlines = headlines
        self.qr = qr if overlays.qr else None
        self._arm()
        self.update()

    def clear(self) -> None:
        """Only the clock and logo (idle screen)."""
        self.set_slide(Overlays(qr=False, clock=True, ticker=False, logo=True), (), None)

    def screen_layout(self) -> ScreenLayout:
        return screen_layout(
            max(1, self.width()),
            max(1, self.height()),
            qr=self.qr is not None,
            ticker=self._ticker_on(),
            qr_side=self.qr.image.width() if self.qr is not None else 0,
        )

    def current_headline(self) -> str | None:
        if not self._ticker_on():
            return None
        return self.headlines[self._headline % len(self.headlines)]

    def clock_words(self) -> str:
        return clock_text(self._clock.now(), self._timezone, self._locale)

    def qr_plate(self) -> Rect | None:
        """Where the QR plate is drawn (white, code and caption), or ``None``."""
        if self.qr is None:
            return None
        lay = self.screen_layout()
        pad = qr_padding(self._unit())
        side = self.qr.image.width()
        cap_h = self._caption_height(lay.qr.w - 2 * pad) if self.qr.caption else 0
        w = max(side + 2 * pad, lay.qr.w)
        h = side + 2 * pad + cap_h
        return Rect(lay.qr.right - w, lay.qr.bottom - h, w, h)

    def warm_fonts(self) -> None:
        """Loads the fonts the clock and a QR caption are drawn with, now.

        The font database's first use costs ~5-30 ms; the player calls this while the
        first slide's picture and QR are read on worker threads, so the first paint
        does not pay it.
        """
        h = self._unit()
        clock = title_font(self.theme.font_family, max(10, round(h * 0.03)))
        QFontMetrics(clock).horizontalAdvance(self.clock_words())
        QFontMetrics(body_font(self.theme.font_family, caption_px(h))).height()

    # -- timers -----------------------------------------------------------------------
    def stop(self) -> None:
        for timer in (self._clock_timer, self._ticker_timer):
            if timer is not None:
                timer.cancel()
        self._clock_timer = self._ticker_timer = None

    def _arm(self) -> None:
        if self.overlays.clock and (self._clock_timer is None or not self._clock_timer.active):
            now = self._clock.now()
            wait = 60.0 - (now.second + now.microsecond / 1e6) + 0.05
            self._clock_timer = self._clock.call_later(wait, self._on_minute)
        if self._ticker_on() and (self._ticker_timer is None or not self._ticker_timer.active):
            self._ticker_timer = self._clock.call_later(TICKER_TURN_S, self._on_ticker)

    def _on_minute(self) -> None:
        self._clock_timer = None
        lay = self.screen_layout()
        self.update(QRect(lay.clock.x, lay.clock.y, lay.clock.w, lay.clock.h))
        self._arm()

    def _on_ticker(self) -> None:
        self._ticker_timer = None
        if self._ticker_on():
            self._headline = (self._headline + 1) % len(self.headlines)
            lay = self.screen_layout()
            self.update(QRect(lay.ticker.x, lay.ticker.y, lay.ticker.w, lay.ticker.h))
        self._arm()

    def _ticker_on(self) -> bool:
        return self.overlays.ticker and bool(self.headlines)

    # -- painting -----------------------------------------------------------------------
    def _unit(self) -> int:
        """What fonts and paddings scale with: the short side (portrait keeps their size)."""
        return size_unit(self.width(), self.height())

    def _caption_height(self, width: int) -> int:
        if self.qr is None or not self.qr.caption:
            return 0
        font = body_font(self.theme.font_family, caption_px(self._unit()))
        flags = int(Qt.TextFlag.TextWordWrap) | int(Qt.AlignmentFlag.AlignHCenter)
        rect = QFontMetrics(font).boundingRect(QRect(0, 0, width, 10000), flags, self.qr.caption)
        return rect.height() + max(4, round(self._unit() * 0.008))

    def _plate(self, painter: QPainter, rect: Rect, alpha: int = 200) -> None:
        colour = QColor(self.theme.background)
        colour.setAlpha(alpha)
        radius = rect.h * 0.18
        painter.setPen(Qt.PenStyle.NoPen)
        painter.setBrush(colour)
        painter.drawRoundedRect(QRectF(rect.x, rect.y, rect.w, rect.h), radius, radius)

    def paintEvent(self, event: QPaintEvent) -> None:
        painter = QPainter(self)
        painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
        painter.setRenderHint(QPainter.RenderHint.TextAntialiasing, True)
        lay = self.screen_layout()
        h = self._unit()
        if self.overlays.logo and self.logo is not None and not self.logo.isNull():
            box = lay.logo
            lw, lh = fitted_size(self.logo.width(), self.logo.height(), box.w, box.h, cover=False)
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, True)
            painter.drawImage(QRectF(box.x, box.y + (box.h - lh) / 2, lw, lh), self.logo)
        if self.overlays.clock:
            words = self.clock_words()
            font = title_font(self.theme.font_family, max(10, round(h * 0.03)))
            width = QFontMetrics(font).horizontalAdvance(words) + round(h * 0.04)
            width = min(width, lay.clock.w)
            cplate = Rect(lay.clock.right - width, lay.clock.y, width, lay.clock.h)
            self._plate(painter, cplate)
            painter.setFont(font)
            painter.setPen(QColor(self.theme.foreground))
            painter.drawText(
                QRectF(cplate.x, cplate.y, cplate.w, cplate.h),
                int(Qt.AlignmentFlag.AlignCenter),
                words,
            )
        headline = self.current_headline()
        if headline is not None:
            band = lay.ticker
            self._plate(painter, band, 225)
            # The marker names what the band is ("NOTICIAS"), in the accent colour.
            label = ticker_label(self._locale)
            label_font = title_font(self.theme.font_family, max(9, round(band.h * 0.34)))
            pad_x = round(band.h * 0.35)
            label_w = QFontMetrics(label_font).horizontalAdvance(label) + 2 * pad_x
            mark = Rect(band.x, band.y, min(label_w, band.w // 3), band.h)
            accent = QColor(self.theme.accent)
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(accent)
            painter.drawRoundedRect(
                QRectF(mark.x, mark.y, mark.w, mark.h), band.h * 0.18, band.h * 0.18
            )
            painter.setFont(label_font)
            painter.setPen(readable_on(accent))
            painter.drawText(
                QRect(mark.x, mark.y, mark.w, mark.h), int(Qt.AlignmentFlag.AlignCenter), label
            )
            font = body_font(self.theme.font_family, max(10, round(band.h * 0.45)))
            painter.setFont(font)
            text_rect = QRect(
                mark.right + round(h * 0.015),
                band.y,
                band.right - mark.right - round(h * 0.03),
                band.h,
            )
            elided = QFontMetrics(font).elidedText(
                headline, Qt.TextElideMode.ElideRight, text_rect.width()
            )
            painter.setPen(QColor(self.theme.foreground))
            painter.drawText(text_rect, int(Qt.AlignmentFlag.AlignVCenter), elided)
        plate = self.qr_plate()
        if plate is not None and self.qr is not None:
            painter.setPen(Qt.PenStyle.NoPen)
            painter.setBrush(QColor("#ffffff"))
            painter.drawRoundedRect(QRectF(plate.x, plate.y, plate.w, plate.h), 8, 8)
            pad = qr_padding(h)
            side = self.qr.image.width()
            painter.setRenderHint(QPainter.RenderHint.SmoothPixmapTransform, False)
            painter.drawImage(plate.x + (plate.w - side) // 2, plate.y + pad, self.qr.image)
            if self.qr.caption:
                font = body_font(self.theme.font_family, caption_px(self._unit()))
                painter.setFont(font)
                painter.setPen(QColor("#111111"))
                flags = int(Qt.TextFlag.TextWordWrap) | int(Qt.AlignmentFlag.AlignHCenter)
                top = plate.y + pad + side + max(4, round(self._unit() * 0.008))
                painter.drawText(
                    QRect(plate.x + pad, top, plate.w - 2 * pad, plate.bottom - top),
                    flags,
                    self.qr.caption,
                )
        painter.end()
