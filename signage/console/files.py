"""The console's file helpers: atomic writes, safe names, paths that stay inside the root."""

from __future__ import annotations

import os
import re
import secrets
import unicodedata
from pathlib import Path

PLAYLIST_NAME = re.compile(r"^[a-z0-9][a-z0-9_-]{0,63}$")


def atomic_write(path: Path, data: bytes) -> None:
    """Writes ``data`` to ``path`` through a temp file in the same folder, fsync, rename.

    The temp file is a dot-file, which the hub's watcher and the playlist loader skip."""
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.console-{secrets.token_hex(6)}")
    try:
        with tmp.open("xb") as fh:
            fh.write(data)
            fh.flush()
            os.fsync(fh.fileno())
        tmp.replace(path)
    finally:
        tmp.unlink(missing_ok=True)
    fd = os.open(path.parent, os.O_RDONLY)
    try:
        os.fsync(fd)
    finally:
        os.close(fd)


def safe_stem(name: str, fallback: str = "archivo") -> str:
    """A file name stem anyone can type: ASCII letters, digits, ``-``; from any input."""
    stem = name.replace("\\", "/").rsplit("/", 1)[-1]
    stem = stem.rsplit(".", 1)[0] if "." in stem else stem
    ascii_only = unicodedata.normalize("NFKD", stem).encode("ascii", "ignore").decode()
    slug = re.sub(r"[^a-z0-9]+", "-", ascii_only.lower()).strip("-")[:60]
    return slug or fallback


def inside(root: Path, relative: str) -> Path | None:
    """``root/relative`` when it stays inside ``root`` (links resolved), else ``None``."""
    if not relative or "\x00" in relative or relative.startswith("/"):
        return None
    base = root.resolve()
    target = (base / relative).resolve()
    if base != target and base not in target.parents:
        return None
    return target


def playlist_path(root: Path, name: str) -> Path | None:
    """``ROOT/playlists/NAME.yaml`` (or ``.yml`` when that is what exists) for a valid id."""
    if not PLAYLIST_NAME.match(name):
        return None
    folder = root / "playlists"
    yml = folder / f"{name}.yml"
    if yml.is_file() and not (folder / f"{name}.yaml").exists():
        return yml
    return folder / f"{name}.yaml"
