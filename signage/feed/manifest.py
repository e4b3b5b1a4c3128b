"""The feed manifest (``feed.json``): building its canonical bytes and parsing them safely.

The manifest carries a format id, a strictly increasing version, when it was published and
when it expires, the playlists, theme and alerts, and for every asset path written in the
playlists its sha256, size and media type. ``docs/feed-format.md`` is the full description.
Parsing trusts nothing: every refusal is a ``FeedError`` whose ``reason`` says what is wrong.
"""

from __future__ import annotations

import json
import re
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime
from types import MappingProxyType
from typing import TYPE_CHECKING, Any, Final, Protocol

from signage.errors import FeedError
from signage.feed import codec
from signage.feed.errors import ExpiredError, TooLargeError
from signage.i18n import N_, Msg
from signage.model import Playlist, Theme
from signage.values import Value

if TYPE_CHECKING:  # alerts' types load with the first alert (signage.model_extra)
    from signage.model import Alert

__all__ = [
    "FORMAT",
    "MAX_ASSETS",
    "MAX_ASSET_SIZE",
    "MAX_MANIFEST_BYTES",
    "AssetEntry",
    "Manifest",
    "asset_path_problem",
    "build_manifest",
    "parse_manifest",
]

FORMAT = "signage-feed/1"
MAX_MANIFEST_BYTES = 8 * 1024 * 1024
MAX_ASSETS = 100_000
MAX_ASSET_SIZE = 1 << 40  # 1 TiB: anything larger is nonsense for a screen
MAX_PATH_CHARS = 1024
# Compiled once: a manifest checks every asset path twice (its entry and each reference),
# and a character-by-character test was a third of parsing a 450-asset manifest.
_CONTROL_CHARS = re.compile(r"[\x00-\x1f\x7f]")
_DRIVE = re.compile(r"[A-Za-z]:")
_BAD_PARTS = frozenset({"", ".", ".."})
_SHA256 = re.compile(r"[0-9a-f]{64}")
_MEDIA_TYPE = re.compile(r"[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*/[A-Za-z0-9][A-Za-z0-9!#$&^_.+-]*")


class ContentLike(Protocol):
    """What ``build_manifest`` needs from ``signage.playlist.LoadResult``."""

    @property
    def playlists(self) -> tuple[Playlist, ...]: ...

    @property
    def theme(self) -> Theme: ...


class AssetEntry(Value):
    """One asset of a version: the file stored at ``assets/<sha256>`` in the feed."""

    __slots__ = ("media_type", "sha256", "size")
    _fields = ("sha256", "size", "media_type")

    def __init__(
        self, sha256: str, size: int, media_type: str = "application/octet-stream"
    ) -> None:
        self.sha256: Final = sha256
        self.size: Final = size
        self.media_type: Final = media_type


@dataclass(frozen=True, slots=True)
class Manifest:
    """A parsed, checked ``feed.json``.

    Args:
        assets: asset path as written in playlists -> its entry; every path a slide or the
            theme names is present.
        sha256: the sha256 of the manifest bytes (identifies this exact version).
    """

    version: int
    published: datetime
    expires: datetime
    playlists: tuple[Playlist, ...]
    theme: Theme
    alerts: tuple[Alert, ...]
    assets: Mapping[str, AssetEntry] = field(default_factory=lambda: MappingProxyType({}))
    sha256: str = ""

    def expired(self, now: datetime) -> bool:
        return now >= self.expires

    def blobs(self) -> frozenset[str]:
        """The sha256 of every asset file this version needs."""
        return frozenset(a.sha256 for a in self.assets.values())


def asset_path_problem(path: str) -> str | None:
    """Why ``path`` cannot name an asset inside a content root or a cache, else ``None``.

    Accepted: a relative POSIX path of plain names (``assets/infografias/x.png``).
    """
    if not path:
        return "empty asset path"
    if len(path) > MAX_PATH_CHARS:
        return "asset path too long"
    if _CONTROL_CHARS.search(path):
        return "asset path contains control characters"
    if "\\" in path:
        return "asset path contains a backslash"
    if path.startswith("/"):
        return "asset path is absolute"
    if _DRIVE.match(path):
        return "asset path starts with a drive letter"
    if not _BAD_PARTS.isdisjoint(path.split("/")):
        return "asset path has an empty, '.' or '..' part (it would leave the content root)"
    return None


def referenced_assets(playlists: Sequence[Playlist], theme: Theme) -> list[str]:
    """Every asset path the playlists and theme name, first-seen order, no duplicates."""
    seen: dict[str, None] = {}
    for playlist in playlists:
        for slide in playlist.slides:
            for path in slide.assets():
                seen.setdefault(path, None)
    if theme.logo:
        seen.setdefault(theme.logo, None)
    return list(seen)


def canonical_json(value: Any) -> bytes:
    """Sorted keys, no insignificant whitespace, UTF-8: the same value gives the same bytes."""
    return json.dumps(
        value, sort_keys=True, separators=(",", ":"), ensure_ascii=False, allow_nan=False
    ).encode("utf-8")


def build_manifest(  # noqa: PLR0917 (positional order is the public API others call)
    load: ContentLike,
    alerts: Sequence[Alert],
    version: int,
    published: datetime,
    expires: datetime,
    assets: Mapping[str, AssetEntry],
) -> bytes:
    """The canonical bytes of ``feed.json`` for one version.

    Raises ValueError when ``assets`` misses a path the playlists or theme name, or holds a
    path that could leave the root (publish checks these first and reports them).
    """
    if version < 1:
        raise ValueError("version starts at 1")
    if expires <= published:
        raise ValueError("a feed must expire after it is published")
    for path in referenced_assets(load.playlists, load.theme):
        if path not in assets:
            raise ValueError(f"asset {path!r} is referenced but not in the asset table")
    for path in assets:
        problem = asset_path_problem(path)
        if problem:
            raise ValueError(f"{path!r}: {problem}")
    doc = {
        "format": FORMAT,
        "version": version,
        "published": codec.format_time(published),
        "expires": codec.format_time(expires),
        "theme": codec.theme_to_json(load.theme),
        "playlists": [codec.playlist_to_json(p) for p in load.playlists],
        "alerts": [codec.alert_to_json(a) for a in alerts],
        "assets": {
            path: {"sha256": e.sha256, "size": e.size, "type": e.media_type}
            for path, e in sorted(assets.items())
        },
    }
    return canonical_json(doc)


def _no_duplicate_keys(pairs: list[tuple[str, Any]]) -> dict[str, Any]:
    out = dict(pairs)  # a key twice makes it shorter (no loop in Python per key)
    if len(out) != len(pairs):
        seen: set[str] = set()
        for key, _ in pairs:
            if key in seen:
                raise FeedError(N_("manifest has the key {key} twice in one object"), key=repr(key))
            seen.add(key)
    return out


def _asset_entry(path: str, value: Any) -> AssetEntry:
    if type(value) is dict:  # the common case without building the path for messages
        sha, size = value.get("sha256"), value.get("size")
        media_type = value.get("type", "application/octet-stream")
        if (
            type(sha) is str
            and type(size) is int
            and 0 <= size <= MAX_ASSET_SIZE
            and type(media_type) is str
            and _SHA256.fullmatch(sha)
            and _MEDIA_TYPE.fullmatch(media_type)
        ):
            return AssetEntry(sha256=sha, size=size, media_type=media_type)
    where = f"assets[{path!r}]"
    if not isinstance(value, dict):
        raise FeedError(N_("{where}: expected an object with sha256, size and type"), where=where)
    sha = value.get("sha256")
    if not isinstance(sha, str) or not _SHA256.fullmatch(sha):
        raise FeedError(N_("{where}.sha256: expected 64 lowercase hex digits"), where=where)
    size = value.get("size")
    if isinstance(size, bool) or not isinstance(size, int) or not 0 <= size <= MAX_ASSET_SIZE:
        raise FeedError(
            N_("{where}.size: expected a byte count between 0 and {limit}"),
            where=where,
            limit=MAX_ASSET_SIZE,
        )
    media_type = value.get("type", "application/octet-stream")
    if not isinstance(media_type, str) or not _MEDIA_TYPE.fullmatch(media_type):
        raise FeedError(N_("{where}.type: expected a media type such as image/png"), where=where)
    return AssetEntry(sha256=sha, size=size, media_type=media_type)


def parse_manifest(data: bytes, now: datetime | None = None) -> Manifest:
    """Parses and checks ``feed.json`` bytes.

    Args:
        now: when given, an expired manifest is refused; ``None`` skips the expiry check
            (the cache re-reading the version it already trusts and keeps playing).

    Raises:
        FeedError: not UTF-8 JSON, too big, another format, a missing or wrong field, an
            asset path that could leave the cache, a referenced asset without an entry.
    """
    import hashlib

    if len(data) > MAX_MANIFEST_BYTES:
        raise TooLargeError(
            N_("{what} is {size} bytes, over the {limit} allowed"),
            what=Msg(N_("manifest")),
            size=len(data),
            limit=MAX_MANIFEST_BYTES,
        )
    try:
        text = data.decode("utf-8")
        doc = json.loads(text, object_pairs_hook=_no_duplicate_keys)
    except UnicodeDecodeError:
        raise FeedError(N_("manifest is not UTF-8 text")) from None
    except (json.JSONDecodeError, RecursionError) as exc:
        raise FeedError(N_("manifest is not JSON ({error})"), error=str(exc)[:80]) from None
    if not isinstance(doc, dict):
        raise FeedError(N_("manifest is not a JSON object"))
    fmt = doc.get("format")
    if fmt != FORMAT:
        raise FeedError(
            N_("manifest format is {found}, this player reads {format}"),
            found=repr(fmt)[:80],
            format=repr(FORMAT),
        )
    version = doc.get("version")
    if isinstance(version, bool) or not isinstance(version, int) or version < 1:
        raise FeedError(N_("manifest version must be a whole number >= 1"))
    for key in ("published", "expires", "playlists", "assets"):
        if key not in doc:
            raise FeedError(N_("manifest has no {key}"), key=repr(key))
    published = codec.parse_time(doc["published"], "published")
    expires = codec.parse_time(doc["expires"], "expires")
    if expires <= published:
        raise FeedError(N_("manifest expires before it was published"))
    if now is not None and now >= expires:
        raise ExpiredError(
            N_("manifest version {version} expired at {moment}"),
            version=version,
            expires=expires,
            moment=codec.format_time(expires),
        )

    raw_assets = doc["assets"]
    if not isinstance(raw_assets, dict):
        raise FeedError(N_("manifest 'assets' must be an object of path -> entry"))
    if len(raw_assets) > MAX_ASSETS:
        raise FeedError(N_("manifest lists more than {limit} assets"), limit=MAX_ASSETS)
    assets: dict[str, AssetEntry] = {}
    for path, value in raw_assets.items():
        problem = asset_path_problem(path)
        if problem:
            raise FeedError(
                N_("asset {path} refused: {problem}"), path=repr(path[:200]), problem=problem
            )
        assets[path] = _asset_entry(path, value)

    theme = codec.theme_from_json(doc.get("theme"), "theme")
    raw_playlists = doc["playlists"]
    if not isinstance(raw_playlists, list):
        raise FeedError(N_("manifest 'playlists' must be a list"))
    playlists = tuple(
        codec.playlist_from_json(p, f"playlists[{i}]") for i, p in enumerate(raw_playlists)
    )
    ids = [p.id for p in playlists]
    if len(set(ids)) != len(ids):
        raise FeedError(N_("manifest playlist ids must be unique"))
    raw_alerts = doc.get("alerts") or []
    if not isinstance(raw_alerts, list):
        raise FeedError(N_("manifest 'alerts' must be a list"))
    alerts = tuple(codec.alert_from_json(a, f"alerts[{i}]") for i, a in enumerate(raw_alerts))

    for path in referenced_assets(playlists, theme):
        if path in assets:
            continue  # its entry's path was checked above (the same string)
        problem = asset_path_problem(path)
        if problem:
            raise FeedError(
                N_("playlist reference {path} refused: {problem}"),
                path=repr(path[:200]),
                problem=problem,
            )
        if path not in assets:
            raise FeedError(
                N_("playlist reference {path} has no entry in 'assets'"), path=repr(path[:200])
            )
    return Manifest(
        version=version,
        published=published,
        expires=expires,
        playlists=playlists,
        theme=theme,
        alerts=alerts,
        assets=MappingProxyType(assets),
        sha256=hashlib.sha256(data).hexdigest(),
    )
