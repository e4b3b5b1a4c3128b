"""The screen's time room: what time it is for the organisation, whatever this clock says.

A screen's own clock may be hours or days off (no battery-backed clock, NTP blocked). The
organisation's time is the hub's: every exchange with it (the feed's HTTP ``Date``, the
hub's answer to a heartbeat) tells it, and the signed manifest's ``published`` is a moment
the true time is known to be past. Each is kept as an ``Anchor`` on the monotonic clock,
so the estimate goes on ticking while the screen is offline and is not disturbed when the
wall clock is stepped (timesyncd setting it at boot).

Rules (pure functions of a ``Timebase``, the local wall time and a monotonic reading):

- **hub time** (``hub_now``): the last told hub time plus the monotonic time since, never
  before the signed floor. Unsigned: it decides when alerts end and what schedules play,
  never whether a feed has expired (freeze protection judges that by the local clock).
- **floor** (``floor_now``): the latest signed ``published`` plus the monotonic time since
  it arrived; the true time is at least this.
- **offset** (``offset_s``): hub time minus local time (positive: this clock is behind);
  without hub time, how far the local clock is proven behind the floor; else unknown.
- **schedules** (``schedule_now``): the local clock, unless the offset is over
  ``SCHEDULE_OFFSET_S``: then the hub's time (the local clock is smoother and agrees with
  the rest of the system; a minute is past any sampling error).
- **alerts** (``alert_now``): an alert ends when the time it is judged by reaches its
  ``expires``. That time is the hub time when known; else the latest moment the screen can
  prove at the alert's receipt (its ``sent``, or the signed floor then, whichever is
  later) plus the monotonic time since receipt. So a fast clock never hides an alert
  early and a slow one never keeps it past its lifetime; an alert that arrives late
  without any hub time shows at most its lifetime from receipt.

Receipts outlive a restart (``TimeKeeper(state_file=...)``, in the cache folder): within
the same boot the monotonic clock goes on, so the time since receipt is exact; after a
reboot it is the local clock's elapsed time (never negative). A restarted screen therefore
does not show an alert's whole lifetime again. The hub's time, within the same boot, is
kept too, so a restarted player judges by it before its first exchange.

``TimeKeeper`` is the thin, thread-safe shell that holds the current ``Timebase`` and the
alerts' receipts, reads the clocks, and tells listeners when the answer moved.
"""

from __future__ import annotations

import json
import logging
import threading
import time
from collections.abc import Callable, Iterable, Mapping
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final

from signage.values import Value

if TYPE_CHECKING:  # alerts' types load with the first alert (signage.model_extra)
    from signage.model import Alert

__all__ = [
    "FLAG_OFFSET_S",
    "SCHEDULE_OFFSET_S",
    "Anchor",
    "Receipt",
    "TimeKeeper",
    "Timebase",
    "alert_now",
    "floor_now",
    "hub_now",
    "offset_s",
    "org_now",
    "parse_http_date",
    "receipts_for",
    "schedule_now",
    "with_floor",
    "with_hub_sample",
]

log = logging.getLogger("signage.player")

SCHEDULE_OFFSET_S = 60.0  # beyond this, schedules (and the on-screen clock) follow the hub
FLAG_OFFSET_S = 60.0  # `signage status` flags a screen whose clock is further off than this
DRIFT = 1e-4  # monotonic clocks drift well under 100 ppm: an old sample's error grows so
STEP_S = 2.0  # a new sample this far from the projection replaces it whatever its error
NOTIFY_S = 1.0  # listeners hear of a change of the estimate larger than this
MAX_RECEIPTS = 256  # kept on disk; a screen has a handful of alerts at a time
MAX_STATE_BYTES = 64 * 1024  # a state file larger than this is not read
BOOT_ID = Path("/proc/sys/kernel/random/boot_id")


class Anchor(Value):
    """A moment of the organisation's time and the monotonic reading it belongs to."""

    __slots__ = ("at", "mono")
    _fields = ("at", "mono")

    def __init__(self, at: datetime, mono: float) -> None:
        self.at: Final = at
        self.mono: Final = mono

    def project(self, mono: float) -> datetime:
        """The moment this anchor says it is at monotonic reading ``mono``."""
        return self.at + timedelta(seconds=mono - self.mono)


class Timebase(Value):
    """What the screen knows of the organisation's time.

    Args:
        hub: the hub's time as last told (unsigned), ``None`` before any exchange.
        error_s: that sample's uncertainty: half its round trip plus the ``Date`` rounding.
        floor: a signed lower bound (a manifest's ``published`` when it arrived).
    """

    __slots__ = ("error_s", "floor", "hub")
    _fields = ("hub", "error_s", "floor")

    def __init__(
        self, hub: Anchor | None = None, error_s: float = 0.0, floor: Anchor | None = None
    ) -> None:
        self.hub: Final = hub
        self.error_s: Final = error_s
        self.floor: Final = floor


class Receipt(Value):
    """When the screen first had an alert: the monotonic reading and the signed floor then."""

    __slots__ = ("floor", "mono")
    _fields = ("mono", "floor")

    def __init__(self, mono: float, floor: datetime | None = None) -> None:
        self.mono: Final = mono
        self.floor: Final = floor


def parse_http_date(value: str | None) -> datetime | None:
    """An HTTP ``Date`` header as an aware moment, ``None`` when absent or unreadable."""
    if not value or len(value) > 64:
        return None
    from email.utils import parsedate_to_datetime  # here: ~5 ms a player's start need not pay

    try:
        moment = parsedate_to_datetime(value)
    except (TypeError, ValueError, IndexError):
        return None
    if moment.tzinfo is None:
        moment = moment.replace(tzinfo=UTC)
    return moment


def with_hub_sample(
    base: Timebase, told: datetime, sent_mono: float, recv_mono: float, resolution_s: float = 0.0
) -> Timebase:
    """``base`` after the hub said ``told`` during an exchange from ``sent_mono`` to ``recv_mono``.

    The told time is taken at the middle of the exchange. ``resolution_s`` is how coarse it
    is (1 for an HTTP ``Date``, which is cut to whole seconds: half of it is added back).
    A sample replaces the kept one when it is as precise (the kept one's error grows with
    its age) or disagrees with it by more than ``STEP_S`` (the hub's clock was set).
    """
    if recv_mono < sent_mono:
        return base
    mid = (sent_mono + recv_mono) / 2
    error = (recv_mono - sent_mono) / 2 + resolution_s / 2
    anchor = Anchor(told + timedelta(seconds=resolution_s / 2), mid)
    old = base.hub
    if old is not None:
        aged = base.error_s + DRIFT * max(0.0, mid - old.mono)
        moved = abs((old.project(mid) - anchor.at).total_seconds())
        if error > aged and moved <= STEP_S + error + aged:
            return base
    return Timebase(hub=anchor, error_s=error, floor=base.floor)


def with_floor(base: Timebase, published: datetime, mono: float) -> Timebase:
    """``base`` after a signed manifest published at ``published`` arrived at ``mono``."""
    if base.floor is not None and base.floor.project(mono) >= published:
        return base
    return Timebase(hub=base.hub, error_s=base.error_s, floor=Anchor(published, mono))


def floor_now(base: Timebase, mono: float) -> datetime | None:
    """The signed lower bound of the true time at ``mono``, if any."""
    return None if base.floor is None else base.floor.project(mono)


def hub_now(base: Timebase, mono: float) -> datetime | None:
    """The hub's time at ``mono`` (never before the signed floor), ``None`` when never told."""
    if base.hub is None:
        return None
    estimate = base.hub.project(mono)
    floor = floor_now(base, mono)
    return estimate if floor is None else max(estimate, floor)


def org_now(base: Timebase, local: datetime, mono: float) -> datetime:
    """The organisation's time: the hub's, else the local clock but never before the floor."""
    told = hub_now(base, mono)
    if told is not None:
        return told
    floor = floor_now(base, mono)
    return local if floor is None else max(local, floor)


def offset_s(base: Timebase, local: datetime, mono: float) -> float | None:
    """Hub time minus local time in seconds (positive: this clock is behind).

    Without hub time: how far the local clock is proven behind the signed floor, or
    ``None`` when nothing says it is off.
    """
    told = hub_now(base, mono)
    if told is not None:
        return (told - local).total_seconds()
    floor = floor_now(base, mono)
    if floor is not None and floor > local:
        return (floor - local).total_seconds()
    return None


def schedule_now(
    base: Timebase, local: datetime, mono: float, threshold_s: float = SCHEDULE_OFFSET_S
) -> datetime:
    """The moment schedules are planned at: local, or the organisation's when far off."""
    off = offset_s(base, local, mono)
    if off is not None and abs(off) > threshold_s:
        return local + timedelta(seconds=off)
    return local


def receipt_key(alert: Alert) -> tuple[str, str]:
    """An alert's identity for receipts: an update (new ``sent``) is a new receipt."""
    return (alert.id, alert.sent.isoformat())


def receipts_for(
    kept: Mapping[tuple[str, str], Receipt], alerts: Iterable[Alert], base: Timebase, mono: float
) -> dict[tuple[str, str], Receipt]:
    """The receipts of ``alerts``: kept ones stay, new ones are stamped now; gone ones drop."""
    floor = floor_now(base, mono)
    out: dict[tuple[str, str], Receipt] = {}
    for alert in alerts:
        key = receipt_key(alert)
        out[key] = kept.get(key) or Receipt(mono, floor)
    return out


def alert_now(base: Timebase, alert: Alert, receipt: Receipt | None, mono: float) -> datetime:
    """The moment ``alert``'s expiry is judged at (see the module docstring).

    ``receipt`` ``None``: the alert has not arrived yet (a source deciding whether to pass
    it on): it is judged as if it arrived now.
    """
    told = hub_now(base, mono)
    if told is not None:
        return told
    if receipt is None:
        receipt = Receipt(mono, floor_now(base, mono))
    start = alert.sent if receipt.floor is None else max(alert.sent, receipt.floor)
    return start + timedelta(seconds=max(0.0, mono - receipt.mono))


Receipts = dict[tuple[str, str], Receipt]


def state_to_json(
    base: Timebase,
    receipts: Mapping[tuple[str, str], Receipt],
    boot: str,
    wall: datetime,
    mono: float,
) -> dict[str, Any]:
    """What survives a restart: receipts (with the local wall time they are at) and, for the
    same boot, the hub's time and the floor."""

    def anchor(a: Anchor | None) -> list[Any] | None:
        return None if a is None else [a.at.isoformat(), a.mono]

    return {
        "boot": boot,
        "wall": wall.isoformat(),
        "mono": mono,
        "hub": anchor(base.hub),
        "error_s": base.error_s,
        "floor": anchor(base.floor),
        "receipts": [
            [key[0], key[1], r.mono, None if r.floor is None else r.floor.isoformat()]
            for key, r in list(receipts.items())[-MAX_RECEIPTS:]
        ],
    }


def state_from_json(data: Any, boot: str, wall: datetime, mono: float) -> tuple[Timebase, Receipts]:
    """``state_to_json``'s output read back at (``boot``, ``wall``, ``mono``); anything
    unreadable is dropped (never an error: the screen then starts knowing nothing)."""
    if not isinstance(data, dict):
        return Timebase(), {}
    try:
        same_boot = data.get("boot") == boot
        then_mono = float(data["mono"])
        then_wall = datetime.fromisoformat(str(data["wall"]))
        # the monotonic reading now that stands for the saved one: exact within a boot,
        # else moved back by the local clock's elapsed time (never forward)
        shift = (
            0.0 if same_boot else mono - max(0.0, (wall - then_wall).total_seconds()) - then_mono
        )

        def anchor(raw: Any) -> Anchor | None:
            if not isinstance(raw, list) or len(raw) != 2:
                return None
            return Anchor(datetime.fromisoformat(str(raw[0])), float(raw[1]) + shift)

        base = Timebase()
        if same_boot:
            base = Timebase(anchor(data.get("hub")), float(data.get("error_s") or 0.0))
            base = Timebase(hub=base.hub, error_s=base.error_s, floor=anchor(data.get("floor")))
        receipts: Receipts = {}
        for item in data.get("receipts") or []:
            if not isinstance(item, list) or len(item) != 4:
                continue
            floor = None if item[3] is None else datetime.fromisoformat(str(item[3]))
            receipts[(str(item[0]), str(item[1]))] = Receipt(float(item[2]) + shift, floor)
    except (KeyError, TypeError, ValueError):
        return Timebase(), {}
    return base, dict(list(receipts.items())[-MAX_RECEIPTS:])


def read_boot_id() -> str:
    """This boot's id (Linux), or ``""`` where there is none (then every start is a boot)."""
    try:
        with BOOT_ID.open("rb") as fh:
            return fh.read(64).decode("ascii", "replace").strip()
    except OSError:
        return ""


class TimeKeeper:
    """Holds the screen's ``Timebase`` and alert receipts; any thread may feed or ask it.

    Args:
        wall: the local aware time; mono: the monotonic clock (both injected by tests).
        schedule_offset_s: the offset beyond which schedules follow the hub.
        state_file: where receipts and this boot's hub time are kept across restarts.
        boot: this boot's id (read from the kernel unless given).
    """

    def __init__(
        self,
        *,
        wall: Callable[[], datetime] | None = None,
        mono: Callable[[], float] = time.monotonic,
        schedule_offset_s: float = SCHEDULE_OFFSET_S,
        state_file: Path | None = None,
        boot: str | None = None,
    ) -> None:
        self._wall = wall or (lambda: datetime.now(UTC))
        self.mono = mono
        self.schedule_offset_s = schedule_offset_s
        self._lock = threading.Lock()
        self._base = Timebase()
        self._receipts: Receipts = {}
        self._listeners: list[Callable[[], None]] = []
        self._told: tuple[float | None, bool] = (None, False)  # offset and mode last told
        self.state_file = state_file
        self._boot = read_boot_id() if boot is None else boot
        self._saved: tuple[Any, ...] | None = None
        if state_file is not None:
            self._load(state_file)

    @property
    def base(self) -> Timebase:
        with self._lock:
            return self._base

    def subscribe(self, listener: Callable[[], None]) -> None:
        """``listener()`` is called (on the feeding thread) when the answer moved."""
        with self._lock:
            self._listeners.append(listener)

    def observe_hub(
        self, told: datetime, sent_mono: float, recv_mono: float, resolution_s: float = 0.0
    ) -> None:
        """The hub said ``told`` during an exchange between these monotonic readings."""
        with self._lock:
            self._base = with_hub_sample(self._base, told, sent_mono, recv_mono, resolution_s)
        self._changed()

    def observe_http_date(self, value: str | None, sent_mono: float, recv_mono: float) -> None:
        """An HTTP ``Date`` header from the hub or the feed's server (ignored if unreadable)."""
        told = parse_http_date(value)
        if told is not None:
            self.observe_hub(told, sent_mono, recv_mono, resolution_s=1.0)

    def observe_signed(self, published: datetime | None) -> None:
        """A verified manifest's ``published``: the true time is past it."""
        if published is None:
            return
        with self._lock:
            self._base = with_floor(self._base, published, self.mono())
        self._changed()

    def offset_s(self) -> float | None:
        """Hub time minus local time now (see ``offset_s``)."""
        return offset_s(self.base, self._wall(), self.mono())

    def now(self) -> datetime:
        """The organisation's time now."""
        return org_now(self.base, self._wall(), self.mono())

    def schedule_now(self) -> datetime:
        """The moment schedules are planned at now."""
        return schedule_now(self.base, self._wall(), self.mono(), self.schedule_offset_s)

    def received(self, alerts: Iterable[Alert]) -> None:
        """The alerts the screen now has (their first sight is their receipt)."""
        mono = self.mono()
        with self._lock:
            self._receipts = receipts_for(self._receipts, alerts, self._base, mono)
        self.save()

    def save(self) -> None:
        """Writes receipts and the hub's time to ``state_file`` (atomic) if they changed."""
        if self.state_file is None:
            return
        with self._lock:
            base, receipts = self._base, dict(self._receipts)
        key = (base.hub, base.floor, tuple(receipts.items()))
        if key == self._saved:
            return
        from signage.durable import write_atomic

        data = state_to_json(base, receipts, self._boot, self._wall(), self.mono())
        try:
            write_atomic(self.state_file, json.dumps(data).encode(), sync_dir=False)
        except OSError as exc:
            log.warning("clock state %s not written: %s", self.state_file, exc)
            return
        self._saved = key

    def _load(self, path: Path) -> None:
        try:
            with path.open("rb") as fh:
                raw = fh.read(MAX_STATE_BYTES + 1)
        except FileNotFoundError:
            return
        except OSError as exc:
            log.warning("clock state %s not read: %s", path, exc)
            return
        if len(raw) > MAX_STATE_BYTES:
            log.warning("clock state %s is over %d bytes; ignored", path, MAX_STATE_BYTES)
            return
        try:
            data = json.loads(raw)
        except ValueError:
            log.warning("clock state %s is not JSON; ignored", path)
            return
        self._base, self._receipts = state_from_json(data, self._boot, self._wall(), self.mono())
        if isinstance(data, dict) and data.get("boot") == self._boot:
            # The file says exactly this (same boot: nothing shifted): a restart does not
            # write it again, with an fsync, before its first slide.
            self._saved = (self._base.hub, self._base.floor, tuple(self._receipts.items()))

    def alert_now(self, alert: Alert) -> datetime:
        """The moment ``alert``'s expiry is judged at now."""
        with self._lock:
            base, receipt = self._base, self._receipts.get(receipt_key(alert))
        return alert_now(base, alert, receipt, self.mono())

    def alert_active(self, alert: Alert) -> bool:
        """Whether ``alert`` has not yet reached its expiry by ``alert_now``."""
        return alert.active_at(self.alert_now(alert))

    def _changed(self) -> None:
        off = self.offset_s()
        far = off is not None and abs(off) > self.schedule_offset_s
        with self._lock:
            last, was_far = self._told
            moved = (last is None) != (off is None) or (
                off is not None and last is not None and abs(off - last) > NOTIFY_S
            )
            if not moved and far == was_far:
                return
            self._told = (off, far)
            listeners = list(self._listeners)
        self.save()  # only when the answer moved: not a write per heartbeat
        if off is not None and (far != was_far or last is None):
            log.info(
                "clock offset to the hub: %+.1f s%s",
                off,
                " (schedules follow the hub's time)" if far else "",
            )
        for listener in listeners:
            try:
                listener()
            except Exception:
                log.exception("a clock listener failed")
