"""Located problems room: one thing wrong with one input, as ``path:line:col: message``.

Reached through ``signage.errors`` (``from signage.errors import Problem``), which loads this
module on first use: a valid root's restart makes no ``Problem``, and a dataclass costs
~0.5 ms to create on Python 3.11 (issue 17.2).
"""

from __future__ import annotations

from dataclasses import dataclass

from signage.i18n import _


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
