"""Remote data room: https data fetched by the publisher, checked, kept, and named as an asset.

Screens never contact third-party servers: the hub (root mode) and ``signage publish`` fetch
each data slide's ``url`` when its ``refresh`` is due, with a timeout, a size cap, a content
type check and certificate checks (the system's CAs plus the organisation's ``ca_file``);
plain http and redirects are refused. A body that passes ``signage.data`` checks (columns,
numbers, rows) becomes the last good data, written atomically into the data folder; the
slide then names it as an asset (``datos-remotos/<key>.csv``), so it is published, hashed and
signed like any file, with its date (``as_of``: "Datos al 28 de noviembre").

A source that is down or answers garbage changes nothing that was good: the last good data
keeps being published with its (older) date, and the problem is kept beside it, logged,
and reported (``problems``) to the hub's ``last_error`` and ``signage publish``.

Folder layout (``folder``)::

    <key>.csv | <key>.json   the last good body of one URL (key: sha256 of the URL)
    <key>.meta.json          {"url", "good_at", "checked_at", "error", "kind"}
"""

from __future__ import annotations

import hashlib
import http.client
import json
import ssl
import time
from collections.abc import Callable
from dataclasses import dataclass, replace
from datetime import datetime, timedelta
from pathlib import Path
from typing import Protocol, TypeVar
from urllib.parse import urlsplit
from zoneinfo import ZoneInfo

from signage.data.drawing import MONTHS
from signage.data.files import series_from_bytes
from signage.data.table import MAX_DATA_BYTES, DataProblem
from signage.durable import write_atomic
from signage.logs import area_logger
from signage.model import DEFAULT_TIMEZONE, DataContent, Playlist, Slide, TickerFeed


class _Loaded(Protocol):
    """A loaded content root (``signage.playlist.LoadResult``, a frozen dataclass)."""

    @property
    def playlists(self) -> tuple[Playlist, ...]: ...


L = TypeVar("L", bound=_Loaded)

log = area_logger("feed")

ASSET_FOLDER = "datos-remotos"
"""Asset paths of fetched data: ``datos-remotos/<key>.<csv|json>`` (never in a content root)."""
DEFAULT_TIMEOUT_S = 10.0
_CHUNK = 64 * 1024
_CSV_TYPES = frozenset({"text/csv", "application/csv", "text/plain", "text/tab-separated-values"})
_NEWS_TYPES = frozenset(
    {"application/rss+xml", "application/atom+xml", "application/rdf+xml", "application/xml",
     "text/xml"}
)  # fmt: skip
_NEWS_ACCEPT = "application/rss+xml, application/atom+xml, application/xml;q=0.9, text/xml;q=0.8"


class FetchError(Exception):
    """Raised when remote data cannot be fetched or is refused; the message says why."""


def tls_context(ca_file: Path | None) -> ssl.SSLContext:
    """Certificate-checking TLS settings: the system's CAs plus ``ca_file``'s (if any)."""
    context = ssl.create_default_context()
    if ca_file is not None:
        from signage.trust import load_ca_file

        load_ca_file(ca_file)  # a missing or garbled file is said plainly (ConfigError)
        context.load_verify_locations(cafile=str(ca_file))
    return context


def fetch(
    url: str,
    *,
    context: ssl.SSLContext,
    timeout_s: float = DEFAULT_TIMEOUT_S,
    max_bytes: int = MAX_DATA_BYTES,
    news: bool = False,
) -> tuple[bytes, str]:
    """The body of ``url`` and its kind (``csv``, ``json`` or ``news``); FetchError saying why.

    Only https; no redirects; status 200; a CSV, plain-text or JSON content type (with
    ``news``: an RSS, Atom or XML one); at most
    ``max_bytes`` bytes; the whole exchange within about ``timeout_s`` seconds.
    """
    parts = urlsplit(url)
    if parts.scheme.lower() != "https" or not parts.hostname:
        raise FetchError(f"{url}: only https:// data is fetched (plain http is refused)")
    deadline = time.monotonic() + timeout_s
    conn = http.client.HTTPSConnection(
        parts.hostname, parts.port or 443, context=context, timeout=timeout_s
    )
    resp: http.client.HTTPResponse | None = None
    try:
        path = parts.path or "/"
        if parts.query:
            path += f"?{parts.query}"
        conn.request(
            "GET",
            path,
            headers={
                "Accept": _NEWS_ACCEPT if news else "text/csv, application/json;q=0.9",
                "User-Agent": "signage-publisher",
            },
        )
        resp = conn.getresponse()
        if 300 <= resp.status < 400:
            where = resp.getheader("Location", "?")
            raise FetchError(f"{url}: redirects to {where[:200]}; give the final https URL")
        if resp.status != 200:
            raise FetchError(f"{url}: the server answered {resp.status} {resp.reason}")
        kind = _kind_of(url, resp.getheader("Content-Type", ""), news=news)
        length = resp.getheader("Content-Length")
        if length is not None and length.isdigit() and int(length) > max_bytes:
            raise FetchError(
                f"{url}: the body is {int(length)} bytes, more than {max_bytes} bytes (a slide "
                "shows a few rows; publish a summary)"
            )
        chunks: list[bytes] = []
        size = 0
        while chunk := resp.read(_CHUNK):
            size += len(chunk)
            if size > max_bytes:
                raise FetchError(f"{url}: the body is larger than {max_bytes} bytes; refused")
            if time.monotonic() > deadline:
                raise FetchError(f"{url}: took longer than {timeout_s:g} s; refused")
            chunks.append(chunk)
        return b"".join(chunks), kind
    except ssl.SSLCertVerificationError as exc:
        raise FetchError(
            f"{url}: certificate not trusted ({exc.verify_message}); if the organisation "
            "signs its servers, give its CA with --ca-file"
        ) from None
    except (OSError, http.client.HTTPException) as exc:
        raise FetchError(f"{url}: cannot fetch it ({exc or type(exc).__name__})") from None
    finally:
        if resp is not None:
            resp.close()  # its file holds the socket open after the connection lets go
        conn.close()


def _kind_of(url: str, content_type: str, *, news: bool = False) -> str:
    mime = content_type.split(";", 1)[0].strip().lower()
    if news and mime in _NEWS_TYPES:
        return "news"
    if news and mime not in ("text/html", "application/xhtml+xml"):
        raise FetchError(f"{url}: the server answered {mime or 'no content type'}, not RSS/Atom")
    if mime == "application/json" or mime.endswith("+json"):
        return "json"
    if mime in _CSV_TYPES:
        return "json" if urlsplit(url).path.lower().endswith(".json") else "csv"
    if mime in ("text/html", "application/xhtml+xml"):
        raise FetchError(f"{url}: the server answered an HTML page (a login or error page?)")
    raise FetchError(f"{url}: the server answered {mime or 'no content type'}, not CSV or JSON")


Fetcher = Callable[[str], tuple[bytes, str]]
ScanCounter = Callable[[str | None, str | None, datetime], int]
"""``(playlist or None, slide or None, since) -> scans``: the hub's own QR scan count."""


@dataclass(frozen=True, slots=True)
class _Meta:
    url: str
    kind: str = ""
    good_at: datetime | None = None
    checked_at: datetime | None = None
    error: str | None = None

    def to_json(self) -> bytes:
        stamp = {
            "good_at": self.good_at.isoformat() if self.good_at else None,
            "checked_at": self.checked_at.isoformat() if self.checked_at else None,
        }
        return json.dumps(
            {"url": self.url, "kind": self.kind, "error": self.error, **stamp},
            ensure_ascii=False,
            indent=1,
        ).encode()


def _read_meta(path: Path, url: str) -> _Meta:
    try:
        raw = json.loads(path.read_bytes()[: 64 * 1024])
        good, checked = raw.get("good_at"), raw.get("checked_at")
        return _Meta(
            url=url,
            kind=raw["kind"] if raw.get("kind") in ("csv", "json") else "",
            good_at=datetime.fromisoformat(good) if isinstance(good, str) else None,
            checked_at=datetime.fromisoformat(checked) if isinstance(checked, str) else None,
            error=raw.get("error") if isinstance(raw.get("error"), str) else None,
        )
    except (OSError, ValueError, KeyError, TypeError, AttributeError):
        return _Meta(url=url)


def _read_news(path: Path) -> dict[str, object]:
    try:
        raw = json.loads(path.read_bytes()[: 256 * 1024])
    except (OSError, ValueError):
        return {}
    return raw if isinstance(raw, dict) else {}


def last_fetch(folder: Path, url: str) -> tuple[datetime | None, str | None]:
    """(when the data of ``url`` was last good, the problem of its last fetch) as kept in a
    publisher's data folder (``None``, ``None``: never fetched there)."""
    key = url_key(url)
    news = _read_news(folder / f"{key}.news.json")
    if news:
        good, error = news.get("good_at"), news.get("error")
        return (
            datetime.fromisoformat(good) if isinstance(good, str) else None,
            error if isinstance(error, str) else None,
        )
    meta = _read_meta(folder / f"{key}.meta.json", url)
    return meta.good_at, meta.error


def url_key(url: str) -> str:
    """The file name stem of a URL's data (its sha256, shortened)."""
    return hashlib.sha256(url.encode()).hexdigest()[:24]


def source_of(playlist: str, data: DataContent) -> str | None:
    """The key a data slide's remote data is kept under: its ``url``, or the hub's scans
    (``scans:PLAYLIST/SCOPE?PERIOD``); ``None`` for data from a file of the root."""
    if data.url is not None:
        return data.url
    if data.scans is not None:
        return f"scans:{playlist}/{data.scans}?{data.period}"
    return None


class RemoteData:
    """The publisher's remote data: fetched when due, the last good kept in ``folder``.

    Args:
        folder: where the last good bodies and their dates are kept.
        fetcher: ``url -> (body, kind)``; default ``fetch`` with ``ca_file``'s TLS settings.
    """

    def __init__(
        self,
        folder: Path,
        *,
        ca_file: Path | None = None,
        timeout_s: float = DEFAULT_TIMEOUT_S,
        fetcher: Fetcher | None = None,
        timezone: str = DEFAULT_TIMEZONE,
    ) -> None:
        self.folder = folder
        self._ca_file = ca_file
        self._timeout_s = timeout_s
        self._fetcher = fetcher
        self._zone = ZoneInfo(timezone)
        self.problems: dict[str, str] = {}
        self._schedule: dict[str, float] = {}  # url -> refresh seconds, from the last apply
        self._force = False
        self.scan_counter: ScanCounter | None = None
        self._sources: dict[str, DataContent | TickerFeed] = {}  # url -> what it feeds
        self._fetching = True  # apply(fetch=False): read the kept data only

    # ------------------------------------------------------------------ fetching
    def _fetch(self, url: str) -> tuple[bytes, str]:
        if self._fetcher is not None:
            return self._fetcher(url)
        return fetch(url, context=tls_context(self._ca_file), timeout_s=self._timeout_s)

    def _paths(self, url: str) -> tuple[Path, Path]:
        key = url_key(url)
        return self.folder / f"{key}.meta.json", self.folder / key

    def _good_file(self, url: str, meta: _Meta) -> Path | None:
        if meta.kind not in ("csv", "json") or meta.good_at is None:
            return None
        path = self._paths(url)[1].with_suffix(f".{meta.kind}")
        return path if path.is_file() else None

    def _count(self, source: str, now: datetime) -> tuple[bytes, str]:
        """``scans:PLAYLIST/SCOPE?PERIOD`` as a one-row CSV (``periodo,personas``)."""
        if self.scan_counter is None:
            raise FetchError(
                "scans: only the hub counts QR scans; publish this content from the hub"
            )
        where, _, period = source.removeprefix("scans:").partition("?")
        playlist, _, scope = where.partition("/")
        local = now.astimezone(self._zone)
        if period == "month":
            since, label = (
                local.replace(day=1, hour=0, minute=0, second=0, microsecond=0),
                (f"{MONTHS[local.month - 1]} de {local.year}"),
            )
        elif period == "week":
            start = local - timedelta(days=local.weekday())
            since = start.replace(hour=0, minute=0, second=0, microsecond=0)
            label = "esta semana"
        else:
            days = int(period.removesuffix("d") or 30)
            since, label = now - timedelta(days=days), f"últimos {days} días"
        try:
            n = self.scan_counter(
                None if scope == "all" else playlist,
                None if scope in ("all", "playlist") else scope,
                since,
            )
        except Exception as exc:  # the database is the hub's: say it, keep the last count
            raise FetchError(f"scans: the hub's count failed ({exc})") from None
        return f"periodo,personas\n{label},{n}\n".encode(), "csv"

    def refresh(self, url: str, data: DataContent, now: datetime) -> _Meta:
        """Fetches ``url`` now and keeps the body if ``data`` can be drawn from it."""
        meta_path, _ = self._paths(url)
        meta = _read_meta(meta_path, url)
        try:
            body, kind = self._count(url, now) if url.startswith("scans:") else self._fetch(url)
            series_from_bytes(body, url, data, kind=kind)
        except (FetchError, DataProblem) as exc:
            reason = str(exc)
            if meta.good_at is not None:
                reason += f" (still showing the data of {meta.good_at.date().isoformat()})"
            log.warning("remote data refused: %s", reason)
            meta = replace(meta, checked_at=now, error=reason)
        else:
            target = self._paths(url)[1].with_suffix(f".{kind}")
            write_atomic(target, body)
            if meta.kind and meta.kind != kind:
                self._paths(url)[1].with_suffix(f".{meta.kind}").unlink(missing_ok=True)
            meta = replace(meta, kind=kind, good_at=now, checked_at=now, error=None)
            log.info("remote data fetched: %s (%d bytes)", url, len(body))
        write_atomic(meta_path, meta.to_json())
        return meta

    # ------------------------------------------------------------------ publishing
    def apply(self, load: L, now: datetime, *, fetch: bool = True) -> tuple[L, dict[str, Path]]:
        """``load`` with each url data slide naming its last good data (fetched if due),
        and the asset path -> file of that data. Slides never fetched keep an empty source
        (screens skip them); ``problems`` says why, per URL. ``fetch=False`` fetches
        nothing and writes nothing (the console's previews: what is kept, as it is)."""
        self.problems = {}
        self._schedule = {}
        self._fetching = fetch
        files: dict[str, Path] = {}
        try:
            playlists = tuple(self._playlist(p, now, files) for p in load.playlists)
        finally:
            if fetch:
                self._force = False
            self._fetching = True
        return replace(load, playlists=playlists), files  # type: ignore[type-var]

    def _playlist(self, playlist: Playlist, now: datetime, files: dict[str, Path]) -> Playlist:
        slides = tuple(self._slide(s, now, files, playlist.id) for s in playlist.slides)
        if slides != playlist.slides:
            playlist = replace(playlist, slides=slides)
        if not playlist.ticker_feeds:
            return playlist
        news = {f.position: self._news(f, now) for f in playlist.ticker_feeds}
        written = iter(playlist.ticker)
        ticker: list[str] = []
        for i in range(len(playlist.ticker) + len(news)):
            ticker.extend(news[i] if i in news else (next(written),))
        return replace(playlist, ticker=tuple(ticker))

    def _news(self, feed: TickerFeed, now: datetime) -> list[str]:
        """The feed's last good headlines, fetched first when due."""

        url = feed.url
        self._schedule[url] = min(feed.refresh_s, self._schedule.get(url, feed.refresh_s))
        self._sources[url] = feed
        path = self.folder / f"{url_key(url)}.news.json"
        kept = _read_news(path)
        if self._fetching and (self._force or self._news_due(kept, feed, now)):
            kept = self._refresh_news(feed, now)
        if isinstance(kept.get("error"), str):
            self.problems[url] = str(kept["error"])
        lines = kept.get("headlines")
        return [str(h) for h in lines[: feed.count]] if isinstance(lines, list) else []

    @staticmethod
    def _news_due(kept: dict[str, object], feed: TickerFeed, now: datetime) -> bool:
        checked = kept.get("checked_at")
        if not isinstance(checked, str):
            return True
        return now - datetime.fromisoformat(checked) >= timedelta(seconds=feed.refresh_s)

    def _refresh_news(self, feed: TickerFeed, now: datetime) -> dict[str, object]:
        """Fetches a news feed now; keeps the headlines if it is a feed (else the old ones)."""
        from signage.data.news import headlines

        url = feed.url
        path = self.folder / f"{url_key(url)}.news.json"
        kept = _read_news(path)
        kept["checked_at"] = now.isoformat()
        try:
            body, _ = (
                self._fetcher(url)
                if self._fetcher is not None
                else fetch(
                    url,
                    context=tls_context(self._ca_file),
                    timeout_s=self._timeout_s,
                    news=True,
                )
            )
            max_age = timedelta(seconds=feed.max_age_s) if feed.max_age_s else None
            found = headlines(body, url, count=feed.count, max_age=max_age, now=now)
            kept["headlines"], kept["good_at"], kept["error"] = found, now.isoformat(), None
            log.info("ticker news fetched: %s (%d headlines)", url, len(found))
        except (FetchError, DataProblem) as exc:
            kept["error"] = str(exc)
            log.warning("ticker news refused: %s", exc)
        write_atomic(path, json.dumps(kept, ensure_ascii=False).encode())
        return kept

    def prefetch(self, now: datetime, *, force: bool = False) -> int:
        """Fetches the sources of the last ``apply`` that are due (all with ``force``) and
        keeps what is good; returns how many were fetched. The hub calls this before it
        publishes, outside its publishing lock, so a slow source never holds up an alert."""
        fetched = 0
        for url, source in list(self._sources.items()):
            if isinstance(source, TickerFeed):
                kept = _read_news(self.folder / f"{url_key(url)}.news.json")
                if force or self._news_due(kept, source, now):
                    self._refresh_news(source, now)
                    fetched += 1
                continue
            meta = _read_meta(self._paths(url)[0], url)
            every = timedelta(seconds=source.refresh_s or 3600.0)
            if force or meta.checked_at is None or now - meta.checked_at >= every:
                self.refresh(url, source, now)
                fetched += 1
        return fetched

    def count_if_missing(self, playlist: str, data: DataContent, now: datetime) -> bool:
        """A ``scans:`` source with no good data kept yet is counted now, from the hub's own
        database (never the network), so a new scans slide's draft preview shows its number
        rather than "no data"; ``True`` when a count was kept."""
        url = source_of(playlist, data)
        if url is None or not url.startswith("scans:") or self.scan_counter is None:
            return False
        if self._good_file(url, _read_meta(self._paths(url)[0], url)) is not None:
            return False
        return self.refresh(url, data, now).error is None

    def _slide(self, slide: Slide, now: datetime, files: dict[str, Path], playlist: str) -> Slide:
        data = slide.data
        url = source_of(playlist, data) if data is not None else None
        if data is None or url is None:
            return slide
        every = data.refresh_s or 3600.0
        self._schedule[url] = min(every, self._schedule.get(url, every))
        self._sources[url] = data
        meta = _read_meta(self._paths(url)[0], url)
        due = meta.checked_at is None or now - meta.checked_at >= timedelta(seconds=every)
        if self._fetching and (due or self._force):
            meta = self.refresh(url, data, now)
        if meta.error:
            self.problems[url] = meta.error
        good = self._good_file(url, meta)
        if good is None or meta.good_at is None:
            self.problems.setdefault(url, f"{url}: no good data fetched yet")
            return replace(slide, source="")
        asset = f"{ASSET_FOLDER}/{good.name}"
        files[asset] = good
        as_of = meta.good_at.astimezone(self._zone).date()
        return replace(slide, source=asset, data=replace(data, as_of=as_of))

    def force_next(self) -> None:
        """The next ``apply`` fetches every URL, due or not (an operator's "refresh now")."""
        self._force = True

    def status(self) -> list[dict[str, str | None]]:
        """Per URL of the last ``apply``: when its data was last good and last checked, and
        the problem of the last check (``None`` when it was good)."""
        out: list[dict[str, str | None]] = []
        for url in sorted(self._schedule):
            meta = _read_meta(self._paths(url)[0], url)
            out.append(
                {
                    "url": url,
                    "good_at": meta.good_at.isoformat() if meta.good_at else None,
                    "checked_at": meta.checked_at.isoformat() if meta.checked_at else None,
                    "error": meta.error,
                }
            )
        return out

    def next_due(self) -> datetime | None:
        """When the earliest URL of the last ``apply`` is due again (``None``: none)."""
        due: list[datetime] = []
        for url, every in self._schedule.items():
            meta = _read_meta(self._paths(url)[0], url)
            if meta.checked_at is None:
                return datetime.min.replace(tzinfo=self._zone)
            due.append(meta.checked_at + timedelta(seconds=every))
        return min(due) if due else None

    def summary(self) -> str | None:
        """The problems of the last ``apply`` in one line, ``None`` when there are none."""
        if not self.problems:
            return None
        first = next(iter(self.problems.values()))
        more = f" (and {len(self.problems) - 1} more)" if len(self.problems) > 1 else ""
        return f"remote data: {first}{more}"
