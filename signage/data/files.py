"""Data file room: a data file read once, bounded, through ``signage.safeopen``.

The one thin shell over the pure parsers used by the validator (a content root's files) and
the player's worker thread (a cached asset): the file is opened once, checked to be a
regular file inside its root, and read up to ``MAX_DATA_BYTES`` + 1 bytes.
"""

from __future__ import annotations

from pathlib import Path

from signage.data.table import (
    MAX_DATA_BYTES,
    DataProblem,
    Series,
    parse_csv,
    parse_json,
    parse_table,
    series_of,
)
from signage.i18n import _
from signage.model import DataContent
from signage.safeopen import UnsafeFile, opened_inside


def read_bounded(path: Path, root: Path, name: str) -> bytes:
    """The bytes of ``path`` (inside ``root``); DataProblem when unsafe, unreadable or too big."""
    try:
        with opened_inside(path, root) as (fh, st):
            if st.st_size > MAX_DATA_BYTES:
                raise DataProblem(
                    _(
                        "{file} is larger than {limit} KB; a slide shows a few rows, publish a "
                        "summary"
                    ).format(file=name, limit=MAX_DATA_BYTES // 1024)
                )
            return fh.read(MAX_DATA_BYTES + 1)
    except UnsafeFile as exc:
        raise DataProblem(f"{name}: {exc.reason}") from None
    except OSError as exc:
        raise DataProblem(f"{name}: cannot read it ({exc.strerror or exc})") from None


def series_from_bytes(
    raw: bytes, name: str, data: DataContent, *, kind: str | None = None
) -> Series:
    """What ``data`` draws from the file's bytes; DataProblem saying what is wrong and where.

    ``kind``: ``csv`` or ``json`` when known (a fetched body), else guessed from ``name``.
    """
    if kind == "json":
        table = parse_json(raw, name)
    elif kind == "csv":
        table = parse_csv(raw, name)
    else:
        table = parse_table(raw, name)
    return series_of(
        table,
        label=data.label,
        values=data.values,
        note=data.note,
        decimal_comma=data.decimal_comma,
        rows=data.rows,
    )


def load_series(path: Path, root: Path, name: str, data: DataContent) -> Series:
    """``read_bounded`` then ``series_from_bytes``."""
    return series_from_bytes(read_bounded(path, root, name), name, data)
