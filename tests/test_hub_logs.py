"""The hub's own log: a repeated refusal reaches stderr once, not once per save."""

from __future__ import annotations

import time
from pathlib import Path

from tests.helpers_hub import make_content_root, run_hub

BROKEN = "name: Lobby\nslides:\n  - image: assets/no-such-file.png\n"


def _wait_for(predicate: object, timeout: float) -> bool:
    deadline = time.monotonic() + timeout
    while time.monotonic() < deadline:
        if callable(predicate) and predicate():
            return True
        time.sleep(0.05)
    return False


def test_the_same_refused_edit_is_logged_once(tmp_path: Path) -> None:
    root = make_content_root(tmp_path / "root")
    playlist = root / "playlists" / "lobby.yaml"
    with run_hub(data=tmp_path / "data", root=root) as hub:
        version = hub.version()
        for attempt in range(3):
            playlist.write_text(BROKEN + f"# attempt {attempt}\n", encoding="utf-8")
            # Each save is refused with the same message (the same missing file).
            assert _wait_for(lambda: "no-such-file.png" in hub.stderr(), timeout=10)
            time.sleep(0.6)  # past the watcher's debounce: a separate refusal each time
        assert hub.version() == version  # the last good feed is still served
        log = hub.stderr()
        assert log.count("content root edit refused") == 1, log
