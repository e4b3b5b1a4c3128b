"""The console's door: who is asking (admin bearer token or a session cookie) and may they.

Rules, the same for pages and the API:

- a read needs a session of at least the role asked for, or the admin bearer token;
- a write needs that, and with a session also its CSRF token (form field ``csrf`` or header
  ``X-CSRF-Token``): a session cookie alone is refused with 403, whatever the role;
- the admin bearer token (``signage serve --token-file``) acts as an admin called
  ``token`` (automation keeps working); the screen token opens nothing here.
"""

from __future__ import annotations

from collections.abc import Callable
from dataclasses import dataclass

from starlette.exceptions import HTTPException
from starlette.requests import Request

from signage.console.accounts import AccountStore, Role, Session, role_allows
from signage.i18n import _

COOKIE = "signage_console"
PRE_COOKIE = "signage_console_pre"  # double-submit token of the sign-in form
CSRF_HEADER = "x-csrf-token"

TokenCheck = Callable[[Request], None]  # the hub's admin-token guard (raises HTTPException)


@dataclass(frozen=True, slots=True)
class Principal:
    """Who a request acts for."""

    user: str
    role: Role
    session: Session | None = None

    @property
    def csrf(self) -> str:
        return self.session.csrf if self.session is not None else ""


class SignInNeeded(HTTPException):
    """Raised when a page or API call needs a session and there is none (401)."""

    def __init__(self) -> None:
        super().__init__(401, _("sign in first (a console session or the admin bearer token)"))


def principal(
    request: Request, accounts: AccountStore, hub_require_token: TokenCheck
) -> Principal | None:
    """Who the request acts for, or ``None``. A bearer header is checked (401/403 when wrong)."""
    if request.headers.get("authorization"):
        hub_require_token(request)
        return Principal("token", Role.ADMIN)
    token = request.cookies.get(COOKIE, "")
    session = accounts.session(token) if token else None
    if session is None:
        return None
    return Principal(session.user, session.role, session)


def require(
    request: Request,
    accounts: AccountStore,
    hub_require_token: TokenCheck,
    needed: Role,
    *,
    write: bool,
    form_csrf: str | None = None,
) -> Principal:
    """The principal when allowed; else ``HTTPException`` 401 (nobody) or 403."""
    who = principal(request, accounts, hub_require_token)
    if who is None:
        raise SignInNeeded()
    if write and who.session is not None:
        offered = request.headers.get(CSRF_HEADER) or form_csrf
        if not AccountStore.csrf_ok(who.session, offered):
            raise HTTPException(403, _("missing or wrong CSRF token; reload the page"))
    if not role_allows(who.role, needed):
        raise HTTPException(
            403,
            _("your role ({role}) cannot do this; it needs {needed}").format(
                role=_(who.role.label), needed=_(needed.label)
            ),
        )
    return who
