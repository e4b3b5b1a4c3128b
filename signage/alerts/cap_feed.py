"""The hub's active alerts as a CAP 1.2 feed: an Atom index, one CAP message per alert.

Other CAP consumers (an intranet, another signage system's CAP connector) subscribe to the
index (``GET /api/v1/alerts.atom``); each entry links (``rel="alternate"``,
``type="application/cap+xml"``) to the alert's CAP message (``/api/v1/alerts/{id}/cap``,
``signage.alerts.cap.export_cap``, valid against the OASIS CAP 1.2 schema). Pure: bytes
from alerts, a base URL and a time.
"""

from __future__ import annotations

import xml.etree.ElementTree as ET  # building only
from collections.abc import Sequence
from datetime import datetime
from urllib.parse import quote

from signage.alerts.cap import cap_time
from signage.model import Alert

__all__ = ["ATOM_NS", "atom_index"]

ATOM_NS = "http://www.w3.org/2005/Atom"


def _q(name: str) -> str:
    return f"{{{ATOM_NS}}}{name}"


def atom_index(alerts: Sequence[Alert], base_url: str, now: datetime) -> bytes:
    """An Atom 1.0 feed with one entry per alert (newest first)."""
    ET.register_namespace("", ATOM_NS)
    feed = ET.Element(_q("feed"))
    base = base_url.rstrip("/")

    def add(parent: ET.Element, name: str, text: str | None = None, **attrs: str) -> ET.Element:
        node = ET.SubElement(parent, _q(name), attrs)
        if text is not None:
            node.text = text
        return node

    add(feed, "id", f"{base}/api/v1/alerts.atom")
    add(feed, "title", "Alertas activas (CAP 1.2)")
    newest = max((a.sent for a in alerts), default=now)
    add(feed, "updated", cap_time(newest))
    add(add(feed, "author"), "name", "signage hub")
    add(feed, "link", rel="self", href=f"{base}/api/v1/alerts.atom",
        type="application/atom+xml")  # fmt: skip
    for alert in sorted(alerts, key=lambda a: (a.sent, a.id), reverse=True):
        cap_url = f"{base}/api/v1/alerts/{quote(alert.id, safe='')}/cap"
        entry = add(feed, "entry")
        add(entry, "id", cap_url)
        add(entry, "title", alert.texts[0].headline)
        add(entry, "updated", cap_time(alert.sent))
        add(entry, "published", cap_time(alert.sent))
        add(entry, "link", rel="alternate", href=cap_url, type="application/cap+xml")
        add(entry, "category", term=alert.severity.value, label="severity")
        scope = "Public" if alert.restriction is None else "Restricted"
        add(entry, "category", term=scope, label="scope")
        add(entry, "summary", alert.texts[0].description or alert.texts[0].headline)
    body: bytes = ET.tostring(feed, encoding="utf-8", xml_declaration=True)
    return body
