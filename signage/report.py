"""The feedback report: plays and QR scans per screen and per slide, scans per 1,000 plays.

Pure computation from counts (what the hub's ``GET /api/v1/report`` returns, or what
:func:`count_plays` finds in a proof-of-play log), plus the three outputs of
``signage report``: a terminal table, a CSV file and a PNG bar chart in Spanish for the
quarterly review.
"""

from __future__ import annotations

import csv
import io
import re
from collections import Counter
from collections.abc import Iterable, Mapping, Sequence
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any

from signage.i18n import _, current_language
from signage.printable import printable

__all__ = [
    "ChartTexts",
    "Count",
    "Report",
    "Row",
    "build_report",
    "chart_texts",
    "count_plays",
    "counts_from_json",
    "parse_since",
    "render_chart",
    "report_csv",
    "report_table",
    "scans_per_1000",
]

_SINCE = re.compile(r"(\d{1,5})\s*([hdw])")
_UNITS = {"h": timedelta(hours=1), "d": timedelta(days=1), "w": timedelta(weeks=1)}


def parse_since(text: str, now: datetime) -> datetime:
    """The start of the period: ``30d``, ``12h``, ``2w`` before ``now``, or an ISO date/time.

    Raises ``ValueError`` with what was expected.
    """
    value = text.strip()
    match = _SINCE.fullmatch(value.lower())
    if match:
        return now - int(match.group(1)) * _UNITS[match.group(2)]
    try:
        if len(value) == 10:
            day = date.fromisoformat(value)
            return datetime(day.year, day.month, day.day, tzinfo=now.tzinfo or UTC)
        moment = datetime.fromisoformat(value)
    except ValueError:
        raise ValueError(
            _(
                "{value} is not a period: write a number of hours, days or weeks "
                "(12h, 30d, 2w) or a date (2027-01-01)"
            ).format(value=repr(printable(text, 60)))
        ) from None
    return moment if moment.tzinfo else moment.replace(tzinfo=now.tzinfo or UTC)


@dataclass(frozen=True, slots=True)
class Count:
    """How many plays (or scans) one slide had on one screen."""

    screen: str
    playlist: str
    slide: str
    count: int


def scans_per_1000(plays: int, scans: int) -> float | None:
    """Scans per 1,000 plays, ``None`` when there were no plays (a rate would be meaningless)."""
    if plays <= 0:
        return None
    return 1000.0 * scans / plays


@dataclass(frozen=True, slots=True)
class Row:
    """One line of the report: a screen, a slide (``playlist/slide``) or the total."""

    label: str
    plays: int
    scans: int

    @property
    def per_1000(self) -> float | None:
        return scans_per_1000(self.plays, self.scans)


@dataclass(frozen=True, slots=True)
class Report:
    """Plays and scans over ``since``..``until``, by screen, by slide and in total."""

    since: datetime
    until: datetime
    by_screen: tuple[Row, ...]
    by_slide: tuple[Row, ...]
    total: Row


def _rows(plays: Mapping[str, int], scans: Mapping[str, int]) -> tuple[Row, ...]:
    labels = set(plays) | set(scans)
    rows = [Row(label, plays.get(label, 0), scans.get(label, 0)) for label in labels]
    rows.sort(key=lambda r: (-r.scans, -r.plays, r.label))
    return tuple(rows)


def slide_label(playlist: str, slide: str) -> str:
    return f"{playlist}/{slide}"


def build_report(
    plays: Iterable[Count], scans: Iterable[Count], since: datetime, until: datetime
) -> Report:
    """Sums counts by screen and by slide; rows with the most scans first."""
    play_screen: Counter[str] = Counter()
    play_slide: Counter[str] = Counter()
    scan_screen: Counter[str] = Counter()
    scan_slide: Counter[str] = Counter()
    for c in plays:
        play_screen[c.screen] += c.count
        play_slide[slide_label(c.playlist, c.slide)] += c.count
    for c in scans:
        scan_screen[c.screen] += c.count
        scan_slide[slide_label(c.playlist, c.slide)] += c.count
    total = Row("total", sum(play_screen.values()), sum(scan_screen.values()))
    return Report(
        since,
        until,
        _rows(play_screen, scan_screen),
        _rows(play_slide, scan_slide),
        total,
    )


def count_plays(
    events: Iterable[Mapping[str, Any]], since: datetime, until: datetime
) -> list[Count]:
    """``slide_shown`` events of a proof-of-play log within ``[since, until)``, counted."""
    counter: Counter[tuple[str, ...]] = Counter()
    for event in events:
        if event.get("event") != "slide_shown":
            continue
        try:
            moment = datetime.fromisoformat(str(event.get("ts", "")))
        except ValueError:
            continue
        if moment.tzinfo is None or not since <= moment < until:
            continue
        key = (
            str(event.get("screen", "")),
            str(event.get("playlist", "")),
            str(event.get("slide", "")),
        )
        counter[key] += 1
    return [Count(s, p, sl, n) for (s, p, sl), n in sorted(counter.items())]


def counts_from_json(items: Any, where: str) -> list[Count]:
    """Counts from the hub's JSON (a list of ``{screen, playlist, slide, count}``).

    Raises ``ValueError`` naming ``where`` when the shape is wrong.
    """
    if not isinstance(items, list):
        raise ValueError(f"{where}: expected a list of counts")
    out: list[Count] = []
    for i, item in enumerate(items):
        if not isinstance(item, dict):
            raise ValueError(f"{where}[{i}]: expected an object")
        screen, playlist, slide, count = (
            item.get("screen"),
            item.get("playlist"),
            item.get("slide"),
            item.get("count"),
        )
        if not all(isinstance(v, str) for v in (screen, playlist, slide)) or not (
            isinstance(count, int) and not isinstance(count, bool) and count >= 0
        ):
            raise ValueError(f"{where}[{i}]: needs string screen/playlist/slide and a count")
        out.append(Count(str(screen), str(playlist), str(slide), int(count)))
    return out


# --------------------------------------------------------------------------- outputs


def _number(value: int) -> str:
    """``1,000`` in English, ``1.000`` in Spanish (es-CO groups thousands with a dot)."""
    return _es_int(value) if current_language() == "es" else f"{value:,}"


def _rate(value: float | None) -> str:
    if value is None:
        return "-"
    return f"{value:.1f}".replace(".", ",") if current_language() == "es" else f"{value:.1f}"


def report_table(report: Report) -> str:
    """The report as aligned text for the terminal, in the current language."""
    lines = [
        _("QR scans and plays from {since} to {until} UTC").format(
            since=f"{report.since:%Y-%m-%d %H:%M}", until=f"{report.until:%Y-%m-%d %H:%M}"
        ),
        "",
    ]
    total = _("total")
    plays, scans, rate = _("plays"), _("scans"), _("per 1000")
    for title, rows in ((_("screen"), report.by_screen), (_("slide"), report.by_slide)):
        named = [(printable(r.label, 120), r) for r in rows]  # remote ids
        named.append((total, report.total))
        width = max([len(title)] + [len(label) for label, _row in named])
        wp, ws, wr = max(9, len(plays)), max(7, len(scans)), max(8, len(rate))
        header = f"{title:<{width}}  {plays:>{wp}}  {scans:>{ws}}  {rate:>{wr}}"
        lines.append(header)
        lines.append("-" * len(header))
        for label, row in named:
            lines.append(
                f"{label:<{width}}  {_number(row.plays):>{wp}}  {_number(row.scans):>{ws}}  "
                f"{_rate(row.per_1000):>{wr}}"
            )
        lines.append("")
    if not report.by_screen:
        lines.append(_("No plays or scans in this period."))
    return "\n".join(lines).rstrip() + "\n"


def report_csv(report: Report) -> str:
    """CSV with one row per screen, per slide and the total (``level`` says which)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    writer.writerow(["level", "screen", "playlist", "slide", "plays", "scans", "scans_per_1000"])

    def rate(row: Row) -> str:
        return "" if row.per_1000 is None else f"{row.per_1000:.2f}"

    for row in report.by_screen:
        writer.writerow(["screen", row.label, "", "", row.plays, row.scans, rate(row)])
    for row in report.by_slide:
        playlist, _, slide = row.label.partition("/")
        writer.writerow(["slide", "", playlist, slide, row.plays, row.scans, rate(row)])
    t = report.total
    writer.writerow(["total", "", "", "", t.plays, t.scans, rate(t)])
    return buf.getvalue()


_MONTHS_EN = (
    "January", "February", "March", "April", "May", "June", "July", "August", "September",
    "October", "November", "December",
)  # fmt: skip
_MONTHS_ES = (
    "enero", "febrero", "marzo", "abril", "mayo", "junio", "julio", "agosto", "septiembre",
    "octubre", "noviembre", "diciembre",
)  # fmt: skip
STUB_PX = 4
_FONT = "/usr/share/fonts/truetype/dejavu/DejaVuSans.ttf"
_FONT_BOLD = "/usr/share/fonts/truetype/dejavu/DejaVuSans-Bold.ttf"


def _es_int(value: int) -> str:
    """``12.345``: es-CO groups thousands with a dot."""
    return f"{value:,}".replace(",", ".")


def _chart_rate(value: float | None) -> str:
    return _("no plays") if value is None else _rate(value)


def _es_date(moment: datetime) -> str:
    return f"{moment.day} de {_MONTHS_ES[moment.month - 1]} de {moment.year}"


@dataclass(frozen=True)
class ChartTexts:
    """The words of ``render_chart``'s PNG, in the current language (a pure function's answer)."""

    title: str
    subtitle: str
    by_screen: str
    by_slide: str
    no_data: str
    axis: str


def _date(moment: datetime) -> str:
    if current_language() == "es":
        return _es_date(moment)
    return f"{moment.day} {_MONTHS_EN[moment.month - 1]} {moment.year}"


def chart_texts(report: Report) -> ChartTexts:
    """What the chart says: title, period and totals, panel titles and the axis, localized."""
    total = report.total
    return ChartTexts(
        title=_("QR code scans per 1,000 plays"),
        subtitle=_(
            "From {since} to {until} · {plays} plays, {scans} scans ({rate} per 1,000)"
        ).format(
            since=_date(report.since),
            until=_date(report.until),
            plays=_number(total.plays),
            scans=_number(total.scans),
            rate=_chart_rate(total.per_1000),
        ),
        by_screen=_("By screen"),
        by_slide=_("By slide (playlist/slide)"),
        no_data=_("No data in this period"),
        axis=_("Scans per 1,000 plays (in brackets: scans / plays)"),
    )


def render_chart(report: Report, path: Path, *, top: int = 12) -> None:
    """A PNG bar chart in the current language: scans per 1,000 plays per screen and slide.

    1600 px wide, white background, DejaVu fonts, every bar labelled with its rate and its
    raw numbers, so it reads on its own in a slide deck. Written via a temp file + rename.
    """
    from PIL import Image, ImageDraw, ImageFont

    def font(size: int, bold: bool = False) -> ImageFont.FreeTypeFont:
        return ImageFont.truetype(_FONT_BOLD if bold else _FONT, size)

    words = chart_texts(report)
    panels: list[tuple[str, Sequence[Row]]] = [
        (words.by_screen, report.by_screen[:top]),
        (words.by_slide, report.by_slide[:top]),
    ]
    bar_h, gap = 34, 14
    width = 1600
    label_w = 430
    plot_x0, plot_x1 = 40 + label_w, width - 330
    height = 230 + sum(90 + max(1, len(rows)) * (bar_h + gap) for _, rows in panels) + 70
    img = Image.new("RGB", (width, height), "white")
    draw = ImageDraw.Draw(img)
    ink, accent, grey = (20, 33, 61), (11, 83, 148), (110, 110, 110)
    draw.text((40, 30), words.title, font=font(40, True), fill=ink)
    draw.text((40, 90), words.subtitle, font=font(24), fill=grey)
    rates = [r.per_1000 or 0.0 for _, rows in panels for r in rows]
    scale_max = max([*rates, 1.0])
    y = 160
    for title, rows in panels:
        draw.text((40, y), title, font=font(28, True), fill=ink)
        y += 50
        axis_top = y - 8
        if not rows:
            draw.text((plot_x0, y), words.no_data, font=font(22), fill=grey)
            y += bar_h + gap
        for row in rows:
            label = row.label if len(row.label) <= 34 else row.label[:33] + "…"
            draw.text(
                (40 + label_w - 10, y + bar_h // 2), label, font=font(22), fill=ink, anchor="rm"
            )
            value = row.per_1000 or 0.0
            x1 = plot_x0 + int((plot_x1 - plot_x0) * value / scale_max)
            x1 = max(plot_x0 + STUB_PX, x1)  # a zero still shows where its bar would be
            draw.rectangle([plot_x0, y, x1, y + bar_h], fill=accent)
            draw.text(
                (x1 + 10, y + bar_h // 2),
                f"{_chart_rate(row.per_1000)}  ({_number(row.scans)} / {_number(row.plays)})",
                font=font(20),
                fill=ink,
                anchor="lm",
            )
            y += bar_h + gap
        draw.line([(plot_x0, y - gap + 4), (plot_x1, y - gap + 4)], fill=grey, width=2)
        draw.rectangle([plot_x0 - 3, axis_top, plot_x0 - 2, y - gap + 4], fill=grey)
        y += 40
    draw.text(
        ((plot_x0 + plot_x1) // 2, y - 20),
        words.axis,
        font=font(22),
        fill=grey,
        anchor="mm",
    )
    img = img.crop((0, 0, width, min(height, y + 20)))
    path.parent.mkdir(parents=True, exist_ok=True)
    tmp = path.with_name(f".{path.name}.tmp")
    img.save(tmp, format="PNG")
    tmp.replace(path)
