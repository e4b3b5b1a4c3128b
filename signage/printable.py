"""Terminal-safety room: text from remote data made printable before it reaches a terminal.

Screen ids, error texts, headlines and anything else a screen, a feed or a page supplies
may carry escape sequences (clear the screen, retitle the terminal, move the cursor),
carriage returns and line feeds (forge rows), or bidirectional overrides (reorder what the
reader sees). ``printable`` turns every such character into a visible escape (``\\x1b``,
``\\r``, ``\\u202e``) so a line printed from it is one line that shows what it holds.
"""

from __future__ import annotations

import unicodedata

__all__ = ["json_printable", "printable"]

_NAMED = {"\n": "\\n", "\r": "\\r", "\t": "\\t", "\\": "\\\\"}
# Unicode categories never printed as such: controls (C0, DEL, C1), format characters
# (bidi overrides and isolates, zero-width joiners...), line and paragraph separators,
# surrogates, private use and unassigned code points.
_HIDDEN = frozenset({"Cc", "Cf", "Zl", "Zp", "Cs", "Co", "Cn"})


def _escape(ch: str) -> str:
    named = _NAMED.get(ch)
    if named is not None:
        return named
    code = ord(ch)
    if code <= 0xFF:
        return f"\\x{code:02x}"
    if code <= 0xFFFF:
        return f"\\u{code:04x}"
    return f"\\U{code:08x}"


def printable(value: object, limit: int | None = None, *, multiline: bool = False) -> str:
    """``value`` as text safe to print on a terminal: one line, no control, format or
    bidi characters (each shown as a backslash escape; backslashes doubled so escapes
    cannot be forged). With ``limit``, at most that many characters (``…`` marks a cut).
    ``multiline`` keeps line feeds (for messages of several lines; CR is still escaped)."""
    text = value if isinstance(value, str) else str(value)
    out: list[str] = []
    for ch in text:
        if multiline and ch == "\n":
            out.append(ch)
        elif ch == "\\" or unicodedata.category(ch) in _HIDDEN:
            out.append(_escape(ch))
        else:
            out.append(ch)
    result = "".join(out)
    if limit is not None and len(result) > limit:
        return result[: max(0, limit - 1)] + "…"
    return result


def json_printable(document: str) -> str:
    """JSON text with every control, format or bidi character inside its strings written
    as a ``\\uXXXX`` escape: the same JSON value, safe on a terminal (``json.dumps`` with
    ``ensure_ascii=False`` escapes C0 controls but leaves C1 controls and bidi overrides)."""
    out: list[str] = []
    for ch in document:
        if ch not in "\n " and unicodedata.category(ch) in _HIDDEN:
            code = ord(ch)
            if code > 0xFFFF:
                code -= 0x10000
                out.append(f"\\u{0xD800 + (code >> 10):04x}\\u{0xDC00 + (code & 0x3FF):04x}")
            else:
                out.append(f"\\u{code:04x}")
        else:
            out.append(ch)
    return "".join(out)
