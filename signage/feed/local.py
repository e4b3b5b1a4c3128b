"""The local path: a content root on disk runs the same publish -> apply steps in-process.

``content_from_root`` validates the root, builds the same manifest a published feed would
carry, copies the assets into the same content-addressed store and applies the manifest
(without a signature: nothing crossed a network). Local and fleet modes therefore share
the manifest, the store and the atomic switch, and cannot drift apart.
"""

from __future__ import annotations

import contextlib
import json
import os
import re
from collections.abc import Callable, Iterator
from datetime import UTC, datetime, timedelta
from pathlib import Path
from typing import BinaryIO

from signage.durable import write_atomic
from signage.errors import Problem, ValidationError
from signage.feed.manifest import AssetEntry, build_manifest
from signage.feed.publish import alerts_of_root, load_valid_root, media_type
from signage.feed.store import Store
from signage.model import Alert, Content
from signage.safeopen import UnsafeFile, open_inside

__all__ = ["LOCAL_LIFETIME", "content_from_root"]

# A local root never goes stale by the clock; the manifest still needs an expiry.
LOCAL_LIFETIME = timedelta(days=3650)
_EARLIEST = datetime.min.replace(tzinfo=UTC)
_HEX64 = re.compile(r"[0-9a-f]{64}")


class _LocalIndex:
    """(source file, size, mtime) -> sha256 of files already copied into the store.

    Lets a reload after an edit skip re-reading unchanged assets (videos are large). Only
    trusted when the object is still in the store with that size.
    """

    def __init__(self, store: Store) -> None:
        self.store = store
        self.path = store.root / "local-index.json"
        try:
            raw = json.loads(self.path.read_text(encoding="utf-8"))
            self.entries: dict[str, list[object]] = raw if isinstance(raw, dict) else {}
        except (OSError, ValueError):
            self.entries = {}
        self.used: dict[str, list[object]] = {}

    def lookup(self, src: Path, size: int, mtime_ns: int) -> str | None:
        entry = self.entries.get(str(src))
        if not (isinstance(entry, list) and len(entry) == 3 and entry[:2] == [size, mtime_ns]):
            return None
        sha = entry[2]
        if not isinstance(sha, str) or not _HEX64.fullmatch(sha):
            return None
        return sha if self.store.has_blob(sha, size) else None

    def remember(self, src: Path, sha: str, size: int, mtime_ns: int) -> None:
        self.used[str(src)] = [size, mtime_ns, sha]

    def save(self) -> None:
        write_atomic(self.path, json.dumps(self.used).encode(), sync_dir=False)


@contextlib.contextmanager
def _checked(src: Path, root: Path) -> Iterator[tuple[BinaryIO, os.stat_result]]:
    """``opened_inside``, its refusal said as a ValidationError naming the file."""
    try:
        fin, st = open_inside(src, root)
    except UnsafeFile as exc:
        raise ValidationError([Problem(str(exc.path), 0, 0, exc.reason)]) from None
    with fin:
        yield fin, st


def content_from_root(
    root: Path,
    cache: Path,
    version: int,
    now: datetime,
    *,
    allowed_hosts: frozenset[str] = frozenset(),
    alert_active: Callable[[Alert], bool] | None = None,
) -> Content:
    """Validates ``root`` and returns its ``Content`` with assets served from ``cache``.

    ``alert_active`` decides which of ``root/alerts`` are carried (default: not expired at
    ``now``); a screen passes its ``TimeKeeper.alert_active``, so a clock running ahead does
    not drop a fresh alert here.

    Raises:
        ValidationError: the root has errors (the cache's current version is untouched).
    """
    load, files = load_valid_root(root, allowed_hosts)
    store = Store(cache)
    with store.lock():
        table: dict[str, AssetEntry] = {}
        index = _LocalIndex(store)
        for path, src in sorted(files.items()):
            with _checked(src, root) as (fin, st):  # one open, checked: no swapped links
                known = index.lookup(src, st.st_size, st.st_mtime_ns)
                if known is not None:
                    sha, size = known, st.st_size
                else:
                    sha, size = store.import_file(fin)
            index.remember(src, sha, st.st_size, st.st_mtime_ns)
            table[path] = AssetEntry(sha256=sha, size=size, media_type=media_type(path))
        index.save()
        if alert_active is None:
            alerts = alerts_of_root(root, now)
        else:  # every stored alert (none has expired at the dawn of time), then the screen's say
            alerts = tuple(a for a in alerts_of_root(root, _EARLIEST) if alert_active(a))
        body = build_manifest(load, alerts, version, now, now + LOCAL_LIFETIME, table)
        manifest = store.apply(body, None, pubkey_b64=None, now=now, check_version=False)
        store.collect(blocking=True)
    return store.content_of(manifest, source=str(root))
