"""docs/guia/: every picture the guide shows exists and is made by tools/guide_pictures.sh."""

from __future__ import annotations

import re
from pathlib import Path

REPO = Path(__file__).resolve().parents[1]


def test_every_picture_of_the_guide_exists_and_is_regenerated_by_the_script() -> None:
    guide = (REPO / "docs" / "guia" / "README.md").read_text("utf-8")
    script = (REPO / "tools" / "guide_pictures.sh").read_text("utf-8")
    pictures = re.findall(r"\]\((img/[^)]+)\)", guide)
    assert len(pictures) >= 9
    for rel in pictures:
        path = REPO / "docs" / "guia" / rel
        assert path.is_file(), rel
        assert path.read_bytes()[:3] == b"\xff\xd8\xff", f"{rel} is not a JPEG"
        name = path.name
        made = name in script or (name.startswith("alerta-") and "render_alerts.py" in script)
        assert made, f"{rel} is not made by tools/guide_pictures.sh"
    for template in (REPO / "playlists" / "alerts").glob("*.yaml"):
        if template.name != "alertmanager.yaml":
            assert f"img/alerta-{template.stem}.jpg" in pictures, template.name
