"""The unit's real topology: cage is the main PID, the player its Wayland client and child.

Runs Debian's cage on wlroots' headless backend (no GPU, no input devices) as an
unprivileged user, exactly as kiosk.service starts it: ``WATCHDOG_PID`` names cage (the
process systemd forked), the player inherits it, and its READY=1 and WATCHDOG=1 datagrams
come from cage's child, which is why the unit says ``NotifyAccess=all``. A real unix
datagram socket plays systemd.
"""

from __future__ import annotations

import os
import shutil
import signal
import subprocess
import sys
import sysconfig
import tempfile
import time
from collections.abc import Iterator
from pathlib import Path

import pytest

from tests.helpers_hub import REPO, make_content_root
from tests.helpers_kiosk import NotifySocket, longest_gap

# The venv's interpreter is a link into root's home, which 'nobody' cannot enter; the
# system interpreter of the same version runs the same code with the venv's packages.
PLAYER_PYTHON = Path("/usr/bin/python3")
SITE_PACKAGES = Path(sysconfig.get_paths()["purelib"])


def _same_python() -> bool:
    if not PLAYER_PYTHON.exists():
        return False
    done = subprocess.run(
        [str(PLAYER_PYTHON), "-c", "import sys; print(sys.version_info[:2])"],
        capture_output=True, text=True, timeout=30, check=False,
    )  # fmt: skip
    return done.stdout.strip() == str(sys.version_info[:2])


def _missing() -> str | None:
    for tool in ("cage", "setpriv"):
        if shutil.which(tool) is None:
            return f"{tool} is not installed"
    if not Path("/usr/bin/Xwayland").exists():
        return "cage 0.1.4 refuses to start without Xwayland (Debian package xwayland)"
    if not _same_python():
        return f"{PLAYER_PYTHON} is not Python {sys.version_info[0]}.{sys.version_info[1]}"
    if os.geteuid() != 0:
        return "needs root to drop to the unprivileged user 'nobody' (cage refuses root)"
    return None


@pytest.fixture
def world() -> Iterator[Path]:
    """A folder 'nobody' can read (content root) and write (runtime dir, cache)."""
    base = Path(tempfile.mkdtemp(prefix="signage-cage-"))
    try:
        make_content_root(base / "root")
        for sub in ("run", "cache", "sock"):
            (base / sub).mkdir()
            shutil.chown(base / sub, "nobody", "nogroup")
        (base / "run").chmod(0o700)  # XDG_RUNTIME_DIR must be private to its owner
        (base / "sock").chmod(0o777)
        for folder in (base, base / "root", base / "root" / "playlists", base / "root" / "assets"):
            folder.chmod(0o755)
        (base / "root" / "playlists" / "lobby.yaml").chmod(0o644)
        yield base
    finally:
        shutil.rmtree(base, ignore_errors=True)


@pytest.mark.slow
@pytest.mark.qt
@pytest.mark.skipif(_missing() is not None, reason=_missing() or "")
def test_player_under_cage_readies_and_pings_as_cages_child(world: Path) -> None:
    sock_path = world / "sock" / "notify"
    with NotifySocket(sock_path) as systemd:
        sock_path.chmod(0o777)  # the player runs as 'nobody'
        env = {
            "PATH": "/usr/bin:/bin",
            "HOME": str(world / "cache"),
            "XDG_RUNTIME_DIR": str(world / "run"),
            "XDG_CACHE_HOME": str(world / "cache"),
            "WLR_BACKENDS": "headless",
            "WLR_LIBINPUT_NO_DEVICES": "1",
            "WLR_RENDERER": "pixman",
            "QT_QPA_PLATFORM": "wayland",
            "PYTHONPATH": f"{REPO}:{SITE_PACKAGES}",
            "PYTHONDONTWRITEBYTECODE": "1",
            "NOTIFY_SOCKET": str(sock_path),
            "WATCHDOG_USEC": "400000",
        }
        # systemd forks, sets WATCHDOG_PID to the child's PID and execs the unit's command:
        # `exec` keeps the shell's PID through setpriv into cage, so $$ is cage's PID.
        script = (
            "WATCHDOG_PID=$$ exec setpriv --reuid=nobody --regid=nogroup --clear-groups "
            f"cage -d -- {PLAYER_PYTHON} -m signage play --root {world / 'root'} --for 20"
        )
        log_path = world / "cage.log"
        with log_path.open("w") as log_file:
            proc = subprocess.Popen(
                ["/bin/sh", "-c", script], env=env, cwd=REPO,
                stdout=log_file, stderr=subprocess.STDOUT, start_new_session=True,
            )  # fmt: skip
        try:
            try:
                ready = systemd.wait_for("READY=1", 40)
            except AssertionError:
                raise AssertionError(log_path.read_text(errors="replace")) from None
            wayland = (world / "run" / "wayland-0").exists()  # cage's socket for its client
            time.sleep(2.0)
            senders_ok = proc.poll() is None
        finally:
            if proc.poll() is None:
                os.killpg(proc.pid, signal.SIGTERM)  # cage and its client, like systemd's stop
                try:
                    proc.wait(15)
                except subprocess.TimeoutExpired:
                    os.killpg(proc.pid, signal.SIGKILL)
                    proc.wait(5)
        pings = systemd.pings()
        messages = systemd.messages()
    assert senders_ok, log_path.read_text(errors="replace")
    assert wayland
    assert "STATUS=" in ready.text
    window = [t for t in pings if ready.at < t < ready.at + 2.0]
    assert len(window) >= 6, (messages, log_path.read_text(errors="replace"))
    assert longest_gap(pings, ready.at + 0.3, ready.at + 1.9) < 0.6
