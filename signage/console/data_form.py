"""The editor's data-slide room: a ``data:`` slide <-> its form fields, and the columns offered.

A data slide's form is the record under its ``data:`` key (``docs/authoring.md``) as text
controls: where the numbers come from (a ``.csv``/``.json`` file of the content root, an
https URL the hub fetches, or the hub's own QR scan count), the chart and its words, which
column names the rows and which hold the numbers, and how numbers are written. Applying
the form changes only the keys whose values changed (``forms._set``), so a slide written by
hand keeps its comments, quoting and the keys the form does not show.

The file's column names are read on the server (``ColumnReader``): bounded like the
validator reads it (``signage.data.files.read_bounded``: 1 MB, 1000 rows, 64 columns),
cached by the file's size and modification time. Remote data offers the columns of the
last good body the hub kept.

Every text of this form is an English msgid in the block of constants below and in
``templates/editor_data.html`` (the validator's data problems said in Spanish: the
``_DATA_RULES`` block of ``messages.py``; refused uploads: ``uploads.check_data``).
"""

from __future__ import annotations

import re
import threading
from collections.abc import Callable, Mapping, Sequence
from dataclasses import dataclass, field
from pathlib import Path
from typing import Any

from ruamel.yaml.comments import CommentedMap, CommentedSeq

from signage.console.yamlnode import set_key as _set
from signage.i18n import N_, _

# -------------------------------------------------- the form's words (English msgids, N_)
# The choices' words, as the editor shows them (the keys are what the YAML says); the
# template passes each through _(). A literal % is written %% (Jinja's new-style gettext
# formats every translated text).
SOURCE_LABELS = {
    "file": N_("A CSV or JSON file from the folder"),
    "url": N_("An https address (the server fetches it)"),
    "scans": N_("The scans of a QR code of this playlist"),
}
CHART_LABELS = {
    "figure": N_("Highlighted figure"),
    "bar": N_("Bars"),
    "line": N_("Line"),
    "table": N_("Table"),
    "rings": N_("Rings (percentages)"),
}
CARD_LABELS = {
    "": N_("none (figure)"),
    "change": N_("the change in %% (from the first to the last)"),
    "last": N_("the last value"),
    "total": N_("the total"),
    "custom": N_("a text of its own"),
}
NUMBER_LABELS = {
    "es-CO": N_("1.240 and 5,1 (Colombia)"),
    "plain": N_("1240 and 5.1 (no thousands)"),
}
PERIOD_LABELS = {
    "month": N_("this month"),
    "week": N_("this week"),
    "7d": N_("the last 7 days"),
    "30d": N_("the last 30 days"),
    "90d": N_("the last 90 days"),
}
LAST_DAYS = N_("the last {days} days")
SCANS_LABELS = {
    "playlist": N_("every QR code of this playlist"),
    "all": N_("every QR code of every playlist"),
}
NOT_IN_FILE = N_("{name} (not in the file)")
# Why the columns cannot be offered (shown under the column fields; translated there).
NO_DATA_FILE = N_("choose a .csv or .json file from the folder")
NOT_FETCHED = N_("the server has not fetched this data yet: write the columns")
FILE_MISSING = N_("the file is not in the folder: upload it or choose another")
UNREADABLE = N_("the file could not be read ({reason})")
SCANS_COLUMNS = ("periodo", "personas")  # the one row the hub writes for ``scans:``

DATA_SUFFIXES = (".csv", ".json")
CARD_WORDS = ("change", "last", "total")
COLUMNS_CACHE = 64
_VALID_PERIOD = re.compile(r"month|week|[0-9]{1,3}d")


@dataclass
class DataFields:
    """The ``data:`` record of one slide as form text (the file path is ``SlideForm.src``,
    the title ``SlideForm.title``)."""

    source: str = "file"  # file | url | scans
    url: str = ""
    scans: str = "playlist"
    period: str = "month"
    refresh: str = ""
    chart: str = "bar"
    tag: str = ""
    credit: str = ""  # the YAML's ``source:``: the source line at the bottom
    label: str = ""
    values: tuple[str, ...] = ()
    note: str = ""
    numbers: str = "es-CO"
    decimals: str = "0"
    unit: str = ""
    card: str = ""  # "" | change | last | total | custom
    card_text: str = ""
    card_caption: str = ""
    rows: str = ""
    was: str = ""  # the source as opened ("" for a new slide): a switch drops what no longer fits
    extra: dict[str, str] = field(default_factory=dict)


def _text(value: Any) -> str:
    if value is None or isinstance(value, bool):
        return ""
    return str(value)


def _source_of(node: Mapping[str, Any]) -> str:
    return next((k for k in ("file", "url", "scans") if k in node), "file")


def read_fields(node: Any) -> tuple[DataFields, str, str]:
    """The form of a slide's ``data:`` value, its file path and its title."""
    if not isinstance(node, Mapping):
        return DataFields(was=""), "", ""
    form = DataFields(source=_source_of(node))
    form.was = form.source
    form.url = _text(node.get("url"))
    form.scans = _text(node.get("scans")) or "playlist"
    form.period = _text(node.get("period")) or "month"
    form.refresh = _text(node.get("refresh"))
    form.chart = _text(node.get("chart"))
    form.tag = _text(node.get("tag"))
    form.credit = _text(node.get("source"))
    form.label = _text(node.get("label"))
    values = node.get("values")
    if isinstance(values, list):
        form.values = tuple(_text(v) for v in values)
    elif values is not None:
        form.values = (_text(values),)
    form.note = _text(node.get("note"))
    form.numbers = _text(node.get("numbers")) or "es-CO"
    form.decimals = _text(node.get("decimals")) or "0"
    form.unit = _text(node.get("unit"))
    card = _text(node.get("card"))
    form.card, form.card_text = (card, "") if card in ("", *CARD_WORDS) else ("custom", card)
    form.card_caption = _text(node.get("card_caption"))
    form.rows = _text(node.get("rows"))
    return form, _text(node.get("file")), _text(node.get("title"))


def from_post(get: Callable[[str], str], getlist: Callable[[str], list[Any]], p: str) -> DataFields:
    """The data fields of slide prefix ``p`` (``"s3."``) of a submitted form."""
    values: list[str] = []
    split = not get(p + "values_list")  # checkboxes send whole names; the text field a list
    for item in getlist(p + "values"):
        if isinstance(item, str):
            parts = item.split(",") if split else [item]
            values.extend(v.strip() for v in parts if v.strip())
    source = get(p + "data_from")
    return DataFields(
        source=source if source in SOURCE_LABELS else "file",
        url=get(p + "data_url"),
        scans=get(p + "scans") or "playlist",
        period=get(p + "period") or "month",
        refresh=get(p + "refresh"),
        chart=get(p + "chart"),
        tag=get(p + "tag"),
        credit=get(p + "credit"),
        label=get(p + "label"),
        values=tuple(dict.fromkeys(values)),
        note=get(p + "note"),
        numbers=get(p + "numbers") or "es-CO",
        decimals=get(p + "decimals") or "0",
        unit=get(p + "unit"),
        card=get(p + "card") if get(p + "card") in CARD_LABELS else "",
        card_text=get(p + "card_text"),
        card_caption=get(p + "card_caption"),
        rows=get(p + "rows"),
        was=get(p + "data_was"),
    )


def _number(text: str) -> Any:
    return int(text) if text.isdigit() else text


def _flow(items: Sequence[str]) -> CommentedSeq:
    seq = CommentedSeq(items)
    seq.fa.set_flow_style()
    return seq


def apply(node: CommentedMap, form: DataFields, path: str, title: str) -> None:
    """Writes the form into ``node`` (the slide's ``data:`` mapping), key by key."""
    for key in ("file", "url", "scans"):
        if key != form.source:
            node.pop(key, None)
    chosen = {"file": path, "url": form.url, "scans": form.scans}[form.source]
    if form.source in node:
        _set(node, form.source, chosen)
    if form.source not in node:  # an empty value stays, so the validator names it there
        node.insert(0, form.source, chosen)
    switched = bool(form.was) and form.was != form.source
    if form.source == "file" and switched:
        node.pop("refresh", None)
    else:
        _set(node, "refresh", form.refresh)
    if form.source != "scans" and switched:
        node.pop("period", None)
    elif form.source == "scans" and (form.period != "month" or "period" in node):
        _set(node, "period", form.period)
    _set(node, "chart", form.chart)
    if "chart" not in node:
        node["chart"] = ""
    _set(node, "tag", form.tag)
    _set(node, "title", title)
    if "title" not in node:
        node["title"] = ""
    if form.source == "scans":  # the hub writes its own columns: only hand-written ones stay
        for key in ("label", "values", "note", "rows"):
            if switched or key not in node:
                node.pop(key, None)
            elif key == "values":
                _set_values(node, form.values)
            else:
                _set(node, key, _number(form.rows) if key == "rows" else getattr(form, key))
    else:
        _set(node, "label", form.label)
        _set_values(node, form.values)
        _set(node, "note", form.note)
        _set(node, "rows", _number(form.rows))
    if form.numbers != "es-CO" or "numbers" in node:
        _set(node, "numbers", form.numbers)
    if form.decimals != "0" or "decimals" in node:
        _set(node, "decimals", _number(form.decimals))
    _set(node, "unit", form.unit)
    _set(node, "card", form.card_text if form.card == "custom" else form.card)
    _set(node, "card_caption", form.card_caption)
    _set(node, "source", form.credit)


def _set_values(node: CommentedMap, values: tuple[str, ...]) -> None:
    current = node.get("values")
    if isinstance(current, list) and [str(v) for v in current] == list(values):
        return
    if not isinstance(current, list) and values == ((str(current),) if current else ()):
        return
    if not values:
        node.pop("values", None)
    elif len(values) == 1:
        node["values"] = values[0]
    else:
        node["values"] = _flow(values)


def field_of(p: str, rest: tuple[Any, ...]) -> str:
    """The form field (``s3.label``) writing ``slides[3].data`` + ``rest`` of the document."""
    key = str(rest[0]) if rest else "file"
    names = {
        "file": "src",
        "url": "data_url",
        "source": "credit",
        "card": "card_text",
    }
    if key in ("chart", "title", "tag", "label", "values", "note", "numbers", "decimals"):
        return p + key
    if key in ("unit", "card_caption", "rows", "refresh", "period", "scans"):
        return p + key
    return p + names.get(key, "src")


# ----------------------------------------------------------------- the columns offered


@dataclass(frozen=True, slots=True)
class Columns:
    """What the form can offer for a data slide's columns.

    Args:
        names: the file's column names, in file order (empty when unknown).
        numeric: the names whose every cell reads as a number (the file's number style).
        problem: why the columns are unknown, a msgid ("" when known or not asked); the
            template says it with ``_()`` (a cached answer serves every language).
        reason: the ``{reason}`` of ``UNREADABLE``.
    """

    names: tuple[str, ...] = ()
    numeric: tuple[str, ...] = ()
    problem: str = ""
    reason: str = ""


class ColumnReader:
    """Reads the column names of data files, bounded and cached by size and mtime.

    Args:
        root: the content root (files are read only inside it).
        store: the hub's remote-data folder (the last good body of each URL), or ``None``.
    """

    def __init__(self, root: Path, store: Path | None) -> None:
        self.root = root
        self.store = store
        self._cache: dict[tuple[Any, ...], Columns] = {}
        self._lock = threading.Lock()

    def for_slide(self, form: DataFields, path: str) -> Columns:
        if form.source == "scans":
            return Columns(SCANS_COLUMNS, SCANS_COLUMNS[1:])
        if form.source == "url":
            return self._remote(form.url)
        if not path:
            return Columns()
        rel = Path(path)
        if rel.is_absolute() or ".." in rel.parts or rel.suffix.lower() not in DATA_SUFFIXES:
            return Columns(problem=NO_DATA_FILE)
        return self._read(self.root / rel, self.root, path, form.numbers != "plain")

    def _remote(self, url: str) -> Columns:
        if not url.startswith("https://") or self.store is None:
            return Columns()
        from signage.data.remote import url_key

        key = url_key(url)
        for suffix in DATA_SUFFIXES:
            body = self.store / f"{key}{suffix}"
            if body.is_file():
                return self._read(body, self.store, f"{url}{suffix}", True)
        return Columns(problem=NOT_FETCHED)

    def _read(self, file: Path, inside: Path, name: str, decimal_comma: bool) -> Columns:
        try:
            st = file.stat()
        except OSError:
            return Columns(problem=FILE_MISSING)
        key = (str(file), st.st_size, st.st_mtime_ns, decimal_comma)
        with self._lock:
            cached = self._cache.get(key)
        if cached is not None:
            return cached
        found = _columns_of(file, inside, name, decimal_comma)
        with self._lock:
            if len(self._cache) >= COLUMNS_CACHE:
                self._cache.pop(next(iter(self._cache)))
            self._cache[key] = found
        return found


def _columns_of(file: Path, inside: Path, name: str, decimal_comma: bool) -> Columns:
    from signage.data.files import read_bounded
    from signage.data.table import DataProblem, parse_number, parse_table

    try:
        table = parse_table(read_bounded(file, inside, name), name)
    except DataProblem as exc:
        return Columns(problem=UNREADABLE, reason=str(exc))
    numeric = []
    for c, column in enumerate(table.columns):
        try:
            for r, row in enumerate(table.rows):
                if (r, c) not in table.numbers:
                    parse_number(row[c], decimal_comma=decimal_comma)
        except ValueError:
            continue
        numeric.append(column)
    return Columns(table.columns, tuple(numeric))


def with_defaults(form: DataFields, columns: Columns) -> DataFields:
    """A new slide's label and values guessed from its file: the first column names the
    rows, the first numeric column after it holds the numbers (only when both are empty)."""
    from dataclasses import replace

    if form.label or form.values or not columns.names or form.source == "scans":
        return form
    label = columns.names[0]
    numbers = [c for c in columns.numeric if c != label]
    return replace(form, label=label, values=tuple(numbers[:1]))


def data_files(assets: Sequence[str]) -> list[str]:
    """The ``.csv`` and ``.json`` files among the asset paths."""
    return [a for a in assets if a.lower().endswith(DATA_SUFFIXES)]


def period_choices(current: str) -> list[tuple[str, str]]:
    """The periods offered for a scans slide, in the current language."""
    out = [(k, _(v)) for k, v in PERIOD_LABELS.items()]
    if current and current not in PERIOD_LABELS and _VALID_PERIOD.fullmatch(current):
        out.append((current, _(LAST_DAYS).format(days=current[:-1])))
    return out
