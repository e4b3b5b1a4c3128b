"""The player room: one window that plays what the schedule says, never black, with proof.

``Player`` owns the window (slides stage, overlays, alert layer), listens to a
``ContentSource``, plans with ``signage.schedule.plan`` at the clock's ``now``, prepares the
next slide beneath the current one, presents it with its transition and records proof of
play. Broken slides are skipped with a reason; with nothing playable the branded idle
screen shows. Other areas extend it through ``first_frame_painted``, ``slide_changed``,
``status()`` and ``grab_png()`` (systemd readiness, heartbeats) without touching its loop.

Over 600 lines on purpose: ``Player`` is one state machine (plan -> prepare -> present ->
record) whose timers, turns and pending slide share state; split across modules, its
invariants (never black, one turn at a time, a late prepare never shows) would be too.
The window, the lazy web profile and the frame grab beside it are small and only its own.
"""

from __future__ import annotations

import os
import re
import signal
import tempfile
from collections.abc import Hashable
from datetime import datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Final, Protocol, runtime_checkable

from PySide6.QtCore import (
    QCoreApplication,
    QEvent,
    QObject,
    Qt,
    QTimer,
    Signal,
)
from PySide6.QtGui import QColor, QCursor, QGuiApplication, QImage, QPalette, QResizeEvent
from PySide6.QtWidgets import QApplication, QWidget

from signage.config import PlayerConfig
from signage.events import EventLog
from signage.logs import area_logger
from signage.model import Content, Slide, SlideKind, Theme, Transition, narrowed_hosts
from signage.player.clock import Clock, OrgClock, QtClock, Timer
from signage.player.decode import ImageDecoder, decode_scaled
from signage.player.firstframe import FrameKeep
from signage.player.layout import qr_scale
from signage.player.overlays import OverlayLayer, QRMaker, QROverlay
from signage.player.playback import Action, Entry, SlideKey, decide, following
from signage.player.probe import StallProbe, rss_mb
from signage.player.slides import make_view
from signage.player.stage import FADE_MS, Stage
from signage.player.views import (
    NOTHING_PLAYABLE,
    NOTHING_SCHEDULED,
    WAITING,
    IdleView,
    SlideResources,
    SlideView,
    TextView,
)
from signage.player.warmup import EngineWarmer
from signage.schedule import Plan, ScheduledSlide, plan
from signage.sources import ContentSource
from signage.timebase import TimeKeeper
from signage.values import Value

if TYPE_CHECKING:
    from concurrent.futures import ThreadPoolExecutor  # imported by snap(), when first used

    from signage.player.alert_layer import AlertLayer  # made on the first alert (Player.alerts)
    from signage.player.web import WebContext

log = area_logger("player")


@runtime_checkable
class SettlingSource(Protocol):
    """A content source that holds back start-up work (a watcher, a re-validation) until
    the first slide of its content is on screen, so that work does not compete with it."""

    def screen_settled(self) -> None: ...


STATS_EVERY_S = 10.0
QUICK_FADE_MS = 250  # fade into a slide that was just edited or published
RETRY_S = 30.0  # with nothing playable, try the plan again this often
WAITING_SCREEN_S = 0.5  # content offered at start: the waiting screen only if no slide by then
VIDEO_CAP_S = 3600.0  # a video of unknown length ends after this at the latest


def _safe_name(text: str) -> str:
    return re.sub(r"[^A-Za-z0-9._-]+", "-", text).strip("-")[:80] or "slide"


class _Turn:
    """A slide being prepared or presented: its place in the plan and its widget.

    A plain class, not a dataclass (nor ``_Frame``, a ``signage.values.Value``): both are
    defined before the first frame, where each dataclass costs ~0.5 ms to create (Python
    3.11 compiles its generated methods); nothing compares or copies turns.
    """

    __slots__ = ("index", "item", "view", "with_content")

    def __init__(self, index: int, item: ScheduledSlide | None, view: SlideView) -> None:
        self.index = index
        self.item = item  # None for the idle screen
        self.view = view
        self.with_content = False  # presented once content had arrived (not the waiting screen)

    @property
    def key(self) -> SlideKey | None:
        if self.item is None:
            return None
        return (self.item.playlist.id, self.item.slide.id)


class PlayerWindow(QWidget):
    """The top-level window: slides at the bottom, overlays above, alerts above all."""

    def __init__(self, theme: Theme) -> None:
        super().__init__()
        self.setWindowTitle("signage")
        self.setAutoFillBackground(True)
        self.set_background(theme)
        self.stage = Stage(self)
        self.layers: list[QWidget] = [self.stage]

    def set_background(self, theme: Theme) -> None:
        palette = self.palette()
        palette.setColor(QPalette.ColorRole.Window, QColor(theme.background))
        self.setPalette(palette)

    def add_layer(self, layer: QWidget, *, show: bool = True) -> None:
        """Stacks a full-window layer above the ones already there.

        ``show=False`` leaves visibility to the layer (the alert layer hides itself when no
        alert is active).
        """
        layer.setParent(self)
        layer.setGeometry(self.rect())
        layer.raise_()
        if show:
            layer.show()
        self.layers.append(layer)

    def resizeEvent(self, event: QResizeEvent) -> None:
        for layer in self.layers:
            layer.setGeometry(self.rect())


class Player(QObject):
    """A signage screen.

    Args:
        config: screen identity, locale, QR allow-list.
        source: where content comes from (``LocalSource``, ``FeedSource``).
        events: the proof-of-play log.
        clock: wall time and delays (``QtClock`` unless a test drives time).
        size: window size in pixels; ``None`` with ``fullscreen`` takes the primary screen.
        fullscreen: frameless, full screen on the primary screen, cursor hidden.
        snapshots: folder for a PNG of each slide and alert as it is first fully shown.
        link_base: the hub's public URL for tracked QR links.
        qr_keep: folder where made QR images are kept for the next start (``None``: none).
        frame_keep: folder where the run's first picture is kept decoded for the next
            start (``signage.player.firstframe``; ``None``: none).
        timekeeper: the organisation's time (``signage.timebase``): alerts end by it and,
            without ``clock``, schedules follow it when this clock is far off.
    """

    first_frame_painted = Signal()
    slide_changed = Signal(str, str)  # playlist id, slide id ("", "" for the idle screen)
    content_changed = Signal(int)  # version now playing
    _content_arrived = Signal(object)
    _clock_moved = Signal()

    def __init__(
        self,
        *,
        config: PlayerConfig,
        source: ContentSource,
        events: EventLog,
        clock: Clock | None = None,
        size: tuple[int, int] | None = (1920, 1080),
        fullscreen: bool = False,
        snapshots: Path | None = None,
        link_base: str | None = None,
        fade_ms: int = FADE_MS,
        stats_every_s: float = STATS_EVERY_S,
        qr_keep: Path | None = None,
        frame_keep: Path | None = None,
        timekeeper: TimeKeeper | None = None,
    ) -> None:
        super().__init__()
        self.timekeeper = timekeeper
        self.config = config
        self.screen = config.screen_identity()
        self.source = source
        self.events = events
        if clock is None:
            clock = OrgClock(timekeeper, self) if timekeeper is not None else QtClock(self)
        self.clock: Clock = clock
        self.fullscreen = fullscreen
        self.snapshots = snapshots
        self.link_base = link_base
        self.fade_ms = fade_ms
        self.snapshot_paths: list[Path] = []
        self._snap_count = 0
        # PNG encoding of a full-screen snapshot takes ~70-100 ms: done on one worker with
        # Pillow (whose encoder releases the GIL), never on the GUI thread.
        self._snap_writer: ThreadPoolExecutor | None = None
        self._content: Content | None = None
        self._plan: tuple[ScheduledSlide, ...] = ()
        self._entries: list[Entry] = []
        self._index = -1
        self._current: _Turn | None = None
        self._presenting: _Turn | None = None
        self._next: _Turn | None = None
        self._want_next = False
        self._failures = 0
        self._first_painted = False
        self._alert_active = False
        self._slide_timer: Timer | None = None
        self._plan_timer: Timer | None = None
        self._retry_timer: Timer | None = None
        self.qr_maker = QRMaker(self, keep_dir=qr_keep)
        self.qr_maker.made.connect(self._on_qr_made, Qt.ConnectionType.QueuedConnection)
        self._shown_since: datetime | None = None
        self._stopped = False
        self._content_offered = False
        self._revealed = False  # the window is shown (``_reveal``)
        self._waiting_timer: Timer | None = None
        self._source_told = False
        self._has_shown_slide = False
        self._quick = False
        self._snapped: set[tuple[SlideKey | None, Hashable]] = set()
        self._host: QWidget | None = None  # shows self.window turned (signage.player.rotation)

        self.decoder = ImageDecoder(
            self, keep=FrameKeep(frame_keep) if frame_keep is not None else None
        )
        self.web = LazyWeb(self, config)
        self.warmer = EngineWarmer(
            self,
            self.web,
            self._still,
            lambda: self._has_shown_slide,
            urgent=self._first_needs_engine,
        )
        theme = Theme()
        self.res = SlideResources(
            decoder=self.decoder,
            theme=theme,
            screen=self.screen,
            web=self.web,
            describe=source.describe(),
        )
        self.window = PlayerWindow(theme)
        self.stage = self.window.stage
        self.stage.settled.connect(self._on_settled)
        self.overlay = OverlayLayer(
            None,
            self.clock,
            timezone=self.screen.timezone,
            locale=self.screen.locale,
            theme=theme,
        )
        self.window.add_layer(self.overlay)
        # The alert layer (its module, signage.alerts.select, a widget) is made when content
        # first carries an alert, or when asked for (``alerts``): ~3-5 ms less before the
        # first frame of a screen without alerts, the usual case.
        self._alerts: AlertLayer | None = None
        self._alert_logo: QImage | None = None
        if size is not None:
            self.window.resize(*size)
        self._content_arrived.connect(self._on_content, Qt.ConnectionType.QueuedConnection)
        if timekeeper is not None:
            self._clock_moved.connect(self._on_clock_moved, Qt.ConnectionType.QueuedConnection)
            timekeeper.subscribe(self._clock_moved.emit)  # any thread → the GUI thread

        self.probe = StallProbe(self)
        self._stats = QTimer(self)
        self._stats.setInterval(int(stats_every_s * 1000))
        self._stats.timeout.connect(self._emit_stats)
        self._quit = QTimer(self)
        self._quit.setSingleShot(True)
        self._quit.timeout.connect(self.quit)

    # -- public surface ---------------------------------------------------------------
    def status(self) -> dict[str, Any]:
        """What the screen shows now (for heartbeats, sd_notify STATUS=, tests)."""
        turn = self._current
        item = turn.item if turn is not None else None
        return {
            "screen": self.screen.id,
            "version": self._content.version if self._content is not None else None,
            "source": self.source.describe(),
            "playlist": item.playlist.id if item is not None else None,
            "slide": item.slide.id if item is not None else None,
            "kind": str(item.slide.kind) if item is not None else "idle",
            "alert": self._alert_active,
            "since": self._shown_since.isoformat() if self._shown_since else None,
            "slides_planned": len(self._plan),
            "clock_offset_s": None if self.timekeeper is None else self.timekeeper.offset_s(),
        }

    def grab_image(self) -> QImage:
        """The window as a passer-by sees it (slides, overlays, alerts)."""
        return self.window.grab().toImage()

    def grab_png(self, max_width: int = 320) -> bytes:
        """A small PNG screenshot of the window (heartbeats)."""
        image = self.grab_image()
        if image.width() > max_width:
            image = image.scaledToWidth(max_width, Qt.TransformationMode.SmoothTransformation)
        from PySide6.QtCore import QBuffer, QByteArray, QIODevice  # not before a first frame

        data = QByteArray()
        buf = QBuffer(data)
        buf.open(QIODevice.OpenModeFlag.WriteOnly)
        image.save(buf, "PNG")  # type: ignore[call-overload]  # stub says bytes; runtime takes str
        buf.close()
        return bytes(data.data())

    def start(self) -> None:
        """Shows the window, starts the source, the probe and stats.

        The waiting screen shows first, unless the source offered content while starting
        (a cache): then the window appears with the first slide as its first frame, and
        the waiting screen only if that slide is not ready within ``WAITING_SCREEN_S``
        (or at once with an alert).
        """
        self.events.emit(
            "started",
            screen=self.screen.id,
            tags=sorted(self.screen.tags),
            source=self.source.describe(),
        )
        self.probe.start()
        self._stats.start()
        self._size_unshown()
        self.source.start(self._from_source, self.events)
        if self._content_offered:
            self._waiting_timer = self.clock.call_later(WAITING_SCREEN_S, self._show_waiting)
        else:
            self._show_idle(WAITING)

    def _reveal(self) -> None:
        """Shows the window (once). With content offered at start it waits for the first
        slide to be presented, so the first frame painted is that slide: painting the empty
        window and its overlays first cost ~20-40 ms of the GUI thread (and the GIL) while
        the picture was being decoded."""
        if self._revealed:
            return
        self._revealed = True
        top = self._host or self.window
        if self.fullscreen:
            self._go_fullscreen(top)
        else:
            top.show()
        # show() posts an UpdateLater to every widget of the window. Shown from a slot (here,
        # the first slide becoming ready), the platform's expose is painted before those run,
        # and they then repaint the whole window a second time before the first frame counts
        # as shown (~1-2 ms of a start). Delivered now, they only mark what the expose paints.
        QCoreApplication.sendPostedEvents(None, QEvent.Type.UpdateLater)

    def _size_unshown(self) -> None:
        """Gives the window, not shown yet, its final size and lays its layers out now.

        Qt holds a hidden widget's resize events until it is shown; the first slide is
        prepared (its picture decoded at the stage's size) before the window is shown.
        """
        top = self._host or self.window
        if self.fullscreen:
            primary = QGuiApplication.primaryScreen()
            if primary is not None:
                top.setGeometry(primary.geometry())
        for widget in dict.fromkeys((top, self.window, self.stage)):
            size = widget.size()
            QCoreApplication.sendEvent(widget, QResizeEvent(size, size))

    def show_through(self, host: QWidget) -> None:
        """Shows the window through ``host`` (a window that turns it, for a rotated panel)
        instead of as a window of its own; call before ``start()``."""
        self._host = host

    def run(self, for_s: float | None = None) -> int:
        """Plays until ``for_s`` seconds pass, ``quit()`` or SIGTERM/SIGINT; returns 0."""
        app = QApplication.instance()
        if app is None:
            raise RuntimeError("create the QApplication first (signage.player.qtenv)")
        previous = {s: signal.getsignal(s) for s in (signal.SIGTERM, signal.SIGINT)}
        for sig in previous:
            signal.signal(sig, self._on_signal)
        try:
            self.start()
            if for_s is not None:
                self._quit.start(int(max(0.0, for_s) * 1000))
            app.exec()
        finally:
            self.dispose()
            for sig, handler in previous.items():
                signal.signal(sig, handler)
        return 0

    def quit(self) -> None:
        app = QApplication.instance()
        if app is not None:
            app.quit()

    def stop(self) -> None:
        """Stops the source, timers and media; the window closes. Safe to call twice."""
        import shiboken6

        if self._stopped:
            return
        self._stopped = True
        try:
            self.source.stop()
        except Exception:
            log.exception("content source did not stop cleanly")
        self.probe.stop()
        self._stats.stop()
        self.overlay.stop()
        for timer in (self._slide_timer, self._plan_timer, self._retry_timer, self._waiting_timer):
            if timer is not None:
                timer.cancel()
        for turn in (self._next, self._presenting, self._current):
            if turn is not None and shiboken6.isValid(turn.view):
                turn.view.halt()
        self.decoder.shutdown()
        self.qr_maker.shutdown()
        if self._snap_writer is not None:
            self._snap_writer.shutdown(wait=True)  # every snapshot taken is on disk at exit
        self.window.close()
        if self._host is not None:
            self._host.close()
        self.events.emit("stopped")  # CONTRACT: the last event of a clean exit

    def dispose(self) -> None:
        """Deletes the window and everything in it now (before the interpreter exits)."""
        import shiboken6

        self.stop()
        if shiboken6.isValid(self.window):
            shiboken6.delete(self.window)
        if self._host is not None and shiboken6.isValid(self._host):
            shiboken6.delete(self._host)
        # Views discarded with deleteLater (web pages among them) must go before the profile.
        QCoreApplication.sendPostedEvents(None, QEvent.Type.DeferredDelete)
        if shiboken6.isValid(self.warmer):
            self.warmer.dispose()  # its blank page goes before the profile
        if shiboken6.isValid(self.web):
            self.web.dispose()

    def set_content(self, content: Content) -> None:
        """Takes a new content version (GUI thread). Sources should call ``_from_source``."""
        self._on_content(content)

    # -- content and planning ---------------------------------------------------------
    def _from_source(self, content: Content) -> None:
        self._content_offered = True
        self._content_arrived.emit(content)  # any thread → the GUI thread, in order

    def _show_waiting(self) -> None:
        """The waiting screen, if nothing is on screen yet; the slide being prepared goes on."""
        self._waiting_timer = None
        if self._current is not None or self._presenting is not None:
            return
        want = self._want_next
        view = IdleView(self.stage, self.res, WAITING)
        self.stage.adopt(view)
        view.prepare()
        self._present(_Turn(-1, None, view))
        self._want_next = want  # the first slide still takes over as soon as it is ready

    def _on_content(self, content: object) -> None:
        if not isinstance(content, Content):
            return
        first = self._content is None
        self._content = content
        theme = content.theme
        logo = self._load_logo(content)
        self.res = self.res.with_content(content, theme, logo)
        self.window.set_background(theme)
        self.overlay.set_theme(theme, logo)
        self._alert_logo = logo
        if self.timekeeper is not None:
            self.timekeeper.received(content.alerts)
        layer = self.alerts if content.alerts else self._alerts
        if layer is not None:
            layer.set_theme(theme)
            layer.set_logo(logo)
            layer.set_alerts(content.alerts)
        log.info("content version %d from %s", content.version, content.source or "?")
        self.content_changed.emit(content.version)
        self._replan(show_changes=True, reason="first content" if first else "content changed")
        if first:
            self.overlay.warm_fonts()  # while the first picture is read on the decoder's thread
        # After planning: the warm-up asks whether the slide being prepared needs an engine.
        self.warmer.want(s for p in content.playlists for s in p.slides)

    def _first_needs_engine(self) -> bool:
        """The slide going on screen next is a video or a web page (warm its engine now)."""
        turn = self._presenting or self._next
        item = turn.item if turn is not None else None
        return item is not None and item.slide.kind in (SlideKind.VIDEO, SlideKind.WEB)

    def _still(self) -> bool:
        """Nothing moves on screen: no fade under way, no video or web page shown."""
        current = self.stage.current
        moving = current is not None and current.kind in (SlideKind.VIDEO, SlideKind.WEB)
        return not self.stage.transitioning and not moving

    def _on_clock_moved(self) -> None:
        """The organisation's time estimate moved: alerts and schedules are decided again."""
        if self._stopped:
            return
        if self._alerts is not None:  # none made: no alert yet, nothing to re-decide
            self._alerts.clock_changed()
        self._replan(show_changes=False, reason="clock offset changed")

    def _on_plan_time(self) -> None:
        self._plan_timer = None
        self._replan(show_changes=False, reason="schedule changed")

    def _replan(self, *, show_changes: bool, reason: str) -> None:
        if self._content is None:
            return
        now = self.clock.now()
        result: Plan = plan(self._content.playlists, self.screen, now)
        if self._plan_timer is not None:
            self._plan_timer.cancel()
            self._plan_timer = None
        if result.next_change is not None:
            delay = max(0.0, (result.next_change - now).total_seconds()) + 0.01
            self._plan_timer = self.clock.call_later(delay, self._on_plan_time)
        entries = [Entry((s.playlist.id, s.slide.id), self._fingerprint(s)) for s in result.slides]
        # The slide on screen is the one going on screen, when a transition is under way:
        # what follows it is what must be prepared next.
        shown = self._presenting if self._presenting is not None else self._current
        current_key = shown.key if shown is not None else None
        decision = decide(self._entries, current_key, entries, show_changes=show_changes)
        self._plan = result.slides
        self._entries = entries
        # Snapshots taken of slides as they were: only the versions still planned matter.
        self._snapped &= {(e.key, e.fingerprint) for e in entries}
        # QR images of slides no longer planned as they were (a link edited) go too.
        planned = {
            (s.playlist.id, s.slide.id, s.slide.qr, s.playlist.attribution) for s in result.slides
        }
        self.qr_maker.retain(lambda k: (k.playlist, k.slide, k.qr, k.attribution) in planned)
        self._failures = 0
        self._drop_next()
        log.info("%s: %d slides planned → %s", reason, len(entries), decision.action)
        if decision.action is Action.IDLE:
            self._cancel_slide_timer()
            if not (self._current is not None and self._current.item is None):
                self._show_idle(NOTHING_SCHEDULED)
            return
        if decision.action is Action.KEEP:
            self._index = decision.index
            if shown is not None and shown.item is not None:
                shown.item = self._plan[decision.index]
            self._prepare(following(self._index, len(self._plan)))
            return
        self._cancel_slide_timer()
        self._want_next = True
        self._quick = show_changes  # an edit: a short fade, so it is fully on screen in < 1 s
        self._prepare(decision.index)

    def _fingerprint(self, item: ScheduledSlide) -> Hashable:
        playlist = item.playlist
        files: list[tuple[str, str, int, int]] = []
        content = self._content
        for path in item.slide.assets():
            local = content.asset_path(path) if content is not None else None
            try:
                st = local.stat() if local is not None else None
            except OSError:
                st = None
            files.append((path, str(local), st.st_mtime_ns if st else 0, st.st_size if st else -1))
        return (item.slide, playlist.overlays, playlist.ticker, playlist.attribution, tuple(files))

    # -- preparing and presenting --------------------------------------------------------
    def _prepare(self, index: int) -> None:
        """Prepares the slide at ``index`` as the next one, beneath the slide on screen.

        The player owns one prepared slide at most: one already prepared for this very
        place of this plan is kept, any other is discarded (a view no one refers to would
        stay on the stage, ready, with its decoded picture, for the life of the process).
        """
        if not self._plan:
            return
        index %= len(self._plan)
        item = self._plan[index]
        held = self._next
        if held is not None:
            if held.index == index and held.item is item and held.view.state != "failed":
                return
            self._drop_next()
        qr = self._qr_for(item)  # queued now, so it is ready by the slide's turn
        side = qr.image.width() if qr is not None and qr is not QRMaker.PENDING else None
        view = make_view(self.stage, item.slide, self.res, qr_side=side)
        if item.slide.kind in (SlideKind.VIDEO, SlideKind.WEB):
            self._reveal()  # pages and videos load as a shown window's (Chromium throttles hidden)
        self.stage.adopt(view)
        turn = _Turn(index, item, view)
        self._next = turn
        view.ready.connect(self._on_next_ready)
        view.failed.connect(self._on_next_failed)
        view.prepare()

    def _drop_next(self) -> None:
        if self._next is not None:
            self.stage.discard(self._next.view)
            self._next = None

    def _presentable(self, turn: _Turn | None) -> bool:
        """Prepared, and its QR (if any) made: nothing half-drawn reaches the screen."""
        if turn is None or turn.view.state != "ready":
            return False
        return turn.item is None or self._qr_for(turn.item) is not QRMaker.PENDING

    def _on_next_ready(self) -> None:
        turn = self._next
        if not self._presentable(turn) or turn is None:
            return
        if self._want_next or self._current is None:
            self._present(turn)

    def _on_qr_made(self, key: object, overlay: object) -> None:
        self._on_next_ready()

    def _on_next_failed(self, reason: str) -> None:
        turn = self._next
        if turn is None or turn.view.state != "failed" or turn.item is None:
            return
        self._next = None
        self.stage.discard(turn.view)
        playlist, slide = turn.item.playlist.id, turn.item.slide.id
        log.warning("slide %s/%s skipped: %s", playlist, slide, reason)
        self.events.emit("slide_skipped", playlist=playlist, slide=slide, reason=reason)
        self._failures += 1
        if self._failures >= len(self._plan):
            self._failures = 0
            showing_slide = self._current is not None and self._current.item is not None
            if not showing_slide:
                self._show_idle(NOTHING_PLAYABLE)
            log.warning("no playable slide in the plan; retrying in %.0f s", RETRY_S)
            self._retry_timer = self.clock.call_later(RETRY_S, self._on_retry)
            return
        self._prepare(following(turn.index, len(self._plan)))

    def _on_retry(self) -> None:
        self._retry_timer = None
        if self._next is None and self._plan:
            self._want_next = True
            self._prepare(following(self._index, len(self._plan)))

    def _present(self, turn: _Turn) -> None:
        if self._next is turn:
            self._next = None
        self._want_next = False
        self._cancel_slide_timer()
        self._presenting = turn
        turn.with_content = self._content is not None
        # The first slide after start-up cuts in: nothing worth a fade was on screen yet.
        fade = self.fade_ms if self._has_shown_slide else 0
        if self._quick:
            fade, self._quick = min(fade, QUICK_FADE_MS), False
        if turn.item is not None:
            if turn.item.slide.transition == Transition.CUT:
                fade = 0
            qr = self._qr_for(turn.item)
            if qr is QRMaker.PENDING:
                qr = None
            if isinstance(turn.view, TextView):
                turn.view.set_qr_side(qr.image.width() if qr is not None else None)
            self.overlay.set_slide(turn.item.playlist.overlays, turn.item.playlist.ticker, qr)
            turn.view.finished.connect(self._on_view_finished)
        else:
            self.overlay.clear()
        self.stage.present(turn.view, fade_ms=fade)
        turn.view.start()
        self._reveal()  # last: the window's first paint composes all of the above at once

    def _show_idle(self, message: str) -> None:
        self._drop_next()
        view = IdleView(self.stage, self.res, message)
        self.stage.adopt(view)
        view.prepare()
        self._present(_Turn(-1, None, view))

    def _on_settled(self) -> None:
        turn, self._presenting = self._presenting, None
        if turn is None or turn.view is not self.stage.current:
            return
        self._current = turn
        self._shown_since = self.clock.now()
        if turn.item is None:
            self._index = -1
            self.slide_changed.emit("", "")
            log.info("idle screen shown")
        else:
            item = turn.item
            keys = [e.key for e in self._entries]
            self._index = keys.index(turn.key) if turn.key in keys else -1
            self._failures = 0
            self._has_shown_slide = True
            kind = str(item.slide.kind)
            self.events.emit(
                "slide_shown",
                screen=self.screen.id,
                playlist=item.playlist.id,
                slide=item.slide.id,
                kind=kind,
            )
            self.slide_changed.emit(item.playlist.id, item.slide.id)
            # One snapshot per slide as it is first fully shown (again after an edit).
            entry = self._entries[self._index] if 0 <= self._index < len(self._entries) else None
            seen = (turn.key, entry.fingerprint if entry is not None else None)
            if self.snapshots is not None and seen not in self._snapped:
                self._snapped.add(seen)
                try:
                    self.snap(f"{item.playlist.id}-{item.slide.id}")
                except OSError as exc:  # a full disk must not stop the show
                    log.warning("snapshot not written: %s", exc)
            self._slide_timer = self.clock.call_later(
                self._duration_of(item.slide, turn.view), self._on_slide_time
            )
            # A new version may have asked for another slide at once while this one was
            # going on screen (``_want_next``, being prepared): that one comes next.
            jump_pending = self._want_next and self._next is not None
            if self._plan and not jump_pending:
                self._prepare(following(self._index, len(self._plan)))
        if not self._first_painted:
            self._first_painted = True
            self.first_frame_painted.emit()
        if turn.with_content and not self._source_told:
            # What the content asked for is on screen: the source's deferred start-up work
            # (watcher, re-validation) no longer competes with it.
            self._source_told = True
            if isinstance(self.source, SettlingSource):
                self.source.screen_settled()

    def _duration_of(self, slide: Slide, view: SlideView) -> float:
        if slide.duration_s is not None:
            return max(0.05, slide.duration_s)
        natural = view.natural_duration_s()
        if slide.kind is SlideKind.VIDEO:
            # The video's end (``finished``) moves on; this is only a safety net.
            return (natural + 5.0) if natural else VIDEO_CAP_S
        return natural or 10.0

    def _on_slide_time(self) -> None:
        self._slide_timer = None
        self._want_next = True
        turn = self._next
        if turn is not None and self._presentable(turn):
            self._present(turn)
        elif turn is None and self._plan and self._retry_timer is None:
            self._prepare(following(self._index, len(self._plan)))

    def _on_view_finished(self) -> None:
        if self._current is not None and self.sender() is self._current.view:
            self._cancel_slide_timer()
            self._on_slide_time()

    def _cancel_slide_timer(self) -> None:
        if self._slide_timer is not None:
            self._slide_timer.cancel()
            self._slide_timer = None

    # -- overlays, alerts, snapshots, stats -----------------------------------------------
    def _qr_for(self, item: ScheduledSlide) -> QROverlay | None:
        return self.qr_maker.want(
            item.playlist,
            item.slide,
            screen=self.screen.id,
            # the content's allow-list (the settings'), narrowed by this screen's
            allowed_hosts=narrowed_hosts(self.res.theme.allowed_hosts, self.config.allowed_hosts),
            # the screen's own qr.link_base, else the settings' links_base the feed carries
            link_base=self.link_base or self.res.theme.links_base,
            screen_height=qr_scale(max(1, self.window.width()), max(1, self.window.height())),
        )

    def _load_logo(self, content: Content) -> QImage | None:
        if not content.theme.logo:
            return None
        path = content.asset_path(content.theme.logo)
        if path is None:
            return None
        try:
            return decode_scaled(path, 800, 400, cover=False)
        except ValueError as exc:
            log.warning("theme logo not shown: %s", exc)
            return None

    @property
    def alerts(self) -> AlertLayer:
        """The alert layer, on top of the window; made at the first call (see ``__init__``)."""
        if self._alerts is None:
            self._alerts = self._make_alert_layer()
        return self._alerts

    def _make_alert_layer(self) -> AlertLayer:
        from signage.player.alert_layer import AlertLayer

        layer = AlertLayer(
            self.window,
            self.res.theme,
            self.screen,
            self.config.exercise,
            self.events,
            self.snap,
            clock=self.clock,
            judge=None if self.timekeeper is None else self.timekeeper.alert_now,
        )
        layer.set_logo(self._alert_logo)
        self.window.add_layer(layer, show=False)  # on top: no layer is added after it
        layer.active_changed.connect(self._on_alert_active)
        return layer

    def _on_alert_active(self, active: bool) -> None:
        self._alert_active = bool(active)
        if active:
            self._reveal()  # an alert does not wait for the first slide
        if not active:
            self.window.update()

    def snap(self, name: str) -> Path | None:
        """Writes a PNG of the window to the snapshots folder (if any) and prints its path.

        The frame is grabbed here, on the GUI thread; it is encoded and written (temp file,
        then rename) on a worker, so a snapshot does not stall the show. Returns the path it
        will have; ``snapshot_paths`` lists those already written.
        """
        if self.snapshots is None:
            return None
        self._snap_count += 1
        self.snapshots.mkdir(parents=True, exist_ok=True)
        path = self.snapshots / f"{self._snap_count:04d}-{_safe_name(name)}.png"
        image = self.grab_image().convertToFormat(QImage.Format.Format_RGB888)
        frame = _Frame(
            bytes(image.constBits()), image.width(), image.height(), image.bytesPerLine()
        )
        if self._snap_writer is None:
            from concurrent.futures import ThreadPoolExecutor

            self._snap_writer = ThreadPoolExecutor(1, thread_name_prefix="signage-snapshot")
        self._snap_writer.submit(self._write_snapshot, path, frame)
        return path

    def _write_snapshot(self, path: Path, frame: _Frame) -> None:
        from PIL import Image

        picture = Image.frombuffer(
            "RGB", (frame.width, frame.height), frame.data, "raw", "RGB", frame.stride, 1
        )
        fd, tmp = tempfile.mkstemp(prefix=".snap-", suffix=".png", dir=path.parent)
        os.close(fd)
        try:
            picture.save(tmp, "PNG", compress_level=1)
        except OSError as exc:
            Path(tmp).unlink(missing_ok=True)
            log.warning("snapshot %s could not be written: %s", path, exc)
            return
        Path(tmp).replace(path)
        self.snapshot_paths.append(path)
        print(path, flush=True)  # the contract: snapshot paths are printed

    def _emit_stats(self) -> None:
        figures = self.probe.take()
        self.events.emit(
            "stats",
            rss_mb=round(rss_mb(), 1),
            stall_max_ms=round(figures.max_ms, 1),
            stall_p99_ms=round(figures.p99_ms, 1),
        )

    def _go_fullscreen(self, window: QWidget) -> None:
        window.setWindowFlag(Qt.WindowType.FramelessWindowHint, True)
        window.setCursor(QCursor(Qt.CursorShape.BlankCursor))
        primary = QGuiApplication.primaryScreen()
        if primary is not None:
            window.setGeometry(primary.geometry())
        window.showFullScreen()
        if window.windowHandle() is not None and primary is not None:
            window.windowHandle().setScreen(primary)
        QGuiApplication.setOverrideCursor(QCursor(Qt.CursorShape.BlankCursor))

    def _on_signal(self, signum: int, frame: object) -> None:
        log.info("signal %d: stopping", signum)
        self.quit()


class LazyWeb(QObject):
    """Creates the QtWebEngine profile on the first web slide, not at start-up.

    Chromium's profile and processes cost start-up time a screen without web slides never
    needs; a player whose QtWebEngine is missing skips web slides with that reason.
    """

    def __init__(self, parent: QObject | None = None, config: PlayerConfig | None = None) -> None:
        super().__init__(parent)
        self._context: WebContext | None = None
        self._missing = False
        self._config = config

    def warm(self) -> object | None:
        """Creates the shared profile now (``signage.player.warmup``); returns it, or
        None without QtWebEngine."""
        self._ensure()
        return self._context.profile if self._context is not None else None

    def make_view(self, parent: QWidget | None, slide: Slide, res: SlideResources) -> SlideView:
        self._ensure()
        if self._context is None:
            return make_view(parent, slide, res.without_web())
        return self._context.make_view(parent, slide, res)

    def _ensure(self) -> None:
        if self._context is None and not self._missing:
            try:
                from signage.player.web import WebContext
            except ImportError:
                self._missing = True
            else:
                config = self._config
                cas: tuple[Any, ...] = ()
                if config is not None and config.ca_file is not None:
                    from signage.trust import load_ca_file

                    cas = load_ca_file(config.ca_file)  # checked when the config was read
                hosts = config.allowed_hosts if config is not None else frozenset()
                self._context = WebContext(self, hosts, cas)

    def blocked_requests(self) -> list[str]:
        """URLs web pages asked for and were refused (file://..., at most 100)."""
        return list(self._context.guard.blocked) if self._context is not None else []

    def refusals(self) -> list[str]:
        """What web pages asked for and did not get: dialogs, windows, permissions,
        downloads, navigations, certificates (at most 100)."""
        return list(self._context.refusals) if self._context is not None else []

    def dispose(self) -> None:
        import shiboken6

        if self._context is not None and shiboken6.isValid(self._context):
            shiboken6.delete(self._context)
        self._context = None


__all__ = ["LazyWeb", "Player", "PlayerWindow"]


class _Frame(Value):
    """A grabbed frame's pixels (RGB888 rows of ``stride`` bytes), owned by Python."""

    __slots__ = ("data", "height", "stride", "width")
    _fields = ("data", "width", "height", "stride")

    def __init__(self, data: bytes, width: int, height: int, stride: int) -> None:
        self.data: Final = data
        self.width: Final = width
        self.height: Final = height
        self.stride: Final = stride
