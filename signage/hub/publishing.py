"""The hub's two ways of publishing: a live content root, or a feed folder published elsewhere.

``Hub`` holds one strategy and only serves what it returns. Both speak ``Publishing``:

- ``RootPublishing`` (``signage serve --root``): publishes the root into the hub's feed
  folder with ``signage.feed.publish`` (alerts go into that publish); a saved change that
  leaves the content the same publishes nothing; an alert while the root is invalid re-signs
  the last good manifest instead, so an alert never waits for a playlist fix. Asset files
  no recent version names are pruned after each publish.
- ``FeedFolderPublishing`` (``signage serve --feed``): serves the upstream folder as it is,
  and only when it must add alerts re-signs a copy of the upstream manifest (alerts merged,
  version above both) into ``DATA/hub-feed/``; the upstream folder is never written.

The feed folder itself (reading a consistent pair, writing one, pruning) is
``signage.feed.folder``. Every method returns the ``FeedSnapshot`` to serve (or ``None``);
none announces anything, and the hub calls them holding its publish lock.
"""

from __future__ import annotations

import hashlib
import time
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field
from datetime import datetime, timedelta
from pathlib import Path
from types import MappingProxyType
from typing import TYPE_CHECKING, Protocol

from signage.data.remote import RemoteData
from signage.errors import FeedError, SignageError, ValidationError
from signage.feed import folder
from signage.i18n import _
from signage.leftovers import clean_temp_files
from signage.logs import area_logger
from signage.model import Alert

if TYPE_CHECKING:
    from cryptography.hazmat.primitives.asymmetric.ed25519 import Ed25519PrivateKey

__all__ = [
    "UPSTREAM_BASE_NAME",
    "ExpiryWatch",
    "FeedFolderPublishing",
    "FeedSnapshot",
    "Publishing",
    "RepublishError",
    "RootPublishing",
]

log = area_logger("hub")

UPSTREAM_BASE_NAME = "upstream.sha256"


class RepublishError(SignageError):
    """Raised when the hub cannot sign a new version (no key, nothing published yet, I/O)."""


def _sha256(data: bytes) -> str:
    return hashlib.sha256(data).hexdigest()


@dataclass(frozen=True, slots=True)
class FeedSnapshot:
    """One consistent manifest + signature pair as served, with what the routes need.

    Args:
        version: the manifest's ``version`` (0 when nothing is published yet).
        manifest: the exact bytes of ``feed.json`` (empty when nothing is published).
        signature: the exact bytes of ``feed.json.sig``, or ``None`` for an unsigned feed.
        media_types: asset sha256 -> media type, from the manifest.
        assets_dir: the folder holding ``<sha256>`` asset files.
        modified: when this manifest was written (epoch seconds, for ``Last-Modified``).
    """

    version: int
    manifest: bytes
    signature: bytes | None
    assets_dir: Path
    media_types: Mapping[str, str] = field(default_factory=lambda: MappingProxyType({}))
    modified: float = 0.0

    @classmethod
    def of(cls, pair: folder.FeedPair | None, assets_dir: Path) -> FeedSnapshot:
        """The snapshot of a pair read from a feed folder (``None``: nothing published)."""
        if pair is None:
            return cls(0, b"", None, assets_dir)
        return cls(
            pair.version, pair.manifest, pair.signature, assets_dir, pair.media_types, pair.modified
        )

    @property
    def manifest_etag(self) -> str:
        """Strong ETag of the manifest: the quoted sha256 of its bytes."""
        return '"' + _sha256(self.manifest) + '"'

    @property
    def signature_etag(self) -> str | None:
        """Strong ETag of the signature, ``None`` when unsigned."""
        return None if self.signature is None else '"' + _sha256(self.signature) + '"'

    @property
    def published(self) -> bool:
        return bool(self.manifest)


class Publishing(Protocol):
    """What the hub asks of its publishing strategy. ``alerts`` is the hub's current alerts,
    ``None`` when no alert room is attached; ``served`` is what the hub serves now."""

    key: Ed25519PrivateKey | None
    last_error: str | None

    def public_key(self) -> str | None: ...

    def load(self) -> FeedSnapshot: ...

    def publish(
        self,
        reason: str,
        served: FeedSnapshot,
        now: datetime,
        alerts: Sequence[Alert] | None,
        *,
        skip_unchanged: bool,
    ) -> FeedSnapshot | None: ...

    def republish(
        self, reason: str, served: FeedSnapshot, now: datetime, alerts: Sequence[Alert] | None
    ) -> FeedSnapshot: ...

    def upstream_changed(
        self, served: FeedSnapshot, now: datetime, alerts: Sequence[Alert] | None
    ) -> FeedSnapshot | None: ...


class _Signing:
    """What both strategies share: the key, reading a folder, re-signing a manifest."""

    def __init__(
        self, feed_dir: Path, key: Ed25519PrivateKey | None, expires_in: timedelta
    ) -> None:
        self.feed_dir = feed_dir
        self.assets_dir = feed_dir / folder.ASSETS_NAME
        self.key = key
        self.expires_in = expires_in
        self.last_error: str | None = None
        self._public_key: str | None = None

    def public_key(self) -> str | None:
        """The base64 public key screens pin, ``None`` without a key."""
        if self.key is None:
            return None
        if self._public_key is None:
            from signage.feed.signing import public_key_b64

            self._public_key = public_key_b64(self.key)
        return self._public_key

    def require_key(self) -> Ed25519PrivateKey:
        if self.key is None:
            raise RepublishError(
                "this hub has no signing key: start it with --key FILE (the key screens "
                "pin) to let it publish alerts"
            )
        return self.key

    def read(self, where: Path) -> FeedSnapshot:
        """The pair in ``where`` (assets always from the feed folder). Raises RepublishError."""
        try:
            pair = folder.read_pair(where, self.public_key())
        except FeedError as exc:
            raise RepublishError(exc.reason) from None
        if pair is not None and pair.verified is False:
            log.warning(
                "%s: the signature does not verify with the hub's key; screens pinned "
                "to that key will refuse this feed (is --key the publisher's key?)",
                where / folder.SIGNATURE_NAME,
            )
        return FeedSnapshot.of(pair, self.assets_dir)

    def resign(
        self,
        base: bytes,
        reason: str,
        served: FeedSnapshot,
        now: datetime,
        alerts: Sequence[Alert] | None,
        *,
        merge_upstream_alerts: bool,
        out: Path,
    ) -> FeedSnapshot:
        """``base`` with the hub's alerts and a version above it and ``served``, signed and
        written to ``out``.

        ``merge_upstream_alerts``: keep the alerts ``base`` carries (a feed published
        elsewhere) and add the hub's, the hub's winning on equal ids; otherwise the hub's
        alerts replace them (``base`` is the hub's own last publish).
        """
        from signage.feed.manifest import build_manifest, parse_manifest
        from signage.feed.publish import next_version
        from signage.feed.signing import sign

        key = self.require_key()
        try:
            manifest = parse_manifest(base, None)
        except FeedError as exc:
            raise RepublishError(
                _("{reason}: the feed to re-sign is unusable: {problem}").format(
                    reason=reason, problem=exc
                )
            ) from None
        hub_alerts = tuple(alerts or ())
        if merge_upstream_alerts:
            ids = {a.id for a in hub_alerts}
            carried = tuple(a for a in manifest.alerts if a.id not in ids) + hub_alerts
        else:
            carried = tuple(manifest.alerts) if alerts is None else hub_alerts
        version = next_version(max(manifest.version, served.version), now)
        try:
            data = build_manifest(
                manifest, carried, version, now, now + self.expires_in, dict(manifest.assets)
            )
        except ValueError as exc:
            raise RepublishError(
                _("{reason}: cannot rebuild the manifest: {problem}").format(
                    reason=reason, problem=exc
                )
            ) from None
        sig = sign(data, key).encode()
        try:
            with folder.publish_lock(out):
                self.before_write(base)
                folder.write_pair(out, data, sig)
            pair = folder.pair_from_bytes(data, sig, where=out / folder.MANIFEST_NAME)
        except FeedError as exc:
            raise RepublishError(exc.reason) from None
        except OSError as exc:
            raise RepublishError(
                _("{folder}: cannot write the feed ({problem})").format(
                    folder=out, problem=exc.strerror
                )
            ) from None
        log.info("re-signed version %d (%s)", version, reason)
        return FeedSnapshot(version, data, sig, self.assets_dir, pair.media_types, time.time())

    def before_write(self, base: bytes) -> None:
        """Called holding the folder's lock just before a re-signed pair is written."""


class RootPublishing(_Signing):
    """Root mode: the hub publishes ``root`` into ``feed_dir``, which it owns.

    Args:
        asset_grace_s: an asset file neither the current nor the previous version names is
            deleted once it is at least this old (the folder would otherwise grow with
            every edited image for as long as the hub runs).
    """

    def __init__(
        self,
        root: Path,
        feed_dir: Path,
        key: Ed25519PrivateKey | None,
        *,
        expires_in: timedelta,
        asset_grace_s: float,
        remote: RemoteData | None = None,
    ) -> None:
        super().__init__(feed_dir, key, expires_in)
        self.root = root
        self.asset_grace_s = asset_grace_s
        self.remote = remote

    def load(self) -> FeedSnapshot:
        return self.read(self.feed_dir)

    def publish(
        self,
        reason: str,
        served: FeedSnapshot,
        now: datetime,
        alerts: Sequence[Alert] | None,
        *,
        skip_unchanged: bool,
    ) -> FeedSnapshot | None:
        """Publishes the root; ``None`` when ``skip_unchanged`` found the content already
        served. Raises ``ValidationError`` (the root is invalid: the last good feed stays)
        and ``RepublishError`` (no key, the folder cannot be written)."""
        from signage.feed.publish import publish

        key = self.require_key()
        try:
            result = publish(
                self.root,
                self.feed_dir,
                key,
                now=now,
                expires_in=self.expires_in,
                alerts=alerts,
                skip_unchanged=skip_unchanged,
                remote=self.remote,
            )
        except ValidationError as exc:
            first = str(exc.problems[0]) if exc.problems else str(self.root)
            more = f" (and {len(exc.problems) - 1} more)" if len(exc.problems) > 1 else ""
            self.last_error = f"{reason}: {first}{more}"
            raise
        except FeedError as exc:
            self.last_error = f"{reason}: {exc.reason}"
            raise RepublishError(f"{reason}: {exc.reason}") from exc
        self.last_error = None
        if result.data_problems and self.remote is not None:
            self.last_error = f"{reason}: {self.remote.summary()}"
        if not result.changed and served.version == result.version:
            log.debug("%s: content unchanged, still serving %d", reason, result.version)
            return None
        snap = self.read(self.feed_dir)
        log.info("published version %d (%s)", snap.version, reason)
        self._prune(served, snap)
        return snap

    def republish(
        self, reason: str, served: FeedSnapshot, now: datetime, alerts: Sequence[Alert] | None
    ) -> FeedSnapshot:
        """Publishes the root with ``alerts``; if the root is invalid right now (an edit
        half done) re-signs the last good manifest with them instead."""
        self.require_key()
        try:
            snap = self.publish(reason, served, now, alerts, skip_unchanged=False)
        except ValidationError as exc:
            log.warning(
                "%s: the content root is invalid (%d problem(s)); re-signing the "
                "last good feed with the current alerts instead",
                reason,
                len(exc.problems),
            )
            if not served.published:
                raise RepublishError(
                    f"{reason}: nothing to re-sign: the content root is invalid and "
                    "no good feed was published yet"
                ) from exc
            return self.resign(
                served.manifest,
                reason,
                served,
                now,
                alerts,
                merge_upstream_alerts=False,
                out=self.feed_dir,
            )
        return served if snap is None else snap

    def upstream_changed(
        self, served: FeedSnapshot, now: datetime, alerts: Sequence[Alert] | None
    ) -> FeedSnapshot | None:
        """Nothing upstream in root mode: the hub is the publisher."""
        return None

    def _prune(self, previous: FeedSnapshot, current: FeedSnapshot) -> int:
        """Deletes asset files that neither ``current`` nor ``previous`` names and that are
        older than the grace period. A screen still fetching the previous version finds its
        files; anything older it would re-fetch from the new manifest."""
        if not current.published:
            return 0
        keep = folder.asset_hashes(current.manifest) | folder.asset_hashes(previous.manifest)
        clean_temp_files(current.assets_dir.parent, current.assets_dir)  # killed writers'
        return folder.prune_assets(current.assets_dir, keep, time.time() - self.asset_grace_s)


class FeedFolderPublishing(_Signing):
    """Feed mode: ``feed_dir`` is published elsewhere and never written; re-signed copies
    with the hub's alerts go to ``overlay_dir``.

    The overlay records which upstream manifest it was made from (``upstream.sha256``), so
    a hub restarted after upstream published under its re-signed version re-signs again.
    """

    def __init__(
        self,
        feed_dir: Path,
        overlay_dir: Path,
        key: Ed25519PrivateKey | None,
        *,
        expires_in: timedelta,
    ) -> None:
        super().__init__(feed_dir, key, expires_in)
        self.overlay_dir = overlay_dir
        self._upstream_seen = b""

    def load(self) -> FeedSnapshot:
        """Upstream's pair, or the hub's own re-signed one while its version is not below."""
        upstream = self.read(self.feed_dir)
        best = upstream
        overlay = None
        if (self.overlay_dir / folder.MANIFEST_NAME).is_file():
            overlay = self.read(self.overlay_dir)
        if overlay is not None and overlay.version >= best.version:
            # On a tie the hub's copy wins: screens that took it would refuse an upstream
            # manifest with the same number; upstream_changed() re-signs it.
            best = overlay
        if overlay is None or self._overlay_base() == _sha256(upstream.manifest):
            # Nothing upstream that the hub has not seen: the start-up check is a no-op.
            # Otherwise upstream was published while the hub was down, under the hub's own
            # re-signed version, and the first upstream_changed() re-signs it.
            self._upstream_seen = upstream.manifest
        return best

    def publish(
        self,
        reason: str,
        served: FeedSnapshot,
        now: datetime,
        alerts: Sequence[Alert] | None,
        *,
        skip_unchanged: bool,
    ) -> FeedSnapshot | None:
        raise RepublishError(_("this hub serves a feed folder (--feed); it has no root"))

    def republish(
        self, reason: str, served: FeedSnapshot, now: datetime, alerts: Sequence[Alert] | None
    ) -> FeedSnapshot:
        """Re-signs the upstream manifest with ``alerts`` merged into its own."""
        self.require_key()
        upstream = self.read(self.feed_dir)
        if not upstream.published:
            raise RepublishError(
                f"{reason}: nothing to re-sign: {self.feed_dir} holds no feed.json"
            )
        return self.resign(
            upstream.manifest,
            reason,
            served,
            now,
            alerts,
            merge_upstream_alerts=True,
            out=self.overlay_dir,
        )

    def upstream_changed(
        self, served: FeedSnapshot, now: datetime, alerts: Sequence[Alert] | None
    ) -> FeedSnapshot | None:
        """The folder may have been published again: its new version, re-signed with the
        hub's alerts when there are any, or when the hub has re-signed before and
        upstream's number is not above the one served (the version screens see never goes
        down). ``None`` when there is nothing new to serve."""
        upstream = self.read(self.feed_dir)
        if not upstream.published or upstream.manifest == self._upstream_seen:
            return None
        self._upstream_seen = upstream.manifest
        if upstream.manifest == served.manifest:
            return None  # already serving exactly this
        behind = served.published and upstream.version <= served.version
        if self.key is not None and (alerts or behind):
            return self.resign(
                upstream.manifest,
                "feed folder changed",
                served,
                now,
                alerts,
                merge_upstream_alerts=True,
                out=self.overlay_dir,
            )
        if behind:
            log.warning(
                "%s: version %d is not above the served %d and the hub cannot re-sign it "
                "(no --key); still serving %d",
                self.feed_dir,
                upstream.version,
                served.version,
                served.version,
            )
            return None
        return upstream

    def before_write(self, base: bytes) -> None:
        from signage.feed.store import write_atomic

        write_atomic(self.overlay_dir / UPSTREAM_BASE_NAME, _sha256(base).encode())

    def _overlay_base(self) -> str | None:
        """sha256 of the upstream manifest the overlay was re-signed from, if recorded."""
        try:
            return (self.overlay_dir / UPSTREAM_BASE_NAME).read_text().strip()
        except OSError:
            return None


class ExpiryWatch:
    """Decides when the served feed must be signed again before it expires.

    Args:
        feed_dir: named in the warning a hub without a key logs.
        fraction: share of a manifest's lifetime after which it is signed again.
    """

    def __init__(self, feed_dir: Path, fraction: float) -> None:
        self.feed_dir = feed_dir
        self.fraction = fraction
        self._warned: bytes = b""  # the manifest whose nearing expiry was logged

    def due(self, snap: FeedSnapshot, now: datetime, *, can_sign: bool) -> str | None:
        """The reason to re-sign ``snap`` now, or ``None``. A hub that cannot sign gets
        ``None`` and a warning, once per manifest, within a day (or half its lifetime, if
        shorter) of its expiry."""
        from signage.feed.codec import format_time
        from signage.feed.manifest import parse_manifest
        from signage.feed.publish import refresh_due

        if not snap.published:
            return None
        try:
            served = parse_manifest(snap.manifest, None)
        except FeedError as exc:
            log.debug("cannot read the served manifest's lifetime: %s", exc)
            return None
        if not refresh_due(served.published, served.expires, now, self.fraction):
            return None
        if not can_sign:
            self._warn(snap.manifest, served.published, served.expires, now)
            return None
        return (
            f"version {served.version} expires {format_time(served.expires)}; "
            "signed again with a fresh expiry"
        )

    def _warn(self, manifest: bytes, published: datetime, expires: datetime, now: datetime) -> None:
        from signage.feed.codec import format_time

        margin = min(timedelta(days=1), (expires - published) / 2)
        if now < expires - margin or self._warned == manifest:
            return
        self._warned = manifest
        state = "expired" if now >= expires else "expires"
        log.warning(
            "%s/feed.json %s at %s and this hub has no --key to sign it again: publish "
            "again with 'signage publish' (screens mark an expired feed stale and new "
            "screens refuse it)",
            self.feed_dir,
            state,
            format_time(expires),
        )
