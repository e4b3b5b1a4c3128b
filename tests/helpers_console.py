"""Test helpers for the console: accounts made with the real CLI, sign-in with requests."""

from __future__ import annotations

import re
import subprocess
import sys
from pathlib import Path

import requests

from tests.helpers_hub import REPO, hub_env

PASSWORD = "clave-segura-123"

CHROMIUM = "/usr/bin/chromium"
CHROMIUM_ARGS = [
    "--no-sandbox",
    "--disable-gpu",
    "--disable-background-networking",
    "--disable-component-update",
]


def add_user(data: Path, name: str, role: str, password: str = PASSWORD) -> None:
    """``signage user add NAME --role ROLE --data DATA`` with the password on stdin."""
    done = subprocess.run(
        [sys.executable, "-m", "signage", "user", "add", name, "--role", role, "--data", str(data)],
        input=password + "\n",
        capture_output=True,
        text=True,
        env=hub_env(),
        cwd=str(REPO),
        timeout=60,
        check=False,
    )
    assert done.returncode == 0, done.stderr


def sign_in(url: str, name: str, password: str = PASSWORD) -> tuple[requests.Session, str]:
    """A requests session signed in to the console, and its CSRF token."""
    session = requests.Session()
    page = session.get(url + "/console/entrar", timeout=10)
    pre = re.search(r'name="pre" value="([^"]+)"', page.text)
    assert pre is not None, page.text
    r = session.post(
        url + "/console/entrar",
        data={"pre": pre.group(1), "usuario": name, "contrasena": password},
        timeout=30,
    )
    assert r.status_code == 200 and r.url.endswith("/console/listas"), (r.status_code, r.text)
    listas = session.get(url + "/console/listas", timeout=10)
    csrf = re.search(r'name="csrf" value="([^"]+)"', listas.text)
    assert csrf is not None
    return session, csrf.group(1)


def try_sign_in(url: str, name: str, password: str) -> requests.Response:
    session = requests.Session()
    page = session.get(url + "/console/entrar", timeout=10)
    pre = re.search(r'name="pre" value="([^"]+)"', page.text)
    assert pre is not None
    return session.post(
        url + "/console/entrar",
        data={"pre": pre.group(1), "usuario": name, "contrasena": password},
        timeout=30,
        allow_redirects=False,
    )


def start_player(config: Path, events: Path, err: Path, for_s: float) -> subprocess.Popen[bytes]:
    """``signage play --config CONFIG --headless`` (640x360) writing ``events``; the caller
    stops it (``stop_process``)."""
    env = hub_env()
    env["QT_QPA_PLATFORM"] = "offscreen"
    env.setdefault("QTWEBENGINE_DISABLE_SANDBOX", "1")
    with err.open("w") as stream:
        return subprocess.Popen(
            [
                *(sys.executable, "-m", "signage", "play", "--config", str(config)),
                *("--headless", "--size", "640x360", "--events", str(events)),
                *("--for", str(for_s)),
            ],
            stdout=subprocess.DEVNULL,
            stderr=stream,
            env=env,
            cwd=str(REPO),
        )
