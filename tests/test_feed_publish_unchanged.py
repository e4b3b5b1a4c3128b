"""Publishing content the feed already serves: ``skip_unchanged`` / ``--if-changed`` write
nothing, while any change to what screens show (or to how the feed is signed, or a feed
half-way to expiry) still makes a new version."""

from __future__ import annotations

import json
from datetime import UTC, datetime, timedelta
from pathlib import Path

from signage.cli import main
from signage.feed import signing
from signage.feed.manifest import parse_manifest
from signage.feed.publish import manifest_body, publish, refresh_due
from signage.model import Alert, AlertText, Severity
from tests.helpers_feed import make_keypair, make_root, write_asset

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)


def _feed_state(feed: Path) -> tuple[bytes, bytes, int]:
    """The exact manifest and signature bytes and the manifest's mtime."""
    man = feed / "feed.json"
    return man.read_bytes(), (feed / "feed.json.sig").read_bytes(), man.stat().st_mtime_ns


def _alert(alert_id: str) -> Alert:
    return Alert(
        id=alert_id,
        severity=Severity.SEVERE,
        texts=(AlertText("es-CO", "Simulacro de evacuación"),),
        sender="oai@example.gov.co",
        sent=NOW,
        expires=NOW + timedelta(hours=2),
    )


def test_same_content_keeps_the_version_and_writes_nothing(tmp_path: Path) -> None:
    keys = make_keypair(tmp_path / "keys")
    root = make_root(tmp_path / "root", n_assets=2)
    feed = tmp_path / "feed"
    first = publish(root, feed, keys.key, now=NOW, alerts=())
    before = _feed_state(feed)
    files_before = sorted(p.name for p in feed.rglob("*"))
    # Files that no playlist names appear under the root (a player's cache, a note).
    (root / "cache").mkdir()
    (root / "cache" / "blob").write_bytes(b"x" * 100)
    (root / "notes.txt").write_text("reunión el lunes\n", encoding="utf-8")
    later = NOW + timedelta(hours=1)
    again = publish(root, feed, keys.key, now=later, alerts=(), skip_unchanged=True)
    assert again.changed is False
    assert again.version == first.version
    assert again.assets_written == 0
    assert again.manifest_sha256 == first.manifest_sha256
    assert _feed_state(feed) == before
    assert sorted(p.name for p in feed.rglob("*")) == files_before
    # Without the flag the same content is still a new version (what 'signage publish'
    # does by default: it refreshes the expiry).
    forced = publish(root, feed, keys.key, now=later, alerts=())
    assert forced.changed is True and forced.version > first.version
    assert parse_manifest((feed / "feed.json").read_bytes(), later).expires == later + timedelta(
        days=7
    )


def test_any_change_to_what_screens_show_is_a_new_version(tmp_path: Path) -> None:
    keys = make_keypair(tmp_path / "keys")
    root = make_root(tmp_path / "root", n_assets=2)
    feed = tmp_path / "feed"
    version = publish(root, feed, keys.key, now=NOW, alerts=()).version

    def republish() -> int:
        result = publish(root, feed, keys.key, now=NOW, alerts=alerts, skip_unchanged=True)
        assert result.changed, "a real change was skipped"
        doc = json.loads((feed / "feed.json").read_bytes())
        signing.verify(
            (feed / "feed.json").read_bytes(), (feed / "feed.json.sig").read_text(), keys.pubkey
        )
        assert doc["version"] == result.version > version
        return result.version

    alerts: tuple[Alert, ...] = (_alert("simulacro"),)
    version = republish()  # an alert added
    write_asset(root, 1, 2048, seed=7)
    version = republish()  # an image's bytes changed
    lobby = root / "playlists" / "lobby.yaml"
    lobby.write_text(lobby.read_text().replace("Bienvenidos", "Bienvenidas"), encoding="utf-8")
    version = republish()  # a playlist edited
    alerts = ()
    version = republish()  # the alert cleared
    unchanged = publish(root, feed, keys.key, now=NOW, alerts=alerts, skip_unchanged=True)
    assert unchanged.changed is False and unchanged.version == version


def test_a_new_key_unsigned_feed_or_half_used_lifetime_is_signed_again(tmp_path: Path) -> None:
    keys = make_keypair(tmp_path / "keys")
    other = make_keypair(tmp_path / "other")
    root = make_root(tmp_path / "root", n_assets=1)
    feed = tmp_path / "feed"
    v1 = publish(root, feed, None, now=NOW, alerts=()).version
    assert not (feed / "feed.json.sig").exists()
    # Unsigned before, signed now: screens pinning the key need the signature.
    v2 = publish(root, feed, keys.key, now=NOW, alerts=(), skip_unchanged=True)
    assert v2.changed and v2.version > v1 and (feed / "feed.json.sig").is_file()
    # Another key: screens pinned to it would refuse the old signature.
    v3 = publish(root, feed, other.key, now=NOW, alerts=(), skip_unchanged=True)
    assert v3.changed and v3.version > v2.version
    signing.verify(
        (feed / "feed.json").read_bytes(), (feed / "feed.json.sig").read_text(), other.pubkey
    )
    # Signed before, unsigned now.
    v4 = publish(root, feed, None, now=NOW, alerts=(), skip_unchanged=True)
    assert v4.changed and not (feed / "feed.json.sig").exists()
    v5 = publish(root, feed, None, now=NOW, alerts=(), skip_unchanged=True)
    assert not v5.changed and v5.version == v4.version
    # Just before half the lifetime: kept; at half: a fresh expiry.
    short = timedelta(hours=2)
    v6 = publish(root, feed, keys.key, now=NOW, expires_in=short, alerts=())
    kept = publish(
        root,
        feed,
        keys.key,
        now=NOW + timedelta(minutes=59),
        expires_in=short,
        alerts=(),
        skip_unchanged=True,
    )
    assert not kept.changed and kept.version == v6.version
    half = NOW + timedelta(hours=1)
    fresh = publish(
        root, feed, keys.key, now=half, expires_in=short, alerts=(), skip_unchanged=True
    )
    assert fresh.changed and fresh.version > v6.version
    assert parse_manifest((feed / "feed.json").read_bytes(), half).expires == half + short


def test_a_damaged_served_manifest_is_replaced(tmp_path: Path) -> None:
    keys = make_keypair(tmp_path / "keys")
    root = make_root(tmp_path / "root", n_assets=1)
    feed = tmp_path / "feed"
    v1 = publish(root, feed, keys.key, now=NOW, alerts=()).version
    (feed / "feed.json").write_bytes(b'{"version": ' + str(v1).encode() + b', "broken": ')
    result = publish(root, feed, keys.key, now=NOW, alerts=(), skip_unchanged=True)
    assert result.changed  # unreadable before: the version falls back to the clock floor
    assert parse_manifest((feed / "feed.json").read_bytes(), NOW).version == result.version


def test_body_and_refresh_rules() -> None:
    a = json.dumps({"format": "f", "version": 1, "published": "x", "expires": "y", "theme": {}})
    b = json.dumps({"format": "f", "version": 2, "published": "z", "expires": "w", "theme": {}})
    c = json.dumps(
        {"format": "f", "version": 2, "published": "z", "expires": "w", "theme": {"a": 1}}
    )
    assert manifest_body(a.encode()) == manifest_body(b.encode()) != manifest_body(c.encode())
    assert manifest_body(b"[1]") is None and manifest_body(b"\xff") is None
    day = timedelta(days=1)
    assert not refresh_due(NOW, NOW + 2 * day, NOW + day - timedelta(seconds=1))
    assert refresh_due(NOW, NOW + 2 * day, NOW + day)
    assert refresh_due(NOW, NOW + 2 * day, NOW + 3 * day)  # expired
    assert not refresh_due(NOW, NOW + 4 * day, NOW + 2 * day, fraction=0.75)
    assert refresh_due(NOW, NOW, NOW)  # a lifetime that makes no sense: sign again


def test_publish_command_if_changed(tmp_path: Path, capsys) -> None:
    keys = make_keypair(tmp_path / "keys")
    root = make_root(tmp_path / "root", n_assets=1)
    feed = tmp_path / "feed"
    base = ["publish", "--root", str(root), "--out", str(feed), "--key", str(keys.path)]
    assert main(base) == 0
    first = json.loads((feed / "feed.json").read_bytes())["version"]
    capsys.readouterr()
    assert main([*base, "--if-changed"]) == 0
    out = capsys.readouterr().out
    assert f"unchanged: {feed} already serves this content as version {first}" in out
    assert json.loads((feed / "feed.json").read_bytes())["version"] == first
    assert main(base) == 0  # without the flag: always a new version
    assert json.loads((feed / "feed.json").read_bytes())["version"] > first
