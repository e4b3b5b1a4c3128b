"""The console's language room: which language a request is answered in, and the script's words.

The person's own choice (the ``signage_lang`` cookie, set by the language links at the top
of every page) wins; without one the console speaks the hub's language, chosen as
``docs/i18n.md`` says (``SIGNAGE_LANGUAGE``, the content root's ``settings.yaml``, the
environment, then Spanish). The console's scripts carry no words of their own: the page
hands them ``script_texts()`` as a JSON dictionary.
"""

from __future__ import annotations

from collections.abc import Iterator
from contextlib import contextmanager
from contextvars import ContextVar

from signage.i18n import LANGUAGES, _, current_language

COOKIE = "signage_lang"
COOKIE_MAX_AGE_S = 365 * 24 * 3600
NAMES = {"es": "Español", "en": "English"}  # each language in its own words, never translated
_here: ContextVar[str] = ContextVar("console_here", default="/console/")


@contextmanager
def at(path: str) -> Iterator[None]:
    """The page being answered (its path and query), where the language links come back to."""
    token = _here.set(back_to(path))
    try:
        yield
    finally:
        _here.reset(token)


def here() -> str:
    """The page being answered (``/console/`` outside ``at``)."""
    return _here.get()


def chosen(value: str | None) -> str | None:
    """The language a cookie or form value names (``es``/``en``), else ``None``."""
    code = (value or "").strip().lower()[:8]
    return code if code in LANGUAGES else None


def answer_language(cookie: str | None, hub_language: str | None = None) -> str:
    """Pure: the person's choice, else the hub's language."""
    return chosen(cookie) or hub_language or current_language()


def back_to(path: str | None) -> str:
    """Pure: where to go after choosing a language: a console page of this hub, nothing else."""
    target = (path or "").strip()
    if (
        not target.startswith("/console/")
        or target.startswith("//")
        or "\\" in target
        or any(ord(c) < 33 for c in target)
        or len(target) > 512
    ):
        return "/console/"
    return target


def script_texts() -> dict[str, str]:
    """The words ``static/console.js`` and ``static/fleet.js`` show, in the current language."""
    return {
        "choose_file": _("Choose a file"),
        "no_file": _("No file chosen"),
        "updated_at": _("Updated at {time}"),
        "reconnecting": _("Reconnecting…"),
    }
