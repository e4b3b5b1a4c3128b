"""The playlist's default QR can be kept off a kind of slide (qr_on) or one slide (qr: false)."""

from __future__ import annotations

from pathlib import Path

from signage.playlist import load_playlist_file
from tests.helpers_playlist import ContentRoot

TEXT = """\
name: Lobby
defaults:
  qr: {url: "https://encuestas.cartagena.gov.co/oai", caption: "Escanea y opina"}
  qr_on: [text, video]
slides:
  - id: infografia
    image: assets/a.png
  - id: con-su-qr
    image: assets/a.png
    qr: {url: "https://intranet.cartagena.gov.co/buzon", caption: "Buzón"}
  - id: aviso
    text: {title: "Hola"}
  - id: sin-qr
    text: {title: "Adiós"}
    qr: false
"""


def test_qr_on_limits_the_default_qr_to_kinds(tmp_path: Path) -> None:
    root = ContentRoot(tmp_path)
    root.image("assets/a.png")
    playlist, problems = load_playlist_file(root.playlist("p.yaml", TEXT), tmp_path)
    assert playlist is not None, problems
    qrs = {s.id: (s.qr.url if s.qr else None) for s in playlist.slides}
    assert qrs == {
        "infografia": None,
        "con-su-qr": "https://intranet.cartagena.gov.co/buzon",
        "aviso": "https://encuestas.cartagena.gov.co/oai",
        "sin-qr": None,
    }


def test_a_misspelt_kind_is_located(tmp_path: Path) -> None:
    root = ContentRoot(tmp_path)
    root.image("assets/a.png")
    path = root.playlist("p.yaml", TEXT.replace("qr_on: [text, video]", "qr_on: [imagen]"))
    playlist, problems = load_playlist_file(path, tmp_path)
    assert playlist is None
    assert [(p.line, p.col, p.message) for p in problems] == [
        (4, 11, "'imagen' is not one of image, video, web, text, data (did you mean 'image'?)")
    ]
