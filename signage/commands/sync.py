"""``signage sync``: bring a cache up to date with a signed feed, once or in a loop.

With ``--json`` prints one line per sync: ``{"status", "version", "assets_downloaded",
"bytes_downloaded", "reason"}``. Exit 0 for updated/unchanged, 1 for rejected/failed.
"""

from __future__ import annotations

import argparse
import json
import sys
from pathlib import Path

from signage.errors import UsageError
from signage.i18n import N_, _, ngettext
from signage.printable import json_printable, printable

HELP = N_("fetch, verify and apply a signed feed into a cache (one sync with --once)")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--feed",
        required=True,
        metavar="URL",
        help=_("the URL of the feed folder or of its feed.json"),
    )
    parser.add_argument(
        "--cache", required=True, type=Path, metavar="DIR", help=_("the cache folder to update")
    )
    parser.add_argument(
        "--pubkey",
        required=True,
        metavar="KEY",
        help=_(
            "the publisher's public key (base64, as 'signage keygen' prints it) "
            "or a file holding it"
        ),
    )
    parser.add_argument("--once", action="store_true", help=_("sync once and stop"))
    parser.add_argument(
        "--poll",
        type=float,
        default=15.0,
        metavar="SECONDS",
        help=_("seconds between syncs (default %(default)s)"),
    )
    parser.add_argument(
        "--json", action="store_true", help=_("print one JSON line per sync on stdout")
    )
    parser.add_argument(
        "--timeout",
        type=float,
        default=20.0,
        metavar="SECONDS",
        help=_("how long to wait for the server's answer (default %(default)s)"),
    )
    parser.add_argument(
        "--ca-file",
        type=Path,
        metavar="FILE",
        help=_("the organisation's CA certificates, trusted besides the system's"),
    )


# What a sync ended in, as a person reads it (``--json`` keeps the machine's word).
STATUS_WORDS = {
    "updated": N_("updated"),
    "unchanged": N_("unchanged"),
    "rejected": N_("rejected"),
    "failed": N_("failed"),
}


def status_word(status: str) -> str:
    """``updated`` in the current language (an unknown status as it is)."""
    return _(STATUS_WORDS[status]) if status in STATUS_WORDS else status


def sync_line(status: str, version: int | None, assets: int, size: int) -> str:
    """``updated: version 7 (3 assets, 52,311 bytes)`` in the current language."""
    return _("{status}: version {version} ({assets}, {size})").format(
        status=status_word(status),
        version=version,
        assets=ngettext("{count} asset", "{count} assets", assets).format(count=assets),
        size=ngettext("{count} byte", "{count} bytes", size).format(count=size),
    )


def read_pubkey(value: str) -> str:
    """The key itself, or the first line of the file it names."""
    path = Path(value)
    if path.is_file():
        try:
            return path.read_text(encoding="ascii").strip().splitlines()[0].strip()
        except (OSError, UnicodeDecodeError, IndexError):
            raise UsageError(
                _("--pubkey {value}: cannot read a base64 key from that file").format(value=value)
            ) from None
    return value.strip()


def run(args: argparse.Namespace) -> int:
    import time
    from datetime import UTC, datetime

    from signage.feed.store import Store
    from signage.feed.sync import SyncClient, Timeouts

    if args.timeout <= 0 or args.poll <= 0:
        raise UsageError(_("--timeout and --poll must be positive numbers of seconds"))
    bundle = None
    if args.ca_file is not None:
        from signage.trust import bundle_path

        bundle = str(bundle_path(args.ca_file, args.cache))
    client = SyncClient(
        args.feed,
        Store(args.cache),
        read_pubkey(args.pubkey),
        timeouts=Timeouts(read=args.timeout),
        ca_bundle=bundle,
    )
    try:
        while True:
            result = client.sync_once(datetime.now(UTC))
            if args.json:
                print(json_printable(json.dumps(result.to_json())), flush=True)
            elif result.ok:
                line = sync_line(
                    result.status,
                    result.version,
                    result.assets_downloaded,
                    result.bytes_downloaded,
                )
                print(line, flush=True)
            else:
                print(
                    f"signage sync: {status_word(result.status)}: {printable(result.reason)}",
                    file=sys.stderr,
                )
            if args.once:
                return 0 if result.ok else 1
            time.sleep(args.poll)
    finally:
        client.close()
