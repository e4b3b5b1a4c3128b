"""Content files are opened once and checked on the descriptor: a file or folder swapped
for a link between validation and copy never gets a file from outside the content root
signed into the feed (a real race against real publishes), FIFOs never block a reader."""

from __future__ import annotations

import os
import signal
import subprocess
import sys
import time
from datetime import UTC, datetime
from pathlib import Path

import pytest

from signage.errors import FeedError, ValidationError
from signage.feed.local import content_from_root
from signage.feed.publish import publish
from signage.safeopen import UnsafeFile, open_inside, read_head_inside
from tests.helpers_feed import PNG_MAGIC, make_keypair

SECRET = PNG_MAGIC + b"SECRETO " * 512
LEGIT = PNG_MAGIC + b"publico " * 512


def _root(tmp: Path) -> tuple[Path, Path]:
    root, outside = tmp / "root", tmp / "fuera"
    (root / "playlists").mkdir(parents=True)
    (root / "assets" / "sub").mkdir(parents=True)
    outside.mkdir()
    (outside / "b.png").write_bytes(SECRET)
    (outside / "secret.png").write_bytes(SECRET)
    (root / "assets" / "a.png").write_bytes(LEGIT)
    (root / "assets" / "sub" / "b.png").write_bytes(LEGIT)
    (root / "playlists" / "lobby.yaml").write_text(
        "name: Lobby\nslides:\n  - id: a\n    image: assets/a.png\n"
        "  - id: b\n    image: assets/sub/b.png\n",
        "utf-8",
    )
    return root, outside


_SWAP = """
import os, random, signal, sys, time
assets, outside, keep_file, keep_dir = sys.argv[1:5]
stop = []
signal.signal(signal.SIGTERM, lambda *a: stop.append(1))
os.link(f"{assets}/a.png", keep_file)  # the same legit bytes, by another name
os.rename(f"{assets}/sub", keep_dir)
os.symlink(keep_dir, f"{assets}/sub")
print("ready", flush=True)
swaps = 0
while not stop:
    os.symlink(f"{outside}/secret.png", f"{assets}/.a-link")
    os.symlink(outside, f"{assets}/.sub-link")
    os.replace(f"{assets}/.a-link", f"{assets}/a.png")
    os.replace(f"{assets}/.sub-link", f"{assets}/sub")
    time.sleep(random.random() / 2000)
    os.link(keep_file, f"{assets}/.a-file")
    os.replace(f"{assets}/.a-file", f"{assets}/a.png")
    os.symlink(keep_dir, f"{assets}/.sub-link")
    os.replace(f"{assets}/.sub-link", f"{assets}/sub")
    time.sleep(random.random() / 200)  # mostly real: validation passes, then the swap
    swaps += 1
print(swaps, flush=True)
"""


class Swapper:
    """Another process that swaps assets/a.png for a link to the secret file and
    assets/sub for a link to the outside folder, and back, in a tight loop."""

    def __init__(self, root: Path, outside: Path) -> None:
        args = [str(root / "assets"), str(outside), str(outside.parent / "a.keep")]
        args.append(str(root / "assets" / ".sub-real"))  # legit: a link inside the root
        self.proc = subprocess.Popen(
            [sys.executable, "-c", _SWAP, *args], stdout=subprocess.PIPE, text=True
        )
        assert self.proc.stdout is not None
        assert self.proc.stdout.readline().strip() == "ready"
        self.swaps = 0

    def stop(self) -> None:
        self.proc.send_signal(signal.SIGTERM)
        out, _ = self.proc.communicate(timeout=10)
        self.swaps = int(out.strip() or 0)


def test_swapped_links_during_repeated_publishes_never_publish_outside_bytes(tmp_path):
    root, outside = _root(tmp_path)
    keys = make_keypair(tmp_path)
    out = tmp_path / "feed"
    swapper = Swapper(root, outside)
    published = refused = 0
    reasons: set[str] = set()
    try:
        deadline = time.monotonic() + 40
        for i in range(2000):
            if time.monotonic() > deadline or (published >= 30 and refused >= 30):
                break
            for path in (out / "assets").glob("*"):
                path.unlink()  # every round copies afresh: no "already there" shortcut
            (out / ".publish-index.json").unlink(missing_ok=True)
            try:
                publish(root, out, keys.key, now=datetime(2026, 1, 1, 0, i % 60, tzinfo=UTC))
                published += 1
            except (ValidationError, FeedError) as exc:
                refused += 1
                reasons.add(str(exc)[:300])
            leaked = [p for p in (out / "assets").glob("*") if b"SECRETO" in p.read_bytes()]
            assert not leaked, f"round {i}: a file from outside the root was published"
    finally:
        swapper.stop()
    assert swapper.swaps > 20
    assert published > 0 and refused > 0, (published, refused, reasons)  # the race really ran


def test_the_local_path_refuses_a_swapped_link_too(tmp_path):
    root, outside = _root(tmp_path)
    swapper = Swapper(root, outside)
    leaked = 0
    try:
        for i in range(60):
            try:
                content = content_from_root(root, tmp_path / f"cache{i % 3}", 1, datetime.now(UTC))
            except (ValidationError, FeedError):
                continue
            leaked += sum(b"SECRETO" in p.read_bytes() for p in content.assets.values())
    finally:
        swapper.stop()
    assert leaked == 0


def test_open_inside_checks_the_descriptor(tmp_path):
    root, outside = _root(tmp_path)
    (root / "assets" / "link-in.png").symlink_to(root / "assets" / "a.png")
    (root / "assets" / "link-out.png").symlink_to(outside / "secret.png")
    (root / "assets" / "dir-out").symlink_to(outside, target_is_directory=True)
    os.mkfifo(root / "assets" / "fifo.png")
    assert read_head_inside(root / "assets" / "link-in.png", root, 8) == PNG_MAGIC
    for name, reason in (
        ("link-out.png", "leaves the content root"),
        ("dir-out/secret.png", "leaves the content root"),
        ("fifo.png", "not a regular file"),  # and no hang: opened non-blocking
        ("sub", "not a regular file"),
    ):
        with pytest.raises(UnsafeFile, match=reason):
            open_inside(root / "assets" / name, root)
    with pytest.raises(FileNotFoundError):
        open_inside(root / "assets" / "nada.png", root)
    fh, st = open_inside(root / "assets" / "a.png", root)
    with fh:
        assert st.st_size == len(LEGIT) and fh.read() == LEGIT
