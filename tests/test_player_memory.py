"""The player holds the same live objects after many content versions and alert cycles.

A screen lives through new versions of its content (every save, every hub re-sign) and
alerts raised and cleared. Each one used to be able to leave a prepared slide behind: a
full-screen view with its decoded picture (~8 MB at 1080p), its timers and its connection
to the decoder, alive beneath the slide on screen and never deleted (issue 19). These tests
drive a real player (offscreen Qt, real decoding) with a ``ManualClock``, so every change
lands at the same point of the slide's life each time, and count what is alive.
"""

from __future__ import annotations

import gc
import itertools
import threading
from collections import Counter
from dataclasses import replace
from datetime import UTC, datetime
from typing import Any

import pytest

from signage.model import Content, Overlays, Playlist, QRCode, SlideKind, TextContent
from tests.helpers_alerts import make_alert
from tests.helpers_player import content, running_player, slide, solid_png, wait_until

pytestmark = pytest.mark.qt

NOW = datetime(2026, 11, 30, 15, 0, tzinfo=UTC)
SLIDE_S = 20.0


def census(player: Any) -> dict[str, int]:
    """What the player keeps alive, counted several ways (after deferred deletes ran)."""
    import shiboken6
    from PySide6.QtCore import SIGNAL, QCoreApplication, QEvent, QObject, QTimer
    from PySide6.QtGui import QImage, QPixmap
    from PySide6.QtWidgets import QApplication

    from signage.player.views import SlideView

    for pool in (player.decoder._pool, player.qr_maker._pool):
        assert pool.waitForDone(10_000)  # nothing in flight on the worker threads
    for _ in range(3):  # a deleted view's children post their own deletes
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
    gc.collect()
    wrappers = Counter(type(w).__name__ for w in shiboken6.getAllValidWrappers())
    window = player.window
    images = [o for o in gc.get_objects() if isinstance(o, QImage | QPixmap) and not o.isNull()]
    return {
        "views (live Python wrappers)": sum(
            1 for o in gc.get_objects() if isinstance(o, SlideView) and shiboken6.isValid(o)
        ),
        "views on the stage": len(player.stage.findChildren(SlideView)),
        "widgets": len(QApplication.allWidgets()),
        "top-level widgets": len(QApplication.topLevelWidgets()),
        "QObjects under the player and its window": len(player.findChildren(QObject))
        + len(window.findChildren(QObject)),
        "QTimers": len(player.findChildren(QTimer)) + len(window.findChildren(QTimer)),
        "decoder connections": player.decoder.receivers(SIGNAL("decoded(int,QImage,QString)")),
        "non-null QImage/QPixmap wrappers": len(images),
        "bytes of those pictures": sum(i.sizeInBytes() for i in images if isinstance(i, QImage)),
        "shiboken wrappers": sum(wrappers.values()),
    }


def _grown(before: dict[str, int], after: dict[str, int]) -> dict[str, tuple[int, int]]:
    return {k: (before.get(k, 0), v) for k, v in after.items() if v > before.get(k, 0)}


def _settled_with_next(player: Any) -> bool:
    turn = player._next
    return (
        player._presenting is None
        and player._current is not None
        and turn is not None
        and turn.view.state == "ready"
    )


def _versions(tmp_path: Any) -> tuple[Content, Any]:
    files = {
        f"assets/p{i}.png": solid_png(tmp_path / f"p{i}.png", rgb, (960, 540))
        for i, rgb in enumerate([(200, 40, 40), (40, 160, 60), (40, 60, 200)])
    }
    qr = QRCode(url="https://encuestas.example.gov.co/satisfaccion", caption="Opina")
    slides = [
        slide("p0", SlideKind.IMAGE, "assets/p0.png", duration_s=SLIDE_S, qr=qr),
        slide("t", SlideKind.TEXT, text=TextContent("Aviso", "Texto"), duration_s=SLIDE_S),
        slide("p1", SlideKind.IMAGE, "assets/p1.png", duration_s=SLIDE_S),
        slide("p2", SlideKind.IMAGE, "assets/p2.png", duration_s=SLIDE_S),
    ]
    ours = content(slides, files, overlays=Overlays(), ticker=("Uno", "Dos")).playlists[0]

    def version(n: int, *, alert: bool) -> Content:
        # Another screen's playlist is edited in every version (a shared hub re-signs for
        # it): this screen's plan is the same, the slide on screen stays.
        other = Playlist(
            id="sala",
            name="Sala",
            slides=(slide("s", SlideKind.TEXT, text=TextContent(f"Edición {n}", "x")),),
            tags=frozenset({"sala"}),
        )
        made = replace(content([], files, version=n), playlists=(ours, other))
        if alert:
            # each alert links its own status page (CAP <web>, a template variable)
            status = f"https://estado.example.gov.co/incidente/{n}"
            made = replace(made, alerts=(make_alert(f"corte-{n}", sent=NOW, status_url=status),))
        return made

    return version(1, alert=False), version


def _turn_slide(qapp: Any, player: Any, clock: Any) -> None:
    """Waits for the next slide to be ready, then lets the current one's time run out: the
    next one is presented at once (its transition is under way when this returns)."""
    assert wait_until(qapp, lambda: _settled_with_next(player), 15), player.status()
    clock.advance(SLIDE_S)
    assert player._presenting is not None, "the slide's time ran out but nothing was presented"


def _churn(qapp: Any, player: Any, clock: Any, version: Any, *, cycles: int, start: int) -> int:
    """Versions landing while a slide is going on screen: another playlist edited, an alert
    raised (it stays over the next turn), cleared, raised and cleared at once."""
    n = start
    for i in range(cycles):
        _turn_slide(qapp, player, clock)
        n += 1
        step = i % 4
        if step == 3:
            player.set_content(version(n, alert=True))
            n += 1
        player.set_content(version(n, alert=step == 1))
        assert wait_until(qapp, lambda: _settled_with_next(player), 15), player.status()
    return n


def test_content_versions_and_alert_cycles_leave_nothing_behind(qapp, tmp_path):
    from signage.player.clock import ManualClock

    clock = ManualClock(NOW)
    first, version = _versions(tmp_path)
    with running_player(qapp, first, size=(960, 540), fade_ms=40, clock=clock) as (
        player,
        _,
        trap,
    ):
        n = _churn(qapp, player, clock, version, cycles=4, start=1)
        after_first = census(player)
        n = _churn(qapp, player, clock, version, cycles=16, start=n)
        after_many = census(player)
        assert len(trap.of("alert_shown")) >= 4  # the raised alerts really were on screen
        grown = _grown(after_first, after_many)
        assert not grown, f"alive after {n} versions and alerts, (after the first, now): {grown}"
        assert after_many["views on the stage"] <= 3  # on screen, the next one, one fading
        shown = trap.shown()
        assert all(a != b for a, b in itertools.pairwise(shown)), shown


class _Gate:
    """Holds the player's decoder threads busy until opened: a picture being decoded stays
    "preparing" for as long as a test needs, without any sleep."""

    def __init__(self, pool: Any) -> None:
        self.open = threading.Event()
        self.running = threading.Semaphore(0)
        self._pool = pool
        for _ in range(pool.maxThreadCount()):
            pool.start(self._hold)
        for _ in range(pool.maxThreadCount()):
            assert self.running.acquire(timeout=10)

    def _hold(self) -> None:
        self.running.release()
        self.open.wait(30)

    def release(self) -> None:
        self.open.set()


def test_an_edit_that_jumps_in_while_a_slide_settles_leaves_nothing_behind(qapp, tmp_path):
    """Each version changes a picture: it is shown at once ("jump"), but the slide going on
    screen settles while that picture is still being decoded."""
    from signage.player.clock import ManualClock

    clock = ManualClock(NOW)
    red = solid_png(tmp_path / "red.png", (200, 40, 40), (960, 540))
    blue = solid_png(tmp_path / "blue.png", (40, 60, 200), (960, 540))
    edits = [solid_png(tmp_path / f"e{i}.png", (40, 150 + 10 * i, 60), (960, 540)) for i in (0, 1)]

    def version(n: int) -> Content:
        slides = [
            slide("rojo", SlideKind.IMAGE, "assets/red.png", duration_s=SLIDE_S),
            slide("azul", SlideKind.IMAGE, "assets/blue.png", duration_s=SLIDE_S),
            slide("editada", SlideKind.IMAGE, "assets/edit.png", duration_s=SLIDE_S),
        ]
        files = {"assets/red.png": red, "assets/blue.png": blue, "assets/edit.png": edits[n % 2]}
        return content(slides, files, version=n)

    with running_player(qapp, version(1), size=(960, 540), fade_ms=40, clock=clock) as (
        player,
        _,
        trap,
    ):
        counts: list[dict[str, int]] = []
        for n in range(2, 12):
            assert wait_until(qapp, lambda: _settled_with_next(player), 15), player.status()
            if player._current.item.slide.id == "editada":
                clock.advance(SLIDE_S)  # the edited slide is on screen: let it go first
                assert wait_until(qapp, lambda: _settled_with_next(player), 15)
            clock.advance(SLIDE_S)
            assert player._presenting is not None
            gate = _Gate(player.decoder._pool)
            try:
                player.set_content(version(n))  # jump to the edited picture (being decoded)
                assert wait_until(qapp, lambda: player._presenting is None, 15)  # settled
            finally:
                gate.release()
            assert wait_until(
                qapp,
                lambda: _settled_with_next(player) and player._current.item.slide.id == "editada",
                15,
            ), f"the edited picture never came on screen: {player.status()}"
            counts.append(census(player))
        grown = _grown(counts[0], counts[-1])
        assert not grown, f"alive after 10 edits, (after the first, now): {grown}"
        assert trap.shown().count("editada") >= 10


def test_edited_qr_links_leave_no_qr_images_behind(qapp, tmp_path):
    """Each version points a slide's QR somewhere else (a new survey): the QR images of the
    links no slide has any more are not kept (they are ~0.5 MB each at 1080p, 2.2 MB at 4K)."""
    from signage.player.clock import ManualClock

    clock = ManualClock(NOW)
    files = {"assets/p0.png": solid_png(tmp_path / "p0.png", (200, 40, 40), (960, 540))}

    def version(n: int) -> Content:
        qr = QRCode(url=f"https://encuestas.example.gov.co/encuesta-{n}", caption="Opina")
        slides = [
            slide("p0", SlideKind.IMAGE, "assets/p0.png", duration_s=SLIDE_S),
            slide("t", SlideKind.TEXT, text=TextContent("Opine", "x"), duration_s=SLIDE_S, qr=qr),
        ]
        return content(slides, files, version=n, overlays=Overlays())

    with running_player(qapp, version(1), size=(960, 540), fade_ms=40, clock=clock) as (
        player,
        _,
        trap,
    ):
        counts: list[dict[str, int]] = []
        for n in range(2, 12):
            assert wait_until(qapp, lambda: _settled_with_next(player), 15), player.status()
            shown_before = len(trap.of("slide_shown"))
            player.set_content(version(n))  # the edited slide jumps in with its new QR

            def edited_on_screen(since: int = shown_before) -> bool:
                later = [e["slide"] for e in trap.of("slide_shown")[since:]]
                return "t" in later and _settled_with_next(player)

            assert wait_until(qapp, edited_on_screen), player.status()
            counts.append(census(player))
        grown = _grown(counts[0], counts[-1])
        assert not grown, f"alive after 10 QR edits, (after the first, now): {grown}"
