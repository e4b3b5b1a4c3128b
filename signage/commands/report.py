"""``signage report``: plays and QR scans per screen and per slide, from the hub.

Fetches ``GET {hub}/api/v1/report?since=...`` (raw counts), computes the report with
``signage.report`` and prints a table; ``--csv FILE`` and ``--chart FILE.png`` (a bar chart
in Spanish for the quarterly review) write files as well; ``--json`` prints the hub's counts.
"""

from __future__ import annotations

import argparse
from pathlib import Path

from signage.i18n import N_, _
from signage.printable import json_printable

HELP = N_("plays and QR scans per screen and slide")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument("--hub", required=True, metavar="URL", help=_("the hub's base URL"))
    parser.add_argument(
        "--since",
        default="30d",
        metavar="PERIOD",
        help=_("the start of the period: 12h, 30d, 2w or a date such as 2027-01-01 (default 30d)"),
    )
    parser.add_argument("--until", metavar="DATE", help=_("the end of the period (default: now)"))
    parser.add_argument(
        "--token-file",
        type=Path,
        metavar="FILE",
        help=_("a file holding the hub's admin token (the hub's read endpoints need a sign-in)"),
    )
    parser.add_argument("--csv", metavar="FILE", help=_("also write the rows as CSV"))
    parser.add_argument(
        "--chart",
        metavar="FILE",
        help=_("also write a PNG bar chart (in the language of these messages)"),
    )
    parser.add_argument(
        "--json", action="store_true", help=_("print the hub's counts as JSON, for scripts")
    )
    parser.add_argument("--timeout", type=float, default=15.0, help=argparse.SUPPRESS)


def run(args: argparse.Namespace) -> int:
    import json
    import sys
    from datetime import UTC, datetime
    from pathlib import Path

    import requests

    from signage.commands.status import token_hint
    from signage.errors import SignageError, UsageError
    from signage.printable import printable
    from signage.report import (
        build_report,
        counts_from_json,
        parse_since,
        render_chart,
        report_csv,
        report_table,
    )

    now = datetime.now(UTC)
    for flag, value in (("--since", args.since), ("--until", args.until)):
        if value is not None:
            try:
                parse_since(value, now)
            except ValueError as exc:
                raise UsageError(f"{flag}: {exc}") from None  # exc: parse_since's own words
    if args.chart and not args.chart.lower().endswith(".png"):
        raise UsageError(
            _("--chart {path}: the chart is a PNG; name the file *.png").format(path=args.chart)
        )
    url = args.hub.rstrip("/") + "/api/v1/report"
    params = {"since": args.since}
    if args.until:
        params["until"] = args.until
    try:
        response = requests.get(
            url, params=params, headers=_auth(args.token_file), timeout=args.timeout
        )
    except requests.RequestException as exc:
        raise SignageError(
            _(
                "cannot reach the hub at {url}: {error}; check the URL and that "
                "'signage serve' runs there"
            ).format(url=args.hub, error=exc.__class__.__name__)
        ) from None
    if response.status_code != 200:
        try:
            reason = response.json().get("error", response.text)
        except (ValueError, AttributeError):
            reason = response.text
        hint = token_hint() if response.status_code == 401 else ""
        raise SignageError(
            _("the hub refused the report ({status}): {reason}").format(
                status=response.status_code, reason=printable(str(reason), 200)
            )
            + hint
        )
    try:
        doc = response.json()
        plays = counts_from_json(doc.get("plays"), "plays")
        scans = counts_from_json(doc.get("scans"), "scans")
        since = datetime.fromisoformat(doc["since"])
        until = datetime.fromisoformat(doc["until"])
    except (ValueError, KeyError, TypeError, AttributeError) as exc:
        raise SignageError(
            _("{url}: not a report answer ({error}); is this a signage hub?").format(
                url=url, error=printable(str(exc), 200)
            )
        ) from None
    if args.json:
        print(json_printable(json.dumps(doc, ensure_ascii=False, indent=2)))
    report = build_report(plays, scans, since, until)
    if not args.json:
        sys.stdout.write(report_table(report))
    try:
        if args.csv:
            path = Path(args.csv)
            tmp = path.with_name(f".{path.name}.tmp")
            tmp.write_text(report_csv(report), encoding="utf-8")
            tmp.replace(path)
            print(_("wrote {path}").format(path=path), file=sys.stderr)
        if args.chart:
            render_chart(report, Path(args.chart))
            print(_("wrote {path}").format(path=args.chart), file=sys.stderr)
    except OSError as exc:
        raise SignageError(
            _("cannot write {target}: {value}").format(target=exc.filename, value=exc.strerror)
        ) from None
    return 0


def _auth(token_file: Path | None) -> dict[str, str]:
    """The ``Authorization`` header for ``--token-file`` (none without it)."""
    if token_file is None:
        return {}
    from signage.hub.auth import read_token_file

    return {"Authorization": f"Bearer {read_token_file(token_file)}"}
