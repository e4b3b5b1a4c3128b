"""The organisation's CA (``ca_file``): read and checked with the configuration, trusted by
sync and asset downloads in addition to the system store, refused when it is not the
signer. A real HTTPS feed server with a CA made by the test."""

from __future__ import annotations

import os
import subprocess
import sys
from datetime import UTC, datetime
from functools import partial
from pathlib import Path

import pytest

from signage.config import parse_config
from signage.errors import ConfigError
from signage.feed.publish import publish
from signage.feed.store import Store
from signage.feed.sync import SyncClient
from signage.trust import bundle_for, bundle_path, chain_problem, system_bundle
from tests.helpers_feed import make_keypair, make_root
from tests.helpers_tls import https_server, make_ca, server_cert


def _static(folder: Path) -> dict[str, object]:
    routes: dict[str, object] = {}
    for path in folder.rglob("*"):
        if path.is_file():
            data = path.read_bytes()
            routes["/" + path.relative_to(folder).as_posix()] = lambda h, d=data: (
                200,
                {"Content-Type": "application/octet-stream"},
                d,
            )
    return routes


def test_sync_trusts_ca_file_in_addition_to_the_system_store(tmp_path):
    ca = make_ca(tmp_path / "ca")
    keys = make_keypair(tmp_path)
    feed = tmp_path / "feed"
    publish(make_root(tmp_path / "root"), feed, keys.key, now=datetime.now(UTC))
    with https_server(server_cert(tmp_path / "srv", ca), _static(feed)) as (port, _):
        url = f"https://127.0.0.1:{port}/feed.json"
        plain = SyncClient(url, Store(tmp_path / "c1"), keys.pubkey, workers=1)
        refused = plain.sync_once(datetime.now(UTC))
        assert not refused.ok and "certificate" in refused.reason.lower(), refused
        bundle = bundle_path(ca.pem, tmp_path / "c2")
        trusted = SyncClient(url, Store(tmp_path / "c2"), keys.pubkey, ca_bundle=str(bundle))
        result = trusted.sync_once(datetime.now(UTC))
        assert result.status == "updated", result
        assert result.assets_downloaded == 3  # the assets came over the same trust
        cli = [sys.executable, "-m", "signage", "sync", "--once", "--feed", url, "--pubkey"]
        cli += [keys.pubkey, "--cache", str(tmp_path / "c3")]
        env = {**os.environ, "PYTHONPATH": str(Path(__file__).parents[1])}
        run = partial(subprocess.run, capture_output=True, text=True, timeout=120, env=env)
        refused_cli = run([*cli, "--timeout", "5"], check=False)
        assert refused_cli.returncode == 1 and "not trusted" in refused_cli.stderr
        synced = run([*cli, "--ca-file", str(ca.pem)], check=False)
        assert synced.returncode == 0, synced.stderr
        assert synced.stdout.startswith("updated: version")
        junk = tmp_path / "junk.pem"
        junk.write_text("hola", "utf-8")
        bad = run([*cli, "--ca-file", str(junk)], check=False)
        assert bad.returncode != 0 and "no PEM certificate" in bad.stderr
        assert "Traceback" not in bad.stderr
    # the bundle keeps the system's CAs: ca_file adds, never replaces
    system = system_bundle()
    assert system is not None and bundle.read_bytes().startswith(system.read_bytes().rstrip())
    assert bundle.read_bytes().rstrip().endswith(ca.pem.read_bytes().rstrip())


def test_heartbeats_and_plays_trust_ca_file_too(tmp_path):
    from signage.telemetry.heartbeat import Heartbeat
    from signage.telemetry.uplink import uplink_for

    ca = make_ca(tmp_path / "ca")
    ok = {"/api/v1/heartbeat": (204, ""), "/api/v1/events": (200, "{}")}
    with https_server(server_cert(tmp_path / "srv", ca), ok) as (port, seen):
        hub = f"https://127.0.0.1:{port}"
        config = parse_config(
            {"hub": hub, "ca_file": str(ca.pem), "cache": str(tmp_path / "cache")},
            str(tmp_path / "player.yaml"),
        )
        plain = Heartbeat(hub, "s1", ())
        assert not plain.beat()  # the system store alone does not know the CA
        trusted = Heartbeat(hub, "s1", (), ca_bundle=bundle_for(config))
        assert trusted.beat()
        plain.stop()
        trusted.stop()
        uplink = uplink_for(config)
        assert uplink is not None and uplink._post([{"event": "slide_shown"}])
        uplink.stop()
    assert seen.count("/api/v1/heartbeat") == 1 and "/api/v1/events" in seen


def test_chain_checks_name_dates_and_signer(tmp_path):
    from cryptography import x509
    from cryptography.hazmat.primitives.serialization import Encoding

    ca, other = make_ca(tmp_path / "a"), make_ca(tmp_path / "b", "Otra")
    leaf = x509.load_pem_x509_certificate(server_cert(tmp_path / "s", ca)[0].read_bytes())
    der = [leaf.public_bytes(Encoding.DER)]
    now = datetime.now(UTC)
    assert chain_problem(der, "127.0.0.1", [ca.cert], now) is None
    assert chain_problem(der, "localhost", [ca.cert], now) is None
    assert chain_problem(der, "intranet.example", [ca.cert], now) is not None  # wrong name
    assert chain_problem(der, "127.0.0.1", [other.cert], now) is not None  # wrong signer
    late = datetime(2099, 1, 1, tzinfo=UTC)
    assert chain_problem(der, "127.0.0.1", [ca.cert], late) is not None  # expired


def test_ca_file_is_checked_when_the_configuration_is_read(tmp_path):
    ca = make_ca(tmp_path / "ca")
    where = str(tmp_path / "player.yaml")
    assert parse_config({"ca_file": str(ca.pem)}, where).ca_file == ca.pem
    relative = parse_config({"ca_file": "ca/" + ca.pem.name}, where)
    assert relative.ca_file == ca.pem  # relative to the configuration file
    with pytest.raises(ConfigError, match=r"ca_file .*cannot read"):
        parse_config({"ca_file": str(tmp_path / "nada.pem")}, where)
    junk = tmp_path / "junk.pem"
    junk.write_text("hola\n", "utf-8")
    with pytest.raises(ConfigError, match="no PEM certificate"):
        parse_config({"ca_file": str(junk)}, where)
