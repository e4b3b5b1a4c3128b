"""The worst day, with real processes: the hub dies, an alert still reaches the screen.

Two nginx mirrors (docs/nginx/signage-feed.conf): A written by the hub itself
(``signage serve --mirror A``), B kept by ``signage mirror --from HUB --to B``. One headless
player (``signage play``) lists the hub, A and B in ``feed:`` and pins an alerts-only key.
The hub is killed; ``signage alert raise --feed-dir A --key alerts.pem`` puts an alert on
the screen (``alert_shown``); mirror B turns hostile (an older version, one re-signed by
another key, a manifest paired with another version's signature, a playlist change signed
with the alerts-only key, an alerts document carrying a playlist): nothing changes on
screen. The hub comes back on the same port: it takes in the alert, publishes a newer
version carrying it, the screen moves to it with the alert still up; no version goes back.
"""

from __future__ import annotations

import contextlib
import json
import shutil
import socket
import time
from pathlib import Path
from typing import Any

import pytest
import requests

from signage.feed import signing
from tests.helpers_alerts import read_log, run_player, signage_cli, wait_event
from tests.helpers_console import add_user, sign_in
from tests.helpers_feed import make_keypair, nginx_available, run_nginx
from tests.helpers_hub import make_content_root, run_hub

pytestmark = [
    pytest.mark.nginx,
    pytest.mark.slow,
    pytest.mark.skipif(not nginx_available(), reason="Debian's nginx is not installed"),
]

POLL_S = 1.0


def free_port() -> int:
    with socket.socket() as s:
        s.bind(("127.0.0.1", 0))
        return int(s.getsockname()[1])


def applied(events: Path) -> list[dict[str, Any]]:
    return [e for e in read_log(events) if e["event"] == "feed_applied"]


def served_version(folder: Path) -> int:
    return int(json.loads((folder / "feed.json").read_bytes())["version"])


def wait_served(folder: Path, version: int, timeout: float = 10.0) -> int:
    """The version ``folder`` serves once it is ``version`` (the hub writes its mirrors just
    after it announces a version), or what it serves at the timeout."""
    deadline = time.monotonic() + timeout
    while served_version(folder) != version and time.monotonic() < deadline:
        time.sleep(0.02)
    return served_version(folder)


def test_hub_down_emergency_alert_hostile_mirror_and_hub_back(tmp_path: Path) -> None:
    feed_key = make_keypair(tmp_path / "keys", "hub.pem")
    alerts_key = make_keypair(tmp_path / "keys", "alerts.pem")
    root = make_content_root(tmp_path / "root")
    mirror_a, mirror_b = tmp_path / "mirror-a", tmp_path / "mirror-b"
    mirror_a.mkdir()
    mirror_b.mkdir()
    port = free_port()
    hub_args = [
        "--port", str(port), "--mirror", str(mirror_a), "--alert-key", alerts_key.pubkey,
    ]  # fmt: skip
    events = tmp_path / "events.jsonl"
    with contextlib.ExitStack() as stack:
        nginx_a = stack.enter_context(run_nginx(mirror_a, tmp_path / "nginx-a"))
        nginx_b = stack.enter_context(run_nginx(mirror_b, tmp_path / "nginx-b"))
        (tmp_path / "data").mkdir(exist_ok=True)
        add_user(tmp_path / "data", "vic", "viewer")  # the fleet list needs a sign-in
        hub_cm = run_hub(data=tmp_path / "data", root=root, key=feed_key.path, token=None,
                         extra_args=hub_args)  # fmt: skip
        hub = hub_cm.__enter__()
        viewer, _ = sign_in(hub.url, "vic")
        v1 = hub.version()
        assert served_version(mirror_a) == v1  # the hub wrote its version into mirror A
        pulled = signage_cli("mirror", "--from", hub.url + "/", "--to", str(mirror_b),
                             "--pubkey", feed_key.pubkey, "--once")  # fmt: skip
        assert pulled.returncode == 0, pulled.stderr
        assert f"mirrored version {v1}" in pulled.stdout
        assert served_version(mirror_b) == v1
        config = tmp_path / "player.yaml"
        config.write_text(
            f"screen: recepcion\nfeed: [{hub.url}/, {nginx_a.url}, {nginx_b.url}]\n"
            f"pubkey: {feed_key.pubkey}\nalert_keys: [{alerts_key.pubkey}]\n"
            f"cache: {tmp_path / 'cache'}\npoll: {POLL_S}\n",
            encoding="utf-8",
        )
        player = stack.enter_context(
            run_player(["--config", str(config)], events=events, for_s=180)
        )
        wait_event(events, lambda e: e["event"] == "feed_applied", 30, player)
        assert applied(events)[0]["version"] == v1
        # The heartbeat says which source the screen used.
        deadline = time.monotonic() + 20
        while True:
            rows = viewer.get(hub.url + "/api/v1/screens", timeout=5).json()
            if rows and rows[0].get("feed_source"):
                break
            assert time.monotonic() < deadline, rows
            time.sleep(0.2)
        assert rows[0]["feed_source"] == hub.url + "/"
        saved_v1 = tmp_path / "saved-v1"
        shutil.copytree(mirror_b, saved_v1, ignore=shutil.ignore_patterns(".*"))
        # One more version before the crisis, so that v1 is an older one to replay.
        lobby = root / "playlists" / "lobby.yaml"
        lobby.write_text(lobby.read_text("utf-8").replace("Lobby de prueba", "Lobby"), "utf-8")
        v1b = hub.wait_version(v1)
        wait_event(
            events, lambda e: e["event"] == "feed_applied" and e["version"] == v1b, 30, player
        )
        assert wait_served(mirror_a, v1b) == v1b
        signage_cli("mirror", "--from", hub.url + "/", "--to", str(mirror_b),
                    "--pubkey", feed_key.pubkey, "--once")  # fmt: skip
        assert served_version(mirror_b) == v1b

        # ---- the hub dies (process gone, port closed)
        hub_cm.__exit__(None, None, None)
        with pytest.raises(requests.ConnectionError):
            requests.get(hub.url + "/healthz", timeout=2)
        raised = signage_cli(
            "alert", "raise", "--feed-dir", str(mirror_a), "--key", str(alerts_key.path),
            "--template", "interrupcion-servicio", "--set", "sistema=Correo institucional",
            "--set", "hora_retorno=16:00",
        )  # fmt: skip
        assert raised.returncode == 0, raised.stderr
        alert_id = raised.stdout.strip().splitlines()[0]
        start = time.monotonic()
        shown = wait_event(
            events, lambda e: e["event"] == "alert_shown" and e["alert"] == alert_id, 30, player
        )
        assert time.monotonic() - start < POLL_S + 10  # generous: the box is shared
        assert "Correo institucional" in shown["headline"]

        # ---- mirror B turns hostile; each attempt changes nothing on screen
        other = make_keypair(tmp_path / "keys", "other.pem")
        current = json.loads((mirror_b / "feed.json").read_bytes())

        def serve_b(doc: dict[str, Any], key: signing.Ed25519PrivateKey) -> None:
            body = json.dumps(doc).encode()
            (mirror_b / "feed.json.sig").write_text(signing.sign(body, key))
            (mirror_b / "feed.json").write_bytes(body)

        renamed = json.loads(json.dumps(current))
        renamed["version"] += 1000
        renamed["playlists"][0]["name"] = "Tomado por otro"
        serve_b(renamed, other.key)  # re-signed by another key
        time.sleep(3 * POLL_S)
        serve_b(renamed, alerts_key.key)  # a playlist change signed by the alerts-only key
        time.sleep(3 * POLL_S)
        (mirror_b / "feed.json").write_bytes(json.dumps(renamed).encode())
        shutil.copy(saved_v1 / "feed.json.sig", mirror_b / "feed.json.sig")  # mixed pair
        time.sleep(3 * POLL_S)
        shutil.copy(saved_v1 / "feed.json.sig", mirror_b / "feed.json.sig")
        shutil.copy(saved_v1 / "feed.json", mirror_b / "feed.json")  # older: v1 < v1b
        sneaky = json.loads((mirror_a / "alerts.json").read_bytes())
        sneaky["serial"] += 1
        sneaky["playlists"] = renamed["playlists"]
        body = json.dumps(sneaky).encode()
        (mirror_b / "alerts.json.sig").write_text(signing.sign(body, alerts_key.key))
        (mirror_b / "alerts.json").write_bytes(body)
        wait_event(events, lambda e: e["event"] == "alerts_rejected", 15, player)
        time.sleep(2 * POLL_S)
        log = read_log(events)
        assert [e["version"] for e in applied(events)] == [v1, v1b]
        refused = [e for e in log if e["event"] == "feed_rejected"]
        down = [e for e in refused if e["reason"].startswith("failed")]
        assert down and all(e["source"] == hub.url + "/" for e in down)  # the hub is gone
        attacks = [e for e in refused if e["reason"].startswith("rejected")]
        # (one event per distinct reason: the three bad pairs all fail the signature)
        assert attacks and all(e["source"] == nginx_b.url for e in attacks)
        assert not [e for e in log if e["event"] == "alert_cleared"]
        rejected_doc = next(e for e in log if e["event"] == "alerts_rejected")
        assert "'playlists' is not allowed" in rejected_doc["reason"]

        # ---- the hub comes back on its port: it takes the alert in, nothing goes back
        again = run_hub(data=tmp_path / "data", root=root, key=feed_key.path, token=None,
                        extra_args=hub_args)  # fmt: skip
        hub2 = stack.enter_context(again)
        v2 = hub2.version()
        assert v2 > v1b
        alerts_now = requests.get(hub2.url + "/api/v1/alerts", timeout=5).json()["alerts"]
        assert [a["id"] for a in alerts_now] == [alert_id]
        wait_event(
            events, lambda e: e["event"] == "feed_applied" and e["version"] == v2, 90, player
        )
        time.sleep(2 * POLL_S)
        versions = [e["version"] for e in applied(events)]
        assert versions == sorted(versions) and versions[-1] == v2
        assert not [e for e in read_log(events) if e["event"] == "alert_cleared"]
        assert wait_served(mirror_a, v2) == v2


def test_a_running_hub_takes_in_alerts_raised_into_its_mirror(tmp_path: Path) -> None:
    """A hub that was cut off but not stopped: what was raised into its mirror meanwhile is
    taken in within seconds and published in a newer version (and a clear there clears)."""
    from datetime import UTC, datetime

    from signage.feed.emergency import write_alerts
    from tests.helpers_alerts import make_alert

    feed_key = make_keypair(tmp_path / "keys", "hub.pem")
    alerts_key = make_keypair(tmp_path / "keys", "alerts.pem")
    mirror = tmp_path / "mirror"
    args = ["--mirror", str(mirror), "--alert-key", alerts_key.pubkey]
    with run_hub(data=tmp_path / "data", root=make_content_root(tmp_path / "root"),
                 key=feed_key.path, extra_args=args) as hub:  # fmt: skip
        v1 = hub.version()
        now = datetime.now(UTC)
        write_alerts(mirror, alerts_key.key, now, add=[make_alert("corte-red", sent=now)])
        v2 = hub.wait_version(v1, timeout=20)
        ids = [
            a["id"] for a in requests.get(hub.url + "/api/v1/alerts", timeout=5).json()["alerts"]
        ]
        assert ids == ["corte-red"]
        assert wait_served(mirror, v2) == v2  # the mirror carries the hub's new version
        assert [a["id"] for a in json.loads((mirror / "feed.json").read_bytes())["alerts"]] == [
            "corte-red"
        ]
        write_alerts(mirror, alerts_key.key, datetime.now(UTC), clear=["corte-red"])
        hub.wait_version(v2, timeout=20)
        assert requests.get(hub.url + "/api/v1/alerts", timeout=5).json()["alerts"] == []
