"""The hub behind Debian's nginx with TLS and docs/nginx/signage-hub.conf, as an office runs it.

A certificate authority made by the test signs nginx's certificate; a headless player
trusts it through `ca_file` and reaches the hub only through nginx over https: it syncs,
and an alert raised through the proxy arrives by push (polling set to a minute, so only
push can explain a fast arrival). The hub believes forwarded headers from the proxy's
address only (`--forwarded-allow-ips`): nginx connects from 127.0.0.2, everything the test
sends straight to the hub comes from 127.0.0.1, and a forged `X-Forwarded-For` or
`X-Forwarded-Proto` from there changes nothing.
"""

from __future__ import annotations

import contextlib
import os
import re
import shutil
import socket
import subprocess
import sys
import time
from collections.abc import Iterator
from dataclasses import dataclass
from pathlib import Path

import pytest
import requests

from tests.helpers_alerts import event_time, run_player, wait_event
from tests.helpers_console import PASSWORD, add_user
from tests.helpers_feed import nginx_available
from tests.helpers_hub import (
    REPO,
    RunningHub,
    hub_env,
    make_content_root,
    run_hub,
    stop_process,
)
from tests.helpers_tls import TestCA as OrgCA
from tests.helpers_tls import make_ca, server_cert

pytestmark = [
    pytest.mark.nginx,
    pytest.mark.skipif(not nginx_available(), reason="Debian's nginx is not installed"),
]

SNIPPET = REPO / "docs" / "nginx" / "signage-hub.conf"
PROXY_ADDR = "127.0.0.2"  # nginx's source address towards the hub (proxy_bind)
SCREEN_TOKEN = "screen-token-abcdef0123456789"


@dataclass(frozen=True)
class Proxy:
    url: str  # https://127.0.0.1:PORT (no trailing slash)
    access_log: Path
    error_log: Path


def _free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


@contextlib.contextmanager
def run_tls_proxy(hub_port: int, ca: OrgCA, work: Path) -> Iterator[Proxy]:
    """nginx with TLS on a free loopback port, including the documented snippet."""
    work.mkdir(parents=True, exist_ok=True)
    cert_path, key_path = server_cert(work / "cert", ca)
    snippet = SNIPPET.read_text(encoding="utf-8")
    assert "127.0.0.1:8750" in snippet  # the documented upstream, rewritten to this hub
    (work / "signage-hub.conf").write_text(
        snippet.replace("127.0.0.1:8750", f"127.0.0.1:{hub_port}"), encoding="utf-8"
    )
    exe = shutil.which("nginx") or "/usr/sbin/nginx"
    user = "user root;" if os.geteuid() == 0 else ""
    port = _free_port()
    conf = work / "nginx.conf"
    conf.write_text(
        f"""
{user}
worker_processes 1;
pid {work}/nginx.pid;
error_log {work}/error.log warn;
events {{ worker_connections 512; }}
http {{
    access_log {work}/access.log;
    client_body_temp_path {work}/client_body;
    proxy_temp_path {work}/proxy;
    fastcgi_temp_path {work}/fastcgi;
    uwsgi_temp_path {work}/uwsgi;
    scgi_temp_path {work}/scgi;
    server {{
        listen 127.0.0.1:{port} ssl;
        server_name localhost;
        ssl_certificate {cert_path};
        ssl_certificate_key {key_path};
        proxy_bind {PROXY_ADDR};
        include {work}/signage-hub.conf;
    }}
}}
""",
        encoding="utf-8",
    )
    proc = subprocess.Popen(
        [exe, "-p", str(work), "-c", str(conf), "-g", "daemon off;"],
        stdout=subprocess.DEVNULL,
        stderr=subprocess.PIPE,
    )
    deadline = time.monotonic() + 10
    while True:
        with contextlib.suppress(OSError), socket.create_connection(("127.0.0.1", port), 0.2):
            break
        if proc.poll() is not None or time.monotonic() > deadline:
            proc.kill()
            _, err = proc.communicate(timeout=5)
            raise AssertionError(f"nginx did not start: {err.decode(errors='replace')}")
        time.sleep(0.05)
    try:
        yield Proxy(f"https://127.0.0.1:{port}", work / "access.log", work / "error.log")
    finally:
        stop_process(proc)
        if proc.stderr is not None:
            proc.stderr.close()


def _port(hub: RunningHub) -> int:
    return int(hub.url.rsplit(":", 1)[1])


def _client_addresses(hub: RunningHub, path: str) -> list[str]:
    """The client addresses uvicorn's access log (on stdout) gave to requests of ``path``."""
    pattern = re.compile(r"(\d+\.\d+\.\d+\.\d+):\d+ - \"GET " + re.escape(path) + " ")
    return pattern.findall("\n".join(hub.stdout_lines))


@pytest.fixture
def ca(tmp_path: Path) -> OrgCA:
    return make_ca(tmp_path / "ca")


@pytest.mark.qt
@pytest.mark.slow
def test_player_syncs_and_gets_an_alert_by_push_through_nginx_with_tls(
    tmp_path: Path, ca: OrgCA
) -> None:
    root = make_content_root(tmp_path / "root")
    shutil.copytree(REPO / "playlists" / "alerts", root / "playlists" / "alerts")
    with (
        run_hub(
            data=tmp_path / "hubdata",
            root=root,
            screen_token=SCREEN_TOKEN,
            extra_args=["--forwarded-allow-ips", PROXY_ADDR, "--keepalive", "2"],
        ) as hub,
        run_tls_proxy(_port(hub), ca, tmp_path / "nginx") as proxy,
    ):
        # Without the organisation's CA the proxy's certificate is not trusted.
        with pytest.raises(requests.exceptions.SSLError):
            requests.get(proxy.url + "/healthz", timeout=5)
        assert requests.get(proxy.url + "/healthz", verify=str(ca.pem), timeout=5).ok
        hsts = requests.get(proxy.url + "/healthz", verify=str(ca.pem), timeout=5).headers
        assert hsts["Strict-Transport-Security"].startswith("max-age=")

        token_file = tmp_path / "screen.token"
        token_file.write_text(SCREEN_TOKEN + "\n", encoding="utf-8")
        token_file.chmod(0o600)
        config = tmp_path / "player.yaml"
        config.write_text(
            f"screen: recepcion-tls\nfeed: {proxy.url}/\npubkey: {hub.pubkey}\n"
            f"cache: {tmp_path / 'cache'}\npoll: 60\nca_file: {ca.pem}\n"
            f"hub_token_file: {token_file}\n",
            encoding="utf-8",
        )
        events = tmp_path / "events.jsonl"
        with run_player(["--config", str(config)], events=events, size="640x360") as player:
            wait_event(events, lambda e: e["event"] == "slide_shown", 60, player)
            # The push channel is open through the proxy before the alert goes out (nginx
            # logs a request when it ends, so the hub's list of channels is asked instead).
            deadline = time.monotonic() + 20
            while (
                requests.get(hub.url + "/api/v1/feed", timeout=5).json().get("subscribers", 0) < 1
            ):
                assert time.monotonic() < deadline, "the player never opened push via nginx"
                time.sleep(0.1)
            raised = requests.post(
                proxy.url + "/api/v1/alerts",
                json={
                    "template": "interrupcion-servicio",
                    "variables": {"sistema": "Correo institucional", "hora_retorno": "16:00"},
                },
                headers=hub.auth,
                verify=str(ca.pem),
                timeout=10,
            )
            assert raised.status_code in (200, 201), raised.text
            sent_at = time.time()
            shown = wait_event(events, lambda e: e["event"] == "alert_shown", 10, player)
            assert event_time(shown) - sent_at <= 1.0, "the alert did not come by push"

            # Heartbeats and proof of play went through the proxy too, with the screen token.
            deadline = time.monotonic() + 40
            while "POST /api/v1/heartbeat" not in proxy.access_log.read_text(encoding="utf-8"):
                assert time.monotonic() < deadline, "no heartbeat reached the hub via nginx"
                time.sleep(0.2)
            screens = requests.get(
                proxy.url + "/api/v1/screens", headers=hub.auth, verify=str(ca.pem), timeout=5
            ).json()
            assert "recepcion-tls" in str(screens)


def _sign_in(url: str, verify: str | bool, headers: dict[str, str]) -> requests.Response:
    """A console sign-in as ``ana``; the answer that sets the session cookie."""
    session = requests.Session()  # verify per request: an environment bundle beats the session's
    session.cookies.set("signage_lang", "es")  # the console in Spanish: CONTRACT.md's labels
    page = session.get(url + "/console/entrar", verify=verify, timeout=10)
    assert page.status_code == 200 and ">Contraseña<" in page.text
    pre = re.search(r'name="pre" value="([^"]+)"', page.text)
    assert pre is not None
    return session.post(
        url + "/console/entrar",
        data={"pre": pre.group(1), "usuario": "ana", "contrasena": PASSWORD},
        headers=headers,
        verify=verify,
        timeout=30,
        allow_redirects=False,
    )


def test_forwarded_headers_are_believed_from_the_proxy_only(tmp_path: Path, ca: OrgCA) -> None:
    root = make_content_root(tmp_path / "root")
    add_user(tmp_path / "hubdata", "ana", "editor")
    with (
        run_hub(
            data=tmp_path / "hubdata",
            root=root,
            extra_args=[
                *("--forwarded-allow-ips", PROXY_ADDR),
                *("--access-log", "--log-level", "info"),
            ],
        ) as hub,
        run_tls_proxy(_port(hub), ca, tmp_path / "nginx") as proxy,
    ):
        forged = {"X-Forwarded-For": "203.0.113.9", "X-Forwarded-Proto": "https"}
        # Straight to the hub from 127.0.0.1 (not a proxy): the forged headers are ignored.
        assert requests.get(hub.url + "/healthz?direct", headers=forged, timeout=5).ok
        # Through nginx: nginx replaces X-Forwarded-For with the address it saw, and the hub
        # believes it (the connection comes from 127.0.0.2, the allowed proxy).
        assert requests.get(
            proxy.url + "/healthz?proxied", headers=forged, verify=str(ca.pem), timeout=5
        ).ok
        time.sleep(0.3)
        assert _client_addresses(hub, "/healthz?direct") == ["127.0.0.1"]
        assert _client_addresses(hub, "/healthz?proxied") == ["127.0.0.1"]
        assert "203.0.113.9" not in "\n".join(hub.stdout_lines) + hub.stderr()
        # The console through the proxy: its session cookie is Secure. Straight to the hub
        # with a forged X-Forwarded-Proto from a non-proxy address: it is not.
        proxied = _sign_in(proxy.url, str(ca.pem), {})
        assert proxied.status_code == 303, proxied.text
        assert "Secure" in proxied.headers["set-cookie"]
        direct = _sign_in(hub.url, True, {"X-Forwarded-Proto": "https"})
        assert direct.status_code == 303, direct.text
        assert "Secure" not in direct.headers["set-cookie"]


def test_without_the_flag_forwarded_headers_are_ignored_even_from_loopback(
    tmp_path: Path, ca: OrgCA
) -> None:
    root = make_content_root(tmp_path / "root")
    with (
        run_hub(
            data=tmp_path / "hubdata",
            root=root,
            extra_args=["--access-log", "--log-level", "info"],
        ) as hub,
        run_tls_proxy(_port(hub), ca, tmp_path / "nginx") as proxy,
    ):
        # uvicorn alone would trust 127.0.0.1; the hub does not unless told.
        forged = {"X-Forwarded-For": "203.0.113.9"}
        assert requests.get(hub.url + "/healthz?direct", headers=forged, timeout=5).ok
        assert requests.get(proxy.url + "/healthz?proxied", verify=str(ca.pem), timeout=5).ok
        time.sleep(0.3)
        assert _client_addresses(hub, "/healthz?direct") == ["127.0.0.1"]
        # The proxy's own address, since its headers are not believed.
        assert _client_addresses(hub, "/healthz?proxied") == [PROXY_ADDR]


def test_forwarded_allow_ips_is_checked(tmp_path: Path) -> None:
    root = make_content_root(tmp_path / "root")
    result = subprocess.run(
        [
            *(sys.executable, "-m", "signage", "serve", "--root", str(root), "--port", "0"),
            *("--data", str(tmp_path / "data"), "--forwarded-allow-ips", "nginx.local"),
        ],
        capture_output=True,
        text=True,
        timeout=60,
        cwd=str(REPO),
        env=hub_env(),
        check=False,
    )
    assert result.returncode == 2, result.stderr
    assert "'nginx.local' is not an address or network" in result.stderr
    assert "Traceback" not in result.stderr
