"""``signage install-kiosk`` compiles the package's bytecode: the unit runs the player with
the code read-only and ``PYTHONDONTWRITEBYTECODE=1``, so without ``.pyc`` files (an editable
install, a copied checkout) every start would compile the ~45 modules it loads again
(~70 ms of a ~190 ms restart here; issue 17.2)."""

from __future__ import annotations

import os
import shutil
import subprocess
import sys
from pathlib import Path

from signage.kiosk.install import Step, package_dir, plan_install

REPO = Path(__file__).resolve().parents[1]
UNIT = REPO / "kiosk.service"


def plan(tmp_path: Path, package: Path | None = None) -> list[Step]:
    return plan_install(
        user="signage",
        config=tmp_path / "etc" / "player.yaml",
        template=UNIT.read_text(encoding="utf-8"),
        command="/usr/local/bin/signage",
        user_exists=lambda _user: True,
        time_sync=lambda: "systemd-timesyncd.service",
        package=package,
    )


def test_the_installed_package_is_compiled_and_a_read_only_start_reads_it(tmp_path: Path) -> None:
    copy = tmp_path / "site" / "signage"
    shutil.copytree(package_dir(), copy, ignore=shutil.ignore_patterns("__pycache__"))
    assert not list(copy.rglob("*.pyc"))
    steps = [s for s in plan(tmp_path, copy) if "compileall" in s.says]
    assert len(steps) == 1
    assert str(copy) in steps[0].says  # --dry-run says what it compiles
    steps[0].run()
    assert (copy / "player" / "__pycache__").is_dir()
    # the player's start, as the unit runs it: no bytecode written, the compiled one read
    env = {**os.environ, "PYTHONPATH": str(copy.parent), "PYTHONDONTWRITEBYTECODE": "1"}
    done = subprocess.run(
        [sys.executable, "-v", "-c", "import signage.model, signage.config"],
        env=env,
        cwd=tmp_path,
        capture_output=True,
        text=True,
        timeout=60,
        check=True,
    )
    read = [line for line in done.stderr.splitlines() if line.startswith("# code object from")]
    for module in ("model", "config", "errors"):
        assert any(f"{copy}/__pycache__/{module}." in line for line in read), module


def test_a_staged_image_compiles_nothing(tmp_path: Path) -> None:
    steps = plan_install(
        config=Path("/etc/signage/player.yaml"),
        destdir=tmp_path / "image",
        template=UNIT.read_text(encoding="utf-8"),
        command="/usr/local/bin/signage",
    )
    assert not [s for s in steps if "compileall" in s.says]  # the image's builder installs it
