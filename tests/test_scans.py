"""Tracked QR scans and proof-of-play batches through a real hub subprocess."""

from __future__ import annotations

import uuid
from datetime import UTC, datetime, timedelta
from urllib.parse import parse_qsl, urlsplit

import pytest
import requests

from signage.events import rfc3339_ms
from signage.model import Attribution, QRCode
from signage.qr import attributed_url, encoded_url, track_code
from tests.helpers_hub import make_content_root, run_hub

SURVEY = "https://encuestas.example.gov.co/satisfaccion?form=intranet"
BUZON = "https://buzon.example.gov.co/sugerencias"

TRACKED_YAML = f"""\
name: Lobby con encuestas
attribution:
  screen: pantalla
  playlist: lista
  slide: null
  medium: canal
  medium_value: pantalla-lobby
defaults:
  duration: 5s
slides:
  - id: encuesta
    text:
      title: "¿Cómo te fue con la nueva intranet?"
    qr: {{url: "{SURVEY}", caption: Escanea y opina, track: true}}
  - id: sin-seguimiento
    text:
      title: "Buzón de sugerencias"
    qr: {{url: "{BUZON}"}}
"""

ADDED_SLIDE = f"""\
  - id: buzon
    text:
      title: "Buzón de sugerencias"
    qr: {{url: "{BUZON}", track: true}}
"""

ATTRIBUTION = Attribution(
    screen="pantalla", playlist="lista", slide=None, medium="canal", medium_value="pantalla-lobby"
)


@pytest.fixture
def tracked_hub(tmp_path):
    root = make_content_root(tmp_path / "root", TRACKED_YAML)
    with run_hub(
        data=tmp_path / "hubdata",
        root=root,
        extra_args=["--public-url", "https://hub.alcaldia.example.gov.co"],
    ) as hub:
        yield hub


def _report(hub, **params):
    r = requests.get(hub.url + "/api/v1/report", params=params, headers=hub.auth, timeout=5)
    assert r.status_code == 200, r.text
    return r.json()


def test_tracked_scan_is_recorded_and_redirected(tracked_hub):
    code = track_code("lobby", "encuesta", SURVEY)
    link = encoded_url(
        QRCode(SURVEY, track=True),
        ATTRIBUTION,
        "lobby-1",
        "lobby",
        "encuesta",
        link_base="https://hub.alcaldia.example.gov.co",
    )
    assert link == f"https://hub.alcaldia.example.gov.co/q/{code}?s=lobby-1"
    for screen in ("lobby-1", "sala-2"):  # scans count for screens the hub knows
        beat = requests.post(
            tracked_hub.url + "/api/v1/heartbeat",
            json={"screen": screen},
            headers=tracked_hub.auth,
            timeout=5,
        )
        assert beat.status_code == 200, beat.text

    r = requests.get(f"{tracked_hub.url}/q/{code}?s=lobby-1", allow_redirects=False, timeout=5)
    assert r.status_code == 302
    expected = attributed_url(QRCode(SURVEY), ATTRIBUTION, "lobby-1", "lobby", "encuesta")
    assert r.headers["location"] == expected
    assert parse_qsl(urlsplit(expected).query) == [
        ("form", "intranet"),
        ("pantalla", "lobby-1"),
        ("canal", "pantalla-lobby"),
        ("lista", "lobby"),
    ]
    assert r.headers["cache-control"] == "no-store"

    requests.get(f"{tracked_hub.url}/q/{code}?s=sala-2", allow_redirects=False, timeout=5)
    requests.get(f"{tracked_hub.url}/q/{code}?s=sala-2", allow_redirects=False, timeout=5)
    head = requests.head(f"{tracked_hub.url}/q/{code}?s=sala-2", timeout=5)
    assert head.status_code == 302  # a link preview probes, but is not a scan
    for invented in ("inventada-1", "inventada-2"):  # still redirected, counted as unknown
        r = requests.get(
            f"{tracked_hub.url}/q/{code}?s={invented}", allow_redirects=False, timeout=5
        )
        assert r.status_code == 302

    scans = _report(tracked_hub, since="1d")["scans"]
    assert sorted((s["screen"], s["playlist"], s["slide"], s["count"]) for s in scans) == [
        ("desconocida", "lobby", "encuesta", 2),
        ("lobby-1", "lobby", "encuesta", 1),
        ("sala-2", "lobby", "encuesta", 2),
    ]


def test_unknown_untracked_and_malformed_codes_are_404(tracked_hub):
    untracked = track_code("lobby", "sin-seguimiento", BUZON)
    for path in (
        "/q/aaaaaaaaaa?s=lobby-1",
        f"/q/{untracked}?s=lobby-1",
        "/q/ABC?s=lobby-1",
        "/q/..%2F..%2Fetc?s=x",
    ):
        r = requests.get(tracked_hub.url + path, allow_redirects=False, timeout=5)
        assert r.status_code == 404, path
        assert "location" not in r.headers
    assert _report(tracked_hub, since="1d")["scans"] == []


def test_no_open_redirect_and_screen_ids_sanitised(tracked_hub):
    code = track_code("lobby", "encuesta", SURVEY)
    r = requests.get(
        f"{tracked_hub.url}/q/{code}",
        params={"s": "<script>alert(1)</script>", "url": "https://evil.example", "next": "//x"},
        allow_redirects=False,
        timeout=5,
    )
    assert r.status_code == 302
    location = r.headers["location"]
    assert location.startswith("https://encuestas.example.gov.co/satisfaccion?form=intranet&")
    assert "evil" not in location
    assert "script" not in location
    assert ("pantalla", "desconocida") in parse_qsl(urlsplit(location).query)
    r = requests.get(f"{tracked_hub.url}/q/{code}?s=" + "x" * 65, allow_redirects=False, timeout=5)
    assert ("pantalla", "desconocida") in parse_qsl(urlsplit(r.headers["location"]).query)
    screens = {s["screen"] for s in _report(tracked_hub, since="1d")["scans"]}
    assert screens == {"desconocida"}


def test_codes_of_a_new_publish_are_registered_and_old_ones_kept(tracked_hub):
    old = track_code("lobby", "encuesta", SURVEY)
    new = track_code("lobby", "buzon", BUZON)
    r = requests.get(f"{tracked_hub.url}/q/{new}?s=lobby-1", allow_redirects=False, timeout=5)
    assert r.status_code == 404
    before = tracked_hub.version()
    playlist = tracked_hub.root / "playlists" / "lobby.yaml"
    # The edited playlist drops the old tracked slide and adds a new one.
    edited = TRACKED_YAML.replace("track: true", "track: false") + ADDED_SLIDE
    playlist.write_text(edited, encoding="utf-8")
    tracked_hub.wait_version(before)
    r = requests.get(f"{tracked_hub.url}/q/{new}?s=lobby-1", allow_redirects=False, timeout=5)
    assert r.status_code == 302
    assert r.headers["location"].startswith(BUZON + "?pantalla=lobby-1&")
    # A screen still showing the previous version's QR keeps working.
    r = requests.get(f"{tracked_hub.url}/q/{old}?s=lobby-1", allow_redirects=False, timeout=5)
    assert r.status_code == 302


def _event(event="slide_shown", **fields):
    return {
        "eid": uuid.uuid4().hex,
        "ts": rfc3339_ms(datetime.now(UTC) - timedelta(hours=2)),
        "event": event,
        **fields,
    }


def test_events_need_the_token_and_duplicates_are_ignored(tracked_hub):
    url = tracked_hub.url + "/api/v1/events"
    batch = [_event(screen="lobby-1", playlist="lobby", slide="encuesta") for _ in range(3)]
    r = requests.post(url, json={"events": batch}, timeout=5)
    assert r.status_code == 401
    r = requests.post(
        url, json={"events": batch}, headers={"Authorization": "Bearer no"}, timeout=5
    )
    assert r.status_code == 401
    r = requests.post(url, json={"events": batch}, headers=tracked_hub.auth, timeout=5)
    assert r.status_code == 200
    assert r.json() == {"accepted": 3, "duplicates": 0, "rejected": []}
    bad = [{"eid": "x", "ts": "ayer", "event": "slide_shown"}, _event(ts="2026-11-28T10:00:00")]
    bad.append(_event(ts=rfc3339_ms(datetime.now(UTC) - timedelta(days=31))))
    again = [*batch, *bad, _event(screen="lobby-1", playlist="lobby", slide="otra")]
    r = requests.post(url, json={"events": again}, headers=tracked_hub.auth, timeout=5)
    body = r.json()
    assert (body["accepted"], body["duplicates"]) == (1, 3)
    assert [x["index"] for x in body["rejected"]] == [3, 4, 5]
    assert "eid" in body["rejected"][0]["reason"]
    assert "zone" in body["rejected"][1]["reason"]
    assert "check the screen's clock" in body["rejected"][2]["reason"]
    for junk in (b"not json", b'{"events": 3}', b"[]"):
        r = requests.post(url, data=junk, headers=tracked_hub.auth, timeout=5)
        assert r.status_code == 400
        assert "events" in r.json()["error"]
    plays = _report(tracked_hub, since="1d")["plays"]
    assert sorted((p["slide"], p["count"]) for p in plays) == [("encuesta", 3), ("otra", 1)]


def test_report_period_is_checked(tracked_hub):
    r = requests.get(
        tracked_hub.url + "/api/v1/report",
        params={"since": "ayer"},
        headers=tracked_hub.auth,
        timeout=5,
    )
    assert r.status_code == 400
    assert "30d" in r.json()["error"]


def test_report_period_is_whole_hours_and_counts_per_hour(tracked_hub):
    url = tracked_hub.url + "/api/v1/events"
    base = datetime.now(UTC).replace(minute=0, second=0, microsecond=0) - timedelta(hours=5)
    at = [base + timedelta(minutes=m) for m in (5, 50, 65, 130)]  # hours 0, 0, 1, 2
    batch = [
        _event(ts=rfc3339_ms(t), screen="sala-2", playlist="lobby", slide="encuesta") for t in at
    ]
    r = requests.post(url, json={"events": batch}, headers=tracked_hub.auth, timeout=5)
    assert r.json()["accepted"] == 4

    def plays(since, until):
        doc = _report(tracked_hub, since=since, until=until)
        return doc, sum(p["count"] for p in doc["plays"])

    iso = lambda t: t.isoformat()  # noqa: E731
    doc, n = plays(iso(base + timedelta(minutes=30)), iso(base + timedelta(minutes=70)))
    assert n == 3  # widened to 00:00-02:00 of those hours
    assert doc["since"] == rfc3339_ms(base)
    assert doc["until"] == rfc3339_ms(base + timedelta(hours=2))
    assert plays(iso(base + timedelta(hours=2)), iso(base + timedelta(hours=3)))[1] == 1
    assert plays(iso(base - timedelta(hours=3)), iso(base))[1] == 0


class _Clock:
    def __init__(self, now: datetime) -> None:
        self.now = now

    def __call__(self) -> datetime:
        return self.now


def test_event_ids_are_forgotten_after_retention_and_old_resends_refused(tmp_path):
    # In-process Hub with an injected clock: the retention is about days, not requests.
    from signage.hub.scan_routes import ScanRoom
    from signage.hub.state import Hub, HubConfig

    clock = _Clock(datetime(2027, 3, 1, 12, tzinfo=UTC))
    hub = Hub(HubConfig(feed_dir=tmp_path / "feed", data_dir=tmp_path / "data"), clock=clock)
    try:
        room = ScanRoom(hub)
        first = _event(ts="2027-03-01T11:00:00.000Z", screen="s", playlist="p", slide="x")
        assert room._store_events([first])["accepted"] == 1
        assert room._store_events([first])["duplicates"] == 1
        clock.now += timedelta(days=31)
        later = _event(ts="2027-04-01T11:00:00.000Z", screen="s", playlist="p", slide="x")
        assert room._store_events([later])["accepted"] == 1
        seen = hub.db().execute("SELECT eid FROM pop_seen").fetchall()
        assert seen == [(later["eid"],)]  # the old id was forgotten...
        result = room._store_events([first])  # ...so a resend of it must be refused
        assert result["accepted"] == 0
        assert "older than the 30 days" in result["rejected"][0]["reason"]
        counts = hub.db().execute("SELECT hour, plays FROM pop_counts ORDER BY hour").fetchall()
        assert counts == [("2027-03-01T11", 1), ("2027-04-01T11", 1)]
    finally:
        hub.close()


def test_a_hub_without_token_accepts_events_like_heartbeats(tmp_path):
    root = make_content_root(tmp_path / "root")
    with run_hub(data=tmp_path / "hubdata", root=root, token=None) as hub:
        batch = [_event(screen="s", playlist="lobby", slide="bienvenida")]
        r = requests.post(hub.url + "/api/v1/events", json={"events": batch}, timeout=5)
        assert r.status_code == 200
        assert r.json()["accepted"] == 1
