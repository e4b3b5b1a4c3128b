"""Alert screens use their lower third (what to do, beside the status page's QR) and carry
the organisation's logo; measured on the alert layer's own frame at 1920x1080."""

from __future__ import annotations

from typing import Any

import pytest

from tests.helpers_alerts import make_alert
from tests.test_alerts_layer import Harness

pytestmark = pytest.mark.qt

BAND = (0x7A, 0x22, 0x08)  # the instruction band of a Severe alert
MAGENTA = (255, 0, 255)


def test_instruction_in_the_lower_third_and_the_logo_at_the_top(qapp: Any) -> None:
    from PySide6.QtGui import QColor, QImage

    h = Harness(qapp, size=(1920, 1080))
    try:
        logo = QImage(400, 200, QImage.Format.Format_RGB888)
        logo.fill(QColor(*MAGENTA))
        h.layer.set_logo(logo)
        h.layer.set_alerts([make_alert("corte", status_url="https://estado.cartagena.gov.co")])
        image = h.grab()
        band_rows = [y for y in range(0, 1080, 4) if image.getpixel((200, y)) == BAND]
        assert band_rows, "no instruction band"
        assert min(band_rows) > 1080 * 2 / 3, "the instruction sits in the lower third"
        logo_pixels = [
            (x, y)
            for y in range(0, 300, 4)
            for x in range(1300, 1920, 4)
            if image.getpixel((x, y)) == MAGENTA
        ]
        assert len(logo_pixels) > 100, "the logo at the top right"
        assert all(x > 1500 for x, _ in logo_pixels)
    finally:
        h.close()
