"""A screen's trouble in the reader's words: the console's fleet cards and `signage status`.

The hub's API keeps its English facts (``stale_reason``, ``errors`` keys, ``last_error``);
people read why a screen is out of date and which kinds of trouble it counted in their
language, and the screen's own log line only as a technical detail, escaped.
"""

from __future__ import annotations

import html
import logging
import subprocess
import sys
from collections.abc import Iterator
from pathlib import Path

import pytest
import requests

from signage.commands.status import format_table
from signage.hub.telemetry_store import assess
from signage.i18n import speaking
from signage.logs import ErrorTally
from signage.telemetry.explain import (
    STALE_BEHIND,
    STALE_EMPTY,
    STALE_EXPIRED,
    error_parts,
    stale_reason_en,
    stale_text,
)
from signage.telemetry.heartbeat import Heartbeat
from tests.helpers_console import add_user, sign_in
from tests.helpers_hub import REPO, RunningHub, hub_env, make_content_root, run_hub
from tests.test_status import _report

HOSTILE = "<script>alert(1)</script> \u202e feed: timeout"


def test_assess_names_why_and_the_api_keeps_its_english() -> None:
    behind = _report(version=2)
    late = assess(behind, 1100.0, 1100.0, hub_version=3, hub_version_since=1000.0)
    assert late[1:] == (True, STALE_BEHIND)
    assert stale_reason_en(STALE_BEHIND, 2, 3) == "plays version 2, the hub has 3"
    expired = assess(_report(version=3, stale=True), 0, 0, hub_version=3, hub_version_since=0)
    assert expired[1:] == (True, STALE_EXPIRED)
    assert stale_reason_en(STALE_EXPIRED, 3, 3) == "content expired on the screen"
    assert assess(_report(), 0, 0, hub_version=3, hub_version_since=0)[1:] == (True, STALE_EMPTY)
    assert stale_reason_en(STALE_EMPTY, None, 3) == "no content on the screen"


def test_stale_words_follow_the_reader_and_keep_an_unknown_reason() -> None:
    with speaking("es"):
        assert stale_text(STALE_BEHIND, 2, 3) == "muestra la versión 2; el servidor tiene la 3"
        assert stale_text(STALE_EXPIRED, 3, 3) == (
            "su contenido caducó: lleva demasiado tiempo sin poder sincronizar"
        )
        assert stale_text(STALE_EMPTY, None, 3) == "aún no tiene contenido: nunca ha sincronizado"
        # a code this version does not know (a newer hub): its English reason, not nothing
        assert stale_text("drifted", 1, 2, "a newer reason") == "a newer reason"
        assert stale_text(None, 1, 1) is None
        # the versions are the screen's input: anything but an integer reads "?"
        assert stale_text(STALE_BEHIND, "<b>", True) == (
            "muestra la versión ?; el servidor tiene la ?"
        )
    with speaking("en"):
        assert stale_text(STALE_BEHIND, 2, 3) == "it shows version 2; the server has 3"


def test_error_counts_read_as_kinds_most_frequent_first() -> None:
    counts: dict[str, object] = {
        "player": 2,
        "slide_skipped": 1,
        "feed_rejected": 3,
        "qt": 1,
        "mystery": 4,
        "feed": 0,
        "hub": -5,
        "alerts": True,  # hostile or broken counts are ignored
        "qr": "7",
    }
    with speaking("es"):
        assert error_parts(counts, limit=10) == [
            "3 versiones de contenido rechazadas",
            "1 diapositiva omitida",
            "2 avisos del reproductor",
            "1 aviso del sistema gráfico",
            "4 avisos de otro tipo",
        ]
        assert error_parts(counts) == [
            "3 versiones de contenido rechazadas",
            "1 diapositiva omitida",
            "2 avisos del reproductor",
            "y 2 tipos más",
        ]
        assert error_parts({}) == []
    with speaking("en"):
        assert error_parts({"slide_skipped": 2}) == ["2 slides skipped"]


def test_status_table_says_why_in_spanish() -> None:
    screen = {
        "screen": "sala-2", "online": True, "age_s": 5, "version": 3, "hub_version": 4,
        "stale": True, "stale_code": STALE_BEHIND,
        "stale_reason": "plays version 3, the hub has 4", "last_error": None,
    }  # fmt: skip
    with speaking("es"):
        row = format_table([screen]).splitlines()[1]
    assert "muestra la versión 3; el servidor tiene la 4" in row
    assert "plays version" not in row
    # a hub that sends no code (older): its reason is still shown
    older = {k: v for k, v in screen.items() if k != "stale_code"}
    with speaking("es"):
        assert "plays version 3, the hub has 4" in format_table([older]).splitlines()[1]


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[RunningHub]:
    root = make_content_root(tmp_path / "root")
    data = tmp_path / "hubdata"
    data.mkdir()
    add_user(data, "vic", "viewer")
    with run_hub(language="es", data=data, root=root) as running:
        yield running


def _beat(hub: RunningHub, name: str, version: int | None, tally: ErrorTally) -> None:
    beat = Heartbeat(
        hub.url, name, token=hub.token, tally=tally,
        status=lambda: {"version": version, "playlist": "lobby", "slide": "bienvenida"},
    )  # fmt: skip
    assert beat.beat()
    beat.stop()


def test_fleet_cards_and_status_speak_spanish_against_a_real_hub(hub: RunningHub) -> None:
    tally = ErrorTally()
    record = logging.LogRecord("signage.player", logging.WARNING, "x", 1, HOSTILE, None, None)
    for _ in range(2):
        tally.emit(record)
    _beat(hub, "sin-contenido", None, tally)  # no version: out of date, never synced
    _beat(hub, "al-dia", hub.version(), ErrorTally())

    api = requests.get(hub.url + "/api/v1/screens", headers=hub.auth, timeout=5).json()
    by_name = {s["screen"]: s for s in api}
    empty = by_name["sin-contenido"]
    assert empty["stale"] is True and empty["stale_code"] == STALE_EMPTY
    assert empty["stale_reason"] == "no content on the screen"  # the API's English stays
    assert empty["errors"] == {"player": 2}
    assert by_name["al-dia"]["stale_code"] is None and by_name["al-dia"]["stale_reason"] is None

    session, _ = sign_in(hub.url, "vic")
    page = session.get(hub.url + "/console/pantallas", timeout=10)
    assert page.status_code == 200
    text = page.text
    assert "aún no tiene contenido: nunca ha sincronizado" in text
    assert "no content on the screen" not in text
    assert "2 avisos del reproductor" in text
    assert "Detalle técnico" in text
    # the screen's log line is shown as data, escaped: never markup
    assert "<script>alert(1)</script>" not in text
    assert html.escape("<script>alert(1)</script>") in text

    table = subprocess.run(
        [sys.executable, "-m", "signage", "status", "--hub", hub.url,
         "--token-file", str(hub.token_file)],
        capture_output=True, text=True, timeout=60, check=False, cwd=REPO,
        env=hub_env("es"),
    )  # fmt: skip
    assert table.returncode == 0, table.stderr
    assert "aún no tiene contenido: nunca ha sincronizado" in table.stdout
    assert "\u202e" not in table.stdout  # printable() still cleans the screen's own text
