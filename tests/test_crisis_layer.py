"""The real alert layer (offscreen Qt, ManualClock) with CAP audience and onset.

A Restricted (staff-only) alert covers an internal screen and never a public one; an alert
whose onset is ahead is not shown, and appears by itself when the clock reaches it (the
layer arms a timer for the next onset as it does for expiries), with ``alert_shown``.
"""

from __future__ import annotations

from collections.abc import Iterator
from dataclasses import replace
from datetime import timedelta
from typing import Any

import pytest

from signage.events import EventLog
from signage.model import Screen, Theme
from tests.helpers_alerts import NOW, make_alert

pytestmark = pytest.mark.qt


class Layer:
    def __init__(self, qapp: Any, audience: str) -> None:
        from PySide6.QtWidgets import QWidget

        from signage.player.alert_layer import AlertLayer
        from signage.player.clock import ManualClock

        self.app = qapp
        self.clock = ManualClock(NOW)
        self.window = QWidget()
        self.window.resize(640, 360)
        self.window.show()
        self.events: list[dict[str, Any]] = []
        log = EventLog(None, clock=self.clock.now)
        log.subscribe(self.events.append)
        screen = Screen("pantalla", frozenset({"lobby"}), audience=audience)
        self.layer = AlertLayer(self.window, Theme(), screen, False, log, None, clock=self.clock)
        self.layer.setGeometry(self.window.rect())

    def settle(self) -> None:
        for _ in range(6):
            self.app.processEvents()

    def shown(self) -> list[str]:
        self.settle()
        return [e["alert"] for e in self.events if e["event"] == "alert_shown"]

    def close(self) -> None:
        self.window.close()
        self.window.deleteLater()
        self.settle()


@pytest.fixture
def layers(qapp: Any) -> Iterator[dict[str, Layer]]:
    made = {name: Layer(qapp, name) for name in ("internal", "public")}
    yield made
    for layer in made.values():
        layer.close()


def test_restricted_covers_internal_screens_only(layers: dict[str, Layer]) -> None:
    staff = replace(make_alert("solo-funcionarios"), restriction="Funcionarios")
    for layer in layers.values():
        layer.layer.set_alerts([staff])
    assert layers["internal"].layer.active and layers["internal"].shown() == [staff.id]
    assert not layers["public"].layer.active and layers["public"].shown() == []


def test_an_alert_with_a_future_onset_appears_when_due(layers: dict[str, Layer]) -> None:
    layer = layers["public"]
    tomorrow = replace(make_alert("mantenimiento"), onset=NOW + timedelta(hours=1))
    layer.layer.set_alerts([tomorrow])
    assert not layer.layer.active and layer.shown() == []
    layer.clock.advance(59 * 60)
    assert not layer.layer.active
    layer.clock.advance(61)
    assert layer.layer.active and layer.shown() == ["mantenimiento"]
