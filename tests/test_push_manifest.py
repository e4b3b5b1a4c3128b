"""A version event that carries the signed manifest: the hub sends it, the player takes it.

Issue 17.4: with 10,000 screens, each push used to be answered by 20,000 requests (every
screen's ``feed.json`` and ``feed.json.sig`` at once). The hub's event now carries the pair
(``signage.hub.push.feed_event``) and the sync client verifies and applies it without a
request (``SyncClient.offer_pushed``), or fetches when it refuses it. Real hub subprocess,
real loopback feed server, real signatures; nothing mocked.
"""

from __future__ import annotations

import base64
import json
import shutil
import threading
import time
from collections.abc import Callable
from datetime import UTC, datetime
from pathlib import Path

import requests

from signage.config import PlayerConfig
from signage.events import EventLog
from signage.feed.publish import publish
from signage.feed.store import Store
from signage.feed.sync import Pushed, RetryPolicy, SyncClient, Timeouts
from signage.hub.push import PUSH_MANIFEST_MAX, feed_event, version_event
from signage.model import Content
from signage.sources.feed import FeedSource, pushed_pair
from tests.helpers_feed import KeyPair, make_keypair, make_root, serve_folder
from tests.helpers_hub import LOBBY_YAML, make_content_root, push_messages, run_hub


def wait_for(predicate: Callable[[], object], timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if predicate():
            return True
        time.sleep(0.02)
    return bool(predicate())


def event_fields(event: bytes) -> dict[str, object]:
    lines = event.decode().split("\n")
    assert lines[0] == "event: version"
    assert lines[1].startswith("data: ")
    assert event.endswith(b"\n\n") and event.count(b"\n") == 3  # one data line
    fields = json.loads(lines[1][len("data: ") :])
    assert isinstance(fields, dict)
    return fields


# ------------------------------------------------------------------------ the event


def test_feed_event_carries_the_exact_pair_and_is_one_line() -> None:
    manifest = '{"version": 4, "title": "Señal\\n"}\n'.encode()
    event = feed_event(4, manifest, b"c2lnbmF0dXJl\n", '"abc"')
    fields = event_fields(event)
    assert fields["version"] == 4
    assert fields["etag"] == '"abc"'
    assert fields["signature"] == "c2lnbmF0dXJl"
    assert base64.b64decode(str(fields["manifest"])) == manifest
    pushed = pushed_pair(fields, 4)
    assert pushed == Pushed(4, manifest, "c2lnbmF0dXJl", '"abc"')


def test_feed_event_without_a_pair_it_can_carry_is_a_bare_version() -> None:
    big = b"x" * (PUSH_MANIFEST_MAX + 1)
    assert feed_event(5, big, b"sig", '"e"') == version_event(5)
    assert feed_event(5, b"{}", None, '"e"') == version_event(5)  # unsigned feed
    assert feed_event(5, b"{}", b"\xff\xfe", '"e"') == version_event(5)  # not base64 text
    assert feed_event(0, b"", None, "") == version_event(0)  # nothing published


def test_pushed_pair_refuses_what_is_not_a_pair() -> None:
    assert pushed_pair({"version": 3}, 3) is None
    assert pushed_pair({"version": 3, "manifest": "!!!", "signature": "s"}, 3) is None
    assert pushed_pair({"version": 3, "manifest": 7, "signature": "s"}, 3) is None
    assert pushed_pair({"version": 3, "manifest": "e30=", "signature": None}, 3) is None
    got = pushed_pair({"version": 3, "manifest": "e30=", "signature": "s", "etag": 9}, 3)
    assert got == Pushed(3, b"{}", "s", None)


# ------------------------------------------------------------------ the sync client


def _client(url: str, cache: Path, keys: KeyPair) -> SyncClient:
    return SyncClient(
        url,
        Store(cache),
        keys.pubkey,
        timeouts=Timeouts(connect=2.0, read=2.0),
        retry=RetryPolicy(attempts=2, base_s=0.01, max_s=0.05),
        sleep=lambda s: None,
    )


def _edit(root: Path, title: str) -> None:
    lobby = root / "playlists" / "lobby.yaml"
    lines = lobby.read_text(encoding="utf-8").splitlines()
    lines[-1] = f'      title: "{title}"'
    lobby.write_text("\n".join(lines) + "\n", encoding="utf-8")


def _pair(folder: Path, version: int) -> Pushed:
    sig = (folder / "feed.json.sig").read_text(encoding="ascii").strip()
    return Pushed(version, (folder / "feed.json").read_bytes(), sig, '"pushed"')


def test_a_pushed_pair_is_applied_without_a_request(tmp_path: Path) -> None:
    keys = make_keypair(tmp_path / "keys")
    root = make_root(tmp_path / "root")
    feed, elsewhere = tmp_path / "feed", tmp_path / "elsewhere"
    now = datetime.now(UTC)
    v1 = publish(root, feed, keys.key, now=now).version
    with serve_folder(feed) as server:
        client = _client(server.url, tmp_path / "cache", keys)
        assert client.sync_once(now).status == "updated"
        asked = len(server.requests_for("feed.json"))
        assets = len(server.requests_for("assets/"))
        # Version 2 exists only where the server does not look: only the push can bring it.
        shutil.copytree(feed, elsewhere)
        _edit(root, "Empujada")
        v2 = publish(root, elsewhere, keys.key, now=now).version
        assert v2 > v1
        client.offer_pushed(_pair(elsewhere, v2))
        result = client.sync_once(now)
        assert (result.status, result.version) == ("updated", v2)
        assert len(server.requests_for("feed.json")) == asked  # neither feed.json nor .sig
        assert len(server.requests_for("assets/")) == assets  # same pictures: none fetched
        state = Store(tmp_path / "cache").state()
        assert state is not None and state.version == v2
        # The pushed ETag conditions the next poll: the server's v1 is older, so the
        # sync now refuses it as a replay rather than stepping back.
        assert client.sync_once(now).status in ("unchanged", "rejected")
        state = Store(tmp_path / "cache").state()
        assert state is not None and state.version == v2


def test_a_tampered_or_old_pushed_pair_is_dropped_and_the_manifest_fetched(
    tmp_path: Path,
) -> None:
    keys = make_keypair(tmp_path / "keys")
    root = make_root(tmp_path / "root")
    feed = tmp_path / "feed"
    now = datetime.now(UTC)
    publish(root, feed, keys.key, now=now)
    with serve_folder(feed) as server:
        client = _client(server.url, tmp_path / "cache", keys)
        assert client.sync_once(now).status == "updated"
        _edit(root, "Auténtica")
        v2 = publish(root, feed, keys.key, now=now).version  # served, genuine
        genuine = _pair(feed, v2)
        forged = Pushed(
            v2,
            genuine.manifest.replace("Auténtica".encode(), b"Falsifica!"),
            genuine.signature,
        )
        assert forged.manifest != genuine.manifest
        asked = len(server.requests_for("feed.json"))
        client.offer_pushed(forged)
        result = client.sync_once(now)
        assert (result.status, result.version) == ("updated", v2)
        assert len(server.requests_for("feed.json")) > asked  # fetched instead
        kept = (tmp_path / "cache" / "manifests").glob("*.json")
        assert all("Falsifica!" not in p.read_text(encoding="utf-8") for p in kept)
        current = Store(tmp_path / "cache").current_content(now, source="test")
        assert current is not None and current.version == v2
        assert "Auténtica" in repr(current.playlists)
        # An older pair (a replay) is not even tried: the sync asks the server as usual.
        asked = len(server.requests_for("feed.json"))
        client.offer_pushed(genuine)  # v2 is already current
        assert client.sync_once(now).status == "unchanged"
        assert len(server.requests_for("feed.json")) == asked + 1


def test_a_pushed_pair_bigger_than_a_fetch_may_be_is_not_kept(tmp_path: Path) -> None:
    keys = make_keypair(tmp_path / "keys")
    root = make_root(tmp_path / "root")
    publish(root, tmp_path / "feed", keys.key, now=datetime.now(UTC))
    with serve_folder(tmp_path / "feed") as server:
        client = _client(server.url, tmp_path / "cache", keys)
        client.offer_pushed(Pushed(99, b" " * (64 << 20), "s"))
        client.offer_pushed(Pushed(98, b"{}", "s" * 4096))
        assert client._take_pushed(0) is None


# --------------------------------------------------------------- hub and player, end to end


def test_the_hubs_event_carries_what_it_serves(tmp_path: Path) -> None:
    root = make_content_root(tmp_path / "root")
    with (
        run_hub(data=tmp_path / "hub", root=root, extra_args=["--keepalive", "1"]) as hub,
        requests.get(hub.url + "/api/v1/push", stream=True, timeout=(5, 10)) as r,
    ):
        messages = push_messages(r)
        for step in range(2):
            msg = next(messages)
            while msg.comment:
                msg = next(messages)
            fields = json.loads(msg.data)
            served = requests.get(hub.url + "/feed.json", timeout=5)
            assert fields["version"] == hub.version() == int(served.headers["X-Signage-Version"])
            assert base64.b64decode(fields["manifest"]) == served.content
            assert fields["etag"] == served.headers["ETag"]
            sig = requests.get(hub.url + "/feed.json.sig", timeout=5).text.strip()
            assert fields["signature"] == sig
            if step == 0:
                (root / "playlists" / "lobby.yaml").write_text(
                    LOBBY_YAML.replace("Bienvenidos", "Nueva versión"), encoding="utf-8"
                )


def test_a_player_takes_pushed_versions_without_asking_the_hub(tmp_path: Path) -> None:
    root = make_content_root(tmp_path / "root")
    args = ["--keepalive", "1", "--access-log"]
    with run_hub(data=tmp_path / "hub", root=root, extra_args=args) as hub:
        assert hub.pubkey
        config = PlayerConfig(
            screen="s1", feed=hub.url + "/", pubkey=hub.pubkey, cache=tmp_path / "cache", poll_s=60
        )
        delivered: list[Content] = []
        lock = threading.Lock()

        def got(content: Content) -> None:
            with lock:
                delivered.append(content)

        source = FeedSource(config)
        source.start(got, EventLog(None))
        try:
            assert wait_for(lambda: bool(delivered) and source.push_connected, 15)

            def fetches() -> int:  # uvicorn's access log, on the hub's stdout
                return sum('"GET /feed.json' in line for line in list(hub.stdout_lines))

            assert wait_for(lambda: fetches() >= 2, 5)  # the first sync: manifest, signature
            # A push channel that opens while the first sync runs may add one conditional
            # poll (304) at start; count from when the start-up has settled.
            before = -1
            while fetches() != before:
                before = fetches()
                time.sleep(0.5)
            for i in range(2):
                version = hub.version()
                (root / "playlists" / "lobby.yaml").write_text(
                    LOBBY_YAML.replace("Bienvenidos", f"Empujada {i}"), encoding="utf-8"
                )
                new = hub.wait_version(version, timeout=10)
                assert wait_for(lambda v=new: delivered[-1].version >= v, 10)  # type: ignore[misc]
            assert "Empujada 1" in repr(delivered[-1].playlists)
            time.sleep(0.3)  # an access-log line written late would still be counted
            assert fetches() == before, hub.stdout_lines[-20:]
        finally:
            source.stop()


def test_a_screen_on_a_mirror_does_not_take_the_hubs_pushed_pair(tmp_path: Path) -> None:
    """Its ``hub`` names where heartbeats go and what wakes it; its content comes from its
    own feed, so a mirror that lags stays visibly stale (docs/hub.md) instead of being
    overtaken by the hub's push."""
    keys = make_keypair(tmp_path / "keys")
    on_hub = FeedSource(
        PlayerConfig(screen="a", feed="http://hub:8750/feed.json", pubkey=keys.pubkey,
                     cache=tmp_path / "a", hub="http://hub:8750")
    )  # fmt: skip
    on_mirror = FeedSource(
        PlayerConfig(screen="b", feed="http://mirror/feed.json", pubkey=keys.pubkey,
                     cache=tmp_path / "b", hub="http://hub:8750")
    )  # fmt: skip
    event = feed_event(9, b'{"version": 9}', b"c2ln", '"e"')
    data = event.decode().split("data: ")[1].strip()
    on_hub._on_push("version", data)
    on_mirror._on_push("version", data)
    assert on_hub.client._take_pushed(0) == Pushed(9, b'{"version": 9}', "c2ln", '"e"')
    assert on_mirror.client._take_pushed(0) is None
