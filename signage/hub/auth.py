"""The hub's write-endpoint guard: a bearer token from ``--token-file``, constant-time check."""

from __future__ import annotations

import hmac
import logging
import stat
from pathlib import Path

from starlette.exceptions import HTTPException
from starlette.requests import Request

from signage.errors import UsageError

log = logging.getLogger("signage.hub")

MAX_TOKEN_BYTES = 4096


def read_token_file(path: Path) -> str:
    """The token in ``path`` (surrounding whitespace removed).

    Raises:
        UsageError: the file cannot be read, is empty, or is not a one-line token.
    """
    try:
        mode = path.stat().st_mode
        raw = path.read_bytes()
    except OSError as exc:
        reason = exc.strerror or str(exc)
        raise UsageError(
            f"--token-file {path}: cannot read it ({reason}); "
            "create it with one line holding the token, readable by the hub"
        ) from exc
    if len(raw) > MAX_TOKEN_BYTES:
        raise UsageError(f"--token-file {path}: {len(raw)} bytes is too long for a token")
    try:
        token = raw.decode("utf-8").strip()
    except UnicodeDecodeError as exc:
        raise UsageError(f"--token-file {path}: not UTF-8 text") from exc
    if not token:
        raise UsageError(f"--token-file {path}: the file is empty; put the token on one line")
    if any(c.isspace() for c in token):
        raise UsageError(f"--token-file {path}: a token is one word without spaces or newlines")
    if mode & (stat.S_IRWXG | stat.S_IRWXO):
        log.warning(
            "--token-file %s can be read by other users; restrict it: chmod 600 %s", path, path
        )
    return token


def check_bearer(request: Request, token: str | None) -> None:
    """Refuses the request unless it carries ``Authorization: Bearer <token>``.

    Raises:
        HTTPException: 401 without or with a wrong token; 403 when the hub has no token
            at all (write endpoints are then disabled rather than open).
    """
    if token is None:
        raise HTTPException(
            403, "this hub was started without --token-file: write endpoints are disabled"
        )
    header = request.headers.get("authorization", "")
    scheme, _, given = header.partition(" ")
    challenge = {"WWW-Authenticate": 'Bearer realm="signage"'}
    if scheme.lower() != "bearer" or not given.strip():
        raise HTTPException(401, "missing bearer token (Authorization: Bearer ...)", challenge)
    if not hmac.compare_digest(given.strip().encode(), token.encode()):
        raise HTTPException(401, "wrong bearer token", challenge)
