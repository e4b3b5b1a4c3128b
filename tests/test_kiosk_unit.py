"""kiosk.service passes systemd-analyze verify; install-kiosk's dry run and staged install."""

from __future__ import annotations

import shutil
import subprocess
import sys
from pathlib import Path

import pytest
import yaml

from signage.config import parse_config
from signage.kiosk.install import config_template, plan_install, render_unit, unit_template

REPO = Path(__file__).resolve().parents[1]
UNIT = REPO / "kiosk.service"


def _verify(path: Path) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        ["systemd-analyze", "verify", str(path)],
        capture_output=True,
        text=True,
        timeout=60,
        check=False,
    )


def _directives(text: str) -> dict[str, list[str]]:
    out: dict[str, list[str]] = {}
    for line in text.splitlines():
        if line and not line.startswith(("#", "[")) and "=" in line:
            key, _, value = line.partition("=")
            out.setdefault(key, []).append(value)
    return out


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze absent")
def test_unit_verifies_without_any_warning() -> None:
    done = _verify(UNIT)
    # verify exits 0 even for unknown keys, but prints them: demand silence.
    assert done.returncode == 0, done.stderr
    assert done.stderr.strip() == "", done.stderr


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze absent")
def test_verify_would_catch_a_mistake(tmp_path: Path) -> None:
    broken = tmp_path / "kiosk.service"
    broken.write_text(UNIT.read_text().replace("WatchdogSec=30", "WatchdogSecs=30"))
    assert "Unknown key" in _verify(broken).stderr


def test_unit_choices() -> None:
    d = _directives(UNIT.read_text())
    assert d["Type"] == ["notify"]
    assert d["NotifyAccess"] == ["all"]  # cage is the main PID, the player its child
    assert d["WatchdogSec"] == ["30"]
    assert d["Restart"] == ["always"]
    assert d["User"] == ["signage"]
    assert d["ProtectSystem"] == ["strict"]
    assert d["NoNewPrivileges"] == ["yes"]
    assert d["ProtectHome"] == ["yes"]
    assert d["PrivateTmp"] == ["yes"]
    assert "/var/cache/signage" in d["ReadWritePaths"][0]
    assert d["Environment"].count("QT_QPA_PLATFORM=wayland") == 1
    assert d["ExecStart"][0].startswith("/usr/bin/cage ")
    assert "PrivateDevices" not in d  # would hide /dev/dri from cage
    assert "ProtectClock" not in d  # its DeviceAllow rule would refuse /dev/dri too
    assert not any("network-online" in v for v in d["Wants"] + d["After"])  # plays offline


@pytest.mark.skipif(shutil.which("systemd-analyze") is None, reason="systemd-analyze absent")
def test_rendered_unit_still_verifies(tmp_path: Path) -> None:
    text = render_unit(
        UNIT.read_text(),
        user="pantalla",
        config=Path("/etc/signage/lobby.yaml"),
        command="/opt/signage/bin/signage",
    )
    d = _directives(text)
    assert d["User"] == ["pantalla"]
    assert d["Group"] == ["pantalla"]
    assert "/opt/signage/bin/signage play --config /etc/signage/lobby.yaml" in d["ExecStart"][0]
    path = tmp_path / "signage-kiosk.service"
    path.write_text(text)
    done = _verify(path)
    assert done.returncode == 0
    assert done.stderr.strip() == ""


def test_config_template_loads_as_a_valid_player_config() -> None:
    cfg = parse_config(yaml.safe_load(config_template("lobby-1", Path("/var/cache/signage"))), "t")
    assert cfg.screen == "lobby-1"
    assert cfg.cache == Path("/var/cache/signage")


def test_dry_run_prints_every_step_and_changes_nothing(tmp_path: Path) -> None:
    config = tmp_path / "etc" / "player.yaml"
    done = subprocess.run(
        [sys.executable, "-m", "signage", "install-kiosk", "--dry-run",
         "--user", "signage-test-nobody", "--config", str(config)],
        capture_output=True, text=True, timeout=60, check=False, cwd=REPO,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    out = done.stdout
    assert "would" in out
    assert "useradd --system" in out and "signage-test-nobody" in out
    assert f"write the config template {config}" in out
    assert "/var/cache/signage" in out
    assert "systemctl enable signage-kiosk.service" in out
    assert f"play --config {config}" in out  # says what the screen will run
    assert not config.exists()
    assert not Path("/etc/systemd/system/signage-kiosk.service").exists()


def test_plan_keeps_an_existing_user_and_config(tmp_path: Path) -> None:
    config = tmp_path / "player.yaml"
    config.write_text("screen: kept\n")
    steps = plan_install(
        user="signage",
        config=config,
        template=UNIT.read_text(),
        command="/usr/bin/signage",
        user_exists=lambda _user: True,
    )
    said = [s.says for s in steps]
    assert "keep the existing user signage" in said
    assert f"keep the existing config {config}" in said
    assert not any("useradd" in s for s in said)


def test_staged_install_writes_the_files(tmp_path: Path) -> None:
    stage = tmp_path / "image"
    done = subprocess.run(
        [sys.executable, "-m", "signage", "install-kiosk", "--destdir", str(stage),
         "--screen", "sala-1"],
        capture_output=True, text=True, timeout=60, check=False, cwd=REPO,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    unit = stage / "etc/systemd/system/signage-kiosk.service"
    assert "Type=notify" in unit.read_text()
    cfg = parse_config(yaml.safe_load((stage / "etc/signage/player.yaml").read_text()), "x")
    assert cfg.screen == "sala-1"
    assert (stage / "var/cache/signage").is_dir()
    # a second run keeps the edited config
    (stage / "etc/signage/player.yaml").write_text("screen: edited\n")
    again = subprocess.run(
        [sys.executable, "-m", "signage", "install-kiosk", "--destdir", str(stage)],
        capture_output=True, text=True, timeout=60, check=False, cwd=REPO,
    )  # fmt: skip
    assert again.returncode == 0
    assert (stage / "etc/signage/player.yaml").read_text() == "screen: edited\n"


def test_bad_user_name_is_a_usage_error() -> None:
    done = subprocess.run(
        [sys.executable, "-m", "signage", "install-kiosk", "--dry-run", "--user", "../x"],
        capture_output=True, text=True, timeout=60, check=False, cwd=REPO,
    )  # fmt: skip
    assert done.returncode == 2
    assert "plain user name" in done.stderr
    assert "Traceback" not in done.stderr


def test_unit_template_is_found_from_the_package() -> None:
    assert unit_template() == UNIT
