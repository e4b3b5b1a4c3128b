"""Renders every alert template of a content root, as a screen shows it, to PNG files.

Each template is filled with its variables' examples (defaults from playlists/settings.yaml
where it has them) and painted by the player's own alert layer, offscreen, at 1920x1080
(and 1080x1920 with --portrait). For reviewing the wording on the real layout ("read each
alert aloud") and for the guide's pictures (docs/guia/, tools/guide_pictures.sh).

    python tools/render_alerts.py --root . --out /tmp/alerts [--language es] [--portrait]
"""

from __future__ import annotations

import argparse
import os
import sys
from datetime import UTC, datetime, timedelta
from pathlib import Path


def main(argv: list[str] | None = None) -> int:
    parser = argparse.ArgumentParser(description=__doc__.splitlines()[0] if __doc__ else "")
    parser.add_argument("--root", type=Path, default=Path(), metavar="DIR")
    parser.add_argument("--out", type=Path, required=True, metavar="DIR")
    parser.add_argument("--language", default="es-CO", metavar="LOCALE")
    parser.add_argument("--portrait", action="store_true")
    args = parser.parse_args(argv)
    os.environ.setdefault("QT_QPA_PLATFORM", "offscreen")

    from PySide6.QtGui import QImage
    from PySide6.QtWidgets import QApplication, QWidget

    from signage.alerts.templates import load_templates, render
    from signage.events import EventLog
    from signage.model import Screen
    from signage.player.alert_layer import AlertLayer
    from signage.player.clock import ManualClock
    from signage.playlist import load_content_root

    app = QApplication.instance() or QApplication(["render-alerts"])
    size = (1080, 1920) if args.portrait else (1920, 1080)
    now = datetime(2026, 12, 3, 14, 30, tzinfo=UTC)
    theme = load_content_root(args.root, check_assets=False).theme
    templates = load_templates(args.root / "playlists" / "alerts")
    args.out.mkdir(parents=True, exist_ok=True)
    for template in templates.templates.values():
        values = {v.name: v.example for v in template.variables if v.required}
        alert = render(template, values, now=now, expires=timedelta(hours=2))
        window = QWidget()
        window.resize(*size)
        window.show()
        clock = ManualClock(now)
        screen = Screen("vista-previa", frozenset(), locale=args.language)
        layer = AlertLayer(window, theme, screen, False, EventLog(None, clock=clock.now), None,
                           clock=clock)  # fmt: skip
        layer.setGeometry(window.rect())
        if theme.logo:
            layer.set_logo(QImage(str(args.root / theme.logo)))
        layer.set_alerts([alert])
        for _ in range(6):
            app.processEvents()
        target = args.out / f"alerta-{template.id}.png"
        window.grab().save(str(target))
        print(target)
        window.close()
        window.deleteLater()
        app.processEvents()
    return 0


if __name__ == "__main__":
    sys.exit(main())
