"""The player configuration: screen identity, feed, pinned key, cache, locale, allow-lists.

Read from ``--config``, else ``/etc/signage/player.yaml``, else
``~/.config/signage/player.yaml``; command-line flags win over the file.
"""

from __future__ import annotations

import os
import re
from dataclasses import dataclass, field, replace
from pathlib import Path
from typing import Any
from urllib.parse import urlsplit

from signage.errors import ConfigError
from signage.i18n import _
from signage.logs import area_logger
from signage.model import DEFAULT_LOCALE, DEFAULT_TIMEZONE, Orientation, Screen

log = area_logger("kiosk")

SYSTEM_CONFIG = Path("/etc/signage/player.yaml")
DEFAULT_POLL_S = 15.0


def user_config_path() -> Path:
    base = os.environ.get("XDG_CONFIG_HOME") or str(Path.home() / ".config")
    return Path(base) / "signage" / "player.yaml"


def default_cache_dir() -> Path:
    base = os.environ.get("XDG_CACHE_HOME") or str(Path.home() / ".cache")
    return Path(base) / "signage"


@dataclass(frozen=True, slots=True)
class PlayerConfig:
    """Everything a player or a sync needs to know about itself.

    Args:
        feed: URL of a feed (``https://hub/feed.json`` or its folder) or ``None``: the
            first of ``feed:`` in the file, normally the hub.
        mirrors: the other URLs of a ``feed:`` list (static copies of the same signed feed:
            nginx, a file share, a CDN), polled beside the hub; see ``sources.multi``.
        alert_keys: extra pinned public keys whose signatures may only add or clear alerts
            (``alerts.json`` beside ``feed.json``), never change content.
        pubkey: base64 of the 32 raw bytes of the publisher's Ed25519 key.
        hub: base URL of the hub for heartbeats, proof-of-play batches and scans
            (defaults to the feed's origin when the feed is served by a hub).
        hub_token_file: file holding the bearer token for heartbeats and proof-of-play:
            the hub's screen token (``signage serve --screen-token-file``), never its
            admin token, which would let anyone with this screen's disk raise alerts.
        allowed_hosts: QR and web hosts allowed on screen; empty allows any https host.
        audience: ``public`` (the default: a screen whose placement nobody stated may be
            seen by citizens, so staff-only alerts stay off it) or ``internal`` (offices:
            CAP ``Restricted`` alerts show too).
        qr_link_base: ``qr.link_base``, the hub's public https URL that tracked QR codes
            point phones to (``{link_base}/q/<code>``); ``None`` shows survey URLs directly.
        rotation: degrees the player turns its picture clockwise (0, 90, 180, 270) for a
            panel mounted on its side where the compositor does not turn it.
        orientation: the shape slides are laid out for, known once the window's size is
            (``signage play`` sets it); ``None`` plays playlists of every orientation.
        ca_file: PEM file of the organisation's own CA certificates, trusted in addition
            to the system store for web slides, sync and asset downloads (``signage.trust``).
    """

    screen: str = field(default_factory=lambda: os.uname().nodename)  # gethostname(2)
    tags: frozenset[str] = frozenset()
    feed: str | None = None
    mirrors: tuple[str, ...] = ()
    pubkey: str | None = None
    alert_keys: tuple[str, ...] = ()
    cache: Path = field(default_factory=default_cache_dir)
    timezone: str = DEFAULT_TIMEZONE
    locale: str = DEFAULT_LOCALE
    poll_s: float = DEFAULT_POLL_S
    hub: str | None = None
    hub_token_file: Path | None = None
    allowed_hosts: frozenset[str] = frozenset()
    exercise: bool = False
    audience: str = "public"
    source_path: Path | None = None
    qr_link_base: str | None = None
    rotation: int = 0
    orientation: Orientation | None = None

    _token: dict[str, str | None] = field(
        default_factory=dict, init=False, repr=False, compare=False
    )

    @property
    def hub_url(self) -> str | None:
        """The hub's base URL for the push channel, heartbeats, proof-of-play and scans:
        ``hub`` without a trailing slash, else the origin of an http(s) ``feed``, else
        ``None`` (a local root, or a feed on a plain file server with no hub named)."""
        if self.hub:
            return self.hub.rstrip("/")
        if self.feed:
            parts = urlsplit(self.feed)
            if parts.scheme in ("http", "https") and parts.netloc:
                return f"{parts.scheme}://{parts.netloc}"
        return None

    @property
    def feeds(self) -> tuple[str, ...]:
        """Every feed URL, the hub's first (empty without a feed)."""
        return (self.feed, *self.mirrors) if self.feed else ()

    def hub_token(self) -> str | None:
        """The bearer token in ``hub_token_file`` (``None`` without one), read once.

        An unreadable or empty file is logged once and answers ``None``: heartbeats and
        proof-of-play still go out (the hub then says 401, with a hint to check the file).
        """
        path = self.hub_token_file
        if path is None:
            return None
        if "token" not in self._token:
            try:
                self._token["token"] = path.read_text(encoding="utf-8").strip() or None
            except (OSError, UnicodeDecodeError) as exc:
                reason = exc.strerror if isinstance(exc, OSError) else "not UTF-8 text"
                log.warning(
                    "cannot read hub_token_file %s (%s): heartbeats and proof-of-play go "
                    "without a token",
                    path,
                    reason,
                )
                self._token["token"] = None
        return self._token["token"]

    ca_file: Path | None = None

    def screen_identity(self) -> Screen:
        return Screen(
            id=self.screen,
            tags=self.tags,
            timezone=self.timezone,
            locale=self.locale,
            audience=self.audience,
            orientation=self.orientation,
        )

    def with_overrides(self, **changes: Any) -> PlayerConfig:
        """A copy with every non-``None`` change applied (command-line flags win)."""
        return replace(self, **{k: v for k, v in changes.items() if v is not None})


_KEYS = {
    "screen",
    "tags",
    "feed",
    "pubkey",
    "cache",
    "timezone",
    "locale",
    "poll",
    "hub",
    "hub_token_file",
    "qr",
    "exercise",
    "alert_keys",
    "audience",
    "rotation",
    "ca_file",
}


class _Refused(ConfigError):
    """Wrong keys or values in a parsed configuration: where each is and what is wrong.

    ``found`` holds ``(path, on_key, detail)``: the path of keys (and list positions) to the
    wrong value, whether the key itself is wrong (an unknown key) rather than its value,
    and the message. ``load_config`` turns the paths into ``file:line:col``.
    """

    def __init__(self, where: str, found: list[tuple[tuple[str | int, ...], bool, str]]) -> None:
        self.where = where
        self.found = found
        super().__init__("\n".join(f"{where}: {detail}" for _path, _on_key, detail in found))


def _refuse(where: str, path: tuple[str | int, ...], detail: str) -> _Refused:
    return _Refused(where, [(path, False, detail)])


def _tags(value: Any, where: str) -> frozenset[str]:
    if isinstance(value, str):
        value = [t for t in value.split(",") if t.strip()]
    if not isinstance(value, list) or not all(isinstance(t, str) for t in value):
        raise _refuse(where, ("tags",), _("'tags' must be a list of words, e.g. [lobby, piso-1]"))
    return frozenset(t.strip() for t in value)


def _feed_list(value: list[Any], where: str) -> tuple[str, tuple[str, ...]]:
    """``feed: [hub, mirror, ...]`` as (first, the others); each a distinct http(s) URL."""
    urls: list[str] = []
    for i, url in enumerate(value):
        parts = urlsplit(url) if isinstance(url, str) else None
        if parts is None or parts.scheme not in ("http", "https") or not parts.netloc:
            raise _refuse(
                where,
                ("feed", i),
                _("'feed' item {number} must be an http(s) URL of a feed").format(number=i + 1),
            )
        if url in urls:
            from signage.printable import printable  # refusals only: not loaded at start

            raise _refuse(
                where, ("feed", i), _("'feed' lists {url} twice").format(url=printable(url, 200))
            )
        urls.append(url)
    if not urls:
        raise _refuse(where, ("feed",), _("'feed' must be a URL or a non-empty list of URLs"))
    return urls[0], tuple(urls[1:])


def _unknown_keys(data: dict[Any, Any], where: str) -> None:
    unknown = sorted((k for k in data if k not in _KEYS), key=str)
    if not unknown:
        return
    import difflib

    from signage.printable import printable

    found: list[tuple[tuple[str | int, ...], bool, str]] = []
    for key in unknown:
        name = printable(str(key), 80)
        close = difflib.get_close_matches(str(key), sorted(_KEYS), n=1)
        detail = (
            _("unknown key '{key}' in the player configuration (did you mean '{close}'?)").format(
                key=name, close=close[0]
            )
            if close
            else _("unknown key '{key}' in the player configuration; the keys are: {keys}").format(
                key=name, keys=", ".join(sorted(_KEYS))
            )
        )
        found.append(((str(key),), True, detail))
    raise _Refused(where, found)


def parse_config(data: Any, where: str) -> PlayerConfig:
    """Builds a config from parsed YAML; raises ConfigError naming the file and key.

    ``load_config`` adds the line and column of the wrong key or value.
    """
    if data is None:
        data = {}
    if not isinstance(data, dict):
        raise _refuse(
            where,
            (),
            _("the configuration must be a list of keys with their values (key: value)"),
        )
    _unknown_keys(data, where)
    cfg = PlayerConfig(source_path=Path(where))
    changes: dict[str, Any] = {}
    if isinstance(data.get("feed"), list):
        changes["feed"], changes["mirrors"] = _feed_list(data["feed"], where)
    if "alert_keys" in data:
        keys = data["alert_keys"]
        if not isinstance(keys, list) or not all(isinstance(k, str) and k for k in keys):
            raise _refuse(
                where, ("alert_keys",), _("'alert_keys' must be a list of base64 public keys")
            )
        changes["alert_keys"] = tuple(keys)
    for key in ("screen", "feed", "pubkey", "timezone", "locale", "hub"):
        if key in data and key not in changes:
            if not isinstance(data[key], str) or not data[key]:
                raise _refuse(where, (key,), _("'{key}' must be a non-empty text").format(key=key))
            changes[key] = data[key]
    if "tags" in data:
        changes["tags"] = _tags(data["tags"], where)
    if "cache" in data:
        changes["cache"] = Path(str(data["cache"])).expanduser()
    if "hub_token_file" in data:
        changes["hub_token_file"] = Path(str(data["hub_token_file"])).expanduser()
    if "ca_file" in data:
        from signage.trust import load_ca_file

        if not isinstance(data["ca_file"], str) or not data["ca_file"]:
            raise _refuse(where, ("ca_file",), _("'ca_file' must be the path of a PEM file"))
        ca_file = Path(data["ca_file"]).expanduser()
        if not ca_file.is_absolute():
            ca_file = Path(where).parent / ca_file
        try:
            load_ca_file(ca_file)  # a missing or garbled file is said now, not at the first page
        except ConfigError as exc:
            raise _refuse(where, ("ca_file",), str(exc)) from None
        changes["ca_file"] = ca_file
    if "poll" in data:
        poll = data["poll"]
        if isinstance(poll, bool) or not isinstance(poll, int | float) or poll <= 0:
            raise _refuse(where, ("poll",), _("'poll' must be a positive number of seconds"))
        changes["poll_s"] = float(poll)
    if "exercise" in data:
        if not isinstance(data["exercise"], bool):
            raise _refuse(where, ("exercise",), _("'exercise' must be true or false"))
        changes["exercise"] = data["exercise"]
    if "audience" in data:
        if data["audience"] not in ("internal", "public"):
            raise _refuse(
                where,
                ("audience",),
                _(
                    "'audience' must be 'internal' (offices: staff-only alerts show) "
                    "or 'public' (halls citizens walk through; the default)"
                ),
            )
        changes["audience"] = data["audience"]
    if "rotation" in data:
        rotation = data["rotation"]
        if isinstance(rotation, bool) or rotation not in (0, 90, 180, 270):
            raise _refuse(
                where,
                ("rotation",),
                _(
                    "'rotation' must be 0, 90, 180 or 270 (degrees clockwise the "
                    "player turns its picture for a panel mounted on its side)"
                ),
            )
        changes["rotation"] = int(rotation)
    if "qr" in data:
        changes.update(_qr(data["qr"], where))
    return replace(cfg, **changes)


def _qr(qr: Any, where: str) -> dict[str, Any]:
    """``qr: {allowed_hosts: [...], link_base: URL}`` as config changes."""
    changes: dict[str, Any] = {}
    if not isinstance(qr, dict) or set(qr) - {"allowed_hosts", "link_base"}:
        extra = (
            sorted(set(qr) - {"allowed_hosts", "link_base"}, key=str)
            if isinstance(qr, dict)
            else []
        )
        raise _Refused(
            where,
            [
                (
                    ("qr", str(extra[0])) if extra else ("qr",),
                    bool(extra),
                    _("'qr' takes only 'allowed_hosts: [host, ...]' and 'link_base: URL'"),
                )
            ],
        )
    hosts = qr.get("allowed_hosts", [])
    if not isinstance(hosts, list) or not all(isinstance(h, str) for h in hosts):
        raise _refuse(
            where, ("qr", "allowed_hosts"), _("'qr.allowed_hosts' must be a list of host names")
        )
    changes["allowed_hosts"] = frozenset(h.lower() for h in hosts)
    if "link_base" in qr:
        base = qr["link_base"]
        https_url = r"https://[^/?#\s]+(/[^?#\s]*)?"
        if not isinstance(base, str) or not re.fullmatch(https_url, base):
            raise _refuse(
                where,
                ("qr", "link_base"),
                _(
                    "'qr.link_base' must be the hub's public https URL, e.g. "
                    "https://pantallas.example.gov.co (phones open it when they scan)"
                ),
            )
        changes["qr_link_base"] = base.rstrip("/")
    return changes


def _located(text: str, where: str, refused: _Refused) -> ConfigError:
    """``refused`` with each message at the line and column of its key or value."""
    from signage.validation import YMap, YSeq, load_yaml_located

    root, _problems = load_yaml_located(text, where)
    lines = []
    for path, on_key, detail in refused.found:
        node: Any = root
        line, col = (1, 1) if root is None else (root.line, root.col)
        for i, step in enumerate(path):
            last = i == len(path) - 1
            if isinstance(node, YMap) and isinstance(step, str):
                key = node.key_node(step)
                node = node.get(step)
                if key is None:
                    break
                line, col = (key.line, key.col)
                if not (last and on_key) and node is not None:
                    line, col = (node.line, node.col)
            elif isinstance(node, YSeq) and isinstance(step, int) and step < len(node.items):
                node = node.items[step]
                line, col = (node.line, node.col)
            else:
                break
        lines.append(f"{where}:{line}:{col}: {detail}")
    return ConfigError("\n".join(lines))


def load_config(path: Path | None = None) -> PlayerConfig:
    """The config from ``path``, else the system file, else the user's, else defaults.

    A wrong key or value is said at its line and column, a YAML mistake in plain words
    (the validation kit's reader), in the user's language.
    """
    candidates = [path] if path is not None else [SYSTEM_CONFIG, user_config_path()]
    for candidate in candidates:
        if candidate is None:
            continue
        if not candidate.exists():
            if path is not None:
                raise ConfigError(_("{path}: no such configuration file").format(path=candidate))
            continue
        import yaml  # only with a file to read: ~12 ms of the player's start-up otherwise

        where = str(candidate)
        try:
            with candidate.open("rb") as fh:
                raw = fh.read(MAX_CONFIG_BYTES + 1)
        except OSError as exc:
            raise ConfigError(
                _("{path}: cannot read the configuration ({reason})").format(
                    path=candidate, reason=exc.strerror or exc
                )
            ) from None
        if len(raw) > MAX_CONFIG_BYTES:
            raise ConfigError(
                _("{path}: larger than {limit:,} bytes; is this a player configuration?").format(
                    path=candidate, limit=MAX_CONFIG_BYTES
                )
            )
        try:
            text = raw.decode("utf-8")
            data = yaml.safe_load(text)
        except (UnicodeDecodeError, yaml.YAMLError):
            raise _unreadable(raw, where) from None
        try:
            return parse_config(data, where)
        except _Refused as refused:
            raise _located(text, where, refused) from None
    return PlayerConfig()


MAX_CONFIG_BYTES = 1 << 20
"""A player configuration is a few hundred bytes; a larger file is refused unread."""


def _unreadable(raw: bytes, where: str) -> ConfigError:
    """What is wrong with a configuration YAML could not read, in plain words and located."""
    from signage.validation import load_yaml_located

    _root, problems = load_yaml_located(raw, where)
    errors = [p for p in problems if p.severity == "error"]
    if errors:
        return ConfigError("\n".join(str(p) for p in errors))
    return ConfigError(_("{path}: cannot read the configuration (not YAML)").format(path=where))
