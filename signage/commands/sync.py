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
from signage.i18n import N_  # the one-line help, translated where shown
from signage.printable import json_printable, printable

HELP = N_("fetch, verify and apply a signed feed into a cache (one sync with --once)")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--feed", required=True, metavar="URL", help="the feed folder URL or its feed.json URL"
    )
    parser.add_argument(
        "--cache", required=True, type=Path, metavar="DIR", help="the cache folder to update"
    )
    parser.add_argument(
        "--pubkey",
        required=True,
        metavar="KEY",
        help="the publisher's public key (base64, as 'signage keygen' prints) or a file holding it",
    )
    parser.add_argument("--once", action="store_true", help="sync once and exit")
    parser.add_argument(
        "--poll", type=float, default=15.0, metavar="SECONDS", help="seconds between syncs"
    )
    parser.add_argument("--json", action="store_true", help="one JSON line per sync on stdout")
    parser.add_argument(
        "--timeout", type=float, default=20.0, metavar="SECONDS", help="read timeout"
    )
    parser.add_argument(
        "--ca-file",
        type=Path,
        metavar="FILE",
        help="the organisation's CA certificates, trusted besides the system's",
    )


def read_pubkey(value: str) -> str:
    """The key itself, or the first line of the file it names."""
    path = Path(value)
    if path.is_file():
        try:
            return path.read_text(encoding="ascii").strip().splitlines()[0].strip()
        except (OSError, UnicodeDecodeError, IndexError):
            raise UsageError(f"--pubkey {value}: cannot read a base64 key from that file") from None
    return value.strip()


def run(args: argparse.Namespace) -> int:
    import time
    from datetime import UTC, datetime

    from signage.feed.store import Store
    from signage.feed.sync import SyncClient, Timeouts

    if args.timeout <= 0 or args.poll <= 0:
        raise UsageError("--timeout and --poll must be positive")
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
                print(
                    f"{result.status}: version {result.version} "
                    f"({result.assets_downloaded} asset(s), {result.bytes_downloaded} bytes)",
                    flush=True,
                )
            else:
                print(f"signage sync: {result.status}: {printable(result.reason)}", file=sys.stderr)
            if args.once:
                return 0 if result.ok else 1
            time.sleep(args.poll)
    finally:
        client.close()
