"""The report: numbers on a known set of events, the table, CSV, chart and the command."""

from __future__ import annotations

import csv
import io
import subprocess
import sys
import uuid
from datetime import UTC, datetime, timedelta

import pytest
import requests
from PIL import Image

from signage.events import rfc3339_ms
from signage.i18n import speaking
from signage.qr import track_code
from signage.report import (
    Count,
    build_report,
    chart_texts,
    count_plays,
    parse_since,
    render_chart,
    report_csv,
    report_table,
    scans_per_1000,
)
from tests.helpers_hub import hub_env, make_content_root, run_hub

SINCE = datetime(2026, 10, 1, tzinfo=UTC)
UNTIL = datetime(2026, 11, 1, tzinfo=UTC)


def _known_events() -> list[dict[str, object]]:
    """1,500 plays in October on two screens, plus noise the report must ignore."""
    events: list[dict[str, object]] = []
    t = SINCE

    def show(screen: str, slide: str, n: int) -> None:
        nonlocal t
        for _ in range(n):
            t += timedelta(seconds=60)
            events.append(
                {"ts": rfc3339_ms(t), "event": "slide_shown", "screen": screen,
                 "playlist": "lobby", "slide": slide, "kind": "text"}
            )  # fmt: skip

    show("lobby-1", "encuesta", 400)
    show("lobby-1", "bienvenida", 600)
    show("sala-2", "encuesta", 250)
    show("sala-2", "bienvenida", 250)
    outside = {"event": "slide_shown", "screen": "lobby-1", "playlist": "lobby", "slide": "x"}
    events += [
        {**outside, "ts": "2026-09-30T23:59:59.999Z"},  # before the period
        {**outside, "ts": "2026-11-01T00:00:00.000Z"},  # the end is exclusive
        {**outside, "ts": "2026-10-10T10:00:00"},  # no zone: not trusted
        {**outside, "ts": "ayer"},
        {"ts": "2026-10-10T10:00:00.000Z", "event": "stats", "rss_mb": 100},
        {"ts": "2026-10-10T10:00:00.000Z", "event": "slide_skipped", "playlist": "lobby",
         "slide": "encuesta", "reason": "corrupt"},
    ]  # fmt: skip
    return events


SCANS = [
    Count("lobby-1", "lobby", "encuesta", 12),
    Count("sala-2", "lobby", "encuesta", 5),
    Count("recepcion", "lobby", "encuesta", 2),  # its plays never reached the hub
]


def _known_report():
    return build_report(count_plays(_known_events(), SINCE, UNTIL), SCANS, SINCE, UNTIL)


def test_scans_per_1000():
    assert scans_per_1000(1000, 12) == 12.0
    assert scans_per_1000(400, 1) == 2.5
    assert scans_per_1000(0, 2) is None
    assert scans_per_1000(10, 0) == 0.0


def test_count_plays_keeps_slide_shown_within_the_period():
    plays = count_plays(_known_events(), SINCE, UNTIL)
    assert plays == [
        Count("lobby-1", "lobby", "bienvenida", 600),
        Count("lobby-1", "lobby", "encuesta", 400),
        Count("sala-2", "lobby", "bienvenida", 250),
        Count("sala-2", "lobby", "encuesta", 250),
    ]


def test_report_numbers_on_a_known_event_set():
    report = _known_report()
    by_screen = {r.label: (r.plays, r.scans, r.per_1000) for r in report.by_screen}
    assert by_screen == {
        "lobby-1": (1000, 12, 12.0),
        "sala-2": (500, 5, 10.0),
        "recepcion": (0, 2, None),
    }
    assert [r.label for r in report.by_screen] == ["lobby-1", "sala-2", "recepcion"]
    by_slide = {r.label: (r.plays, r.scans) for r in report.by_slide}
    assert by_slide == {"lobby/encuesta": (650, 19), "lobby/bienvenida": (850, 0)}
    assert report.by_slide[0].per_1000 == pytest.approx(19_000 / 650)
    assert (report.total.plays, report.total.scans) == (1500, 19)
    assert report.total.per_1000 == pytest.approx(12.6667, abs=1e-4)


def test_table_and_csv():
    report = _known_report()
    table = report_table(report)
    assert "2026-10-01 00:00 to 2026-11-01 00:00 UTC" in table
    lobby = next(line for line in table.splitlines() if line.startswith("lobby-1 "))
    assert lobby.split() == ["lobby-1", "1,000", "12", "12.0"]
    recepcion = next(line for line in table.splitlines() if line.startswith("recepcion"))
    assert recepcion.split() == ["recepcion", "0", "2", "-"]
    rows = list(csv.DictReader(io.StringIO(report_csv(report))))
    assert rows[0] == {
        "level": "screen", "screen": "lobby-1", "playlist": "", "slide": "",
        "plays": "1000", "scans": "12", "scans_per_1000": "12.00",
    }  # fmt: skip
    slide = next(r for r in rows if r["level"] == "slide" and r["slide"] == "encuesta")
    assert (slide["playlist"], slide["plays"], slide["scans"]) == ("lobby", "650", "19")
    assert rows[-1]["level"] == "total"
    assert (rows[-1]["plays"], rows[-1]["scans"], rows[-1]["scans_per_1000"]) == (
        "1500",
        "19",
        "12.67",
    )
    assert next(r for r in rows if r["screen"] == "recepcion")["scans_per_1000"] == ""


def _bar_widths(img: Image.Image, x: int) -> list[int]:
    """Widths of the chart's bars, top to bottom, found by walking down column ``x``."""
    accent = (11, 83, 148)
    px = img.load()
    assert px is not None
    widths, y = [], 0
    while y < img.height:
        if px[x, y] == accent:
            top = y
            while y < img.height and px[x, y] == accent:
                y += 1
            middle = (top + y) // 2
            right = x
            while px[right, middle] == accent:
                right += 1
            widths.append(right - x)
        y += 1
    return widths


def test_chart_is_a_readable_png_with_proportional_bars(tmp_path):
    path = tmp_path / "informe" / "qr.png"
    render_chart(_known_report(), path)
    with Image.open(path) as png:
        assert png.format == "PNG"
        assert png.width == 1600
        assert 500 < png.height < 1400
        img = png.convert("RGB")
    plot_x0 = 470
    widths = _bar_widths(img, plot_x0)
    # Screens: lobby-1 12.0, sala-2 10.0, recepcion none; slides: encuesta 29.2, bienvenida 0.
    assert len(widths) == 5
    full = widths[3]
    assert widths[0] / full == pytest.approx(12.0 / (19_000 / 650), abs=0.01)
    assert widths[1] / full == pytest.approx(10.0 / (19_000 / 650), abs=0.01)
    assert widths[2] <= 5  # no plays: a stub, not a bar
    assert widths[4] <= 5
    assert not list(tmp_path.glob("informe/.*tmp"))


def test_chart_speaks_the_language_of_its_reader():
    report = _known_report()
    with speaking("es"):
        es = chart_texts(report)
    with speaking("en"):
        en = chart_texts(report)
    assert es.title == "Escaneos de códigos QR por cada 1.000 reproducciones"
    assert en.title == "QR code scans per 1,000 plays"
    assert es.subtitle == (
        "Del 1 de octubre de 2026 al 1 de noviembre de 2026 · 1.500 reproducciones, "
        "19 escaneos (12,7 por cada 1.000)"
    )
    assert en.subtitle == (
        "From 1 October 2026 to 1 November 2026 · 1,500 plays, 19 scans (12.7 per 1,000)"
    )
    assert (es.by_screen, es.no_data) == ("Por pantalla", "Sin datos en el periodo")
    assert (en.by_screen, en.no_data) == ("By screen", "No data in this period")
    empty = build_report([], [], SINCE, UNTIL)
    with speaking("es"):
        assert chart_texts(empty).subtitle.endswith(
            "0 escaneos (sin reproducciones por cada 1.000)"
        )


def test_chart_of_an_empty_period(tmp_path):
    empty = build_report([], [], SINCE, UNTIL)
    render_chart(empty, tmp_path / "vacio.png")
    with Image.open(tmp_path / "vacio.png") as img:
        assert img.width == 1600
    assert "No plays or scans" in report_table(empty)


@pytest.mark.parametrize(
    ("text", "expected"),
    [
        ("30d", datetime(2026, 10, 29, 12, tzinfo=UTC)),
        ("12h", datetime(2026, 11, 28, 0, tzinfo=UTC)),
        ("2w", datetime(2026, 11, 14, 12, tzinfo=UTC)),
        ("2027-01-01", datetime(2027, 1, 1, tzinfo=UTC)),
        ("2026-11-01T08:00:00-05:00", datetime(2026, 11, 1, 13, tzinfo=UTC)),
    ],
)
def test_parse_since(text, expected):
    assert parse_since(text, datetime(2026, 11, 28, 12, tzinfo=UTC)) == expected


def test_parse_since_refuses_nonsense():
    with pytest.raises(ValueError, match="12h, 30d, 2w"):
        parse_since("ayer", datetime(2026, 11, 28, tzinfo=UTC))


def _signage(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "signage", *args],
        capture_output=True,
        text=True,
        env=hub_env(),
        timeout=60,
        check=False,
    )


TRACKED = """\
name: Lobby
slides:
  - id: encuesta
    text: {title: "Encuesta"}
    qr: {url: "https://encuestas.example.gov.co/s", track: true}
"""


def test_report_command_against_a_real_hub(tmp_path):
    root = make_content_root(tmp_path / "root", TRACKED)
    with run_hub(data=tmp_path / "hubdata", root=root) as hub:
        recent = datetime.now(UTC) - timedelta(hours=1)
        events = [
            {"eid": uuid.uuid4().hex, "ts": rfc3339_ms(recent), "event": "slide_shown",
             "screen": screen, "playlist": "lobby", "slide": "encuesta", "kind": "text"}
            for screen in ["lobby-1"] * 400 + ["sala-2"] * 100
        ]  # fmt: skip
        r = requests.post(
            hub.url + "/api/v1/events", json={"events": events}, headers=hub.auth, timeout=10
        )
        assert r.json()["accepted"] == 500
        code = track_code("lobby", "encuesta", "https://encuestas.example.gov.co/s")
        for screen in ["lobby-1"] * 3 + ["sala-2"] * 2:
            r = requests.get(f"{hub.url}/q/{code}?s={screen}", allow_redirects=False, timeout=5)
            assert r.status_code == 302
        out_csv, chart = tmp_path / "r.csv", tmp_path / "r.png"
        done = _signage("report", "--hub", hub.url,
            "--token-file", str(hub.token_file), "--since", "7d", "--csv", str(out_csv),
                        "--chart", str(chart))  # fmt: skip
        assert done.returncode == 0, done.stderr
        lines = done.stdout.splitlines()
        assert next(x for x in lines if x.startswith("sala-2")).split() == [
            "sala-2", "100", "2", "20.0"
        ]  # fmt: skip
        assert next(x for x in lines if x.startswith("lobby-1")).split() == [
            "lobby-1", "400", "3", "7.5"
        ]  # fmt: skip
        rows = list(csv.DictReader(io.StringIO(out_csv.read_text(encoding="utf-8"))))
        assert rows[-1]["plays"] == "500"
        assert rows[-1]["scans"] == "5"
        with Image.open(chart) as png:
            assert png.format == "PNG"
        old = _signage(
            "report",
            "--hub",
            hub.url,
            "--token-file",
            str(hub.token_file),
            "--since",
            "2020-01-01",
            "--until",
            "2020-02-01",
        )
        assert old.returncode == 0
        assert "No plays or scans" in old.stdout


def test_report_command_errors_are_messages_not_tracebacks(tmp_path):
    done = _signage("report", "--hub", "http://127.0.0.1:9", "--timeout", "2")
    assert done.returncode == 1
    assert "cannot reach the hub" in done.stderr
    assert "Traceback" not in done.stderr
    done = _signage("report", "--hub", "http://127.0.0.1:9", "--since", "ayer")
    assert done.returncode == 2
    assert "--since" in done.stderr
    assert "Traceback" not in done.stderr
