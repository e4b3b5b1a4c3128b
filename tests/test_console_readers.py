"""The hub's read endpoints (screens, screenshots, report) behind a sign-in, against a real hub:
401 for anybody, 403 for the screens' own token, 200 for a viewer session or the admin token,
and the screens' and the public's endpoints (feed, push, /q/, /healthz) still open."""

from __future__ import annotations

from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from tests.helpers_console import add_user, sign_in
from tests.helpers_hub import RunningHub, make_content_root, run_hub

READS = ("/api/v1/screens", "/api/v1/screens/lobby-1/screenshot", "/api/v1/report?since=1d")


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[RunningHub]:
    data = tmp_path / "hubdata"
    data.mkdir()
    add_user(data, "vic", "viewer")
    root = make_content_root(tmp_path / "root")
    with run_hub(
        language="es", data=data, root=root, screen_token="screen-token-0123456789"
    ) as running:
        yield running


def test_read_endpoints_need_a_viewer_or_the_admin_token(hub: RunningHub) -> None:
    beat = {"screen": "lobby-1", "version": 1, "uptime_s": 3}
    r = requests.post(hub.url + "/api/v1/heartbeat", json=beat, headers=hub.screen_auth, timeout=5)
    assert r.status_code == 200, r.text
    for path in READS:
        anonymous = requests.get(hub.url + path, timeout=5)
        assert anonymous.status_code == 401, (path, anonymous.status_code)
        screen = requests.get(hub.url + path, headers=hub.screen_auth, timeout=5)
        assert screen.status_code == 403, (path, screen.status_code)
        wrong = requests.get(hub.url + path, headers={"Authorization": "Bearer nope"}, timeout=5)
        assert wrong.status_code == 401, path
    admin = requests.get(hub.url + "/api/v1/screens", headers=hub.auth, timeout=5)
    assert admin.status_code == 200 and admin.json()[0]["screen"] == "lobby-1"
    viewer, _ = sign_in(hub.url, "vic")
    assert viewer.get(hub.url + "/api/v1/screens", timeout=5).json()[0]["screen"] == "lobby-1"
    report = viewer.get(hub.url + "/api/v1/report", params={"since": "1d"}, timeout=5)
    assert report.status_code == 200 and "plays" in report.json()


def test_the_public_and_the_screens_endpoints_stay_open(hub: RunningHub) -> None:
    assert requests.get(hub.url + "/healthz", timeout=5).status_code == 200
    assert requests.get(hub.url + "/feed.json", timeout=5).status_code == 200
    assert requests.get(hub.url + "/feed.json.sig", timeout=5).status_code == 200
    with requests.get(hub.url + "/api/v1/push", stream=True, timeout=5) as push:
        assert push.status_code == 200
    scan = requests.get(hub.url + "/q/no-such-code", allow_redirects=False, timeout=5)
    assert scan.status_code not in (401, 403)
