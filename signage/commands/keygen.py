"""``signage keygen``: a new Ed25519 signing key for publishing; prints the public key to pin.

The private key is written as PEM with mode 0600 (never over an existing file); the
public key is printed as base64 of its 32 raw bytes, the form ``pubkey`` takes in a
player configuration and ``--pubkey`` in ``signage sync``.
"""

from __future__ import annotations

import argparse
import sys
from pathlib import Path

from signage.i18n import N_, _

HELP = N_("write an Ed25519 private key (PEM, 0600) and print its public key to pin on screens")


def configure(parser: argparse.ArgumentParser) -> None:
    parser.add_argument(
        "--out",
        required=True,
        type=Path,
        metavar="FILE",
        help=_("where to write the private key (never over an existing file)"),
    )


def run(args: argparse.Namespace) -> int:
    from signage.feed.signing import generate_key, public_key_b64, write_private_key

    key = generate_key()
    write_private_key(key, args.out)
    print(public_key_b64(key))
    print(
        "signage keygen: "
        + _(
            "private key written to {path} (keep it secret); pin the public key above "
            "on every screen ('pubkey' in player.yaml)"
        ).format(path=args.out),
        file=sys.stderr,
    )
    return 0
