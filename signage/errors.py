"""Exceptions and located problems shared by every area.

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

from dataclasses import dataclass

from signage.i18n import Msg, _


@dataclass(frozen=True, slots=True)
class Problem:
    """One thing wrong with one input, located for ``path:line:col: message``.

    Args:
        path: the file as the user named it (relative where it was given relative).
        line: 1-based line, 0 when the problem concerns the whole file.
        col: 1-based column, 0 when unknown.
        message: what is wrong and, where it helps, what to do.
        severity: ``error`` fails validation; ``warning`` is printed but passes.
    """

    path: str
    line: int
    col: int
    message: str
    severity: str = "error"

    def __str__(self) -> str:
        prefix = "" if self.severity == "error" else _("warning: ")
        return f"{self.path}:{self.line}:{self.col}: {prefix}{self.message}"


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
