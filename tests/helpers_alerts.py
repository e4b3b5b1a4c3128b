"""Shared helpers for the alert tests: Alerts built from the model, a headless player run."""

from __future__ import annotations

import json
import os
import signal
import subprocess
import sys
import time
from collections.abc import Callable, Iterator, Sequence
from contextlib import contextmanager
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

from signage.model import Alert, AlertStatus, AlertText, Severity

NOW = datetime(2026, 11, 28, 19, 41, tzinfo=UTC)  # sábado 28 de noviembre, 14:41 in Bogotá


def make_alert(
    alert_id: str = "a1",
    *,
    severity: Severity = Severity.SEVERE,
    headline: str = "Correo institucional fuera de servicio",
    sent: datetime = NOW,
    lifetime: timedelta = timedelta(hours=4),
    status: AlertStatus = AlertStatus.ACTUAL,
    tags: frozenset[str] | None = None,
    status_url: str | None = None,
    texts: tuple[AlertText, ...] | None = None,
) -> Alert:
    return Alert(
        id=alert_id,
        severity=severity,
        texts=texts
        or (
            AlertText(
                "es",
                headline,
                "El servicio de correo no está disponible.",
                "Use el chat de soporte.",
            ),
        ),
        sender="oai@alcaldia.example.gov.co",
        sent=sent,
        expires=sent + lifetime,
        status=status,
        tags=tags,
        status_url=status_url,
    )


# --------------------------------------------------------------------------- end to end
# A headless player as a subprocess, and waits on its proof-of-play log (alert tests and
# bench/alert_latency.py share these).

REPO = Path(__file__).resolve().parents[1]


def signage_env() -> dict[str, str]:
    env = dict(os.environ)
    env["PYTHONPATH"] = str(REPO) + os.pathsep + env.get("PYTHONPATH", "")
    env["QT_QPA_PLATFORM"] = "offscreen"
    env.setdefault("QTWEBENGINE_DISABLE_SANDBOX", "1")
    env.setdefault("PYTHONUNBUFFERED", "1")
    return env


def read_log(path: Path) -> list[dict[str, Any]]:
    if not path.exists():
        return []
    out = []
    for line in path.read_text(encoding="utf-8").splitlines():
        try:
            out.append(json.loads(line))
        except json.JSONDecodeError:
            continue
    return out


def wait_event(
    path: Path,
    match: Callable[[dict[str, Any]], bool],
    timeout: float,
    proc: subprocess.Popen[str] | None = None,
    poll_s: float = 0.01,
) -> dict[str, Any]:
    """The first event in the log matching ``match``; AssertionError after ``timeout`` s."""
    deadline = time.monotonic() + timeout
    while True:
        for event in read_log(path):
            if match(event):
                return event
        if proc is not None and proc.poll() is not None:
            raise AssertionError(f"the player exited ({proc.returncode}) before the event came")
        if time.monotonic() > deadline:
            seen = [e["event"] for e in read_log(path)]
            raise AssertionError(f"no matching event within {timeout}s; log has {seen}")
        time.sleep(poll_s)


def event_time(event: dict[str, Any]) -> float:
    """The event's ``ts`` as a Unix time (same clock as ``time.time()`` here)."""
    from datetime import datetime

    return datetime.fromisoformat(event["ts"].replace("Z", "+00:00")).timestamp()


@contextmanager
def run_player(
    args: Sequence[str], *, events: Path, snapshots: Path | None = None, size: str = "960x540",
    for_s: float = 120.0, stderr: Path | None = None, env: dict[str, str] | None = None,
) -> Iterator[subprocess.Popen[str]]:  # fmt: skip
    """``signage play --headless`` as a subprocess; waits for ``started``; always stopped.

    ``env`` replaces the environment (default ``signage_env()``): the libfaketime tests pass
    one with the clock shifted.
    """
    cmd = [sys.executable, "-m", "signage", "play", "--headless", "--size", size,
           "--events", str(events), "--for", str(for_s), *args]  # fmt: skip
    if snapshots is not None:
        cmd += ["--snapshots", str(snapshots)]
    err_path = stderr or events.with_suffix(".stderr.log")
    with err_path.open("w", encoding="utf-8") as err:
        proc = subprocess.Popen(
            cmd, stdout=subprocess.DEVNULL, stderr=err, text=True,
            env=signage_env() if env is None else env, cwd=str(REPO),
        )  # fmt: skip
    try:
        wait_event(events, lambda e: e["event"] == "started", 60, proc)
        yield proc
    finally:
        if proc.poll() is None:
            proc.send_signal(signal.SIGTERM)
            try:
                proc.wait(timeout=10)
            except subprocess.TimeoutExpired:
                proc.kill()
                proc.wait(timeout=5)


def signage_cli(*args: str, timeout: float = 60) -> subprocess.CompletedProcess[str]:
    """``python -m signage ARGS`` with the repository on the path."""
    return subprocess.run(
        [sys.executable, "-m", "signage", *args], capture_output=True, text=True,
        env=signage_env(), cwd=str(REPO), timeout=timeout, check=False,
    )  # fmt: skip
