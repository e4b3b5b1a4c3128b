"""The hub's alert room through a real ``signage serve`` subprocess and the real CLI.

Each write must land in the signed feed (the manifest's ``alerts``), so the tests read
``/feed.json`` and check its signature the way screens do. One hub serves the module (its
start-up is the slow part); every test starts by clearing all alerts.
"""

from __future__ import annotations

import json
import os
import shutil
import subprocess
import sys
import threading
from collections.abc import Iterator
from functools import partial
from http.server import SimpleHTTPRequestHandler, ThreadingHTTPServer
from pathlib import Path
from typing import Any

import pytest
import requests
import xmlschema

from signage.alerts.cap import cap_alert_id
from signage.feed.signing import verify
from tests.helpers_hub import REPO, RunningHub, hub_env, make_content_root, run_hub

DATA = Path(__file__).parent / "data" / "cap"


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningHub]:
    base = tmp_path_factory.mktemp("alerthub")
    root = make_content_root(base / "root")
    with run_hub(data=base / "data", root=root) as running:
        yield running


@pytest.fixture
def clean(hub: RunningHub) -> RunningHub:
    r = requests.delete(hub.url + "/api/v1/alerts", headers=hub.auth, timeout=10)
    assert r.status_code == 200, r.text
    return hub


def feed_alerts(hub: RunningHub) -> tuple[int, list[dict[str, Any]]]:
    """The alerts in the signed feed as a screen would read it (signature checked)."""
    manifest = requests.get(hub.url + "/feed.json", timeout=10).content
    signature = requests.get(hub.url + "/feed.json.sig", timeout=10).text
    assert hub.pubkey is not None
    verify(manifest, signature.strip(), hub.pubkey)
    doc = json.loads(manifest)
    return int(doc["version"]), list(doc.get("alerts", []))


def cli(*args: str, stdin: bytes | None = None) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "signage", "alert", *args],
        capture_output=True,
        text=True,
        env=hub_env(),
        cwd=str(REPO),
        timeout=60,
        check=False,
    )


def test_raise_from_the_cli_lands_in_the_signed_feed_and_clear_removes_it(
    clean: RunningHub,
) -> None:
    hub = clean
    before, _ = feed_alerts(hub)
    done = cli(
        "raise", "--hub", hub.url, "--token-file", str(hub.token_file),
        "--template", "interrupcion-servicio",
        "--set", "sistema=Correo institucional", "--set", "hora_retorno=16:00",
        "--tags", "lobby",
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    alert_id = done.stdout.strip()
    assert alert_id.startswith("interrupcion-servicio-")
    version, alerts = feed_alerts(hub)
    assert version > before
    assert [a["id"] for a in alerts] == [alert_id]
    assert alerts[0]["texts"][0]["headline"] == "Correo institucional no está disponible"
    assert alerts[0]["tags"] == ["lobby"]
    listed = cli("list", "--hub", hub.url)
    assert alert_id in listed.stdout and "Severe" in listed.stdout
    cleared = cli("clear", "--hub", hub.url, "--token-file", str(hub.token_file), alert_id)
    assert cleared.returncode == 0, cleared.stderr
    after, alerts = feed_alerts(hub)
    assert after > version
    assert alerts == []


def test_cli_refusals_are_messages_not_tracebacks(clean: RunningHub) -> None:
    hub = clean
    token = ["--hub", hub.url, "--token-file", str(hub.token_file)]
    unknown = cli("raise", *token, "--template", "interupcion-servicio", "--set", "sistema=x")
    assert unknown.returncode == 1
    assert "did you mean 'interrupcion-servicio'" in unknown.stderr
    missing = cli("raise", *token, "--template", "interrupcion-servicio", "--set", "sistema=x")
    assert missing.returncode == 1
    assert "needs 'hora_retorno'" in missing.stderr
    no_token = cli("raise", "--hub", hub.url, "--template", "servicio-restablecido")
    assert no_token.returncode == 2
    assert "--token-file" in no_token.stderr
    gone = cli("clear", *token, "no-such-alert")
    assert gone.returncode == 1
    assert "no alert 'no-such-alert'" in gone.stderr
    for result in (unknown, missing, no_token, gone):
        assert "Traceback" not in result.stderr
    assert feed_alerts(hub)[1] == []


def test_writes_need_the_token_and_reads_do_not(clean: RunningHub) -> None:
    hub = clean
    body = {"template": "servicio-restablecido", "variables": {"sistema": "SIGEP"}}
    assert requests.post(hub.url + "/api/v1/alerts", json=body, timeout=10).status_code == 401
    wrong = {"Authorization": "Bearer wrong"}
    for method, path in [("POST", "/api/v1/alerts/cap"), ("DELETE", "/api/v1/alerts"),
                         ("POST", "/api/v1/alerts/alertmanager")]:  # fmt: skip
        r = requests.request(method, hub.url + path, headers=wrong, data=b"{}", timeout=10)
        assert r.status_code == 401, (path, r.status_code)
    assert requests.get(hub.url + "/api/v1/alerts", timeout=10).json()["alerts"] == []


def test_full_alert_json_and_bad_requests(clean: RunningHub) -> None:
    hub = clean
    url = hub.url + "/api/v1/alerts"
    r = requests.post(url, headers=hub.auth, data=b"{not json", timeout=10)
    assert r.status_code == 400 and "not JSON" in r.json()["error"]
    r = requests.post(url, headers=hub.auth, json={"template": "servicio-restablecido",
                                                   "variables": {"sistema": "x"}, "expires": "0s"},
                      timeout=10)  # fmt: skip
    assert r.status_code == 422 and "expiry" in r.json()["error"]
    alert = {
        "id": "manual-1", "severity": "Extreme", "status": "Actual", "sender": "oai",
        "sent": "2026-01-01T00:00:00Z", "expires": "2099-01-01T00:00:00Z", "tags": None,
        "status_url": None, "template": None,
        "texts": [{"language": "es", "headline": "Evacuación del piso 3"}],
    }  # fmt: skip
    r = requests.post(url, headers=hub.auth, json={"alert": alert}, timeout=10)
    assert r.status_code == 201, r.text
    assert [a["id"] for a in feed_alerts(hub)[1]] == ["manual-1"]
    assert requests.get(url + "/manual-1", timeout=10).json()["severity"] == "Extreme"
    assert requests.get(url + "/nope", timeout=10).status_code == 404


def test_cap_alert_update_cancel_through_the_hub(clean: RunningHub, tmp_path: Path) -> None:
    hub = clean
    url = hub.url + "/api/v1/alerts/cap"
    # The sample is dated 2026-11-28 14:41 -05:00 and expires 18:00: give it a far expiry so
    # the test does not depend on today's date.
    xml = (DATA / "alerta-es-en.xml").read_bytes().replace(b"2026-11-28T18:00", b"2099-11-28T18:00")
    first = requests.post(url, headers=hub.auth, data=xml, timeout=10)
    assert first.status_code == 200, first.text
    assert first.json()["action"] == "raised"
    ids = [a["id"] for a in feed_alerts(hub)[1]]
    assert ids == [cap_alert_id("oai@alcaldia.example.gov.co", "OAI-2026-0042")]
    update = (
        (DATA / "actualizacion.xml").read_bytes().replace(b"2026-11-28T18:00", b"2099-11-28T18:00")
    )
    assert (
        requests.post(url, headers=hub.auth, data=update, timeout=10).json()["action"] == "updated"
    )
    _, alerts = feed_alerts(hub)
    assert [a["texts"][0]["headline"] for a in alerts] == ["Correo institucional: servicio parcial"]
    cancel = requests.post(
        url, headers=hub.auth, data=(DATA / "cancelacion.xml").read_bytes(), timeout=10
    )
    assert cancel.json()["action"] == "cancelled"
    assert feed_alerts(hub)[1] == []
    stranger = (DATA / "cancelacion-desconocida.xml").read_bytes()
    unknown = requests.post(url, headers=hub.auth, data=stranger, timeout=10)
    assert unknown.status_code == 422 and "never raised here" in unknown.json()["error"]
    bomb = requests.post(
        url, headers=hub.auth, data=(DATA / "billion-laughs.xml").read_bytes(), timeout=10
    )
    assert bomb.status_code == 422 and "DTD or entities" in bomb.json()["error"]
    # the CLI path to the same endpoint
    path = tmp_path / "a.xml"
    path.write_bytes(xml)
    done = cli("import-cap", "--hub", hub.url, "--token-file", str(hub.token_file), str(path))
    assert done.returncode == 0 and done.stdout.startswith("raised cap-OAI-2026-0042-"), done.stderr


def test_export_cap_from_the_hub_validates(clean: RunningHub, tmp_path: Path) -> None:
    hub = clean
    body = {"template": "ciberataque-phishing", "variables": {"asunto": "Su nómina & bonos"},
            "exercise": True}  # fmt: skip
    alert_id = requests.post(
        hub.url + "/api/v1/alerts", headers=hub.auth, json=body, timeout=10
    ).json()["id"]
    out = tmp_path / "alert.xml"
    done = cli("export-cap", "--hub", hub.url, alert_id, "--out", str(out))
    assert done.returncode == 0, done.stderr
    schema = xmlschema.XMLSchema(str(DATA / "CAP-v1.2.xsd"))
    schema.validate(out.read_text(encoding="utf-8"))
    text = out.read_text(encoding="utf-8")
    assert "<category>Security</category>" in text and "<status>Exercise</status>" in text


def webhook(
    status: str, fingerprint: str, labels: dict[str, str], annotations: dict[str, str]
) -> dict[str, Any]:
    return {
        "version": "4", "groupKey": "{}:{}", "truncatedAlerts": 0, "status": status,
        "receiver": "signage", "groupLabels": {}, "commonLabels": labels,
        "commonAnnotations": annotations, "externalURL": "http://alertmanager:9093",
        "alerts": [{
            "status": status, "labels": labels, "annotations": annotations,
            "startsAt": "2026-11-28T19:40:00Z", "endsAt": "0001-01-01T00:00:00Z",
            "generatorURL": "http://prometheus:9090/graph", "fingerprint": fingerprint,
        }],
    }  # fmt: skip


def test_alertmanager_firing_raises_and_resolved_clears(clean: RunningHub) -> None:
    hub = clean
    url = hub.url + "/api/v1/alerts/alertmanager"
    labels = {"alertname": "CorreoCaido", "severity": "critical", "instance": "mail01"}
    annotations = {"hora_retorno": "17:30", "summary": "SMTP down"}
    r = requests.post(
        url, headers=hub.auth, json=webhook("firing", "4f1c2a9e", labels, annotations), timeout=10
    )
    assert r.status_code == 200, r.text
    assert r.json()["raised"] == ["am-4f1c2a9e"]
    _, alerts = feed_alerts(hub)
    assert [a["id"] for a in alerts] == ["am-4f1c2a9e"]
    assert alerts[0]["severity"] == "Extreme"  # label severity=critical
    assert alerts[0]["texts"][0]["headline"] == "El correo institucional no está disponible"
    assert "17:30" in alerts[0]["texts"][0]["description"]  # from the annotation
    # a resend of the same alert keeps one alert with the same id
    again = requests.post(
        url, headers=hub.auth, json=webhook("firing", "4f1c2a9e", labels, annotations), timeout=10
    )
    assert again.json()["raised"] == ["am-4f1c2a9e"]
    assert len(feed_alerts(hub)[1]) == 1
    # an alert no rule maps is skipped and said so
    disk = webhook("firing", "77", {"alertname": "DiskFull"}, {})
    other = requests.post(url, headers=hub.auth, json=disk, timeout=10)
    assert other.json()["raised"] == [] and "DiskFull" in other.json()["skipped"][0]
    # signage_template label, variables from labels
    direct = webhook("firing", "88", {"alertname": "X", "signage_template": "servicio-restablecido",
                                      "sistema": "SIGEP", "signage_tags": "lobby"}, {})  # fmt: skip
    assert requests.post(url, headers=hub.auth, json=direct, timeout=10).json()["raised"] == [
        "am-88"
    ]
    resolved = requests.post(
        url, headers=hub.auth, json=webhook("resolved", "4f1c2a9e", labels, annotations), timeout=10
    )
    assert resolved.json()["cleared"] == ["am-4f1c2a9e"]
    assert [a["id"] for a in feed_alerts(hub)[1]] == ["am-88"]
    bad = requests.post(url, headers=hub.auth, json={"version": "3", "alerts": []}, timeout=10)
    assert bad.status_code == 422


class _QuietHandler(SimpleHTTPRequestHandler):
    """A plain static web server (any host can serve a feed) that keeps the test log clean."""

    def log_message(self, format: str, *args: Any) -> None:
        pass


def test_an_alert_injected_into_the_feed_without_resigning_is_refused_by_sync(
    clean: RunningHub, tmp_path: Path
) -> None:
    hub = clean
    feed = tmp_path / "feed"
    shutil.copytree(hub.feed_dir, feed)
    handler = partial(_QuietHandler, directory=str(feed))
    server = ThreadingHTTPServer(("127.0.0.1", 0), handler)
    thread = threading.Thread(target=server.serve_forever, daemon=True)
    thread.start()
    try:
        url = f"http://127.0.0.1:{server.server_address[1]}/feed.json"
        cache = tmp_path / "cache"
        sync = [sys.executable, "-m", "signage", "sync", "--feed", url, "--cache", str(cache),
                "--pubkey", str(hub.pubkey), "--once", "--json"]  # fmt: skip
        first = subprocess.run(
            sync, capture_output=True, text=True, env=hub_env(), timeout=60, check=False
        )
        assert json.loads(first.stdout)["status"] == "updated", first.stderr
        doc = json.loads((feed / "feed.json").read_bytes())
        doc["version"] += 1
        doc["alerts"] = [{
            "id": "falsa", "severity": "Extreme", "status": "Actual", "sender": "intruso",
            "sent": "2026-01-01T00:00:00Z", "expires": "2099-01-01T00:00:00Z", "tags": None,
            "status_url": None, "template": None,
            "texts": [{"language": "es", "headline": "Evacúen el edificio"}],
        }]  # fmt: skip
        (feed / "feed.json").write_text(json.dumps(doc), encoding="utf-8")
        later = (feed / "feed.json").stat().st_mtime + 60  # past If-Modified-Since's 1 s grain
        os.utime(feed / "feed.json", (later, later))
        second = subprocess.run(
            sync, capture_output=True, text=True, env=hub_env(), timeout=60, check=False
        )
        result = json.loads(second.stdout)
        assert second.returncode == 1
        assert result["status"] == "rejected"
        assert "signature" in result["reason"]
    finally:
        server.shutdown()
        server.server_close()
        thread.join(timeout=5)


def test_a_hub_serving_a_feed_published_elsewhere_adds_alerts_signed(tmp_path: Path) -> None:
    root = make_content_root(tmp_path / "root")
    key = tmp_path / "publisher.pem"
    pubkey = cli_any("keygen", "--out", str(key)).stdout.strip()
    feed = tmp_path / "feed"
    published = cli_any("publish", "--root", str(root), "--out", str(feed), "--key", str(key))
    assert published.returncode == 0, published.stderr
    with run_hub(data=tmp_path / "data", feed=feed, key=key) as hub:
        body = {"template": "servicio-restablecido", "variables": {"sistema": "SIGEP"}}
        r = requests.post(hub.url + "/api/v1/alerts", headers=hub.auth, json=body, timeout=10)
        assert r.status_code == 201, r.text
        manifest = requests.get(hub.url + "/feed.json", timeout=10).content
        signature = requests.get(hub.url + "/feed.json.sig", timeout=10).text.strip()
        verify(manifest, signature, pubkey)  # signed with the publisher's key screens pin
        assert [a["id"] for a in json.loads(manifest)["alerts"]] == [r.json()["id"]]
    assert not (feed / "alerts").exists()  # the upstream folder is never written


def test_a_hub_without_a_key_refuses_alerts_clearly(tmp_path: Path) -> None:
    root = make_content_root(tmp_path / "root")
    key = tmp_path / "publisher.pem"
    cli_any("keygen", "--out", str(key))
    feed = tmp_path / "feed"
    cli_any("publish", "--root", str(root), "--out", str(feed), "--key", str(key))
    with run_hub(data=tmp_path / "data", feed=feed) as hub:
        body = {"template": "servicio-restablecido", "variables": {"sistema": "SIGEP"}}
        r = requests.post(hub.url + "/api/v1/alerts", headers=hub.auth, json=body, timeout=10)
        assert r.status_code == 409
        assert "--key" in r.json()["error"]
        assert requests.get(hub.url + "/api/v1/alerts", timeout=10).json()["alerts"] == []


def cli_any(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "signage", *args], capture_output=True, text=True,
        env=hub_env(), cwd=str(REPO), timeout=60, check=False,
    )  # fmt: skip
