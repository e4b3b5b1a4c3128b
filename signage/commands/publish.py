"""``signage publish``: validate a content root, then write a signed static feed folder.

Refuses to publish invalid content (every problem printed as ``path:line:col: message``).
Assets are written first, the signature and the manifest last, each atomically; see
``docs/feed-format.md``. Each run writes a new version with a fresh expiry, unless
``--if-changed`` is given and the folder already serves the same content.
"""

from __future__ import annotations

import argparse
import re
import sys
from datetime import timedelta
from pathlib import Path

from signage.errors import UsageError
from signage.i18n import N_, _, ngettext

HELP = N_("validate a content root and write a signed static feed (assets first, manifest last)")

_PART = re.compile(r"(\d+)([dhms])")
_UNITS = {"d": 86400, "h": 3600, "m": 60, "s": 1}


def parse_lifetime(text: str) -> timedelta:
    """``7d``, ``36h``, ``1d12h``, ``90m``, ``3600s`` or a number of seconds."""
    value = text.strip().lower()
    if value.isdigit():
        seconds = int(value)
    else:
        pos = 0
        seconds = 0
        for match in _PART.finditer(value):
            if match.start() != pos:
                break
            seconds += int(match.group(1)) * _UNITS[match.group(2)]
            pos = match.end()
        if pos != len(value) or not value:
            raise UsageError(
                _("--expires {text}: use a duration such as 7d, 36h or 1d12h").format(
                    text=repr(text)
                )
            )
    if seconds <= 0:
        raise UsageError(_("--expires must be longer than zero"))
    return timedelta(seconds=seconds)


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--root", type=Path, default=Path(), metavar="DIR", help=_("the content root (default .)")
    )
    parser.add_argument(
        "--out", required=True, type=Path, metavar="DIR", help=_("the feed folder to write")
    )
    parser.add_argument(
        "--key",
        type=Path,
        metavar="FILE",
        help=_("the Ed25519 private key (from 'signage keygen'); required unless --unsigned"),
    )
    parser.add_argument(
        "--unsigned",
        action="store_true",
        help=_("write no signature (only for feeds that never cross a network)"),
    )
    parser.add_argument(
        "--expires",
        default="7d",
        metavar="DURATION",
        help=_(
            "how long screens may play this feed without a newer one (default 7d); "
            "every publish writes a new version with a fresh expiry, so publish "
            "again before then"
        ),
    )
    parser.add_argument(
        "--if-changed",
        action="store_true",
        help=_(
            "write nothing when the --out folder already serves exactly this content (same "
            "playlists, theme, alerts and assets, same key) and has not used up half "
            "its lifetime; for cron jobs and hooks that should not make every screen "
            "sync"
        ),
    )
    parser.add_argument(
        "--ca-file",
        type=Path,
        metavar="FILE",
        help=_(
            "the organisation's CA certificates, trusted beside the system's when fetching "
            "the https data of data slides"
        ),
    )
    parser.add_argument(
        "--data",
        type=Path,
        metavar="DIR",
        help=_(
            "the publisher's own folder: the last good data of data slides' URLs is kept in "
            "its datos-remotos/ between runs (default ROOT/.signage-hub, as 'signage serve "
            "--root'); never inside --out, which a web server may serve"
        ),
    )
    parser.add_argument(
        "--allowed-host",
        action="append",
        default=[],
        metavar="HOST",
        help=_("a host web slides and QR codes may use (repeatable; default any https host)"),
    )


def run(args: argparse.Namespace) -> int:
    from datetime import UTC, datetime

    from signage.errors import ValidationError
    from signage.feed.publish import publish
    from signage.feed.signing import load_private_key

    if args.key is None and not args.unsigned:
        raise UsageError(_("--key FILE is required (make one with 'signage keygen --out FILE')"))
    if args.key is not None and args.unsigned:
        raise UsageError(_("--key and --unsigned contradict each other"))
    lifetime = parse_lifetime(args.expires)
    key = load_private_key(args.key) if args.key is not None else None
    from signage.data.remote import RemoteData
    from signage.data.store import default_store, is_inside, store_in

    store = store_in(args.data) if args.data is not None else default_store(args.root)
    if is_inside(store, args.out):
        raise UsageError(
            _(
                "--data {data}: the remote data would be kept inside --out {out}, which a web "
                "server may serve; choose a folder outside it"
            ).format(data=args.data or store.parent, out=args.out)
        )
    remote = RemoteData(store, ca_file=args.ca_file)
    try:
        result = publish(
            args.root,
            args.out,
            key,
            now=datetime.now(UTC),
            expires_in=lifetime,
            allowed_hosts=frozenset(h.lower() for h in args.allowed_host),
            skip_unchanged=args.if_changed,
            remote=remote,
        )
    except ValidationError as exc:
        for problem in exc.problems:
            print(problem, file=sys.stderr)
        print(
            ngettext(
                "signage publish: refused, {count} error in {root}; nothing was published "
                "(fix it, 'signage validate' lists it too)",
                "signage publish: refused, {count} errors in {root}; nothing was published "
                "(fix them, 'signage validate' lists them too)",
                len(exc.problems),
            ).format(count=len(exc.problems), root=args.root),
            file=sys.stderr,
        )
        return 1
    for note in result.data_problems:
        print(_("warning: {note}").format(note=note), file=sys.stderr)
    if result.data_moved:
        print(
            _("moved the remote data kept in {old} to {new}, outside the feed folder").format(
                old=args.out / "datos-remotos", new=store
            ),
            file=sys.stderr,
        )
    if not result.changed:
        print(
            _("unchanged: {out} already serves this content as version {version}").format(
                out=args.out, version=result.version
            )
        )
        return 0
    print(
        ngettext(
            "published version {version} to {out} ({assets} new asset, {size} bytes",
            "published version {version} to {out} ({assets} new assets, {size} bytes",
            result.assets_written,
        ).format(
            version=result.version,
            out=args.out,
            assets=result.assets_written,
            size=result.bytes_written,
        )
        + (_(", unsigned") if not result.signed else "")
        + ")"
    )
    return 0
