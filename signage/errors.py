"""Exceptions and located problems shared by every area.

``Problem`` (one located problem) is defined in ``signage.problem`` and reached from here,
loaded on first use.

Exception tree::

    SignageError              any refusal the CLI turns into a message and an exit code
    ├── UsageError            the command line itself is wrong (exit 2)
    ├── ValidationError       content failed validation; carries every Problem (exit 1)
    ├── ConfigError           the player configuration is wrong (exit 1)
    ├── DisplayError          the player cannot open the display it was given (exit 1)
    ├── FeedError             a feed could not be fetched, verified or applied (exit 1)
    └── AlertError            an alert could not be raised, cleared or imported (exit 1)
"""

from __future__ import annotations

from typing import TYPE_CHECKING, Any

from signage.i18n import Msg

if TYPE_CHECKING:  # re-exported (mypy): ``from signage.errors import Problem`` as before
    from signage.problem import Problem as Problem  # noqa: PLC0414


def __getattr__(name: str) -> Any:
    # ``Problem`` is defined in ``signage.problem`` and loads on first use: a valid root's
    # restart never makes one (a dataclass, ~0.5 ms to create on Python 3.11; issue 17.2).
    if name == "Problem":
        from signage.problem import Problem

        return Problem
    raise AttributeError(f"module {__name__!r} has no attribute {name!r}")


class SignageError(Exception):
    """Raised for any refusal the command line reports as a message, never a traceback.

    ``said()`` is the message for a person, in the current language: the exceptions that
    carry a ``text`` (a ``Msg``: msgid and arguments) say it translated, while ``str()``
    stays the English text logs and events record; others say ``str()``.
    """

    exit_code = 1
    text: Msg | None = None

    def said(self) -> str:
        """The message in the current language (``str()`` when it has no ``text``)."""
        return self.text.said() if self.text is not None else str(self)


class UsageError(SignageError):
    """Raised when command-line arguments contradict each other or name nothing usable."""

    exit_code = 2


class DisplayError(SignageError):
    """Raised when the display the player was given (DISPLAY, WAYLAND_DISPLAY) cannot be opened."""


class ValidationError(SignageError):
    """Raised when content fails validation; ``problems`` holds every one found."""

    def __init__(self, problems: list[Problem]) -> None:
        self.problems = problems
        super().__init__("\n".join(str(p) for p in problems))


class ConfigError(SignageError):
    """Raised when the player configuration file is missing a value or holds a wrong one."""


class FeedError(SignageError):
    """Raised when a feed cannot be fetched, verified or applied; ``reason`` is short.

    ``FeedError(N_("version {version} is old"), version=3)``: ``reason`` and ``str()`` are
    the English text (events, heartbeats, logs), ``said()`` the person's language.
    """

    def __init__(self, reason: str, /, **args: object) -> None:
        self.text = Msg(reason, **args)
        self.reason = str(self.text)
        super().__init__(self.reason)


class AlertError(SignageError):
    """Raised when an alert cannot be raised, cleared or imported (template, CAP, expiry)."""
