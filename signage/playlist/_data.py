"""The data slide's fields: which file or URL, which columns, how numbers are written.

``DATA`` is the record under a slide's ``data:`` key. With a content root to check against
(``ContentContext.check_assets``) it also reads the file (bounded, through
``signage.safeopen``) and draws nothing but checks everything a screen would: the columns
the slide names exist, the numbers are numbers. A problem is reported at the key at fault
(``values:`` for a missing column) with the file's line and column.
"""

from __future__ import annotations

import re
from pathlib import Path

from signage.data.table import DataProblem
from signage.i18n import N_, _
from signage.model import Chart, DataContent, TickerFeed
from signage.playlist._fields import ContentContext, Duration, HttpsUrl, _any_case
from signage.validation import (
    INVALID,
    JSON,
    Choice,
    Context,
    Field,
    Integer,
    Invalid,
    Record,
    Spec,
    Text,
    Values,
    YMap,
    YNode,
    YScalar,
    YSeq,
    expect_scalar,
    kind_of,
)

DATA_EXTENSIONS = (".csv", ".json")
MIN_REFRESH_S = 60.0
COLUMN = Text(max_len=80)


class DataFile(Spec[str]):
    """A ``.csv`` or ``.json`` file under the content root (path checks like an asset's)."""

    def __init__(self, description: str = "") -> None:
        self.description = description

    def convert(self, node: YNode, ctx: Context) -> str | Invalid:
        s = expect_scalar(node, ctx, "the path of a .csv or .json file under the content root")
        if isinstance(s, Invalid):
            return s
        if not isinstance(s.value, str) or not s.value.strip():
            return ctx.error(
                node, _("expected the path of a data file, found {found}").format(found=kind_of(s))
            )
        text = s.value.strip()
        if "://" in text:
            return ctx.error(
                node,
                _("{text} is a URL; write it as 'url:' (the hub fetches it)").format(
                    text=repr(text)
                ),
            )
        rel = Path(text)
        if rel.is_absolute() or text.startswith("~") or ".." in rel.parts:
            return ctx.error(
                node,
                _("{text} must be a path inside the content root, e.g. assets/datos/x.csv").format(
                    text=repr(text)
                ),
            )
        if rel.suffix.lower() not in DATA_EXTENSIONS:
            return ctx.error(
                node,
                _("{text} is not a data file; accepted files: .csv, .json").format(text=repr(text)),
            )
        if isinstance(ctx, ContentContext) and ctx.check_assets:
            full = ctx.root / rel
            if not full.is_file():
                return ctx.error(
                    node,
                    _("data file {text} does not exist under {root}").format(
                        text=repr(text), root=ctx.root
                    ),
                )
        return rel.as_posix()

    def schema(self) -> JSON:
        exts = "|".join(_any_case(e.lstrip(".")) for e in DATA_EXTENSIONS)
        out: JSON = {
            "type": "string",
            "pattern": r"^\s*(?![/~])(?!.*(^|/)\.\.(/|$)).+\.(" + exts + r")\s*$",
        }
        if self.description:
            out["description"] = self.description
        return out


class Columns(Spec[tuple[str, ...]]):
    """One column name or a list of 1 to 6 of them."""

    def __init__(self, description: str = "") -> None:
        self.description = description

    def convert(self, node: YNode, ctx: Context) -> tuple[str, ...] | Invalid:
        items = node.items if isinstance(node, YSeq) else (node,)
        if not items:
            return ctx.error(node, _("no columns listed; name the column(s) holding the numbers"))
        if len(items) > 6:
            return ctx.error(
                node, _("{count} value columns; a chart draws at most 6").format(count=len(items))
            )
        out: list[str] = []
        for item in items:
            one = COLUMN.convert(item, ctx)
            if isinstance(one, Invalid):
                return one
            out.append(one)
        return tuple(out)

    def schema(self) -> JSON:
        one = COLUMN.schema()
        out: JSON = {"anyOf": [one, {"type": "array", "items": one, "minItems": 1, "maxItems": 6}]}
        if self.description:
            out["description"] = self.description
        return out


class NumberStyle(Spec[bool]):
    """``es-CO`` (``1.240``, ``5,1``: the default) or ``plain`` (``1240``, ``5.1``)."""

    def convert(self, node: YNode, ctx: Context) -> bool | Invalid:
        if isinstance(node, YScalar) and node.value in ("es-CO", "plain"):
            return node.value == "es-CO"
        return ctx.error(node, f"expected es-CO or plain, found {kind_of(node)}")

    def schema(self) -> JSON:
        return {
            "enum": ["es-CO", "plain"],
            "description": "how the file writes numbers: es-CO 1.240 and 5,1; plain 1240 and 5.1",
        }


def _build_data(v: Values, ctx: Context) -> DataContent | Invalid:
    title: str | None = v.get("title", None)
    chart: Chart | None = v.get("chart", None)
    label: str | None = v.get("label", None)
    values: tuple[str, ...] | None = v.get("values", None)
    file: str | None = v.get("file", None)
    url: str | None = v.get("url", None)
    scans: str | None = v.get("scans", None)
    if [v.written("file"), v.written("url"), v.written("scans")].count(True) != 1:
        return ctx.error(
            v.node,
            _("data needs one of 'file' (a .csv or .json in the content root), 'url' or 'scans'"),
        )
    if v.written("refresh") and v.written("file"):
        ctx.warn(v.at("refresh"), _("'refresh' only matters for 'url' and 'scans'; remove it"))
    if v.written("period") and not v.written("scans"):
        ctx.warn(v.at("period"), _("'period' only matters for 'scans'; remove it"))
    if scans is not None:  # the hub writes the table: one row, 'periodo' and 'personas'
        label, values = label or "periodo", values or ("personas",)
    elif label is None or values is None:
        missing = "label" if label is None else "values"
        text = (
            _("'label' is missing: name the column of the file that names each row")
            if missing == "label"
            else _("'values' is missing: name the column(s) of the file with the numbers")
        )
        return ctx.error(v.node, text)
    refresh: float | None = v.get("refresh", None)
    if refresh is not None and refresh < MIN_REFRESH_S:
        return ctx.error(v.at("refresh"), _("refresh at most once a minute (write 1m or more)"))
    if title is None or chart is None or label is None or values is None:
        return INVALID
    if file is None and url is None and scans is None:
        return INVALID
    data = DataContent(
        chart=chart,
        title=title,
        label=label,
        values=values,
        note=v.get("note", None),
        tag=v.get("tag", None),
        credit=v.get("source", None),
        decimals=v.get("decimals", 0),
        unit=v.get("unit", ""),
        decimal_comma=v.get("numbers", True),
        card=v.get("card", None),
        card_caption=v.get("card_caption", None),
        rows=v.get("rows", None),
        url=url,
        refresh_s=(refresh or 3600.0) if (url or scans) else None,
        scans=scans,
        period=v.get("period", "month"),
    )
    if file is not None and isinstance(ctx, ContentContext) and ctx.check_assets:
        from signage.data.files import load_series

        try:
            load_series(ctx.root / file, ctx.root, file, data)
        except DataProblem as exc:
            key = exc.key if exc.key and v.written(exc.key) else "file"
            return ctx.error(v.at(key), str(exc))
    return data


DATA: Record[DataContent] = Record(
    {
        "file": Field(DataFile(), description="a .csv or .json file under the content root"),
        "url": Field(
            HttpsUrl(),
            description="https data fetched by the hub or 'signage publish' (never by screens); "
            "the host must be on the allow-list",
        ),
        "refresh": Field(Duration(), description="how often the publisher fetches 'url' (1h)"),
        "chart": Field(
            Choice(Chart),
            required=True,
            description="figure, bar, line, table or rings (percent gauges)",
        ),
        "title": Field(Text(max_len=160), required=True, description="the headline"),
        "tag": Field(Text(max_len=40), description="the category pill above the title"),
        "source": Field(Text(max_len=160), description="the source line at the bottom"),
        "scans": Field(
            Text(
                pattern=r"all|playlist|[a-z0-9][a-z0-9_-]{0,63}",
                hint="all, playlist or the id of a slide of this playlist",
            ),
            description="the hub's own count of QR scans: of a slide of this playlist (its id), "
            "of the whole playlist, or all; the hub publishes it (one row: periodo, personas)",
        ),
        "period": Field(
            Text(pattern=r"month|week|[0-9]{1,3}d", hint="month, week or a number of days: 30d"),
            description="the scans counted: this month (default), this week, or the last N days",
        ),
        "label": Field(COLUMN, description="the column naming each row (required for files)"),
        "values": Field(Columns(), description="the column(s) with the numbers (idem)"),
        "note": Field(COLUMN, description="a column of short texts under each ring"),
        "numbers": Field(NumberStyle()),
        "decimals": Field(Integer(minimum=0, maximum=3), description="decimals shown (0)"),
        "unit": Field(Text(max_len=12), description="written after each number, e.g. %"),
        "card": Field(
            Text(max_len=24),
            description="the highlighted figure: change (first to last, %), last, total, "
            "or a text such as '90 %'",
        ),
        "card_caption": Field(Text(max_len=120), description="the words under the figure"),
        "rows": Field(Integer(minimum=1, maximum=50), description="draw only the last N rows"),
    },
    _build_data,
    title=N_("a data slide"),
    description="A figure, chart or small table drawn by the player from data.",
    extra_schema={
        "oneOf": [{"required": ["file"]}, {"required": ["url"]}, {"required": ["scans"]}]
    },
)


# ----------------------------------------------------------------------------- ticker news


class Age(Spec[float]):
    """An age in days or hours: ``7d``, ``48h`` (seconds)."""

    def convert(self, node: YNode, ctx: Context) -> float | Invalid:
        text = str(node.value).strip().lower() if isinstance(node, YScalar) else ""
        match = re.fullmatch(r"(\d{1,4})\s*([dh])", text)
        if match is None or int(match.group(1)) == 0:
            return ctx.error(node, f"expected an age such as 7d or 48h, found {kind_of(node)}")
        return int(match.group(1)) * (86400.0 if match.group(2) == "d" else 3600.0)

    def schema(self) -> JSON:
        return {"type": "string", "pattern": r"^\s*[0-9]{1,4}\s*[dDhH]\s*$"}


def _build_ticker_feed(v: Values, ctx: Context) -> TickerFeed | Invalid:
    url: str | None = v.get("feed", None)
    if url is None:
        return INVALID
    refresh: float = v.get("refresh", 1800.0)
    if refresh < MIN_REFRESH_S:
        return ctx.error(v.at("refresh"), _("refresh at most once a minute (write 1m or more)"))
    return TickerFeed(
        url=url, count=v.get("count", 5), max_age_s=v.get("max_age", None), refresh_s=refresh
    )


TICKER_FEED: Record[TickerFeed] = Record(
    {
        "feed": Field(
            HttpsUrl(),
            required=True,
            description="an RSS 2.0 or Atom feed (https, on the allow-list), fetched by the "
            "hub or 'signage publish', never by screens",
        ),
        "count": Field(Integer(minimum=1, maximum=20), description="at most this many (5)"),
        "max_age": Field(Age(), description="leave out older news: 3d, 48h"),
        "refresh": Field(Duration(), description="how often it is fetched (30m)"),
    },
    _build_ticker_feed,
    title=N_("news for the ticker"),
)
HEADLINE = Text(max_len=300)


class TickerItem(Spec[str | TickerFeed]):
    """A headline, or ``{feed: URL, count, max_age, refresh}``: news from an RSS/Atom feed."""

    def convert(self, node: YNode, ctx: Context) -> str | TickerFeed | Invalid:
        if isinstance(node, YMap):
            return TICKER_FEED.convert(node, ctx)
        return HEADLINE.convert(node, ctx)

    def schema(self) -> JSON:
        return {"anyOf": [HEADLINE.schema(), TICKER_FEED.schema()]}
