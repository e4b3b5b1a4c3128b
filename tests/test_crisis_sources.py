"""Several copies of one signed feed per screen, mirrors, and the emergency alerts route.

Real loopback HTTP servers (tests/helpers_feed.py) serve real feed folders; a
``MultiFeedSource`` (the player's source, without Qt) syncs from all of them into one cache.
Asserts: the newest version that verifies from any source wins; a lagging, an older, a
re-signed-by-another-key and a mixed-up mirror change nothing; the alerts-only key adds and
clears alerts over the content but cannot change a playlist; mirrors only move forward.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import socket
import threading
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path

import pytest

from signage.config import PlayerConfig, parse_config
from signage.errors import ConfigError, FeedError
from signage.events import EventLog, read_events
from signage.feed import signing
from signage.feed.emergency import (
    EmergencyDoc,
    build_document,
    overlay_alerts,
    parse_document,
    verify_document,
    write_alerts,
)
from signage.feed.manifest import parse_manifest
from signage.feed.mirror import MirrorPuller, write_version
from signage.feed.publish import publish
from signage.feed.store import Store
from signage.feed.sync import RetryPolicy, SyncClient, Timeouts
from signage.model import Alert, Content
from signage.sources.multi import MultiFeedSource
from tests.helpers_alerts import make_alert
from tests.helpers_feed import KeyPair, make_keypair, make_root, serve_folder, write_asset

SHORT = Timeouts(connect=1.0, read=2.0)
FAST = RetryPolicy(attempts=1, base_s=0.01, max_s=0.02)


def copy_feed(src: Path, dst: Path) -> None:
    """A static mirror of ``src``'s current version (the way the hub's --mirror writes)."""
    sig = (src / "feed.json.sig").read_bytes()
    write_version(dst, (src / "feed.json").read_bytes(), sig, src / "assets")


def wait_for(pred: Callable[[], bool], timeout: float = 10.0) -> None:
    deadline = time.monotonic() + timeout
    while not pred():
        if time.monotonic() > deadline:
            raise AssertionError("condition not met in time")
        time.sleep(0.02)


class Screen:
    """A MultiFeedSource over ``urls`` with a 0.1 s poll, recording what it delivers."""

    def __init__(self, tmp: Path, urls: list[str], pubkey: str, alert_keys: tuple[str, ...] = ()):
        self.events_path = tmp / "events.jsonl"
        self.config = PlayerConfig(
            screen="s1",
            feed=urls[0],
            mirrors=tuple(urls[1:]),
            pubkey=pubkey,
            alert_keys=alert_keys,
            cache=tmp / "cache",
            poll_s=0.1,
        )
        self.events = EventLog(self.events_path)
        self.source = MultiFeedSource(
            self.config, self.events, push=False, timeouts=SHORT, retry=FAST
        )
        self.seen: list[Content] = []
        self._lock = threading.Lock()

    def on_content(self, content: Content) -> None:
        with self._lock:
            self.seen.append(content)

    def versions(self) -> list[int]:
        with self._lock:
            return [c.version for c in self.seen]

    def last(self) -> Content:
        with self._lock:
            return self.seen[-1]

    def events_named(self, name: str) -> list[dict[str, object]]:
        return [e for e in read_events(self.events_path) if e["event"] == name]


@pytest.fixture
def screen_factory(tmp_path: Path) -> Iterator[Callable[..., Screen]]:
    made: list[Screen] = []

    def make(urls: list[str], pubkey: str, alert_keys: tuple[str, ...] = ()) -> Screen:
        screen = Screen(tmp_path / f"screen{len(made)}", urls, pubkey, alert_keys)
        screen.source.start(screen.on_content, screen.events)
        made.append(screen)
        return screen

    yield make
    for screen in made:
        screen.source.stop()


@pytest.fixture
def keys(tmp_path: Path) -> KeyPair:
    return make_keypair(tmp_path / "keys")


# ------------------------------------------------------------------------ config


def test_feed_takes_a_list_hub_first_then_mirrors() -> None:
    cfg = parse_config(
        {"feed": ["http://hub:8750/", "http://m1/feed/", "https://m2/f/feed.json"]}, "p.yaml"
    )
    assert cfg.feed == "http://hub:8750/"
    assert cfg.mirrors == ("http://m1/feed/", "https://m2/f/feed.json")
    assert cfg.feeds == ("http://hub:8750/", "http://m1/feed/", "https://m2/f/feed.json")
    assert cfg.hub_url == "http://hub:8750"
    assert parse_config({"feed": "http://hub/"}, "p.yaml").feeds == ("http://hub/",)
    for bad, words in (
        ([], "non-empty list"),
        (["http://a/", "ftp://b/"], "item 2"),
        (["http://a/", "http://a/"], "twice"),
        (["http://a/", 3], "item 2"),
    ):
        with pytest.raises(ConfigError, match=words):
            parse_config({"feed": bad}, "p.yaml")
    with pytest.raises(ConfigError, match="alert_keys"):
        parse_config({"alert_keys": "abc"}, "p.yaml")


# ------------------------------------------------------------------------ several sources


def test_newest_verified_version_from_any_source_wins_and_none_rolls_back(
    tmp_path: Path, keys: KeyPair, screen_factory: Callable[..., Screen]
) -> None:
    root = make_root(tmp_path / "root", n_assets=2, size=3000)
    hub_dir, mirror_dir = tmp_path / "hub", tmp_path / "mirror"
    now = datetime.now(UTC)
    v1 = publish(root, hub_dir, keys.key, now=now).version
    copy_feed(hub_dir, mirror_dir)
    write_asset(root, 0, 3000, seed=7)
    v2 = publish(root, hub_dir, keys.key, now=now + timedelta(seconds=5)).version
    assert v2 > v1
    with serve_folder(hub_dir) as hub, serve_folder(mirror_dir) as mirror:
        screen = screen_factory([hub.url, mirror.url], keys.pubkey)
        wait_for(lambda: bool(screen.versions()) and screen.versions()[-1] == v2)
        assert screen.source.last_source == hub.url
        time.sleep(0.5)  # several polls of the lagging mirror
        assert max(screen.versions()) == v2 and screen.versions()[-1] == v2
        assert screen.events_named("feed_rejected") == []  # behind is not an attack
        # The hub goes quiet; a newer version reaches only the mirror: the screen takes it.
        write_asset(root, 1, 3000, seed=9)
        staging = tmp_path / "staging"
        shutil.copytree(hub_dir, staging)
        v3 = publish(root, staging, keys.key, now=now + timedelta(seconds=10)).version
        copy_feed(staging, mirror_dir)
        wait_for(lambda: screen.versions()[-1] == v3)
        assert screen.source.last_source == mirror.url
        applied = screen.events_named("feed_applied")
        assert [e["source"] for e in applied][-1] == mirror.url
        assert Store(screen.config.cache).verify() == []


def test_hostile_mirrors_change_nothing(
    tmp_path: Path, keys: KeyPair, screen_factory: Callable[..., Screen]
) -> None:
    root = make_root(tmp_path / "root", n_assets=2, size=2000)
    good, older, resigned, mixed, swapped = (
        tmp_path / n for n in ("good", "older", "resigned", "mixed", "swapped")
    )
    now = datetime.now(UTC)
    publish(root, older, keys.key, now=now)  # version 1 stays here: a replay
    copy_feed(older, good)
    write_asset(root, 0, 2000, seed=3)
    v2 = publish(root, good, keys.key, now=now + timedelta(seconds=5)).version
    # Re-signed by another key, with a higher version and a playlist renamed.
    other = make_keypair(tmp_path / "other")
    doc = json.loads((good / "feed.json").read_bytes())
    doc["version"] = v2 + 100
    doc["playlists"][0]["name"] = "Contenido de otro"
    body = json.dumps(doc).encode()
    resigned.mkdir()
    shutil.copytree(good / "assets", resigned / "assets")
    (resigned / "feed.json").write_bytes(body)
    (resigned / "feed.json.sig").write_text(signing.sign(body, other.key))
    # Mixed up: the next version's manifest with the current version's signature; and
    # (swapped) that next version whole, but its new asset file holding other bytes.
    write_asset(root, 1, 2000, seed=5)
    shutil.copytree(good, mixed)
    v3 = publish(root, mixed, keys.key, now=now + timedelta(seconds=10)).version
    shutil.copytree(mixed, swapped)
    shutil.copy(good / "feed.json.sig", mixed / "feed.json.sig")
    new_sha = {
        e.sha256 for e in parse_manifest((swapped / "feed.json").read_bytes()).assets.values()
    }
    new_sha -= {e.sha256 for e in parse_manifest((good / "feed.json").read_bytes()).assets.values()}
    for sha in new_sha:
        path = swapped / "assets" / sha
        path.write_bytes(bytes(reversed(path.read_bytes())))
    with (
        serve_folder(good) as g,
        serve_folder(older) as o,
        serve_folder(resigned) as r,
        serve_folder(mixed) as m,
        serve_folder(swapped) as w,
    ):
        screen = screen_factory([g.url, o.url, r.url, m.url, w.url], keys.pubkey)
        wait_for(lambda: bool(screen.versions()) and screen.versions()[-1] == v2)
        wait_for(lambda: len(screen.events_named("feed_rejected")) >= 3)
        time.sleep(0.5)
        assert set(screen.versions()) == {v2} and v3 > v2
        assert screen.last().playlists[0].name != "Contenido de otro"
        refused = {e["source"]: e["reason"] for e in screen.events_named("feed_rejected")}
        assert set(refused) == {r.url, m.url, w.url}  # the lagging one is only behind
        assert "signature" in str(refused[r.url]) and "signature" in str(refused[m.url])
        assert "hash" in str(refused[w.url])
        assert Store(screen.config.cache).state().version == v2  # type: ignore[union-attr]


# ------------------------------------------------------------------------ emergency route


def _doc(
    serial: int, base: int, alerts: tuple[Alert, ...] = (), cleared: tuple[str, ...] = ()
) -> bytes:
    now = datetime.now(UTC)
    return build_document(serial, base, now, now + timedelta(hours=2), alerts, cleared)


def test_alerts_document_rules_are_pure_and_strict(tmp_path: Path) -> None:
    alerts_key = make_keypair(tmp_path / "a", "alerts.pem")
    feed_key = make_keypair(tmp_path / "f", "feed.pem")
    now = datetime.now(UTC)
    raised = make_alert("corte", sent=now)
    data = _doc(5, 10, (raised,), ("viejo",))
    doc = verify_document(data, signing.sign(data, alerts_key.key), [alerts_key.pubkey])
    assert doc.serial == 5 and doc.base_version == 10 and doc.cleared == {"viejo"}
    old = make_alert("viejo", sent=now)
    other = make_alert("otro", sent=now)
    assert overlay_alerts((old, other), 10, doc, now) == (other, raised)
    assert overlay_alerts((old, other), 11, doc, now) == (old, other)  # bound to version 10
    assert overlay_alerts((old,), 10, doc, now + timedelta(hours=3)) == (old,)  # expired
    with pytest.raises(FeedError, match="no pinned alerts key"):
        verify_document(data, signing.sign(data, feed_key.key), [alerts_key.pubkey])
    # An alerts-only document that tries to carry content is refused whole.
    sneaky = json.loads(data)
    sneaky["playlists"] = [{"id": "lobby", "name": "Otro", "slides": []}]
    sneaky_bytes = json.dumps(sneaky).encode()
    with pytest.raises(FeedError, match="'playlists' is not allowed"):
        verify_document(
            sneaky_bytes, signing.sign(sneaky_bytes, alerts_key.key), [alerts_key.pubkey]
        )
    with pytest.raises(FeedError, match="format"):
        parse_document(json.dumps({**json.loads(data), "format": "x"}).encode())
    assert isinstance(doc, EmergencyDoc)


def test_alerts_key_cannot_sign_a_feed(tmp_path: Path) -> None:
    """A feed.json signed with the alerts-only key is refused: only the feed key signs content."""
    feed_key = make_keypair(tmp_path / "f", "feed.pem")
    alerts_key = make_keypair(tmp_path / "a", "alerts.pem")
    root = make_root(tmp_path / "root", n_assets=1)
    folder = tmp_path / "feed"
    now = datetime.now(UTC)
    v1 = publish(root, folder, feed_key.key, now=now).version
    with serve_folder(folder) as server:
        store = Store(tmp_path / "cache")
        client = SyncClient(server.url, store, feed_key.pubkey, timeouts=SHORT, retry=FAST)
        assert client.sync_once(now).status == "updated"
        doc = json.loads((folder / "feed.json").read_bytes())
        doc["version"] += 1
        doc["playlists"][0]["name"] = "Cambiado con la llave de alertas"
        body = json.dumps(doc).encode()
        (folder / "feed.json").write_bytes(body)
        (folder / "feed.json.sig").write_text(signing.sign(body, alerts_key.key))
        result = client.sync_once(now)
        client.close()
    assert result.status == "rejected" and "signature" in result.reason
    assert store.state().version == v1  # type: ignore[union-attr]


def test_emergency_route_adds_and_clears_alerts_over_the_last_content(
    tmp_path: Path, keys: KeyPair, screen_factory: Callable[..., Screen]
) -> None:
    alerts_key = make_keypair(tmp_path / "alerts", "alerts.pem")
    root = make_root(tmp_path / "root", n_assets=1)
    mirror = tmp_path / "mirror"
    now = datetime.now(UTC)
    hub_alert = make_alert("del-hub", sent=now)
    v1 = publish(root, mirror, keys.key, now=now, alerts=[hub_alert]).version
    with serve_folder(mirror) as m:
        screen = screen_factory(
            ["http://127.0.0.1:9/", m.url], keys.pubkey, alert_keys=(alerts_key.pubkey,)
        )
        wait_for(lambda: bool(screen.versions()))
        assert [a.id for a in screen.last().alerts] == ["del-hub"]
        crisis = make_alert("ciberataque", sent=now)
        written = write_alerts(mirror, alerts_key.key, now, add=[crisis])
        assert written.base_version == v1
        wait_for(lambda: [a.id for a in screen.last().alerts] == ["del-hub", "ciberataque"])
        content = screen.last()
        assert content.version == v1 and content.playlists == screen.seen[0].playlists
        later = write_alerts(mirror, alerts_key.key, now, clear=["del-hub"])
        assert later.serial > written.serial
        wait_for(lambda: [a.id for a in screen.last().alerts] == ["ciberataque"])
        applied = screen.events_named("alerts_applied")
        assert [e["serial"] for e in applied] == [written.serial, later.serial]
        # A replay of the first document (lower serial) is ignored.
        data = (mirror / "alerts.json").read_bytes()
        assert json.loads(data)["serial"] == later.serial
        stale = _doc(written.serial, v1, (crisis,), ())
        (mirror / "alerts.json.sig").write_text(signing.sign(stale, alerts_key.key))
        (mirror / "alerts.json").write_bytes(stale)
        time.sleep(0.5)
        assert [a.id for a in screen.last().alerts] == ["ciberataque"]
        with pytest.raises(FeedError, match="no alert 'nada'"):
            write_alerts(mirror, alerts_key.key, now, clear=["nada"])


# ------------------------------------------------------------------------ mirrors


def test_mirror_puller_writes_only_verified_versions_and_never_goes_back(
    tmp_path: Path, keys: KeyPair
) -> None:
    root = make_root(tmp_path / "root", n_assets=2)
    upstream, dst = tmp_path / "upstream", tmp_path / "dst"
    now = datetime.now(UTC)
    v1 = publish(root, upstream, keys.key, now=now).version
    with serve_folder(upstream) as server:
        puller = MirrorPuller(server.url, dst, keys.pubkey)
        first = puller.pull(now)
        assert first.written and first.version == v1
        assert (dst / "feed.json").read_bytes() == (upstream / "feed.json").read_bytes()
        for entry in parse_manifest((dst / "feed.json").read_bytes()).assets.values():
            assert (dst / "assets" / entry.sha256).stat().st_size == entry.size
        # A tampered upstream (bytes changed, signature kept) is never mirrored.
        doc = json.loads((upstream / "feed.json").read_bytes())
        doc["version"] += 5
        (upstream / "feed.json").write_bytes(json.dumps(doc).encode())
        refused = puller.pull(now)
        assert refused.status == "rejected" and not refused.written
        assert parse_manifest((dst / "feed.json").read_bytes()).version == v1
        puller.close()
    # A lower version offered to the folder is not written.
    older = tmp_path / "older"
    publish(root, older, keys.key, now=now - timedelta(days=1))
    sig = (older / "feed.json.sig").read_bytes()
    older_manifest = (older / "feed.json").read_bytes()
    assert parse_manifest(older_manifest).version < v1
    assert not write_version(dst, older_manifest, sig, older / "assets")
    assert parse_manifest((dst / "feed.json").read_bytes()).version == v1


# ------------------------------------------------------------------------ reporting


def test_heartbeat_says_which_source_and_older_beats_still_parse() -> None:
    from signage.commands.status import rows
    from signage.telemetry.wire import HeartbeatReport

    now = datetime.now(UTC)
    report = HeartbeatReport(screen="s1", sent=now, feed_source="http://espejo:8080/feed/")
    body = report.to_json()
    assert body["feed_source"] == "http://espejo:8080/feed/"
    assert HeartbeatReport.from_json(body).feed_source == "http://espejo:8080/feed/"
    old = {k: v for k, v in body.items() if k != "feed_source"}
    assert HeartbeatReport.from_json(old).feed_source is None
    assert "feed_source" not in HeartbeatReport(screen="s1", sent=now).to_json()
    row = {"screen": "s1", "online": True, "age_s": 3, "last_sync_age_s": 4,
           "feed_source": "http://espejo:8080/feed/\x1b[31m"}  # fmt: skip
    synced = rows([row])[0][4]
    assert synced == "4s ago via espejo:8080" and "\x1b" not in synced


def test_a_document_over_a_newer_version_still_gets_a_higher_serial(
    tmp_path: Path, keys: KeyPair
) -> None:
    alerts_key = make_keypair(tmp_path / "alerts", "alerts.pem")
    root = make_root(tmp_path / "root", n_assets=1)
    folder = tmp_path / "mirror"
    now = datetime.now(UTC)
    publish(root, folder, keys.key, now=now)
    first = write_alerts(folder, alerts_key.key, now, add=[make_alert("a", sent=now)])
    second = write_alerts(folder, alerts_key.key, now, add=[make_alert("b", sent=now)])
    assert second.serial == first.serial + 1 and {a.id for a in second.alerts} == {"a", "b"}
    v2 = publish(root, folder, keys.key, now=now + timedelta(seconds=5)).version
    third = write_alerts(folder, alerts_key.key, now, add=[make_alert("c", sent=now)])
    assert third.base_version == v2 and third.serial > second.serial
    assert [a.id for a in third.alerts] == ["c"]  # the older document was over version 1


def test_a_stalling_mirror_does_not_hold_up_an_alert_from_another(
    tmp_path: Path, keys: KeyPair, screen_factory: Callable[..., Screen]
) -> None:
    """Every poll the stalling mirror costs the content sync its read timeout, but alerts
    are read on their own thread, each source at once: the alert comes from the good one
    while the stalled look is still waiting (here allowed a minute, four times the wait)."""
    from tests.helpers_feed import Fault

    alerts_key = make_keypair(tmp_path / "alerts", "alerts.pem")
    root = make_root(tmp_path / "root", n_assets=1)
    good, bad = tmp_path / "good", tmp_path / "bad"
    now = datetime.now(UTC)
    v1 = publish(root, good, keys.key, now=now).version
    copy_feed(good, bad)
    write_alerts(bad, alerts_key.key, now, add=[make_alert("cebo", sent=now)])
    stalls = [Fault("feed.json", "stall"), Fault("alerts.json", "stall")]
    with serve_folder(bad, stalls) as b, serve_folder(good) as g:
        screen = Screen(tmp_path / "slow", [b.url, g.url], keys.pubkey, (alerts_key.pubkey,))
        screen.source.emergency.timeouts = Timeouts(connect=2.0, read=60.0)
        screen.source.start(screen.on_content, screen.events)
        try:
            wait_for(lambda: bool(screen.versions()), timeout=15)
            assert screen.versions()[-1] == v1
            write_alerts(good, alerts_key.key, now, add=[make_alert("real", sent=now)])
            wait_for(lambda: [a.id for a in screen.last().alerts] == ["real"], timeout=15)
            assert b.requests_for("alerts.json")  # the bad mirror was asked, and stalls
        finally:
            screen.source.stop()


@contextlib.contextmanager
def dripping_server() -> Iterator[str]:
    """Answers every request with a 200 whose body comes one byte every 0.3 s, for ever:
    each read is well inside the read timeout, so only a deadline ends such a sync."""
    stop = threading.Event()
    listener = socket.create_server(("127.0.0.1", 0))
    listener.settimeout(0.1)

    def drip(conn: socket.socket) -> None:
        with conn, contextlib.suppress(OSError):
            conn.recv(65536)
            conn.sendall(b"HTTP/1.1 200 OK\r\nContent-Length: 1000000\r\n\r\n")
            while not stop.wait(0.3):
                conn.sendall(b"{")

    def serve() -> None:
        while not stop.is_set():
            try:
                conn, _ = listener.accept()
            except TimeoutError:
                continue
            except OSError:
                return
            threading.Thread(target=drip, args=(conn,), daemon=True).start()

    thread = threading.Thread(target=serve, daemon=True)
    thread.start()
    try:
        yield f"http://127.0.0.1:{listener.getsockname()[1]}/"
    finally:
        stop.set()
        thread.join(timeout=5)
        listener.close()


def test_a_dripping_source_is_cut_and_the_others_get_their_turn(
    tmp_path: Path, keys: KeyPair
) -> None:
    root = make_root(tmp_path / "root", n_assets=1)
    good = tmp_path / "good"
    v1 = publish(root, good, keys.key, now=datetime.now(UTC)).version
    with dripping_server() as drip, serve_folder(good) as g:
        screen = Screen(tmp_path / "s", [drip, g.url], keys.pubkey)
        screen.source.sync_deadline_s = 1.5
        screen.source.start(screen.on_content, screen.events)
        try:
            wait_for(lambda: bool(screen.versions()), timeout=20)
            assert screen.versions()[-1] == v1
            assert screen.source.last_source == g.url
            assert screen.source.clients[0] is screen.source.client  # replaced, still the hub
            assert not screen.source.client.transport.aborted
        finally:
            screen.source.stop()
