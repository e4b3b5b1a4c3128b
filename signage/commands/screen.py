"""``signage screen``: enrol screens, one token each; list, rotate and revoke them.

Locally (``--data DIR``, or ``--root DIR`` for ``DIR/.signage-hub``) the hub's register
file is edited under its lock; a running hub sees the change on the next request. With
``--hub URL --token-file F`` the hub's admin API does it. ``add`` and ``rotate`` print the
screen's token as the last line of stdout (it is shown once: the hub keeps only a hash).
"""

from __future__ import annotations

import argparse
from pathlib import Path
from typing import Any

from signage.i18n import N_, _

HELP = N_("screens' own tokens: add (prints the token), rotate, list, revoke")

ROOT_DATA_NAME = ".signage-hub"


def _target(p: argparse.ArgumentParser) -> None:
    where = p.add_mutually_exclusive_group(required=True)
    where.add_argument("--data", type=Path, metavar="DIR", help=_("the hub's data folder"))
    where.add_argument(
        "--root",
        type=Path,
        metavar="DIR",
        help=_("a content root (the hub's data folder is DIR/{name})").format(name=ROOT_DATA_NAME),
    )
    where.add_argument("--hub", metavar="URL", help=_("a running hub's base URL"))
    p.add_argument(
        "--token-file",
        type=Path,
        metavar="FILE",
        help=_("with --hub: the file holding the hub's admin token"),
    )
    p.add_argument("--timeout", type=float, default=10.0, help=argparse.SUPPRESS)


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="screen_command", metavar="ACTION", required=True)
    screen_id = _("the screen's id (its player.yaml 'screen:')")
    for name, says in (
        ("add", _("enrol a screen; prints its token (last line)")),
        ("rotate", _("give an enrolled screen a new token (the old one stops working)")),
        ("revoke", _("forget a screen's token: it can no longer report")),
    ):
        p = sub.add_parser(name, help=says, description=says)
        p.add_argument("screen", metavar="ID", help=screen_id)
        _target(p)
    says = _("the enrolled screens (never their tokens)")
    p = sub.add_parser("list", help=says, description=says)
    p.add_argument("--json", action="store_true", help=_("print the list as JSON, for scripts"))
    _target(p)


def _data_dir(args: argparse.Namespace) -> Path | None:
    if args.data is not None:
        return Path(args.data)
    if args.root is not None:
        return Path(args.root) / ROOT_DATA_NAME
    return None


def _remote(args: argparse.Namespace, method: str, path: str, body: Any = None) -> Any:
    import requests

    from signage.errors import SignageError, UsageError
    from signage.hub.auth import read_token_file

    base = str(args.hub).rstrip("/")
    if not base.startswith(("http://", "https://")):
        raise UsageError(
            _("--hub {url}: give the hub's URL, e.g. http://hub.local:8750").format(url=args.hub)
        )
    if args.token_file is None:
        raise UsageError(_("--hub needs --token-file FILE (the hub's admin token)"))
    headers = {"Authorization": f"Bearer {read_token_file(args.token_file)}"}
    url = base + path
    try:
        r = requests.request(method, url, json=body, headers=headers, timeout=args.timeout)
    except requests.RequestException as exc:
        raise SignageError(
            _(
                "cannot reach the hub at {url}: {error}; check the URL and that "
                "'signage serve' runs there"
            ).format(url=url, error=type(exc).__name__)
        ) from None
    try:
        doc = r.json()
    except ValueError:
        doc = None
    if r.status_code >= 400:
        reason = doc.get("error") if isinstance(doc, dict) else r.text
        raise SignageError(
            _("the hub refused ({status}): {reason}").format(
                status=r.status_code, reason=_printable(str(reason)[:200])
            )
        )
    return doc


def _printable(text: str) -> str:
    return "".join(c if c.isprintable() else "?" for c in text)


def run(args: argparse.Namespace) -> int:
    from signage.errors import UsageError
    from signage.hub.screens import ScreenRegister, check_screen_id

    action = args.screen_command
    data = _data_dir(args)
    if data is not None and args.token_file is not None:
        raise UsageError(
            _("--token-file goes with --hub; --data and --root edit the files directly")
        )
    if data is not None and args.root is not None and not Path(args.root).is_dir():
        raise UsageError(_("--root {folder}: no such folder").format(folder=args.root))
    if data is not None:
        try:
            data.mkdir(mode=0o700, parents=args.root is not None, exist_ok=True)
        except OSError as exc:
            raise UsageError(
                _("{folder}: cannot create the hub's data folder ({reason})").format(
                    folder=data, reason=exc.strerror
                )
            ) from None
    register = ScreenRegister(data) if data is not None else None
    if action in ("add", "rotate"):
        screen = check_screen_id(args.screen)
        rotate = action == "rotate"
        if register is not None:
            token = register.add(screen, rotate=rotate)
        else:
            answer = _remote(
                args, "POST", "/api/v1/screen-tokens", {"screen": screen, "rotate": rotate}
            )
            token = str(answer["token"])
        said = (
            _("screen {screen} has a new token; put it in its hub_token_file (shown only now):")
            if rotate
            else _(
                "screen {screen} enrolled; put this token in its hub_token_file (shown only now):"
            )
        )
        print(said.format(screen=screen))
        print(token)
        return 0
    if action == "revoke":
        if register is not None:
            if not register.revoke(args.screen):
                raise UsageError(
                    _("screen {screen} is not enrolled").format(
                        screen=repr(_printable(args.screen))
                    )
                )
        else:
            from urllib.parse import quote

            _remote(args, "DELETE", f"/api/v1/screen-tokens/{quote(args.screen, safe='')}")
        print(_("screen {screen}: token revoked").format(screen=_printable(args.screen)))
        return 0
    if register is not None:
        rows = [
            {"screen": e.screen, "added": e.added, "rotated": e.rotated}
            for e in sorted(register.screens().values(), key=lambda e: e.screen)
        ]
    else:
        rows = list(_remote(args, "GET", "/api/v1/screen-tokens"))
    if args.json:
        import json

        print(json.dumps(rows, indent=2))
    elif not rows:
        print(_("no screens enrolled"))
    else:
        for row in rows:
            line = _("{screen}  added {added}").format(
                screen=_printable(str(row["screen"])), added=_printable(str(row["added"]))
            )
            if row.get("rotated"):
                line += _(", new token {rotated}").format(rotated=_printable(str(row["rotated"])))
            print(line)
    return 0
