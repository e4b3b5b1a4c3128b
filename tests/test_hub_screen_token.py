"""The screen token: screens report with it, and it opens nothing else on the hub.

A real ``signage serve`` subprocess started with ``--token-file`` (admin) and
``--screen-token-file`` (screens): heartbeats and proof-of-play take either token; alerts,
republish and every other admin write refuse the screen token with a 403 that says what
it is. Start-up refuses identical tokens and unusable files with a message. A real
headless player holding only the screen token shows up online in ``signage status`` and
its proof-of-play reaches the hub's report.
"""

from __future__ import annotations

import json
import logging
import subprocess
import sys
import time
import uuid
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import Any

import pytest
import requests
import yaml
from starlette.exceptions import HTTPException
from starlette.requests import Request

from signage.config import parse_config
from signage.events import rfc3339_ms
from signage.hub.auth import check_bearer, check_screen_bearer
from signage.hub.state import HubConfig
from signage.kiosk.install import config_template
from signage.logs import ErrorTally
from signage.telemetry.heartbeat import Heartbeat
from signage.telemetry.uplink import EventUplink
from signage.telemetry.wire import HeartbeatReport
from tests.helpers_hub import REPO, RunningHub, hub_env, make_content_root, run_hub, stop_process

ADMIN = "admin-token-0123456789"
SCREEN = "screen-token-9876543210"
HINT = "no --screen-token-file"


def _request(authorization: str | None) -> Request:
    headers = [] if authorization is None else [(b"authorization", authorization.encode())]
    return Request({"type": "http", "method": "POST", "path": "/", "headers": headers})


def _refusal(check: Any, *args: Any) -> tuple[int, str] | None:
    try:
        check(*args)
    except HTTPException as exc:
        return exc.status_code, exc.detail
    return None


# ----------------------------------------------------------------------- the pure guards


def test_screen_guard_takes_either_token_and_nothing_else() -> None:
    assert _refusal(check_screen_bearer, _request(f"Bearer {SCREEN}"), ADMIN, SCREEN) is None
    assert _refusal(check_screen_bearer, _request(f"bearer {ADMIN}"), ADMIN, SCREEN) is None
    wrong = _refusal(check_screen_bearer, _request(f"Bearer {SCREEN}x"), ADMIN, SCREEN)
    assert wrong == (401, "wrong bearer token")
    missing = _refusal(check_screen_bearer, _request(None), ADMIN, SCREEN)
    assert missing is not None and missing[0] == 401 and "missing" in missing[1]
    # only a screen token: the admin token is not configured, so nothing else opens it
    assert _refusal(check_screen_bearer, _request(f"Bearer {SCREEN}"), None, SCREEN) is None
    assert _refusal(check_screen_bearer, _request(f"Bearer {ADMIN}"), None, SCREEN) is not None
    # no screen token: the admin token only, as before the screen token existed
    assert _refusal(check_screen_bearer, _request(f"Bearer {ADMIN}"), ADMIN, None) is None
    assert _refusal(check_screen_bearer, _request(f"Bearer {SCREEN}"), ADMIN, None) is not None
    # a hub with no token at all has no secret to share: screens report without one
    assert _refusal(check_screen_bearer, _request(None), None, None) is None


def test_admin_guard_refuses_the_screen_token_saying_what_it_is() -> None:
    assert _refusal(check_bearer, _request(f"Bearer {ADMIN}"), ADMIN, SCREEN) is None
    refused = _refusal(check_bearer, _request(f"Bearer {SCREEN}"), ADMIN, SCREEN)
    assert refused is not None and refused[0] == 403
    assert "screen token" in refused[1] and "--token-file" in refused[1]
    # without a screen token configured, a guess is simply wrong
    assert _refusal(check_bearer, _request(f"Bearer {SCREEN}"), ADMIN, None) == (
        401,
        "wrong bearer token",
    )
    disabled = _refusal(check_bearer, _request(f"Bearer {SCREEN}"), None, SCREEN)
    assert disabled is not None and disabled[0] == 403 and "disabled" in disabled[1]


def test_hub_config_repr_hides_both_tokens(tmp_path: Path) -> None:
    config = HubConfig(feed_dir=tmp_path, data_dir=tmp_path, token=ADMIN, screen_token=SCREEN)
    assert config.screen_token == SCREEN
    assert ADMIN not in repr(config) and SCREEN not in repr(config)


# --------------------------------------------------------------------- a real hub


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[RunningHub]:
    root = make_content_root(tmp_path / "root")
    with run_hub(data=tmp_path / "hubdata", root=root, token=ADMIN, screen_token=SCREEN) as h:
        yield h


def _bearer(token: str) -> dict[str, str]:
    return {"Authorization": f"Bearer {token}"}


def _event(screen: str, slide: str) -> dict[str, Any]:
    return {
        "eid": uuid.uuid4().hex,
        "ts": rfc3339_ms(datetime.now(UTC) - timedelta(minutes=5)),
        "event": "slide_shown",
        "screen": screen,
        "playlist": "lobby",
        "slide": slide,
    }


def _screens(hub: RunningHub) -> dict[str, dict[str, Any]]:
    r = requests.get(hub.url + "/api/v1/screens", headers=hub.auth, timeout=5)
    r.raise_for_status()
    body = r.json()
    rows = body["screens"] if isinstance(body, dict) else body
    return {row["screen"]: row for row in rows}


def _plays(hub: RunningHub) -> dict[tuple[str, str], int]:
    r = requests.get(
        hub.url + "/api/v1/report", params={"since": "1d"}, headers=hub.auth, timeout=5
    )
    r.raise_for_status()
    return {(p["screen"], p["slide"]): p["count"] for p in r.json()["plays"]}


def test_heartbeats_and_events_take_the_screen_token_and_the_admin_token(
    hub: RunningHub,
) -> None:
    for name, token in (("pantalla-screen", SCREEN), ("pantalla-admin", ADMIN)):
        beat = Heartbeat(hub.url, name, token=token, tally=ErrorTally())
        try:
            assert beat.beat() is True
        finally:
            beat.stop()
    for token in ("", "otro-token", SCREEN + ADMIN):
        report = HeartbeatReport(screen="intruso", sent=datetime.now(UTC))
        headers = _bearer(token) if token else {}
        r = requests.post(
            hub.url + "/api/v1/heartbeat", json=report.to_json(), headers=headers, timeout=5
        )
        assert r.status_code == 401, r.text
        assert r.headers["www-authenticate"].startswith("Bearer")
    assert set(_screens(hub)) == {"pantalla-screen", "pantalla-admin"}

    url = hub.url + "/api/v1/events"
    by_screen = [_event("pantalla-screen", "bienvenida") for _ in range(2)]
    by_admin = [_event("pantalla-admin", "bienvenida")]
    r = requests.post(url, json={"events": by_screen}, headers=_bearer(SCREEN), timeout=5)
    assert r.status_code == 200 and r.json()["accepted"] == 2
    r = requests.post(url, json={"events": by_admin}, headers=_bearer(ADMIN), timeout=5)
    assert r.status_code == 200 and r.json()["accepted"] == 1
    r = requests.post(url, json={"events": [_event("x", "y")]}, headers=_bearer("no"), timeout=5)
    assert r.status_code == 401
    r = requests.post(url, json={"events": [_event("x", "y")]}, timeout=5)
    assert r.status_code == 401
    assert _plays(hub) == {
        ("pantalla-screen", "bienvenida"): 2,
        ("pantalla-admin", "bienvenida"): 1,
    }
    assert HINT not in hub.stderr()  # this hub has a screen token: no hint


def _wait(predicate: Any, what: str, timeout: float = 20.0) -> None:
    deadline = time.monotonic() + timeout
    while not predicate():
        if time.monotonic() > deadline:
            raise AssertionError(f"timed out waiting for {what}")
        time.sleep(0.05)


def test_a_screen_with_a_wrong_token_is_told_what_to_fix_and_loses_nothing(
    hub: RunningHub, tmp_path: Path, caplog: pytest.LogCaptureFixture
) -> None:
    beat = Heartbeat(hub.url, "mal-configurada", token="token-de-otro-hub", tally=ErrorTally())
    with caplog.at_level(logging.WARNING, logger="signage.kiosk"):
        try:
            assert beat.beat() is False
        finally:
            beat.stop()
    refused = [r.getMessage() for r in caplog.records if "refused the heartbeat" in r.getMessage()]
    assert refused and "HTTP 401" in refused[0] and "--screen-token-file" in refused[0]

    spool = tmp_path / "spool"
    fast: dict[str, Any] = {"flush_s": 0.05, "backoff_s": 0.05, "max_backoff_s": 0.3}
    wrong = EventUplink(hub.url, "token-de-otro-hub", spool, screen="sala-3", **fast)
    wrong.start()
    try:
        for _ in range(3):
            wrong.offer(_event("sala-3", "bienvenida"))
        _wait(lambda: wrong.stats().last_error is not None, "the uplink refused")
    finally:
        wrong.stop(last_send_s=0)
    reason = wrong.stats().last_error
    assert reason is not None and "401" in reason and "--screen-token-file" in reason
    assert _plays(hub) == {}
    # fixed: the same spool, now with the screen token, delivers what was kept
    fixed = EventUplink(hub.url, SCREEN, spool, screen="sala-3", **fast)
    fixed.start()
    try:
        _wait(lambda: _plays(hub) == {("sala-3", "bienvenida"): 3}, "the kept events sent")
    finally:
        fixed.stop()


def test_the_screen_token_opens_no_admin_endpoint(hub: RunningHub) -> None:
    screen = _bearer(SCREEN)
    version = hub.version()
    raise_body = {"template": "servicio-restablecido", "variables": {"sistema": "SIGEP"}}
    attempts: list[tuple[str, str, dict[str, Any]]] = [
        ("POST", "/api/v1/alerts", {"json": raise_body}),
        ("DELETE", "/api/v1/alerts", {}),
        ("DELETE", "/api/v1/alerts/cualquiera", {}),
        ("POST", "/api/v1/alerts/cap", {"data": b"<alert/>"}),
        ("POST", "/api/v1/alerts/alertmanager", {"json": {"alerts": []}}),
        ("POST", "/api/v1/republish", {}),
    ]
    for method, path, body in attempts:
        r = requests.request(method, hub.url + path, headers=screen, timeout=10, **body)
        assert r.status_code == 403, (method, path, r.status_code, r.text)
        assert "screen token" in r.json()["error"], (method, path)
    assert requests.get(hub.url + "/api/v1/alerts", timeout=5).json()["alerts"] == []
    assert hub.version() == version  # nothing was signed by the refused attempts

    # the admin token still opens them all
    r = requests.post(
        hub.url + "/api/v1/alerts", json=raise_body, headers=_bearer(ADMIN), timeout=10
    )
    assert r.status_code == 201, r.text
    r = requests.delete(hub.url + "/api/v1/alerts", headers=_bearer(ADMIN), timeout=10)
    assert r.status_code == 200, r.text
    r = requests.post(hub.url + "/api/v1/republish", headers=_bearer(ADMIN), timeout=10)
    assert r.status_code == 200 and r.json()["version"] > version


def test_alert_cli_with_the_screen_token_says_which_token_it_needs(hub: RunningHub) -> None:
    assert hub.screen_token_file is not None
    done = subprocess.run(
        [sys.executable, "-m", "signage", "alert", "raise", "--hub", hub.url,
         "--token-file", str(hub.screen_token_file), "--template", "servicio-restablecido",
         "--set", "sistema=SIGEP"],
        capture_output=True, text=True, timeout=60, check=False, cwd=REPO, env=hub_env(),
    )  # fmt: skip
    assert done.returncode != 0
    assert "screen token" in done.stderr and "Traceback" not in done.stderr


def test_a_hub_without_a_screen_token_works_as_before_and_hints_once(tmp_path: Path) -> None:
    root = make_content_root(tmp_path / "root")
    with run_hub(data=tmp_path / "hubdata", root=root, token=ADMIN) as hub:
        beat = Heartbeat(hub.url, "antigua", token=ADMIN, tally=ErrorTally())
        try:
            assert beat.beat() is True
        finally:
            beat.stop()
        r = requests.post(
            hub.url + "/api/v1/events",
            json={"events": [_event("antigua", "bienvenida")]},
            headers=_bearer(ADMIN),
            timeout=5,
        )
        assert r.status_code == 200
        r = requests.post(hub.url + "/api/v1/republish", headers=_bearer(SCREEN), timeout=10)
        assert r.status_code == 401  # an unknown token is just wrong here
        assert hub.stderr().count(HINT) == 1
        assert "antigua" in _screens(hub)


# ------------------------------------------------------------------ start-up refusals


def _serve(tmp_path: Path, *flags: str) -> subprocess.CompletedProcess[str]:
    root = make_content_root(tmp_path / "root")
    return subprocess.run(
        [sys.executable, "-m", "signage", "serve", "--root", str(root), "--port", "0",
         "--data", str(tmp_path / "data"), *flags],
        capture_output=True, text=True, timeout=60, check=False, cwd=REPO, env=hub_env(),
    )  # fmt: skip


def _token_file(path: Path, text: str, mode: int = 0o600) -> Path:
    path.write_text(text, encoding="utf-8")
    path.chmod(mode)
    return path


def test_identical_tokens_are_refused_at_start(tmp_path: Path) -> None:
    admin = _token_file(tmp_path / "hub.token", ADMIN + "\n")
    same = _token_file(tmp_path / "screen.token", f"  {ADMIN}\n")  # same word, other spacing
    done = _serve(tmp_path, "--token-file", str(admin), "--screen-token-file", str(same))
    assert done.returncode == 2, done.stderr
    assert "--screen-token-file" in done.stderr and "same token" in done.stderr
    assert "Traceback" not in done.stderr
    assert "listening" not in done.stdout


@pytest.mark.parametrize(
    ("content", "needle"),
    [("", "the file is empty"), ("dos palabras\n", "one word"), (None, "cannot read it")],
)
def test_an_unusable_screen_token_file_is_a_message(
    tmp_path: Path, content: str | None, needle: str
) -> None:
    admin = _token_file(tmp_path / "hub.token", ADMIN)
    screen = tmp_path / "screen.token"
    if content is not None:
        _token_file(screen, content)
    done = _serve(tmp_path, "--token-file", str(admin), "--screen-token-file", str(screen))
    assert done.returncode == 2, done.stderr
    assert f"--screen-token-file {screen}" in done.stderr and needle in done.stderr
    assert "Traceback" not in done.stderr


def test_a_world_readable_screen_token_file_is_warned_about(tmp_path: Path) -> None:
    root = make_content_root(tmp_path / "root")
    with run_hub(data=tmp_path / "hubdata", root=root, token=ADMIN, screen_token=SCREEN) as hub:
        assert hub.screen_token_file is not None
        assert "can be read by other users" not in hub.stderr()  # the fixture writes 0600
    assert hub.screen_token_file is not None
    hub.screen_token_file.chmod(0o644)
    proc = subprocess.Popen(
        [sys.executable, "-m", "signage", "serve", "--root", str(root), "--port", "0",
         "--data", str(tmp_path / "hubdata"), "--token-file", str(hub.token_file),
         "--screen-token-file", str(hub.screen_token_file)],
        stdout=subprocess.PIPE, stderr=subprocess.PIPE, text=True, cwd=REPO, env=hub_env(),
    )  # fmt: skip
    try:
        assert proc.stdout is not None
        deadline = time.monotonic() + 30
        while time.monotonic() < deadline:  # the warning comes before "listening"
            line = proc.stdout.readline()
            if not line or line.startswith("signage hub listening"):
                break
    finally:
        stop_process(proc)
    assert proc.stderr is not None
    err = proc.stderr.read()
    proc.stdout.close()
    proc.stderr.close()
    assert f"--screen-token-file {hub.screen_token_file} can be read by other users" in err


# -------------------------------------------------------------- a real player reports


@pytest.mark.slow
@pytest.mark.qt
def test_a_player_holding_only_the_screen_token_is_seen_by_the_hub(tmp_path: Path) -> None:
    root = make_content_root(tmp_path / "root")
    with run_hub(data=tmp_path / "hubdata", root=root, token=ADMIN, screen_token=SCREEN) as hub:
        assert hub.pubkey and hub.screen_token_file
        config = tmp_path / "screen.yaml"
        config.write_text(
            json.dumps(
                {
                    "screen": "recepcion-1",
                    "tags": ["lobby"],
                    "feed": hub.url + "/feed.json",
                    "pubkey": hub.pubkey,
                    "cache": str(tmp_path / "cache"),
                    "hub": hub.url,
                    "hub_token_file": str(hub.screen_token_file),
                }
            ),
            encoding="utf-8",
        )
        env = hub_env() | {"QT_QPA_PLATFORM": "offscreen", "SIGNAGE_HEARTBEAT_S": "0.5"}
        for key in ("NOTIFY_SOCKET", "WATCHDOG_USEC", "WATCHDOG_PID"):
            env.pop(key, None)
        log_path = tmp_path / "player.log"
        with log_path.open("w") as log_file:
            player = subprocess.Popen(
                [sys.executable, "-m", "signage", "play", "--headless", "--size", "480x270",
                 "--config", str(config), "--for", "60"],
                env=env, cwd=REPO, stdout=subprocess.DEVNULL, stderr=log_file, text=True,
            )  # fmt: skip
        try:
            deadline = time.monotonic() + 45
            seen: dict[str, dict[str, Any]] = {}
            plays: dict[tuple[str, str], int] = {}
            while time.monotonic() < deadline:
                seen = _screens(hub)
                plays = _plays(hub)
                online = seen.get("recepcion-1", {}).get("online")
                if online and plays.get(("recepcion-1", "bienvenida")):
                    break
                time.sleep(0.3)
            else:
                raise AssertionError(
                    f"player not seen within 45 s: screens {seen}, plays {plays}\n"
                    + log_path.read_text(errors="replace")[-3000:]
                )
            status = subprocess.run(
                [sys.executable, "-m", "signage", "status", "--hub", hub.url,
                    "--token-file", str(hub.token_file)],
                capture_output=True, text=True, timeout=60, check=False, cwd=REPO,
                env=hub_env(),
            )  # fmt: skip
        finally:
            stop_process(player)
    assert status.returncode == 0, status.stderr
    row = next(line for line in status.stdout.splitlines() if line.startswith("recepcion-1"))
    assert "online" in row
    assert "refused" not in log_path.read_text(errors="replace")  # no 401 on any heartbeat


# ------------------------------------------------------------------- install-kiosk


def _install(*flags: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "signage", "install-kiosk", *flags],
        capture_output=True, text=True, timeout=60, check=False, cwd=REPO, env=hub_env(),
    )  # fmt: skip


def test_install_kiosk_installs_the_screen_token_and_names_it(tmp_path: Path) -> None:
    token = _token_file(tmp_path / "screen.token", SCREEN + "\n")
    stage = tmp_path / "image"
    done = _install("--destdir", str(stage), "--screen", "sala-1", "--screen-token", str(token))
    assert done.returncode == 0, done.stderr
    installed = stage / "etc/signage/screen.token"
    assert "install the hub's screen token as " + str(installed) in done.stdout
    assert installed.read_text() == SCREEN + "\n"
    assert installed.stat().st_mode & 0o777 == 0o640
    assert not list(installed.parent.glob(".*.tmp"))
    text = (stage / "etc/signage/player.yaml").read_text()
    cfg = parse_config(yaml.safe_load(text), "player.yaml")
    assert cfg.hub_token_file == Path("/etc/signage/screen.token")
    # a re-install with a new token replaces it and keeps the edited config
    (stage / "etc/signage/player.yaml").write_text("screen: editada\n")
    _token_file(token, "otro-" + SCREEN)
    again = _install("--destdir", str(stage), "--screen-token", str(token))
    assert again.returncode == 0, again.stderr
    assert installed.read_text() == f"otro-{SCREEN}\n"
    assert "it must say hub_token_file: /etc/signage/screen.token" in again.stdout
    assert (stage / "etc/signage/player.yaml").read_text() == "screen: editada\n"


def test_install_kiosk_without_a_token_leaves_it_commented(tmp_path: Path) -> None:
    text = config_template("sala-2", Path("/var/cache/signage"))
    line = next(ln for ln in text.splitlines() if "hub_token_file" in ln)
    assert line.startswith("# hub_token_file: /etc/signage/screen.token")
    assert "SCREEN token" in line
    done = _install("--destdir", str(tmp_path / "image"))
    assert done.returncode == 0, done.stderr
    assert not (tmp_path / "image/etc/signage/screen.token").exists()


def test_install_kiosk_refuses_an_unusable_token_file(tmp_path: Path) -> None:
    empty = _token_file(tmp_path / "vacio.token", "\n")
    done = _install("--dry-run", "--screen-token", str(empty))
    assert done.returncode == 2
    assert f"--screen-token {empty}: the file is empty" in done.stderr
    assert "Traceback" not in done.stderr
