"""Engine warm-up room: QtMultimedia and QtWebEngine brought up before a slide needs them.

The first video and the first web page of a run used to start their engine on the GUI
thread as the slide was prepared: importing QtMultimedia and making the first
``QMediaPlayer`` (~90 + ~90 ms), importing QtWebEngine and making the first profile
(~80 + 250–670 ms: Chromium's start-up). That froze a fade or a video on screen once a
day (bench/stall.py, mixed case). Now, as soon as a content version is known to hold video
or web slides, the engines are started in steps (one per event-loop turn), and kept:

- before the first slide, at once, when that first slide is itself a video or a web
  page (it needs its engine to be shown at all; nothing moves yet);
- before the first slide too, whatever that slide is, the one step too long to hide in a
  still frame: the web profile (Chromium's start-up, 60-130 ms on a quiet machine, up to
  670 ms under load). After the first frame it paused the still first picture by that much,
  the whole-run stall over its 50 ms budget (bench/stall.py mixed case); before it, it costs
  a root with web slides that much start-up (a pictures-only root, the start-up figure of
  bench/startup.py, is untouched);
- otherwise after the first frame: while the first slide (a picture, a text) is on
  screen, and whenever a later version brings the first video or web slide, one step at
  a time at a quiet moment: no fade under way and no video or web page on screen. A step
  is one call into Qt that cannot be cut smaller, so it costs one pause of a still frame,
  where nothing on screen moves. (Before, every step ran before the first slide: a
  player whose content had a video or a web page anywhere started 100-340 ms later.)

The warm objects (a ``QMediaPlayer`` with its sink; the web profile and one blank page,
which keeps Chromium's renderer process up) live as long as the player.
"""

from __future__ import annotations

from collections.abc import Callable, Iterable
from time import perf_counter
from typing import Protocol

from PySide6.QtCore import QObject, QTimer, Signal

from signage.logs import area_logger
from signage.model import Slide, SlideKind

__all__ = ["BEFORE_FIRST_SLIDE", "ENGINE_STEPS", "EngineWarmer", "engines_needed", "steps_for"]

log = area_logger("player")

# The steps of each engine, in order (each is one blocking call into Qt or an import).
ENGINE_STEPS: dict[str, tuple[str, ...]] = {
    "video": ("video-module", "media-player"),
    "web": ("web-profile", "web-page"),
}
RETRY_MS = 200  # how soon a step waiting for a quiet moment looks again
# Steps whose one call into Qt is longer than a frame budget: run before the first slide.
BEFORE_FIRST_SLIDE = frozenset({"web-profile"})


def engines_needed(slides: Iterable[Slide]) -> frozenset[str]:
    """The engines these slides use: ``"video"``, ``"web"``."""
    out = set()
    for slide in slides:
        if slide.kind == SlideKind.VIDEO:
            out.add("video")
        elif slide.kind == SlideKind.WEB:
            out.add("web")
    return frozenset(out)


def steps_for(needed: frozenset[str], done: frozenset[str]) -> list[str]:
    """The steps still to run for ``needed``, video first (the cheaper), in order."""
    return [s for e in ("video", "web") if e in needed for s in ENGINE_STEPS[e] if s not in done]


class WebWarming(Protocol):
    """What the warmer needs of the player's web factory (``LazyWeb``)."""

    def warm(self) -> object | None:
        """Creates the shared web profile now; returns it (None: no QtWebEngine)."""
        ...


class EngineWarmer(QObject):
    """Runs the warm-up steps and keeps what they made.

    Args:
        web: the player's web factory, asked to create its profile.
        quiet: True when nothing moves on screen (no fade, no video or page shown).
        started: True once a slide has been on screen.
        urgent: True when the slide going on screen first needs an engine (a video, a web
            page): before the first slide, steps then run at once; otherwise they wait
            for the first slide to be on screen and the screen to be still.
    """

    step_done = Signal(str)  # the step's name, once it ran

    def __init__(
        self,
        parent: QObject | None,
        web: WebWarming,
        quiet: Callable[[], bool],
        started: Callable[[], bool],
        urgent: Callable[[], bool] = lambda: True,
    ) -> None:
        super().__init__(parent)
        self._web = web
        self._quiet = quiet
        self._started = started
        self._urgent = urgent
        self._pending: list[str] = []
        self._done: set[str] = set()
        self.timings_ms: dict[str, float] = {}
        self._kept: list[QObject] = []
        self._timer = QTimer(self)
        self._timer.setSingleShot(True)
        self._timer.timeout.connect(self._next_step)

    @property
    def done(self) -> frozenset[str]:
        return frozenset(self._done)

    def want(self, slides: Iterable[Slide]) -> None:
        """Warms what ``slides`` need and is not warm yet."""
        steps = steps_for(engines_needed(slides), frozenset(self._done))
        new = [s for s in steps if s not in self._pending]
        if not new:
            return
        self._pending += new
        if not self._started():
            if self._urgent():
                while self._pending:  # the first slide needs them: now, before it
                    self._run(self._pending.pop(0))
                return
            for step in [s for s in self._pending if s in BEFORE_FIRST_SLIDE]:
                self._pending.remove(step)  # too long for a still frame: before it
                self._run(step)
            if not self._pending:
                return
        if not self._timer.isActive():
            self._timer.start(0)

    def _next_step(self) -> None:
        if not self._pending:
            return
        if not (self._started() and self._quiet()):  # after the first frame, while still
            self._timer.start(RETRY_MS)
            return
        self._run(self._pending.pop(0))
        if self._pending:
            self._timer.start(0)  # the next step in a later turn of the event loop

    def _run(self, step: str) -> None:
        began = perf_counter()
        try:
            made = self._make(step)
        except ImportError as exc:  # the slide itself says so when its turn comes
            log.info("engine warm-up %s: not available (%s)", step, exc)
            made = None
        if made is not None:
            self._kept.append(made)
        self._done.add(step)
        self.timings_ms[step] = (perf_counter() - began) * 1000
        log.debug("engine warm-up %s: %.0f ms", step, self.timings_ms[step])
        self.step_done.emit(step)

    def _make(self, step: str) -> QObject | None:
        if step == "video-module":
            import signage.player.video  # noqa: F401 (QtMultimedia's libraries and types)

            return None
        if step == "media-player":
            from PySide6.QtMultimedia import QMediaPlayer, QVideoSink

            player = QMediaPlayer(self)  # the first one loads the media back end
            player.setVideoSink(QVideoSink(player))
            return player
        if step == "web-profile":
            self._web.warm()
            return None
        if step == "web-page":
            profile = self._web.warm()
            if profile is None:
                return None
            from PySide6.QtWebEngineCore import QWebEnginePage, QWebEngineProfile

            if not isinstance(profile, QWebEngineProfile):
                return None
            page = QWebEnginePage(profile, self)  # starts Chromium's renderer process
            page.setUrl("about:blank")
            return page
        raise ValueError(f"unknown warm-up step {step!r}")

    def dispose(self) -> None:
        """Deletes what the steps kept (the blank page before the player's web profile)."""
        import shiboken6

        self._timer.stop()
        self._pending.clear()
        for obj in reversed(self._kept):
            if shiboken6.isValid(obj):
                shiboken6.delete(obj)
        self._kept.clear()
