"""Leftovers and slow recovery: temporary files of a publish killed with SIGKILL are
removed by the next publish (real processes); a player that refused a version for lack of
disk space takes it as soon as space returns, not at the next safety poll (a real player
process, its cache on a small tmpfs)."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from pathlib import Path

import pytest

from signage.leftovers import clean_temp_files, leftover_pid, stale
from tests.helpers_feed import PNG_MAGIC, make_keypair

REPO = Path(__file__).parents[1]


def _env(tmp: Path) -> dict[str, str]:
    env = {**os.environ, "PYTHONPATH": str(REPO), "XDG_CACHE_HOME": str(tmp / "xdg")}
    env.pop("QT_QPA_PLATFORM", None)
    return env


def _root(root: Path, big_mb: int) -> Path:
    (root / "playlists").mkdir(parents=True)
    (root / "assets").mkdir()
    with (root / "assets" / "big.png").open("wb") as fh:
        fh.write(PNG_MAGIC + os.urandom(1 << 16))
        fh.truncate(big_mb << 20)  # the rest reads as zeros, and costs no disk here
    (root / "playlists" / "lobby.yaml").write_text(
        "name: Lobby\nslides:\n  - id: grande\n    image: assets/big.png\n"
        "  - id: hola\n    text: {title: Hola}\n",
        "utf-8",
    )
    return root


def test_the_names_and_the_rule():
    assert leftover_pid(".abc.tmp-123") == 123
    assert leftover_pid(".feed.json.sig.tmp-77") == 77
    assert leftover_pid(".state.json.tmp-5-140") == 5
    assert leftover_pid(".lobby-1.png.9.140.tmp") == 9
    assert leftover_pid("import-12-140.part") == 12
    assert leftover_pid("feed.json") is None and leftover_pid("abc.tmp-1") is None
    assert leftover_pid("a" * 64 + ".part") is None  # a resumable download: kept
    dead = lambda pid: False  # noqa: E731
    alive = lambda pid: True  # noqa: E731
    assert stale(".a.tmp-9", 1.0, own_pid=1, alive=dead)
    assert not stale(".a.tmp-9", 1.0, own_pid=1, alive=alive)  # a publish still writing
    assert stale(".a.tmp-9", 7 * 3600.0, own_pid=1, alive=alive)  # PID reused, file old
    assert not stale(".a.tmp-1", 7 * 3600.0, own_pid=1, alive=dead)  # our own


def test_a_publish_killed_mid_copy_leaves_nothing_after_the_next_one(tmp_path):
    keys = make_keypair(tmp_path)
    root = _root(tmp_path / "root", 400)
    out = tmp_path / "feed"
    cmd = [sys.executable, "-m", "signage", "publish", "--root", str(root), "--out", str(out)]
    cmd += ["--key", str(keys.path)]
    leftovers: list[Path] = []
    for _attempt in range(5):
        proc = subprocess.Popen(cmd, env=_env(tmp_path), stderr=subprocess.DEVNULL)
        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and proc.poll() is None:
            leftovers = list((out / "assets").glob(".*.tmp-*")) if out.exists() else []
            if leftovers:
                proc.send_signal(signal.SIGKILL)
                break
            time.sleep(0.002)
        proc.wait(timeout=30)
        if leftovers and proc.returncode == -signal.SIGKILL:
            break
        # the copy finished before we saw it: start over from an empty feed
        subprocess.run(["rm", "-rf", str(out)], check=True)
    assert leftovers and proc.returncode == -signal.SIGKILL, "never caught a publish mid-copy"
    assert all(p.exists() for p in leftovers)  # the killed publish's partial copy stayed
    assert leftover_pid(leftovers[0].name) == proc.pid
    # unrelated hidden files and a live writer's temp file are left alone
    keep = out / "assets" / f".{'0' * 64}.tmp-{os.getpid()}"
    keep.write_bytes(b"still being written")
    done = subprocess.run(
        cmd, env=_env(tmp_path), capture_output=True, text=True, timeout=300, check=False
    )
    assert done.returncode == 0, done.stderr
    assert not any(p.exists() for p in leftovers)
    assert keep.exists()
    keep.unlink()
    assert [p.name for p in (out / "assets").iterdir() if p.name.startswith(".")] == []
    assert json.loads((out / "feed.json").read_bytes())["version"] > 0


def test_clean_temp_files_counts_what_it_removed(tmp_path):
    dead_pid = subprocess.run(
        [sys.executable, "-c", "import os; print(os.getpid())"],
        capture_output=True,
        text=True,
        check=True,
    ).stdout.strip()
    (tmp_path / f".x.tmp-{dead_pid}").write_bytes(b"1234")
    (tmp_path / f".y.png.{dead_pid}.7.tmp").write_bytes(b"12")
    (tmp_path / "z.txt").write_bytes(b"keep")
    assert clean_temp_files(tmp_path, tmp_path / "missing") == (2, 6)
    assert [p.name for p in tmp_path.iterdir()] == ["z.txt"]


def _mount_tmpfs(where: Path, size_mb: int) -> None:
    where.mkdir(parents=True)
    done = subprocess.run(
        ["mount", "-t", "tmpfs", "-o", f"size={size_mb}m", "tmpfs", str(where)],
        capture_output=True, text=True, check=False,
    )  # fmt: skip
    assert done.returncode == 0, f"this test mounts a tmpfs (needs root): {done.stderr}"


@pytest.mark.qt
def test_a_player_short_of_disk_takes_the_version_once_space_returns(tmp_path):
    import http.server
    import threading
    from functools import partial

    from signage.feed.publish import publish
    from signage.feed.signing import public_key_b64

    keys = make_keypair(tmp_path)
    from datetime import UTC, datetime

    feed = tmp_path / "feed"
    publish(_root(tmp_path / "root", 12), feed, keys.key, now=datetime.now(UTC))
    cache = tmp_path / "cache"
    _mount_tmpfs(cache, 32)
    handler = partial(http.server.SimpleHTTPRequestHandler, directory=str(feed))
    server = http.server.ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    proc = None
    try:
        ballast = cache / "ballast"
        ballast.write_bytes(b"\1" * (26 << 20))  # 6 MB left: the 12 MB asset does not fit
        config = tmp_path / "player.yaml"
        config.write_text(
            f"feed: http://127.0.0.1:{server.server_address[1]}/\n"
            f"pubkey: {public_key_b64(keys.key)}\ncache: {cache / 'signage'}\npoll: 300\n",
            "utf-8",
        )
        events = tmp_path / "events.jsonl"
        log = tmp_path / "player.log"
        with log.open("wb") as err:  # the child keeps its own copy of the descriptor
            proc = subprocess.Popen(
                [sys.executable, "-m", "signage", "play", "--config", str(config), "--headless",
                 "--size", "320x180", "--for", "120", "--events", str(events)],
                env=_env(tmp_path), stdout=subprocess.DEVNULL, stderr=err,
            )  # fmt: skip

        def names() -> list[dict[str, object]]:
            if not events.exists():
                return []
            return [json.loads(x) for x in events.read_text("utf-8").splitlines() if x]

        deadline = time.monotonic() + 60
        while time.monotonic() < deadline and not any(
            r["event"] == "feed_rejected" for r in names()
        ):
            time.sleep(0.2)
        rejected = [r for r in names() if r["event"] == "feed_rejected"]
        assert rejected and "disk space" in str(rejected[0]["reason"]), names()
        assert not any(r["event"] == "feed_applied" for r in names())
        ballast.unlink()  # someone frees space; the next poll would be 5 minutes away
        freed = time.monotonic()
        while time.monotonic() - freed < 30 and not any(
            r["event"] == "feed_applied" for r in names()
        ):
            time.sleep(0.2)
        applied_after = time.monotonic() - freed
        assert any(r["event"] == "feed_applied" for r in names()), names()
        assert applied_after < 15  # checked every 2 s, not at the 300 s poll
    finally:
        if proc is not None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=30)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait()
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)
        subprocess.run(["umount", "-l", str(cache)], check=False)
    assert proc.returncode == 0, log.read_text("utf-8", "replace")[-3000:]
