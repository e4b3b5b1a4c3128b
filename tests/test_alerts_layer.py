"""The alert layer rendered for real (offscreen Qt), driven by a ManualClock.

Pixels are sampled from the window grab: the severity colour fills the screen, the headline
is at least 5 % of the height, the status QR decodes with a real decoder, and the events and
snapshots arrive once per alert.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest
import zxingcpp
from PIL import Image

from signage.events import EventLog
from signage.model import Alert, AlertStatus, AlertText, Screen, Severity, Theme
from tests.helpers_alerts import NOW, make_alert

pytestmark = pytest.mark.qt

W, H = 1280, 720


class Harness:
    def __init__(self, qapp: Any, *, exercise: bool = False, locale: str = "es-CO",
                 tags: frozenset[str] = frozenset({"lobby"}), size: tuple[int, int] = (W, H),
                 ) -> None:  # fmt: skip
        from PySide6.QtWidgets import QWidget

        from signage.player.alert_layer import AlertLayer
        from signage.player.clock import ManualClock

        self.app = qapp
        self.clock = ManualClock(NOW)
        self.window = QWidget()
        self.window.resize(*size)
        self.window.show()
        self.events: list[dict[str, Any]] = []
        log = EventLog(None, clock=self.clock.now)
        log.subscribe(self.events.append)
        self.snaps: list[str] = []
        self.active: list[bool] = []
        screen = Screen("pantalla-1", tags, locale=locale)
        self.layer = AlertLayer(
            self.window, Theme(), screen, exercise, log, self.snaps.append, clock=self.clock
        )
        self.layer.setGeometry(self.window.rect())
        self.layer.active_changed.connect(self.active.append)

    def settle(self) -> None:
        for _ in range(6):
            self.app.processEvents()

    def grab(self) -> Image.Image:
        self.settle()
        image = self.window.grab().toImage()
        buf = image.convertToFormat(image.Format.Format_RGB888)
        data = bytes(buf.constBits())[: buf.sizeInBytes()]
        return Image.frombytes(
            "RGB", (buf.width(), buf.height()), data, "raw", "RGB", buf.bytesPerLine()
        )

    def named(self, event: str) -> list[dict[str, Any]]:
        return [e for e in self.events if e["event"] == event]

    def close(self) -> None:
        self.window.close()
        self.window.deleteLater()
        self.settle()


@pytest.fixture
def harness(qapp: Any) -> Iterator[Harness]:
    h = Harness(qapp)
    yield h
    h.close()


def hex_at(image: Image.Image, x: int, y: int) -> str:
    pixel = image.getpixel((x, y))
    assert isinstance(pixel, tuple)
    r, g, b = pixel[:3]
    return f"#{r:02x}{g:02x}{b:02x}"


@pytest.mark.parametrize(
    ("severity", "colour"),
    [
        (Severity.EXTREME, "#7f0000"),
        (Severity.SEVERE, "#bf360c"),
        (Severity.MODERATE, "#ffb300"),
        (Severity.MINOR, "#0d47a1"),
    ],
)
def test_severity_colour_fills_the_screen(qapp: Any, severity: Severity, colour: str) -> None:
    h = Harness(qapp)
    try:
        h.layer.set_alerts([make_alert(severity=severity)])
        image = h.grab()
        for x, y in [(4, 4), (W - 4, H // 2), (W // 2, H - 4)]:
            assert hex_at(image, x, y) == colour
    finally:
        h.close()


def test_shown_event_snapshot_and_active_signal_once(harness: Harness) -> None:
    alert = make_alert("corte", headline="Correo institucional fuera de servicio")
    harness.layer.set_alerts([alert])
    harness.settle()
    assert harness.active == [True]
    shown = harness.named("alert_shown")
    expected = {"alert": "corte", "severity": "Severe"}
    assert [{k: e[k] for k in ("alert", "severity")} for e in shown] == [expected]
    assert shown[0]["headline"] == "Correo institucional fuera de servicio"
    assert harness.snaps == ["alert-corte"]
    harness.layer.set_alerts([alert])  # the same alert in a newer feed version
    harness.grab()
    assert len(harness.named("alert_shown")) == 1
    assert harness.snaps == ["alert-corte"]


def test_headline_is_never_below_five_percent_even_when_long(harness: Harness) -> None:
    long = " ".join(["Interrupción prolongada del sistema de radicación y citas"] * 6)
    harness.layer.set_alerts([make_alert(headline=long)])
    harness.grab()
    assert harness.layer.headline_px >= round(0.05 * H)
    harness.layer.set_alerts([make_alert(headline="Corte")])
    harness.grab()
    assert harness.layer.headline_px >= round(0.10 * H)  # short text gets the full size


def test_expiry_hides_the_layer_without_polling(harness: Harness) -> None:
    alert = make_alert("breve", lifetime=timedelta(minutes=10))
    harness.layer.set_alerts([alert])
    harness.settle()
    assert harness.clock.pending() == 1  # the expiry timer; nothing else ticks
    harness.clock.advance(9 * 60)
    assert harness.layer.active
    harness.clock.advance(61)
    assert not harness.layer.active
    assert harness.active == [True, False]
    assert harness.named("alert_cleared") == [
        {"ts": harness.named("alert_cleared")[0]["ts"], "event": "alert_cleared", "alert": "breve"}
    ]
    assert harness.clock.pending() == 0
    assert not harness.layer.isVisible()


def test_clearing_the_last_alert_hides_at_once(harness: Harness) -> None:
    harness.layer.set_alerts([make_alert("a")])
    harness.settle()
    harness.layer.set_alerts([])
    assert not harness.layer.isVisible()
    assert harness.active == [True, False]
    assert [e["alert"] for e in harness.named("alert_cleared")] == ["a"]


def test_most_severe_first_and_equal_ones_take_turns(harness: Harness) -> None:
    minor = make_alert("menor", severity=Severity.MINOR, sent=NOW)
    first = make_alert("uno", sent=NOW - timedelta(minutes=2))
    second = make_alert("dos", sent=NOW - timedelta(minutes=1))
    harness.layer.set_alerts([minor, first, second])
    harness.settle()
    current = harness.layer.current
    assert current is not None and current.id == "dos"  # the most recent of the most severe
    harness.clock.advance(8)
    harness.settle()
    current = harness.layer.current
    assert current is not None and current.id == "uno"
    harness.clock.advance(8)
    harness.settle()
    current = harness.layer.current
    assert current is not None and current.id == "dos"
    shown = [e["alert"] for e in harness.named("alert_shown")]
    assert shown == ["dos", "uno"]  # once each, the Minor one waits its turn
    assert harness.snaps == ["alert-dos", "alert-uno"]


def test_exercise_and_test_and_tags(qapp: Any) -> None:
    drill = make_alert("drill", status=AlertStatus.EXERCISE)
    test = make_alert("test", status=AlertStatus.TEST)
    other_room = make_alert("sala", tags=frozenset({"sala-capacitacion"}))
    plain = Harness(qapp, exercise=False)
    try:
        plain.layer.set_alerts([drill, test, other_room])
        plain.settle()
        assert not plain.layer.active and plain.events == []
    finally:
        plain.close()
    drills = Harness(qapp, exercise=True)
    try:
        drills.layer.set_alerts([drill, test])
        image = drills.grab()
        current = drills.layer.current
        assert current is not None and current.id == "drill"
        assert hex_at(image, W // 2, 4) == "#ffd600"  # the SIMULACRO band
        assert hex_at(image, W // 2, H - 4) == "#bf360c"
    finally:
        drills.close()


def test_status_qr_decodes_from_the_frame(harness: Harness) -> None:
    url = "https://estado.example.gov.co/incidente/42"
    harness.layer.set_alerts([make_alert(status_url=url, severity=Severity.EXTREME)])
    image = harness.grab()
    found = [r.text for r in zxingcpp.read_barcodes(image)]
    assert found == [url]


def test_text_in_the_screen_language_and_issued_time(qapp: Any) -> None:
    from signage.player.alert_layer import issued_text

    assert issued_text(NOW, "America/Bogota", "es-CO") == "Emitida: sábado 28 de noviembre, 14:41"
    assert issued_text(NOW, "America/Bogota", "en-US") == "Issued: Saturday, November 28, 14:41"
    texts = (AlertText("es", "Correo caído"), AlertText("en", "E-mail down"))
    h = Harness(qapp, locale="en-US")
    try:
        h.layer.set_alerts([replace(make_alert(), texts=texts)])
        h.settle()
        assert h.named("alert_shown")[0]["headline"] == "E-mail down"
    finally:
        h.close()


def test_new_version_with_an_extra_alert_keeps_the_current_one(harness: Harness) -> None:
    a: Alert = make_alert("a", sent=NOW)
    harness.layer.set_alerts([a])
    harness.settle()
    b = make_alert("b", sent=NOW - timedelta(minutes=5))
    harness.layer.set_alerts([a, b])
    harness.settle()
    current = harness.layer.current
    assert current is not None and current.id == "a"
    assert harness.active == [True]


def test_portrait_screen_keeps_everything_inside(qapp: Any) -> None:
    url = "https://estado.example.gov.co/incidente/42"
    h = Harness(qapp, exercise=True, size=(540, 960))
    try:
        long_word = "Repórtelo a soporte-seguridad-informatica@alcaldia.example.gov.co ya"
        alert = make_alert(status=AlertStatus.EXERCISE, status_url=url, severity=Severity.MINOR)
        alert = replace(alert, texts=(AlertText("es", "Campaña de phishing", "", long_word),))
        h.layer.set_alerts([alert])
        image = h.grab()
        assert image.size == (540, 960)
        # the SIMULACRO text was shrunk to the width: the band's ends stay band-coloured
        band = round(540 * 0.075)
        for y in range(2, band - 2):
            assert hex_at(image, 2, y) == "#ffd600" and hex_at(image, 537, y) == "#ffd600"
        assert h.layer.headline_px >= round(0.05 * 960)
        assert [r.text for r in zxingcpp.read_barcodes(image)] == [url]
    finally:
        h.close()
