"""Mirrors: static copies of a signed feed that screens poll beside the hub.

Two writers keep a mirror folder current, both through ``write_version``:

- the hub itself (``signage serve ... --mirror DIR``, repeatable) writes every version it
  signs into each DIR, from its own feed folder;
- ``signage mirror --from URL --to DIR`` (``MirrorPuller``) on a second machine pulls the
  feed with the screens' own sync client into a private cache (``Store``: signature, hashes,
  sizes, replay and expiry checked), and only a version that verified there is written.

``write_version`` writes assets first (hard links where possible, else copies; temp file,
rename), then the manifest pair with ``signage.feed.folder.write_pair`` (signature, then
manifest, atomically), and never writes a version below the one the folder already serves:
a mirror only moves forward. It also relays the emergency route's ``alerts.json``
(``signage.feed.emergency``) when it verifies against the keys given.
"""

from __future__ import annotations

import contextlib
import os
import shutil
import time
from collections.abc import Sequence
from dataclasses import dataclass, field
from datetime import datetime
from pathlib import Path

from signage.durable import fsync_dir
from signage.errors import FeedError
from signage.feed import folder
from signage.i18n import N_, Msg, _
from signage.logs import area_logger

__all__ = ["MirrorPuller", "MirrorResult", "write_version"]

log = area_logger("feed")

ASSET_GRACE_S = 3600.0


def _place_asset(src: Path, dst: Path) -> None:
    """``src`` at ``dst`` (a hard link, else a copy), via a temporary name and a rename."""
    tmp = dst.with_name(f".{dst.name}.tmp-{os.getpid()}")
    tmp.unlink(missing_ok=True)
    try:
        os.link(src, tmp)
    except OSError:
        shutil.copyfile(src, tmp)
        with tmp.open("rb") as fh:
            os.fsync(fh.fileno())
    tmp.replace(dst)


def write_version(dst: Path, manifest: bytes, signature: bytes | None, assets_dir: Path) -> bool:
    """Writes one version into the mirror folder ``dst``; ``False`` when ``dst`` already
    serves it or a newer one (a mirror never goes back). Raises FeedError (the version the
    folder served stays current) when an asset is missing or the folder cannot be written.
    """
    incoming = folder.pair_from_bytes(manifest, signature, where="the version to mirror")
    with folder.publish_lock(dst):
        served = folder.read_pair(dst)
        if served is not None and served.version >= incoming.version:
            return False
        hashes = folder.asset_hashes(manifest)
        out = dst / "assets"
        out.mkdir(parents=True, exist_ok=True)
        for sha in sorted(hashes):
            target = out / sha
            if target.exists():
                continue
            src = assets_dir / sha
            try:
                _place_asset(src, target)
            except OSError as exc:
                raise FeedError(
                    N_("mirror {dst}: asset {sha}…: {error}"),
                    dst=dst,
                    sha=sha[:12],
                    error=exc.strerror or exc,
                ) from None
        fsync_dir(out)
        folder.write_pair(dst, manifest, signature)
        keep = hashes | (folder.asset_hashes(served.manifest) if served else frozenset())
        folder.prune_assets(out, keep, time.time() - ASSET_GRACE_S)
    log.info("mirror %s: version %d written", dst, incoming.version)
    return True


def relay_alerts(dst: Path, data: bytes, sig: bytes, keys: Sequence[str]) -> bool:
    """Writes an emergency alerts document into ``dst`` if it verifies with ``keys`` and its
    serial is above the one ``dst`` serves (signature first, then the document)."""
    from signage.durable import write_atomic
    from signage.feed.emergency import ALERTS_NAME, ALERTS_SIG_NAME, verify_document

    doc = verify_document(data, sig.decode("ascii", "replace"), keys)
    with contextlib.suppress(OSError, FeedError):
        have = (dst / ALERTS_NAME).read_bytes()[: 1 << 20]
        have_sig = (dst / ALERTS_SIG_NAME).read_text("ascii")
        if verify_document(have, have_sig, keys).serial >= doc.serial:
            return False
    with folder.publish_lock(dst):
        write_atomic(dst / ALERTS_SIG_NAME, sig)
        write_atomic(dst / ALERTS_NAME, data)
    return True


@dataclass(frozen=True, slots=True)
class MirrorResult:
    """One pull: the sync's status, the version now served by the mirror, whether written."""

    status: str
    version: int | None
    written: bool
    reason: str = ""
    why: Msg | None = field(default=None, compare=False, repr=False)

    def said(self) -> str:
        """``reason`` in the current language, for a person (``reason`` stays English)."""
        return self.why.said() if self.why is not None else _(self.reason)


class MirrorPuller:
    """Pulls a feed over HTTP into a mirror folder, verifying before writing.

    Args:
        url: the feed to copy (the hub or another mirror).
        dst: the mirror folder (served by nginx with docs/nginx/signage-feed.conf).
        pubkey: the feed's public key; every version is verified against it.
        alert_keys: keys an ``alerts.json`` may be signed with to be relayed (plus pubkey).
        cache: the private verified cache (default ``dst/.mirror-cache``, which the nginx
            configuration does not serve).
        ca_bundle: a PEM bundle https is checked against (``--ca-file``, as ``signage sync``).
    """

    def __init__(
        self,
        url: str,
        dst: Path,
        pubkey: str,
        *,
        alert_keys: Sequence[str] = (),
        cache: Path | None = None,
        ca_bundle: str | None = None,
    ) -> None:
        from signage.feed.store import Store
        from signage.feed.sync import RetryPolicy, SyncClient

        self.dst = dst
        self.store = Store(cache or dst / ".mirror-cache")
        self.client = SyncClient(
            url, self.store, pubkey, retry=RetryPolicy(attempts=2), ca_bundle=ca_bundle
        )
        self.keys = (*alert_keys, pubkey)

    def pull(self, now: datetime) -> MirrorResult:
        """One sync, then the verified current version written to the mirror folder."""
        result = self.client.sync_once(now)
        written = False
        if result.ok:
            state = self.store.state()
            if state is not None:
                mdir = self.store.manifests_dir
                manifest = (mdir / f"{state.manifest}.json").read_bytes()
                sig_path = mdir / f"{state.manifest}.sig"
                signature = sig_path.read_bytes() if sig_path.exists() else None
                written = write_version(self.dst, manifest, signature, self.store.objects_dir)
        self._relay(now)
        return MirrorResult(result.status, result.version, written, result.reason, why=result.why)

    def _relay(self, now: datetime) -> None:
        from signage.feed.emergency import ALERTS_NAME, ALERTS_SIG_NAME, MAX_DOC_BYTES
        from signage.feed.errors import TransportError
        from signage.feed.transport import check_status

        del now
        base = self.client.manifest_url.rsplit("/", 1)[0] + "/"
        got: list[bytes] = []
        transport = self.client.transport
        try:
            for name in (ALERTS_NAME, ALERTS_SIG_NAME):
                resp = transport.get(base + name, {})
                try:
                    if resp.status == 404:
                        return
                    check_status(resp.status, resp.reason, name, base + name)
                    got.append(resp.read_capped(MAX_DOC_BYTES, name))
                finally:
                    resp.close(reuse=True)
            if relay_alerts(self.dst, got[0], got[1], self.keys):
                log.info("mirror %s: alerts document relayed from %s", self.dst, base)
        except (TransportError, FeedError) as exc:
            log.warning("mirror %s: alerts document from %s not relayed: %s", self.dst, base, exc)
        finally:
            transport.close()

    def close(self) -> None:
        self.client.close()

    def abort(self) -> None:
        self.client.abort()
