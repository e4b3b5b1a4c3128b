"""The hub's screen register: one token per enrolled screen, and what a screen may send.

Enrolment (``signage screen add ID``) gives a screen a token of its own. The hub keeps
only the token's SHA-256 in ``DATA/screens.json`` (mode 0600, replaced atomically under
``DATA/screens.lock``) and re-reads that file whenever it changes, so adding, rotating or
revoking a screen takes effect on the next request, without a restart. A heartbeat or a
proof-of-play batch sent with a screen's token counts for that screen only: it cannot
speak for another id.

Who may report (``authenticate``):

==================  =========================================================
caller              may report for
==================  =========================================================
a screen's token    its own id only
the shared token    ids that are not enrolled, at most ``max_shared`` of them
(legacy ``--screen-token-file``)
the admin token     any id (not enrolled ones count against ``max_shared``)
no token at all     as the shared token, when the hub has no token of any kind
==================  =========================================================

What a heartbeat may carry (``bound_report``): an id of 1-64 ``A-Z a-z 0-9 . _ -``
(not starting with a dot), at most ``MAX_TAGS`` tags, short texts (longer ones are cut
with an ellipsis, the last error at ``MAX_ERROR_CHARS``), at most ``MAX_ERROR_KINDS``
error counters, and a screenshot that is a real PNG (decoded with Pillow) of at most
``MAX_SHOT_PIXELS`` pixels and ``MAX_SHOT_SIDE`` on a side.
"""

from __future__ import annotations

import contextlib
import dataclasses
import fcntl
import hashlib
import hmac
import io
import json
import os
import re
import secrets
import threading
from collections.abc import Iterator, Mapping
from dataclasses import dataclass
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any, Literal

from starlette.exceptions import HTTPException

from signage.errors import SignageError, UsageError
from signage.i18n import _
from signage.logs import area_logger
from signage.telemetry.wire import HeartbeatReport, ReportError

if TYPE_CHECKING:
    from starlette.requests import Request

log = area_logger("hub")

REGISTER_NAME = "screens.json"
LOCK_NAME = "screens.lock"
FORMAT = "signage-screens/1"
MAX_REGISTER_BYTES = 8 * 1024 * 1024
DEFAULT_MAX_SHARED = 200
SCREEN_ID = re.compile(r"[A-Za-z0-9_-][A-Za-z0-9._-]{0,63}")
MAX_TAGS = 32
MAX_TAG_CHARS = 64
MAX_TEXT_CHARS = 200
MAX_ERROR_CHARS = 1000
MAX_ERROR_KINDS = 32
MAX_SHOT_SIDE = 4096
MAX_SHOT_PIXELS = 4_000_000

Kind = Literal["screen", "shared", "admin", "open"]


class RegisterError(SignageError):
    """Raised when the screen register cannot be read or written, or an id is refused."""


def check_screen_id(screen: str) -> str:
    """``screen`` when it is a valid id; raises ``UsageError`` saying what an id is."""
    if not SCREEN_ID.fullmatch(screen):
        raise UsageError(
            _(
                "screen id {screen}: use 1 to 64 letters, digits, '.', '_' or '-' "
                "(not starting with '.')"
            ).format(screen=repr(screen[:80]))
        )
    return screen


def new_token() -> str:
    """A fresh screen token: 32 random bytes, URL-safe base64 (43 characters)."""
    return secrets.token_urlsafe(32)


def token_digest(token: str) -> str:
    return hashlib.sha256(token.encode()).hexdigest()


@dataclass(frozen=True, slots=True)
class Enrolled:
    """One enrolled screen: its id, the SHA-256 of its token, when added and rotated."""

    screen: str
    digest: str
    added: str
    rotated: str | None = None

    def to_json(self) -> dict[str, Any]:
        return {"token_sha256": self.digest, "added": self.added, "rotated": self.rotated}


def _now() -> str:
    return datetime.now(UTC).isoformat(timespec="seconds")


def parse_register(data: bytes, where: Path) -> dict[str, Enrolled]:
    """The screens in a register file's bytes; pure. Raises ``RegisterError``."""
    try:
        doc = json.loads(data)
    except (ValueError, UnicodeDecodeError) as exc:
        raise RegisterError(f"{where}: not JSON ({exc})") from None
    if not isinstance(doc, dict) or doc.get("format") != FORMAT:
        raise RegisterError(f"{where}: not a screen register ({FORMAT})")
    screens = doc.get("screens")
    if not isinstance(screens, dict):
        raise RegisterError(f"{where}: 'screens' must be an object")
    out: dict[str, Enrolled] = {}
    for screen, entry in screens.items():
        if not isinstance(entry, dict) or not SCREEN_ID.fullmatch(str(screen)):
            raise RegisterError(f"{where}: screen {str(screen)[:80]!r} is malformed")
        digest = entry.get("token_sha256")
        if not isinstance(digest, str) or not re.fullmatch(r"[0-9a-f]{64}", digest):
            raise RegisterError(f"{where}: screen {screen!r} has no token_sha256")
        out[screen] = Enrolled(
            screen, digest, str(entry.get("added") or ""), entry.get("rotated") or None
        )
    return out


def render_register(screens: Mapping[str, Enrolled]) -> bytes:
    doc = {
        "format": FORMAT,
        "screens": {s: screens[s].to_json() for s in sorted(screens)},
    }
    return (json.dumps(doc, indent=2) + "\n").encode()


class ScreenRegister:
    """The enrolled screens of one hub (``DATA/screens.json``), re-read when it changes.

    Args:
        data_dir: the hub's data folder.
    """

    def __init__(self, data_dir: Path) -> None:
        self.path = data_dir / REGISTER_NAME
        self._lock_path = data_dir / LOCK_NAME
        self._lock = threading.Lock()
        self._stamp: tuple[int, int, int] | None = None
        self._screens: dict[str, Enrolled] = {}
        self._by_digest: dict[str, str] = {}

    # ---------------------------------------------------------------- reading

    def _current(self) -> dict[str, Enrolled]:
        """The register as on disk now (re-read only when its stat stamp changed). A file
        that became unreadable keeps the last good register and logs why."""
        try:
            st = self.path.stat()
        except FileNotFoundError:
            with self._lock:
                self._stamp, self._screens, self._by_digest = None, {}, {}
            return {}
        except OSError as exc:
            log.error("screen register %s: cannot stat it (%s)", self.path, exc.strerror)
            return self._screens
        stamp = (st.st_mtime_ns, st.st_size, st.st_ino)
        with self._lock:
            if stamp == self._stamp:
                return self._screens
            try:
                screens = self._read()
            except RegisterError as exc:
                log.error("%s; keeping the screens read before", exc)
                self._stamp = stamp
                return self._screens
            self._stamp = stamp
            self._screens = screens
            self._by_digest = {e.digest: e.screen for e in screens.values()}
            return screens

    def _read(self) -> dict[str, Enrolled]:
        try:
            with self.path.open("rb") as fh:
                data = fh.read(MAX_REGISTER_BYTES + 1)
        except OSError as exc:
            raise RegisterError(f"{self.path}: cannot read it ({exc.strerror})") from None
        if len(data) > MAX_REGISTER_BYTES:
            raise RegisterError(f"{self.path}: larger than {MAX_REGISTER_BYTES} bytes")
        return parse_register(data, self.path)

    def screens(self) -> dict[str, Enrolled]:
        """Every enrolled screen, by id."""
        return dict(self._current())

    def is_enrolled(self, screen: str) -> bool:
        return screen in self._current()

    def owner(self, token: str) -> str | None:
        """The screen ``token`` belongs to, ``None`` when it is no screen's token."""
        self._current()
        digest = token_digest(token)
        with self._lock:
            screen = self._by_digest.get(digest)
            enrolled = self._screens.get(screen) if screen is not None else None
        if enrolled is not None and hmac.compare_digest(enrolled.digest, digest):
            return enrolled.screen
        return None

    # ---------------------------------------------------------------- writing

    @contextlib.contextmanager
    def _editing(self) -> Iterator[dict[str, Enrolled]]:
        self.path.parent.mkdir(parents=True, exist_ok=True)
        fd = os.open(self._lock_path, os.O_RDWR | os.O_CREAT | os.O_NOFOLLOW, 0o600)
        try:
            fcntl.flock(fd, fcntl.LOCK_EX)
            screens = self._read() if self.path.exists() else {}
            yield screens
            self._write(screens)
        finally:
            os.close(fd)

    def _write(self, screens: Mapping[str, Enrolled]) -> None:
        data = render_register(screens)
        tmp = self.path.with_name(f".{REGISTER_NAME}.tmp-{os.getpid()}")
        fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC | os.O_NOFOLLOW, 0o600)
        try:
            with os.fdopen(fd, "wb") as fh:
                fh.write(data)
                fh.flush()
                os.fsync(fh.fileno())
            tmp.replace(self.path)
        except OSError as exc:
            with contextlib.suppress(OSError):
                tmp.unlink()
            raise RegisterError(f"{self.path}: cannot write it ({exc.strerror})") from None

    def add(self, screen: str, *, rotate: bool = False) -> str:
        """Enrols ``screen`` (or, with ``rotate``, gives an enrolled one a new token) and
        returns its token; the old token stops working at once.

        Raises:
            UsageError: a bad id, an id already enrolled (without ``rotate``) or, with
                ``rotate``, one that is not.
        """
        check_screen_id(screen)
        token = new_token()
        with self._editing() as screens:
            old = screens.get(screen)
            if old is not None and not rotate:
                raise UsageError(
                    _(
                        "screen {screen} is already enrolled; 'signage screen rotate {id}' "
                        "gives it a new token"
                    ).format(screen=repr(screen), id=screen)
                )
            if old is None and rotate:
                raise UsageError(
                    _("screen {screen} is not enrolled; add it first").format(screen=repr(screen))
                )
            stamp = _now()
            screens[screen] = Enrolled(
                screen,
                token_digest(token),
                old.added if old is not None else stamp,
                stamp if old is not None else None,
            )
        return token

    def revoke(self, screen: str) -> bool:
        """Forgets ``screen``'s token; returns whether it was enrolled."""
        with self._editing() as screens:
            return screens.pop(screen, None) is not None


@dataclass(frozen=True, slots=True)
class ScreenCaller:
    """Who sent a screen's request: ``kind`` and, for a screen's own token, its id."""

    kind: Kind
    screen: str | None = None

    def refusal(self, screen: str, register: ScreenRegister, unenrolled_room: bool) -> str | None:
        """Why this caller may not report for ``screen``, or ``None`` when it may; pure
        but for the register lookup.

        Args:
            screen: the id the request speaks for.
            register: the enrolled screens.
            unenrolled_room: whether a new not-enrolled id would still fit
                ``max_shared`` (ids already known always do).
        """
        if self.kind == "screen":
            if screen != self.screen:
                return _(
                    "this token belongs to screen {screen}; it cannot report for {other}"
                ).format(screen=repr(self.screen), other=repr(screen[:80]))
            return None
        if self.kind != "admin" and register.is_enrolled(screen):
            return _(
                "screen {screen} is enrolled: it reports with its own token, not the shared one"
            ).format(screen=repr(screen))
        if not register.is_enrolled(screen) and not unenrolled_room:
            return _(
                "too many screens report without a token of their own; enrol them "
                "('signage screen add ID')"
            )
        return None


def authenticate(
    offered: str | None, admin: str | None, shared: str | None, register: ScreenRegister
) -> ScreenCaller | None:
    """Who ``offered`` (the bearer token, ``None`` when absent) is; ``None``: nobody."""
    if offered is not None:
        encoded = offered.encode()
        is_admin = admin is not None and hmac.compare_digest(encoded, admin.encode())
        is_shared = shared is not None and hmac.compare_digest(encoded, shared.encode())
        owner = register.owner(offered)
        if owner is not None:
            return ScreenCaller("screen", owner)
        if is_admin:
            return ScreenCaller("admin")
        if is_shared:
            return ScreenCaller("shared")
        return None
    if admin is None and shared is None and not register.screens():
        return ScreenCaller("open")
    return None


def _cut(text: str | None, limit: int) -> str | None:
    if text is None or len(text) <= limit:
        return text
    return text[: limit - 1] + "…"


def bound_report(report: HeartbeatReport) -> HeartbeatReport:
    """``report`` with every field within its bound (long texts cut); pure but for the
    screenshot check.

    Raises:
        ReportError: the id is not a screen id, too many tags or error counters, or the
            screenshot is not a PNG within ``MAX_SHOT_PIXELS``.
    """
    if not SCREEN_ID.fullmatch(report.screen):
        raise ReportError(
            _("'screen' must be 1-64 letters, digits, '.', '_' or '-' (not starting with '.')")
        )
    if len(report.tags) > MAX_TAGS or any(len(t) > MAX_TAG_CHARS for t in report.tags):
        raise ReportError(
            _("at most {tags} tags of at most {chars} characters").format(
                tags=MAX_TAGS, chars=MAX_TAG_CHARS
            )
        )
    if len(report.errors) > MAX_ERROR_KINDS:
        raise ReportError(_("at most {count} error counters").format(count=MAX_ERROR_KINDS))
    errors = {k[:MAX_TEXT_CHARS]: v for k, v in report.errors.items()}
    if report.screenshot_png is not None:
        check_screenshot(report.screenshot_png)
    return dataclasses.replace(
        report,
        playlist=_cut(report.playlist, MAX_TEXT_CHARS),
        slide=_cut(report.slide, MAX_TEXT_CHARS),
        alert=_cut(report.alert, MAX_TEXT_CHARS),
        last_error=_cut(report.last_error, MAX_ERROR_CHARS),
        software=_cut(report.software, MAX_TEXT_CHARS) or "?",
        errors=errors,
    )


def check_screenshot(png: bytes) -> None:
    """Decodes ``png`` with Pillow: a PNG of at most ``MAX_SHOT_SIDE`` a side and
    ``MAX_SHOT_PIXELS`` pixels that decodes whole. Raises ``ReportError`` otherwise."""
    from PIL import Image

    try:
        with Image.open(io.BytesIO(png), formats=["PNG"]) as img:
            width, height = img.size
            if width > MAX_SHOT_SIDE or height > MAX_SHOT_SIDE or width * height > MAX_SHOT_PIXELS:
                raise ReportError(
                    _("'screenshot_png' is {width}x{height}; at most {pixels} pixels").format(
                        width=width, height=height, pixels=MAX_SHOT_PIXELS
                    )
                )
            img.load()
    except ReportError:
        raise
    except (OSError, ValueError, SyntaxError, Image.DecompressionBombError) as exc:
        raise ReportError(
            _("'screenshot_png' is not a readable PNG ({reason})").format(reason=exc)
        ) from None


def bearer(header: str) -> str | None:
    """The token of an ``Authorization: Bearer <token>`` header value, else ``None``."""
    scheme, _sep, given = header.partition(" ")
    token = given.strip()
    return token if scheme.lower() == "bearer" and token else None


def require_screen(
    request: Request, admin: str | None, shared: str | None, register: ScreenRegister
) -> ScreenCaller:
    """The guard of the screens' write endpoints (heartbeat, proof-of-play): who sent it.

    Raises:
        HTTPException: 401 without a token or with one that is nobody's (with the
            ``WWW-Authenticate`` challenge).
    """
    offered = bearer(request.headers.get("authorization", ""))
    caller = authenticate(offered, admin, shared, register)
    if caller is not None:
        return caller
    challenge = {"WWW-Authenticate": 'Bearer realm="signage"'}
    if offered is None:
        raise HTTPException(401, _("missing bearer token (Authorization: Bearer ...)"), challenge)
    raise HTTPException(401, _("wrong bearer token"), challenge)
