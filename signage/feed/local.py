"""The local path: a content root on disk runs the same publish -> apply steps in-process.

``content_from_root`` validates the root, builds the same manifest a published feed would
carry, copies the assets into the same content-addressed store and applies the manifest
(without a signature: nothing crossed a network). Local and fleet modes therefore share
the manifest, the store and the atomic switch, and cannot drift apart.
"""

from __future__ import annotations

from datetime import datetime, timedelta
from pathlib import Path

from signage.errors import Problem, ValidationError
from signage.feed.manifest import AssetEntry, build_manifest
from signage.feed.publish import _alerts_of_root, media_type, resolve_assets
from signage.feed.store import Store
from signage.model import Content

__all__ = ["LOCAL_LIFETIME", "content_from_root"]

# A local root never goes stale by the clock; the manifest still needs an expiry.
LOCAL_LIFETIME = timedelta(days=3650)


def content_from_root(
    root: Path,
    cache: Path,
    version: int,
    now: datetime,
    *,
    allowed_hosts: frozenset[str] = frozenset(),
) -> Content:
    """Validates ``root`` and returns its ``Content`` with assets served from ``cache``.

    Raises:
        ValidationError: the root has errors (the cache's current version is untouched).
    """
    from signage.playlist import load_content_root

    if not (root / "playlists").is_dir():
        raise ValidationError(
            [Problem(str(root), 0, 0, "no 'playlists' folder here; pass --root CONTENT_ROOT")]
        )
    load = load_content_root(root, allowed_hosts=allowed_hosts)
    if not load.ok:
        raise ValidationError([p for p in load.problems if p.severity == "error"])
    files = resolve_assets(root, load)
    store = Store(cache)
    with store.lock():
        table: dict[str, AssetEntry] = {}
        for path, src in sorted(files.items()):
            sha, size = store.import_file(src)
            table[path] = AssetEntry(sha256=sha, size=size, media_type=media_type(path))
        body = build_manifest(
            load, _alerts_of_root(root, now), version, now, now + LOCAL_LIFETIME, table
        )
        manifest = store.apply(body, None, pubkey_b64=None, now=now, check_version=False)
        store.collect(blocking=True)
    return store.content_of(manifest, source=str(root))
