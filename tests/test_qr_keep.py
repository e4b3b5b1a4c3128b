"""The QR images a player keeps for its next start (signage.player.overlays save_qr/load_qr)."""

from __future__ import annotations

from pathlib import Path

from PySide6.QtGui import QColor, QImage

from signage.player.overlays import QROverlay, load_qr, save_qr


def _colour_type(png: Path) -> int:
    data = png.read_bytes()
    assert data[12:16] == b"IHDR"
    return data[25]  # 0 grey, 2 RGB


def _qr(colour: QColor) -> QImage:
    image = QImage(50, 50, QImage.Format.Format_RGB888)
    image.fill(QColor("white"))
    for x in range(0, 50, 5):
        for y in range(0, 50, 10):
            image.setPixelColor(x, y, colour)
    return image


def test_a_black_and_white_qr_is_kept_grey_and_reads_back_the_same(qapp, tmp_path):
    made = QROverlay("https://a.example/x", _qr(QColor("black")), "Opina")
    kept = tmp_path / "qr" / "a.png"
    save_qr(kept, made)
    assert _colour_type(kept) == 0  # a third of the bytes to decode at the next start
    back = load_qr(kept, "Opina")
    assert back is not None
    assert back.url == made.url
    assert back.image.format() == QImage.Format.Format_RGB888
    assert back.image == made.image  # pixel for pixel


def test_a_coloured_qr_is_kept_in_colour(qapp, tmp_path):
    made = QROverlay("https://a.example/y", _qr(QColor("#0b2545")), None)
    kept = tmp_path / "b.png"
    save_qr(kept, made)
    assert _colour_type(kept) == 2
    back = load_qr(kept, None)
    assert back is not None
    assert back.image == made.image
