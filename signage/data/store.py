"""Remote data store room: where a publisher keeps its last good remote data, out of reach of
the web server.

The hub and ``signage publish`` keep each URL's last good body and its dates
(``signage.data.remote``) in ``DATA/datos-remotos``: ``DATA`` is the hub's data folder
(``signage serve --data``, by default ``ROOT/.signage-hub``), and ``signage publish`` uses the
same default (or its own ``--data``). Never inside the feed folder, which nginx or a CDN
may serve: what a third-party server answered is published only as a checked,
content-addressed asset of the signed feed.

Earlier versions of ``signage publish`` kept the store in ``FEED/datos-remotos``;
``move_legacy_store`` moves it out once (the next publish does it), keeping per URL the
newer of the two copies, so no last good data is lost on the way.
"""

from __future__ import annotations

import json
import os
import shutil
import stat
from datetime import datetime
from pathlib import Path

from signage.durable import write_atomic
from signage.logs import area_logger
from signage.safeopen import UnsafeFile, opened_inside

log = area_logger("feed")

STORE_FOLDER = "datos-remotos"
"""The store's folder name, inside the publisher's data folder."""
PUBLISHER_DATA = ".signage-hub"
"""A content root's default data folder (``signage serve --root``'s, ``signage publish``'s)."""
MAX_STORE_FILE = 2 * 1024 * 1024  # bodies are at most 1 MB; anything bigger is not ours
MAX_STORE_FILES = 10_000


def store_in(data_dir: Path) -> Path:
    """The remote data store of a publisher whose data folder is ``data_dir``."""
    return data_dir / STORE_FOLDER


def default_store(root: Path) -> Path:
    """The store ``signage publish --root ROOT`` uses without ``--data`` (the hub's too)."""
    return store_in(root / PUBLISHER_DATA)


def is_inside(path: Path, folder: Path) -> bool:
    """Whether ``path`` is ``folder`` or under it (links resolved)."""
    p, f = path.resolve(), folder.resolve()
    return p == f or f in p.parents


def _stamp(folder: Path, key: str) -> datetime | None:
    """When the data of one URL (``key``) was last good, as its meta or news file says."""
    for name in (f"{key}.meta.json", f"{key}.news.json"):
        try:
            with opened_inside(folder / name, folder) as (fh, _):
                raw = json.loads(fh.read(256 * 1024))
            good = raw.get("good_at") if isinstance(raw, dict) else None
            return datetime.fromisoformat(good) if isinstance(good, str) else None
        except (OSError, UnsafeFile, ValueError):
            continue
    return None


def _newer(old: Path, new: Path, key: str) -> bool:
    """Whether ``old`` holds newer good data for ``key`` than ``new`` (or ``new`` has none)."""
    if not any(new.glob(f"{key}.*")):
        return True
    theirs, ours = _stamp(old, key), _stamp(new, key)
    if theirs is None:
        return False
    return ours is None or theirs > ours


def move_legacy_store(feed_dir: Path, store: Path) -> int:
    """Moves ``FEED/datos-remotos`` (where earlier versions kept it) into ``store`` and
    removes it from the feed folder; returns how many files were moved (0: nothing to do).

    Per URL the newer good data wins; metadata is written after its body, each file
    atomically, so an interrupted move leaves a usable store and the old folder in place
    for the next attempt. Links and anything but small regular files are left behind."""
    old = feed_dir / STORE_FOLDER
    try:
        st = old.lstat()
    except OSError:
        return 0
    if not stat.S_ISDIR(st.st_mode) or (store.exists() and old.resolve() == store.resolve()):
        return 0
    entries = sorted(os.scandir(old), key=lambda e: e.name)[:MAX_STORE_FILES]
    keys = sorted({e.name.split(".", 1)[0] for e in entries if not e.name.startswith(".")})
    moved = 0
    for key in keys:
        if not _newer(old, store, key):
            continue
        group = [e for e in entries if e.name.split(".", 1)[0] == key]
        group.sort(key=lambda e: e.name.endswith((".meta.json", ".news.json")))  # bodies first
        for entry in group:
            try:
                with opened_inside(Path(entry.path), old) as (fh, fst):
                    if fst.st_size > MAX_STORE_FILE:
                        continue
                    body = fh.read(MAX_STORE_FILE + 1)
            except (OSError, UnsafeFile):
                continue
            write_atomic(store / entry.name, body)
            moved += 1
    shutil.rmtree(old)
    log.info(
        "remote data store moved out of the feed folder: %s -> %s (%d file(s))", old, store, moved
    )
    return moved
