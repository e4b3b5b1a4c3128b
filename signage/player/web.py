"""Web slide room: QtWebEngine pages loaded off screen, with no way to local files.

One off-the-record profile serves every web slide. Its request interceptor lets only
``http``, ``https``, ``data``, ``blob`` and ``about`` through, so a page can never read
``file://`` (the content cache included); local pages may not reach remote URLs, plugins
and pop-ups are off, sound is muted. A page is ready once it loaded without error and had
a moment to paint; an HTTP error status, a network failure or a load over 10 s fails it.

Pages are other people's code, so nothing a page asks for reaches the screen (``_Page``):
JavaScript dialogs (``alert``, ``confirm``, ``prompt``, leave-page prompts) are answered
at once and logged, new windows are never created, permission requests (camera,
microphone, location, notifications, screen capture...), full screen and downloads are
refused, file choosers get no file, printing shows nothing. Certificate errors are refused
(the slide is skipped with the reason) unless the only fault is an unknown issuer and the
chain verifies against the organisation's ``ca_file`` (``signage.trust``). The main frame
may only navigate within the slide's own host or the allowed hosts (links, redirects,
``location=``): the content's ``qr.allowed_hosts`` (``playlists/settings.yaml``, carried in
the signed feed) narrowed by the screen's own, never widened by it; anything else is
stopped; during loading that skips the slide with the reason. A slide from a signed feed
must be https (the validator says so too).
"""

from __future__ import annotations

from collections.abc import Sequence
from datetime import UTC, datetime
from typing import TYPE_CHECKING

from PySide6.QtCore import QObject, QTimer, QUrl, Signal
from PySide6.QtGui import QColor
from PySide6.QtNetwork import QAuthenticator
from PySide6.QtWebEngineCore import (
    QWebEngineCertificateError,
    QWebEngineDownloadRequest,
    QWebEngineFullScreenRequest,
    QWebEngineLoadingInfo,
    QWebEnginePage,
    QWebEnginePermission,
    QWebEngineProfile,
    QWebEngineSettings,
    QWebEngineUrlRequestInfo,
    QWebEngineUrlRequestInterceptor,
)
from PySide6.QtWebEngineWidgets import QWebEngineView
from PySide6.QtWidgets import QWidget

from signage.logs import area_logger
from signage.model import Slide, SlideKind, narrowed_hosts
from signage.player.views import SlideResources, SlideView
from signage.printable import printable as safe_text

if TYPE_CHECKING:
    from cryptography.x509 import Certificate

log = area_logger("player")

ALLOWED_SCHEMES = frozenset({"http", "https", "data", "blob", "about"})
MAX_REFUSALS = 100
SETTLE_MS = 350  # after loadFinished, time for the first paint before the page is "ready"


def request_allowed(scheme: str) -> bool:
    """Whether a web slide may request a URL of this scheme (never ``file://``)."""
    return scheme.lower() in ALLOWED_SCHEMES


def navigation_problem(
    scheme: str, host: str, home_host: str, allowed_hosts: frozenset[str], *, https_only: bool
) -> str | None:
    """Why a web slide's page may not navigate its main frame to ``scheme://host``
    (``None``: it may). Only the slide's own host (with or without ``www.``) and the
    allowed hosts, over http(s)."""
    scheme, host = scheme.lower(), host.lower()
    if scheme not in ("https", "http") or (https_only and scheme != "https"):
        return f"web page tried to navigate to a {scheme or 'relative'}: URL"
    if host.removeprefix("www.") == home_host.lower().removeprefix("www.") or host in allowed_hosts:
        return None
    return f"web page tried to leave {home_host} for {host or 'no host'} (not allowed)"


def printable(text: str, limit: int = 200) -> str:
    """Page-supplied text for a log line: one line, bounded."""
    return safe_text(text[: limit * 4], limit)


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


class _Page(QWebEnginePage):
    """A page that answers everything a web page may ask of its user without a window.

    ``refused`` carries the reason of a navigation or certificate it stopped.
    """

    refused = Signal(str)

    def __init__(
        self,
        profile: QWebEngineProfile,
        parent: QObject,
        home: QUrl,
        allowed_hosts: frozenset[str],
        cas: Sequence[Certificate],
        *,
        https_only: bool,
        refusals: list[str],
    ) -> None:
        super().__init__(profile, parent)
        self._refusals = refusals
        self._home_host = home.host()
        self._allowed_hosts = allowed_hosts
        self._cas = tuple(cas)
        self._https_only = https_only
        self.permissionRequested.connect(self._on_permission)
        self.fullScreenRequested.connect(self._on_fullscreen)
        self.certificateError.connect(self._on_certificate)
        self.authenticationRequired.connect(self._on_login)
        self.proxyAuthenticationRequired.connect(self._on_proxy_login)

    def _note(self, what: str) -> None:
        log.info("web slide %s: %s", self._home_host, what)
        if len(self._refusals) < MAX_REFUSALS:
            self._refusals.append(what)

    # JavaScript dialogs: QWebEngineView would show a modal dialog (and the player then
    # died with "free(): invalid size"); here each is answered at once, "no" by default.
    def javaScriptAlert(self, securityOrigin: QUrl | str, msg: str) -> None:
        self._note(f"alert() ignored: {printable(msg)}")

    def javaScriptConfirm(self, securityOrigin: QUrl | str, msg: str) -> bool:
        self._note(f"confirm() answered no: {printable(msg)}")
        return False

    def javaScriptPrompt(
        self, securityOrigin: QUrl | str, msg: str, defaultValue: str
    ) -> tuple[bool, str]:
        self._note(f"prompt() cancelled: {printable(msg)}")
        return False, ""

    def chooseFiles(
        self,
        mode: QWebEnginePage.FileSelectionMode,
        oldFiles: Sequence[str],
        acceptedMimeTypes: Sequence[str],
    ) -> list[str]:
        self._note("file chooser refused")
        return []

    def createWindow(self, type: QWebEnginePage.WebWindowType) -> None:  # type: ignore[override]
        self._note(f"new window refused ({type.name})")

    def acceptNavigationRequest(
        self, url: QUrl | str, type: QWebEnginePage.NavigationType, isMainFrame: bool
    ) -> bool:
        if not isMainFrame:
            return True  # frames stay inside the slide; the scheme guard still applies
        target = QUrl(url)
        problem = navigation_problem(
            target.scheme(),
            target.host(),
            self._home_host,
            self._allowed_hosts,
            https_only=self._https_only,
        )
        if problem is None:
            return True
        log.warning("web slide: navigation stopped: %s", problem)
        self._note(f"navigation stopped: {problem}")
        self.refused.emit(problem)
        return False

    def _on_permission(self, permission: QWebEnginePermission) -> None:
        self._note(f"permission {permission.permissionType().name} refused")
        permission.deny()

    def _on_fullscreen(self, request: QWebEngineFullScreenRequest) -> None:
        self._note("full screen refused")
        request.reject()

    def _on_login(self, url: QUrl, authenticator: QAuthenticator) -> None:
        # Qt cancels only when the authenticator is replaced by a null one, which Python
        # cannot do; the empty credentials sent instead are refused by the server. The
        # slide is skipped with this reason, not Chromium's "too many retries".
        reason = f"web page asks for a login ({printable(authenticator.realm(), 80)})"
        self._note(reason)
        self.refused.emit(reason)

    def _on_proxy_login(self, url: QUrl, authenticator: QAuthenticator, host: str) -> None:
        reason = f"the proxy {printable(host, 80)} asks for a login"
        self._note(reason)
        self.refused.emit(reason)

    def _on_certificate(self, error: QWebEngineCertificateError) -> None:
        url = error.url()
        kind = QWebEngineCertificateError.Type
        if self._cas and error.type() == kind.CertificateAuthorityInvalid:
            from signage.trust import chain_problem

            chain = [bytes(c.toDer().data()) for c in error.certificateChain()]
            problem = chain_problem(chain, url.host(), self._cas, datetime.now(UTC))
            if problem is None:
                log.info("web slide: %s signed by ca_file: accepted", url.host())
                error.acceptCertificate()
                return
            reason = f"certificate of {url.host()} refused: {problem}"
        else:
            reason = f"certificate of {url.host()} refused: {printable(error.description())}"
        log.warning("web slide: %s", reason)
        self._note(reason)
        error.rejectCertificate()
        if error.isMainFrame():
            self.refused.emit(reason)


class WebContext(QObject):
    """The shared profile web slides use; create one per player, delete it last.

    Args:
        allowed_hosts: this screen's ``qr.allowed_hosts``: it narrows the content's allow-list
            (``playlists/settings.yaml``, carried in the signed feed), never widens it; the
            hosts a page may navigate to besides its own are both lists' common hosts
            (``narrowed_hosts``), or the one given when only one is.
        cas: the organisation's CA certificates (``ca_file``), trusted besides the system's.
    """

    def __init__(
        self,
        parent: QObject | None = None,
        allowed_hosts: frozenset[str] = frozenset(),
        cas: Sequence[Certificate] = (),
    ) -> None:
        super().__init__(parent)
        self.allowed_hosts = allowed_hosts
        self.cas = tuple(cas)
        self.refusals: list[str] = []  # what pages asked for and did not get (bounded)
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
        settings.setAttribute(attr.FullScreenSupportEnabled, False)
        settings.setAttribute(attr.ScreenCaptureEnabled, False)
        settings.setAttribute(attr.JavascriptCanAccessClipboard, False)
        settings.setAttribute(attr.JavascriptCanPaste, False)
        settings.setAttribute(attr.AllowWindowActivationFromJavaScript, False)
        settings.setAttribute(attr.AllowGeolocationOnInsecureOrigins, False)
        self.profile.downloadRequested.connect(self._on_download)

    def _on_download(self, download: QWebEngineDownloadRequest) -> None:
        what = f"download of {printable(download.url().toString())} refused"
        log.warning("web slide: %s", what)
        if len(self.refusals) < MAX_REFUSALS:
            self.refusals.append(what)
        download.cancel()

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
        self._home = QUrl(slide.source)
        signed = res.content is not None and res.content.signed
        self._https_only = signed
        # the content's allow-list (the settings', in the feed), narrowed by this screen's
        hosts = narrowed_hosts(res.theme.allowed_hosts, web.allowed_hosts)
        self._page = _Page(
            web.profile,
            self._view,
            self._home,
            hosts,
            web.cas,
            https_only=signed,
            refusals=web.refusals,
        )
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
        self._refusal = ""
        self._refused_timer = QTimer(self)  # acted on from the event loop, not inside Chromium
        self._refused_timer.setSingleShot(True)
        self._refused_timer.timeout.connect(self._act_on_refusal)
        self._page.refused.connect(self._on_refused)

    def resizeEvent(self, event: object) -> None:
        self._view.setGeometry(self.rect())

    def _load(self) -> None:
        url = QUrl(self._need_slide().source)
        if url.scheme().lower() not in {"http", "https"}:
            raise ValueError(f"web slide URL must be http(s): {url.toString()}")
        if self._https_only and url.scheme().lower() != "https":
            raise ValueError(f"web slide from a signed feed must be https: {url.toString()}")
        self._view.setUrl(url)

    def _on_refused(self, reason: str) -> None:
        if not self._refusal:
            self._refusal = reason
        self._refused_timer.start(0)

    def _act_on_refusal(self) -> None:
        if self.state in ("preparing", "ready"):
            self._settle.stop()
            self._unexplained.stop()
            self._fail(self._refusal)
        # on screen: the navigation was stopped and the page stays as it was

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
            self._fail(self._refusal or self._http_error)

    def _on_finished(self, ok: bool) -> None:
        if self.state != "preparing":
            return
        if self._refusal or self._http_error:
            self._fail(self._refusal or self._http_error)
        elif not ok:  # the reason (HTTP status, network error) follows in loadingChanged
            self._unexplained.start(200)
        else:
            self._settle.start(SETTLE_MS)

    def _fail_unexplained(self) -> None:
        self._fail(self._refusal or self._http_error or "web page failed to load")

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
        self._refused_timer.stop()
        self._page.triggerAction(QWebEnginePage.WebAction.Stop)
