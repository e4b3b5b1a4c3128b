"""The emergency route: a signed alerts-only document beside a feed (``alerts.json``).

With the hub down, the crisis lead signs an alerts document with an *alerts-only* key
(``signage alert raise --feed-dir DIR --key FILE``) straight into a static feed folder::

    FEED_DIR/alerts.json       {"format": "signage-alerts/1", "serial": N, "base_version": V,
                                "issued": T, "expires": T, "alerts": [...], "cleared": [ids]}
    FEED_DIR/alerts.json.sig   base64 Ed25519 signature over the exact bytes of alerts.json

Rules a screen applies (``parse_document``, ``verify_document``, ``overlay_alerts``):

- the signature must verify with one of the keys the screen pins in ``alert_keys`` (or the
  feed's own ``pubkey``), BEFORE the bytes are parsed;
- the document has exactly the keys above: a ``playlists``, ``assets``, ``theme`` or any
  other key refuses it whole, so the alerts-only key cannot change content by construction
  (the screen builds the shown content from the verified feed version, replacing only its
  alerts); a ``feed.json`` signed with that key fails the feed's own signature check;
- ``serial`` only goes up: a document with a serial below the highest the screen accepted is
  ignored, the same serial with other bytes is refused (replay rule, across sources);
- ``base_version`` binds it to one content version: it applies only while that version is
  on screen. When the hub is back it publishes a newer version that carries the alerts it
  took in (``signage serve --mirror DIR --alert-key KEY``), and the document stops applying;
- past ``expires`` the document no longer applies; each alert also leaves at its own
  ``expires``.

Shown alerts = the content's alerts minus ``cleared`` ids and minus ids the document
re-raises, plus the document's alerts.
"""

from __future__ import annotations

import hashlib
import json
import threading
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass, replace
from datetime import datetime
from pathlib import Path
from typing import Any

from signage.errors import FeedError
from signage.feed import codec
from signage.i18n import N_
from signage.logs import area_logger
from signage.model import Alert, Content

__all__ = [
    "ALERTS_NAME",
    "ALERTS_SIG_NAME",
    "EmergencyDoc",
    "EmergencyReader",
    "Written",
    "build_document",
    "overlay_alerts",
    "parse_document",
    "verify_document",
    "write_alerts",
]

log = area_logger("feed")

FORMAT = "signage-alerts/1"
ALERTS_NAME = "alerts.json"
ALERTS_SIG_NAME = "alerts.json.sig"
MAX_DOC_BYTES = 1 << 20
MAX_SIG_BYTES = 1024
_KEYS = {"format", "serial", "base_version", "issued", "expires", "alerts", "cleared"}


@dataclass(frozen=True, slots=True)
class EmergencyDoc:
    """A parsed, verified alerts document."""

    serial: int
    base_version: int
    issued: datetime
    expires: datetime
    alerts: tuple[Alert, ...]
    cleared: frozenset[str]
    sha256: str


def _int(doc: dict[str, Any], key: str) -> int:
    value = doc.get(key)
    if not isinstance(value, int) or isinstance(value, bool) or value < 1:
        raise FeedError(N_("alerts document: '{key}' must be an integer ≥ 1"), key=key)
    return value


def parse_document(data: bytes) -> EmergencyDoc:
    """Checks an alerts document's shape (after its signature). Raises FeedError."""
    if len(data) > MAX_DOC_BYTES:
        raise FeedError(N_("alerts document: over {limit} bytes"), limit=MAX_DOC_BYTES)
    try:
        doc = json.loads(data)
    except (ValueError, UnicodeDecodeError, RecursionError):
        raise FeedError(N_("alerts document: not JSON")) from None
    if not isinstance(doc, dict):
        raise FeedError(N_("alerts document: must be a JSON object"))
    extra = sorted(set(doc) - _KEYS)
    if extra:
        raise FeedError(
            N_(
                "alerts document: key {key} is not allowed (an alerts-only document "
                "may add or clear alerts, never change content)"
            ),
            key=repr(extra[0]),
        )
    if doc.get("format") != FORMAT:
        raise FeedError(N_("alerts document: 'format' must be {format}"), format=repr(FORMAT))
    issued = codec.parse_time(doc.get("issued"), "issued")
    expires = codec.parse_time(doc.get("expires"), "expires")
    raw_alerts = doc.get("alerts")
    raw_cleared = doc.get("cleared", [])
    if not isinstance(raw_alerts, list):
        raise FeedError(N_("alerts document: 'alerts' must be a list"))
    if not isinstance(raw_cleared, list) or not all(isinstance(c, str) for c in raw_cleared):
        raise FeedError(N_("alerts document: 'cleared' must be a list of alert ids"))
    alerts = tuple(codec.alert_from_json(a, f"alerts[{i}]") for i, a in enumerate(raw_alerts))
    return EmergencyDoc(
        serial=_int(doc, "serial"),
        base_version=_int(doc, "base_version"),
        issued=issued,
        expires=expires,
        alerts=alerts,
        cleared=frozenset(raw_cleared),
        sha256=hashlib.sha256(data).hexdigest(),
    )


def verify_document(data: bytes, sig: str, keys: Sequence[str]) -> EmergencyDoc:
    """Verifies ``sig`` with any of ``keys`` BEFORE parsing; raises FeedError."""
    from signage.feed import signing

    for key in keys:
        try:
            signing.verify(data, sig, key)
        except FeedError:
            continue
        return parse_document(data)
    raise FeedError(N_("alerts document: the signature matches no pinned alerts key"))


def build_document(  # noqa: PLR0917 (the document's fields, in order)
    serial: int,
    base_version: int,
    issued: datetime,
    expires: datetime,
    alerts: Sequence[Alert],
    cleared: Sequence[str],
) -> bytes:
    """Canonical bytes of an alerts document (what ``signage alert raise --feed-dir`` signs)."""
    from signage.feed.manifest import canonical_json

    return canonical_json(
        {
            "format": FORMAT,
            "serial": serial,
            "base_version": base_version,
            "issued": codec.format_time(issued),
            "expires": codec.format_time(expires),
            "alerts": [codec.alert_to_json(a) for a in alerts],
            "cleared": sorted(set(cleared)),
        }
    )


def overlay_alerts(
    content_alerts: Sequence[Alert], version: int, doc: EmergencyDoc | None, now: datetime
) -> tuple[Alert, ...]:
    """The alerts to show: the content's, with the document laid over them when it applies
    (same ``base_version``, not expired). Pure."""
    if doc is None or doc.base_version != version or now >= doc.expires:
        return tuple(content_alerts)
    raised = {a.id for a in doc.alerts}
    kept = [a for a in content_alerts if a.id not in doc.cleared and a.id not in raised]
    return (*kept, *doc.alerts)


class EmergencyReader:
    """The screen's side: fetches ``alerts.json`` from each source, keeps the newest that
    verifies (``state/emergency.json`` in the cache, with its bytes), lays it over content.

    Args:
        store: the feed cache (its folder holds the kept document).
        config: ``alert_keys`` and ``pubkey`` are the keys that may sign a document.
        emit: ``(event, **fields)``; ``alerts_applied`` / ``alerts_rejected``.
        tls: the ``ssl.SSLContext`` the player's other requests use (its ``ca_file``).
    """

    def __init__(
        self, store: Any, config: Any, emit: Callable[..., None], *, tls: Any = None
    ) -> None:
        from signage.feed.transport import Timeouts, Transport

        self.folder = Path(store.root) / "state"
        self.keys = tuple(config.alert_keys) + ((config.pubkey,) if config.pubkey else ())
        self._emit = emit
        self.timeouts = Timeouts(connect=3.0, read=5.0)
        self._tls = tls
        self._lock = threading.Lock()
        self._consider_lock = threading.Lock()
        self._transports: dict[str, Transport] = {}
        self.doc: EmergencyDoc | None = None
        self.source: str | None = None
        self._loaded = False
        self._refused: dict[str, str] = {}

    def close(self) -> None:
        with self._lock:
            transports = list(self._transports.values())
        for transport in transports:
            transport.close()

    def abort(self) -> None:
        """Cuts every look in progress (the source is stopping)."""
        with self._lock:
            transports = list(self._transports.values())
        for transport in transports:
            transport.abort()

    def _load(self) -> None:
        self._loaded = True
        try:
            data = (self.folder / "emergency.json").read_bytes()
            sig = (self.folder / "emergency.json.sig").read_text("ascii")
            self.doc = verify_document(data, sig, self.keys)
        except (OSError, UnicodeDecodeError, FeedError):
            self.doc = None

    def _keep(self, data: bytes, sig: str) -> None:
        from signage.durable import write_atomic

        self.folder.mkdir(parents=True, exist_ok=True)
        write_atomic(self.folder / "emergency.json.sig", sig.encode("ascii"), sync_dir=False)
        write_atomic(self.folder / "emergency.json", data)

    def consider(self, url: str, data: bytes, sig: str) -> bool:
        """Takes a fetched document if it verifies and is newer; ``True`` when taken."""
        try:
            doc = verify_document(data, sig, self.keys)
        except FeedError as exc:
            self._refuse(url, exc.reason)
            return False
        current = self.doc
        if current is not None:
            if doc.serial < current.serial or doc.sha256 == current.sha256:
                return False  # behind, or what we have
            if doc.serial == current.serial:
                self._refuse(url, f"serial {doc.serial} already applied with other bytes")
                return False
        self._keep(data, sig)
        self.doc, self.source = doc, url
        self._refused.pop(url, None)
        log.info(
            "alerts document serial %d from %s (over version %d)", doc.serial, url, doc.base_version
        )
        self._emit("alerts_applied", serial=doc.serial, base_version=doc.base_version, source=url)
        return True

    def _refuse(self, url: str, reason: str) -> None:
        if self._refused.get(url) != reason:
            self._refused[url] = reason
            log.warning("alerts document from %s refused: %s", url, reason)
            self._emit("alerts_rejected", reason=reason, source=url)

    def fetch(self, urls: Sequence[str], on_taken: Callable[[], object] | None = None) -> None:
        """One look at every source's ``alerts.json``, one after the other."""
        for url in urls:
            self.look(url, on_taken)

    def look(self, feed_url: str, on_taken: Callable[[], object] | None = None) -> bool:
        """One look at one source's ``alerts.json`` (a missing one is normal); ``True`` when
        a newer document was taken (``on_taken`` is then called). Each source has its own
        connection, so a player runs one thread per source: a mirror that stalls or drips
        bytes holds up only its own looks."""
        from signage.feed.sync import manifest_url
        from signage.feed.transport import Transport

        base = manifest_url(feed_url).rsplit("/", 1)[0] + "/"
        with self._lock:
            transport = self._transports.get(base)
            if transport is None or transport.aborted:
                transport = Transport(self.timeouts, ssl_context=self._tls)
                self._transports[base] = transport
        got = self._read(base, transport)
        if got is None:
            return False
        with self._consider_lock:
            taken = self.consider(base, *got)
        if taken and on_taken is not None:
            on_taken()
        return taken

    def _read(self, base: str, transport: Any) -> tuple[bytes, str] | None:
        got = self._get_pair(base, transport)
        if got is None:
            return None
        try:
            verify_document(got[0], got[1], self.keys)
        except FeedError:
            # Perhaps a write landed between the two requests (signature first, then the
            # document): fetch both once more, as the feed's sync does.
            time.sleep(0.3)
            got = self._get_pair(base, transport) or got
        return got

    def _get_pair(self, base: str, transport: Any) -> tuple[bytes, str] | None:
        """``alerts.json`` and its signature from ``base``; ``None`` when absent or down."""
        from signage.feed.errors import TransportError
        from signage.feed.transport import check_status

        got: list[bytes] = []
        try:
            for name, cap in ((ALERTS_NAME, MAX_DOC_BYTES), (ALERTS_SIG_NAME, MAX_SIG_BYTES)):
                resp = transport.get(base + name, {})
                try:
                    if resp.status == 404:
                        return None
                    check_status(resp.status, resp.reason, name, base + name)
                    got.append(resp.read_capped(cap, name))
                finally:
                    resp.close(reuse=True)
        except (FeedError, TransportError):
            return None  # the source is down or misbehaves: the content sync reports it
        finally:
            transport.close()
        return got[0], got[1].decode("ascii", "replace")

    def overlay(
        self, content: Content, now: datetime, *, fetch: bool, urls: Sequence[str] = ()
    ) -> Content:
        """``content`` with the kept (or freshly fetched) document laid over its alerts."""
        if not self._loaded:
            self._load()
        if fetch and urls:
            self.fetch(urls)
        alerts = overlay_alerts(content.alerts, content.version, self.doc, now)
        return content if alerts == content.alerts else replace(content, alerts=alerts)


# ------------------------------------------------------------------ the writer's side


@dataclass(frozen=True, slots=True)
class Written:
    """What ``write_alerts`` put in the folder."""

    serial: int
    base_version: int
    alerts: tuple[Alert, ...]
    cleared: frozenset[str]


def _served(feed_dir: Path, pubkey: str) -> tuple[int, tuple[Alert, ...], EmergencyDoc | None]:
    """(content version, its alerts, the alerts document over it signed by ``pubkey``)."""
    from signage.feed.folder import read_pair
    from signage.feed.manifest import parse_manifest

    pair = read_pair(feed_dir)
    if pair is None:
        raise FeedError(
            N_(
                "{folder}: no feed.json here; the emergency route writes into a feed folder "
                "(a mirror the screens poll)"
            ),
            folder=feed_dir,
        )
    manifest = parse_manifest(pair.manifest)
    doc: EmergencyDoc | None = None
    try:
        with (feed_dir / ALERTS_NAME).open("rb") as fh:
            data = fh.read(MAX_DOC_BYTES + 1)
        sig = (feed_dir / ALERTS_SIG_NAME).read_text("ascii")[:MAX_SIG_BYTES]
        doc = verify_document(data, sig, [pubkey])
    except (OSError, UnicodeDecodeError, FeedError):
        doc = None
    return manifest.version, manifest.alerts, doc


def write_alerts(
    feed_dir: Path,
    key: Any,
    now: datetime,
    *,
    add: Sequence[Alert] = (),
    clear: Sequence[str] = (),
    clear_all: bool = False,
) -> Written:
    """Signs a new alerts document into ``feed_dir``: the one it serves over the same
    content version (if any) with ``add`` raised and ``clear`` (or every alert) cleared.

    Raises FeedError: no feed there, or an id to clear that is shown nowhere."""
    from datetime import timedelta

    from signage.durable import write_atomic
    from signage.feed import signing
    from signage.feed.folder import publish_lock

    pubkey = signing.public_key_b64(key)
    with publish_lock(feed_dir):
        version, content_alerts, doc = _served(feed_dir, pubkey)
        last_serial = doc.serial if doc is not None else 0  # serials only go up, whatever base
        if doc is not None and doc.base_version != version:
            doc = None  # written over an older version: the hub has published since
        alerts = {a.id: a for a in overlay_alerts(content_alerts, version, doc, now)}
        alerts = {k: a for k, a in alerts.items() if a.expires > now}
        cleared = set(doc.cleared) if doc is not None else set()
        targets = list(alerts) if clear_all else list(clear)
        for alert_id in targets:
            if alert_id not in alerts:
                known = ", ".join(sorted(alerts)) or "none"
                raise FeedError(
                    N_("no alert {alert_id} shown from {feed_dir}; active: {known}"),
                    alert_id=repr(alert_id),
                    feed_dir=feed_dir,
                    known=known,
                )
            del alerts[alert_id]
            cleared.add(alert_id)
        for alert in add:
            alerts[alert.id] = alert
            cleared.discard(alert.id)
        in_content = {a.id: a for a in content_alerts}
        own = tuple(a for a in alerts.values() if in_content.get(a.id) != a)
        ends = [a.expires for a in own]
        ends += [in_content[i].expires for i in cleared if i in in_content]
        expires = max([now + timedelta(hours=1), *ends])
        serial = max(last_serial + 1, int(now.timestamp()))
        data = build_document(serial, version, now, expires, own, sorted(cleared))
        sig = signing.sign(data, key)
        write_atomic(feed_dir / ALERTS_SIG_NAME, sig.encode("ascii"))
        write_atomic(feed_dir / ALERTS_NAME, data)
    return Written(serial, version, own, frozenset(cleared))
