"""The hub's heartbeat worker room: heartbeats checked and stored in a process of their own.

A heartbeat with its screenshot costs ~1 ms of Python (the JSON of ~40 KB, base64, the PNG
decoded whole by Pillow, SQLite); ten thousand screens send 400-550 a second. On worker
threads of the hub's own process that work took the interpreter lock from the event loop
in 5 ms slices (``sys.getswitchinterval``), so every poll waited behind it: at 10,000
screens manifest p99 ~300 ms with the loop itself never busy longer than ~30 ms
(bench/fleet.py, bench/README.md). Here the event loop only reads the bounded body and
hands it, with who sent it, to a worker process over a pipe; the worker checks it as the
hub did (``bound_report``: JSON depth, field sizes, a real PNG; who may report for which
screen) and stores what has gathered since its last round in one batch
(``TelemetryStore.record_many``: one flush of the screenshots' filesystem, one SQLite
transaction), then answers each beat.

The pipe speaks frames (``encode_request`` / ``encode_answer``): a fixed header with the
request id and the lengths, a small JSON head and the body. Both ends bound every length
before reading it. The worker reads its standard input only and writes frames only to the
descriptor it was given (anything printed goes to stderr, the hub's log).

``BeatProcess`` (hub side, event loop) starts the worker with the first beat and again
with the first beat at least ``RESTART_AFTER_S`` after it ended; beats waiting when it
ends, or sent before it may start again, get ``WorkerDown`` (the route answers 503 with
``Retry-After``: a player beats again at its interval). An ended worker is always waited
for, so none is left a zombie; at shutdown its input is closed and it is waited for (killed
after ``STOP_TIMEOUT_S``). The worker ends by itself when its input closes, so a hub that
was killed leaves none behind either.
"""

from __future__ import annotations

import asyncio
import contextlib
import json
import os
import select
import signal
import sqlite3
import struct
import sys
import time
from collections.abc import Callable, Sequence
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any, cast

from signage.hub.limits import parse_json
from signage.hub.screens import ScreenCaller, bound_report
from signage.i18n import _, speaking
from signage.logs import area_logger
from signage.telemetry.wire import HeartbeatReport, ReportError

if TYPE_CHECKING:
    from signage.hub.screens import ScreenRegister
    from signage.hub.telemetry_store import TelemetryStore

log = area_logger("hub")

# Request frame: id, body length, head length; answer frame: id, answer length.
_REQUEST = struct.Struct(">IIH")
_ANSWER = struct.Struct(">II")
MAX_HEAD = 4096  # the JSON head: who sent it, the language, when it arrived
MAX_ANSWER = 16 * 1024  # an answer: a status and a short message
MAX_BODY = 1 << 20  # a heartbeat body, as limits.BodyLimit caps it on the way in
MAX_BATCH = 256  # beats stored in one round (one flush, one transaction)
RESTART_AFTER_S = 1.0
# The worker's niceness over the hub's: on a busy machine the event loop (polls, alerts,
# push) gets a core first and beats wait (a player waits 5 s for its answer); on an idle
# core the worker runs at full speed either way.
WORKER_NICE = 5
STOP_TIMEOUT_S = 5.0
READ_CHUNK = 1 << 20


class FrameError(ValueError):
    """A frame on the pipe broke its bounds (a bug or a dying peer): the pipe is dropped."""


class WorkerDown(RuntimeError):
    """The heartbeat worker is not running now (it ended, or is restarting)."""


# ------------------------------------------------------------------------ frames (pure)


def encode_request(rid: int, head: dict[str, Any], body: bytes) -> bytes:
    """One request frame; pure. Raises ``FrameError`` past ``MAX_HEAD`` / ``MAX_BODY``."""
    raw_head = json.dumps(head, separators=(",", ":")).encode()
    if len(raw_head) > MAX_HEAD or len(body) > MAX_BODY:
        raise FrameError(f"request frame too large: head {len(raw_head)}, body {len(body)}")
    return _REQUEST.pack(rid, len(body), len(raw_head)) + raw_head + body


def encode_answer(rid: int, answer: dict[str, Any]) -> bytes:
    """One answer frame; pure (a message too long for ``MAX_ANSWER`` is cut)."""
    raw = json.dumps(answer, separators=(",", ":")).encode()
    if len(raw) > MAX_ANSWER:
        answer = {**answer, "error": str(answer.get("error", ""))[:1000]}
        raw = json.dumps(answer, separators=(",", ":")).encode()[:MAX_ANSWER]
    return _ANSWER.pack(rid, len(raw)) + raw


@dataclass(frozen=True, slots=True)
class Request:
    """One heartbeat as the worker receives it."""

    rid: int
    head: dict[str, Any]
    body: bytes


def split_requests(buffer: bytearray, most: int) -> list[Request]:
    """Takes up to ``most`` whole request frames off the front of ``buffer`` (what is left
    is an unfinished frame); raises ``FrameError`` on a length past its bound. Pure but for
    consuming ``buffer``."""
    out: list[Request] = []
    while len(out) < most and len(buffer) >= _REQUEST.size:
        rid, body_len, head_len = _REQUEST.unpack_from(buffer)
        if body_len > MAX_BODY or head_len > MAX_HEAD:
            raise FrameError(f"request frame too large: head {head_len}, body {body_len}")
        end = _REQUEST.size + head_len + body_len
        if len(buffer) < end:
            break
        raw_head = bytes(buffer[_REQUEST.size : _REQUEST.size + head_len])
        body = bytes(buffer[_REQUEST.size + head_len : end])
        del buffer[:end]
        try:
            head = json.loads(raw_head)
        except ValueError as exc:
            raise FrameError(f"request head is not JSON: {exc}") from exc
        if not isinstance(head, dict):
            raise FrameError("request head is not an object")
        out.append(Request(rid, head, body))
    return out


# ------------------------------------------------------------------- the worker process


def read_batch(fd: int, buffer: bytearray, most: int = MAX_BATCH) -> list[Request] | None:
    """The next requests from ``fd``: waits for the first, then takes whatever else has
    already arrived (up to ``most``); ``None`` when the input closed."""
    while True:
        batch = split_requests(buffer, most)
        if batch:
            while len(batch) < most and select.select([fd], [], [], 0)[0]:
                chunk = os.read(fd, READ_CHUNK)
                if not chunk:
                    break
                buffer += chunk
                batch += split_requests(buffer, most - len(batch))
            return batch
        chunk = os.read(fd, READ_CHUNK)
        if not chunk:
            return None
        buffer += chunk


class Checker:
    """The worker's checks and storage (in the worker process; one thread).

    Args:
        store: where beats go.
        register: the enrolled screens (re-read when the file changes).
        max_unenrolled: the hub's ``policy.max_unenrolled``.
        on_db_error: called after a database error (the worker reconnects next round).
    """

    def __init__(
        self,
        store: TelemetryStore,
        register: ScreenRegister,
        max_unenrolled: int,
        on_db_error: Callable[[], None] = lambda: None,
    ) -> None:
        self.store = store
        self.register = register
        self.max_unenrolled = max_unenrolled
        self.on_db_error = on_db_error

    def check(self, request: Request) -> dict[str, Any] | HeartbeatReport:
        """A report fit to store, or the answer refusing it (400, 403)."""
        head = request.head
        lang = head.get("lang")
        with speaking(lang if isinstance(lang, str) else None):
            try:
                report = bound_report(HeartbeatReport.from_json(parse_json(request.body)))
            except (ValueError, ReportError) as exc:
                return {"status": 400, "error": _("bad heartbeat: {reason}").format(reason=exc)}
            kind = head.get("kind")
            screen = head.get("screen")
            caller = ScreenCaller(
                kind if kind in ("screen", "shared", "admin", "open") else "shared",
                screen if isinstance(screen, str) else None,
            )
            refusal = self.store.refusal(caller, report.screen, self.register, self.max_unenrolled)
        if refusal is not None:
            return {"status": 403, "error": refusal}
        return report

    def take(self, batch: Sequence[Request]) -> list[tuple[int, dict[str, Any]]]:
        """Checks every beat of ``batch``, stores the good ones in one round; the answer
        to each, in order."""
        answers: dict[int, dict[str, Any]] = {}
        good: dict[int, tuple[HeartbeatReport, float]] = {}  # by place in the batch
        for k, request in enumerate(batch):
            try:
                checked = self.check(request)
            except sqlite3.DatabaseError as exc:  # the refusal's lookup
                self.on_db_error()
                answers[k] = {"status": 500, "database": True, "error": str(exc)[:500]}
                continue
            if isinstance(checked, dict):
                answers[k] = checked
                continue
            received = request.head.get("received")
            good[k] = (checked, float(received) if isinstance(received, int | float) else 0.0)
        if good:
            stored: dict[str, Any] | None = None
            try:
                self.store.record_many(list(good.values()))
            except sqlite3.DatabaseError as exc:
                log.warning("telemetry: a batch of %d heartbeats met %s", len(good), exc)
                self.on_db_error()
                stored = {"status": 500, "database": True, "error": str(exc)[:500]}
            except OSError as exc:
                log.error("telemetry: a batch of %d heartbeats could not be stored: %s",
                          len(good), exc)  # fmt: skip
                stored = {"status": 500, "error": str(exc)[:500]}
            for k, (report, _received) in good.items():
                answers[k] = stored or {"status": 200, "screen": report.screen}
        return [(request.rid, answers[k]) for k, request in enumerate(batch)]


def serve(checker: Checker, fd_in: int, fd_out: int) -> int:
    """The worker's loop: batches in, answers out, until the input closes; 0 then, 3 when
    a frame broke its bounds."""
    buffer = bytearray()
    while True:
        try:
            batch = read_batch(fd_in, buffer)
        except FrameError as exc:
            log.error("heartbeat worker: %s; ending", exc)
            return 3
        if batch is None:
            return 0
        out = b"".join(encode_answer(rid, answer) for rid, answer in checker.take(batch))
        try:
            view = memoryview(out)
            while view:
                view = view[os.write(fd_out, view) :]
        except BrokenPipeError:
            return 0


def worker_main(spec: dict[str, Any]) -> int:
    """The worker process: ``spec`` has ``data_dir``, ``database`` and ``max_unenrolled``."""
    from signage.hub.database import BUSY_TIMEOUT_S
    from signage.hub.screens import ScreenRegister
    from signage.hub.telemetry_store import TelemetryStore
    from signage.logs import setup

    fd_out = os.dup(1)
    os.dup2(2, 1)  # anything printed goes to the hub's log, never into the answers
    with contextlib.suppress(OSError):
        os.nice(WORKER_NICE)
    # Ctrl-C in the hub's terminal reaches the whole process group: the worker ends when
    # the hub closes its input instead (no KeyboardInterrupt traceback in the hub's log).
    signal.signal(signal.SIGINT, signal.SIG_IGN)
    setup(int(spec.get("verbosity", 0)))
    data_dir = Path(spec["data_dir"])
    path = Path(spec["database"])
    held: list[sqlite3.Connection] = []

    def connect() -> sqlite3.Connection:
        if not held:
            conn = sqlite3.connect(path, timeout=BUSY_TIMEOUT_S)
            conn.execute("PRAGMA journal_mode=WAL")
            conn.execute("PRAGMA synchronous=NORMAL")
            held.append(conn)
        return held[0]

    def reconnect() -> None:  # the hub may have set a damaged file aside: open anew
        while held:
            with contextlib.suppress(sqlite3.Error):
                held.pop().close()

    store = TelemetryStore(connect, data_dir / "screenshots")
    checker = Checker(store, ScreenRegister(data_dir), int(spec["max_unenrolled"]), reconnect)
    return serve(checker, 0, fd_out)


# ---------------------------------------------------------------- the hub's side (loop)


class BeatProcess:
    """The hub's handle on its heartbeat worker (event loop thread only).

    Args:
        spec: what the worker needs (``worker_main``).
        restart_after_s: the least time between a worker's end and the next start.
        python: the interpreter to run it with.
    """

    def __init__(
        self,
        spec: dict[str, Any],
        restart_after_s: float = RESTART_AFTER_S,
        python: str = sys.executable,
    ) -> None:
        self.spec = spec
        self.restart_after_s = restart_after_s
        self.python = python
        self._proc: asyncio.subprocess.Process | None = None
        self._starting: asyncio.Task[asyncio.subprocess.Process] | None = None
        self._reader: asyncio.Task[None] | None = None
        self._pending: dict[int, asyncio.Future[dict[str, Any]]] = {}
        self._next_id = 0
        self._ended_at = -1e9
        self._closed = False
        self.starts = 0  # workers started so far (tests, benches)

    @property
    def pid(self) -> int | None:
        """The running worker's process id (``None``: none running)."""
        return None if self._proc is None else self._proc.pid

    async def submit(self, head: dict[str, Any], body: bytes) -> dict[str, Any]:
        """Hands one beat to the worker and waits for its answer (``status``, then
        ``screen`` or ``error``). Raises ``WorkerDown`` when no worker can take it now,
        ``FrameError`` when ``body`` is past ``MAX_BODY``."""
        proc = await self._running()
        stdin = proc.stdin
        if stdin is None:  # never: it is started with a pipe
            raise WorkerDown("the heartbeat worker has no input")
        self._next_id = (self._next_id + 1) & 0xFFFFFFFF
        rid = self._next_id
        done: asyncio.Future[dict[str, Any]] = asyncio.get_running_loop().create_future()
        self._pending[rid] = done
        try:
            frame = encode_request(rid, head, body)  # FrameError past the bounds
            stdin.write(frame)
            await stdin.drain()
        except (ConnectionError, RuntimeError) as exc:  # it ended while we wrote
            self._pending.pop(rid, None)
            raise WorkerDown(str(exc)) from exc
        except BaseException:
            self._pending.pop(rid, None)
            raise
        try:
            return await done
        finally:
            self._pending.pop(rid, None)

    async def _running(self) -> asyncio.subprocess.Process:
        if self._closed:
            raise WorkerDown("the hub is stopping")
        if self._proc is not None and self._proc.returncode is None:
            return self._proc
        if self._starting is None:
            if time.monotonic() - self._ended_at < self.restart_after_s:
                raise WorkerDown("the heartbeat worker ended; it starts again shortly")
            self._starting = asyncio.get_running_loop().create_task(self._start())
        try:
            return await asyncio.shield(self._starting)
        except OSError as exc:
            raise WorkerDown(f"cannot start the heartbeat worker: {exc}") from exc

    async def _start(self) -> asyncio.subprocess.Process:
        try:
            proc = await asyncio.create_subprocess_exec(
                self.python,
                "-m",
                "signage.hub.beatworker",
                json.dumps(self.spec),
                stdin=asyncio.subprocess.PIPE,
                stdout=asyncio.subprocess.PIPE,
            )
        except OSError:
            self._ended_at = time.monotonic()
            log.exception("cannot start the heartbeat worker")
            raise
        finally:
            self._starting = None
        self.starts += 1
        self._proc = proc
        self._reader = asyncio.get_running_loop().create_task(self._read(proc))
        return proc

    async def _read(self, proc: asyncio.subprocess.Process) -> None:
        stdout = proc.stdout
        try:
            while stdout is not None:
                rid, size = _ANSWER.unpack(await stdout.readexactly(_ANSWER.size))
                if size > MAX_ANSWER:
                    raise FrameError(f"answer frame of {size} bytes")
                answer = json.loads(await stdout.readexactly(size))
                if not isinstance(answer, dict):
                    raise FrameError("an answer that is not an object")
                done = self._pending.pop(rid, None)
                if done is not None and not done.done():
                    done.set_result(cast(dict[str, Any], answer))
        except (asyncio.IncompleteReadError, ConnectionError, FrameError, ValueError) as exc:
            if not isinstance(exc, asyncio.IncompleteReadError):
                log.error("heartbeat worker: a bad answer (%s); restarting it", exc)
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
        finally:
            if self._proc is proc:
                self._proc = None
            self._ended_at = time.monotonic()
            pending, self._pending = self._pending, {}
            for done in pending.values():
                if not done.done():
                    done.set_exception(WorkerDown("the heartbeat worker ended"))
            if proc.stdin is not None:
                proc.stdin.close()
            code = await proc.wait()  # reaped: never a zombie
            if not self._closed:
                log.warning(
                    "the heartbeat worker (pid %d) ended with code %s; a new one starts "
                    "with the next heartbeat",
                    proc.pid,
                    code,
                )

    async def close(self, timeout_s: float = STOP_TIMEOUT_S) -> None:
        """Stops the worker: closes its input (it finishes what it has and ends), waits
        ``timeout_s``, then kills it; waits for it either way."""
        self._closed = True
        if self._starting is not None:
            with contextlib.suppress(OSError, asyncio.CancelledError):
                await self._starting
        proc = self._proc
        if proc is not None and proc.stdin is not None:
            proc.stdin.close()
        if proc is not None:
            try:
                await asyncio.wait_for(proc.wait(), timeout_s)
            except TimeoutError:
                with contextlib.suppress(ProcessLookupError):
                    proc.kill()
                await proc.wait()
        if self._reader is not None:
            with contextlib.suppress(asyncio.CancelledError):
                await self._reader


if __name__ == "__main__":
    raise SystemExit(worker_main(json.loads(sys.argv[1])))
