"""The hub's write-endpoint guard: bearer tokens from ``--token-file``, constant-time check.

Two tokens. The admin token (``--token-file``) opens every write endpoint: alerts,
republish, and the screens' own endpoints. The screen token (``--screen-token-file``)
opens only what a screen sends: heartbeats and proof-of-play batches
(``check_screen_bearer``). A screen in a public hall holds the screen token, so whoever
takes its SD card can at worst send false heartbeats, never put an alert on every screen.
Per-screen tokens, and which screen a screen request may speak for, are in
``signage.hub.screens`` (the hub's guard of the screens' endpoints is
``screens.require_screen``; ``check_screen_bearer`` stays for the token pair alone).
"""

from __future__ import annotations

import hmac
import stat
from pathlib import Path

from starlette.exceptions import HTTPException
from starlette.requests import Request

from signage.errors import UsageError
from signage.i18n import _
from signage.logs import area_logger

log = area_logger("hub")

MAX_TOKEN_BYTES = 4096


def read_token_file(path: Path, flag: str = "--token-file") -> str:
    """The token in ``path`` (surrounding whitespace removed).

    Args:
        path: the token file.
        flag: the option that named it, so messages say which file is wrong.

    Raises:
        UsageError: the file cannot be read, is empty, or is not a one-line token.
    """
    try:
        mode = path.stat().st_mode
        raw = path.read_bytes()
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise UsageError(
            _(
                "{flag} {path}: cannot read it ({reason}); "
                "create it with one line holding the token, readable by the hub"
            ).format(flag=flag, path=path, reason=reason)
        ) from exc
    if len(raw) > MAX_TOKEN_BYTES:
        raise UsageError(
            _("{flag} {path}: {size} bytes is too long for a token").format(
                flag=flag, path=path, size=len(raw)
            )
        )
    try:
        token = raw.decode("utf-8").strip()
    except UnicodeDecodeError as exc:
        raise UsageError(_("{flag} {path}: not UTF-8 text").format(flag=flag, path=path)) from exc
    if not token:
        raise UsageError(
            _("{flag} {path}: the file is empty; put the token on one line").format(
                flag=flag, path=path
            )
        )
    if any(c.isspace() for c in token):
        raise UsageError(
            _("{flag} {path}: a token is one word without spaces or newlines").format(
                flag=flag, path=path
            )
        )
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        log.warning("%s %s can be read by other users; restrict it: chmod 600 %s", flag, path, path)
    return token


def check_bearer(request: Request, token: str | None, screen_token: str | None = None) -> None:
    """Refuses the request unless it carries ``Authorization: Bearer <token>``.

    Args:
        request: the incoming request.
        token: the admin token (``None``: the hub has none).
        screen_token: the hub's screen token, if any: offered here it is refused with a
            403 that says so, since it opens only the screens' endpoints.

    Raises:
        HTTPException: 401 without or with a wrong token; 403 when the hub has no token
            at all (write endpoints are then disabled rather than open), or for the
            screen token.
    """
    if token is None:
        raise HTTPException(
            403, _("this hub was started without --token-file: write endpoints are disabled")
        )
    header = request.headers.get("authorization", "")
    scheme, _sep, given = header.partition(" ")
    challenge = {"WWW-Authenticate": 'Bearer realm="signage"'}
    if scheme.lower() != "bearer" or not given.strip():
        raise HTTPException(401, _("missing bearer token (Authorization: Bearer ...)"), challenge)
    offered = given.strip().encode()
    if hmac.compare_digest(offered, token.encode()):
        return
    if screen_token is not None and hmac.compare_digest(offered, screen_token.encode()):
        raise HTTPException(
            403,
            _(
                "this is the screen token: it only sends heartbeats and proof-of-play; "
                "use the admin token (the hub's --token-file) here"
            ),
        )
    raise HTTPException(401, _("wrong bearer token"), challenge)


def check_screen_bearer(request: Request, admin: str | None, screen: str | None) -> None:
    """The guard of the screens' write endpoints (heartbeat, proof-of-play events).

    Accepts ``Authorization: Bearer <screen>`` or ``Bearer <admin>`` (the admin token keeps
    working there, so screens set up before the screen token existed go on reporting).
    Both comparisons always run, in constant time, so timing tells nothing about which
    token came close. A hub with neither token accepts screens without one (it has no
    secret to share with them, as before the screen token).

    Raises:
        HTTPException: 401 without or with a wrong token, with the same bodies and
            ``WWW-Authenticate`` challenge as ``check_bearer``.
    """
    if admin is None and screen is None:
        return
    header = request.headers.get("authorization", "")
    scheme, _sep, given = header.partition(" ")
    challenge = {"WWW-Authenticate": 'Bearer realm="signage"'}
    if scheme.lower() != "bearer" or not given.strip():
        raise HTTPException(401, _("missing bearer token (Authorization: Bearer ...)"), challenge)
    offered = given.strip().encode()
    accepted = False
    for token in (screen, admin):
        if token is not None and hmac.compare_digest(offered, token.encode()):
            accepted = True
    if not accepted:
        raise HTTPException(401, _("wrong bearer token"), challenge)
