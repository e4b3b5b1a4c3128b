"""Why a feed was refused or could not be fetched: one exception class per cause.

A sync ends ``rejected`` when the feed itself is refused (a ``FeedError``: the cache keeps
its version and the same refusal is not logged twice) and ``failed`` when the server could
not be reached or misbehaved (a ``TransportError``: retried with backoff first). Callers
decide by class, never by the text of a message; each exception carries its context as
attributes, and ``reason`` stays the short, stable sentence events and logs print::

    SignageError (signage.errors)
    ├── FeedError                 the feed is refused                     -> "rejected"
    │   ├── SignatureError        no signature, not base64, wrong length, or it does not
    │   │                         match the manifest and the pinned key
    │   ├── ReplayError           version older than the trusted one, or the trusted
    │   │                         version again with other content (.version, .trusted)
    │   ├── ExpiredError          the manifest's lifetime is over (.version, .expires)
    │   └── TooLargeError         a document or an asset over its cap or over the size the
    │                             manifest announced (.what, .size, .limit)
    └── TransportError            the feed could not be fetched (.url)    -> "failed"
        ├── ConnectError          no connection (.refused: the port said no)
        ├── Timeout               (the two below share it)
        │   ├── ConnectTimeout    the connection was not set up in time
        │   └── ReadTimeout       the server stalled mid-answer
        ├── ReadError             the connection broke or closed mid-answer
        ├── ResumeError           a resumed download answered wrongly (416, another
        │                         offset): the partial file is dropped, then retried
        ├── StatusError           an HTTP status the sync cannot use (.status,
        │                         .transient: 5xx, 408, 429 are worth retrying)
        └── TooManyRedirects      more than 5 redirects (not retried)

Other refusals (not JSON, unsafe path, wrong hash...) are plain ``FeedError``s. Only the
sync's retry loop looks at ``TransportError.transient``.

Every one is raised as ``Error(N_("msgid with {named} places"), named=value, ...)``:
``str()`` and ``reason`` are the English text (what events, heartbeats and logs record),
``said()`` is the same in the current language (what ``sync``, ``mirror``, ``play`` and
``status`` print); the keyword fields (``version``, ``status``...) are also placeholders.
"""

from __future__ import annotations

from datetime import datetime

from signage.errors import FeedError, SignageError
from signage.i18n import Msg

__all__ = [
    "ConnectError",
    "ConnectTimeout",
    "ExpiredError",
    "FeedError",
    "ReadError",
    "ReadTimeout",
    "ReplayError",
    "ResumeError",
    "SignatureError",
    "StatusError",
    "Timeout",
    "TooLargeError",
    "TooManyRedirects",
    "TransportError",
]


class SignatureError(FeedError):
    """Raised when the feed's signature is missing, malformed or does not verify."""


class ReplayError(FeedError):
    """Raised when a manifest's version would move the screen back (or sideways)."""

    def __init__(self, reason: str, /, *, version: int, trusted: int, **args: object) -> None:
        super().__init__(reason, version=version, trusted=trusted, **args)
        self.version = version
        self.trusted = trusted


class ExpiredError(FeedError):
    """Raised when a manifest is past its ``expires`` time."""

    def __init__(self, reason: str, /, *, version: int, expires: datetime, **args: object) -> None:
        super().__init__(reason, version=version, expires=expires, **args)
        self.version = version
        self.expires = expires


class TooLargeError(FeedError):
    """Raised when a document or an asset is over what may be read of it.

    Args:
        what: the manifest, the signature, or ``asset <sha>…``.
        size: the size seen or announced (``None`` when only "over the limit" is known).
        limit: the bytes allowed.
    """

    def __init__(
        self, reason: str, /, *, what: object, size: int | None, limit: int, **args: object
    ) -> None:
        super().__init__(reason, what=what, size=size, limit=limit, **args)
        self.what = str(what)
        self.size = size
        self.limit = limit


class TransportError(SignageError):
    """Raised when a request could not be completed; ``reason`` is short and stable (no
    addresses or object ids), ``url`` the request's."""

    transient = True

    def __init__(self, reason: str, /, *, url: str = "", **args: object) -> None:
        self.text = Msg(reason, url=url, **args)
        self.reason = str(self.text)
        super().__init__(self.reason)
        self.url = url


class ConnectError(TransportError):
    """Raised when no connection could be set up; ``refused`` when the port said no."""

    def __init__(
        self, reason: str, /, *, url: str = "", refused: bool = False, **args: object
    ) -> None:
        super().__init__(reason, url=url, **args)
        self.refused = refused


class Timeout(TransportError):
    """Raised when the server took longer than the client's timeouts."""


class ConnectTimeout(Timeout):
    """Raised when the TCP (or TLS) connection was not set up in time."""


class ReadTimeout(Timeout):
    """Raised when the server sent nothing for longer than the read timeout."""


class ReadError(TransportError):
    """Raised when the connection broke or closed before the answer was whole."""


class ResumeError(TransportError):
    """Raised when a server answers a ``Range`` request wrongly; the download starts over."""


class StatusError(TransportError):
    """Raised for an HTTP status the caller cannot use; ``transient`` for 5xx, 408, 429."""

    def __init__(self, reason: str, /, *, url: str = "", status: int, **args: object) -> None:
        super().__init__(reason, url=url, status=status, **args)
        self.status = status
        self.transient = status >= 500 or status in (408, 429)


class TooManyRedirects(TransportError):
    """Raised when a request was redirected more than the client follows."""

    transient = False
