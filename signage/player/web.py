"""Web slide room: QtWebEngine pages loaded off screen, with no way to local files.

One off-the-record profile serves every web slide. Its request interceptor lets only
``http``, ``https``, ``data``, ``blob`` and ``about`` through, so a page can never read
``file://`` (the content cache included); local pages may not reach remote URLs, plugins
and pop-ups are off, sound is muted. A page is ready once it loaded without error and had
a moment to paint; an HTTP error status, a network failure or a load over 10 s fails it.
"""

from __future__ import annotations

from PySide6.QtCore import QObject, QTimer, QUrl
from PySide6.QtGui import QColor
from PySide6.QtWebEngineCore import (
    QWebEngineLoadingInfo,
    QWebEnginePage,
    QWebEngineProfile,
    QWebEngineSettings,
    QWebEngineUrlRequestInfo,
    QWebEngineUrlRequestInterceptor,
)
from PySide6.QtWebEngineWidgets import QWebEngineView
from PySide6.QtWidgets import QWidget

from signage.logs import area_logger
from signage.model import Slide, SlideKind
from signage.player.views import SlideResources, SlideView

log = area_logger("player")

ALLOWED_SCHEMES = frozenset({"http", "https", "data", "blob", "about"})
SETTLE_MS = 350  # after loadFinished, time for the first paint before the page is "ready"


def request_allowed(scheme: str) -> bool:
    """Whether a web slide may request a URL of this scheme (never ``file://``)."""
    return scheme.lower() in ALLOWED_SCHEMES


class _SchemeGuard(QWebEngineUrlRequestInterceptor):
    """Blocks every request whose scheme is not on ``ALLOWED_SCHEMES`` (file://, ftp...)."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.blocked: list[str] = []

    def interceptRequest(self, info: QWebEngineUrlRequestInfo) -> None:
        url = info.requestUrl()
        if not request_allowed(url.scheme()):
            info.block(True)
            if len(self.blocked) < 100:
                self.blocked.append(url.toString())
            log.warning("web slide: blocked %s", url.toString())


class WebContext(QObject):
    """The shared profile web slides use; create one per player, delete it last."""

    def __init__(self, parent: QObject | None = None) -> None:
        super().__init__(parent)
        self.profile = QWebEngineProfile(self)  # no storage name: off the record
        self.guard = _SchemeGuard(self)
        self.profile.setUrlRequestInterceptor(self.guard)
        self.profile.setHttpCacheType(QWebEngineProfile.HttpCacheType.MemoryHttpCache)
        self.profile.setPersistentCookiesPolicy(
            QWebEngineProfile.PersistentCookiesPolicy.NoPersistentCookies
        )
        settings = self.profile.settings()
        attr = QWebEngineSettings.WebAttribute
        settings.setAttribute(attr.LocalContentCanAccessFileUrls, False)
        settings.setAttribute(attr.LocalContentCanAccessRemoteUrls, False)
        settings.setAttribute(attr.PluginsEnabled, False)
        settings.setAttribute(attr.JavascriptCanOpenWindows, False)
        settings.setAttribute(attr.ShowScrollBars, False)
        settings.setAttribute(attr.ErrorPageEnabled, False)
        settings.setAttribute(attr.FocusOnNavigationEnabled, False)

    def make_view(self, parent: QWidget | None, slide: Slide, res: SlideResources) -> SlideView:
        return WebView(parent, slide, res, self)


class WebView(SlideView):
    """A web page filling the screen, loaded (and painted once) before its turn."""

    kind = SlideKind.WEB

    def __init__(
        self, parent: QWidget | None, slide: Slide, res: SlideResources, web: WebContext
    ) -> None:
        super().__init__(parent, slide, res)
        self._view = QWebEngineView(self)
        self._page = QWebEnginePage(web.profile, self._view)
        self._page.setAudioMuted(True)
        self._page.setBackgroundColor(QColor(res.theme.background))
        self._view.setPage(self._page)
        self._view.setGeometry(self.rect())
        self._http_error = ""
        self._settle = QTimer(self)
        self._settle.setSingleShot(True)
        self._settle.timeout.connect(self._succeed)
        self._unexplained = QTimer(self)
        self._unexplained.setSingleShot(True)
        self._unexplained.timeout.connect(self._fail_unexplained)
        self._page.loadingChanged.connect(self._on_loading)
        self._page.loadFinished.connect(self._on_finished)
        self._page.renderProcessTerminated.connect(self._on_crash)

    def resizeEvent(self, event: object) -> None:
        self._view.setGeometry(self.rect())

    def _load(self) -> None:
        url = QUrl(self._need_slide().source)
        if url.scheme().lower() not in {"http", "https"}:
            raise ValueError(f"web slide URL must be http(s): {url.toString()}")
        self._view.setUrl(url)

    def _on_loading(self, info: QWebEngineLoadingInfo) -> None:
        if info.status() == QWebEngineLoadingInfo.LoadStatus.LoadFailedStatus:
            code = info.errorCode()
            domain = info.errorDomain()
            if domain == QWebEngineLoadingInfo.ErrorDomain.HttpStatusCodeDomain:
                self._http_error = f"web page answered HTTP {code}"
            else:
                detail = info.errorString() if info.isErrorPage() else ""
                self._http_error = f"web page failed to load: {detail or f'error {code}'}"
            self._settle.stop()
            self._fail(self._http_error)

    def _on_finished(self, ok: bool) -> None:
        if self.state != "preparing":
            return
        if self._http_error:
            self._fail(self._http_error)
        elif not ok:  # the reason (HTTP status, network error) follows in loadingChanged
            self._unexplained.start(200)
        else:
            self._settle.start(SETTLE_MS)

    def _fail_unexplained(self) -> None:
        self._fail(self._http_error or "web page failed to load")

    def _on_crash(self, status: QWebEnginePage.RenderProcessTerminationStatus, code: int) -> None:
        if self.state == "started":
            log.warning("web slide renderer ended (%s); ending the slide", status.name)
            self.state = "failed"
            self.finished.emit()
        else:
            self._fail(f"web page renderer ended ({status.name})")

    def halt(self) -> None:
        super().halt()
        self._settle.stop()
        self._unexplained.stop()
        self._page.triggerAction(QWebEnginePage.WebAction.Stop)
