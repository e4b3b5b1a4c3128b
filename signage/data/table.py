"""Data table room: CSV or JSON bytes to a small checked table, and numbers the es-CO way.

Pure functions, no I/O: the caller reads the bytes (bounded, through ``signage.safeopen``
or a capped HTTP body) and hands them here. Everything hostile is refused with a located
reason (``DataProblem``): a body over ``MAX_DATA_BYTES``, more than ``MAX_ROWS`` rows, a
JSON document nested deeper than ``MAX_JSON_DEPTH`` (a "JSON bomb"), a missing column, text
where a number belongs (file, line and column named).
"""

from __future__ import annotations

import csv
import io
import json
import math
import re
import unicodedata
from collections.abc import Mapping, Sequence
from dataclasses import dataclass, field

from signage.i18n import _

MAX_DATA_BYTES = 1 << 20
"""Data files (and fetched bodies) larger than this are refused: a slide shows a few rows."""
MAX_ROWS = 1000
MAX_COLUMNS = 64
MAX_CELL_CHARS = 400
MAX_JSON_DEPTH = 8


class DataProblem(ValueError):
    """Raised when data cannot be drawn; the message names the file, line and column.

    ``key`` names the slide's mapping key at fault (``label``, ``values``, ``note``) when the
    file lacks a column it names, else ``""`` (the file itself is at fault).
    """

    def __init__(self, message: str, key: str = "") -> None:
        super().__init__(message)
        self.key = key


@dataclass(frozen=True, slots=True)
class DataTable:
    """Rows of text cells under named columns, as read from the file.

    Args:
        name: the file (or URL) it came from, for messages.
        columns: the header names, in file order.
        rows: the cells of each row (same length as ``columns``).
        lines: the file line (CSV) or item number (JSON, 1-based) of each row.
        numbers: cells that were JSON numbers, by (row, column): read as they are.
        line_word: what ``lines`` count (``line`` in a CSV, ``row`` in JSON).
    """

    name: str
    columns: tuple[str, ...]
    rows: tuple[tuple[str, ...], ...]
    lines: tuple[int, ...]
    numbers: Mapping[tuple[int, int], float] = field(default_factory=dict)
    line_word: str = "line"

    def column(self, name: str, *, where: str = "") -> int:
        """The index of column ``name``; DataProblem listing the columns when it is absent."""
        if name in self.columns:
            return self.columns.index(name)
        import difflib

        close = difflib.get_close_matches(name, self.columns, n=1)
        have = ", ".join(self.columns) or _("none (columns)")
        lead = f"{where}: " if where else ""
        if close:
            text = _(
                "{file} has no column '{column}' (did you mean '{close}'?); "
                "its columns are: {columns}"
            )
        else:
            text = _("{file} has no column '{column}'; its columns are: {columns}")
        raise DataProblem(
            lead
            + text.format(
                file=self.name, column=name, close=close[0] if close else "", columns=have
            ),
            where,
        )


@dataclass(frozen=True, slots=True)
class Series:
    """What a chart draws: one label per row and, per value column, one number per row."""

    labels: tuple[str, ...]
    names: tuple[str, ...]
    values: tuple[tuple[float, ...], ...]  # values[c][r]: column c, row r
    notes: tuple[str, ...] = ()


_ES_NUMBER = re.compile(r"[+-]?(\d{1,3}(\.\d{3})+|\d+)(,\d+)?")
_DOT_NUMBER = re.compile(r"[+-]?(\d{1,3}(,\d{3})+|\d+)(\.\d+)?")


def parse_number(text: str, *, decimal_comma: bool = True) -> float:
    """``"1.240"`` -> 1240.0, ``"5,1"`` -> 5.1, ``"−3,5 %"`` -> -3.5 (es-CO by default).

    With ``decimal_comma=False`` the file writes ``1,240`` and ``5.1``. A trailing ``%`` and
    spaces are ignored. Raises ValueError saying how to write the number.
    """
    plain = text.strip().replace("\u2212", "-").replace("\u2013", "-").replace("\xa0", " ")
    plain = plain.removesuffix("%").strip().replace(" ", "")
    pattern = _ES_NUMBER if decimal_comma else _DOT_NUMBER
    if not plain or pattern.fullmatch(plain) is None:
        example = _("1.240 or 5,1") if decimal_comma else _("1240 or 5.1")
        raise ValueError(
            _("{text} is not a number (write e.g. {example})").format(
                text=repr(text.strip()[:40]), example=example
            )
        )
    plain = plain.replace(".", "").replace(",", ".") if decimal_comma else plain.replace(",", "")
    value = float(plain)
    if not math.isfinite(value):  # pragma: no cover - the pattern admits only digits
        raise ValueError(f"{text!r} is not a finite number")
    return value


def format_number(value: float, *, decimals: int = 0, unit: str = "", sign: bool = False) -> str:
    """es-CO: ``12.400``, ``5,1``, ``−38 %`` (a true minus sign; ``unit`` follows a space
    when it is a word or ``%``; ``sign`` writes ``+`` before positive numbers)."""
    rounded = round(value, decimals)
    if rounded == 0:
        rounded = 0.0  # no "−0"
    text = f"{abs(rounded):,.{decimals}f}".replace(",", "\x00").replace(".", ",")
    text = text.replace("\x00", ".")
    if rounded < 0:
        text = "\u2212" + text
    elif sign and rounded > 0:
        text = "+" + text
    if unit:
        text += unit if unit[0] in " \u202f" else f"\u00a0{unit}"
    return text


def _check_size(data: bytes, name: str) -> None:
    if len(data) > MAX_DATA_BYTES:
        raise DataProblem(
            _(
                "{file} is larger than {limit} KB; a slide shows a few rows, publish a summary"
            ).format(file=name, limit=MAX_DATA_BYTES // 1024)
        )


def _text_of(data: bytes, name: str) -> str:
    try:
        return data.decode("utf-8-sig")
    except UnicodeDecodeError as exc:
        raise DataProblem(
            _("{file}: byte {byte} is not UTF-8; save the file as UTF-8").format(
                file=name, byte=exc.start
            )
        ) from None


def printable(text: str) -> str:
    """A cell as drawn: control and format characters (bidi overrides, zero-width marks,
    line breaks) become spaces, runs of spaces one."""
    plain = "".join(" " if unicodedata.category(c) in ("Cc", "Cf", "Zl", "Zp") else c for c in text)
    return " ".join(plain.split())


def parse_csv(data: bytes, name: str) -> DataTable:
    """A CSV file (header row first; ``,`` or ``;`` between cells) as a table."""
    _check_size(data, name)
    text = _text_of(data, name)
    first = text.split("\n", 1)[0]
    delimiter = ";" if first.count(";") > first.count(",") else ","
    reader = csv.reader(io.StringIO(text, newline=""), delimiter=delimiter, strict=True)
    header: tuple[str, ...] | None = None
    rows: list[tuple[str, ...]] = []
    lines: list[int] = []
    try:
        for cells in reader:
            if not any(c.strip() for c in cells):
                continue
            line = reader.line_num
            if header is None:
                header = _header(cells, name, line)
                continue
            if len(rows) >= MAX_ROWS:
                raise DataProblem(
                    _("{file}: more than {limit} rows; publish a summary").format(
                        file=name, limit=MAX_ROWS
                    )
                )
            if len(cells) != len(header):
                raise DataProblem(
                    _(
                        "{file}, line {line}: {cells} cells but the header has {columns} columns"
                    ).format(file=name, line=line, cells=len(cells), columns=len(header))
                )
            for cell in cells:
                if len(cell) > MAX_CELL_CHARS:
                    raise DataProblem(
                        f"{name}, line {line}: a cell longer than {MAX_CELL_CHARS} characters"
                    )
            rows.append(tuple(c.strip() for c in cells))
            lines.append(line)
    except csv.Error as exc:
        raise DataProblem(f"{name}, line {reader.line_num}: not valid CSV ({exc})") from None
    if header is None:
        raise DataProblem(f"{name} is empty; write a header row and at least one row")
    if not rows:
        raise DataProblem(f"{name} has a header but no rows")
    return DataTable(name, header, tuple(rows), tuple(lines))


def _header(cells: Sequence[str], name: str, line: int) -> tuple[str, ...]:
    header = tuple(c.strip() for c in cells)
    if len(header) > MAX_COLUMNS:
        raise DataProblem(f"{name}, line {line}: more than {MAX_COLUMNS} columns")
    if any(not c for c in header):
        raise DataProblem(f"{name}, line {line}: a column without a name in the header row")
    if len(set(header)) != len(header):
        raise DataProblem(f"{name}, line {line}: two columns have the same name")
    return header


def json_depth(text: str) -> int:
    """The deepest nesting of ``[`` / ``{`` in a JSON text (strings skipped), without parsing."""
    depth = deepest = 0
    in_string = escaped = False
    for ch in text:
        if in_string:
            if escaped:
                escaped = False
            elif ch == "\\":
                escaped = True
            elif ch == '"':
                in_string = False
        elif ch == '"':
            in_string = True
        elif ch in "[{":
            depth += 1
            deepest = max(deepest, depth)
        elif ch in "]}":
            depth -= 1
    return deepest


def parse_json(data: bytes, name: str) -> DataTable:
    """A JSON list of objects (or ``{"rows": [...]}``) with text or number values, as a table."""
    _check_size(data, name)
    text = _text_of(data, name)
    depth = json_depth(text)
    if depth > MAX_JSON_DEPTH:
        raise DataProblem(
            f"{name}: JSON nested {depth} levels deep (at most {MAX_JSON_DEPTH}); "
            "write a list of rows"
        )
    try:
        doc = json.loads(text)
    except (ValueError, RecursionError) as exc:
        raise DataProblem(f"{name}: not valid JSON ({str(exc)[:120]})") from None
    if isinstance(doc, dict) and isinstance(doc.get("rows"), list):
        doc = doc["rows"]
    if not isinstance(doc, list):
        raise DataProblem(f'{name}: expected a list of rows (or {{"rows": [...]}})')
    if len(doc) > MAX_ROWS:
        raise DataProblem(f"{name}: more than {MAX_ROWS} rows; publish a summary")
    if not doc:
        raise DataProblem(f"{name} has no rows")
    columns: dict[str, None] = {}
    for n, item in enumerate(doc, start=1):
        if not isinstance(item, dict):
            raise DataProblem(f"{name}, row {n}: expected an object of column: value")
        for key in item:
            columns.setdefault(str(key), None)
    if len(columns) > MAX_COLUMNS:
        raise DataProblem(f"{name}: more than {MAX_COLUMNS} columns")
    header = tuple(columns)
    rows: list[tuple[str, ...]] = []
    numbers: dict[tuple[int, int], float] = {}
    for n, item in enumerate(doc, start=1):
        cells = []
        for c, col in enumerate(header):
            value = item.get(col)
            cells.append(_json_cell(value, name, n, col))
            if isinstance(value, int | float) and not isinstance(value, bool):
                numbers[(n - 1, c)] = float(value)
        rows.append(tuple(cells))
    lines = tuple(range(1, len(rows) + 1))
    return DataTable(name, header, tuple(rows), lines, numbers, line_word="row")


def _json_cell(value: object, name: str, row: int, col: str) -> str:
    if value is None:
        return ""
    if isinstance(value, bool):
        return "sí" if value else "no"
    if isinstance(value, int | float):
        if not math.isfinite(value):
            raise DataProblem(f"{name}, row {row}, '{col}': not a finite number")
        return repr(value) if isinstance(value, float) else str(value)
    if isinstance(value, str):
        if len(value) > MAX_CELL_CHARS:
            raise DataProblem(f"{name}, row {row}, '{col}': longer than {MAX_CELL_CHARS} chars")
        return value.strip()
    raise DataProblem(f"{name}, row {row}, '{col}': expected text or a number, not a list")


def parse_table(data: bytes, name: str) -> DataTable:
    """CSV or JSON by the name's extension (``.json``), else by the first byte."""
    head = data.lstrip()[:1]
    if head == b"<":
        raise DataProblem(
            f"{name} is an HTML or XML page, not CSV or JSON (a login or error page?)"
        )
    if name.lower().endswith(".json") or (not name.lower().endswith(".csv") and head in b"[{"):
        return parse_json(data, name)
    return parse_csv(data, name)


def series_of(
    table: DataTable,
    *,
    label: str,
    values: Sequence[str],
    note: str | None = None,
    decimal_comma: bool = True,
    rows: int | None = None,
) -> Series:
    """The labels and numbers a chart draws; DataProblem naming the file, line and column.

    Cells written as text are read the way ``decimal_comma`` says; JSON numbers as they are.
    """
    li = table.column(label, where="label")
    vis = [table.column(v, where="values") for v in values]
    ni = table.column(note, where="note") if note else None
    picked = range(len(table.rows))
    if rows is not None:
        picked = range(max(0, len(table.rows) - rows), len(table.rows))
    labels: list[str] = []
    notes: list[str] = []
    numbers: list[list[float]] = [[] for _ in vis]
    for r in picked:
        cells = table.rows[r]
        labels.append(printable(cells[li]))
        if ni is not None:
            notes.append(printable(cells[ni]))
        for c, vi in enumerate(vis):
            exact = table.numbers.get((r, vi))
            try:
                if exact is not None:
                    number = exact
                else:
                    number = parse_number(cells[vi], decimal_comma=decimal_comma)
            except ValueError as exc:
                raise DataProblem(
                    (
                        _("{file}, line {line}, column '{column}': {problem}")
                        if table.line_word == "line"
                        else _("{file}, row {line}, column '{column}': {problem}")
                    ).format(
                        file=table.name,
                        line=table.lines[r],
                        column=table.columns[vi],
                        problem=exc,
                    )
                ) from None
            numbers[c].append(number)
    return Series(
        labels=tuple(labels),
        names=tuple(values),
        values=tuple(tuple(n) for n in numbers),
        notes=tuple(notes),
    )
