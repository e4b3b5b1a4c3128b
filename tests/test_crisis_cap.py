"""CAP as an IT office uses it, through a real hub: audience, reach, and the CAP feed.

Two screens report to the hub (heartbeats: one internal office screen, one public hall
screen, both tagged lobby). ``signage alert import-cap --hub`` says how many screens will
show a message and, when none, why. ``GET /api/v1/alerts.atom`` is an Atom index whose
entries link one CAP message each, every one valid against the OASIS CAP 1.2 schema.
"""

from __future__ import annotations

import subprocess
import sys
from collections.abc import Iterator
from dataclasses import replace
from datetime import UTC, datetime, timedelta
from pathlib import Path

import defusedxml.ElementTree as SafeET
import feedparser
import pytest
import requests
import xmlschema

from signage.alerts.cap import cap_time
from signage.alerts.cap_feed import ATOM_NS
from signage.alerts.reach import ScreenFacts, reach
from signage.config import parse_config
from signage.errors import ConfigError
from signage.telemetry.wire import HeartbeatReport
from tests.helpers_alerts import make_alert
from tests.helpers_hub import REPO, RunningHub, hub_env, make_content_root, run_hub

DATA = Path(__file__).parent / "data" / "cap"


def cap_xml(
    identifier: str,
    *,
    scope: str = "Public",
    tags: str = "lobby",
    effective: datetime | None = None,
    restriction: str | None = None,
) -> bytes:
    """A CAP 1.2 Alert sent now, expiring in 4 h (the sample message with fresh times)."""
    now = datetime.now(UTC).replace(microsecond=0)
    text = (DATA / "alerta-es-en.xml").read_text(encoding="utf-8")
    text = text.replace("OAI-2026-0042", identifier)
    text = text.replace("2026-11-28T14:41:00-05:00", cap_time(now))
    ends = cap_time(now + timedelta(hours=4))
    text = text.replace(
        "<expires>2026-11-28T18:00:00-05:00</expires>", f"<expires>{ends}</expires>"
    )
    if effective is not None:
        text = text.replace("<expires>", f"<effective>{cap_time(effective)}</effective><expires>")
    extra = f"<restriction>{restriction}</restriction>" if restriction else ""
    text = text.replace("<scope>Public</scope>", f"<scope>{scope}</scope>{extra}")
    text = text.replace("<value>lobby,atencion</value>", f"<value>{tags}</value>")
    return text.encode("utf-8")


@pytest.fixture(scope="module")
def hub(tmp_path_factory: pytest.TempPathFactory) -> Iterator[RunningHub]:
    base = tmp_path_factory.mktemp("caphub")
    with run_hub(data=base / "data", root=make_content_root(base / "root")) as running:
        for screen, audience in (("oficina-1", "internal"), ("hall-1", "public")):
            report = HeartbeatReport(screen=screen, sent=datetime.now(UTC),
                                     tags=("lobby",), audience=audience)  # fmt: skip
            r = requests.post(running.url + "/api/v1/heartbeat", json=report.to_json(),
                              headers=running.auth, timeout=10)  # fmt: skip
            assert r.status_code // 100 == 2, r.text
        yield running


def import_cap(hub: RunningHub, xml: bytes) -> subprocess.CompletedProcess[str]:
    assert hub.token_file is not None
    return subprocess.run(
        [sys.executable, "-m", "signage", "alert", "import-cap", "--hub", hub.url,
         "--token-file", str(hub.token_file), "-"],
        input=xml.decode("utf-8"), capture_output=True, text=True, env=hub_env(),
        cwd=str(REPO), timeout=60, check=False,
    )  # fmt: skip


def test_audience_defaults_to_public_and_is_checked() -> None:
    assert parse_config({}, "p.yaml").audience == "public"
    assert parse_config({"audience": "internal"}, "p.yaml").screen_identity().audience == (
        "internal"
    )
    with pytest.raises(ConfigError, match="'audience' must be 'internal'"):
        parse_config({"audience": "staff"}, "p.yaml")


def test_reach_counts_screens_and_says_why_none() -> None:
    now = datetime.now(UTC)
    office = ScreenFacts("oficina", frozenset({"lobby"}), "internal")
    hall = ScreenFacts("hall", frozenset({"lobby"}), "public")
    old = ScreenFacts("viejo", frozenset({"piso-2"}), None)
    restricted = replace(
        make_alert("r", sent=now, tags=frozenset({"lobby"})), restriction="Funcionarios"
    )
    got = reach(restricted, [office, hall, old], now)
    assert got.count == 1 and got.total == 3
    assert "1 of 3 screen(s) will show it" in got.sentence()
    assert "Restricted" in got.sentence() and "piso-2" not in got.sentence()
    nobody = reach(make_alert("t", sent=now, tags=frozenset({"sotano"})), [office, hall], now)
    assert nobody.count == 0
    assert nobody.sentence().startswith("no screen will show it (2 known)")
    assert "no tag in common with sotano" in nobody.sentence()
    assert "no screen has reported" in reach(restricted, [], now).sentence()


def test_import_cap_says_how_many_screens_and_why_none(hub: RunningHub) -> None:
    public = import_cap(hub, cap_xml("OAI-PUB-1"))
    assert public.returncode == 0, public.stderr
    assert "2 of 2 screen(s) will show it" in public.stdout
    staff = import_cap(hub, cap_xml("OAI-RES-1", scope="Restricted", restriction="Funcionarios"))
    assert staff.returncode == 0, staff.stderr
    assert "1 of 2 screen(s) will show it" in staff.stdout
    assert "public screens (the alert is Restricted" in staff.stdout
    nobody = import_cap(hub, cap_xml("OAI-NONE-1", tags="sotano"))
    assert nobody.returncode == 0, nobody.stderr
    assert "no screen will show it (2 known): 2 screen(s): no tag in common with sotano" in (
        nobody.stdout
    )
    private = import_cap(hub, cap_xml("OAI-PRIV-1", scope="Private"))
    assert private.returncode == 0 and "scope Private" in private.stdout


def test_the_hub_publishes_its_alerts_as_a_cap_feed(hub: RunningHub) -> None:
    tomorrow = datetime.now(UTC).replace(microsecond=0) + timedelta(hours=2)
    for xml in (cap_xml("OAI-FEED-1"), cap_xml("OAI-FEED-2", effective=tomorrow),
                cap_xml("OAI-FEED-3", scope="Restricted", restriction="Funcionarios")):  # fmt: skip
        done = import_cap(hub, xml)
        assert done.returncode == 0, done.stderr
    r = requests.get(hub.url + "/api/v1/alerts.atom", timeout=10)
    assert r.status_code == 200
    assert r.headers["content-type"].startswith("application/atom+xml")
    root = SafeET.fromstring(r.content)
    assert root.tag == f"{{{ATOM_NS}}}feed"
    parsed = feedparser.parse(r.content)
    assert not parsed.bozo, parsed.bozo_exception
    active = requests.get(hub.url + "/api/v1/alerts", timeout=10).json()["alerts"]
    assert len(parsed.entries) == len(active) >= 3
    schema = xmlschema.XMLSchema(str(DATA / "CAP-v1.2.xsd"))
    seen: dict[str, bytes] = {}
    for entry in parsed.entries:
        link = next(lk for lk in entry.links if lk.get("type") == "application/cap+xml")
        cap = requests.get(link["href"], timeout=10)
        assert cap.status_code == 200
        schema.validate(cap.content.decode("utf-8"))
        seen[link["href"]] = cap.content
    texts = b"".join(seen.values())
    assert b"<scope>Restricted</scope><restriction>Funcionarios</restriction>" in texts
    assert f"<effective>{cap_time(tomorrow)}</effective>".encode() in texts


def test_signage_mirror_pins_the_hub_key_on_first_use(hub: RunningHub, tmp_path: Path) -> None:
    out = tmp_path / "espejo"
    args = [sys.executable, "-m", "signage", "mirror", "--from", hub.url + "/", "--to",
            str(out), "--once"]  # fmt: skip
    done = subprocess.run(args, capture_output=True, text=True, env=hub_env(), cwd=str(REPO),
                          timeout=60, check=False)  # fmt: skip
    assert done.returncode == 0, done.stderr
    assert f"pinned the hub's key {hub.pubkey}" in done.stderr
    assert (out / ".mirror-cache" / "pubkey").read_text().strip() == hub.pubkey
    assert (out / "feed.json").read_bytes() == requests.get(
        hub.url + "/feed.json", timeout=5
    ).content
    again = subprocess.run(args, capture_output=True, text=True, env=hub_env(), cwd=str(REPO),
                           timeout=60, check=False)  # fmt: skip
    assert again.returncode == 0 and "pinned" not in again.stderr  # the pinned key is used
