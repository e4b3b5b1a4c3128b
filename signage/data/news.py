"""News room: headlines for the ticker from an RSS 2.0 or Atom document (feedparser).

Pure: bytes in (already fetched and capped by ``signage.data.remote``), plain one-line
headlines out, newest first, at most ``count``, none older than ``max_age``. A document
that is not a feed (an HTML page, garbage) is refused with a named reason
(``DataProblem``); a feed with no recent entries simply gives no headlines.
"""

from __future__ import annotations

import calendar
import re
import time
import unicodedata
from datetime import UTC, datetime, timedelta

from signage.data.table import MAX_DATA_BYTES, DataProblem

MAX_HEADLINE_CHARS = 300
_TAG = re.compile(r"<[^>]{0,2000}>")
_SPACE = re.compile(r"\s+")


def clean_headline(text: str) -> str:
    """One printable line: tags dropped, control and format characters removed, spaces
    collapsed, at most ``MAX_HEADLINE_CHARS`` characters."""
    plain = _TAG.sub(" ", text)
    plain = "".join(
        " " if unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") else c for c in plain
    )
    plain = _SPACE.sub(" ", plain).strip()
    if len(plain) > MAX_HEADLINE_CHARS:
        plain = plain[: MAX_HEADLINE_CHARS - 1].rstrip() + "…"
    return plain


def headlines(
    body: bytes, name: str, *, count: int, max_age: timedelta | None, now: datetime
) -> list[str]:
    """The newest ``count`` entry titles of an RSS/Atom document, none older than ``max_age``.

    Raises DataProblem when ``body`` is too large or not a feed at all.
    """
    import feedparser

    if len(body) > MAX_DATA_BYTES:
        raise DataProblem(f"{name}: larger than {MAX_DATA_BYTES // 1024} KB")
    parsed = feedparser.parse(body, sanitize_html=True, resolve_relative_uris=False)
    version = str(parsed.get("version") or "")
    if not version:
        reason = parsed.get("bozo_exception")
        detail = f" ({str(reason)[:120]})" if reason else ""
        raise DataProblem(f"{name}: not an RSS or Atom feed{detail}")
    dated: list[tuple[float, int, str]] = []
    for n, entry in enumerate(parsed.entries):
        title = clean_headline(str(entry.get("title") or ""))
        if not title:
            continue
        stamp = entry.get("published_parsed") or entry.get("updated_parsed")
        when = calendar.timegm(stamp) if isinstance(stamp, time.struct_time) else None
        if (
            max_age is not None
            and when is not None
            and (datetime.fromtimestamp(when, UTC) < now - max_age)
        ):
            continue
        dated.append((-(when if when is not None else float("-inf")), n, title))
    dated.sort()  # newest first; undated keep their order after the dated ones
    out: list[str] = []
    for _, _, title in dated:
        if title not in out:
            out.append(title)
        if len(out) >= count:
            break
    return out
