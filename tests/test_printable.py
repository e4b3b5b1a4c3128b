"""Text from screens never drives the operator's terminal: escape sequences, CR/LF and
bidi overrides in heartbeats reach ``signage status`` printable, one row per screen; absurd
values are refused at the hub's door. A real hub, real heartbeats over HTTP."""

from __future__ import annotations

import json
import subprocess
import sys
from collections.abc import Iterator
from datetime import UTC, datetime
from pathlib import Path

import pytest
import requests

from signage.printable import json_printable, printable
from tests.helpers_hub import REPO, RunningHub, hub_env, make_content_root, run_hub

NASTY = "\x1b[2J\x1b]0;pwned\x07\r\nlobby-9  online (1s)  99\u202egnp.exe\x9b31m\u2028x\x00"


def _is_printable(text: str) -> bool:
    return all(ch == "\n" or (ch.isprintable() and ch not in "\u2028\u2029") for ch in text)


def test_printable_escapes_controls_bidi_and_keeps_text():
    out = printable(NASTY)
    assert _is_printable(out) and "\n" not in out
    assert "\\x1b[2J" in out and "\\r\\n" in out and "\\u202e" in out and "\\x9b" in out
    assert printable("Atención: sala 2 — piso 1") == "Atención: sala 2 — piso 1"
    assert printable("a\\x1b") == "a\\\\x1b"  # a typed backslash cannot forge an escape
    assert printable("x" * 50, 10) == "x" * 9 + "…"
    assert printable("uno\ndos\r", multiline=True) == "uno\ndos\\r"
    doc = json.dumps({"screen": NASTY}, ensure_ascii=False)
    safe = json_printable(doc)
    assert _is_printable(safe) and json.loads(safe) == {"screen": NASTY}


def _status(*args: str) -> subprocess.CompletedProcess[str]:
    return subprocess.run(
        [sys.executable, "-m", "signage", "status", *args],
        capture_output=True, text=True, timeout=60, check=False, cwd=REPO, env=hub_env(),
    )  # fmt: skip


@pytest.fixture
def hub(tmp_path: Path) -> Iterator[RunningHub]:
    root = make_content_root(tmp_path / "root")
    with run_hub(data=tmp_path / "hubdata", root=root, screen_token="pantalla-1-secreto") as h:
        yield h


def _beat(hub: RunningHub, **fields: object) -> requests.Response:
    body = {"screen": "lobby-1", "sent": datetime.now(UTC).isoformat(), **fields}
    return requests.post(
        hub.url + "/api/v1/heartbeat", json=body, headers=hub.screen_auth, timeout=10
    )


def test_escape_sequences_in_heartbeats_reach_status_printable(hub: RunningHub):
    ok = _beat(hub, version=hub.version(), playlist="lobby", slide=NASTY, last_error=NASTY)
    assert ok.status_code < 300, ok.text
    assert _beat(hub, screen="sala-2", last_error="red caída\r\nsala-3  online").status_code < 300
    # refused at the door: ids with control characters, absurd numbers
    for bad in (
        {"screen": "x\x1b[2J"},
        {"screen": "y", "tags": ["a\u202eb"]},
        {"screen": "z", "version": -1},
        {"screen": "z", "version": 10**30},
        {"screen": "z", "uptime_s": 1e300},
        {"screen": "z", "errors": {"e": 10**20}},
    ):
        refused = _beat(hub, **bad)
        assert refused.status_code == 400, (bad, refused.status_code, refused.text)
    table = _status("--hub", hub.url, "--token-file", str(hub.token_file))
    assert table.returncode == 0, table.stderr
    assert _is_printable(table.stdout), repr(table.stdout)
    lines = table.stdout.rstrip("\n").split("\n")
    assert len(lines) == 1 + 2 + 1  # header, one row per screen, summary
    assert lines[1].startswith("lobby-1 ") and lines[2].startswith("sala-2 ")
    assert "\\x1b[2J" in lines[1] and "\\r\\n" in lines[2]
    assert "2 screens" in lines[3]
    as_json = _status("--hub", hub.url, "--token-file", str(hub.token_file), "--json")
    assert _is_printable(as_json.stdout)
    screens = json.loads(as_json.stdout)  # still the hub's values, exactly
    assert [s["screen"] for s in screens] == ["lobby-1", "sala-2"]
    assert screens[0]["last_error"] == NASTY
