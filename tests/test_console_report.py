"""The console's report page in a real Chromium against a real hub: on a known set of plays
and scans, its tables, its CSV and its chart agree with ``signage report --json`` for the
same period, reached by a quarter/period shortcut."""

from __future__ import annotations

import csv
import io
import json
import subprocess
import sys
import uuid
from collections import Counter
from collections.abc import Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from urllib.parse import parse_qs, urlsplit

import pytest
import requests
from PIL import Image
from playwright.sync_api import Browser

from signage.events import rfc3339_ms
from signage.qr import track_code
from tests.helpers_console import add_user, sign_in
from tests.helpers_hub import REPO, RunningHub, hub_env, make_content_root, run_hub
from tests.test_scans import SURVEY, TRACKED_YAML

pytestmark = [pytest.mark.slow]

PLAYS = {
    ("lobby-1", "encuesta"): 40,
    ("lobby-1", "sin-seguimiento"): 25,
    ("sala-2", "encuesta"): 12,
}
SCANS = {"lobby-1": 3, "sala-2": 2}


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[RunningHub]:
    root = make_content_root(tmp_path / "root", TRACKED_YAML)
    data = tmp_path / "hubdata"
    data.mkdir()
    add_user(data, "vic", "viewer")
    with run_hub(language="es", data=data, root=root) as running:
        moment = rfc3339_ms(datetime.now(UTC) - timedelta(minutes=2))
        batch = [
            {"eid": uuid.uuid4().hex, "ts": moment, "event": "slide_shown", "screen": screen,
             "playlist": "lobby", "slide": slide}
            for (screen, slide), n in PLAYS.items() for _ in range(n)
        ]  # fmt: skip
        r = requests.post(
            running.url + "/api/v1/events", json={"events": batch}, headers=running.auth, timeout=10
        )
        assert r.json()["accepted"] == len(batch), r.text
        code = track_code("lobby", "encuesta", SURVEY)
        for screen, n in SCANS.items():
            for _ in range(n):
                scan = requests.get(
                    f"{running.url}/q/{code}?s={screen}", allow_redirects=False, timeout=5
                )
                assert scan.status_code == 302
        yield running


def _cli_json(hub: RunningHub, since: str, until: str) -> dict[str, list[dict[str, object]]]:
    done = subprocess.run(
        [sys.executable, "-m", "signage", "report", "--hub", hub.url,
         "--token-file", str(hub.token_file), "--since", since, "--until", until, "--json"],
        capture_output=True, text=True, env=hub_env(), cwd=str(REPO), timeout=60, check=False,
    )  # fmt: skip
    assert done.returncode == 0, done.stderr
    doc: dict[str, list[dict[str, object]]] = json.loads(done.stdout)
    return doc


def _sums(items: list[dict[str, object]], key: str) -> Counter[str]:
    out: Counter[str] = Counter()
    for item in items:
        label = f"{item['playlist']}/{item['slide']}" if key == "slide" else str(item[key])
        out[label] += int(str(item["count"]))
    return out


def test_report_page_csv_and_chart_equal_the_cli_json(hub: RunningHub, browser: Browser) -> None:
    session, _ = sign_in(hub.url, "vic")
    page = browser.new_page(viewport={"width": 1280, "height": 900}, locale="es-CO")
    page.context.add_cookies(
        [{"name": c.name, "value": c.value or "", "url": hub.url} for c in session.cookies]
    )
    page.goto(hub.url + "/console/informe")
    page.get_by_role("link", name="Últimos 30 días").click()
    page.wait_for_url("**/console/informe?desde=*")
    query = parse_qs(urlsplit(page.url).query)
    since, until = query["desde"][0], query["hasta"][0]
    doc = _cli_json(hub, since, until)
    expected = {
        level: (_sums(doc["plays"], level), _sums(doc["scans"], level))
        for level in ("screen", "playlist", "slide")
    }
    assert expected["screen"] == (
        Counter({"lobby-1": 65, "sala-2": 12}),
        Counter({"lobby-1": 3, "sala-2": 2}),
    )  # the known events, as the CLI reads them

    for level, (plays, scans) in expected.items():
        table = page.locator(f"table[data-level='{level}'] tbody tr")
        shown = {}
        for i in range(table.count()):
            row = table.nth(i)
            cells = row.locator("td")
            shown[row.get_attribute("data-label")] = (
                int(cells.nth(1).get_attribute("data-value") or -1),
                int(cells.nth(2).get_attribute("data-value") or -1),
            )
        labels = set(plays) | set(scans)
        assert shown == {k: (plays[k], scans[k]) for k in labels}, level
    assert "1.000" in page.locator(".report-total").inner_text()
    page.screenshot(path=str(REPO / "docs" / "console" / "informe.png"), full_page=True)

    href = page.get_by_role("link", name="Descargar CSV").get_attribute("href")
    body = page.request.get(hub.url + str(href)).text()
    rows = list(csv.DictReader(io.StringIO(body)))
    for level, (plays, scans) in expected.items():
        got = {}
        for r in rows:
            if r["level"] != level:
                continue
            label = {"screen": r["screen"], "playlist": r["playlist"]}.get(
                level, f"{r['playlist']}/{r['slide']}"
            )
            got[label] = (int(r["plays"]), int(r["scans"]))
            if int(r["plays"]):
                assert float(r["scans_per_1000"]) == pytest.approx(
                    1000 * int(r["scans"]) / int(r["plays"]), abs=0.01
                )
        assert got == {k: (plays[k], scans[k]) for k in set(plays) | set(scans)}, level

    png = page.request.get(
        hub.url
        + str(page.get_by_role("link", name="Descargar gráfico (PNG)").get_attribute("href"))
    )
    assert png.headers["content-type"] == "image/png"
    assert "attachment" in png.headers["content-disposition"]
    # drawn in the reader's language: a browser's cache must not hand one language's chart
    # to the other after a switch
    assert {"cookie", "accept-language"} <= {
        v.strip().lower() for v in png.headers["vary"].split(",")
    }
    with Image.open(io.BytesIO(png.body())) as chart:
        assert chart.width == 1600
    assert page.locator("img.report-chart").evaluate("i => i.naturalWidth") == 1600
    assert requests.get(hub.url + "/console/informe.csv", timeout=5).status_code == 401
