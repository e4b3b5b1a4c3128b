"""Feed format: codec round trips, manifest refusals, signatures."""

from __future__ import annotations

import json
import os
import shutil
import subprocess
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from types import SimpleNamespace

import pytest
from hypothesis import given, settings
from hypothesis import strategies as st

from signage.errors import FeedError
from signage.feed import codec, signing
from signage.feed.manifest import (
    FORMAT,
    MAX_MANIFEST_BYTES,
    AssetEntry,
    asset_path_problem,
    build_manifest,
    canonical_json,
    parse_manifest,
)
from signage.model import (
    Alert,
    AlertStatus,
    AlertText,
    Attribution,
    Fit,
    HourWindow,
    Overlays,
    Playlist,
    QRCode,
    Schedule,
    Severity,
    Slide,
    SlideKind,
    TextContent,
    Theme,
    Transition,
    Weekday,
)

NOW = datetime(2026, 11, 28, 12, 0, tzinfo=UTC)
SHA = "a" * 64


def sample_playlist() -> Playlist:
    return Playlist(
        id="lobby",
        name="Lobby principal",
        tags=frozenset({"lobby", "piso-1"}),
        schedule=Schedule(start=date(2027, 1, 4), until=date(2027, 1, 14)),
        overlays=Overlays(clock=False),
        ticker=("Nueva intranet", "Citas RUNT"),
        attribution=Attribution(medium=None, medium_value="tv"),
        slides=(
            Slide(
                id="eficiencia",
                kind=SlideKind.IMAGE,
                source="assets/infografias/eficiencia.png",
                duration_s=15.0,
                fit=Fit.COVER,
                qr=QRCode("https://encuestas.example.gov.co/s", "Escanea y opina", track=True),
            ),
            Slide(
                id="webinar",
                kind=SlideKind.TEXT,
                text=TextContent("Webinar", "Jueves 10:00", image="assets/logo.png"),
                transition=Transition.CUT,
                schedule=Schedule(
                    days=frozenset({Weekday.MON, Weekday.FRI}),
                    hours=(HourWindow(7 * 60, 18 * 60), HourWindow(22 * 60, 6 * 60)),
                ),
            ),
            Slide(
                id="video",
                kind=SlideKind.VIDEO,
                source="assets/v.mp4",
                duration_s=None,
                muted=False,
            ),
            Slide(id="web", kind=SlideKind.WEB, source="https://intranet.example.gov.co/i"),
        ),
    )


def sample_alert() -> Alert:
    return Alert(
        id="caida-1",
        severity=Severity.SEVERE,
        texts=(
            AlertText("es-CO", "Caída del correo", "desc", "instr"),
            AlertText("en", "Mail down"),
        ),
        sender="oai@example.gov.co",
        sent=NOW,
        expires=NOW + timedelta(hours=2),
        status=AlertStatus.EXERCISE,
        tags=frozenset({"lobby"}),
        status_url="https://estado.example.gov.co",
        template="interrupcion",
    )


def assets_for(playlist: Playlist, theme: Theme | None = None) -> dict[str, AssetEntry]:
    theme = theme or Theme()
    paths = [p for s in playlist.slides for p in s.assets()]
    if theme.logo:
        paths.append(theme.logo)
    return {p: AssetEntry(SHA, 10, "image/png") for p in paths}


def manifest_bytes(**overrides: object) -> bytes:
    pl = sample_playlist()
    theme = Theme(logo="assets/logo.png", accent="#ff0000")
    body = build_manifest(
        SimpleNamespace(playlists=(pl,), theme=theme),
        [sample_alert()],
        7,
        NOW,
        NOW + timedelta(days=7),
        assets_for(pl, theme),
    )
    if not overrides:
        return body
    doc = json.loads(body)
    doc.update(overrides)
    return canonical_json(doc)


def test_round_trip_keeps_every_value() -> None:
    m = parse_manifest(manifest_bytes(), NOW)
    assert m.version == 7
    assert m.playlists == (sample_playlist(),)
    assert m.alerts == (sample_alert(),)
    assert m.theme == Theme(logo="assets/logo.png", accent="#ff0000")
    assert m.expires == NOW + timedelta(days=7)
    assert m.assets["assets/v.mp4"] == AssetEntry(SHA, 10, "image/png")


def test_build_is_canonical() -> None:
    a, b = manifest_bytes(), manifest_bytes()
    assert a == b
    assert a == canonical_json(json.loads(a))
    assert json.loads(a)["format"] == FORMAT


def test_alert_codec_compatible_with_alert_store_codec() -> None:
    from signage.alerts import codec as alerts_codec

    alert = sample_alert()
    assert codec.alert_from_json(alerts_codec.alert_to_json(alert)) == alert
    assert alerts_codec.alert_from_json(codec.alert_to_json(alert)) == alert


@pytest.mark.parametrize(
    ("data", "fragment"),
    [
        (b"not json at all", "not JSON"),
        (b"\xff\xfe", "not UTF-8"),
        (b"[1, 2]", "not a JSON object"),
        (b"[" * 100_000 + b"]" * 100_000, "not JSON"),
        (b" " * (MAX_MANIFEST_BYTES + 1), "over the"),
        (b'{"format": "signage-feed/1", "format": "x"}', "twice"),
    ],
)
def test_garbage_is_refused(data: bytes, fragment: str) -> None:
    with pytest.raises(FeedError, match=fragment):
        parse_manifest(data, NOW)


@pytest.mark.parametrize(
    ("overrides", "fragment"),
    [
        ({"format": "other/2"}, "format"),
        ({"version": 0}, "version"),
        ({"version": "7"}, "version"),
        ({"version": True}, "version"),
        ({"expires": "2026-11-28T11:00:00Z"}, "expires before"),
        ({"published": "yesterday"}, "RFC 3339"),
        ({"published": "2026-11-28T11:00:00"}, "offset"),
        ({"playlists": {}}, "must be a list"),
        ({"alerts": "x"}, "must be a list"),
        ({"assets": []}, "object of path"),
    ],
)
def test_wrong_fields_are_refused(overrides: dict[str, object], fragment: str) -> None:
    with pytest.raises(FeedError, match=fragment):
        parse_manifest(manifest_bytes(**overrides), NOW)


def test_missing_field_is_named() -> None:
    doc = json.loads(manifest_bytes())
    del doc["assets"]
    with pytest.raises(FeedError, match="no 'assets'"):
        parse_manifest(canonical_json(doc), NOW)


def test_expired_refused_with_now_but_readable_without() -> None:
    data = manifest_bytes()
    later = NOW + timedelta(days=8)
    with pytest.raises(FeedError, match="expired"):
        parse_manifest(data, later)
    assert parse_manifest(data, None).version == 7


@pytest.mark.parametrize(
    "path",
    [
        "../etc/passwd",
        "/etc/passwd",
        "assets/../../x",
        "assets//x",
        "./x",
        "C:/x",
        "a\\b",
        "a\x00b",
        "",
    ],
)
def test_escaping_asset_paths_refused(path: str) -> None:
    assert asset_path_problem(path) is not None
    doc = json.loads(manifest_bytes())
    doc["assets"][path] = {"sha256": SHA, "size": 1, "type": "image/png"}
    with pytest.raises(FeedError, match="refused"):
        parse_manifest(canonical_json(doc), NOW)


def test_playlist_reference_escaping_refused_even_with_an_entry_elsewhere() -> None:
    doc = json.loads(manifest_bytes())
    doc["playlists"][0]["slides"][0]["source"] = "../../../../etc/shadow"
    with pytest.raises(FeedError, match="refused"):
        parse_manifest(canonical_json(doc), NOW)


def test_reference_without_entry_refused() -> None:
    doc = json.loads(manifest_bytes())
    del doc["assets"]["assets/v.mp4"]
    with pytest.raises(FeedError, match="no entry"):
        parse_manifest(canonical_json(doc), NOW)


@pytest.mark.parametrize(
    ("entry", "fragment"),
    [
        ({"sha256": "A" * 64, "size": 1}, "sha256"),
        ({"sha256": "a" * 63, "size": 1}, "sha256"),
        ({"sha256": SHA, "size": -1}, "size"),
        ({"sha256": SHA, "size": 1.5}, "size"),
        ({"sha256": SHA, "size": 1, "type": "png"}, "type"),
    ],
)
def test_bad_asset_entries_refused(entry: dict[str, object], fragment: str) -> None:
    doc = json.loads(manifest_bytes())
    doc["assets"]["assets/v.mp4"] = entry
    with pytest.raises(FeedError, match=fragment):
        parse_manifest(canonical_json(doc), NOW)


def test_wrong_slide_values_name_their_path() -> None:
    doc = json.loads(manifest_bytes())
    doc["playlists"][0]["slides"][1]["schedule"]["days"] = ["funday"]
    with pytest.raises(FeedError, match=r"playlists\[0\]\.slides\[1\]\.schedule\.days\[0\]"):
        parse_manifest(canonical_json(doc), NOW)
    doc = json.loads(manifest_bytes())
    doc["playlists"][0]["slides"][0]["kind"] = "hologram"
    with pytest.raises(FeedError, match="hologram"):
        parse_manifest(canonical_json(doc), NOW)


def test_signature_verifies_only_with_the_right_key_and_bytes() -> None:
    key, other = signing.generate_key(), signing.generate_key()
    data = manifest_bytes()
    sig = signing.sign(data, key)
    signing.verify(data, sig, signing.public_key_b64(key))
    with pytest.raises(FeedError, match="does not match"):
        signing.verify(data, sig, signing.public_key_b64(other))
    with pytest.raises(FeedError, match="does not match"):
        signing.verify(data + b" ", sig, signing.public_key_b64(key))
    with pytest.raises(FeedError, match="base64"):
        signing.verify(data, "!!!", signing.public_key_b64(key))
    with pytest.raises(FeedError, match="32"):
        signing.verify(data, sig, "AAAA")


def test_private_key_file_is_0600_and_round_trips(tmp_path) -> None:
    key = signing.generate_key()
    path = tmp_path / "k.pem"
    signing.write_private_key(key, path)
    assert path.stat().st_mode & 0o777 == 0o600
    assert signing.public_key_b64(signing.load_private_key(path)) == signing.public_key_b64(key)
    with pytest.raises(FeedError, match="already exists"):
        signing.write_private_key(key, path)
    (tmp_path / "bad.pem").write_text("hello")
    with pytest.raises(FeedError, match="PEM"):
        signing.load_private_key(tmp_path / "bad.pem")


texts = st.text(min_size=1, max_size=20)


@settings(max_examples=60, deadline=None)
@given(
    title=texts,
    body=st.none() | texts,
    duration=st.none() | st.floats(min_value=0, max_value=1e6, allow_nan=False),
    tags=st.none() | st.frozensets(texts, max_size=3),
    ticker=st.lists(texts, max_size=3),
)
def test_text_playlists_round_trip(title, body, duration, tags, ticker) -> None:
    pl = Playlist(
        id="p",
        name=title,
        tags=tags,
        ticker=tuple(ticker),
        slides=(
            Slide(id="s", kind=SlideKind.TEXT, text=TextContent(title, body), duration_s=duration),
        ),
    )
    assert codec.playlist_from_json(json.loads(json.dumps(codec.playlist_to_json(pl)))) == pl


@pytest.mark.skipif(
    not all(shutil.which(tool) for tool in ("jq", "openssl", "sha256sum", "bash")),
    reason="the documented example needs jq, openssl and coreutils",
)
def test_a_feed_written_with_openssl_is_accepted(tmp_path) -> None:
    """Runs the shell example of docs/feed-format.md verbatim, then syncs the result."""
    from PIL import Image

    from signage.feed.store import Store
    from signage.feed.sync import SyncClient
    from tests.helpers_feed import serve_folder

    doc = (Path(__file__).resolve().parents[1] / "docs" / "feed-format.md").read_text()
    script = doc.split("## Writing a feed without signage", 1)[1].split("```sh\n", 1)[1]
    script = script.split("```", 1)[0]
    Image.new("RGB", (32, 16), "#0b2545").save(tmp_path / "logo.png")
    proc = subprocess.run(
        ["bash", "-euo", "pipefail", "-c", script],
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )
    assert proc.returncode == 0, proc.stderr
    pubkey = proc.stdout.strip().splitlines()[-1]
    assert b"\n  " in (tmp_path / "feed" / "feed.json").read_bytes()  # pretty, not canonical
    with serve_folder(tmp_path / "feed") as server:
        result = SyncClient(server.url, Store(tmp_path / "cache"), pubkey).sync_once(
            datetime.now(UTC)
        )
    assert result.status == "updated", result.reason
    content = Store(tmp_path / "cache").current_content()
    assert content is not None
    assert [s.id for s in content.playlists[0].slides] == ["hola", "logo"]
    logo = content.asset_path("assets/logo.png")
    assert logo is not None and logo.read_bytes() == (tmp_path / "logo.png").read_bytes()
    assert content.theme.logo == "assets/logo.png"


@settings(max_examples=300, deadline=None)
@given(st.text(alphabet=st.sampled_from(list("ab./\\:C-_ \x00\n")), max_size=24))
def test_every_accepted_asset_path_stays_inside_the_root(path: str) -> None:
    root = Path("/srv/content")
    if asset_path_problem(path) is None:
        resolved = Path(os.path.normpath(root / path))
        assert resolved.is_relative_to(root) and resolved != root
        assert ".." not in Path(path).parts


def test_feed_source_needs_a_feed_and_a_pinned_key(tmp_path) -> None:
    from signage.config import PlayerConfig
    from signage.errors import ConfigError
    from signage.sources.feed import FeedSource

    with pytest.raises(ConfigError, match="no feed URL"):
        FeedSource(PlayerConfig(screen="s", pubkey="x", cache=tmp_path))
    with pytest.raises(ConfigError, match="pinned public key"):
        FeedSource(PlayerConfig(screen="s", feed="http://127.0.0.1:9/", cache=tmp_path))
    with pytest.raises(FeedError, match="base64"):
        FeedSource(
            PlayerConfig(screen="s", feed="http://127.0.0.1:9/", pubkey="!!", cache=tmp_path)
        )
    with pytest.raises(FeedError, match="not an http"):
        FeedSource(
            PlayerConfig(
                screen="s",
                feed="ftp://x/",
                pubkey=signing.public_key_b64(signing.generate_key()),
                cache=tmp_path,
            )
        )
