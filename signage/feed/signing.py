"""Feed signatures: Ed25519 keys, detached base64 signatures, and their verification.

A publisher signs the exact bytes of ``feed.json`` with its private key; a screen pins the
publisher's public key (base64 of the 32 raw bytes) and refuses anything else.
"""

from __future__ import annotations

import base64
import binascii
import os
from pathlib import Path

from cryptography.exceptions import InvalidSignature
from cryptography.hazmat.primitives import serialization
from cryptography.hazmat.primitives.asymmetric.ed25519 import (
    Ed25519PrivateKey,
    Ed25519PublicKey,
)

from signage.errors import FeedError
from signage.feed.errors import SignatureError
from signage.i18n import _

__all__ = [
    "Ed25519PrivateKey",
    "generate_key",
    "load_private_key",
    "load_public_key",
    "public_key_b64",
    "sign",
    "verify",
    "write_private_key",
]

MAX_SIGNATURE_CHARS = 512


def generate_key() -> Ed25519PrivateKey:
    """A fresh Ed25519 private key."""
    return Ed25519PrivateKey.generate()


def write_private_key(key: Ed25519PrivateKey, path: Path) -> None:
    """Writes ``key`` as unencrypted PKCS#8 PEM, mode 0600, via temp file + atomic rename.

    Refuses to overwrite an existing file (a lost key strands every screen pinned to it).
    """
    if path.exists():
        raise FeedError(
            _("{path}: a key already exists; move it away or choose another --out").format(
                path=path
            )
        )
    path.parent.mkdir(parents=True, exist_ok=True)
    pem = key.private_bytes(
        encoding=serialization.Encoding.PEM,
        format=serialization.PrivateFormat.PKCS8,
        encryption_algorithm=serialization.NoEncryption(),
    )
    tmp = path.with_name(f".{path.name}.tmp-{os.getpid()}")
    fd = os.open(tmp, os.O_WRONLY | os.O_CREAT | os.O_TRUNC, 0o600)
    try:
        os.fchmod(fd, 0o600)
        os.write(fd, pem)
        os.fsync(fd)
    finally:
        os.close(fd)
    tmp.replace(path)


def load_private_key(path: Path) -> Ed25519PrivateKey:
    """Reads a PEM private key written by ``write_private_key``; FeedError if unusable."""
    try:
        data = path.read_bytes()
    except OSError as exc:
        raise FeedError(
            _(
                "{path}: cannot read the signing key ({reason}); create one with "
                "'signage keygen --out FILE'"
            ).format(path=path, reason=exc.strerror)
        ) from None
    try:
        key = serialization.load_pem_private_key(data, password=None)
    except (ValueError, TypeError) as exc:
        raise FeedError(
            _("{path}: not an unencrypted PEM private key ({error})").format(path=path, error=exc)
        ) from None
    if not isinstance(key, Ed25519PrivateKey):
        raise FeedError(
            _("{path}: the key is not an Ed25519 key; make one with 'signage keygen'").format(
                path=path
            )
        )
    return key


def public_key_b64(key: Ed25519PrivateKey | Ed25519PublicKey) -> str:
    """The public key as screens pin it: base64 of its 32 raw bytes."""
    pub = key.public_key() if isinstance(key, Ed25519PrivateKey) else key
    raw = pub.public_bytes(
        encoding=serialization.Encoding.Raw, format=serialization.PublicFormat.Raw
    )
    return base64.b64encode(raw).decode("ascii")


def load_public_key(pubkey_b64: str) -> Ed25519PublicKey:
    """Parses a pinned public key; FeedError naming what is wrong with it."""
    try:
        raw = base64.b64decode(pubkey_b64.strip(), validate=True)
    except (binascii.Error, ValueError):
        raise FeedError(_("the pinned public key is not valid base64")) from None
    if len(raw) != 32:
        raise FeedError(
            _("the pinned public key decodes to {size} bytes; an Ed25519 key has 32").format(
                size=len(raw)
            )
        )
    return Ed25519PublicKey.from_public_bytes(raw)


def sign(data: bytes, key: Ed25519PrivateKey) -> str:
    """The detached signature of ``data``, base64 (what ``feed.json.sig`` holds)."""
    return base64.b64encode(key.sign(data)).decode("ascii")


def verify(data: bytes, sig_b64: str, pubkey_b64: str) -> None:
    """Checks ``sig_b64`` over ``data`` against the pinned key; raises FeedError if not valid."""
    pub = load_public_key(pubkey_b64)
    text = sig_b64.strip()
    if len(text) > MAX_SIGNATURE_CHARS:
        raise SignatureError("the signature file is too large to be an Ed25519 signature")
    try:
        sig = base64.b64decode(text, validate=True)
    except (binascii.Error, ValueError):
        raise SignatureError("the signature is not valid base64") from None
    if len(sig) != 64:
        raise SignatureError(f"the signature has {len(sig)} bytes, an Ed25519 signature has 64")
    try:
        pub.verify(sig, data)
    except InvalidSignature:
        raise SignatureError(
            "the signature does not match the manifest and the pinned public key"
        ) from None
