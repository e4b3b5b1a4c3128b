"""LocalSource: a content root on disk, reloaded on saved edits; invalid edits are rejected
with located errors while the last good playlist keeps playing (on a real player too)."""

from __future__ import annotations

import threading
import time
from datetime import datetime
from pathlib import Path

import pytest

from signage.events import EventLog
from signage.model import Content
from signage.sources.local import LocalSource
from tests.helpers_player import EventTrap, running_player, solid_png, wait_until

LOBBY = """\
name: Lobby
defaults:
  duration: 1s
slides:
  - id: rojo
    image: assets/red.png
"""


def make_root(tmp_path: Path) -> Path:
    root = tmp_path / "root"
    solid_png(root / "assets" / "red.png", (230, 20, 20))
    solid_png(root / "assets" / "blue.png", (20, 40, 230))
    (root / "playlists").mkdir(parents=True)
    (root / "playlists" / "lobby.yaml").write_text(LOBBY, encoding="utf-8")
    (root / "playlists" / "pasillo.yaml").write_text(
        "name: Pasillo\nslides:\n  - id: azul\n    image: assets/blue.png\n", encoding="utf-8"
    )
    return root


class Inbox:
    def __init__(self) -> None:
        self.items: list[Content] = []
        self.cond = threading.Condition()

    def __call__(self, content: Content) -> None:
        with self.cond:
            self.items.append(content)
            self.cond.notify_all()

    def wait(self, count: int, timeout: float = 5.0) -> bool:
        end = time.monotonic() + timeout
        with self.cond:
            while len(self.items) < count:
                left = end - time.monotonic()
                if left <= 0:
                    return False
                self.cond.wait(left)
        return True


def write_atomically(path: Path, text: str) -> None:
    tmp = path.with_name(path.name + ".part")
    tmp.write_text(text, encoding="utf-8")
    tmp.replace(path)


def test_start_delivers_content_through_the_shared_local_path(tmp_path):
    root = make_root(tmp_path)
    source = LocalSource(root, cache=tmp_path / "cache")
    inbox = Inbox()
    try:
        source.start(inbox, EventLog(None))
        assert inbox.wait(1)
    finally:
        source.stop()
    content = inbox.items[0]
    assert [p.id for p in content.playlists] == ["lobby", "pasillo"]
    local = content.asset_path("assets/red.png")
    assert local is not None and local.is_file()
    assert (tmp_path / "cache") in local.parents  # served from the content-addressed cache
    assert source.describe() == str(root.resolve())


def test_invalid_edit_is_rejected_with_located_errors_and_last_good_kept(tmp_path):
    root = make_root(tmp_path)
    events = EventLog(None)
    trap = EventTrap(events)
    source = LocalSource(root, cache=tmp_path / "cache", debounce_s=0.05)
    inbox = Inbox()
    try:
        source.start(inbox, events)
        assert inbox.wait(1)
        # one bad edit and one good edit in another file, saved together
        write_atomically(
            root / "playlists" / "lobby.yaml", LOBBY.replace("duration: 1s", "duration: banana")
        )
        write_atomically(
            root / "playlists" / "pasillo.yaml",
            "name: Pasillo nuevo\nslides:\n  - id: azul2\n    image: assets/blue.png\n",
        )
        assert wait_for(lambda: bool(trap.of("playlist_rejected")) and _has(inbox, "azul2"))
    finally:
        source.stop()
    rejected = trap.of("playlist_rejected")[0]
    assert rejected["file"].endswith("lobby.yaml")
    assert rejected["errors"] and all(":" in e for e in rejected["errors"])
    assert "lobby.yaml:3:" in rejected["errors"][0]  # path:line:col of the bad duration
    latest = inbox.items[-1]
    lobby = next(p for p in latest.playlists if p.id == "lobby")
    assert lobby.slides[0].duration_s == 1.0  # the last good version plays on
    assert next(p for p in latest.playlists if p.id == "pasillo").name == "Pasillo nuevo"
    assert latest.asset_path("assets/red.png") is not None


def _has(inbox: Inbox, slide_id: str) -> bool:
    return any(s.id == slide_id for c in inbox.items for p in c.playlists for s in p.slides)


def wait_for(predicate, timeout: float = 5.0) -> bool:
    end = time.monotonic() + timeout
    while time.monotonic() < end:
        if predicate():
            return True
        time.sleep(0.02)
    return bool(predicate())


@pytest.mark.qt
def test_a_saved_edit_is_on_screen_quickly_and_a_broken_one_never(qapp, tmp_path):
    root = make_root(tmp_path)
    (root / "playlists" / "pasillo.yaml").unlink()
    source = LocalSource(root, cache=tmp_path / "cache")
    with running_player(qapp, None, source=source) as (player, _, trap):
        assert wait_until(qapp, lambda: "rojo" in trap.shown(), 10)
        saved = datetime.now().astimezone()
        write_atomically(
            root / "playlists" / "lobby.yaml",
            LOBBY + "  - id: nuevo\n    image: assets/blue.png\n    duration: 30s\n",
        )
        assert wait_until(qapp, lambda: "nuevo" in trap.shown(), 5)
        shown = next(r for r in trap.of("slide_shown") if r["slide"] == "nuevo")
        delay = (datetime.fromisoformat(shown["ts"].replace("Z", "+00:00")) - saved).total_seconds()
        assert delay < 3.0, f"edit took {delay:.2f} s to reach the screen"
        # now a broken edit: rejected, and the screen keeps the last good slides
        write_atomically(root / "playlists" / "lobby.yaml", "name: [broken\n")
        assert wait_until(qapp, lambda: bool(trap.of("playlist_rejected")), 5)
        before = len(trap.of("slide_shown"))
        wait_until(qapp, lambda: False, 1.0)
        assert player.status()["playlist"] == "lobby"
        assert player.status()["slide"] in {"rojo", "nuevo"}
        assert len(trap.of("slide_shown")) >= before
    assert trap.of("playlist_rejected")[0]["file"].endswith("lobby.yaml")
    assert not trap.of("slide_skipped")


def test_an_edit_no_watcher_event_announced_is_loaded_by_the_rescan(tmp_path, caplog):
    """inotify can lose events (the per-user instance or queue limits, a network folder): the
    stamp compared behind the watcher still brings the edit, within a few seconds."""
    root = make_root(tmp_path)
    source = LocalSource(root, cache=tmp_path / "cache", debounce_s=0.05, rescan_s=0.3)
    inbox = Inbox()
    try:
        source.start(inbox, EventLog(None))
        assert inbox.wait(1)
        assert wait_for(lambda: source._observer is not None)
        source._observer.stop()  # the watcher is gone, as when its events are lost
        source._observer.join(timeout=2)
        write_atomically(
            root / "playlists" / "pasillo.yaml",
            "name: Pasillo\nslides:\n  - id: azul-rescan\n    image: assets/blue.png\n",
        )
        assert wait_for(lambda: _has(inbox, "azul-rescan"), timeout=5)
        count = len(inbox.items)
        time.sleep(1.0)  # an unchanged root is not reloaded again and again
        assert len(inbox.items) == count
    finally:
        source.stop()
    assert "reached no watcher event" in caplog.text
