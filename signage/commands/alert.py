"""``signage alert``: raise, clear, list, import and export crisis alerts, locally or on a hub.

With ``--root DIR`` the alert is written to ``DIR/alerts/`` (a player or hub following that
root picks it up at once); with ``--hub URL`` the hub's alert API is called (writes need
``--token-file``). Every refusal (unknown template, missing variable, expiry in the past,
a refused CAP message, an unreachable hub) prints what is wrong and exits 1.
"""

from __future__ import annotations

import argparse
import json
import sys
from datetime import UTC, datetime
from pathlib import Path
from typing import TYPE_CHECKING, Any

from signage.i18n import N_, _, ngettext
from signage.printable import json_printable, printable

if TYPE_CHECKING:
    from signage.model import Alert

HELP = N_("crisis alerts: raise, clear, list, import-cap, export-cap, templates")


def _target(p: argparse.ArgumentParser, *, write: bool) -> None:
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--root", type=Path, metavar="DIR", help=_("a content root (alerts/ in it)"))
    where.add_argument("--hub", metavar="URL", help=_("a hub's base URL, e.g. http://hub:8750"))
    p.add_argument(
        "--token-file",
        type=Path,
        metavar="FILE",
        help=_("file holding the hub's write token (needed with --hub for this action)")
        if write
        else _("file holding a hub token, sent with --hub (optional for this action)"),
    )
    if write:
        where.add_argument(
            "--feed-dir",
            type=Path,
            metavar="DIR",
            help=_(
                "the emergency route, with the hub down: sign an alerts-only update into "
                "this feed folder (a mirror the screens poll) with --key"
            ),
        )
        p.add_argument(
            "--key",
            type=Path,
            metavar="FILE",
            help=_("with --feed-dir: the alerts-only private key screens pin in alert_keys"),
        )
    p.add_argument("--timeout", type=float, default=10.0, help=argparse.SUPPRESS)


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="alert_command", metavar="ACTION", required=True)

    p = sub.add_parser("raise", help=_("raise an alert from a template; prints its id"))
    _target(p, write=True)
    p.add_argument(
        "--template", required=True, metavar="NAME", help=_("see 'signage alert templates'")
    )
    p.add_argument(
        "--set", action="append", default=[], metavar="KEY=VALUE", help=_("a template variable")
    )
    p.add_argument("--severity", metavar="SEVERITY", help=_("Extreme, Severe, Moderate or Minor"))
    p.add_argument("--expires", metavar="DURATION", help=_("e.g. 2h or 2026-11-28T18:00-05:00"))
    p.add_argument(
        "--tags", metavar="TAGS", help=_("only screens with one of these tags (comma-separated)")
    )
    p.add_argument(
        "--exercise", action="store_true", help=_("a drill: shown only on exercise screens")
    )

    p = sub.add_parser("clear", help=_("clear one alert, or all of them"))
    _target(p, write=True)
    which = p.add_mutually_exclusive_group(required=True)
    which.add_argument("id", nargs="?", metavar="ID", help=_("the alert id 'raise' printed"))
    which.add_argument("--all", action="store_true", help=_("clear every alert"))

    p = sub.add_parser("list", help=_("list active alerts"))
    _target(p, write=False)
    p.add_argument("--json", action="store_true", help=_("print JSON"))

    p = sub.add_parser("import-cap", help=_("ingest a CAP 1.2 message (Alert, Update, Cancel)"))
    _target(p, write=True)
    p.add_argument("file", type=Path, metavar="FILE", help=_("the CAP XML file ('-' for stdin)"))

    p = sub.add_parser("export-cap", help=_("write an alert as a CAP 1.2 message"))
    _target(p, write=False)
    p.add_argument("id", metavar="ID", help=_("the alert id (see 'signage alert list')"))
    p.add_argument("--out", type=Path, metavar="FILE", help=_("write here instead of stdout"))

    p = sub.add_parser("templates", help=_("list the alert templates and their variables"))
    p.add_argument(
        "--root",
        type=Path,
        metavar="DIR",
        help=_(
            "a content root whose playlists/alerts/ holds its own templates "
            "(default: the bundled ones)"
        ),
    )
    p.add_argument("--json", action="store_true", help=_("print JSON"))


def _now() -> datetime:
    return datetime.now(UTC)


# ------------------------------------------------------------------------- hub client


class _HubClient:
    """The few calls the command makes to the hub's alert API (JSON in, JSON out)."""

    def __init__(self, url: str, token_file: Path | None, timeout: float) -> None:
        self.url = url.rstrip("/")
        self.timeout = timeout
        self.headers: dict[str, str] = {}
        if token_file is not None:
            from signage.hub.auth import read_token_file

            self.headers["Authorization"] = f"Bearer {read_token_file(token_file)}"

    def call(self, method: str, path: str, *, body: Any = None, data: bytes | None = None) -> Any:
        import requests

        from signage.errors import AlertError

        headers = dict(self.headers)
        if data is not None:
            headers["Content-Type"] = "application/xml"
        try:
            r = requests.request(
                method,
                self.url + path,
                json=body,
                data=data,
                headers=headers,
                timeout=self.timeout,
            )
        except requests.Timeout:
            raise AlertError(
                _("the hub at {url} did not answer within {timeout:g} s").format(
                    url=self.url, timeout=self.timeout
                )
            ) from None
        except requests.ConnectionError:
            raise AlertError(
                _(
                    "cannot reach the hub at {url}: is 'signage serve' running there, and is "
                    "the URL right?"
                ).format(url=self.url)
            ) from None
        except requests.RequestException as exc:
            raise AlertError(
                _("cannot reach the hub at {url}: {exc}").format(url=self.url, exc=exc)
            ) from None
        if r.status_code in (401, 403):
            hint = "" if "Authorization" in self.headers else " (give --token-file)"
            raise AlertError(
                _("the hub refused the request: {error}{hint}").format(
                    error=self._error(r), hint=hint
                )
            )
        if r.status_code >= 400:
            raise AlertError(
                _("the hub refused the request ({status_code}): {error}").format(
                    status_code=r.status_code, error=self._error(r)
                )
            )
        if r.headers.get("content-type", "").startswith("application/json"):
            return r.json()
        return r.content

    @staticmethod
    def _error(r: Any) -> str:
        try:
            doc = r.json()
        except ValueError:
            return str(r.text[:300])
        if isinstance(doc, dict) and "error" in doc:
            problems = doc.get("problems")
            return str(doc["error"]) + ("\n" + "\n".join(problems) if problems else "")
        return str(doc)


def _need_token(args: argparse.Namespace) -> None:
    from signage.errors import UsageError

    if args.hub and args.token_file is None:
        raise UsageError(_("--hub needs --token-file FILE (the hub's write token) for this action"))


# ------------------------------------------------------------------------- actions


def _store(root: Path) -> Any:
    from signage.alerts.store import AlertStore
    from signage.errors import UsageError

    if not root.is_dir():
        raise UsageError(_("--root {root}: no such folder").format(root=root))
    return AlertStore(root / "alerts")


def _raise(args: argparse.Namespace) -> int:
    from signage.alerts.raising import (
        RaiseRequest,
        parse_assignments,
        parse_expiry,
        parse_severity,
        parse_tags,
        templates_folder,
    )
    from signage.alerts.templates import load_templates

    request = RaiseRequest(
        template=args.template,
        variables=parse_assignments(args.set),
        severity=parse_severity(args.severity) if args.severity else None,
        expires=args.expires,
        tags=parse_tags(args.tags) if args.tags is not None else None,
        exercise=args.exercise,
    )
    if args.expires:
        parse_expiry(args.expires)  # refuse a typo before anything else happens
    if getattr(args, "feed_dir", None) is not None:
        # Templates from the content root in the current folder (as --root .), else bundled.
        alert = request.build(load_templates(templates_folder(Path())), _now())
        return _emergency(args, add=[alert])
    if args.hub:
        _need_token(args)
        answer = _HubClient(args.hub, args.token_file, args.timeout).call(
            "POST", "/api/v1/alerts", body=request.to_json()
        )
        print(answer["id"])
        return 0
    store = _store(args.root)
    alert = request.build(load_templates(templates_folder(args.root)), _now())
    store.raise_alert(alert)
    print(alert.id)
    return 0


def _emergency(
    args: argparse.Namespace,
    *,
    add: list[Alert] | None = None,
    clear: list[str] | None = None,
    clear_all: bool = False,
) -> int:
    """``--feed-dir DIR --key FILE``: an alerts-only update signed into a feed folder."""
    from signage.errors import UsageError
    from signage.feed.emergency import write_alerts
    from signage.feed.signing import load_private_key

    if args.key is None:
        raise UsageError(_("--feed-dir needs --key FILE (the alerts-only private key)"))
    if not args.feed_dir.is_dir():
        raise UsageError(_("--feed-dir {folder}: no such folder").format(folder=args.feed_dir))
    key = load_private_key(args.key)
    written = write_alerts(
        args.feed_dir, key, _now(), add=add or (), clear=clear or (), clear_all=clear_all
    )
    for alert in add or ():
        print(alert.id)
    if clear_all or clear:
        if written.cleared:
            print(_("cleared {ids}").format(ids=", ".join(sorted(written.cleared))))
        else:
            print(_("cleared nothing"))
    print(
        _("alerts document serial {serial} over version {version} written to {folder}").format(
            serial=written.serial, version=written.base_version, folder=args.feed_dir
        ),
        file=sys.stderr,
    )
    return 0


def _clear(args: argparse.Namespace) -> int:
    from signage.errors import AlertError

    if getattr(args, "feed_dir", None) is not None:
        return _emergency(args, clear=[] if args.all else [args.id], clear_all=args.all)
    if args.hub:
        _need_token(args)
        client = _HubClient(args.hub, args.token_file, args.timeout)
        if args.all:
            answer = client.call("DELETE", "/api/v1/alerts")
            cleared = answer.get("cleared")
            count = cleared if isinstance(cleared, int) else 0  # a hub that did not say
            print(
                ngettext("cleared {count} alert", "cleared {count} alerts", count).format(
                    count=count
                )
            )
        else:
            client.call("DELETE", f"/api/v1/alerts/{args.id}")
            print(_("cleared {id}").format(id=args.id))
        return 0
    store = _store(args.root)
    if args.all:
        count = store.clear_all()
        print(
            ngettext("cleared {count} alert", "cleared {count} alerts", count).format(count=count)
        )
        return 0
    if not store.clear(args.id):
        known = ", ".join(a.id for a in store.active(_now())) or "none"
        raise AlertError(
            _("no alert '{id}' in {folder}; active: {known}").format(
                id=args.id, folder=store.folder, known=known
            )
        )
    print(_("cleared {id}").format(id=args.id))
    return 0


def _describe(alert: Alert, now: datetime) -> str:
    text = alert.texts[0]
    left = max(0, int((alert.expires - now).total_seconds()) // 60)
    where = ",".join(sorted(alert.tags)) if alert.tags else _("all screens")
    flag = "" if alert.status.value == "Actual" else f" [{alert.status.value}]"
    line = f"{alert.id}  {alert.severity.value}{flag}  {text.headline}  " + _(
        "({where}; {left} min left)"
    ).format(where=where, left=left)
    return printable(line)  # ids, headlines and tags may come from a hub or a CAP feed


def _list(args: argparse.Namespace) -> int:
    from signage.alerts.codec import alert_from_json, alert_to_json

    now = _now()
    if args.hub:
        answer = _HubClient(args.hub, args.token_file, args.timeout).call("GET", "/api/v1/alerts")
        alerts = [alert_from_json(a, f"hub alerts[{i}]") for i, a in enumerate(answer["alerts"])]
    else:
        alerts = list(_store(args.root).active(now))
    if args.json:
        doc = json.dumps([alert_to_json(a) for a in alerts], ensure_ascii=False, indent=2)
        print(json_printable(doc))
        return 0
    if not alerts:
        print(_("no active alerts"))
    for alert in alerts:
        print(_describe(alert, now))
    return 0


def _import_cap(args: argparse.Namespace) -> int:
    from signage.alerts.actions import apply_cap
    from signage.alerts.cap import parse_cap
    from signage.errors import UsageError

    if args.feed_dir is not None:
        raise UsageError(_("--feed-dir takes 'raise' and 'clear'; import CAP with --root or --hub"))
    try:
        xml = sys.stdin.buffer.read() if str(args.file) == "-" else args.file.read_bytes()
    except OSError as exc:
        raise UsageError(
            _("{file}: cannot read it ({value})").format(file=args.file, value=exc.strerror or exc)
        ) from None
    if args.hub:
        _need_token(args)
        answer = _HubClient(args.hub, args.token_file, args.timeout).call(
            "POST", "/api/v1/alerts/cap", data=xml
        )
        print(printable(answer["detail"], multiline=True))
        return 0
    message = parse_cap(xml, now=_now())
    outcome = apply_cap(message, _store(args.root))
    print(printable(outcome.detail, multiline=True))
    if message.alert is not None and outcome.raised:
        said = (
            _(
                "a content root knows no screens: it shows on the internal screens following "
                "{root} whose tags match (import through --hub to hear how many)"
            )
            if message.alert.restriction
            else _(
                "a content root knows no screens: it shows on the screens following "
                "{root} whose tags match (import through --hub to hear how many)"
            )
        )
        print(said.format(root=printable(str(args.root), 200)))
    return 0


def _export_cap(args: argparse.Namespace) -> int:
    from signage.alerts.cap import export_cap
    from signage.alerts.raising import templates_folder
    from signage.alerts.templates import load_templates
    from signage.errors import AlertError

    if args.hub:
        xml = _HubClient(args.hub, args.token_file, args.timeout).call(
            "GET", f"/api/v1/alerts/{args.id}/cap"
        )
    else:
        alert = _store(args.root).get(args.id)
        if alert is None:
            raise AlertError(
                _("no alert '{id}' under {value}").format(id=args.id, value=args.root / "alerts")
            )
        templates = load_templates(templates_folder(args.root)).templates
        category = templates[alert.template].category if alert.template in templates else "Infra"
        xml = export_cap(alert, category=category)
    if args.out:
        args.out.write_bytes(xml)
        print(_("wrote {file}").format(file=args.out))
    else:
        sys.stdout.buffer.write(xml + b"\n")
    return 0


def _templates(args: argparse.Namespace) -> int:
    from signage.alerts.raising import templates_folder
    from signage.alerts.templates import load_templates

    found = load_templates(templates_folder(args.root))
    for problem in found.problems:
        print(problem, file=sys.stderr)
    if args.json:
        doc = [
            {
                "id": t.id,
                "name": t.name,
                "severity": t.severity.value,
                "languages": [b.language for b in t.texts],
                "variables": [
                    {
                        "name": v.name,
                        "required": v.required,
                        "description": v.description,
                        "example": v.example,
                        "default": v.default,
                    }
                    for v in t.variables
                ],
            }
            for t in found.templates.values()
        ]
        print(json.dumps(doc, ensure_ascii=False, indent=2))
        return 0 if found.ok else 1
    print(_("templates in {folder}:").format(folder=found.folder))
    for t in found.templates.values():
        langs = ", ".join(b.language for b in t.texts)
        print(f"\n{t.id}  ({t.severity.value}, {langs}) — {t.name}")
        if t.description:
            print(f"    {t.description}")
        for v in t.variables:
            extra = (
                _(" (required)") if v.required else _(" (default: {value})").format(value=v.default)
            )
            example = _("; e.g. {value}").format(value=v.example) if v.example else ""
            print(f"    --set {v.name}=...  {v.description}{example}{extra}")
    return 0 if found.ok else 1


ACTIONS = {
    "raise": _raise,
    "clear": _clear,
    "list": _list,
    "import-cap": _import_cap,
    "export-cap": _export_cap,
    "templates": _templates,
}


def run(args: argparse.Namespace) -> int:
    return ACTIONS[args.alert_command](args)
