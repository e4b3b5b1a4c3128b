"""install-kiosk keeps the screen's clock right: systemd-timesyncd on, another NTP kept.

The real-machine steps are checked by what they say (running them would change this
machine); the staged install writes the timesyncd drop-in for real.
"""

from __future__ import annotations

import configparser
import subprocess
import sys
from pathlib import Path

from signage.kiosk.install import plan_install

REPO = Path(__file__).resolve().parents[1]
TEMPLATE = (REPO / "kiosk.service").read_text(encoding="utf-8")


def said(tmp_path: Path, found: str | None, ntp: str | None = None) -> list[str]:
    steps = plan_install(
        config=tmp_path / "player.yaml", template=TEMPLATE, command="/usr/bin/signage",
        user_exists=lambda _user: True, time_sync=lambda: found, ntp=ntp,
    )  # fmt: skip
    return [s.says for s in steps]


def test_timesyncd_is_installed_when_missing_and_enabled(tmp_path: Path) -> None:
    steps = said(tmp_path, None)
    install = [s for s in steps if "apt-get install" in s]
    assert install == [
        "install time sync: apt-get install -y --no-install-recommends systemd-timesyncd"
    ]
    enable = "keep the clock right: systemctl enable --now systemd-timesyncd.service"
    assert steps.index(install[0]) < steps.index(enable)
    # already there: enabled, not installed again
    present = said(tmp_path, "systemd-timesyncd.service")
    assert enable in present and not [s for s in present if "apt-get" in s]


def test_another_ntp_client_is_kept(tmp_path: Path) -> None:
    steps = said(tmp_path, "chrony.service")
    assert "keep chrony.service for time sync (not installing timesyncd)" in steps
    assert not [s for s in steps if "timesyncd.service" in s or "apt-get" in s]


def test_staged_install_writes_the_ntp_dropin(tmp_path: Path) -> None:
    stage = tmp_path / "image"
    done = subprocess.run(
        [sys.executable, "-m", "signage", "install-kiosk", "--destdir", str(stage),
         "--ntp", "hub.example.gov.co ntp.example.gov.co"],
        capture_output=True, text=True, timeout=60, check=False, cwd=REPO,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    dropin = stage / "etc/systemd/timesyncd.conf.d/signage.conf"
    parsed = configparser.ConfigParser()
    parsed.read_string(dropin.read_text(encoding="utf-8"))
    assert parsed["Time"]["NTP"] == "hub.example.gov.co ntp.example.gov.co"
    assert "enable systemd-timesyncd.service in the image" in done.stdout


def test_dry_run_says_it_and_a_bad_ntp_is_refused(tmp_path: Path) -> None:
    base = [sys.executable, "-m", "signage", "install-kiosk", "--dry-run",
            "--config", str(tmp_path / "player.yaml")]  # fmt: skip
    done = subprocess.run(base, capture_output=True, text=True, timeout=60, check=False, cwd=REPO)
    assert done.returncode == 0, done.stderr
    assert "systemd-timesyncd" in done.stdout
    bad = subprocess.run(
        [*base, "--ntp", "x\n[Time]\nNTP=evil"],
        capture_output=True, text=True, timeout=60, check=False, cwd=REPO,
    )  # fmt: skip
    assert bad.returncode == 2
    assert "--ntp" in bad.stderr and "Traceback" not in bad.stderr
