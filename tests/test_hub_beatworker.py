"""The heartbeat worker process (signage.hub.beatworker): frames, checks, restarts, no zombies.

The hub's event loop hands each heartbeat (bounded body, who sent it) to a worker process
that checks and stores it; the pipe's frames are bounded at both ends, a worker that dies
is replaced and the beats meanwhile are refused 503, and no worker outlives the hub or is
left unreaped. Real worker processes, a real hub subprocess, real PNG screenshots.
"""

from __future__ import annotations

import base64
import io
import json
import os
import signal
import sqlite3
import struct
import subprocess
import sys
import time
from collections.abc import Callable, Iterator
from datetime import UTC, datetime
from pathlib import Path
from typing import Any

import pytest
import requests
from PIL import Image

from signage.hub.beatworker import (
    MAX_BODY,
    MAX_HEAD,
    Checker,
    FrameError,
    Request,
    encode_answer,
    encode_request,
    split_requests,
)
from signage.hub.screens import ScreenRegister
from signage.hub.telemetry_store import TelemetryStore
from tests.helpers_hub import make_content_root, run_hub

REPO = Path(__file__).resolve().parents[1]


def _png(width: int = 320, height: int = 180) -> bytes:
    out = io.BytesIO()
    Image.effect_noise((width, height), 60).convert("RGB").save(out, format="PNG")
    return out.getvalue()


def _beat(screen: str, png: bytes | None = None) -> bytes:
    body: dict[str, Any] = {"screen": screen, "sent": datetime.now(UTC).isoformat()}
    if png is not None:
        body["screenshot_png"] = base64.b64encode(png).decode("ascii")
    return json.dumps(body).encode()


def _head(kind: str = "admin", screen: str | None = None) -> dict[str, Any]:
    return {"kind": kind, "screen": screen, "lang": "en", "received": time.time()}


# ------------------------------------------------------------------------- frames


def test_frames_round_trip_and_an_unfinished_one_waits() -> None:
    one = encode_request(7, _head(), b'{"a": 1}')
    two = encode_request(8, _head("screen", "s-1"), b"x" * 5000)
    buffer = bytearray(one + two[:100])
    got = split_requests(buffer, 10)
    assert [(r.rid, r.body) for r in got] == [(7, b'{"a": 1}')]
    assert bytes(buffer) == two[:100]  # the unfinished frame stays for the next read
    buffer += two[100:]
    (second,) = split_requests(buffer, 10)
    assert (second.rid, second.head["screen"], len(second.body)) == (8, "s-1", 5000)
    assert not buffer


def test_frames_past_their_bounds_are_refused_before_they_are_read() -> None:
    with pytest.raises(FrameError):
        encode_request(1, _head(), b"x" * (MAX_BODY + 1))
    with pytest.raises(FrameError):
        encode_request(1, {"pad": "y" * MAX_HEAD}, b"")
    # a header announcing 4 GiB: refused at once, nothing waits for the bytes
    huge = bytearray(struct.pack(">IIH", 1, 0xFFFFFFFF, 10))
    with pytest.raises(FrameError):
        split_requests(huge, 10)
    bad_head = bytearray(struct.pack(">IIH", 1, 0, 3) + b"{x]")
    with pytest.raises(FrameError):
        split_requests(bad_head, 10)
    long_answer = encode_answer(3, {"status": 400, "error": "z" * 100_000})
    assert len(long_answer) < 20_000


# ------------------------------------------------------------------ checks, one batch


@pytest.fixture
def make_checker(tmp_path: Path) -> Iterator[Callable[[], tuple[Checker, TelemetryStore]]]:
    """A checker storing into the test's own database, closed at the end (a connection
    left to the garbage collector keeps its files open into later tests)."""
    opened: list[sqlite3.Connection] = []

    def make() -> tuple[Checker, TelemetryStore]:
        db = sqlite3.connect(tmp_path / "hub.sqlite3")
        opened.append(db)
        store = TelemetryStore(lambda: db, tmp_path / "screenshots")
        return Checker(store, ScreenRegister(tmp_path), 200), store

    yield make
    for db in opened:
        db.close()


def test_a_batch_is_checked_each_and_stored_together(
    tmp_path: Path, make_checker: Callable[[], tuple[Checker, TelemetryStore]]
) -> None:
    checker, store = make_checker()
    png = _png()
    batch = [Request(i, _head(), _beat(f"b-{i:03d}", png)) for i in range(60)]
    batch.append(Request(100, _head(), b"{not json"))
    batch.append(Request(101, _head(), _beat("bad-shot", b"\x89PNG\r\n\x1a\n" + b"0" * 64)))
    batch.append(Request(102, _head("screen", "mine"), _beat("someone-else")))
    answers = dict(checker.take(batch))
    assert [answers[i]["status"] for i in range(60)] == [200] * 60
    assert answers[100]["status"] == 400 and "bad heartbeat" in answers[100]["error"]
    assert answers[101]["status"] == 400
    assert answers[102]["status"] == 403 and "someone-else" in answers[102]["error"]
    assert store.count() == 60
    assert (tmp_path / "screenshots" / "b-033.png").read_bytes() == png


def test_answers_speak_the_language_the_hub_was_asked_in(
    make_checker: Callable[[], tuple[Checker, TelemetryStore]],
) -> None:
    checker, _ = make_checker()
    es = {**_head(), "lang": "es"}
    ((_, answer),) = checker.take([Request(1, es, b"[]")])
    assert answer["status"] == 400 and "latido" in answer["error"].lower()


def test_a_batch_that_cannot_be_stored_fails_each_beat_and_the_next_goes_on(
    tmp_path: Path, make_checker: Callable[[], tuple[Checker, TelemetryStore]]
) -> None:
    (tmp_path / "screenshots").write_text("a file where the folder should be")
    checker, store = make_checker()
    answers = checker.take([Request(i, _head(), _beat(f"f-{i}", _png())) for i in range(3)])
    assert [a["status"] for _, a in answers] == [500, 500, 500]
    ((_, ok),) = checker.take([Request(9, _head(), _beat("no-picture"))])
    assert ok == {"status": 200, "screen": "no-picture"}
    assert store.count() == 1


# ------------------------------------------------------------- the worker process


def _spawn(tmp_path: Path) -> subprocess.Popen[bytes]:
    spec = {
        "data_dir": str(tmp_path),
        "database": str(tmp_path / "hub.sqlite3"),
        "max_unenrolled": 200,
    }
    env = {**os.environ, "PYTHONPATH": str(REPO)}
    return subprocess.Popen(
        [sys.executable, "-m", "signage.hub.beatworker", json.dumps(spec)],
        stdin=subprocess.PIPE,
        stdout=subprocess.PIPE,
        stderr=subprocess.PIPE,
        env=env,
    )


def _answer(proc: subprocess.Popen[bytes]) -> tuple[int, dict[str, Any]]:
    assert proc.stdout is not None
    rid, size = struct.unpack(">II", proc.stdout.read(8))
    return rid, json.loads(proc.stdout.read(size))


def test_the_worker_process_answers_and_ends_when_its_input_closes(tmp_path: Path) -> None:
    png = _png()
    with _spawn(tmp_path) as proc:
        assert proc.stdin is not None
        proc.stdin.write(encode_request(1, _head(), _beat("w-1", png)))
        proc.stdin.flush()
        first = _answer(proc)
        proc.send_signal(signal.SIGINT)  # Ctrl-C in the hub's terminal: the hub decides
        proc.stdin.write(encode_request(2, _head(), b"[1, 2"))
        proc.stdin.flush()
        got = dict([first, _answer(proc)])
        assert got[1] == {"status": 200, "screen": "w-1"}
        assert got[2]["status"] == 400
        assert (tmp_path / "screenshots" / "w-1.png").read_bytes() == png
        proc.stdin.close()
        assert proc.wait(10) == 0
        assert proc.stderr is not None and b"Traceback" not in proc.stderr.read()


def test_the_worker_ends_cleanly_on_a_frame_past_its_bounds(tmp_path: Path) -> None:
    with _spawn(tmp_path) as proc:
        assert proc.stdin is not None and proc.stderr is not None
        proc.stdin.write(struct.pack(">IIH", 1, MAX_BODY + 1, 2) + b"{}")
        proc.stdin.flush()
        assert proc.wait(10) == 3
        err = proc.stderr.read().decode()
    assert "too large" in err and "Traceback" not in err


# ------------------------------------------------------------------ inside the hub


def _children(pid: int) -> list[int]:
    out: list[int] = []
    for task in Path(f"/proc/{pid}/task").iterdir():
        try:
            out += [int(c) for c in (task / "children").read_text().split()]
        except OSError:
            continue
    return out


def _state(pid: int) -> str | None:
    """The process's state letter ('Z': a zombie), ``None`` when it is gone."""
    try:
        stat = Path(f"/proc/{pid}/stat").read_text()
    except OSError:
        return None
    return stat.rpartition(")")[2].split()[0]


def test_a_worker_that_dies_is_replaced_and_none_is_left_behind(tmp_path: Path) -> None:
    root = make_content_root(tmp_path / "root")
    png = _png()
    with run_hub(data=tmp_path / "hub", root=root) as hub:
        url = hub.url + "/api/v1/heartbeat"
        headers = {**hub.auth, "Content-Type": "application/json"}
        r = requests.post(url, data=_beat("k-1", png), headers=headers, timeout=10)
        assert r.status_code == 200 and r.json()["screen"] == "k-1"
        (worker,) = _children(hub.process.pid)
        # the screenshot was checked and stored by the worker, and the hub lists it
        listed = requests.get(hub.url + "/api/v1/screens", headers=hub.auth, timeout=10).json()
        assert [s["screenshot"] is not None for s in listed if s["screen"] == "k-1"] == [True]

        os.kill(worker, signal.SIGKILL)
        answers: list[int] = []
        deadline = time.monotonic() + 20
        while time.monotonic() < deadline:
            r = requests.post(url, data=_beat("k-2", png), headers=headers, timeout=10)
            answers.append(r.status_code)
            if r.status_code == 503:
                assert r.headers.get("Retry-After")
                assert "heartbeat" in r.json()["error"]
            if r.status_code == 200:
                break
            assert r.status_code == 503, r.text
            time.sleep(0.2)
        assert answers[-1] == 200, answers  # a new worker took it
        assert set(answers) <= {200, 503}
        (replacement,) = _children(hub.process.pid)
        assert replacement != worker
        assert _state(worker) is None  # reaped by the hub: not a zombie

        # a body past the heartbeat limit never reaches the worker
        big = b'{"screen": "big", "pad": "' + b"x" * (1 << 20) + b'"}'
        r = requests.post(url, data=big, headers=headers, timeout=10)
        assert r.status_code == 413
        assert _children(hub.process.pid) == [replacement]
    assert _state(replacement) is None  # stopped with the hub


def test_a_hub_killed_outright_leaves_no_worker_running(tmp_path: Path) -> None:
    root = make_content_root(tmp_path / "root")
    with run_hub(data=tmp_path / "hub", root=root) as hub:
        headers = {**hub.auth, "Content-Type": "application/json"}
        r = requests.post(
            hub.url + "/api/v1/heartbeat", data=_beat("z-1"), headers=headers, timeout=10
        )
        assert r.status_code == 200
        (worker,) = _children(hub.process.pid)
        hub.process.kill()
        hub.process.wait(10)
        deadline = time.monotonic() + 10
        while _state(worker) not in (None, "Z") and time.monotonic() < deadline:
            time.sleep(0.05)  # its input closed with the hub: it ends by itself
        assert _state(worker) in (None, "Z")  # ended (a zombie of init at most, reaped by it)


def test_a_worker_that_answers_out_of_bounds_is_dropped_and_its_beats_refused(
    tmp_path: Path,
) -> None:
    """A worker whose answer is not an object, or is past MAX_ANSWER, is killed and
    reaped; the beat waiting on it gets WorkerDown (the route's 503), not a hang."""
    import asyncio

    from signage.hub.beatworker import BeatProcess, WorkerDown

    for answer in (r"\000\000\000\003[1]", r"\377\377\377\377"):
        bad = tmp_path / "bad-worker"
        bad.write_text(
            "#!/bin/sh\n"
            "head -c 10 >/dev/null\n"  # one request's fixed header
            f"printf '\\000\\000\\000\\001{answer}'\n"  # request 1's answer
            "exec sleep 30\n"
        )
        bad.chmod(0o755)

        async def run(worker: Path) -> tuple[int | None, int]:
            process = BeatProcess({}, python=str(worker))
            with pytest.raises(WorkerDown):
                await asyncio.wait_for(process.submit(_head(), b"{}"), 10)
            await process.close(timeout_s=2)
            return process.pid, process.starts

        started = time.monotonic()
        assert asyncio.run(run(bad)) == (None, 1)
        assert time.monotonic() - started < 10  # killed, not waited out
