"""Proof-of-play upload: a player's events spooled on disk and sent to the hub in batches.

``EventUplink`` listens to the ``EventLog`` (``events.subscribe(uplink.offer)``). ``offer``
only stamps the event with a unique ``eid`` and queues it in memory (it runs on the GUI
thread, so it never touches the disk or the network). One background thread does the rest:

1. appends queued events to the open spool segment (``spool/seg-<n>.jsonl``), one fsync per
   batch written;
2. closes that segment and POSTs the oldest segments to ``{hub}/api/v1/events`` in batches
   of at most ``batch_size`` events; a segment is deleted only after the hub accepted all of
   it;
3. on failure (hub down, 5xx, timeout, 401) waits with exponential backoff and jitter.

Nothing is duplicated: the hub ignores an ``eid`` it already has, so a crash between
"accepted" and "segment deleted" only causes a harmless resend. Nothing is lost across a
restart: segments are read back at start. The spool is bounded (50 MB by default): past it
the oldest segment is dropped with a log line saying how many events went. Events offered
in the last instant before a crash (not yet written) are the only ones that can be lost;
the ``--events`` file keeps them anyway.
"""

from __future__ import annotations

import json
import os
import random
import threading
import time
import uuid
from collections import deque
from collections.abc import Callable
from dataclasses import dataclass
from pathlib import Path
from typing import TYPE_CHECKING, Any

import requests

from signage.logs import area_logger
from signage.telemetry.wire import AUTH_REFUSED_HINT, EVENTS_PATH, events_body, rejected_in

if TYPE_CHECKING:
    from signage.config import PlayerConfig

__all__ = ["EventUplink", "UplinkStats", "uplink_for"]

log = area_logger("uplink")

DEFAULT_MAX_SPOOL_BYTES = 50 * 1024 * 1024
DEFAULT_SEGMENT_BYTES = 1024 * 1024
DEFAULT_BATCH_SIZE = 500
MAX_QUEUED = 10_000  # events held in memory while the spool cannot be written
_PREFIX, _SUFFIX = "seg-", ".jsonl"


@dataclass(frozen=True, slots=True)
class UplinkStats:
    """Counters since start (for logs, status and tests)."""

    offered: int
    sent: int
    dropped: int
    pending_segments: int
    pending_bytes: int
    last_error: str | None


def _segment_number(path: Path) -> int:
    try:
        return int(path.name[len(_PREFIX) : -len(_SUFFIX)])
    except ValueError:
        return -1


def _read_segment(path: Path) -> list[dict[str, Any]]:
    """The complete events of a segment (a torn last line from a crash is skipped)."""
    events: list[dict[str, Any]] = []
    try:
        text = path.read_text(encoding="utf-8")
    except FileNotFoundError:
        return events
    for line in text.splitlines():
        try:
            item = json.loads(line)
        except json.JSONDecodeError:
            continue
        if isinstance(item, dict) and isinstance(item.get("eid"), str):
            events.append(item)
    return events


def _fsync_dir(folder: Path) -> None:
    fd = os.open(folder, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


class EventUplink:
    """Sends proof-of-play events to the hub, keeping them on disk until it has them.

    Args:
        hub_url: the hub's base URL (``http://hub:8750``).
        token: the hub's bearer token, or ``None`` for a hub without one.
        spool_dir: where unsent events wait (created).
        screen: added as ``screen`` to events that have none (``stats``, ``feed_applied``).
        max_spool_bytes: past this the oldest segments are dropped (logged).
        batch_size: events per POST.
        flush_s: how long events gather in memory before being written and sent.
        backoff_s: first wait after a failure; doubles up to ``max_backoff_s`` (+/- 20 %).
        timeout_s: connect and read timeout of each POST.
        session: the HTTP session (tests may pass one; a new one by default).
    """

    def __init__(
        self,
        hub_url: str,
        token: str | None,
        spool_dir: Path,
        *,
        screen: str | None = None,
        max_spool_bytes: int = DEFAULT_MAX_SPOOL_BYTES,
        segment_bytes: int = DEFAULT_SEGMENT_BYTES,
        batch_size: int = DEFAULT_BATCH_SIZE,
        flush_s: float = 1.0,
        backoff_s: float = 1.0,
        max_backoff_s: float = 60.0,
        timeout_s: float = 10.0,
        session: requests.Session | None = None,
        ca_bundle: str | None = None,
        rng: Callable[[], float] = random.random,
    ) -> None:
        self._url = hub_url.rstrip("/") + EVENTS_PATH
        self._token = token
        self._spool = spool_dir
        self._screen = screen
        self._max_bytes = max_spool_bytes
        self._segment_bytes = segment_bytes
        self._batch_size = max(1, batch_size)
        self._flush_s = flush_s
        self._backoff_s = backoff_s
        self._max_backoff_s = max_backoff_s
        self._timeout_s = timeout_s
        self._session = session
        self._verify: str | bool = ca_bundle or True  # ca_file: system CAs + the org's
        self._rng = rng
        self._queue: deque[dict[str, Any]] = deque(maxlen=MAX_QUEUED)
        self._wake = threading.Condition()
        self._disk = threading.Lock()  # the worker and stop() may both write the spool
        self._stopping = False
        self._force = False
        self._last_send_s = 0.0
        self._thread: threading.Thread | None = None
        self._open_segment: Path | None = None
        self._next_number = 0
        self._failures = 0
        self._offered = 0
        self._sent = 0
        self._dropped = 0
        self._last_error: str | None = None

    # ------------------------------------------------------------------ public API

    def offer(self, event: dict[str, Any]) -> None:
        """Queues one event (an ``EventLog`` listener; cheap, never blocks on I/O)."""
        record = dict(event)
        record.setdefault("eid", uuid.uuid4().hex)
        if self._screen is not None:
            record.setdefault("screen", self._screen)
        with self._wake:
            if len(self._queue) == MAX_QUEUED:  # the spool has been unwritable for a while
                self._dropped += 1  # the deque drops the oldest
            self._queue.append(record)
            self._offered += 1
            if len(self._queue) >= self._batch_size:
                self._wake.notify()

    def start(self) -> None:
        """Reads back the spool left by a previous run and starts sending."""
        if self._thread is not None:
            return
        try:
            self._spool.mkdir(parents=True, exist_ok=True)
        except OSError as exc:  # the player plays on; events wait in memory (bounded)
            self._note_failure(f"spool folder {self._spool} unusable: {exc.strerror}")
        numbers = [_segment_number(p) for p in self._segments()]
        self._next_number = max(numbers, default=-1) + 1
        self._stopping = False
        self._thread = threading.Thread(target=self._run, name="signage-uplink", daemon=True)
        self._thread.start()

    def stop(self, timeout_s: float = 5.0, *, last_send_s: float = 2.0) -> None:
        """Writes what is queued to the spool and stops the thread.

        When the hub answered the last attempt, one last send is tried first, each request
        bounded by ``last_send_s`` (0: none); whatever is not sent waits in the spool.
        """
        with self._wake:
            self._stopping = True
            self._last_send_s = last_send_s
            self._wake.notify()
        if self._thread is not None:
            self._thread.join(timeout_s)
            self._thread = None
        self._write_queued()  # anything offered after the thread ended
        if self._session is not None:
            self._session.close()

    def flush_now(self) -> None:
        """Asks the thread to write and send at once (ignores the current backoff)."""
        with self._wake:
            self._force = True
            self._wake.notify()

    def stats(self) -> UplinkStats:
        segments = self._segments()
        size = 0
        for seg in segments:
            try:
                size += seg.stat().st_size
            except FileNotFoundError:
                continue
        return UplinkStats(
            self._offered, self._sent, self._dropped, len(segments), size, self._last_error
        )

    # ------------------------------------------------------------------- the thread

    def _run(self) -> None:
        next_send = 0.0
        while True:
            with self._wake:
                if not self._stopping and not self._force:
                    self._wake.wait(timeout=self._flush_s)
                stopping, forced = self._stopping, self._force
                self._force = False
            try:
                self._write_queued()
                if stopping:
                    if self._last_send_s > 0 and self._last_error is None:
                        self._send_all(timeout_s=self._last_send_s)
                    return
                now = time.monotonic()
                if forced or now >= next_send:
                    next_send = 0.0 if self._send_all() else now + self._next_backoff()
            except Exception:  # the uplink must never take the player down
                log.exception("proof-of-play upload failed unexpectedly")
                next_send = time.monotonic() + self._next_backoff()

    def _next_backoff(self) -> float:
        self._failures += 1
        base = min(self._max_backoff_s, self._backoff_s * float(2 ** (self._failures - 1)))
        return base * (0.8 + 0.4 * self._rng())

    def _segments(self) -> list[Path]:
        try:
            found = [p for p in self._spool.glob(f"{_PREFIX}*{_SUFFIX}") if _segment_number(p) >= 0]
        except OSError:  # no spool folder (yet), or a file in its way
            return []
        return sorted(found, key=_segment_number)

    def _write_queued(self) -> None:
        with self._wake:
            batch = list(self._queue)
            self._queue.clear()
        if not batch:
            return
        try:
            with self._disk:
                self._append(batch)
        except OSError as exc:
            with self._wake:  # keep them in memory (bounded) until the disk takes them
                room = MAX_QUEUED - len(self._queue)
                keep = batch[len(batch) - room :] if room > 0 else []
                self._dropped += len(batch) - len(keep)
                self._queue.extendleft(reversed(keep))
            self._note_failure(f"cannot write the spool in {self._spool}: {exc.strerror}")

    def _append(self, batch: list[dict[str, Any]]) -> None:
        self._spool.mkdir(parents=True, exist_ok=True)
        if self._open_segment is None or not self._open_segment.exists():
            self._open_segment = self._spool / f"{_PREFIX}{self._next_number:09d}{_SUFFIX}"
            self._next_number += 1
        data = "".join(
            json.dumps(e, ensure_ascii=False, separators=(",", ":"), default=str) + "\n"
            for e in batch
        ).encode("utf-8")
        with self._open_segment.open("ab") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        if self._open_segment.stat().st_size >= self._segment_bytes:
            self._open_segment = None
        _fsync_dir(self._spool)
        self._enforce_bound()

    def _enforce_bound(self) -> None:
        segments = self._segments()
        sizes = {seg: seg.stat().st_size for seg in segments}
        total = sum(sizes.values())
        while total > self._max_bytes and len(segments) > 1:
            oldest = segments.pop(0)
            count = len(_read_segment(oldest))
            oldest.unlink(missing_ok=True)
            total -= sizes[oldest]
            self._dropped += count
            if oldest == self._open_segment:
                self._open_segment = None
            log.warning(
                "proof-of-play spool over %d bytes while the hub is unreachable: dropped the "
                "oldest %d event(s) (%s)",
                self._max_bytes,
                count,
                oldest.name,
            )

    def _send_all(self, timeout_s: float | None = None) -> bool:
        """Sends every spooled segment, oldest first; False at the first failure."""
        with self._disk:
            self._open_segment = None  # new events go to a new segment while these are sent
            segments = self._segments()
        for segment in segments:
            events = _read_segment(segment)
            for start in range(0, len(events), self._batch_size):
                if not self._post(events[start : start + self._batch_size], timeout_s):
                    return False
            with self._disk:
                segment.unlink(missing_ok=True)
        self._failures = 0
        return True

    def _post(self, events: list[dict[str, Any]], timeout_s: float | None = None) -> bool:
        if self._session is None:
            self._session = requests.Session()
        headers = {"Content-Type": "application/json"}
        if self._token:
            headers["Authorization"] = f"Bearer {self._token}"
        body = events_body(events)
        try:
            response = self._session.post(
                self._url,
                data=body,
                headers=headers,
                timeout=timeout_s or self._timeout_s,
                verify=self._verify,
            )
        except requests.RequestException as exc:
            self._note_failure(f"hub unreachable: {exc.__class__.__name__}")
            return False
        if response.status_code in (400, 413, 422):
            # The hub will never take this batch: keeping it would block every later one.
            self._note_failure(
                f"hub refused a batch ({response.status_code}): {response.text[:200]}"
            )
            log.error("dropping %d event(s) the hub refused", len(events))
            self._dropped += len(events)
            return True
        if response.status_code >= 300:
            hint = AUTH_REFUSED_HINT if response.status_code in (401, 403) else ""
            self._note_failure(f"hub answered {response.status_code}: {response.text[:200]}{hint}")
            return False
        try:
            refused = rejected_in(response.json())
        except ValueError:
            refused = []
        if refused:
            log.warning("hub refused %d event(s) of a batch: %s", len(refused), refused[:3])
        self._sent += len(events) - len(refused)
        if self._last_error is not None:
            log.info("proof-of-play upload resumed")
        self._last_error = None
        return True

    def _note_failure(self, reason: str) -> None:
        if reason != self._last_error:
            log.warning("proof-of-play upload waiting: %s (events are kept on disk)", reason)
        self._last_error = reason


def uplink_for(config: PlayerConfig) -> EventUplink | None:
    """The uplink a player with this configuration runs, ``None`` without a hub.

    The hub is ``config.hub_url`` and the token ``config.hub_token()`` (as for heartbeats;
    an unreadable file is logged and the uplink sends without it, so events still spool).
    Spools under ``{cache}/uplink``.
    Wire it as ``events.subscribe(up.offer); up.start()`` and ``up.stop()`` at exit.
    """
    hub = config.hub_url
    if hub is None:
        return None
    from signage.trust import bundle_for

    return EventUplink(
        hub,
        config.hub_token(),
        config.cache / "uplink",
        screen=config.screen,
        ca_bundle=bundle_for(config),
    )
