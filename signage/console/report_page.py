"""The console's report room: plays, scans and scans per 1,000 plays for a period, as tables,
a chart (PNG drawn by Pillow on the hub, ``signage.report.render_chart``) and CSV.

The counts are ``ScanRoom.counts``, what ``GET /api/v1/report`` (and so ``signage report
--json``) answers for the same period; sums by screen and by slide are
``signage.report.build_report``'s, and by playlist this module's ``by_playlist``.
"""

from __future__ import annotations

import csv
import io
import tempfile
from collections import Counter
from collections.abc import Iterable
from dataclasses import dataclass
from datetime import UTC, date, datetime, timedelta
from pathlib import Path
from typing import Any
from urllib.parse import urlencode

from starlette.concurrency import run_in_threadpool
from starlette.exceptions import HTTPException
from starlette.requests import Request
from starlette.responses import Response
from starlette.routing import BaseRoute, Route

from signage.console.accounts import Role
from signage.hub.scan_routes import ScanRoom
from signage.i18n import _
from signage.report import (
    Count,
    Report,
    Row,
    build_report,
    counts_from_json,
    render_chart,
    report_csv,
)


@dataclass(frozen=True, slots=True)
class Period:
    """A report period: ``since`` inclusive, ``until`` exclusive, with its name."""

    since: date
    until: date
    label: str

    @property
    def query(self) -> str:
        return urlencode({"desde": self.since.isoformat(), "hasta": self.until.isoformat()})


def quarter_of(day: date) -> Period:
    """Pure: the calendar quarter holding ``day`` (plan §10 reviews by quarter)."""
    q = (day.month - 1) // 3
    start = date(day.year, 3 * q + 1, 1)
    end = date(day.year + 1, 1, 1) if q == 3 else date(day.year, 3 * q + 4, 1)
    return Period(start, end, _("Q{quarter} {year}").format(quarter=q + 1, year=day.year))


def shortcuts(today: date) -> list[Period]:
    """Pure: this quarter, the three before it, and the last 30 days."""
    out = [quarter_of(today)]
    for _quarter in range(3):
        out.append(quarter_of(out[-1].since - timedelta(days=1)))
    last30 = Period(today - timedelta(days=30), today + timedelta(days=1), _("Last 30 days"))
    return [*out, last30]


def parse_day(text: str | None) -> date:
    """Pure: ``dd/mm/aaaa`` (as the console writes dates; ``d/m/aaaa`` too) or ISO
    ``aaaa-mm-dd`` (links, scripts). Raises ``ValueError``."""
    value = (text or "").strip()[:10]
    if "/" in value:
        return datetime.strptime(value, "%d/%m/%Y").date()
    return date.fromisoformat(value)


def day_text(day: date) -> str:
    """Pure: a day as the console writes it, ``dd/mm/aaaa``."""
    return day.strftime("%d/%m/%Y")


def parse_period(desde: str | None, hasta: str | None, today: date) -> Period:
    """Pure: the period asked for (``dd/mm/aaaa`` or ISO dates; ``hasta`` exclusive); this
    quarter by default.

    Raises ``ValueError`` with a message in the current language."""
    if not desde and not hasta:
        return quarter_of(today)
    try:
        since = parse_day(desde)
        until = parse_day(hasta)
    except ValueError:
        raise ValueError(_("Write the dates as dd/mm/yyyy, e.g. 01/07/2026.")) from None
    if until <= since:
        raise ValueError(_("The end date must be after the start date."))
    if (until - since).days > 3 * 366:
        raise ValueError(_("A report covers three years at most."))
    label = _("{since} to {until}").format(since=day_text(since), until=day_text(until))
    return Period(since, until, label)


def by_playlist(plays: Iterable[Count], scans: Iterable[Count]) -> list[Row]:
    """Pure: plays and scans summed per playlist, most scans first (as ``build_report``)."""
    p: Counter[str] = Counter()
    s: Counter[str] = Counter()
    for c in plays:
        p[c.playlist] += c.count
    for c in scans:
        s[c.playlist] += c.count
    rows = [Row(label, p.get(label, 0), s.get(label, 0)) for label in set(p) | set(s)]
    rows.sort(key=lambda r: (-r.scans, -r.plays, r.label))
    return rows


def playlist_csv(rows: Iterable[Row]) -> str:
    """The per-playlist lines in ``report_csv``'s columns (``level`` = ``playlist``)."""
    buf = io.StringIO()
    writer = csv.writer(buf, lineterminator="\n")
    for row in rows:
        rate = "" if row.per_1000 is None else f"{row.per_1000:.2f}"
        writer.writerow(["playlist", "", row.label, "", row.plays, row.scans, rate])
    return buf.getvalue()


class ReportRoom:
    """The report page, its PNG chart and its CSV for one console.

    Args:
        console: the ``signage.console.web.Console`` (typed loosely: web imports this).
    """

    def __init__(self, console: Any) -> None:
        self.console = console
        self.scans = ScanRoom(console.hub)

    def _data(self, period: Period) -> tuple[Report, list[Row], dict[str, Any]]:
        since = datetime(period.since.year, period.since.month, period.since.day, tzinfo=UTC)
        until = datetime(period.until.year, period.until.month, period.until.day, tzinfo=UTC)
        doc = self.scans.counts(since, until)
        plays = counts_from_json(doc["plays"], "plays")
        scans = counts_from_json(doc["scans"], "scans")
        report = build_report(plays, scans, since, until)
        return report, by_playlist(plays, scans), doc

    def _period(self, request: Request) -> Period:
        q = request.query_params
        try:
            return parse_period(q.get("desde"), q.get("hasta"), datetime.now(UTC).date())
        except ValueError as exc:
            raise HTTPException(400, str(exc)) from None

    async def page(self, request: Request) -> Response:
        who = self.console.need(request, Role.VIEWER)
        q = request.query_params
        error = None
        try:
            period = parse_period(q.get("desde"), q.get("hasta"), datetime.now(UTC).date())
        except ValueError as exc:
            error = str(exc)
            period = quarter_of(datetime.now(UTC).date())
        report, playlists, _doc = await run_in_threadpool(self._data, period)
        page: Response = self.console.render(
            "report.html",
            who,
            period=period,
            day_text=day_text,
            shortcuts=shortcuts(datetime.now(UTC).date()),
            report=report,
            playlists=playlists,
            error=error,
            active="informe",
        )
        return page

    async def csv(self, request: Request) -> Response:
        self.console.need(request, Role.VIEWER)
        period = self._period(request)
        report, playlists, _doc = await run_in_threadpool(self._data, period)
        body = report_csv(report) + playlist_csv(playlists)
        name = f"informe-{period.since.isoformat()}-{period.until.isoformat()}.csv"
        return Response(
            body,
            media_type="text/csv; charset=utf-8",
            headers={"Content-Disposition": f'attachment; filename="{name}"'},
        )

    async def chart(self, request: Request) -> Response:
        self.console.need(request, Role.VIEWER)
        period = self._period(request)
        report, _rows, _doc = await run_in_threadpool(self._data, period)

        def draw() -> bytes:
            with tempfile.TemporaryDirectory(prefix="signage-chart-") as tmp:
                out = Path(tmp) / "informe.png"
                render_chart(report, out)
                return out.read_bytes()

        png = await run_in_threadpool(draw)
        name = f"informe-{period.since.isoformat()}-{period.until.isoformat()}.png"
        disposition = "attachment" if request.query_params.get("descargar") else "inline"
        return Response(
            png,
            media_type="image/png",
            headers={
                "Content-Disposition": f'{disposition}; filename="{name}"',
                "Cache-Control": "private, max-age=60",
                "Vary": "Cookie, Accept-Language",  # drawn in the reader's language
            },
        )

    def routes(self) -> list[BaseRoute]:
        p = self.console.page
        return [
            Route("/console/informe", p(self.page), methods=["GET"]),
            Route("/console/informe.csv", self.csv, methods=["GET"]),
            Route("/console/informe.png", self.chart, methods=["GET"]),
        ]
