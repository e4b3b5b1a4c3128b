"""``signage mirror``: keep a static mirror folder in step with a signed feed (second machine).

Pulls ``--from URL`` with the screens' sync client into a private verified cache and writes
each version that verified into ``--to DIR`` (assets first, manifest last, never backwards);
relays an emergency ``alerts.json`` that verifies. Prints one line per version written.
Exit 0; with ``--once``, 1 when the pull was refused or failed.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from signage.i18n import N_, _
from signage.printable import printable

HELP = N_("copy a signed feed into a static mirror folder, verifying every version first")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--from",
        dest="source",
        required=True,
        metavar="URL",
        help=_("the URL of the feed to copy (the hub's, or its feed.json)"),
    )
    parser.add_argument(
        "--to", required=True, type=Path, metavar="DIR", help=_("the mirror folder to write")
    )
    parser.add_argument(
        "--pubkey",
        metavar="KEY",
        help=_(
            "the feed's public key (base64 or a file holding it); without it the key the "
            "hub serves at /api/v1/pubkey is pinned on first use into DIR/.mirror-cache/pubkey"
        ),
    )
    parser.add_argument(
        "--alert-key",
        action="append",
        default=[],
        metavar="KEY",
        help=_("an alerts-only public key whose alerts.json is relayed too (repeatable)"),
    )
    parser.add_argument(
        "--ca-file",
        type=Path,
        metavar="FILE",
        help=_("the organisation's CA certificates, trusted besides the system's"),
    )
    parser.add_argument("--once", action="store_true", help=_("pull once and stop"))
    parser.add_argument(
        "--poll",
        type=float,
        default=15.0,
        metavar="SECONDS",
        help=_("seconds between pulls (default %(default)s)"),
    )


def _pinned_key(source: str, folder: Path) -> str:
    """The key pinned in ``folder/pubkey``, else the hub's, fetched once and pinned."""
    import json
    from urllib.parse import urlsplit

    import requests

    from signage.durable import write_atomic
    from signage.errors import UsageError

    pinned = folder / "pubkey"
    if pinned.is_file():
        return pinned.read_text("ascii").strip()
    parts = urlsplit(source)
    url = f"{parts.scheme}://{parts.netloc}/api/v1/pubkey"
    try:
        resp = requests.get(url, timeout=10)
        key = json.loads(resp.content[:4096]).get("pubkey") if resp.status_code == 200 else None
    except (requests.RequestException, ValueError, AttributeError):
        key = None
    if not isinstance(key, str) or not key:
        raise UsageError(
            _("no --pubkey, and {url} gave no key: pass the feed's public key").format(url=url)
        )
    folder.mkdir(parents=True, exist_ok=True)
    write_atomic(pinned, key.encode("ascii"))
    print(
        "signage mirror: "
        + _("pinned the hub's key {key} (trust on first use)").format(key=printable(key, 100)),
        file=sys.stderr,
    )
    return key


def run(args: argparse.Namespace) -> int:
    import time
    from datetime import UTC, datetime

    from signage.commands.sync import read_pubkey, status_word
    from signage.errors import UsageError
    from signage.feed.mirror import MirrorPuller
    from signage.feed.signing import load_public_key

    if args.poll <= 0:
        raise UsageError(_("--poll must be a positive number of seconds"))
    cache = args.to / ".mirror-cache"
    key = read_pubkey(args.pubkey) if args.pubkey else _pinned_key(args.source, cache)
    load_public_key(key)  # a bad key is said now
    bundle = None
    if args.ca_file is not None:
        from signage.trust import bundle_path

        cache.mkdir(parents=True, exist_ok=True)
        bundle = str(bundle_path(args.ca_file, cache))
    puller = MirrorPuller(
        args.source,
        args.to,
        key,
        alert_keys=[read_pubkey(k) for k in args.alert_key],
        cache=cache,
        ca_bundle=bundle,
    )
    try:
        while True:
            result = puller.pull(datetime.now(UTC))
            if result.written:
                said = _("mirrored version {version} into {folder}")
                print(said.format(version=result.version, folder=args.to), flush=True)
            elif not result.status.startswith(("updated", "unchanged")):
                print(
                    f"signage mirror: {status_word(result.status)}: {printable(result.reason)}",
                    file=sys.stderr,
                )
            if args.once:
                return 0 if result.status in ("updated", "unchanged") else 1
            time.sleep(args.poll)
    finally:
        puller.close()
