"""The alert layer: crisis alerts drawn over the whole window, above slides and overlays.

``AlertLayer`` is one full-window widget the player stacks on top. It decides nothing on its
own: ``signage.alerts.select`` says which alerts this screen shows (tags, status, expiry)
and in what order; the layer paints the first of them, takes turns among equally severe
ones (every ``ROTATE_S`` seconds), and re-decides at the next expiry with a single-shot
timer (no polling). When the last alert clears or expires it hides and emits
``active_changed(False)``, so the playlist underneath is visible on the very next frame.

What a passer-by sees, from five metres: the whole screen in the severity's colour (Extreme
deep red, Severe red-orange, Moderate amber with dark text, Minor blue; all high contrast),
the headline at 5-11 % of the screen height (fitted, never below 5 %), the description, the
instruction on a darker band, "Emitida: sábado 28 de noviembre, 14:41" in the screen's
locale and time zone, an optional QR to the status page, and a "SIMULACRO" band on exercises.

Events: ``alert_shown`` {alert, severity, headline} once an alert's first frame has been
painted (and ``snap("alert-<id>")`` once), ``alert_cleared`` {alert} when a shown alert
leaves the screen.
"""

from __future__ import annotations

from collections.abc import Callable, Sequence
from dataclasses import dataclass
from datetime import datetime
from zoneinfo import ZoneInfo, ZoneInfoNotFoundError

from PySide6.QtCore import QDate, QDateTime, QLocale, QRectF, Qt, QTime, QTimer, Signal
from PySide6.QtGui import QColor, QFont, QFontMetricsF, QImage, QPainter, QPaintEvent
from PySide6.QtWidgets import QWidget

from signage.alerts.select import AlertClock, seconds_to_change, top_group, visible
from signage.events import EventLog
from signage.logs import area_logger
from signage.model import Alert, AlertStatus, AlertText, Screen, Severity, Theme
from signage.player.clock import Clock, QtClock, Timer
from signage.player.layout import fitted_size

log = area_logger("player.alerts")

ROTATE_S = 8.0
HEADLINE_MIN = 0.05  # of the screen height: legible from five metres
HEADLINE_MAX = 0.11
_WRAP = int(Qt.TextFlag.TextWordWrap) | int(Qt.AlignmentFlag.AlignLeft)


@dataclass(frozen=True, slots=True)
class SeverityStyle:
    """Colours of one severity: background, text, and the instruction band."""

    background: str
    foreground: str
    band: str


STYLES = {
    Severity.EXTREME: SeverityStyle("#7f0000", "#ffffff", "#4a0000"),
    Severity.SEVERE: SeverityStyle("#bf360c", "#ffffff", "#7a2208"),
    Severity.MODERATE: SeverityStyle("#ffb300", "#111111", "#ffd54f"),
    Severity.MINOR: SeverityStyle("#0d47a1", "#ffffff", "#08306b"),
}

_LABELS: dict[str, dict[object, str]] = {
    "es": {
        Severity.EXTREME: "ALERTA EXTREMA",
        Severity.SEVERE: "ALERTA GRAVE",
        Severity.MODERATE: "AVISO IMPORTANTE",
        Severity.MINOR: "INFORMACIÓN",
        "issued": "Emitida",
        "exercise": "SIMULACRO · EJERCICIO, NO ES UNA EMERGENCIA REAL",
        "of": "de",
        "status": "Estado del servicio",
        "format": "dddd d 'de' MMMM, HH:mm",
    },
    "en": {
        Severity.EXTREME: "EXTREME ALERT",
        Severity.SEVERE: "SEVERE ALERT",
        Severity.MODERATE: "IMPORTANT NOTICE",
        Severity.MINOR: "INFORMATION",
        "issued": "Issued",
        "exercise": "EXERCISE · DRILL, NOT A REAL EMERGENCY",
        "of": "of",
        "status": "Service status",
        "format": "dddd, MMMM d, HH:mm",
    },
}


def labels_for(locale: str) -> dict[object, str]:
    """The layer's fixed words in the screen's language (Spanish unless English)."""
    return _LABELS["en"] if locale.lower().startswith("en") else _LABELS["es"]


def issued_text(moment: datetime, timezone: str, locale: str) -> str:
    """``Emitida: sábado 28 de noviembre, 14:41`` in the screen's zone and language."""
    try:
        local = moment.astimezone(ZoneInfo(timezone))
    except ZoneInfoNotFoundError:
        local = moment
    words = labels_for(locale)
    stamp = QDateTime(QDate(local.year, local.month, local.day), QTime(local.hour, local.minute))
    text = QLocale(locale.replace("-", "_")).toString(stamp, words["format"])
    return f"{words['issued']}: {text}"


def _font(family: str, px: float, *, bold: bool = False) -> QFont:
    font = QFont(family)
    font.setPixelSize(max(1, round(px)))
    if bold:
        font.setWeight(QFont.Weight.Bold)
    return font


def _size(text: str, font: QFont, width: float) -> tuple[float, float]:
    """(width, height) of ``text`` word-wrapped at ``width``; the width exceeds ``width`` when
    one word alone is longer (an e-mail address, say)."""
    if not text:
        return 0.0, 0.0
    rect = QFontMetricsF(font).boundingRect(QRectF(0, 0, width, 1e7), _WRAP, text)
    return rect.width(), rect.height()


def line_px(text: str, family: str, width: float, px: float, *, bold: bool = False) -> float:
    """``px``, or less so that ``text`` fits ``width`` on one line."""
    advance = QFontMetricsF(_font(family, px, bold=bold)).horizontalAdvance(text)
    return px if advance <= width else max(1.0, px * width / advance * 0.98)


def fit_px(
    text: str, family: str, box: tuple[float, float], *, lo: float, hi: float, bold: bool
) -> int:
    """The largest pixel size in [lo, hi] at which ``text`` wrapped at ``box``'s width fits
    the box (``lo`` when even that does not fit: the floor is a legibility promise)."""
    width, height = box

    def fits(px: int) -> bool:
        used_w, used_h = _size(text, _font(family, px, bold=bold), width)
        return used_w <= width + 0.5 and used_h <= height

    low, high = max(1, round(lo)), max(1, round(hi))
    if fits(high):
        return high
    while low < high:
        mid = (low + high + 1) // 2
        if fits(mid):
            low = mid
        else:
            high = mid - 1
    return low


class AlertLayer(QWidget):
    """The full-window alert layer (the player keeps it on top, sized with the window).

    Args:
        parent: the player window.
        theme: fonts (colours come from the severity).
        screen: tags, time zone and locale of this screen.
        exercise: whether this screen shows Exercise alerts (marked SIMULACRO).
        events: the proof-of-play log (``alert_shown``, ``alert_cleared``).
        snap: writes a snapshot of the window, called once per alert when first shown.
        clock: wall time and delays (tests pass a ``ManualClock``).
        judge: the moment each alert's expiry is judged at (``TimeKeeper.alert_now``: the
            hub's time); default the clock's ``now``.
    """

    active_changed = Signal(bool)

    def __init__(  # noqa: PLR0917  (the player calls it positionally, as the brief fixed it)
        self,
        parent: QWidget | None,
        theme: Theme,
        screen: Screen,
        exercise: bool,
        events: EventLog,
        snap: Callable[[str], object] | None,
        *,
        clock: Clock | None = None,
        judge: AlertClock | None = None,
        rotate_s: float = ROTATE_S,
    ) -> None:
        super().__init__(parent)
        self.theme = theme
        self.screen_info = screen
        self.exercise = exercise
        self.events = events
        self.snap = snap
        self.clock: Clock = clock if clock is not None else QtClock(self)
        self._judge = judge
        self.rotate_s = rotate_s
        self._alerts: tuple[Alert, ...] = ()
        self._shown: tuple[Alert, ...] = ()
        self._current: Alert | None = None
        self._turn = 0
        self._announced: set[str] = set()
        self._pending: str | None = None
        self._expiry_timer: Timer | None = None
        self._rotate_timer: Timer | None = None
        self._active = False
        self._qr_cache: dict[str, QImage | None] = {}
        self.headline_px = 0  # the headline's pixel size in the last frame (tests, logs)
        self._logo: QImage | None = None
        self.setAttribute(Qt.WidgetAttribute.WA_OpaquePaintEvent, True)
        self.hide()

    # ------------------------------------------------------------------ public surface

    @property
    def active(self) -> bool:
        """Whether an alert covers the screen now."""
        return self._active

    @property
    def current(self) -> Alert | None:
        """The alert on screen now (``None`` when the layer is hidden)."""
        return self._current

    def shown_alerts(self) -> tuple[Alert, ...]:
        """Every alert this screen shows now, in order (the first is on screen or takes turns)."""
        return self._shown

    def set_theme(self, theme: Theme) -> None:
        """Takes the fonts of a new content version's theme (GUI thread)."""
        self.theme = theme
        if self._active:
            self.update()

    def set_logo(self, logo: QImage | None) -> None:
        """The organisation's logo (the theme's), drawn on every alert screen (GUI thread)."""
        self._logo = logo
        if self._active:
            self.update()

    def set_alerts(self, alerts: Sequence[Alert]) -> None:
        """Takes the alerts of a new content version (GUI thread) and re-decides at once."""
        self._alerts = tuple(alerts)
        # QR images only for the status pages still linked (each alert may have its own).
        wanted = {a.status_url for a in self._alerts if a.status_url}
        self._qr_cache = {k: v for k, v in self._qr_cache.items() if k.split(":", 1)[1] in wanted}
        self._refresh()

    def clock_changed(self) -> None:
        """The organisation's time estimate moved (GUI thread): re-decides and re-arms."""
        self._refresh()

    # ------------------------------------------------------------------ decisions

    def _refresh(self) -> None:
        now: datetime | AlertClock = self._judge or self.clock.now()
        shown = visible(self._alerts, self.screen_info, now, self.exercise)
        for alert in self._shown:
            if alert.id not in {a.id for a in shown} and alert.id in self._announced:
                self._announced.discard(alert.id)
                self.events.emit("alert_cleared", alert=alert.id)
        self._shown = shown
        self._arm_expiry(now)
        group = top_group(shown)
        if not group:
            self._show(None)
            return
        previous = self._current.id if self._current is not None else None
        ids = [a.id for a in group]
        self._turn = ids.index(previous) if previous in ids else 0
        self._show(group[self._turn])
        self._arm_rotation(len(group))

    def _arm_expiry(self, now: datetime | AlertClock) -> None:
        if self._expiry_timer is not None:
            self._expiry_timer.cancel()
            self._expiry_timer = None
        left = seconds_to_change(self._alerts, now)  # an onset shows one, an expiry ends it
        if left is not None:
            delay = left + 0.001
            self._expiry_timer = self.clock.call_later(delay, self._on_expiry)

    def _arm_rotation(self, group_size: int) -> None:
        if self._rotate_timer is not None:
            self._rotate_timer.cancel()
            self._rotate_timer = None
        if group_size > 1:
            self._rotate_timer = self.clock.call_later(self.rotate_s, self._on_rotate)

    def _on_expiry(self) -> None:
        self._expiry_timer = None
        self._refresh()

    def _on_rotate(self) -> None:
        self._rotate_timer = None
        group = top_group(self._shown)
        if len(group) < 2:
            return
        self._turn = (self._turn + 1) % len(group)
        self._show(group[self._turn])
        self._arm_rotation(len(group))

    def _show(self, alert: Alert | None) -> None:
        self._current = alert
        if alert is None:
            if self._rotate_timer is not None:
                self._rotate_timer.cancel()
                self._rotate_timer = None
            if self._active:
                self.hide()
                self._active = False
                self.active_changed.emit(False)
            return
        if not self._active:
            self._active = True
            self.raise_()
            self.show()
            self.active_changed.emit(True)
        self.update()

    # ------------------------------------------------------------------ painting

    def paintEvent(self, event: QPaintEvent) -> None:
        alert = self._current
        if alert is None:
            return
        painter = QPainter(self)
        try:
            painter.setRenderHint(QPainter.RenderHint.Antialiasing, True)
            painter.setRenderHint(QPainter.RenderHint.TextAntialiasing, True)
            self._paint(painter, alert)
        finally:
            painter.end()
        if alert.id not in self._announced and self._pending != alert.id:
            self._pending = alert.id
            QTimer.singleShot(0, self._announce)

    def _announce(self) -> None:
        alert, self._pending = self._current, None
        if alert is None or alert.id in self._announced or not self.isVisible():
            return
        self._announced.add(alert.id)
        text = self._text(alert)
        self.events.emit(
            "alert_shown", alert=alert.id, severity=alert.severity.value, headline=text.headline
        )
        if self.snap is not None:
            try:
                self.snap(f"alert-{alert.id}")
            except OSError as exc:
                log.warning("alert snapshot not written: %s", exc)

    def _text(self, alert: Alert) -> AlertText:
        return alert.text_for(self.screen_info.locale)

    def _qr(self, url: str, height: int) -> QImage | None:
        key = f"{height}:{url}"
        if key not in self._qr_cache:
            self._qr_cache[key] = _qr_image(url, height)
        return self._qr_cache[key]

    def _paint(self, painter: QPainter, alert: Alert) -> None:
        w, h = float(self.width()), float(self.height())
        unit = min(w, h)  # type scales with the short side (landscape or portrait)
        style = STYLES[alert.severity]
        words = labels_for(self.screen_info.locale)
        fg = QColor(style.foreground)
        family = self.theme.title_font_family
        body_family = self.theme.font_family
        painter.fillRect(self.rect(), QColor(style.background))
        margin = round(unit * 0.05)
        top = float(margin)
        inner = w - 2 * margin

        if alert.status is AlertStatus.EXERCISE:
            band_h = unit * 0.075
            painter.fillRect(QRectF(0, 0, w, band_h), QColor("#ffd600"))
            painter.setPen(QColor("#111111"))
            band_px = line_px(words["exercise"], family, w - 2 * margin, band_h * 0.5, bold=True)
            painter.setFont(_font(family, band_px, bold=True))
            painter.drawText(
                QRectF(0, 0, w, band_h), int(Qt.AlignmentFlag.AlignCenter), words["exercise"]
            )
            top = band_h + margin * 0.6

        label_px = unit * 0.035
        painter.setPen(fg)
        painter.setFont(_font(family, label_px, bold=True))
        label_rect = QRectF(margin, top, inner, label_px * 1.4)
        painter.drawText(label_rect, int(Qt.AlignmentFlag.AlignLeft), words[alert.severity])
        count = len(top_group(self._shown))
        if count > 1:
            painter.drawText(
                label_rect,
                int(Qt.AlignmentFlag.AlignRight),
                f"{self._turn + 1} {words['of']} {count}",
            )
        logo = self._logo
        if logo is not None and not logo.isNull():
            # the organisation's logo at the top right, as the top bar of the slides has it
            lw, lh = fitted_size(
                logo.width(), logo.height(), round(inner * 0.2), round(unit * 0.09), cover=False
            )
            painter.drawImage(QRectF(w - margin - lw, top, lw, lh), logo)
            top += max(label_px * 1.8, lh + unit * 0.02)
        else:
            top += label_px * 1.8

        foot_px = unit * 0.03
        foot_h = foot_px * 1.5
        image = self._qr(alert.status_url, int(unit)) if alert.status_url else None
        side = min(float(image.height()), unit * 0.3, inner * 0.3) if image is not None else 0.0
        plate = side * 0.04
        text = self._text(alert)
        bottom = h - margin - foot_h - unit * 0.03
        text_w = inner - (side + 2 * plate + margin if image is not None else 0.0)

        head_box = (bottom - top) * 0.45
        head_px = fit_px(
            text.headline,
            family,
            (inner, head_box),
            lo=h * HEADLINE_MIN,
            hi=max(h * HEADLINE_MIN, unit * HEADLINE_MAX),
            bold=True,
        )
        self.headline_px = head_px
        head_font = _font(family, head_px, bold=True)
        head_h = min(_size(text.headline, head_font, inner)[1], head_box)
        painter.setFont(head_font)
        painter.drawText(QRectF(margin, top, inner, head_h), _WRAP, text.headline)
        top += head_h + unit * 0.03

        rest = bottom - top
        if text.description:
            desc_box = rest * (0.5 if text.instruction else 1.0)
            desc_px = fit_px(
                text.description, body_family, (text_w, desc_box), lo=unit * 0.022,
                hi=unit * 0.045, bold=False,
            )  # fmt: skip
            desc_font = _font(body_family, desc_px)
            desc_h = min(_size(text.description, desc_font, text_w)[1], desc_box)
            painter.setFont(desc_font)
            painter.drawText(QRectF(margin, top, text_w, desc_h), _WRAP, text.description)
            top += desc_h + unit * 0.025
        if text.instruction:
            pad = unit * 0.015
            box = max(0.0, bottom - top - 2 * pad)
            ins_w = text_w - 2 * pad
            ins_px = fit_px(
                text.instruction, body_family, (ins_w, box), lo=unit * 0.022, hi=unit * 0.042,
                bold=True,
            )  # fmt: skip
            ins_font = _font(body_family, ins_px, bold=True)
            ins_h = min(_size(text.instruction, ins_font, ins_w)[1], box)
            # the lower third: what to do sits at the bottom, beside the status page's QR
            top = max(top, bottom - ins_h - 2 * pad)
            painter.fillRect(QRectF(margin, top, text_w, ins_h + 2 * pad), QColor(style.band))
            painter.setPen(fg)
            painter.setFont(ins_font)
            painter.drawText(QRectF(margin + pad, top + pad, ins_w, ins_h), _WRAP, text.instruction)

        painter.setPen(fg)
        issued = issued_text(alert.sent, self.screen_info.timezone, self.screen_info.locale)
        issued_w = inner - (side + 2 * plate + margin if image is not None else 0.0)
        painter.setFont(_font(body_family, line_px(issued, body_family, issued_w, foot_px)))
        painter.drawText(
            QRectF(margin, h - margin - foot_h, issued_w, foot_h),
            int(Qt.AlignmentFlag.AlignLeft | Qt.AlignmentFlag.AlignBottom),
            issued,
        )
        if image is not None:
            x = w - margin - side - plate
            y = h - margin - foot_h - side - plate
            painter.fillRect(
                QRectF(x - plate, y - plate, side + 2 * plate, side + 2 * plate), QColor("#ffffff")
            )
            painter.drawImage(QRectF(x, y, side, side), image)
            caption_w = side + 2 * plate
            painter.setFont(
                _font(body_family, line_px(words["status"], body_family, caption_w, foot_px * 0.8))
            )
            painter.drawText(
                QRectF(x - plate, h - margin - foot_h, caption_w, foot_h),
                int(Qt.AlignmentFlag.AlignHCenter | Qt.AlignmentFlag.AlignBottom),
                words["status"],
            )


def _qr_image(url: str, height: int) -> QImage | None:
    """The status page QR as a pixel-exact QImage (``None`` when it may not be drawn)."""
    try:
        from signage import qr as qrmod
        from signage.player.overlays import pil_to_qimage
    except ImportError:
        return None
    if not qrmod.drawable(url, frozenset()):
        log.warning("status page %r not drawn as a QR: only https URLs are", url)
        return None
    try:
        return pil_to_qimage(qrmod.qr_image(url, max(1, height)))
    except ValueError as exc:
        log.warning("status page QR not drawn: %s", exc)
        return None
