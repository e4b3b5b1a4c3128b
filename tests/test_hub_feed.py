"""The hub's feed endpoints against a real ``signage serve`` subprocess (root mode)."""

from __future__ import annotations

import hashlib
import json
import os
import time
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests
from PIL import Image

from signage.feed.signing import verify
from tests.helpers_hub import RunningHub, make_content_root, run_hub

PLAYLIST_WITH_IMAGE = """\
name: Lobby de prueba
defaults:
  duration: 5s
slides:
  - id: bienvenida
    text:
      title: "Bienvenidos"
  - id: infografia
    image: assets/infografia.png
"""


def _noise_png(path: Path, size: int = 160) -> bytes:
    """A PNG of random pixels (so it does not compress to nothing), its bytes."""
    img = Image.frombytes("RGB", (size, size), os.urandom(size * size * 3))
    img.save(path, format="PNG")
    return path.read_bytes()


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[RunningHub]:
    root = make_content_root(tmp_path / "root", PLAYLIST_WITH_IMAGE)
    _noise_png(root / "assets" / "infografia.png")
    with run_hub(data=tmp_path / "hubdata", root=root, extra_args=["--keepalive", "1"]) as h:
        yield h


def _asset_sha(hub: RunningHub) -> tuple[str, bytes]:
    data = (hub.root / "assets" / "infografia.png").read_bytes()  # type: ignore[operator]
    return hashlib.sha256(data).hexdigest(), data


def _edit_title(hub: RunningHub, title: str) -> None:
    lobby = hub.root / "playlists" / "lobby.yaml"  # type: ignore[operator]
    text = lobby.read_text(encoding="utf-8")
    lobby.write_text(text.replace('"Bienvenidos"', f'"{title}"', 1), encoding="utf-8")


def test_healthz_reports_the_published_version(hub: RunningHub) -> None:
    r = requests.get(hub.url + "/healthz", timeout=5)
    assert r.status_code == 200
    body = r.json()
    assert body["ok"] is True
    manifest = json.loads(requests.get(hub.url + "/feed.json", timeout=5).content)
    assert body["version"] == manifest["version"] > 0


def test_manifest_etag_and_if_none_match(hub: RunningHub) -> None:
    r = requests.get(hub.url + "/feed.json", timeout=5)
    assert r.status_code == 200
    assert r.headers["Cache-Control"] == "no-cache"
    etag = r.headers["ETag"]
    assert etag == '"' + hashlib.sha256(r.content).hexdigest() + '"'
    again = requests.get(hub.url + "/feed.json", headers={"If-None-Match": etag}, timeout=5)
    assert again.status_code == 304
    assert again.content == b""
    assert again.headers["ETag"] == etag
    # A list with the tag in it, and the weak form, also match; another tag does not.
    listed = requests.get(
        hub.url + "/feed.json", headers={"If-None-Match": f'"abc", W/{etag}'}, timeout=5
    )
    assert listed.status_code == 304
    other = requests.get(hub.url + "/feed.json", headers={"If-None-Match": '"abc"'}, timeout=5)
    assert other.status_code == 200
    assert other.content == r.content
    # The folder form used by screens pointed at http://hub/feed/ serves the same bytes.
    assert requests.get(hub.url + "/feed/feed.json", timeout=5).content == r.content


def test_signature_matches_manifest_and_pinned_key(hub: RunningHub) -> None:
    assert hub.pubkey
    manifest = requests.get(hub.url + "/feed.json", timeout=5)
    sig = requests.get(hub.url + "/feed.json.sig", timeout=5)
    assert sig.status_code == 200
    verify(manifest.content, sig.text, hub.pubkey)  # raises if not
    # The same signature rides on the manifest response, so one request gives the pair.
    verify(manifest.content, manifest.headers["X-Signage-Signature"], hub.pubkey)
    again = requests.get(
        hub.url + "/feed.json.sig", headers={"If-None-Match": sig.headers["ETag"]}, timeout=5
    )
    assert again.status_code == 304
    api_key = requests.get(hub.url + "/api/v1/pubkey", timeout=5).json()["pubkey"]
    assert api_key == hub.pubkey


def test_asset_full_and_cache_headers(hub: RunningHub) -> None:
    sha, data = _asset_sha(hub)
    r = requests.get(f"{hub.url}/assets/{sha}", timeout=5)
    assert r.status_code == 200
    assert r.content == data
    assert int(r.headers["Content-Length"]) == len(data)
    assert r.headers["Cache-Control"] == "public, max-age=31536000, immutable"
    assert r.headers["Content-Type"] == "image/png"
    assert r.headers["Accept-Ranges"] == "bytes"
    assert hashlib.sha256(r.content).hexdigest() == sha
    cond = requests.get(
        f"{hub.url}/assets/{sha}", headers={"If-None-Match": r.headers["ETag"]}, timeout=5
    )
    assert cond.status_code == 304
    head = requests.head(f"{hub.url}/assets/{sha}", timeout=5)
    assert head.status_code == 200
    assert int(head.headers["Content-Length"]) == len(data)


def test_asset_range_requests(hub: RunningHub) -> None:
    sha, data = _asset_sha(hub)
    url = f"{hub.url}/assets/{sha}"
    mid = requests.get(url, headers={"Range": "bytes=100-1099"}, timeout=5)
    assert mid.status_code == 206
    assert mid.content == data[100:1100]
    assert int(mid.headers["Content-Length"]) == 1000
    assert mid.headers["Content-Range"] == f"bytes 100-1099/{len(data)}"
    # Resuming a broken transfer: from an offset to the end.
    tail = requests.get(url, headers={"Range": f"bytes={len(data) - 500}-"}, timeout=5)
    assert tail.status_code == 206
    assert tail.content == data[-500:]
    suffix = requests.get(url, headers={"Range": "bytes=-64"}, timeout=5)
    assert suffix.status_code == 206
    assert suffix.content == data[-64:]
    beyond = requests.get(url, headers={"Range": f"bytes={len(data) + 10}-"}, timeout=5)
    assert beyond.status_code == 416
    assert beyond.headers["Content-Range"] == f"bytes */{len(data)}"


@pytest.mark.parametrize(
    "name",
    [
        "..%2f..%2f..%2fetc%2fpasswd",
        "%2e%2e",
        "..",
        "feed.json",
        "A" * 64,  # upper-case hex is not how assets are named
        "0" * 63,
        "0" * 65,
        "0" * 64 + "%00",
        "%2fetc%2fpasswd",
    ],
)
def test_asset_names_that_are_not_a_sha256_are_refused(hub: RunningHub, name: str) -> None:
    r = requests.get(f"{hub.url}/assets/{name}", timeout=5)
    assert r.status_code == 404
    assert b"root:" not in r.content
    assert r.headers["Content-Type"].startswith("application/json")


def test_unknown_asset_is_404(hub: RunningHub) -> None:
    r = requests.get(f"{hub.url}/assets/{'ab' * 32}", timeout=5)
    assert r.status_code == 404
    assert "no asset" in r.json()["error"]


def test_write_endpoint_needs_the_bearer_token(hub: RunningHub) -> None:
    url = hub.url + "/api/v1/republish"
    before = hub.version()
    missing = requests.post(url, timeout=5)
    assert missing.status_code == 401
    assert "missing bearer token" in missing.json()["error"]
    assert missing.headers["WWW-Authenticate"].startswith("Bearer")
    wrong = requests.post(url, headers={"Authorization": "Bearer not-the-token"}, timeout=5)
    assert wrong.status_code == 401
    assert wrong.json()["error"] == "wrong bearer token"
    basic = requests.post(url, headers={"Authorization": f"Basic {hub.token}"}, timeout=5)
    assert basic.status_code == 401
    assert hub.version() == before  # nothing was published by the refused calls
    ok = requests.post(url, headers=hub.auth, timeout=30)
    assert ok.status_code == 200, ok.text
    assert ok.json()["version"] > before
    assert hub.version() == ok.json()["version"]


def test_write_endpoints_disabled_without_token_file(tmp_path: Path) -> None:
    root = make_content_root(tmp_path / "root")
    with run_hub(data=tmp_path / "data", root=root, token=None) as hub:
        r = requests.post(hub.url + "/api/v1/republish", headers=hub.auth, timeout=5)
        assert r.status_code == 403
        assert "--token-file" in r.json()["error"]


def test_saved_edit_is_republished_quickly(hub: RunningHub) -> None:
    before = hub.version()
    t0 = time.monotonic()
    _edit_title(hub, "Nuevo título")
    after = hub.wait_version(before, timeout=10)
    elapsed = time.monotonic() - t0
    manifest = requests.get(hub.url + "/feed.json", timeout=5).content.decode()
    assert "Nuevo título" in manifest
    assert after > before
    # Target is 200 ms; the bound is generous for a shared 2-core machine.
    assert elapsed < 3.0, f"republish took {elapsed:.3f}s"


def test_invalid_edit_keeps_last_good_feed(hub: RunningHub) -> None:
    good = requests.get(hub.url + "/feed.json", timeout=5)
    version = hub.version()
    lobby = hub.root / "playlists" / "lobby.yaml"  # type: ignore[operator]
    lobby.write_text("name: roto\nslides: [\n", encoding="utf-8")
    deadline = time.monotonic() + 10
    status: dict[str, object] = {}
    while time.monotonic() < deadline:
        status = requests.get(hub.url + "/api/v1/feed", timeout=5).json()
        if status["last_error"]:
            break
        time.sleep(0.05)
    assert status["last_error"], "the hub never reported the invalid edit"
    assert "lobby.yaml:" in str(status["last_error"])  # located: path:line:col: message
    assert "lobby.yaml" in hub.stderr()
    assert hub.version() == version
    still = requests.get(hub.url + "/feed.json", timeout=5)
    assert still.content == good.content
    sig = requests.get(hub.url + "/feed.json.sig", timeout=5)
    assert hub.pubkey
    verify(still.content, sig.text, hub.pubkey)
    # Fixing the file publishes again and clears the error.
    lobby.write_text(PLAYLIST_WITH_IMAGE.replace("Bienvenidos", "Arreglado"), encoding="utf-8")
    hub.wait_version(version, timeout=10)
    assert "Arreglado" in requests.get(hub.url + "/feed.json", timeout=5).text
    assert requests.get(hub.url + "/api/v1/feed", timeout=5).json()["last_error"] is None


def test_restart_keeps_the_key_and_versions_increase(tmp_path: Path) -> None:
    root = make_content_root(tmp_path / "root")
    with run_hub(data=tmp_path / "data", root=root) as first:
        key1, v1 = first.pubkey, first.version()
        manifest1 = requests.get(first.url + "/feed.json", timeout=5).content
    with run_hub(data=tmp_path / "data", root=root) as second:
        assert second.pubkey == key1  # screens pinned to the hub key keep trusting it
        # Same content: the restart serves the very same version (no fleet-wide sync).
        assert second.version() == v1
        assert requests.get(second.url + "/feed.json", timeout=5).content == manifest1
    lobby = root / "playlists" / "lobby.yaml"
    lobby.write_text(lobby.read_text().replace("Bienvenidos", "Editado"), encoding="utf-8")
    with run_hub(data=tmp_path / "data", root=root) as third:
        assert third.version() > v1  # edited while the hub was down: a higher version
        assert "Editado" in requests.get(third.url + "/feed.json", timeout=5).text


def _sync(hub: RunningHub, cache: Path, feed_url: str) -> dict[str, object]:
    import subprocess
    import sys

    from tests.helpers_hub import REPO, hub_env

    assert hub.pubkey
    result = subprocess.run(
        [
            *(sys.executable, "-m", "signage", "sync", "--feed", feed_url),
            *("--cache", str(cache), "--pubkey", hub.pubkey, "--once", "--json"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env=hub_env(),
        cwd=str(REPO),
        check=False,
    )
    assert "Traceback" not in result.stderr, result.stderr
    line: dict[str, object] = json.loads(result.stdout.strip().splitlines()[-1])
    return line


def test_signage_sync_against_the_hub(hub: RunningHub, tmp_path: Path) -> None:
    """The feed helper's sync client, as a subprocess, takes the hub's feed and assets."""
    _sha, data = _asset_sha(hub)
    cache = tmp_path / "cache"
    first = _sync(hub, cache, hub.url)
    assert first["status"] == "updated", first
    assert first["version"] == hub.version()
    assert first["assets_downloaded"] == 1
    assert first["bytes_downloaded"] == len(data)
    again = _sync(hub, cache, hub.url + "/feed/")
    assert again["status"] == "unchanged", again
    assert again["bytes_downloaded"] == 0


def test_no_edit_no_new_version(hub: RunningHub) -> None:
    """Publishing reads the root; those reads must not look like edits (a publish loop)."""
    before = hub.version()
    requests.post(hub.url + "/api/v1/republish", headers=hub.auth, timeout=30).raise_for_status()
    after = hub.version()
    time.sleep(1.0)  # several debounce periods with nothing saved
    assert hub.version() == after > before


def test_if_modified_since_alone_never_hides_a_new_version(hub: RunningHub) -> None:
    """Dates have one-second resolution; only the ETag decides 304 for the manifest."""
    first = requests.get(hub.url + "/feed.json", timeout=5)
    assert "Last-Modified" in first.headers
    again = requests.get(
        hub.url + "/feed.json",
        headers={"If-Modified-Since": first.headers["Last-Modified"]},
        timeout=5,
    )
    assert again.status_code == 200
    assert again.content == first.content
