"""``signage user``: the console's accounts (add, list, passwd, remove) in a hub's data folder.

Passwords are read from the terminal without echo, or as one line of stdin when stdin is
not a terminal (scripts: ``printf '%s\\n' "$PW" | signage user add ana --role editor ...``);
never from the command line, where ``ps`` and shell history would show them.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from signage.errors import SignageError, UsageError
from signage.i18n import N_, _

HELP = N_("console accounts: add, list, passwd, remove (in the hub's data folder)")

ROLES = ("viewer", "editor", "operator", "admin")


def _where(parser: argparse.ArgumentParser) -> None:
    group = parser.add_mutually_exclusive_group(required=True)
    group.add_argument("--data", type=Path, metavar="DIR", help=_("the hub's data folder"))
    group.add_argument(
        "--root",
        type=Path,
        metavar="DIR",
        help=_("the content root the hub serves (its data folder is DIR/.signage-hub)"),
    )


def configure(parser: argparse.ArgumentParser) -> None:
    sub = parser.add_subparsers(dest="action", metavar="ACTION", required=True)
    name = _("the user's sign-in name")
    says = _("create an account (the password from the terminal or stdin)")
    add = sub.add_parser("add", help=says, description=says)
    add.add_argument("name", metavar="NAME", help=name)
    add.add_argument(
        "--role",
        required=True,
        choices=ROLES,
        help=_("what the person may do: viewer, editor, operator or admin"),
    )
    _where(add)
    says = _("list the accounts, their roles and locks")
    lst = sub.add_parser("list", help=says, description=says)
    _where(lst)
    says = _("set a new password (signs the person out everywhere)")
    pw = sub.add_parser("passwd", help=says, description=says)
    pw.add_argument("name", metavar="NAME", help=name)
    _where(pw)
    says = _("delete an account and its sessions")
    rm = sub.add_parser("remove", help=says, description=says)
    rm.add_argument("name", metavar="NAME", help=name)
    _where(rm)


def data_folder(args: argparse.Namespace) -> Path:
    """The hub data folder the flags name, as ``signage serve`` finds it."""
    from signage.commands.serve import ROOT_DATA_NAME

    if args.data is not None:
        return Path(args.data)
    root = Path(args.root)
    if not (root / "playlists").is_dir():
        raise UsageError(
            _("--root {folder}: no playlists/ folder here; is this a content root?").format(
                folder=root
            )
        )
    return root / ROOT_DATA_NAME


def read_password(prompt: str) -> str:
    """The password: from the terminal without echo (asked twice), else one stdin line."""
    if sys.stdin.isatty():
        import getpass

        first = getpass.getpass(prompt)
        again = getpass.getpass(_("again: "))
        if first != again:
            raise SignageError(_("the two passwords differ; nothing changed"))
        return first
    line = sys.stdin.readline(4096)
    return line.rstrip("\r\n")


def run(args: argparse.Namespace) -> int:
    from datetime import datetime

    from signage.console.accounts import AccountError, AccountStore, Role

    folder = data_folder(args)
    # the name as typed, made printable: it is echoed back in prompts and messages
    shown = str(getattr(args, "name", "")).encode("unicode_escape").decode("ascii")
    store = AccountStore(folder)
    try:
        if args.action == "add":
            password = read_password(_("password for {name}: ").format(name=shown))
            store.add(args.name, Role.parse(args.role), password)
            store.audit("cli", "user.add", f"user:{args.name}", detail=f"role {args.role}")
            print(_("user {name} added with role {role}").format(name=shown, role=args.role))
        elif args.action == "passwd":
            password = read_password(_("new password for {name}: ").format(name=shown))
            store.set_password(args.name, password)
            store.audit("cli", "user.passwd", f"user:{args.name}")
            print(_("password of {name} changed; their sessions were closed").format(name=shown))
        elif args.action == "remove":
            store.remove(args.name)
            store.audit("cli", "user.remove", f"user:{args.name}")
            print(_("user {name} removed").format(name=shown))
        else:
            import time

            now = time.time()
            for account in store.accounts():
                created = datetime.fromtimestamp(account.created).strftime("%Y-%m-%d")
                lock = account.locked_until(now)
                name = account.name.encode("unicode_escape").decode("ascii")
                line = _("{name}\t{role}\tsince {date}").format(
                    name=name, role=account.role.name.lower(), date=created
                )
                if lock is not None:
                    until = datetime.fromtimestamp(lock).strftime("%H:%M")
                    line += "  " + _("locked until {time}").format(time=until)
                print(line)
    except AccountError as exc:
        raise SignageError(str(exc)) from None
    finally:
        store.close()
        _give_back(folder)
    return 0


def _give_back(folder: Path) -> None:
    """Run as root (sudo) on a hub's data folder owned by its service user: the database
    files go to that user, or the hub could no longer open them."""
    import os

    from signage.console.accounts import DB_NAME

    if os.geteuid() != 0:
        return
    owner = folder.stat()
    if owner.st_uid == 0:
        return
    for suffix in ("", "-wal", "-shm"):
        path = folder / f"{DB_NAME}{suffix}"
        if path.exists():
            os.chown(path, owner.st_uid, owner.st_gid)
