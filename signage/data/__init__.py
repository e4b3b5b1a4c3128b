"""Data slides room: CSV/JSON tables read safely, numbers the es-CO way, charts planned.

Pure (no Qt, no network): ``table`` parses bounded bytes into a checked table and the
numbers a chart draws; ``drawing`` lays a slide out as shapes and texts. The player paints a
plan (``signage.player.dataview``); the publisher fetches remote data (``signage.data.fetch``).
"""

from __future__ import annotations

from signage.data.table import (
    MAX_DATA_BYTES,
    MAX_ROWS,
    DataProblem,
    DataTable,
    Series,
    format_number,
    parse_number,
    parse_table,
    series_of,
)

__all__ = [
    "MAX_DATA_BYTES",
    "MAX_ROWS",
    "DataProblem",
    "DataTable",
    "Series",
    "format_number",
    "parse_number",
    "parse_table",
    "series_of",
]
