"""Logging: rate-limited repeats with counts, bounded memory, journald priorities, tally."""

from __future__ import annotations

import io
import logging
from collections.abc import Iterator

import pytest

from signage.logs import ErrorTally, RateLimitFilter, area_logger, setup, verbosity_of


class FakeClock:
    """Monotonic seconds the test moves by hand (the filter's clock is injected)."""

    def __init__(self) -> None:
        self.t = 1000.0

    def __call__(self) -> float:
        return self.t


@pytest.fixture
def logged() -> Iterator[tuple[io.StringIO, FakeClock]]:
    stream = io.StringIO()
    clock = FakeClock()
    installed = setup(0, stream=stream, journald=False, repeat_interval_s=60, clock=clock)
    try:
        yield stream, clock
    finally:
        installed.remove()
        logging.getLogger("signage").propagate = True


def test_repeated_error_is_shown_once_then_with_its_count(
    logged: tuple[io.StringIO, FakeClock],
) -> None:
    stream, clock = logged
    feed = area_logger("feed")
    for _ in range(2880):  # a day of 30 s retries compressed: all within the interval
        feed.warning("cannot reach the hub at %s", "http://hub")
    assert stream.getvalue().count("cannot reach the hub") == 1
    clock.t += 61
    feed.warning("cannot reach the hub at %s", "http://hub")
    lines = stream.getvalue().splitlines()
    assert len(lines) == 2
    assert lines[1].endswith("cannot reach the hub at http://hub (repeated 2879 times)")
    assert "signage.feed" in lines[1]


def test_same_text_from_another_area_or_level_is_not_suppressed(
    logged: tuple[io.StringIO, FakeClock],
) -> None:
    stream, _ = logged
    area_logger("feed").error("disk full")
    area_logger("player").error("disk full")
    area_logger("player").warning("disk full")
    assert stream.getvalue().count("disk full") == 3


def test_memory_is_bounded_by_distinct_messages() -> None:
    limiter = RateLimitFilter(interval_s=60, max_keys=100, clock=FakeClock())
    for i in range(10_000):
        record = logging.LogRecord("signage.feed", logging.ERROR, __file__, 1, "e %d", (i,), None)
        assert limiter.filter(record)
    assert len(limiter) == 100


def test_journald_lines_carry_syslog_priorities() -> None:
    stream = io.StringIO()
    installed = setup(1, stream=stream, journald=True)
    try:
        area_logger("hub").error("boom\nsecond line")
        area_logger("hub").info("hello")
    finally:
        installed.remove()
        logging.getLogger("signage").propagate = True
    # a line feed inside a message is escaped: remote text cannot forge log lines
    assert stream.getvalue().splitlines() == [
        "<3>signage.hub: boom\\nsecond line",
        "<6>signage.hub: hello",
    ]
    stream = io.StringIO()
    installed = setup(1, stream=stream, journald=True)
    try:
        try:
            raise ValueError("x")
        except ValueError:
            area_logger("hub").exception("screen \x1b[2Jlobby failed")
    finally:
        installed.remove()
        logging.getLogger("signage").propagate = True
    lines = stream.getvalue().splitlines()
    assert lines[0] == "<3>signage.hub: screen \\x1b[2Jlobby failed"
    assert lines[1] == "<3>Traceback (most recent call last):"  # tracebacks keep their lines
    assert lines[-1] == "<3>ValueError: x"


def test_tally_counts_every_record_even_suppressed_ones(
    logged: tuple[io.StringIO, FakeClock],
) -> None:
    tally = ErrorTally(clock=lambda: 5.0)
    logging.getLogger("signage").addHandler(tally)
    try:
        for _ in range(5):
            area_logger("feed").warning("offline")
        area_logger("player").error("slide %s failed", "x")
        area_logger("player").info("not counted")
    finally:
        logging.getLogger("signage").removeHandler(tally)
    assert tally.counts() == {"feed": 5, "player": 1}
    last = tally.last()
    assert last is not None
    assert (last.area, last.level, last.message) == ("player", "error", "slide x failed")


@pytest.mark.qt
def test_qt_messages_reach_the_qt_logger(qapp: object, caplog: pytest.LogCaptureFixture) -> None:
    from PySide6.QtCore import qInstallMessageHandler, qWarning

    from signage.logs import install_qt_handler

    install_qt_handler()
    try:
        with caplog.at_level(logging.WARNING, logger="signage.qt"):
            qWarning("a warning from Qt")
    finally:
        qInstallMessageHandler(None)
    hits = [r for r in caplog.records if r.name == "signage.qt"]
    assert hits
    assert "a warning from Qt" in hits[0].getMessage()


def test_root_handlers_of_the_cli_get_rate_limited_once() -> None:
    """`signage play` keeps cli's basicConfig handler and adds the limiter to it."""
    from signage.logs import RateLimitFilter, harden_root_handlers

    root = logging.getLogger()
    stream = io.StringIO()
    handler = logging.StreamHandler(stream)
    root.addHandler(handler)
    try:
        first = harden_root_handlers(journald=True, repeat_interval_s=3600)
        assert harden_root_handlers() is first  # idempotent
        for _ in range(100):
            area_logger("feed").warning("hub unreachable")
    finally:
        root.removeHandler(handler)
        for h in root.handlers:
            for f in list(h.filters):
                if isinstance(f, RateLimitFilter):
                    h.removeFilter(f)
    assert stream.getvalue() == "<4>signage.feed: hub unreachable\n"


def test_watchdog_stop_race_is_dropped_and_other_watchdog_errors_pass() -> None:
    import logging

    from signage.logs import quiet_watchdog_stop

    records: list[logging.LogRecord] = []

    class Keep(logging.Handler):
        def emit(self, record: logging.LogRecord) -> None:
            records.append(record)

    logger = logging.getLogger("watchdog.observers.inotify")
    handler = Keep()
    logger.addHandler(handler)
    try:
        quiet_watchdog_stop()
        quiet_watchdog_stop()  # idempotent: one filter
        logger.error("InotifyEmitter.queue_events() called when the thread is inactive")
        logger.error("inotify watch limit reached")
    finally:
        logger.removeHandler(handler)
    assert [r.getMessage() for r in records] == ["inotify watch limit reached"]
    assert sum(type(f).__name__ == "_WatchdogStopRace" for f in logger.filters) == 1


@pytest.mark.parametrize("verbosity", [0, 1, 2])
def test_a_child_process_is_given_the_verbosity_its_parent_logs_at(verbosity: int) -> None:
    level = logging.getLogger("signage").level
    installed = setup(verbosity, stream=io.StringIO())
    try:
        assert verbosity_of(area_logger("hub")) == verbosity
    finally:
        installed.remove()
        logging.getLogger("signage").setLevel(level)  # as the rest of the suite had it
