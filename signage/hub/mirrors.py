"""The hub's mirror folders: every version it signs written to each, and the emergency
alerts raised into them while the hub was down taken back in.

``signage serve ... --mirror DIR`` (repeatable): ``attach`` registers a publish listener
that writes each new version into every DIR with ``signage.feed.mirror.write_version``
(assets first, manifest pair last, never backwards). ``take_in`` runs at start-up, before
the first publish, before every publish after it (so no version the hub signs drops an
alert raised in a mirror), and whenever a mirror's ``alerts.json`` changes while the hub
runs (``watch``: a hub that was only cut off, not stopped, takes in what was raised while
screens could not reach it, and publishes). An ``alerts.json`` found in a DIR that
verifies against the hub's own key or an ``--alert-key`` and was not taken in before (its
serial is above the one recorded in ``DATA/emergency-taken.json``) has its alerts raised
into the hub's alert store and its ``cleared`` ids cleared there, so the hub's next version
carries them and no screen loses an alert when it moves from the emergency document to the
hub's new version.
"""

from __future__ import annotations

import json
import threading
import time
from collections.abc import Sequence
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING

from signage.errors import FeedError
from signage.logs import area_logger

if TYPE_CHECKING:
    from signage.hub.publishing import FeedSnapshot
    from signage.hub.state import Hub
    from signage.model import Alert

__all__ = ["attach", "take_in", "watch"]

log = area_logger("hub")

TAKEN_NAME = "emergency-taken.json"


def attach(hub: Hub, dirs: Sequence[Path]) -> None:
    """Writes every version ``hub`` serves (and the current one, at once) into ``dirs``."""
    from signage.feed.mirror import write_version

    def listener(snap: FeedSnapshot) -> None:
        for dst in dirs:
            try:
                write_version(dst, snap.manifest, snap.signature, snap.assets_dir)
            except (FeedError, OSError) as exc:
                log.error("mirror %s: version %d not written: %s", dst, snap.version, exc)

    hub.on_publish(listener)


def watch(
    hub: Hub, dirs: Sequence[Path], alert_keys: Sequence[str], interval_s: float = 2.0
) -> threading.Thread:
    """Takes in emergency documents raised into ``dirs`` while the hub runs (a daemon thread
    looking at their ``alerts.json`` every ``interval_s``) and publishes when one changed
    the alerts. Every publish also takes them in first (the hub's alerts provider)."""
    from signage.feed.emergency import ALERTS_NAME

    provider = hub.alerts_provider
    lock = threading.Lock()

    def take(now: datetime) -> int:
        with lock:
            return take_in(hub, dirs, alert_keys, now)

    if provider is not None:

        def alerts(now: datetime) -> Sequence[Alert]:
            take(now)
            return provider(now)

        hub.alerts_provider = alerts

    def stamp() -> list[tuple[int, int]]:
        out = []
        for folder in dirs:
            try:
                st = (folder / ALERTS_NAME).stat()
                out.append((st.st_mtime_ns, st.st_size))
            except OSError:
                out.append((0, 0))
        return out

    def loop() -> None:
        seen = stamp()
        while True:
            time.sleep(interval_s)
            now_stamp = stamp()
            if now_stamp == seen:
                continue
            seen = now_stamp
            try:
                if take(hub.now()) and hub.can_sign:
                    hub.republish("emergency alerts taken in")
            except Exception:  # the watcher must outlive a bad document or a failed publish
                log.exception("taking in emergency alerts failed")

    thread = threading.Thread(target=loop, name="hub-mirror-alerts", daemon=True)
    thread.start()
    return thread


def _taken(data_dir: Path) -> int:
    try:
        value = json.loads((data_dir / TAKEN_NAME).read_text("utf-8")).get("serial", 0)
    except (OSError, ValueError, AttributeError):
        return 0
    return value if isinstance(value, int) else 0


def take_in(hub: Hub, dirs: Sequence[Path], alert_keys: Sequence[str], now: datetime) -> int:
    """Raises into the hub the alerts of the newest verified emergency document not yet taken
    in; returns how many alerts it raised or cleared (0: nothing to do)."""
    from signage.alerts.store import AlertStore
    from signage.durable import write_atomic
    from signage.feed.emergency import ALERTS_NAME, ALERTS_SIG_NAME, MAX_DOC_BYTES, verify_document

    keys = [*alert_keys]
    own = hub.public_key()
    if own:
        keys.append(own)
    best = None
    for folder in dirs:
        try:
            with (folder / ALERTS_NAME).open("rb") as fh:
                data = fh.read(MAX_DOC_BYTES + 1)
            sig = (folder / ALERTS_SIG_NAME).read_text("ascii")[:1024]
            doc = verify_document(data, sig, keys)
        except FileNotFoundError:
            continue
        except (OSError, UnicodeDecodeError, FeedError) as exc:
            log.warning("%s: emergency alerts document not taken in: %s", folder, exc)
            continue
        if best is None or doc.serial > best.serial:
            best = doc
    data_dir = hub.config.data_dir
    if best is None or best.serial <= _taken(data_dir):
        return 0
    stores = [AlertStore(data_dir / "alerts")]
    if hub.config.root is not None:
        stores.append(AlertStore(hub.config.root / "alerts"))
    changed = 0
    for alert_id in sorted(best.cleared):
        changed += sum(1 for store in stores if store.clear(alert_id))
    for alert in best.alerts:
        if alert.expires > now:
            stores[0].raise_alert(alert)
            changed += 1
    write_atomic(data_dir / TAKEN_NAME, json.dumps({"serial": best.serial}).encode())
    log.warning(
        "took in emergency alerts document serial %d: %d alert(s) raised or cleared",
        best.serial,
        changed,
    )
    return changed
