"""A real hub stays quiet when nothing screens show has changed, and keeps its feed from
expiring while it runs.

Bug 1 (republish loop): a player whose cache sits inside the watched root made the hub
publish a new version for each file it wrote. Bug 2: a hub left alone for the feed's
lifetime served an expired manifest that new screens refuse.
"""

from __future__ import annotations

import json
import subprocess
import sys
import time
from datetime import UTC, datetime, timedelta
from pathlib import Path

import requests

from signage.feed.codec import parse_time
from signage.feed.publish import manifest_body, publish
from signage.feed.signing import generate_key, public_key_b64, verify, write_private_key
from signage.hub.state import Hub, HubConfig
from signage.hub.watch import is_scratch
from tests.helpers_hub import REPO, RunningHub, hub_env, make_content_root, run_hub

QUIET_S = 1.0


def _sync_once(feed_url: str, cache: Path, pubkey: str) -> dict[str, object]:
    """``signage sync --once --json`` as a subprocess; its last JSON line."""
    result = subprocess.run(
        [
            *(sys.executable, "-m", "signage", "sync", "--feed", feed_url),
            *("--cache", str(cache), "--pubkey", pubkey, "--once", "--json"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        env=hub_env(),
        cwd=str(REPO),
        check=False,
    )
    assert "Traceback" not in result.stderr, result.stderr
    assert result.stdout.strip(), result.stderr
    line: dict[str, object] = json.loads(result.stdout.strip().splitlines()[-1])
    return line


def _stays_at(hub: RunningHub, version: int, seconds: float = QUIET_S) -> None:
    deadline = time.monotonic() + seconds
    while time.monotonic() < deadline:
        assert hub.version() == version, "a new version although no content changed"
        time.sleep(0.05)


def _manifest(hub: RunningHub) -> bytes:
    r = requests.get(hub.url + "/feed.json", timeout=5)
    r.raise_for_status()
    return r.content


def test_files_that_are_not_content_publish_nothing_and_an_edit_still_does(
    tmp_path: Path,
) -> None:
    root = make_content_root(tmp_path / "root")
    with run_hub(data=tmp_path / "data", root=root) as hub:
        assert hub.pubkey
        version = hub.version()
        served = _manifest(hub)
        # What the lead's run did: a screen syncing into a cache inside the root.
        first = _sync_once(hub.url, root / "cache", hub.pubkey)
        assert first["status"] == "updated" and first["version"] == version, first
        (root / "ev.jsonl").write_text('{"event": "feed_applied"}\n', encoding="utf-8")
        (root / "notes.txt").write_text("no es contenido\n", encoding="utf-8")
        (root / "out" / "demo").mkdir(parents=True)  # a new sub-folder with a file in it
        (root / "out" / "demo" / "frame.png").write_bytes(b"\x89PNG\r\n\x1a\n" + b"0" * 64)
        (root / "playlists" / ".lobby.yaml.swp").write_bytes(b"vim swap")
        (root / "playlists" / "lobby.yaml~").write_text("backup", encoding="utf-8")
        _stays_at(hub, version)
        assert _manifest(hub) == served  # the very same bytes, not just the same number
        again = _sync_once(hub.url, root / "cache", hub.pubkey)
        assert again["status"] == "unchanged", again
        _stays_at(hub, version, 0.5)

        lobby = root / "playlists" / "lobby.yaml"
        lobby.write_text(lobby.read_text().replace("Bienvenidos", "Bienvenidas"), "utf-8")
        edited = hub.wait_version(version, timeout=10)
        assert "Bienvenidas" in _manifest(hub).decode()
        _stays_at(hub, edited, 0.5)  # one edit, one version
        assert "Traceback" not in hub.stderr()


def test_a_root_hub_signs_its_feed_again_before_it_expires(tmp_path: Path) -> None:
    root = make_content_root(tmp_path / "root")
    lifetime = 4.0
    args = ["--expires", f"{int(lifetime)}s", "--refresh-check", "0.2"]
    with run_hub(data=tmp_path / "data", root=root, extra_args=args) as hub:
        assert hub.pubkey
        first = _manifest(hub)
        doc = json.loads(first)
        expires = parse_time(doc["expires"], "expires")
        assert expires - parse_time(doc["published"], "published") == timedelta(seconds=4)
        # Half-way (2 s) the hub signs the same content again, well before it expires.
        refreshed = hub.wait_version(doc["version"], timeout=lifetime - 0.5)
        assert datetime.now(UTC) < expires
        second = _manifest(hub)
        assert json.loads(second)["version"] == refreshed
        assert manifest_body(second) == manifest_body(first)
        assert parse_time(json.loads(second)["expires"], "expires") > expires
        sig = requests.get(hub.url + "/feed.json.sig", timeout=5)
        # The pair may move on between the two requests; when it did not, it verifies.
        if _manifest(hub) == second:
            verify(second, sig.text, hub.pubkey)
        # Once the first version's lifetime is over, a brand-new screen still takes it.
        time.sleep(max(0.0, (expires - datetime.now(UTC)).total_seconds()) + 0.3)
        fresh = _sync_once(hub.url, tmp_path / "new-screen", hub.pubkey)
        assert fresh["status"] == "updated", fresh
        assert int(str(fresh["version"])) > doc["version"]
        assert "Traceback" not in hub.stderr()
    # The refresher task is cancelled cleanly at shutdown: SIGTERM ends the hub within the
    # grace period (uvicorn re-raises the signal after its graceful shutdown: -15, not the
    # SIGKILL's -9), and nothing is logged about the task.
    assert hub.process.returncode in (0, -15), hub.stderr()
    for bad in ("Traceback", "Task was destroyed", "CancelledError"):
        assert bad not in hub.stderr()


def _upstream(tmp_path: Path, expires_in: timedelta) -> tuple[Path, Path, str, int]:
    """A content root published (signed) into ``tmp_path/feed``; (feed, key file, pubkey,
    version)."""
    root = make_content_root(tmp_path / "root")
    key = generate_key()
    key_path = tmp_path / "publisher.pem"
    write_private_key(key, key_path)
    feed = tmp_path / "feed"
    result = publish(root, feed, key, now=datetime.now(UTC), expires_in=expires_in, alerts=())
    return feed, key_path, public_key_b64(key), result.version


def test_a_feed_hub_with_the_key_re_signs_before_expiry(tmp_path: Path) -> None:
    feed, key_path, pubkey, version = _upstream(tmp_path, timedelta(seconds=4))
    upstream = (feed / "feed.json").read_bytes()
    args = ["--expires", "4s", "--refresh-check", "0.2"]
    with run_hub(data=tmp_path / "data", feed=feed, key=key_path, extra_args=args) as hub:
        assert hub.pubkey == pubkey
        refreshed = hub.wait_version(version, timeout=3.5)
        served = _manifest(hub)
        assert json.loads(served)["version"] == refreshed
        assert manifest_body(served) == manifest_body(upstream)
        assert (feed / "feed.json").read_bytes() == upstream  # upstream is never written
        time.sleep(1.0)  # past upstream's own expiry
        fresh = _sync_once(hub.url, tmp_path / "new-screen", pubkey)
        assert fresh["status"] == "updated", fresh


def test_a_feed_hub_without_a_key_warns_once_when_the_feed_nears_expiry(
    tmp_path: Path,
) -> None:
    feed, _key_path, _pubkey, version = _upstream(tmp_path, timedelta(seconds=3))
    args = ["--refresh-check", "0.2"]
    with run_hub(data=tmp_path / "data", feed=feed, extra_args=args) as hub:
        needle = "publish again with 'signage publish'"
        deadline = time.monotonic() + 6
        while needle not in hub.stderr():
            assert time.monotonic() < deadline, hub.stderr()
            time.sleep(0.05)
        time.sleep(1.0)  # several more checks, the feed now expired: still one warning
        assert hub.stderr().count(needle) == 1, hub.stderr()
        assert "no --key" in hub.stderr()
        assert hub.version() == version  # it cannot sign: it keeps serving what it has


def test_refresh_if_due_in_process_follows_the_clock(tmp_path: Path) -> None:
    start = datetime(2026, 11, 28, 15, 0, tzinfo=UTC)
    now = [start]
    root = make_content_root(tmp_path / "root")
    data = tmp_path / "data"
    config = HubConfig(root=root, feed_dir=data / "feed", data_dir=data)
    hub = Hub(config, key=generate_key(), clock=lambda: now[0])
    version = hub.publish_root("start")
    before = hub.snapshot().manifest
    now[0] = start + timedelta(days=3, hours=11)
    assert hub.refresh_if_due() is None  # less than half of 7 days used
    assert hub.publish_root("a file nobody names", skip_unchanged=True) == version
    now[0] = start + timedelta(days=3, hours=12)
    refreshed = hub.refresh_if_due()
    assert refreshed is not None and refreshed > version == int(start.timestamp())
    after = hub.snapshot().manifest
    assert manifest_body(after) == manifest_body(before)
    assert parse_time(json.loads(after)["expires"], "expires") == now[0] + timedelta(days=7)
    assert hub.refresh_if_due() is None  # fresh again
    hub.close()


def test_scratch_paths() -> None:
    for scratch in (
        ".git/index",
        "playlists/.lobby.yaml.swp",
        ".signage-hub/feed/feed.json",
        "playlists/lobby.yaml~",
        "playlists/lobby.yaml.swp",
        "playlists/4913",
        "playlists/#lobby.yaml#",
        "assets/.~lock.informe.odt#",
    ):
        assert is_scratch(Path(scratch)), scratch
    for content in ("playlists/lobby.yaml", "assets/img/a.png", "theme.yaml", "cache/blob"):
        assert not is_scratch(Path(content)), content
