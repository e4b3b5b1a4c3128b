"""The Hub object in-process: publishing with alerts, re-signing, hooks and the database.

No server here: ``Hub`` methods do the publishing; the HTTP side is tested through a real
subprocess in test_hub_feed/test_hub_push.
"""

from __future__ import annotations

import json
import threading
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest

from signage.errors import ValidationError
from signage.feed.publish import publish
from signage.feed.signing import generate_key, public_key_b64, verify
from signage.hub.publishing import FeedSnapshot, RepublishError
from signage.hub.state import Hub, HubConfig
from signage.model import Alert, AlertText, Severity
from tests.helpers_hub import make_content_root

NOW = datetime(2026, 11, 28, 15, 0, tzinfo=UTC)


def _alert(alert_id: str, headline: str) -> Alert:
    return Alert(
        id=alert_id,
        severity=Severity.SEVERE,
        texts=(AlertText("es-CO", headline),),
        sender="oai@example.gov.co",
        sent=NOW,
        expires=NOW + timedelta(hours=4),
    )


def _root_hub(tmp_path: Path) -> tuple[Hub, Path]:
    root = make_content_root(tmp_path / "root")
    data = tmp_path / "data"
    config = HubConfig(root=root, feed_dir=data / "feed", data_dir=data)
    hub = Hub(config, key=generate_key(), clock=lambda: NOW)
    return hub, root


def _served(hub: Hub) -> dict[str, Any]:
    snap = hub.snapshot()
    pub = hub.public_key()
    assert pub is not None and snap.signature is not None
    verify(snap.manifest, snap.signature.decode(), pub)
    doc: dict[str, Any] = json.loads(snap.manifest)
    return doc


def test_root_publish_carries_the_providers_alerts(tmp_path: Path) -> None:
    hub, _root = _root_hub(tmp_path)
    hub.alerts_provider = lambda now: (_alert("caida-sie", "Caída del SIE"),)
    version = hub.publish_root("test")
    doc = _served(hub)
    assert doc["version"] == version == hub.current_version()
    alerts = doc["alerts"]
    assert isinstance(alerts, list)
    assert [a["id"] for a in alerts] == ["caida-sie"]
    # What is served is what is on disk.
    assert (hub.config.feed_dir / "feed.json").read_bytes() == hub.snapshot().manifest


def test_alert_republish_while_root_is_invalid_resigns_last_good(tmp_path: Path) -> None:
    hub, root = _root_hub(tmp_path)
    first = hub.publish_root("start")
    good_playlists = _served(hub)["playlists"]
    (root / "playlists" / "lobby.yaml").write_text("name: roto\nslides: [\n")
    with pytest.raises(ValidationError):
        hub.publish_root("edit")
    assert hub.current_version() == first  # the invalid edit changed nothing
    hub.alerts_provider = lambda now: (_alert("ciberataque", "Ataque en curso"),)
    version = hub.republish("alert raised")
    assert version > first
    doc = _served(hub)
    assert doc["playlists"] == good_playlists
    assert [a["id"] for a in doc["alerts"]] == ["ciberataque"]
    # Clearing the alert also goes out while the root is still broken.
    hub.alerts_provider = lambda now: ()
    cleared = hub.republish("alert cleared")
    assert cleared > version
    assert _served(hub)["alerts"] == []


def test_feed_mode_merges_upstream_and_hub_alerts(tmp_path: Path) -> None:
    root = make_content_root(tmp_path / "root")
    key = generate_key()
    feed = tmp_path / "feed"
    upstream_alerts = (_alert("mantenimiento", "Mantenimiento"), _alert("comun", "Vieja"))
    publish(root, feed, key, now=NOW, alerts=upstream_alerts)
    upstream_bytes = (feed / "feed.json").read_bytes()
    config = HubConfig(feed_dir=feed, data_dir=tmp_path / "data")
    hub = Hub(config, key=key, clock=lambda: NOW)
    hub.load()
    assert hub.snapshot().manifest == upstream_bytes
    hub.alerts_provider = lambda now: (_alert("comun", "Nueva"), _alert("hub", "Del hub"))
    version = hub.republish("alert raised")
    doc = _served(hub)
    headlines = {a["id"]: a["texts"][0]["headline"] for a in doc["alerts"]}
    assert headlines == {"mantenimiento": "Mantenimiento", "comun": "Nueva", "hub": "Del hub"}
    assert version > json.loads(upstream_bytes)["version"]
    assert (feed / "feed.json").read_bytes() == upstream_bytes  # upstream untouched
    assert hub.public_key() == public_key_b64(key)


def test_feed_mode_without_key_cannot_republish(tmp_path: Path) -> None:
    root = make_content_root(tmp_path / "root")
    feed = tmp_path / "feed"
    publish(root, feed, generate_key(), now=NOW)
    hub = Hub(HubConfig(feed_dir=feed, data_dir=tmp_path / "data"))
    hub.load()
    with pytest.raises(RepublishError, match="--key"):
        hub.republish("alert raised")


def test_on_publish_is_called_now_and_for_each_new_version(tmp_path: Path) -> None:
    hub, root = _root_hub(tmp_path)
    hub.publish_root("start")
    seen: list[int] = []

    def listener(snap: FeedSnapshot) -> None:
        seen.append(snap.version)

    hub.on_publish(listener)
    assert seen == [hub.current_version()]
    lobby = root / "playlists" / "lobby.yaml"
    lobby.write_text(lobby.read_text().replace("Bienvenidos", "Hola"))
    hub.publish_root("edit")
    assert seen[-1] == hub.current_version() > seen[0]


def test_a_failing_listener_does_not_stop_publishing(tmp_path: Path) -> None:
    hub, _root = _root_hub(tmp_path)

    def broken(snap: FeedSnapshot) -> None:
        raise RuntimeError("listener bug")

    hub.on_publish(broken)
    assert hub.publish_root("start") == hub.current_version() > 0


def test_db_is_per_thread_in_wal_mode_and_schema_is_shared(tmp_path: Path) -> None:
    hub, _root = _root_hub(tmp_path)
    hub.schema("CREATE TABLE IF NOT EXISTS pings (screen TEXT PRIMARY KEY, n INTEGER);")
    hub.schema("CREATE TABLE IF NOT EXISTS pings (screen TEXT PRIMARY KEY, n INTEGER);")
    main = hub.db()
    assert main is hub.db()
    assert main.execute("PRAGMA journal_mode").fetchone()[0] == "wal"
    main.execute("INSERT INTO pings VALUES ('lobby-1', 1)")
    main.commit()
    other: list[object] = []

    def worker() -> None:
        conn = hub.db()
        other.append(conn is main)
        other.append(conn.execute("SELECT n FROM pings WHERE screen='lobby-1'").fetchone()[0])

    t = threading.Thread(target=worker)
    t.start()
    t.join(timeout=5)
    assert other == [False, 1]
    hub.close()
    assert hub.db() is not main  # a fresh connection after close


def test_base_url_defaults_to_host_and_port() -> None:
    cfg = HubConfig(feed_dir=Path("f"), data_dir=Path("d"), host="127.0.0.1", port=9000)
    assert cfg.base_url == "http://127.0.0.1:9000"
    public = HubConfig(feed_dir=Path("f"), data_dir=Path("d"), public_url="https://hub.gov.co/")
    assert public.base_url == "https://hub.gov.co"
    assert "token" not in repr(HubConfig(feed_dir=Path("f"), data_dir=Path("d"), token="s3"))


def test_root_publishes_drop_assets_no_recent_version_uses(tmp_path: Path) -> None:
    import hashlib

    from PIL import Image

    root = make_content_root(tmp_path / "root")
    lobby = root / "playlists" / "lobby.yaml"
    data = tmp_path / "data"
    config = HubConfig(root=root, feed_dir=data / "feed", data_dir=data, asset_grace_s=0)
    hub = Hub(config, key=generate_key(), clock=lambda: NOW)
    shas = []
    for colour in ("red", "green", "blue"):
        image = root / "assets" / f"{colour}.png"
        Image.new("RGB", (32, 32), colour).save(image)
        shas.append(hashlib.sha256(image.read_bytes()).hexdigest())
        lobby.write_text(f"name: Lobby\nslides:\n  - id: foto\n    image: assets/{colour}.png\n")
        hub.publish_root(colour)
    assets = hub.config.feed_dir / "assets"
    assert not (assets / shas[0]).exists()  # red: two versions ago, gone
    assert (assets / shas[1]).is_file()  # green: the previous version still names it
    assert (assets / shas[2]).is_file()  # blue: current


def test_assets_within_the_grace_period_are_kept(tmp_path: Path) -> None:
    from PIL import Image

    root = make_content_root(tmp_path / "root")
    lobby = root / "playlists" / "lobby.yaml"
    hub = Hub(  # the default grace period: an hour
        HubConfig(root=root, feed_dir=tmp_path / "d2" / "feed", data_dir=tmp_path / "d2"),
        key=generate_key(),
        clock=lambda: NOW,
    )
    for colour in ("red", "green", "blue"):
        Image.new("RGB", (32, 32), colour).save(root / "assets" / f"{colour}.png")
        lobby.write_text(f"name: Lobby\nslides:\n  - id: foto\n    image: assets/{colour}.png\n")
        hub.publish_root(colour)
    names = [p.name for p in (hub.config.feed_dir / "assets").iterdir() if len(p.name) == 64]
    assert len(names) == 3
