"""``signage serve`` as a command: clear refusals, and ``--feed`` mode (serving a folder
published elsewhere, re-signing it only to add the hub's own versions)."""

from __future__ import annotations

import json
import socket
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import requests

from signage.feed.publish import publish
from signage.feed.signing import generate_key, public_key_b64, verify, write_private_key
from tests.helpers_hub import REPO, hub_env, make_content_root, push_messages, run_hub


def _serve(*args: str, timeout: float = 30) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "signage", "serve", *args],
        capture_output=True,
        text=True,
        timeout=timeout,
        env=hub_env(),
        cwd=str(REPO),
        check=False,
    )


def _assert_refused(result: subprocess.CompletedProcess[str], *needles: str) -> None:
    assert result.returncode in (1, 2), result
    assert "Traceback" not in result.stderr
    for needle in needles:
        assert needle in result.stderr, result.stderr


def test_port_in_use_is_a_clear_error(tmp_path: Path) -> None:
    root = make_content_root(tmp_path / "root")
    with socket.socket() as taken:
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = taken.getsockname()[1]
        result = _serve("--root", str(root), "--port", str(port), "--data", str(tmp_path / "d"))
    _assert_refused(result, "port is in use", str(port), "--port")
    assert result.returncode == 1


def test_missing_root_is_a_usage_error(tmp_path: Path) -> None:
    result = _serve("--root", str(tmp_path / "nowhere"), "--port", "0")
    _assert_refused(result, "nowhere", "no such folder")
    assert result.returncode == 2


def test_folder_without_playlists_is_refused(tmp_path: Path) -> None:
    result = _serve("--root", str(tmp_path), "--port", "0")
    _assert_refused(result, "no playlists/ folder", "--feed")


def test_unreadable_token_file_is_a_clear_error(tmp_path: Path) -> None:
    root = make_content_root(tmp_path / "root")
    missing = tmp_path / "missing.token"
    result = _serve("--root", str(root), "--port", "0", "--token-file", str(missing))
    _assert_refused(result, "--token-file", "missing.token", "cannot read")
    empty = tmp_path / "empty.token"
    empty.write_text("\n")
    result = _serve("--root", str(root), "--port", "0", "--token-file", str(empty))
    _assert_refused(result, "empty")


def test_invalid_root_at_start_without_previous_feed_is_refused(tmp_path: Path) -> None:
    root = make_content_root(tmp_path / "root", "name: roto\nslides: [\n")
    result = _serve("--root", str(root), "--port", "0", "--data", str(tmp_path / "d"))
    _assert_refused(result, "lobby.yaml")
    assert result.returncode == 1


def test_invalid_root_at_restart_serves_the_last_good_feed(tmp_path: Path) -> None:
    root = make_content_root(tmp_path / "root")
    data = tmp_path / "data"
    with run_hub(data=data, root=root) as first:
        good = requests.get(first.url + "/feed.json", timeout=5).content
    (root / "playlists" / "lobby.yaml").write_text("name: roto\nslides: [\n")
    with run_hub(data=data, root=root) as second:
        assert requests.get(second.url + "/feed.json", timeout=5).content == good
        assert "invalid" in second.stderr()


def test_missing_feed_folder_is_a_usage_error(tmp_path: Path) -> None:
    result = _serve("--feed", str(tmp_path / "nofeed"), "--port", "0")
    _assert_refused(result, "nofeed", "signage publish")


def _published_feed(tmp_path: Path) -> tuple[Path, Path, Path]:
    """A content root published with a key into ``tmp_path/feed``; (root, feed, key)."""
    root = make_content_root(tmp_path / "root")
    key_path = tmp_path / "publisher.pem"
    write_private_key(generate_key(), key_path)
    from signage.feed.signing import load_private_key

    feed = tmp_path / "feed"
    publish(root, feed, load_private_key(key_path), now=_now())
    return root, feed, key_path


def _now() -> datetime:
    return datetime.now(UTC)


def test_feed_mode_serves_folder_and_announces_upstream_publish(tmp_path: Path) -> None:
    from signage.feed.signing import load_private_key

    root, feed, key_path = _published_feed(tmp_path)
    upstream_bytes = (feed / "feed.json").read_bytes()
    with run_hub(data=tmp_path / "hubdata", feed=feed, extra_args=["--keepalive", "1"]) as hub:
        assert hub.pubkey is None  # no --key: serve only
        r = requests.get(hub.url + "/feed.json", timeout=5)
        assert r.content == upstream_bytes
        assert requests.get(hub.url + "/api/v1/pubkey", timeout=5).status_code == 404
        # Without a key the hub cannot add alerts: a clear 409, nothing changes.
        refused = requests.post(hub.url + "/api/v1/republish", headers=hub.auth, timeout=10)
        assert refused.status_code == 409
        assert "--key" in refused.json()["error"]
        with requests.get(hub.url + "/api/v1/push", stream=True, timeout=(5, 10)) as push:
            messages = push_messages(push)
            current = next(messages).version()
            lobby = root / "playlists" / "lobby.yaml"
            lobby.write_text(lobby.read_text().replace("Bienvenidos", "Otra versión"))
            published = publish(root, feed, load_private_key(key_path), now=_now())
            msg = next(messages)
            while msg.comment:
                msg = next(messages)
            assert msg.version() == published.version > current
        served = requests.get(hub.url + "/feed.json", timeout=5).content
        assert served == (feed / "feed.json").read_bytes()


def test_feed_mode_with_key_republishes_into_its_own_folder(tmp_path: Path) -> None:
    from signage.feed.signing import load_private_key

    _root, feed, key_path = _published_feed(tmp_path)
    upstream_bytes = (feed / "feed.json").read_bytes()
    upstream_version = json.loads(upstream_bytes)["version"]
    data = tmp_path / "hubdata"
    with run_hub(data=data, feed=feed, key=key_path) as hub:
        assert hub.pubkey == public_key_b64(load_private_key(key_path))
        ok = requests.post(hub.url + "/api/v1/republish", headers=hub.auth, timeout=10)
        assert ok.status_code == 200, ok.text
        version = ok.json()["version"]
        assert version > upstream_version
        manifest = requests.get(hub.url + "/feed.json", timeout=5)
        sig = requests.get(hub.url + "/feed.json.sig", timeout=5)
        verify(manifest.content, sig.text, hub.pubkey)
        doc = json.loads(manifest.content)
        assert doc["version"] == version
        assert doc["playlists"] == json.loads(upstream_bytes)["playlists"]
        # The upstream folder is never written by the hub.
        assert (feed / "feed.json").read_bytes() == upstream_bytes
        assert (data / "hub-feed" / "feed.json").read_bytes() == manifest.content
    # A restart keeps serving the hub's higher version rather than going back.
    with run_hub(data=data, feed=feed, key=key_path) as again:
        time.sleep(0.3)
        assert again.version() >= version


def test_public_url_is_checked_and_reported(tmp_path: Path) -> None:
    root = make_content_root(tmp_path / "root")
    bad = _serve("--root", str(root), "--port", "0", "--public-url", "pantallas.gov.co")
    _assert_refused(bad, "--public-url", "https://")
    public = "https://pantallas.example.gov.co/"
    with run_hub(data=tmp_path / "data", root=root, extra_args=["--public-url", public]) as hub:
        status = requests.get(hub.url + "/api/v1/feed", timeout=5).json()
        assert status["base_url"] == "https://pantallas.example.gov.co"
        assert status["mode"] == "root"


def test_served_pairs_always_verify_while_upstream_publishes(tmp_path: Path) -> None:
    """A publisher rewrites feed.json and its .sig one after the other; the hub (holding the
    key) only ever serves a manifest with the signature of exactly those bytes."""
    import threading

    from signage.feed.signing import load_private_key

    root, feed, key_path = _published_feed(tmp_path)
    key = load_private_key(key_path)
    lobby = root / "playlists" / "lobby.yaml"
    stop = threading.Event()
    published: list[int] = []

    def publisher() -> None:
        i = 0
        while not stop.is_set() and i < 15:
            i += 1
            lobby.write_text(lobby.read_text().replace("Bienvenidos", "Bienvenidos!"))
            published.append(publish(root, feed, key, now=_now()).version)

    with run_hub(data=tmp_path / "hubdata", feed=feed, key=key_path) as hub:
        assert hub.pubkey
        worker = threading.Thread(target=publisher)
        worker.start()
        checked = 0
        try:
            with requests.Session() as s:
                while worker.is_alive() and checked < 2000:
                    r = s.get(hub.url + "/feed.json", timeout=5)
                    verify(r.content, r.headers["X-Signage-Signature"], hub.pubkey)
                    checked += 1
        finally:
            stop.set()
            worker.join(timeout=60)
        assert checked > 10
        # After the last publish the hub serves it (bounded wait).
        deadline = time.monotonic() + 10
        while hub.version() < published[-1] and time.monotonic() < deadline:
            time.sleep(0.05)
        assert hub.version() >= published[-1]


def test_feed_published_while_hub_was_down_is_served_after_restart(tmp_path: Path) -> None:
    from signage.feed.signing import load_private_key

    root, feed, key_path = _published_feed(tmp_path)
    data = tmp_path / "hubdata"
    with run_hub(data=data, feed=feed, key=key_path) as hub:
        ok = requests.post(hub.url + "/api/v1/republish", headers=hub.auth, timeout=10)
        hub_version = ok.json()["version"]
    lobby = root / "playlists" / "lobby.yaml"
    lobby.write_text(lobby.read_text().replace("Bienvenidos", "Mientras tanto"))
    publish(root, feed, load_private_key(key_path), now=_now())
    with run_hub(data=data, feed=feed, key=key_path) as again:
        assert again.pubkey
        deadline = time.monotonic() + 10
        while "Mientras tanto" not in requests.get(again.url + "/feed.json", timeout=5).text:
            assert time.monotonic() < deadline, again.stderr()
            time.sleep(0.05)
        manifest = requests.get(again.url + "/feed.json", timeout=5)
        verify(manifest.content, manifest.headers["X-Signage-Signature"], again.pubkey)
        assert json.loads(manifest.content)["version"] > hub_version


def test_access_log_counts_requests(tmp_path: Path) -> None:
    """With --access-log each request is one line (how benchmarks count requests)."""
    root = make_content_root(tmp_path / "root")
    with run_hub(data=tmp_path / "data", root=root, extra_args=["--access-log"]) as hub:
        etag = requests.get(hub.url + "/feed.json", timeout=5).headers["ETag"]
        requests.get(hub.url + "/feed.json", headers={"If-None-Match": etag}, timeout=5)
        deadline = time.monotonic() + 5
        while time.monotonic() < deadline:
            lines = [ln for ln in hub.stdout_lines if '"GET /feed.json HTTP/1.1"' in ln]
            if len(lines) >= 2:
                break
            time.sleep(0.05)
        assert len(lines) == 2, hub.stdout_lines
        assert lines[0].endswith("200 OK")
        assert lines[1].endswith("304 Not Modified")


def test_token_file_readable_by_others_is_warned_about(tmp_path: Path) -> None:
    root = make_content_root(tmp_path / "root")
    with run_hub(data=tmp_path / "private", root=root) as hub:
        assert "chmod 600" not in hub.stderr()
        assert hub.token_file is not None
        token_file = hub.token_file
    token_file.chmod(0o644)
    with socket.socket() as taken:  # the hub reads the token, then stops at the busy port
        taken.bind(("127.0.0.1", 0))
        taken.listen(1)
        port = str(taken.getsockname()[1])
        result = _serve("--root", str(root), "--port", port, "--token-file", str(token_file))
    assert "port is in use" in result.stderr
    assert "chmod 600" in result.stderr
